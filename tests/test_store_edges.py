"""The store's ledger folder at its edges: what is removed (only a failed write's own leftovers),
what is refused (a ledger missing a part), and what `scorestate runs` says of folders that are
not stored runs (stopped, still running elsewhere, or listed by a newer copy of the store file).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.store import LedgerWriter, RunRecord, Store, StoreError

KINDS, SOURCES = ["offence", "reward"], ["police"]


def write_part(writer: LedgerWriter, rows: int) -> None:
    """One ledger part of `rows` rows."""
    z = np.zeros(rows, np.int32)
    writer.write(day=z, citizen=z, kind=z.astype(np.int16), source=z.astype(np.int8),
                 points=z.astype(np.float32), false_attribution=z.astype(bool), actor=z, value=z)


def fake_run(store: Store, run_id: str, parts: tuple[int, ...] = (2,)) -> None:
    """Store a run of one citizen and one day, with a ledger of parts of these many rows."""
    writer = store.begin_run(run_id, kinds=KINDS, sources=SOURCES)
    for rows in parts:
        write_part(writer, rows)
    record = RunRecord(run_id=run_id, scenario_name="fake", scenario={}, seed=1, population=1,
                       days=1, package_version="0", created_at=datetime.now(UTC), elapsed_s=0.0,
                       build_s=0.0, citizen_days_per_s=0.0, final={}, ledger_retention="full")
    store.commit_run(record, pl.DataFrame({"day": [0], "m": [1.0]}),
                     pl.DataFrame({"day": [0], "grouping": ["g"], "group": ["a"], "m": [1.0]}), writer)


def stopped_run(store: Path, run_id: str, checkpoint: bytes = b"not a checkpoint") -> Path:
    """A run that stopped after a checkpoint (here, whatever bytes are given); its folder."""
    with Store(store) as s:
        writer = s.begin_run(run_id, kinds=KINDS, sources=SOURCES)
    write_part(writer, 3)
    writer.checkpoint.write_bytes(checkpoint)
    writer.close()  # the process stops
    return writer.folder


def age(folder: Path, seconds: float = 7200) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def said(result) -> str:
    return " ".join(result.output.split())


# ------------------------------------------------------------- only a failed write's leftovers go


def test_runs_a_store_file_put_back_from_an_older_copy_does_not_list_are_kept(tmp_path: Path) -> None:
    """The damaged-store message says to restore the file from a copy; opening that copy used to
    remove the ledgers of the runs stored after it, an hour on, even to list the runs."""
    path, older, newer = tmp_path / "b.duckdb", tmp_path / "older.duckdb", tmp_path / "newer.duckdb"
    with Store(path) as s:
        fake_run(s, "r1")
    shutil.copy(path, older)
    with Store(path) as s:
        fake_run(s, "r2")
        fake_run(s, "r3", parts=(2, 3))
    shutil.copy(path, newer)
    shutil.copy(older, path)
    ledger = tmp_path / "b.duckdb.ledger"
    for folder in ledger.iterdir():
        age(folder)
    listed = cli("runs", "--store", str(path))
    assert listed.exit_code == 0, listed.output
    assert "2 ledger folders not in the catalogue (r2, r3): was the store file put back from " \
           "another copy? The copy that stored them lists them" in said(listed)
    assert json.loads(cli("runs", "--store", str(path), "--json").stdout)["unlisted"] == ["r2", "r3"]
    with Store(path) as s:  # opened to add a run: it cleans, but only what a failed write left
        assert s.clean_partials(max_age_s=-1) == []
        assert s.unlisted() == ["r2", "r3"]
    assert sorted(p.name for p in ledger.iterdir()) == ["r1", "r2", "r3"]
    shutil.copy(newer, path)
    with Store(path, create=False) as s:
        assert s.load_run("r3").ledger().height == 5 and s.unlisted() == []


def test_a_store_opened_to_be_read_removes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        dead = s.begin_run("dead", kinds=KINDS, sources=SOURCES)
    dead.close()  # its process died
    age(dead.folder)
    Store(path, create=False).close()
    ss.list_runs(path)
    assert dead.folder.is_dir()
    Store(path).close()  # to add a run: a dead run's old `.partial` folder is its own leftover
    assert not dead.folder.exists()


# ------------------------------------------------------------------ a ledger missing a part


def test_a_stored_ledger_missing_a_part_is_refused_by_name(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as s:
        fake_run(s, "r", parts=(2, 3, 4))
    folder = tmp_path / "s.duckdb.ledger" / "r"
    (folder / "part-00001.parquet").unlink()
    with Store(tmp_path / "s.duckdb", create=False) as s:
        run = s.load_run("r")
    with pytest.raises(StoreError) as e:
        run.ledger()
    assert str(e.value) == (f"the ledger of run 'r' is damaged: part 1 of 3 is missing from '{folder}'"
                            "; restore the store's ledger folder from a copy, or run the run again")
    (folder / "part-00002.parquet").rename(folder / "part-00001.parquet")  # the last one gone
    run._parts = None
    with pytest.raises(StoreError, match=r"its 2 parts in .* hold 6 rows where the run wrote 9 "):
        run.ledger(citizen=0)


def test_explain_refuses_a_run_whose_ledger_lost_a_part(tmp_path: Path) -> None:
    """`explain RUN` used to list citizens from what was left, and exit 0."""
    store = tmp_path / "s.duckdb"
    scenario = ss.load_scenario("essay", {"ledger.retention": "full", "ledger.flush_rows": 40},
                                population=300, days=6)
    run_id = ss.run(scenario, store=store).run_id
    folder = tmp_path / "s.duckdb.ledger" / run_id
    parts = len(list(folder.glob("part-*.parquet")))
    assert parts >= 3
    (folder / "part-00001.parquet").unlink()
    r = cli("explain", run_id, "--store", str(store))
    assert r.exit_code == 2, r.output
    assert f"the ledger of run '{run_id}' is damaged: part 1 of {parts} is missing" in said(r)


def test_resuming_refuses_a_checkpoint_whose_ledger_parts_are_not_all_there(tmp_path: Path) -> None:
    """A resumed run used to be stored with fewer ledger rows than its `ledger_rows` said."""
    store = tmp_path / "s.duckdb"
    scenario = ss.load_scenario("essay", {"ledger.retention": "full", "ledger.flush_rows": 40},
                                population=300, days=10)

    class Stop(Exception):
        pass

    def stop(day: int) -> None:
        if day == 8:
            raise Stop

    with pytest.raises(Stop):
        ss.run(scenario, store=store, checkpoint_every=3, run_id="stopped", progress=stop)
    folder = tmp_path / "s.duckdb.ledger" / "stopped.partial"
    before = sorted(p.name for p in folder.iterdir())
    (folder / "part-00000.parquet").unlink()
    with pytest.raises(StoreError, match=r"the ledger of run 'stopped' is damaged: part 0 of \d+ is "
                                         r"missing .* it cannot go on from its checkpoint"):
        ss.resume_run("stopped", store=store)
    assert sorted(p.name for p in folder.iterdir()) == [p for p in before if p != "part-00000.parquet"]
    listed = json.loads(cli("runs", "--store", str(store), "--json").stdout)
    assert listed["resumable"] == [] and [r["run_id"] for r in listed["cannot_resume"]] == ["stopped"]


def test_truncating_checks_the_checkpoints_parts_first(tmp_path: Path) -> None:
    folder = stopped_run(tmp_path / "s.duckdb", "stopped")
    write = LedgerWriter("stopped", folder, KINDS, SOURCES)
    with pytest.raises(StoreError, match=r"its 1 part in .* hold 3 rows where the run wrote 4"):
        write.truncate(1, 4)
    write.truncate(1, 3)
    write.close()


# ------------------------------------------------------------- what `runs` says of the rest


def test_a_checkpointed_run_still_going_elsewhere_is_running_not_resumable(tmp_path: Path) -> None:
    """`runs` used to offer `--resume` for it, which resuming then refused."""
    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        live = s.begin_run("20260101-000000-abcdef", kinds=KINDS, sources=SOURCES)
    live.checkpoint.write_bytes(b"its first checkpoint")  # the writer (its process) lives on
    with Store(path, create=False) as s:
        assert s.resumable() == [] and s.running() == ["20260101-000000-abcdef"]
    r = cli("runs", "--store", str(path))
    assert "still running in another process, not stored yet: 20260101-000000-abcdef" in said(r)
    assert "--resume" not in r.output
    with pytest.raises(StoreError, match="is still going in another process"):
        ss.resume_run("abcdef", store=path)
    assert cli("runs", "--discard", "abcdef", "--store", str(path)).exit_code == 2
    live.close()
    with Store(path, create=False) as s:
        assert s.resumable() == ["20260101-000000-abcdef"] and s.running() == []


def test_a_stopped_run_that_cannot_be_resumed_is_said_so_and_can_be_discarded(tmp_path: Path) -> None:
    path = tmp_path / "my runs.duckdb"
    folder = stopped_run(path, "20260101-000000-abcdef")
    r = cli("runs", "--store", str(path))
    assert r.exit_code == 0, r.output
    text = said(r)
    assert "cannot be resumed: 20260101-000000-abcdef: " in text and "--resume" not in text
    assert f"scorestate runs --discard 20260101-000000-abcdef --store '{path}'" in text
    listed = json.loads(cli("runs", "--store", str(path), "--json").stdout)
    assert listed["resumable"] == [] and listed["cannot_resume"][0]["run_id"] == "20260101-000000-abcdef"
    gone = cli("runs", "--discard", "abcdef", "--store", str(path))
    assert gone.exit_code == 0, gone.output
    assert "discarded run 20260101-000000-abcdef" in said(gone) and not folder.exists()
    again = cli("runs", "--discard", "abcdef", "--store", str(path))
    assert again.exit_code == 2
    assert "run 'abcdef' is not a stopped run in the store" in said(again)


def test_commands_suggested_for_a_store_with_a_space_in_its_path_work_as_printed(
        tmp_path: Path, monkeypatch) -> None:
    import scorestate.cli.runs as runs_cli

    path = tmp_path / "my runs.duckdb"
    empty = cli("runs", "--store", str(path))  # no store yet
    assert f"`scorestate run --store '{path}'`" in said(empty)
    Store(path).close()
    assert f"`scorestate run --store '{path}'` makes one" in said(cli("runs", "--store", str(path)))
    stopped_run(path, "s1")
    monkeypatch.setattr(runs_cli, "_cannot_resume", lambda folder, run_id: None)
    text = said(cli("runs", "--store", str(path)))
    assert f"`scorestate run --resume s1 --store '{path}'`" in text
    with Store(path, create=False) as s, pytest.raises(StoreError) as e:
        s.load_run("nope")
    assert f"`scorestate runs --store '{path}'` lists the runs" in str(e.value)


# ------------------------------------------------------------------------ a read-only store


def test_a_store_that_cannot_be_written_says_what_adding_a_run_needs(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    connect = duckdb.connect

    def read_only_fs(database: str = ":memory:", read_only: bool = False, **kw):
        if not read_only and database != ":memory:":
            raise duckdb.IOException(f'IO Error: Cannot open file "{database}": Read-only file system')
        return connect(database, read_only=read_only, **kw)

    monkeypatch.setattr(duckdb, "connect", read_only_fs)
    r = cli("run", "-n", "200", "-d", "2", "--store", str(path))
    assert r.exit_code == 2, r.output
    assert said(r) == (f"scorestate: error: cannot open the store '{path}': IO Error: Cannot open file "
                       f"\"{path}\": Read-only file system; scorestate writes to the store file and "
                       "its ledger folder to add a run, so expected both writable (a store that "
                       "cannot be written can still be read by `scorestate runs`, `explain` and "
                       "`report`)")
    assert cli("runs", "--store", str(path)).exit_code == 0
