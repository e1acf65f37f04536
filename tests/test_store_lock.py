"""The store is locked only to begin and to commit a run, never while it simulates.

A run that takes hours must leave the store free for other processes meanwhile: to list and open
runs, and to add runs of their own. Each test here fails if the run holds DuckDB's lock while it
simulates. The subprocesses are waited on by what they have done (a file, a line), not by time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import scorestate as ss
from scorestate.store import Store, StoreInUseError

# A run that stops after its first day until the file `gate` exists, touching `started` first,
# so that a test can act while it is certainly simulating. It prints its run id when committed.
GATED_RUN = """
import sys, time
from pathlib import Path
import scorestate as ss
store, gate = sys.argv[1], Path(sys.argv[2])
def hold(day):
    if day == 1:
        (gate.parent / "started").touch()
        deadline = time.monotonic() + 300
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
run = ss.run(ss.load_scenario("essay", population=500, days=4), store=store, progress=hold)
print(run.run_id, flush=True)
"""
# Another process holding DuckDB's lock on the store until its stdin closes.
HOLD_LOCK = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
             "sys.stdin.read()")


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen, what: str,
             timeout: float = 180.0) -> None:
    """Poll until ``cond`` holds; fail if ``proc`` ends first or it takes absurdly long."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"the run ended (code {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen]]:
    """Subprocesses a test starts, killed at its end whatever happened."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def hold_lock(path: Path, procs: list[subprocess.Popen]) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def release(holder: subprocess.Popen) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=60)


def listed(store: Path) -> list[str]:
    with Store(store, create=False) as s:
        return s.list_runs()["run_id"].to_list()


def small(store: Path, **kw) -> ss.RunResult:
    return ss.run(ss.load_scenario("essay", population=300, days=3), store=store, **kw)


def test_the_store_can_be_read_while_a_run_simulates(tmp_path: Path, procs) -> None:
    """`runs --json` in another process works mid-run and does not show the unfinished run."""
    store = tmp_path / "k.duckdb"
    done = small(store)
    proc = subprocess.Popen([sys.executable, "-m", "scorestate", "run", "-n", "20000", "-d", "30000",
                             "--store", str(store)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(proc)
    # a ledger part is written only once the simulation runs, after the run has begun
    wait_for(lambda: any(tmp_path.glob("k.duckdb.ledger/*.partial/part-*.parquet")), proc,
             "the run wrote its first ledger part")
    (partial,) = tmp_path.glob("k.duckdb.ledger/*.partial")
    r = subprocess.run([sys.executable, "-m", "scorestate", "runs", "--store", str(store), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ids = [row["run_id"] for row in json.loads(r.stdout)["runs"]]
    assert ids == [done.run_id] and partial.name.removesuffix(".partial") not in ids
    assert ss.open_run(done.run_id, store=store).metrics.height == 3
    assert proc.poll() is None, "the run should still be simulating"


def test_two_runs_overlapping_in_time_both_commit(tmp_path: Path, procs) -> None:
    store = tmp_path / "s.duckdb"
    first = subprocess.Popen([sys.executable, "-c", GATED_RUN, str(store), str(tmp_path / "go")],
                             stdout=subprocess.PIPE, text=True)
    procs.append(first)
    wait_for((tmp_path / "started").exists, first, "the first run started simulating")
    second = small(store)  # begins, simulates and commits while the first one simulates
    assert listed(store) == [second.run_id]
    assert first.poll() is None
    (tmp_path / "go").touch()
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0
    first_id = out.strip()
    assert sorted(listed(store)) == sorted([first_id, second.run_id])
    for run_id in (first_id, second.run_id):
        stored = ss.open_run(run_id, store=store)
        assert stored.metrics.height == stored.record.days
        assert stored.ledger().height == stored.record.ledger_rows
    assert sorted(p.name for p in (tmp_path / "s.duckdb.ledger").iterdir()) == sorted(
        [first_id, second.run_id])  # no partial left behind


def test_a_killed_runs_folder_is_kept_while_it_lives_and_cleaned_once_dead(tmp_path: Path,
                                                                           procs) -> None:
    """Cleaning old partial folders must not remove that of a run still going elsewhere."""
    store = tmp_path / "s.duckdb"
    done = small(store)
    proc = subprocess.Popen([sys.executable, "-c", GATED_RUN, str(store), str(tmp_path / "go")],
                            stdout=subprocess.DEVNULL)
    procs.append(proc)
    wait_for((tmp_path / "started").exists, proc, "the run started simulating")
    (partial,) = tmp_path.glob("s.duckdb.ledger/*.partial")
    old = time.time() - 7200
    os.utime(partial, (old, old))
    Store(store).close()  # opening the store to add a run cleans old partials ...
    assert listed(store) == [done.run_id]
    assert partial.is_dir()  # ... but not that of a live run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert listed(store) == [done.run_id]
    assert partial.is_dir()  # a reader removes nothing
    Store(store).close()
    assert not partial.exists()
    assert ss.open_run(done.run_id, store=store).metrics.height == 3


def test_a_store_held_all_the_while_at_the_start_fails_before_any_day(tmp_path: Path, procs,
                                                                     monkeypatch) -> None:
    store = tmp_path / "s.duckdb"
    Store(store).close()
    holder = hold_lock(store, procs)
    days: list[int] = []
    monkeypatch.setattr("scorestate.store.OPEN_WAIT_S", 0.5)
    with pytest.raises(StoreInUseError, match=r"cannot open the store .* it is in use by another "
                                              r".*; waited 0.5 s for it"):
        small(store, progress=days.append)
    assert days == []
    release(holder)
    assert listed(store) == [] and not (tmp_path / "s.duckdb.ledger").exists()


def release_once_refused(monkeypatch, state: dict) -> None:
    """Let `state["holder"]` go as soon as opening the store has been refused once: the open
    must then have waited for the lock, not failed at once."""
    check = Store._check

    def check_then_count_refusals(path: Path) -> None:
        if state["holder"] is not None and state["refused"]:
            release(state["holder"])
            state["holder"] = None
        try:
            check(path)
        except StoreInUseError:
            state["refused"] += 1
            raise

    monkeypatch.setattr(Store, "_check", staticmethod(check_then_count_refusals))


def test_a_run_started_while_another_process_holds_the_store_waits_for_it(tmp_path: Path, procs,
                                                                          monkeypatch) -> None:
    """Runs started together each hold the store a moment; all but one used to fail at once."""
    from typer.testing import CliRunner

    from scorestate.cli import app

    store = tmp_path / "s.duckdb"
    Store(store).close()
    state: dict = {"holder": hold_lock(store, procs), "refused": 0}
    release_once_refused(monkeypatch, state)
    r = CliRunner().invoke(app, ["run", "-n", "300", "-d", "3", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    assert state["refused"] >= 1 and state["holder"] is None
    assert listed(store) == [json.loads(r.stdout)["run_id"]]


# Store a small fake run once the file `go` exists, so that processes start it together.
TOGETHER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
import numpy as np, polars as pl
from scorestate.store import RunRecord, Store
store, go, run_id = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
while not go.exists():
    time.sleep(0.002)
with Store(store) as s:
    writer = s.begin_run(run_id, kinds=["a"], sources=["b"])
z = np.zeros(2, np.int32)
writer.write(z, z, z, z, z, z, z, z)
record = RunRecord(run_id=run_id, scenario_name="x", scenario={}, seed=1, population=1, days=1,
                   package_version="0", created_at=datetime.now(UTC), elapsed_s=0.0, build_s=0.0,
                   citizen_days_per_s=0.0, final={}, ledger_retention="full")
with Store(store) as s:
    s.commit_run(record, pl.DataFrame({"day": [0], "m": [1.0]}),
                 pl.DataFrame({"day": [0], "grouping": ["g"], "group": ["a"], "m": [1.0]}), writer)
"""


def test_runs_started_together_on_a_new_store_are_all_stored(tmp_path: Path, procs) -> None:
    store, go = tmp_path / "c.duckdb", tmp_path / "go"
    ids = [f"r{i}" for i in range(4)]
    started = [subprocess.Popen([sys.executable, "-c", TOGETHER, str(store), str(go), run_id],
                                stderr=subprocess.PIPE, text=True) for run_id in ids]
    procs.extend(started)
    go.touch()
    for p in started:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert sorted(listed(store)) == ids


def test_opening_tidies_the_ledger_folder_before_it_takes_the_lock(tmp_path: Path,
                                                                    monkeypatch) -> None:
    """Removing a dead run's folder (gigabytes, perhaps) must not keep other processes out."""
    store = tmp_path / "s.duckdb"
    Store(store).close()
    connected: list[bool] = []
    clean = Store.clean_partials

    def note_the_connection(self: Store, *args, **kwargs) -> list[str]:
        connected.append(self._con is not None)
        return clean(self, *args, **kwargs)

    monkeypatch.setattr(Store, "clean_partials", note_the_connection)
    Store(store).close()
    assert connected == [False]


def test_the_commit_waits_for_a_lock_held_elsewhere(tmp_path: Path, procs, monkeypatch) -> None:
    """Another process takes the lock as the run ends; it lets go once the commit has met it."""
    store = tmp_path / "s.duckdb"
    state: dict = {"holder": None, "refused": 0}
    release_once_refused(monkeypatch, state)

    def lock_on_the_last_day(day: int) -> None:
        if day == 3:
            state["holder"] = hold_lock(store, procs)

    Store(store).close()
    result = small(store, progress=lock_on_the_last_day)
    assert state["refused"] >= 1 and state["holder"] is None
    assert listed(store) == [result.run_id]


def test_a_commit_that_cannot_get_the_lock_says_so_and_keeps_nothing(tmp_path: Path,
                                                                     procs) -> None:
    store = tmp_path / "s.duckdb"
    holder: list[subprocess.Popen] = []
    with pytest.raises(StoreInUseError) as e:
        small(store, commit_wait_s=0.5,
              progress=lambda day: holder.append(hold_lock(store, procs)) if day == 3 else None)
    message = str(e.value)
    assert "finished but was not stored, and nothing of it was kept" in message
    assert f"cannot open the store '{store}': it is in use by another" in message
    assert "waited 0.5 s" in message
    release(holder[0])
    assert listed(store) == []
    assert list((tmp_path / "s.duckdb.ledger").iterdir()) == []
