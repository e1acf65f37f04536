"""The run store: round trips, lookup by id, and that nothing half-written or foreign is touched."""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from scorestate.cli import app
from scorestate.errors import ScorestateError, StoreError
from scorestate.ledger import Ledger
from scorestate.store import (
    DEFAULT_STORE,
    LedgerWriter,
    NotRecordedWarning,
    RunRecord,
    Store,
    StoreInUseError,
    new_run_id,
)

KINDS = ["offence", "reward", "tier_change"]
SOURCES = ["police", "neighbour"]


def make_record(run_id: str, seed: int = 7, created: datetime | None = None) -> RunRecord:
    return RunRecord(
        run_id=run_id, scenario_name="baseline",
        scenario={"population": 4, "days": 3, "regime": {"decay": 0.5, "tiers": ["A", "B"]}},
        seed=seed, population=4, days=3, package_version="0.1.0",
        created_at=created or datetime(2026, 11, 27, 1, 15, 30, 123456, tzinfo=UTC),
        elapsed_s=1.5, build_s=0.25, citizen_days_per_s=8.0,
        final={"mean_score": 512.5, "share_blacklisted": 0.25}, ledger_retention="full",
    )


def make_metrics() -> pl.DataFrame:
    return pl.DataFrame({
        "day": pl.Series([0, 1, 2], dtype=pl.Int32),
        "mean_score": [500.0, 505.5, float("nan")],
        "sanctions": pl.Series([0, 3, 5], dtype=pl.Int64),
        "gini": [0.1, None, 0.3],
    })


def make_group_metrics() -> pl.DataFrame:
    return pl.DataFrame({
        "day": pl.Series([0, 0, 1, 1], dtype=pl.Int32),
        "grouping": ["district", "district", "district", "district"],
        "group": ["north", "south", "south", "north"],  # not sorted: row order must survive
        "mean_score": [1.0, 2.0, 3.0, 4.0],
        "count": pl.Series([10, 20, 30, 40], dtype=pl.UInt32),
    })


def write_ledger(writer: LedgerWriter) -> None:
    i32 = np.int32
    writer.write(day=np.array([1, 0, 1], i32), citizen=np.array([2, 1, 0], i32),
                 kind=np.array([0, 1, 2], np.int16), source=np.array([0, -1, 1], np.int8),
                 points=np.array([-5.0, 2.5, 0.0], np.float32),
                 false_attribution=np.array([True, False, False]),
                 actor=np.array([3, 1, -1], i32), value=np.array([-1, -1, 2], i32))
    empty = np.array([], i32)
    writer.write(empty, empty, empty, empty, empty, empty, empty, empty)  # skipped
    writer.write(day=np.array([2], i32), citizen=np.array([3], i32), kind=np.array([1]),
                 source=np.array([1]), points=np.array([1.0]), false_attribution=np.array([0]),
                 actor=np.array([3]), value=np.array([-1]))


def commit(store: Store, run_id: str, **kw) -> None:
    writer = store.begin_run(run_id, kinds=KINDS, sources=SOURCES)
    write_ledger(writer)
    store.commit_run(make_record(run_id, **kw), make_metrics(), make_group_metrics(), writer)


def test_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "run-a")
        run = store.load_run("run-a")
    assert run.record == replace(make_record("run-a"), ledger_rows=4)
    assert_frame_equal(run.metrics, make_metrics())
    assert_frame_equal(run.group_metrics, make_group_metrics())
    assert run.ledger_path == tmp_path / "s.duckdb.ledger" / "run-a"
    assert sorted(p.name for p in run.ledger_path.iterdir()) == [
        "part-00000.parquet", "part-00001.parquet"]
    led = run.ledger()
    assert led.columns == ["day", "citizen", "kind", "source", "points", "false_attribution",
                           "actor", "value"]
    assert led["kind"].dtype == pl.Enum(KINDS) and led["source"].dtype == pl.Enum(SOURCES)
    assert led.select("day", "citizen").rows() == [(0, 1), (1, 0), (1, 2), (2, 3)]
    assert led["kind"].to_list() == ["reward", "tier_change", "offence", "reward"]
    assert led["source"].to_list() == [None, "neighbour", "police", "neighbour"]
    assert led["false_attribution"].to_list() == [False, False, True, False]
    assert led["points"].dtype == pl.Float32 and led["day"].dtype == pl.Int32
    # citizen 3 was the real actor of a deed pinned on citizen 2, and the subject of another
    three = run.ledger(citizen=3)
    assert three.select("citizen", "actor").rows() == [(2, 3), (3, 3)]
    # several subjects and some kinds, in one scan
    some = run.ledger(citizens=[1, 3], kinds=["reward"])
    assert some.select("day", "citizen").rows() == [(0, 1), (2, 3)]
    assert run.ledger(citizens=[0, 2], kinds=["offence", "tier_change"])["kind"].to_list() == [
        "tier_change", "offence"]


@pytest.mark.parametrize(("asked", "message"), [
    ({"citizen": -1}, "citizen -1 is out of range for run 'r'; expected an id from 0 to 3"),
    ({"citizen": 4}, "citizen 4 is out of range"),
    ({"citizen": 10**9}, "citizen 1000000000 is out of range"),
    ({"citizens": [0, 4]}, "citizen 4 is out of range"),
    ({"citizen": 1.0}, "citizen must be an integer id; got 1.0"),
])
def test_a_citizen_outside_the_run_is_refused_with_the_range(tmp_path: Path, asked, message) -> None:
    """-1 marks "no actor" in the ledger: taken as an id it would match every actor-less row."""
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "r")
        run = store.load_run("r")
    with pytest.raises(ScorestateError) as e:
        run.ledger(**asked)
    assert message in str(e.value)


def test_a_citizen_the_panel_did_not_follow_is_warned_about(tmp_path: Path) -> None:
    spec = {"ledger": {"panel_size": 2}, "run": {"seed": 7}}
    panel = Ledger(4, "panel", 2, 7, sink=lambda batch: None, flush_rows=1).recorded
    inside, outside = int(np.flatnonzero(panel)[0]), int(np.flatnonzero(~panel)[0])
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.begin_run("p", kinds=KINDS, sources=SOURCES)
        write_ledger(writer)
        record = replace(make_record("p"), ledger_retention="panel", scenario=spec)
        store.commit_run(record, make_metrics(), make_group_metrics(), writer)
        run = store.load_run("p")
    with pytest.warns(NotRecordedWarning, match=f"citizen {outside} is not in the ledger of run 'p'"):
        run.ledger(citizen=outside)
    with pytest.warns(NotRecordedWarning, match="ledger.retention=full"):
        run.ledger(citizens=[inside, outside])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.ledger(citizen=inside)  # followed: no warning
    with pytest.warns(NotRecordedWarning) as caught:  # the CLI's spelling and the API's
        run.ledger(citizen=outside)
    (text,) = [str(w.message) for w in caught]
    assert "`--set ledger.retention=full`" in text
    assert 'ss.load_scenario(..., {"ledger.retention": "full"})' in text


@pytest.mark.parametrize("part", ["part-00000.parquet", "part-00001.parquet"])
def test_a_damaged_ledger_part_is_named(tmp_path: Path, part: str) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "r")
        run = store.load_run("r")
    (run.ledger_path / part).write_bytes(b"garbage")
    with pytest.raises(StoreError) as e:
        run.ledger(citizen=3)
    msg = str(e.value)
    assert f"the ledger part '{run.ledger_path / part}' of run 'r' is damaged" in msg
    assert "expected Parquet files written by scorestate" in msg


def test_parquet_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "r1")
        path = store.load_run("r1").ledger_path / "part-00000.parquet"
    schema = pq.read_schema(path)
    assert pa.types.is_dictionary(schema.field("kind").type)
    assert pa.types.is_dictionary(schema.field("source").type)


def test_empty_ledger_has_schema(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.begin_run("quiet", kinds=KINDS, sources=SOURCES)
        store.commit_run(make_record("quiet"), make_metrics(), make_group_metrics().clear(),
                         writer)
        run = store.load_run("quiet")
    assert run.record.ledger_rows == 0
    assert run.ledger().height == 0 and run.ledger().schema["citizen"] == pl.Int32
    assert_frame_equal(run.group_metrics, make_group_metrics().clear())


def test_list_runs_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        assert store.list_runs().height == 0
        commit(store, "b-later", created=datetime(2026, 11, 28, tzinfo=UTC))
        commit(store, "a-earlier", seed=3, created=datetime(2026, 11, 27, tzinfo=UTC))
    with Store(path, create=False) as store:
        runs = store.list_runs()
    assert runs["run_id"].to_list() == ["a-earlier", "b-later"]  # newest last
    assert runs.columns == ["run_id", "created_at", "scenario_name", "seed", "population", "days",
                            "elapsed_s", "citizen_days_per_s", "ledger_retention", "ledger_rows",
                            "changes"]
    assert runs["seed"].dtype == pl.UInt64 and runs["seed"].to_list() == [3, 7]
    assert runs["ledger_rows"].to_list() == [4, 4]
    assert runs["created_at"][0] == datetime(2026, 11, 27, tzinfo=UTC)


def test_prefix_unknown_and_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        commit(store, "20261127-011530-3fa2c1")
        commit(store, "20261127-011530-3fb000")
        commit(store, "abc")
        commit(store, "abcd")
        assert store.load_run("20261127-011530-3fa").record.run_id == "20261127-011530-3fa2c1"
        assert store.load_run("abc").record.run_id == "abc"  # exact id wins over prefix
        with pytest.raises(StoreError, match="no run 'zzz' in the store") as e:
            store.load_run("zzz")
        assert f"`scorestate runs --store {path}`" in str(e.value)
        with pytest.raises(StoreError, match="ambiguous") as e:
            store.load_run("20261127")
        assert "3fa2c1" in str(e.value) and "3fb000" in str(e.value)


def test_new_run_id_is_sortable_and_unique() -> None:
    ids = [new_run_id() for _ in range(5000)]  # within a second or two: 24 random bits would collide
    assert len(set(ids)) == 5000
    assert all(len(i) == 22 and i[8] == "-" and i[15] == "-" for i in ids)
    assert sorted(ids)[0][:15] <= sorted(ids)[-1][:15]


def test_uncommitted_and_aborted_runs_are_invisible(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = Store(path)
    aborted = store.begin_run("aborted", kinds=KINDS, sources=SOURCES)
    write_ledger(aborted)
    aborted.abort()
    assert not (store.ledger_dir / "aborted.partial").exists()
    killed = store.begin_run("killed", kinds=KINDS, sources=SOURCES)
    write_ledger(killed)
    store.close()  # the run simulates with the store closed
    with Store(path) as store:
        assert store.list_runs().height == 0
        with pytest.raises(StoreError, match="no run 'killed'"):
            store.load_run("killed")
        assert (store.ledger_dir / "killed.partial").exists()  # young: kept
        old = time.time() - 7200
        os.utime(store.ledger_dir / "killed.partial", (old, old))
    with Store(path) as store:  # old, but its writer is alive: kept
        assert (store.ledger_dir / "killed.partial").exists()
    del killed  # the process "dies" here, before commit_run, and its lock goes with it
    with Store(path) as store:  # opening removes stale partials
        assert not (store.ledger_dir / "killed.partial").exists()
        commit(store, "fine")
        assert store.list_runs()["run_id"].to_list() == ["fine"]


def test_clean_partials(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.begin_run("stale", kinds=KINDS, sources=SOURCES)
        commit(store, "kept")
        assert store.clean_partials(max_age_s=-1) == ["stale.partial"]
        assert [p.name for p in store.ledger_dir.iterdir()] == ["kept"]


def test_failure_inside_commit_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def boom(self, *args) -> None:
        raise duckdb.ConstraintException("disk on fire")

    with Store(tmp_path / "s.duckdb") as store:
        monkeypatch.setattr(Store, "_insert_metrics", boom)  # after the runs row went in
        writer = store.begin_run("doomed", kinds=KINDS, sources=SOURCES)
        write_ledger(writer)
        with pytest.raises(StoreError, match="disk on fire"):
            store.commit_run(make_record("doomed"), make_metrics(), make_group_metrics(), writer)
        assert store.list_runs().height == 0
        assert list(store.ledger_dir.iterdir()) == []
        assert store.con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
        monkeypatch.undo()
        commit(store, "after")  # the store is still usable
        assert store.list_runs()["run_id"].to_list() == ["after"]


def test_other_exceptions_in_commit_still_clean_up(tmp_path: Path, monkeypatch) -> None:
    def boom(self, *args) -> None:
        raise KeyboardInterrupt

    with Store(tmp_path / "s.duckdb") as store:
        monkeypatch.setattr(Store, "_insert_metrics", boom)
        writer = store.begin_run("doomed", kinds=KINDS, sources=SOURCES)
        with pytest.raises(KeyboardInterrupt):
            store.commit_run(make_record("doomed"), make_metrics(), make_group_metrics(), writer)
        assert store.list_runs().height == 0 and list(store.ledger_dir.iterdir()) == []


def test_bad_metrics_fail_before_touching_files(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.begin_run("r", kinds=KINDS, sources=SOURCES)
        with pytest.raises(ValueError, match="day"):
            store.commit_run(make_record("r"), make_metrics().drop("day"), make_group_metrics(),
                             writer)
        assert (store.ledger_dir / "r.partial").is_dir()
        store.commit_run(make_record("r"), make_metrics(), make_group_metrics(), writer)
        assert store.load_run("r").record.ledger_rows == 0


def test_duplicate_run_id_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "r")
        with pytest.raises(StoreError, match="already exists"):
            store.begin_run("r", kinds=KINDS, sources=SOURCES)


def test_bad_codes_are_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.begin_run("r", kinds=KINDS, sources=SOURCES)
        one = np.array([0])
        with pytest.raises(ValueError, match="kind codes"):
            writer.write(one, one, np.array([3]), one, one, one, one, one)
        with pytest.raises(ValueError, match="kind codes"):
            writer.write(one, one, np.array([-1]), one, one, one, one, one)
        with pytest.raises(ValueError, match="source codes"):
            writer.write(one, one, one, np.array([-2]), one, one, one, one)


def foreign_duckdb(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE accounts (id INTEGER, balance DOUBLE)")
    con.execute("INSERT INTO accounts VALUES (1, 10.0)")
    con.close()


@pytest.mark.parametrize("make", [
    lambda p: p.write_text("run_id,seed\nabc,1\n"),
    lambda p: p.write_bytes(np.random.default_rng(1).bytes(20_000)),
    lambda p: p.write_bytes(b""),
    foreign_duckdb,
], ids=["text", "random-bytes", "empty", "foreign-duckdb"])
def test_foreign_files_are_refused_and_untouched(tmp_path: Path, make) -> None:
    path = tmp_path / "thing.duckdb"
    make(path)
    before = path.read_bytes()
    listing = sorted(tmp_path.iterdir())
    for create in (True, False):
        with pytest.raises(StoreError, match="is not a scorestate store") as e:
            Store(path, create=create)
        assert str(path) in str(e.value) and "DuckDB file written by scorestate" in str(e.value)
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == listing  # no .wal, no ledger folder


def test_missing_store_with_create_false(tmp_path: Path) -> None:
    path = tmp_path / "nope.duckdb"
    with pytest.raises(StoreError) as e:
        Store(path, create=False)
    assert str(e.value) == (f"no store at '{path}'; a store is made by "
                            f"`scorestate run --store {path}`")
    assert not path.exists()


def test_missing_store_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with Store(path) as store:
        assert store.ledger_dir == tmp_path / "new.duckdb.ledger"
    Store(path, create=False).close()


def test_a_store_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """A typo in a folder's name used to start a new, empty store there, parents and all."""
    path = tmp_path / "typo" / "deep" / "new.duckdb"
    with pytest.raises(StoreError) as e:
        Store(path)
    assert str(e.value) == (f"cannot create the store '{path}': the folder '{path.parent}' does not "
                            "exist; expected a store path in an existing folder (create the folder "
                            "first if it is meant to be new)")
    assert list(tmp_path.iterdir()) == []


def test_ledger_kinds_are_checked_and_one_may_be_a_string(tmp_path: Path) -> None:
    """A mistyped kind used to give an empty table, and a string was read letter by letter."""
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "r")
        run = store.load_run("r")
    assert_frame_equal(run.ledger(kinds="reward"), run.ledger(kinds=["reward"]))
    assert run.ledger(kinds="reward")["kind"].to_list() == ["reward", "reward"]
    assert run.ledger(kinds=("offence", "reward")).height == 3
    for typo, shown in (("rewards", "kind 'rewards'"), (["reward", "ofence", "r"], "kinds 'ofence', 'r'")):
        with pytest.raises(ScorestateError) as e:
            run.ledger(kinds=typo)
        assert str(e.value) == (f"unknown ledger {shown} for run 'r'; expected some of: offence, "
                                "reward, tier_change")
    with pytest.raises(ScorestateError, match="kinds must be a ledger kind or a list of them; got int 3"):
        run.ledger(kinds=3)


def test_a_run_id_must_be_a_string(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "20261127-011530-3fa2c1")
        with pytest.raises(ScorestateError, match=r"a run id must be a string.*; got int 3"):
            store.load_run(3)  # type: ignore[arg-type]


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_default_path_and_closed_store(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store()
    assert store.path == DEFAULT_STORE and (tmp_path / "scorestate.duckdb").exists()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()


def test_store_in_use_is_not_called_foreign(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path), pytest.raises(StoreError, match="in use") as e:
        Store(path)
    assert "not a scorestate store" not in str(e.value)


def test_a_store_this_process_holds_is_not_waited_for(tmp_path: Path) -> None:
    """Opening waits for other processes (OPEN_WAIT_S); this process's own open Store would not
    let go while it waits, so it is named at once, with what to do."""
    path = tmp_path / "s.duckdb"
    with Store(path), pytest.raises(StoreInUseError) as e:
        Store(path, create=False)
    assert e.value.here and "waited" not in str(e.value)
    assert "in use by another connection in this process" in str(e.value)
    assert "expected it closed first" in str(e.value)


def test_a_run_is_named_by_its_random_end_but_not_by_a_stray_character(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        commit(store, "20261127-011530-3fa2c1")
        assert store.load_run("3fa2c1").record.run_id == "20261127-011530-3fa2c1"
        for stray in ("1", "c1", "2c1"):  # a row number or a citizen typed by mistake
            with pytest.raises(StoreError, match="no run"):
                store.load_run(stray)


@pytest.mark.parametrize("path", ["", Path(""), "."])
def test_an_empty_store_path_is_refused(tmp_path: Path, monkeypatch, path) -> None:
    """`--store ""` used to end in `ValueError: PosixPath('.') has an empty name`."""
    monkeypatch.chdir(tmp_path)
    for create in (True, False):
        with pytest.raises(StoreError) as e:
            Store(path, create=create)
        assert str(e.value) == "the store path is empty; expected a store path such as runs.duckdb"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["runs"], ["run", "-n", "300", "-d", "3"]])
def test_an_empty_store_option_is_one_message(tmp_path: Path, monkeypatch, command) -> None:

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, [*command, "--store", ""])
    assert r.exit_code == 2, r.output
    assert "expected a store path such as runs.duckdb" in r.stderr and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("taken_by", ["file", "dangling-link"])
def test_a_ledger_folder_taken_by_a_file_is_refused_before_anything_is_made(
        tmp_path: Path, taken_by: str) -> None:
    """The run used to fail with NotADirectoryError and leave a new, empty store behind."""

    path, ledger = tmp_path / "lf.duckdb", tmp_path / "lf.duckdb.ledger"
    if taken_by == "file":
        ledger.write_text("x\n")
    else:
        ledger.symlink_to(tmp_path / "gone")
    for create in (True, False):
        with pytest.raises(StoreError) as e:
            Store(path, create=create)
        assert f"the ledger folder of the store '{path}', '{ledger}', is taken by a file" in str(e.value)
        assert "expected a folder there" in str(e.value)
    r = CliRunner().invoke(app, ["run", "-n", "300", "-d", "3", "--store", str(path)])
    assert r.exit_code == 2, r.output
    assert f"'{ledger}', is taken by a file" in r.stderr and "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lf.duckdb.ledger"]  # no new store


def zero(path: Path, offset: int, size: int = 8192) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(b"\0" * size)


def test_a_damaged_store_is_called_damaged_at_once_not_in_use(tmp_path: Path) -> None:
    """A checksum error used to read as a lock (its message names a 'block'): 10 s of waiting,
    then 'in use by another connection or process'."""

    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        commit(store, "20261127-011530-3fa2c1")
    zero(path, 4096)  # both database headers: DuckDB reads a bad checksum on opening
    before = path.read_bytes()
    for create, wait_s in ((True, 0.0), (False, 5.0)):
        t0 = time.monotonic()
        with pytest.raises(StoreError) as e:
            Store(path, create=create, wait_s=wait_s)
        assert time.monotonic() - t0 < 2.0  # no waiting for a lock that is not there
        assert not isinstance(e.value, StoreInUseError)
        message = str(e.value)
        assert message.startswith(f"the store file '{path}' is damaged (Corrupt database file")
        assert "its runs cannot be read" in message and "in use" not in message
    for args in (["runs"], ["explain", "3fa2c1", "1"], ["report", "3fa2c1"]):
        t0 = time.monotonic()
        r = CliRunner().invoke(app, [*args, "--store", str(path)])
        assert time.monotonic() - t0 < 5.0, args
        assert r.exit_code == 2, r.output
        assert f"the store file '{path}' is damaged" in r.stderr and "Traceback" not in r.output
    assert path.read_bytes() == before


@pytest.mark.parametrize("keep", [5_000, 100_000])
def test_a_truncated_store_is_called_damaged(tmp_path: Path, keep: int) -> None:
    """A store cut short (a copy that stopped) is damaged, as one corrupted in place is, not
    'not a scorestate store'."""
    whole = tmp_path / "whole.duckdb"
    with Store(whole) as store:
        commit(store, "r")
    path = tmp_path / "cut.duckdb"
    path.write_bytes(whole.read_bytes()[:keep])
    listing = sorted(tmp_path.iterdir())
    for create in (True, False):
        with pytest.raises(StoreError, match="is damaged"):
            Store(path, create=create)
    assert sorted(tmp_path.iterdir()) == listing  # no .wal: the file is left as it is
    r = CliRunner().invoke(app, ["runs", "--store", str(path)])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"scorestate: error: the store file '{path}' is damaged (IO Error: Could "
                               "not read enough bytes")
    assert "restore it from a copy" in " ".join(r.stderr.split()) and r.stderr.count("\n") == 1


def test_a_damaged_block_met_while_reading_is_called_damaged(tmp_path: Path) -> None:
    """The file opens, but the block holding a table's rows fails its checksum when read."""
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        commit(store, "r")
    con = duckdb.connect(str(path), read_only=True)
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    blocks = [b for (b,) in con.execute("SELECT DISTINCT block_id FROM pragma_storage_info('metrics') "
                                        "WHERE block_id >= 0").fetchall()]
    con.close()
    assert blocks, "the metrics table is expected to have a block of its own on disk"
    for block in blocks:
        zero(path, 3 * 4096 + block * block_size)  # after DuckDB's three 4 KiB header blocks
    with Store(path, create=False) as store:
        assert store.list_runs()["run_id"].to_list() == ["r"]
        with pytest.raises(StoreError) as e:
            store.load_run("r")
    assert str(e.value).startswith(f"the store file '{path}' is damaged (Corrupt database file")


def test_runs_shows_names_with_control_characters_and_markup_as_text(tmp_path: Path) -> None:
    """A scenario's name reached the terminal raw: ESC sequences acted, `[bold]` was applied."""

    path = tmp_path / "s.duckdb"
    name = "\x1b[2J[b]x[/b]\u202e"  # short enough for its column in 80 columns
    with Store(path) as store:
        writer = store.begin_run("r", kinds=KINDS, sources=SOURCES)
        write_ledger(writer)
        record = replace(make_record("r"), scenario_name=name,
                         scenario=make_record("r").scenario | {"overrides": ["a=\x1b[1mb\n", "c=[red]d"]})
        store.commit_run(record, make_metrics(), make_group_metrics(), writer)
    r = CliRunner().invoke(app, ["runs", "--store", str(path)])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    assert r"\x1b[2J[b]x[/b]\u202e" in r.stdout
    assert r"r: a=\x1b[1mb\n; c=[red]d" in r.stdout
    # as JSON the name is the stored text, escaped by JSON itself
    listed = json.loads(CliRunner().invoke(app, ["runs", "--store", str(path), "--json"]).stdout)
    assert listed["runs"][0]["scenario_name"] == name


def test_a_lock_is_told_from_damage_by_duckdbs_message_not_by_a_word_in_it() -> None:
    from scorestate.store import _corrupt, _in_use

    damaged = duckdb.Error("Corrupt database file: computed checksum 5381 does not match stored "
                           "checksum 0 in block at location 4096")  # "block" is not "lock"
    locked = duckdb.IOException('IO Error: Could not set lock on file "/data/Corrupt database '
                                'file.duckdb": Conflicting lock is held in python (PID 7)')
    assert _corrupt(damaged) and not _in_use(damaged)
    assert _in_use(locked) and not _corrupt(locked)


def _read_only_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every write to a store fail as on a read-only file system (chmod does not stop root)."""
    import shutil

    import scorestate.store as store_module

    connect = duckdb.connect

    def connect_read_only(database: str = ":memory:", read_only: bool = False, **kw):
        if not read_only and database != ":memory:":
            raise duckdb.IOException(f'IO Error: Cannot open file "{database}": Read-only file system')
        return connect(database, read_only=read_only, **kw)

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(store_module.duckdb, "connect", connect_read_only)
    monkeypatch.setattr(shutil, "rmtree", refuse)
    monkeypatch.setattr(os, "unlink", refuse)


def test_a_read_only_store_can_be_listed_opened_and_read(tmp_path: Path, monkeypatch) -> None:
    """`runs`, `open_run(...).metrics` and `.ledger()` used to fail with DuckDB's "Cannot open
    file ... Read-only file system": the store was opened for writing even to be read."""
    import scorestate as ss

    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "s.duckdb"
    run_id = ss.run(ss.load_scenario("essay", population=200, days=2), store=path).run_id
    stale = path.with_name(path.name + ".ledger") / "dead.partial"  # a killed run's: cannot go
    stale.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    modes = {p: p.stat().st_mode for p in (folder, path)}
    try:
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        _read_only_file_system(monkeypatch)
        assert ss.list_runs(path)["run_id"].to_list() == [run_id]
        stored = ss.open_run(run_id, store=path)
        assert stored.metrics.height > 0 and stored.ledger().height == stored.record.ledger_rows
        result = CliRunner().invoke(app, ["runs", "--store", str(path)])
        assert result.exit_code == 0, result.output
        assert run_id in result.output
        assert stale.is_dir()
    finally:
        monkeypatch.undo()
        for p, mode in modes.items():
            p.chmod(mode)


def test_a_store_opened_to_be_read_is_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        commit(store, "one")
    with Store(path, create=False) as store:
        assert store.read_only
        with pytest.raises(duckdb.Error, match="read-only"):
            store.con.execute("CREATE TABLE scratch (x INTEGER)")
        with pytest.raises(StoreError, match="opened read-only"):
            store.begin_run("two", kinds=KINDS, sources=SOURCES)
    with Store(path) as store:  # a writer afterwards is not shut out
        assert not store.read_only
        assert store.list_runs()["run_id"].to_list() == ["one"]
