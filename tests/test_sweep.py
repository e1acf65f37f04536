"""Sweeps as a user runs them: a real Dask cluster, real runs, the tables they give back.

Small societies (600-1,500 citizens, 40-60 days) keep each run to a fraction of a second; the
cost is the clusters' start and stop, so most tests share one cluster of two worker processes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest
import yaml
from distributed import Client
from typer.testing import CliRunner

from scorestate.cli import app
from scorestate.errors import ScorestateError
from scorestate.sweep import MAX_RUNS, load_sweep, run_sweep
from scorestate.sweep.execute import local_cluster

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "sweeps").glob("*.yaml"))
runner = CliRunner()

# The essay scores drinking from its day-30 phase on; a policy parameter is carried into it.
ALCOHOL = "policy.scoring.points.alcohol"
# Acts only on its day: with runs of 40 days, a dismantling on day 100 or later never happens.
INERT = "timeline.dismantle_day"


def sweep_file(folder: Path, name: str = "sweep.yaml", **fields) -> Path:
    spec = {"scenario": "essay", "population": 800, "days": 40, "window": 10,
            "parameters": {ALCOHOL: [0, -30]}, "outputs": ["alcohol_rate"]}
    spec.update(fields)
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def client():
    """One local cluster of two worker processes, shared by the tests of this file."""
    with local_cluster(2) as cluster, Client(cluster) as c:
        yield c


# ---------------------------------------------------------------- results


def test_the_runs_table_is_the_same_on_one_worker_and_on_two(tmp_path: Path, client):
    path = sweep_file(tmp_path, design="sobol", samples=4, population=600,
                      parameters={ALCOHOL: {"low": -40, "high": 0},
                                  "policy.association.penalty": {"low": 0.0, "high": 20.0}},
                      outputs=["alcohol_rate", "approval_mean", "score_mean"])
    one = run_sweep(path, workers=1)
    two = run_sweep(path, client=client)
    assert (one.workers, two.workers) == (1, 2)
    assert one.runs.height == 4 * (2 + 2)
    assert one.runs.equals(two.runs)  # bit for bit, whatever finished first
    assert one.sensitivity.equals(two.sensitivity)  # the bootstrap intervals too
    assert one.runs["point"].to_list() == sorted(one.runs["point"].to_list())


def test_a_heavier_penalty_on_drinking_lowers_the_drinking_rate(tmp_path: Path, client):
    path = sweep_file(tmp_path, seeds=4, population=1500, days=50,
                      parameters={ALCOHOL: [0, -15, -45]}, outputs=["alcohol_rate", "alcohol_latent_rate"])
    result = run_sweep(path, client=client)
    rate = result.points.filter(pl.col("output") == "alcohol_rate").sort("point")
    assert rate[ALCOHOL].to_list() == [0, -15, -45]
    assert rate["seeds"].to_list() == [4, 4, 4]
    highs, lows = rate["ci_high"].to_list(), rate["ci_low"].to_list()
    # each step up in the penalty: the interval lies wholly below the milder one's
    assert highs[1] < lows[0] and highs[2] < lows[1]
    # what citizens would have drunk without the incentive is the same society throughout
    latent = result.points.filter(pl.col("output") == "alcohol_latent_rate")["mean"].to_list()
    assert max(latent) - min(latent) < 0.1 * (rate["mean"][0] - rate["mean"][2])


def test_sobol_finds_the_parameter_that_matters_and_not_the_inert_one(tmp_path: Path, client):
    path = sweep_file(tmp_path, design="sobol", samples=8,
                      parameters={ALCOHOL: {"low": -40, "high": 0}, INERT: {"low": 100, "high": 300}})
    result = run_sweep(path, client=client)
    st = {r["parameter"]: r for r in result.sensitivity.iter_rows(named=True)}
    assert st[INERT]["ST"] < st[ALCOHOL]["ST"] - st[ALCOHOL]["ST_conf"]
    assert st[INERT]["S1"] < st[ALCOHOL]["S1"]
    # a whole-number parameter's samples are whole numbers, which the schema requires
    assert result.runs[INERT].dtype == pl.Int64


def test_morris_ranks_the_parameters_by_their_effect(tmp_path: Path, client):
    path = sweep_file(tmp_path, design="morris", samples=4,
                      parameters={ALCOHOL: {"low": -40, "high": 0}, INERT: {"low": 100, "high": 300}})
    result = run_sweep(path, client=client)
    assert result.runs.height == 4 * (2 + 1)
    mu = {r["parameter"]: r for r in result.sensitivity.iter_rows(named=True)}
    assert mu[INERT]["mu_star"] < mu[ALCOHOL]["mu_star"] - mu[ALCOHOL]["mu_star_conf"]
    assert mu[ALCOHOL]["mu"] > 0  # a penalty nearer 0 (higher) lets citizens drink more


def test_the_same_seeds_meet_every_point(tmp_path: Path):
    sweep = load_sweep(sweep_file(tmp_path, seeds=3, seed=7))
    assert sweep.seeds == [7, 8, 9]
    assert [sweep.scenario(1, s).run.seed for s in sweep.seeds] == [7, 8, 9]
    # the override reaches the essay's day-30 phase, which sets the same parameter
    late = sweep.scenario(1, 7).timeline.phases[0].set["policy"]["scoring"]["points"]["alcohol"]
    assert late == -30


def test_a_scenario_file_is_found_beside_the_sweep_file(tmp_path: Path, monkeypatch):
    (tmp_path / "town.yaml").write_text("name: town\npopulation: {size: 700}\nrun: {days: 30}\n",
                                        encoding="utf-8")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"scenario": "town.yaml", "window": 5, "outputs": ["score_mean"],
                                     "parameters": {"behaviour.deterrence": [0.0, 8.0]}}), encoding="utf-8")
    monkeypatch.chdir(ROOT)  # elsewhere: the path is the sweep file's, not the working directory's
    loaded = load_sweep(sweep)
    assert (loaded.population, loaded.days) == (700, 30)  # the scenario's own, as none is given
    assert [loaded.scenario(k, 0).behaviour.deterrence for k in range(2)] == [0.0, 8.0]


# ---------------------------------------------------------------- the command line


def test_the_command_writes_a_table_that_reads_back_and_prints_json(tmp_path: Path, client):
    path = sweep_file(tmp_path, seeds=2)
    out = tmp_path / "runs.parquet"
    address = client.scheduler.address
    r = runner.invoke(app, ["sweep", str(path), "--scheduler", address, "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    table = pl.read_parquet(out)
    assert table.columns == ["point", "seed", ALCOHOL, "alcohol_rate"]
    assert table.height == len(payload["runs"]) == 4
    assert table.to_dicts() == payload["runs"]
    assert payload["sensitivity"] is None and payload["design"] == "grid"
    assert [p["point"] for p in payload["points"]] == [0, 1]


def edited_worker(folder: Path, scheduler: str, edit: str) -> subprocess.Popen:
    """A `dask worker` process importing a copy of the package with `edit` changed: the engine
    with one comment more (other model code), or `__init__.py` raising (no model at all)."""
    import shutil

    copy = folder / "src"
    shutil.copytree(ROOT / "src" / "scorestate", copy / "scorestate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    changed = copy / "scorestate" / edit
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text + "\n# another version\n" if edit == "engine.py"
                       else 'raise ImportError("not this one")\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", scheduler,
                             "--nthreads", "1", "--no-dashboard"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize(("edit", "message"), [
    ("engine.py", "runs other model code"),
    ("__init__.py", "cannot run scorestate (Exception: ImportError('not this one'))"),
], ids=["edited", "broken"])
def test_a_scheduler_whose_worker_runs_other_model_code_is_refused(tmp_path: Path, edit: str,
                                                                    message: str):
    """A worker that imports an edited copy of the package (one changed comment in the engine)
    would compute another model, and one that cannot import it none: the sweep is refused
    before any run, with one message."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster:
        worker = edited_worker(tmp_path, cluster.scheduler_address, edit)
        try:
            out = tmp_path / "runs.parquet"
            r = runner.invoke(app, ["sweep", str(sweep_file(tmp_path)), "--scheduler",
                                    cluster.scheduler_address, "-o", str(out)])
            with Client(cluster.scheduler_address) as own, pytest.raises(ScorestateError) as refused:
                run_sweep(load_sweep(sweep_file(tmp_path)), client=own)  # a client of one's own
        finally:
            worker.terminate()
            worker.wait(30)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "install the same version" in r.stderr
    assert not out.exists()
    assert message in str(refused.value) and "the client's scheduler" in str(refused.value)


def test_a_worker_that_joins_after_the_check_with_other_model_code_refuses_its_runs(tmp_path: Path):
    """The model check at the start sees only the workers there then. A worker running an edited
    copy that joins afterwards, and takes the runs, refuses each of them: the sweep stops with
    one message naming it, instead of mixing two models in one table."""
    from distributed import LocalCluster

    from scorestate.sweep import execute

    sweep = load_sweep(sweep_file(tmp_path))
    tasks = [(0, 0, sweep.scenario(0, sweep.seeds[0]))]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster, \
            Client(cluster) as own:
        execute.same_model(own, "the client's scheduler")  # the worker there now passes
        first = set(own.scheduler_info()["workers"])
        worker = edited_worker(tmp_path, cluster.scheduler_address, "engine.py")
        try:
            own.wait_for_workers(2, timeout=60)
            late = (set(own.scheduler_info()["workers"]) - first).pop()
            own.retire_workers(list(first))  # the runs can go only to the late worker
            with pytest.raises(ScorestateError) as refused:
                execute.gather(own, tasks, ["alcohol_rate"], 10)
        finally:
            worker.terminate()
            worker.wait(30)
    message = str(refused.value)
    assert message.startswith("the run of point 0, seed 0 was refused: ")
    assert f"worker {late} runs other model code" in message and "install the same version" in message


def test_the_command_runs_a_local_cluster_and_writes_beside_the_sweep_file(tmp_path: Path):
    path = sweep_file(tmp_path, seeds=2)
    r = runner.invoke(app, ["sweep", str(path), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "alcohol_rate" in r.stdout and "95% t-interval over the 2 seeds" in r.stdout
    assert pl.read_parquet(tmp_path / "sweep.parquet").height == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.parquet", "sweep.yaml"]


BAD = [
    ({"population": -5}, "'population' input should be greater than 0"),
    ({"population": "500"}, "'population' input should be a valid integer"),
    ({"colour": "blue"}, "unknown field 'colour'"),
    ({"parameters": {"policy.scoring.points.alcohl": [0, -30]}}, "unknown act 'alcohl'"),
    ({"parameters": {"policy.scoring.nope": [1]}}, "unknown field 'policy.scoring.nope'"),
    ({"parameters": {ALCOHOL: [0, "a lot"]}}, "values of different kinds"),
    ({"outputs": ["alcohol_rat"]}, "did you mean 'alcohol_rate'?"),
    ({"parameters": {ALCOHOL: {"low": -30, "high": 0}}}, "a grid runs listed values"),
    ({"design": "sobol", "samples": 8}, "design sobol samples a range"),
    ({"design": "sobol", "samples": 8, "parameters": {ALCOHOL: {"low": 0, "high": -30}}},
     "has low 0 and high -30; expected low < high"),
    ({"design": "sobol", "samples": 6, "parameters": {ALCOHOL: {"low": -30, "high": 0}}},
     "expected a power of 2"),
    ({"design": "sobol", "samples": 4096, "parameters": {ALCOHOL: {"low": -30, "high": 0},
                                                          INERT: {"low": 100, "high": 300}}},
     f"= 16,384 runs; expected at most {MAX_RUNS:,} runs"),
    ({"window": 41}, "'window' is 41 but a run has 40 days"),
    ({"parameters": {"run.seed": [1, 2]}}, "which the sweep sets with its field 'seed'"),
    ({"scenario": "nowhere.yaml"}, "'scenario' is 'nowhere.yaml', which is neither a preset nor a file"),
    ({"design": "sobel"}, "'design' input should be 'grid', 'sobol' or 'morris'"),
]


@pytest.mark.parametrize(("fields", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_sweep_files_get_one_message_exit_2_and_no_file(tmp_path: Path, fields, message):
    path = sweep_file(tmp_path, **fields)
    r = runner.invoke(app, ["sweep", str(path)])
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert r.stderr.startswith("scorestate: error: sweep file") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.yaml"]


@pytest.mark.parametrize(("write", "args", "message"), [
    (None, [], "does not exist; expected a YAML sweep file"),
    ("folder", [], "is a directory; expected a YAML sweep file"),
    ("scenario: [essay\n", [], "is not valid YAML at line 2"),
    ("window: 3\nwindow: 4\n", [], "gives the key 'window' twice (lines 1 and 2)"),
    ("ok", ["--scheduler", "tcp://127.0.0.1:9"], "--scheduler: could not reach a Dask scheduler at"),
    ("ok", ["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"], "expected one of the two"),
    ("ok", ["--workers", "0"], "--workers is 0; expected 1 to"),
    ("ok", ["--output", "nowhere/runs.parquet"], "--output: the folder 'nowhere' does not exist"),
    ("ok", ["--output", "SELF"], "is the input file"),
    ("ok", ["--output", "runs.csv"], "--output: 'runs.csv' ends in '.csv', but the runs table is written as "
     "Parquet; expected a path ending in .parquet, such as 'runs.parquet'"),
    ("ok", ["--output", ""], "--output: the path is empty; expected a file path, such as 'runs.parquet'"),
    ("name: my-town\npopulation:\n  size: 20000\npolicy:\n  enabled: true\nrun:\n  days: 240\n", [],
     "looks like a scenario file (it has 'name', 'population', 'policy', 'run' and no 'scenario' or "
     "'parameters'); expected a sweep file, with scenario, parameters and outputs (docs/sweeps.md)"),
], ids=["missing", "folder", "yaml", "duplicate", "scheduler", "both", "workers", "output", "self",
        "csv", "empty", "scenario"])
def test_bad_files_and_options_get_one_message_exit_2_and_no_file(tmp_path: Path, monkeypatch, write,
                                                                 args, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sweep.yaml"
    if write == "folder":
        path.mkdir()
    elif write == "ok":
        sweep_file(tmp_path)
    elif write is not None:
        path.write_text(write, encoding="utf-8")
    args = [str(path) if a == "SELF" else a for a in args]
    r = runner.invoke(app, ["sweep", str(path), *args])
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*.tmp"))


STOPPED = r"the sweep was stopped after (\d+) of 100 runs had finished and nothing was written\n"


@pytest.mark.parametrize(("sent", "when", "said", "code"), [
    (signal.SIGINT, "starting", "interrupted", 130),
    (signal.SIGINT, "running", "interrupted", 130),
    (signal.SIGTERM, "running", "terminated", 143),
], ids=["ctrl-c-while-the-workers-start", "ctrl-c-during-the-runs", "sigterm-during-the-runs"])
def test_a_stopped_sweep_says_how_far_it_got_closes_its_workers_and_writes_nothing(
        tmp_path: Path, sent: int, when: str, said: str, code: int):
    """Ctrl-C at a terminal reaches the command and its workers alike (one process group), and
    used to be lost while the workers started; SIGTERM reaches the command alone, which died of it
    and left its workers to die alone (Python warned of leaked semaphores)."""
    path = sweep_file(tmp_path, population=1000, days=40, seeds=25, parameters={ALCOHOL: [0, -10, -20, -30]})
    scorestate = Path(sys.executable).with_name("scorestate")
    proc = subprocess.Popen([str(scorestate), "sweep", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        children = _wait_for_children(proc.pid, 1 if when == "starting" else 3)
        if when == "running":
            time.sleep(2.0)  # into the runs
            children = _children(proc.pid)
        if sent == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(sent)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, err
    assert re.fullmatch(f"scorestate: {said}; {STOPPED}", err), err
    if when == "starting":
        assert err.startswith(f"scorestate: {said}; the sweep was stopped after 0 of 100 runs")
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*"))
    workers = [pid for pid in children if "spawn_main" in _command_line(pid)]
    assert not [pid for pid in workers if _alive(pid)]  # shut down before the command ended


def _wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 120
    while len(found := _children(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie waits for its reaper
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    try:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(x) for x in found.split()]


class _Signals:
    """Signals sent to this process, each waited for until Python's C handler has run in some
    thread (it writes to the wakeup fd), so that the main thread runs the Python handler at its
    next step, not at a moment of the kernel's choosing. A signal that is ignored, or blocked in
    every thread, is waited for 30 s at most."""

    def __init__(self) -> None:
        import threading

        self.waiting = threading.Event()
        self.other = threading.Thread(target=self.waiting.wait, args=(60,), daemon=True)
        self.other.start()  # started before, as the progress bar's thread: SIGINT is not blocked there
        self.heard, self.told = os.pipe()
        os.set_blocking(self.heard, False)
        os.set_blocking(self.told, False)
        self.wakeup = signal.set_wakeup_fd(self.told)

    def send(self, signum: int, to_the_other_thread: bool = False) -> None:
        with contextlib.suppress(BlockingIOError):  # the bytes of signals handled before
            os.read(self.heard, 1024)
        if to_the_other_thread:
            signal.pthread_kill(self.other.ident, signum)
        else:
            os.kill(os.getpid(), signum)  # the kernel picks a thread that does not block it
        if select.select([self.heard], [], [], 30)[0]:
            os.read(self.heard, 1)

    def close(self) -> None:
        signal.set_wakeup_fd(self.wakeup)
        os.close(self.heard)
        os.close(self.told)
        self.waiting.set()


@pytest.fixture
def signals():
    sent = _Signals()
    yield sent
    sent.close()


class _StartingCluster:
    """A LocalCluster stand-in that gets a signal while its workers would start."""

    made: ClassVar[list[_StartingCluster]] = []

    def __init__(self, deliver, **kwargs) -> None:
        self.made.append(self)
        self.closed = False
        self.blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        deliver()

    def close(self) -> None:
        self.closed = True


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop


@pytest.mark.parametrize(("sent", "to"), [
    (signal.SIGINT, "process"), (signal.SIGINT, "another-thread"), (signal.SIGTERM, "process"),
], ids=["ctrl-c", "ctrl-c-to-another-thread", "sigterm-handled"])
def test_a_signal_while_the_workers_start_stops_the_sweep_once_they_are_up(monkeypatch, signals,
                                                                          sent, to):
    """SIGINT was ignored while the local cluster started, so a Ctrl-C then was lost and the sweep
    ran to its end. It is now held back and acted on once the cluster is up, which is closed; a
    SIGTERM that a handler turns into an exception waits too, instead of cutting the start."""
    import distributed

    _StartingCluster.made.clear()
    deliver = functools.partial(signals.send, sent, to == "another-thread")
    monkeypatch.setattr(distributed, "LocalCluster", lambda **kw: _StartingCluster(deliver, **kw))
    expected = KeyboardInterrupt if sent == signal.SIGINT else _Stop
    before = signal.signal(signal.SIGTERM, _raise_stop) if sent == signal.SIGTERM else None
    try:
        with pytest.raises(expected):
            local_cluster(2)
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)
    (cluster,) = _StartingCluster.made
    assert cluster.blocked and cluster.closed  # workers would inherit the mask; it was shut down
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _StoppingCluster:
    """A LocalCluster (or Client) stand-in that gets Ctrl-C while it closes."""

    made: ClassVar[list[_StoppingCluster]] = []
    signals: ClassVar[_Signals]

    def __init__(self, *args, **kwargs) -> None:
        self.made.append(self)
        self.closed = False

    def close(self) -> None:
        self.signals.send(signal.SIGINT)
        self.closed = True  # reached only where the signal waits for the close to end

    def __enter__(self) -> _StoppingCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def test_ctrl_c_while_the_local_cluster_stops_waits_until_it_has_stopped(monkeypatch, signals):
    """Cut short, the cluster's close left the workers running until the command's exit."""
    import distributed

    from scorestate.sweep import execute

    _StoppingCluster.made.clear()
    _StoppingCluster.signals = signals
    monkeypatch.setattr(distributed, "LocalCluster", _StoppingCluster)
    monkeypatch.setattr(distributed, "Client", _StoppingCluster)
    with pytest.raises(KeyboardInterrupt), execute.connect(workers=2):
        pass
    assert [c.closed for c in _StoppingCluster.made] == [True, True]  # the client, then the cluster


def test_the_local_workers_never_see_ctrl_c(client):
    """A terminal's Ctrl-C reaches every process of its group: the workers have SIGINT blocked,
    in their main thread and in the threads that run the tasks (SIG_IGN was not enough: polars,
    imported by each worker, puts a handler of its own in its place)."""
    masks = client.run(signal.pthread_sigmask, signal.SIG_BLOCK, [])
    assert len(masks) == 2 and all(signal.SIGINT in mask for mask in masks.values())
    task = client.submit(signal.pthread_sigmask, signal.SIG_BLOCK, [], pure=False)
    assert signal.SIGINT in task.result()


# ---------------------------------------------------------------- what goes wrong around the runs


def _returns(fn, *args):
    """fn(*args), run in a thread: the test fails, instead of hanging, if it never returns."""
    import threading

    box: list = []
    thread = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    thread.start()
    thread.join(180)
    assert box, f"{fn.__name__} did not return: it waits for ever"
    return box[0]


def _server(behaviour: str) -> str:
    """The address of a local TCP server that is not a Dask scheduler: one that greets with an
    SSH banner, or one that accepts and stays silent (as a port of another service may)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    kept = []

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            kept.append(conn)
            if behaviour == "banner":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    threading.Thread(target=serve, daemon=True).start()
    return f"tcp://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize(("server", "why"), [
    ("banner", "(it answered in another protocol than Dask's)"),
    ("silent", "(it did not answer as a Dask scheduler within 1 s)"),
    ("worker", "is a Dask Worker, not a scheduler"),
])
def test_an_address_that_is_not_a_dask_scheduler_is_one_message(tmp_path: Path, monkeypatch, client,
                                                                  server: str, why: str):
    """A port that accepts a connection but is not a scheduler's hung for ever (silent) or ended
    in a traceback (MemoryError from Dask's framing of an SSH banner)."""
    from scorestate.sweep import execute

    monkeypatch.setattr(execute, "REACH_TIMEOUT_S", 1)
    address = next(iter(client.scheduler_info()["workers"])) if server == "worker" else _server(server)
    out = tmp_path / "runs.parquet"
    r = _returns(runner.invoke, app, ["sweep", str(sweep_file(tmp_path)), "--scheduler", address,
                                      "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and why in r.stderr and f"'{address}'" in r.stderr
    assert "expected" in r.stderr and "tcp://host:8786" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("start", ["none-at-the-start", "all-gone-mid-sweep"])
def test_a_scheduler_left_without_workers_stops_the_sweep(tmp_path: Path, monkeypatch, start: str):
    """A sweep whose workers all left (a SLURM job's time limit) waited for ever, without a word."""
    from distributed import LocalCluster

    from scorestate.sweep import execute

    monkeypatch.setattr(execute, "WORKERS_TIMEOUT_S", 1)
    monkeypatch.setattr(execute, "WATCH_S", 0.1)
    sweep = load_sweep(sweep_file(tmp_path))
    tasks = [(0, seed, sweep.scenario(0, seed)) for seed in range(5)]
    workers = 0 if start == "none-at-the-start" else 1
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster, Client(cluster) as own:

        def leave(done: int, total: int) -> None:  # every worker goes once the first run is in
            if done == 1:
                cluster.scale(0)

        def attempt() -> BaseException | None:
            try:
                execute.gather(own, tasks, ["alcohol_rate"], 10, leave)
            except ScorestateError as e:
                return e
            return None

        stopped = _returns(attempt)
    assert isinstance(stopped, execute.SweepStopped), stopped
    assert f"the scheduler at '{cluster.scheduler_address}' has had no worker for 1 s" in str(stopped)
    assert str(stopped).endswith(f"the sweep was stopped after {stopped.finished} of 5 runs had finished")
    assert (stopped.finished == 0) if start == "none-at-the-start" else (1 <= stopped.finished < 5)


def _sweep_printed(stdout: str, as_json: bool) -> bool:
    return len(json.loads(stdout)["runs"]) == 2 if as_json else "alcohol_rate" in stdout


@pytest.mark.parametrize(("failure", "as_json"), [
    ("folder-removed", False), ("disk-full", False), ("disk-full", True), ("nowhere", False),
])
def test_runs_whose_table_cannot_be_written_are_printed_and_saved_elsewhere(
        tmp_path: Path, monkeypatch, client, failure: str, as_json: bool):
    """The folder of --output removed during the sweep, or a full disk, threw every finished run
    away (a usage error with nothing printed, or polars' traceback)."""
    import tempfile

    from scorestate.sweep import runner as sweep_runner

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    sub = tmp_path / "sub"
    sub.mkdir()
    real_run, real_write = sweep_runner.run_sweep, pl.DataFrame.write_parquet

    def run_then_remove(*args, **kwargs):
        result = real_run(*args, **kwargs)
        sub.rmdir()
        return result

    def full(frame, path, **kwargs):
        if failure == "nowhere" or Path(path).parent != elsewhere:
            raise pl.exceptions.ComputeError("No space left on device (os error 28)")
        return real_write(frame, path, **kwargs)

    if failure == "folder-removed":
        monkeypatch.setattr(sweep_runner, "run_sweep", run_then_remove)
    else:
        monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    target = sub / "x.parquet"
    r = runner.invoke(app, ["sweep", str(sweep_file(tmp_path)), "--scheduler", client.scheduler.address,
                            "-o", str(target), *(["--json"] if as_json else [])])
    assert r.exit_code == 1, r.output
    assert _sweep_printed(r.stdout, as_json)  # printed before the table was written
    why = "No such file or directory" if failure == "folder-removed" else "No space left on device"
    said = r.stderr.splitlines()[-1]  # after the note on the phases the runs' days do not reach
    assert said.startswith(f"scorestate: error: --output: '{target}' could not be written ({why}")
    assert r.stderr.count("scorestate: error") == 1 and "Traceback" not in r.output
    saved = list(elsewhere.glob("x-*.parquet"))
    if failure == "nowhere":
        assert not saved and "nor could the 2 runs be saved in the temporary folder (No space" in r.stderr
        return
    assert f"the 2 runs were saved to '{saved[0]}' instead" in r.stderr
    table = pl.read_parquet(saved[0])
    assert table.columns == ["point", "seed", ALCOHOL, "alcohol_rate"] and table.height == 2


def _edge_list(path: Path, n: int = 300) -> Path:
    """A ring of n citizens, each tied to its next two."""
    rows = [f"{i},{(i + k) % n}" for i in range(n) for k in (1, 2)]
    path.write_text("a,b\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_sweep_on_an_edge_list_runs_the_file_it_was_checked_with(tmp_path: Path, monkeypatch, client):
    """Each run read the edge list again, so a file changed mid-sweep mixed two networks in one
    table without a word: the sweep now takes the file's sha256 when it is checked, and a worker
    that finds another file refuses its run."""
    from scorestate.network import file_sha256
    from scorestate.sweep import design

    ties = _edge_list(tmp_path / "ties.csv")
    monkeypatch.chdir(tmp_path)  # a relative path, as an override takes it: from the working directory
    path = sweep_file(tmp_path, population=None, days=12, window=4,
                      set={"network.kind": "edgelist", "network.edgelist": "ties.csv"})
    checked = load_sweep(path)
    nets = [checked.scenario(k, 0).network for k in range(len(checked.points))]
    assert {(n.edgelist, n.edgelist_sha256) for n in nets} == {(str(ties), file_sha256(ties))}
    monkeypatch.chdir(ROOT)  # the runs read the file the sweep named, wherever they run
    assert run_sweep(checked, client=client).runs.height == 2

    real_load = design.load_sweep

    def load_then_change(*args, **kwargs):
        loaded = real_load(*args, **kwargs)
        _edge_list(ties, 301)  # changed after the check, before the runs
        return loaded

    monkeypatch.setattr(design, "load_sweep", load_then_change)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs.parquet"
    r = runner.invoke(app, ["sweep", str(path), "--scheduler", client.scheduler.address, "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert f"network.edgelist: '{ties}' on worker " in r.stderr
    assert "is not the file the sweep was checked with" in r.stderr
    assert r.stderr.rstrip().endswith("the sweep was stopped after 0 of 2 runs had finished, and nothing "
                                      "was written")
    assert r.stderr.count("\n") == 1 and not out.exists()


def test_no_more_local_workers_start_than_there_are_runs(tmp_path: Path, monkeypatch, client):
    """--workers 50 for 4 runs started 50 processes (146 s against 8.7 s with one)."""

    from scorestate.sweep import execute

    asked = []

    @contextlib.contextmanager
    def connect(*, scheduler=None, workers=2):
        asked.append(workers)
        yield client

    monkeypatch.setattr(execute, "connect", connect)
    result = run_sweep(sweep_file(tmp_path, seeds=2), workers=50)
    assert asked == [4] and result.runs.height == 4


def test_the_memory_check_counts_each_local_worker_process(tmp_path: Path, monkeypatch):
    """It counted only the runs' arrays: a worker process holds about WORKER_BYTES on its own."""
    from scorestate import engine
    from scorestate.sweep.runner import WORKER_BYTES, check_memory

    monkeypatch.setattr(engine, "available_memory", lambda: 3 * WORKER_BYTES)
    homophilous = load_sweep(sweep_file(tmp_path, seeds=2))
    check_memory(homophilous, 2)
    with pytest.raises(ScorestateError) as refused:
        check_memory(homophilous, 4)
    assert str(refused.value).startswith(
        f"sweep file '{tmp_path / 'sweep.yaml'}': 4 local workers, each a process of about 340 MiB and its "
        "run of 800 citizens, need about 1.")
    assert "expected fewer workers or a smaller population" in str(refused.value)
    _edge_list(tmp_path / "ties.csv")
    imported = load_sweep(sweep_file(tmp_path, population=None, days=12, window=4,
                                     set={"network.kind": "edgelist",
                                          "network.edgelist": str(tmp_path / "ties.csv")}))
    with pytest.raises(ScorestateError, match="4 local workers, each a process of about 340 MiB, need"):
        check_memory(imported, 4)  # the check used to skip an imported network altogether


def test_more_workers_than_runs_or_cpus(tmp_path: Path, monkeypatch):
    """--workers beyond the runs starts one worker per run; beyond the CPUs, a note says what that
    costs, once."""
    from scorestate.sweep import runner as sweep_runner

    monkeypatch.setattr(sweep_runner, "cpus", lambda: 1)
    path = sweep_file(tmp_path, population=300, days=12, window=4)
    r = runner.invoke(app, ["sweep", str(path), "--workers", "8"])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("scorestate: note: 2 local workers on 1 CPU: they share the CPUs") == 1
    assert "on 2 workers)" in r.stdout


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_examples_are_valid_sweeps(path: Path):
    sweep = load_sweep(path)
    assert 1 <= sweep.runs <= 500  # each runs in minutes on a laptop
    assert sweep.outputs and sweep.parameters


def test_there_are_examples_of_each_design():
    designs = {yaml.safe_load(p.read_text(encoding="utf-8"))["design"] for p in EXAMPLES}
    assert designs == {"grid", "sobol", "morris"}


# ---------------------------------------------------------------- the scale-out benchmark


def test_the_scaleout_benchmark_compares_worker_counts_and_checks_the_tables():
    run = subprocess.run([sys.executable, "-m", "benchmarks.scaleout", "--population", "600", "--days",
                          "20", "--points", "2", "--seeds", "2"], cwd=ROOT, text=True,
                         capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| 1 |" in run.stdout and "| 2 |" in run.stdout and "speed-up" in run.stdout
    assert "runs tables identical on 1, 2 workers: yes" in run.stdout


@pytest.mark.parametrize("args", [["--workers", "1,x"], ["--population", "5"], ["--repeat", "0"],
                                  ["--points", "0"]])
def test_the_scaleout_benchmark_refuses_bad_options(args):
    run = subprocess.run([sys.executable, "-m", "benchmarks.scaleout", *args], cwd=ROOT, text=True,
                         capture_output=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.startswith("python -m benchmarks.scaleout: error: --") and run.stdout == ""


def test_the_note_on_what_the_runs_do_not_reach_names_the_points_it_holds_for(tmp_path: Path, capsys):
    """It said 'at point 0' of a phase that no point's runs reach."""
    from scorestate.cli import sweep as sweep_command

    path = sweep_file(tmp_path, parameters={INERT: [100, 20, 150]})
    sweep_command._note_late(load_sweep(path))
    said = [" ".join(line.split()) for line in capsys.readouterr().err.splitlines()]
    assert said == [
        "scorestate: note: sweep: at every point, the runs' 40 days do not reach phase 'the smart home' "
        "(day 180); raise 'days' in the sweep file to see what they do",
        "scorestate: note: sweep: at point 0, the runs' 40 days do not reach the dismantling (day 100); "
        "raise 'days' in the sweep file to see what they do",
        "scorestate: note: sweep: at point 2, the runs' 40 days do not reach the dismantling (day 150); "
        "raise 'days' in the sweep file to see what they do"]
