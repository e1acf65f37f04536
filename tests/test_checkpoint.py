"""Checkpoints: a run saved between days and resumed goes on to the same results, bit for bit,
and a file that is not a checkpoint of this code is refused with one message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

import scorestate as ss
from scorestate import checkpoint

# phases begin on days 30 and 180 and the system is dismantled on day 200: cuts on either side
SCENARIO = ss.load_scenario("essay", {"ledger.retention": "full", "timeline.dismantle_day": 200},
                            population=2500, days=215, seed=5)


CRAFTED = ss.load_scenario("essay", {"ledger.retention": "full", "ledger.flush_rows": 10**7},
                           population=600, days=40, seed=4)


@pytest.fixture(scope="module")
def straight() -> ss.RunResult:
    return ss.simulate(SCENARIO)


def _resumed(tmp_path: Path, cut: int, **kwargs) -> ss.Simulation:
    sim = ss.Simulation(SCENARIO)
    while sim.day < cut:
        sim.step()
    path = sim.save(tmp_path / "run.ckpt.npz")
    del sim
    return ss.Simulation.resume(path, **kwargs)


@pytest.mark.parametrize("cut", [0, 1, 30, 31, 180, 200, 201, 215])
def test_a_resumed_run_is_the_run_that_was_not_interrupted(tmp_path, straight, cut):
    result = _resumed(tmp_path, cut).run()
    assert_frame_equal(result.metrics, straight.metrics)
    assert_frame_equal(result.group_metrics, straight.group_metrics)
    assert_frame_equal(result.ledger, straight.ledger)


def test_resuming_in_a_fresh_process_on_one_thread_gives_the_same_state(tmp_path, straight):
    sim = ss.Simulation(SCENARIO)
    while sim.day < 120:
        sim.step()
    sim.save(tmp_path / "run.ckpt.npz")
    code = ("import sys, numpy as np, scorestate as ss\n"
            "sim = ss.Simulation.resume(sys.argv[1])\n"
            "r = sim.run()\n"
            "np.savez(sys.argv[2], score=sim.state.score, nbrs=sim.graph.nbrs,\n"
            "         degree=sim.graph.degree, approval=r.metrics['approval_mean'].to_numpy())\n")
    out = tmp_path / "out.npz"
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "run.ckpt.npz"), str(out)],
                   check=True, env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    again = ss.Simulation(SCENARIO)
    again.run()
    with np.load(out) as got:
        assert np.array_equal(got["score"], again.state.score)
        assert np.array_equal(got["degree"], again.graph.degree)
        assert np.array_equal(got["nbrs"], again.graph.nbrs)
        assert np.array_equal(got["approval"], straight.metrics["approval_mean"].to_numpy())


def test_rows_handed_to_a_sink_before_and_after_make_the_whole_ledger(tmp_path):
    """Rows are handed on in batches: those handed before the checkpoint, and those it held
    back and hands on after, are the batches of the run that was not interrupted."""
    often = SCENARIO.model_copy(update={"ledger": SCENARIO.ledger.model_copy(
        update={"flush_rows": 20_000})})
    whole: list[dict] = []
    ss.Simulation(often, ledger_sink=whole.append).run()
    before: list[dict] = []
    sim = ss.Simulation(often, ledger_sink=before.append)
    while sim.day < 90:
        sim.step()
    sim.save(tmp_path / "run.ckpt.npz")
    assert before and sim.ledger._pending > 0  # batches handed on, and rows held back
    after: list[dict] = []
    ss.Simulation.resume(tmp_path / "run.ckpt.npz", ledger_sink=after.append).run()
    assert len(before + after) == len(whole)
    for got, want in zip(before + after, whole, strict=True):
        for column in want:
            assert np.array_equal(got[column], want[column]), column


def test_a_save_that_fails_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    sim = ss.Simulation(SCENARIO)
    sim.step()
    path = sim.save(tmp_path / "run.ckpt.npz")
    first = path.read_bytes()
    sim.step()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.np, "savez", full_disk)
    with pytest.raises(ss.ScorestateError, match="No space left on device"):
        sim.save(path)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt.npz"]


def _rewrite(path: Path, change) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _meta_with(**fields):
    def change(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        meta.update(fields)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return change


def _set(key, fn):
    def change(arrays):
        arrays[key] = fn(arrays[key].copy())
    return change


def _bad_tie(nbrs):
    nbrs[0] = 10**8
    return nbrs


def _bad_tier(tier):
    tier[7] = 200
    return tier


def _region_start_past_the_end(starts):
    starts[-1] = 10**9  # misattribution and new ties would draw citizens far outside the arrays
    return starts


def _region_start_negative(starts):
    starts[1] = -5000
    return starts


def _bools(a):
    a = a.astype(np.uint8)
    a[5] = 200  # a camera's coverage table is indexed by it
    return a


def _negative_degree(degree):
    degree = degree.astype(np.int32)
    degree[3] = -1
    return degree


def _every_price_rule(rules):
    rules[5] = np.iinfo(rules.dtype).max  # rules the factor table has no row for
    return rules


def _unknown_kind(kind):
    kind[:] = 999
    return kind


def _drop(key):
    def change(arrays):
        del arrays[key]
    return change


def _list_reason(reason):
    reason[7] = 100
    return reason


@pytest.mark.parametrize(("change", "message"), [
    (_set("citizens.region_start", _region_start_past_the_end), "does not split its"),
    (_set("citizens.region_start", _region_start_negative), "does not split its"),
    (_set("citizens.region", lambda r: (r + 1).astype(r.dtype)), "does not match 'citizens.region_start'"),
    (_set("citizens.urban", _bools), "'citizens.urban' is uint8"),
    (_set("citizens.rank", lambda r: r.astype(np.float64)), "'citizens.rank' is float64"),
    (_set("citizens.group", lambda g: g ^ 1), "'citizens.group' does not match"),
    (_set("citizens.quintile", lambda q: q * 0), "'citizens.quintile' has values outside 1 to 5"),
    (_set("graph.start", lambda a: a.astype(np.float64)), "'graph.start' is float64"),
    (_set("graph.nbrs", lambda a: a.astype(np.int64)), "'graph.nbrs' is int64"),
    (_set("graph.degree", _negative_degree), "rows of ties are out of order"),
    (_set("state.list_reason", _list_reason), "'state.list_reason' has values outside"),
    (_set("prices.rules", _every_price_rule), "price rules name rules"),
    (_set("prices.factors", lambda f: f.astype(np.float64)), "price table does not match"),
    (_set("pending.kind", _unknown_kind), "'pending.kind' has values outside"),
    (_set("pending.day", lambda d: d[:-1]), "'pending.citizen' is int32"),
    (_drop("prices.rules"), "'prices.rules' is missing"),
    (_drop("metrics"), "'metrics' is missing"),
    (_meta_with(day="abc"), "its day is 'abc'"),
    (_meta_with(day=3.5), "its day is 3.5"),
    (_meta_with(components=["x"]), "network components"),
    (_meta_with(memory_batches=[10**9]), "does not add up"),
    (_meta_with(ledger_rows=-5), "its ledger_rows is -5"),
    (_meta_with(scenario="essay"), "holds no scenario"),
    (_meta_with(code="0" * 16), "written by other code"),
    (_meta_with(format=99), "format 99"),
    (_meta_with(day=9999), "outside the run"),
    (_set("graph.nbrs", _bad_tie), "ties to citizens that do not exist"),
    (_set("state.tier", _bad_tier), "'state.tier' has values outside"),
    (_set("state.score", lambda a: a[:-1]), "'state.score' is float32"),
])
def test_a_checkpoint_that_is_not_one_of_this_code_is_refused(tmp_path, change, message):
    """Kernels do not check bounds: what a crafted file could make them read or write outside
    an array is refused on load, with one message, rather than crashing the interpreter."""
    sim = ss.Simulation(CRAFTED)
    while sim.day < 35:  # listed citizens, price rules and ledger rows held back
        sim.step()
    path = sim.save(tmp_path / "run.ckpt.npz")
    _rewrite(path, change)
    with pytest.raises(ss.ScorestateError, match=message):
        ss.Simulation.resume(path)


def test_files_that_are_not_checkpoints_are_named(tmp_path):
    with pytest.raises(ss.ScorestateError, match="no checkpoint at"):
        ss.Simulation.resume(tmp_path / "missing.npz")
    with pytest.raises(ss.ScorestateError, match="is not a file"):
        ss.Simulation.resume(tmp_path)
    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint")
    with pytest.raises(ss.ScorestateError, match="not a usable scorestate checkpoint"):
        ss.Simulation.resume(text)
    sim = ss.Simulation(SCENARIO)
    path = sim.save(tmp_path / "run.ckpt.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut off, as by a full disk
    with pytest.raises(ss.ScorestateError, match="not a usable scorestate checkpoint"):
        ss.Simulation.resume(path)
    with pytest.raises(ss.ScorestateError, match="does not exist"):
        sim.save(tmp_path / "no" / "such" / "folder.npz")
    with pytest.raises(ss.ScorestateError, match="it is a folder"):
        sim.save(tmp_path)
    one = tmp_path / "one.npz"
    with open(one, "wb") as f:
        np.save(f, np.arange(3))
    with pytest.raises(ss.ScorestateError, match=r"holds one array \(\.npy\)"):
        ss.Simulation.resume(one)
    plain = tmp_path / "plain.npz"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("meta.npy", "not an array")
    with pytest.raises(ss.ScorestateError, match="'meta' is not a NumPy array"):
        ss.Simulation.resume(plain)
    with pytest.raises(ss.ScorestateError, match="must be a file path"):
        ss.Simulation.resume(None)


def test_a_checkpoint_never_holds_pickled_objects(tmp_path):
    path = ss.Simulation(SCENARIO).save(tmp_path / "run.ckpt.npz")
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as f:
                np.lib.format.read_magic(f)
                header = np.lib.format.read_array_header_1_0(f)
            assert header[2] != np.dtype(object), name


# ------------------------------------------------------------------ runs in a store

STORED = ss.load_scenario("essay", {"ledger.retention": "panel"}, population=2000, days=90, seed=2)


class _Stop(Exception):
    pass


def _stop_on(day: int):
    def progress(d: int) -> None:
        if d == day:
            raise _Stop
    return progress


def test_a_checkpointed_run_that_stopped_resumes_to_the_run_stored_straight(tmp_path):
    store = tmp_path / "runs.duckdb"
    straight = ss.run(STORED, store=store)
    with pytest.raises(_Stop):
        ss.run(STORED, store=store, checkpoint_every=20, run_id="stopped", progress=_stop_on(55))
    assert ss.resumable_runs(store) == ["stopped"]
    with ss.Store(store) as s:
        assert "stopped" not in s.list_runs()["run_id"].to_list()
    listed = subprocess.run([sys.executable, "-m", "scorestate", "runs", "--store", str(store),
                             "--json"], capture_output=True, text=True, check=True)
    assert json.loads(listed.stdout)["resumable"] == ["stopped"]
    folder = tmp_path / "runs.duckdb.ledger" / "stopped.partial"
    (folder / ".checkpoint.npz.killed.tmp").write_bytes(b"half a checkpoint")  # killed while saving
    ss.resume_run("stopped", store=store)
    assert ss.resumable_runs(store) == []
    a, b = ss.open_run(straight.run_id, store=store), ss.open_run("stopped", store=store)
    assert_frame_equal(a.metrics.drop("run_id", strict=False), b.metrics.drop("run_id", strict=False))
    assert_frame_equal(a.ledger(), b.ledger())
    assert sorted(p.name for p in (tmp_path / "runs.duckdb.ledger" / "stopped").iterdir()) == [
        "panel-day0.parquet", "part-00000.parquet"]  # the checkpoint is gone with the run stored
    # the panel's day-0 records are those its day 0 wrote, not the resumed day's state
    kept_a, kept_b = a.panel_day0(), b.panel_day0()
    assert kept_a.ids.tolist() == kept_b.ids.tolist()
    assert all(kept_a[c] == kept_b[c] for c in kept_a.ids.tolist())


def test_a_run_stopped_before_its_first_checkpoint_leaves_nothing(tmp_path):
    store = tmp_path / "runs.duckdb"
    with pytest.raises(_Stop):
        ss.run(STORED, store=store, checkpoint_every=60, run_id="early", progress=_stop_on(30))
    assert ss.resumable_runs(store) == []
    assert not (tmp_path / "runs.duckdb.ledger" / "early.partial").exists()
    with pytest.raises(ss.StoreError, match="has no checkpoint"):
        ss.resume_run("early", store=store)


def test_a_run_with_a_warm_up_keeps_it_in_a_checkpoint_at_day_0(tmp_path):
    """The warm-up can be the longest part of a run (eight years for the court list): a
    checkpointed run saves one as soon as it is lived, so a run stopped before its first
    periodic checkpoint resumes from day 0 without living it again, to the same run."""
    store = tmp_path / "runs.duckdb"
    scenario = ss.load_scenario("court-blacklist", {"run.warm_up_days": 400}, population=3000,
                                days=30, seed=2)
    straight = ss.run(scenario, store=store)
    with pytest.raises(_Stop):
        ss.run(scenario, store=store, checkpoint_every=20, run_id="stopped", progress=_stop_on(5))
    assert ss.resumable_runs(store) == ["stopped"]
    lived = []
    original = ss.Simulation._warm_up
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ss.Simulation, "_warm_up", lambda self, *a: lived.append(a) or original(self, *a))
        ss.resume_run("stopped", store=store)
    assert lived == []  # resumed from day 0's checkpoint, not rebuilt
    a, b = ss.open_run(straight.run_id, store=store), ss.open_run("stopped", store=store)
    assert_frame_equal(a.metrics.drop("run_id", strict=False), b.metrics.drop("run_id", strict=False))
    assert a.metrics["blacklist_share"][0] > 0


def test_a_resumable_run_is_kept_for_a_week_by_the_cleaner(tmp_path):
    store = tmp_path / "runs.duckdb"
    with pytest.raises(_Stop):
        ss.run(STORED, store=store, checkpoint_every=20, run_id="stopped", progress=_stop_on(25))
    folder = tmp_path / "runs.duckdb.ledger" / "stopped.partial"
    two_hours_ago = time.time() - 7200
    os.utime(folder, (two_hours_ago, two_hours_ago))
    with ss.Store(store) as s:
        assert s.clean_partials() == []
        eight_days_ago = time.time() - 8 * 24 * 3600
        os.utime(folder, (eight_days_ago, eight_days_ago))
        assert s.clean_partials() == ["stopped.partial"]


def test_checkpoints_need_a_store_and_a_positive_period(tmp_path):
    with pytest.raises(ss.ScorestateError, match="needs a store"):
        ss.run(STORED, store=None, checkpoint_every=10)
    with pytest.raises(ss.ScorestateError, match="expected a whole number of days"):
        ss.run(STORED, store=tmp_path / "r.duckdb", checkpoint_every=0)


def test_ctrl_c_on_a_checkpointed_run_says_how_to_resume_it_and_resuming_stores_it(tmp_path):
    store = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "scorestate", "run", "-n", "20000", "-d", "3000",
                             "--store", str(store), "--checkpoint-every", "200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ledger = Path(f"{store}.ledger")
    deadline = time.time() + 240
    while not list(ledger.glob("*.partial/checkpoint.npz")) and time.time() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run should still be going when it is interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    run_id = ss.resumable_runs(store)[0]
    assert f"scorestate run --resume {run_id} --store {store}" in " ".join(stderr.split())
    listed = subprocess.run([sys.executable, "-m", "scorestate", "runs", "--store", str(store)],
                            capture_output=True, text=True, check=True)
    assert f"--resume {run_id}" in listed.stdout
    refused = subprocess.run([sys.executable, "-m", "scorestate", "run", "baseline", "--resume",
                              run_id, "--store", str(store)], capture_output=True, text=True)
    assert refused.returncode == 2 and "SCENARIO cannot change it" in refused.stderr
    resumed = subprocess.run([sys.executable, "-m", "scorestate", "run", "--resume", run_id,
                              "--store", str(store), "--json"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["run_id"] == run_id
    assert ss.open_run(run_id, store=store).metrics.height == 3000


def _stopped(store: Path, run_id: str = "stopped", day: int = 55) -> Path:
    """A checkpointed run stopped on `day`; its folder."""
    with pytest.raises(_Stop):
        ss.run(STORED, store=store, checkpoint_every=20, run_id=run_id, progress=_stop_on(day))
    return Path(f"{store}.ledger") / f"{run_id}.partial"


def test_a_run_killed_while_committing_stays_resumable_to_the_same_run(tmp_path):
    """Killed between the rename of its folder and the catalogue's row, a run leaves its folder
    under its final name with its checkpoint: it is listed, resumed, and stored whole."""
    store = tmp_path / "runs.duckdb"
    straight = ss.run(STORED, store=store)
    folder = _stopped(store)
    folder.rename(folder.with_name("stopped"))  # what the kill leaves
    assert ss.resumable_runs(store) == ["stopped"]
    ss.resume_run("stopped", store=store)
    assert ss.resumable_runs(store) == []
    a, b = ss.open_run(straight.run_id, store=store), ss.open_run("stopped", store=store)
    assert_frame_equal(a.metrics.drop("run_id", strict=False), b.metrics.drop("run_id", strict=False))
    assert_frame_equal(a.ledger(), b.ledger())
    assert not (folder.with_name("stopped") / "checkpoint.npz").exists()


def test_a_checkpoint_left_in_a_stored_run_is_cleaned_and_not_resumable(tmp_path):
    """Killed once stored but before its checkpoint was removed: the run is whole."""
    store = tmp_path / "runs.duckdb"
    done = ss.run(STORED, store=store, checkpoint_every=20)
    folder = Path(f"{store}.ledger") / done.run_id
    ss.Simulation(STORED).save(folder / "checkpoint.npz")
    with ss.Store(store) as s:
        assert s.resumable() == []
    assert not (folder / "checkpoint.npz").exists()
    with pytest.raises(ss.StoreError, match="already complete"):
        ss.resume_run(done.run_id, store=store)


def test_a_refused_checkpoint_leaves_the_stopped_run_as_it_was(tmp_path):
    store = tmp_path / "runs.duckdb"
    folder = _stopped(store)
    _rewrite(folder / "checkpoint.npz", _meta_with(code="0" * 16))
    (folder / "part-00009.parquet").write_bytes(b"written after the checkpoint")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ss.ScorestateError, match="written by other code"):
        ss.resume_run("stopped", store=store)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert ss.resumable_runs(store) == ["stopped"]


@pytest.mark.parametrize("garbage", [b"garbage\n", b"\x80\x04K\x01."])  # text; a real pickle
def test_a_garbage_checkpoint_is_not_one_scorestate_wrote_and_the_run_starts_again(tmp_path, garbage):
    """NumPy takes such a file for pickled objects and advises loading it unsafely; the message
    says instead what the file is not, what was expected, and the way out."""
    store = tmp_path / "runs.duckdb"
    folder = _stopped(store)
    (folder / "checkpoint.npz").write_bytes(garbage)
    r = subprocess.run([sys.executable, "-m", "scorestate", "run", "--resume", "stopped", "--store",
                        str(store)], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    said = " ".join(r.stderr.split())
    assert said == (f"scorestate: error: '{folder / 'checkpoint.npz'}' is not a usable scorestate "
                    "checkpoint: it is not a checkpoint scorestate wrote: NumPy reads it as Python "
                    "objects (pickled data), which a checkpoint never holds; expected the .npz of "
                    "NumPy arrays that Simulation.save or `scorestate run --checkpoint-every` "
                    "writes; run 'stopped' cannot go on from it: start the run again (it was not "
                    "stored, so nothing of it is in the store)")
    assert "allow_pickle" not in r.stderr and r.stderr.count("\n") == 1


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    store = tmp_path / "runs.duckdb"
    folder = _stopped(store)
    other = _stopped(store, "other", day=25)
    (other / "checkpoint.npz").replace(folder / "checkpoint.npz")
    with pytest.raises(ss.ScorestateError, match="is not the checkpoint of run 'stopped'"):
        ss.resume_run("stopped", store=store)


def test_a_stored_runs_checkpoint_resumed_alone_would_lack_its_ledger(tmp_path):
    often = STORED.model_copy(update={"ledger": STORED.ledger.model_copy(
        update={"flush_rows": 1000})})  # rows handed to the store before the checkpoint
    with pytest.raises(_Stop):
        ss.run(often, store=tmp_path / "runs.duckdb", checkpoint_every=20, run_id="stopped",
               progress=_stop_on(55))
    folder = tmp_path / "runs.duckdb.ledger" / "stopped.partial"
    with pytest.raises(ss.ScorestateError, match="whose ledger went to a store"):
        ss.Simulation.resume(folder / "checkpoint.npz")
    ss.Simulation.resume(folder / "checkpoint.npz", ledger_sink=lambda batch: None)


def test_a_stopped_run_is_named_as_runs_are(tmp_path):
    store = tmp_path / "runs.duckdb"
    _stopped(store, "20260101-000000-aaaaaa")
    _stopped(store, "20260101-000000-aaaabb")
    with pytest.raises(ss.ScorestateError, match="could be any of 2 stopped runs"):
        ss.resume_run("20260101-000000-aaa", store=store)
    with pytest.raises(ss.StoreError, match="is not one"):
        ss.resume_run("../elsewhere", store=store)
    with pytest.raises(ss.StoreError, match="those are: 20260101-000000-aaaaaa"):
        ss.resume_run("nothing", store=store)
    assert ss.resume_run("aaaabb", store=store).run_id == "20260101-000000-aaaabb"
    assert ss.resumable_runs(store) == ["20260101-000000-aaaaaa"]


@pytest.mark.parametrize("given", [["essay"], ["-s", "0"], ["-d", "0"], ["-n", "0"]])
def test_resume_refuses_options_even_when_they_are_the_defaults(tmp_path, given):
    from typer.testing import CliRunner

    from scorestate.cli import app

    result = CliRunner().invoke(app, ["run", *given, "--resume", "x", "--store",
                                      str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2, result.output
    assert "cannot change it" in result.output and "Traceback" not in result.output


def test_a_checkpointed_run_whose_commit_fails_stays_resumable(tmp_path, monkeypatch):
    """The catalogue refused the run's row (a DuckDB error): the run is not stored, but its
    folder, checkpoint and all, is given back its `.partial` name to be resumed."""
    import duckdb

    store = tmp_path / "runs.duckdb"
    real = ss.Store._insert_metrics

    def refuse(self, *args, **kwargs):
        raise duckdb.IOException("disk I/O error")

    monkeypatch.setattr(ss.Store, "_insert_metrics", refuse)
    with pytest.raises(ss.StoreError, match="could not save run"):
        ss.run(STORED, store=store, checkpoint_every=20, run_id="refused")
    assert ss.resumable_runs(store) == ["refused"]
    monkeypatch.setattr(ss.Store, "_insert_metrics", real)
    ss.resume_run("refused", store=store)
    assert ss.open_run("refused", store=store).metrics.height == STORED.run.days


def test_a_checkpoint_period_as_long_as_the_run_is_noted(tmp_path):
    done = subprocess.run([sys.executable, "-m", "scorestate", "run", "-n", "500", "-d", "5",
                           "--checkpoint-every", "5", "--store", str(tmp_path / "s.duckdb"),
                           "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--checkpoint-every 5: the run's 5 days end before a first checkpoint, so none is " \
           "written" in " ".join(done.stderr.split())
    assert json.loads(done.stdout)["days"] == 5
    warm = subprocess.run([sys.executable, "-m", "scorestate", "run", "court-blacklist", "-n", "500",
                           "-d", "5", "--set", "run.warm_up_days=10", "--checkpoint-every", "5",
                           "--store", str(tmp_path / "s.duckdb"), "--json"], capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr
    assert "so only the one on day 0, after the warm-up, is written" in " ".join(warm.stderr.split())
