"""Running a sweep's runs on Dask: one task per (point, seed), gathered in (point, seed) order.

A task gets its point's resolved scenario (so a worker needs the package, not the sweep's
files) and returns the run's outputs, a few floats, never its frames. Kernels run on one thread
in a task: the workers are the parallelism, and a run's results do not depend on the thread
count (the engine guarantees it), so the table is the same on 1 worker or 100, whatever the
order in which runs finish.

By default a `LocalCluster` of processes is started, and shut down whatever happens; given a
scheduler's address (a cluster, SLURM through dask-jobqueue), its workers are used. A scheduler
left without workers for WORKERS_TIMEOUT_S, at the start or later, stops the sweep.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import numpy as np

from scorestate.errors import ScorestateError
from scorestate.scenario.schema import Scenario

CONNECT_TIMEOUT_S = 5
"""How long to try to connect to a scheduler's address."""
REACH_TIMEOUT_S = CONNECT_TIMEOUT_S + 1
"""How long an address may take to connect and answer as a Dask scheduler, handshake included."""
WORKERS_TIMEOUT_S = 30
"""How long a scheduler may have no worker, at the start or during the sweep, before it stops."""
WATCH_S = 1.0
"""How often a sweep waiting for its runs asks the scheduler how many workers it has."""
POLL_S = 0.05
"""How long a sweep waiting for its runs sleeps between looks at the finished ones."""
MAX_LOCAL_WORKERS = 256
SCHEDULER_EXAMPLE = "tcp://host:8786"
SAME_CODE = "install the same version, from the same source, where the workers run"


def run_outputs(scenario: Scenario, outputs: list[str], window: int,
                model: str | None = None) -> dict[str, float]:
    """One run (a Dask task): each output's mean over the run's last `window` days, days on which
    it is undefined (NaN) left out; NaN if it is undefined on all of them.

    With `model`, the digest of the model code the sweep was started with, a worker that runs
    other code refuses the run: the check at the start cannot see a worker that joins later."""
    import numba

    from scorestate.engine import Simulation
    from scorestate.ledger import discard

    if model is not None and (code := worker_model()) != model:
        raise ScorestateError(f"{_this_worker()} runs other model code (source digest {code}; the "
                              f"sweep's {model}); expected every worker to run the sweep's "
                              f"scorestate ({SAME_CODE})")
    _same_edgelist(scenario)
    numba.set_num_threads(1)  # thread-local: this task's thread, which runs the kernels
    metrics = Simulation(scenario, ledger_sink=discard).run().metrics
    last = metrics.tail(window)
    values: dict[str, float] = {}
    for name in outputs:
        if name not in metrics.columns:
            raise ScorestateError(f"'{name}' is not a daily metric of this point's scenario; expected "
                                  f"one of: {', '.join(c for c in metrics.columns if c != 'day')}")
        x = last[name].to_numpy().astype(np.float64)
        x = x[np.isfinite(x)]
        values[name] = float(x.mean()) if x.size else float("nan")
    return values


def _same_edgelist(scenario: Scenario) -> None:
    """An imported network is read by each run from the path the sweep checked: refuse a worker
    where that file is missing or differs from the one whose sha256 the sweep took."""
    from pathlib import Path

    from scorestate.network import file_sha256

    net = scenario.network
    if net.kind != "edgelist" or net.edgelist_sha256 is None:
        return
    try:
        now = file_sha256(Path(net.edgelist or ""))
    except OSError as e:
        raise ScorestateError(f"network.edgelist: '{net.edgelist}' cannot be read on {_this_worker()} "
                              f"({e.strerror or e}); expected the edge list at the same path on every "
                              "worker (docs/sweeps.md)") from None
    if now != net.edgelist_sha256:
        raise ScorestateError(f"network.edgelist: '{net.edgelist}' on {_this_worker()} is not the file the "
                              f"sweep was checked with (its sha256 is {now}, then "
                              f"{net.edgelist_sha256}); expected the same file, unchanged until the "
                              "sweep ends, at the same path on every worker")


@contextlib.contextmanager
def connect(*, scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A Dask client: to the scheduler at `scheduler`, or to a local cluster of `workers`
    processes (one thread each, no dashboard) started here and shut down on the way out."""
    from distributed import Client

    if scheduler is not None:
        client = _reach(scheduler)
        try:
            _wait_for_workers(client, scheduler)
            same_model(client, f"--scheduler: '{scheduler}'")
            yield client
        finally:
            with signals_held():
                client.close()
        return
    cluster = local_cluster(workers)
    try:
        with signals_held():
            own = Client(cluster)
        try:
            yield own
        finally:
            with signals_held():
                own.close()
    finally:
        with signals_held():  # cut short, the workers would outlive the command for seconds
            cluster.close()


def check_workers(workers: Any) -> None:
    """A local cluster's size: a whole number of processes from 1 to MAX_LOCAL_WORKERS."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise ScorestateError(f"workers is {workers!r}; expected a whole number of local worker "
                              f"processes from 1 to {MAX_LOCAL_WORKERS}")


def local_cluster(workers: int) -> Any:
    """A `LocalCluster` of `workers` processes of one thread each, without a dashboard, quiet.

    Ctrl-C at a terminal reaches every process of its group. While the workers start, SIGINT is
    blocked (`signals_held`): the worker processes inherit the blocked mask and never see it,
    so Ctrl-C stops this process alone, which shuts them down, instead of each printing a
    traceback; a Ctrl-C that came meanwhile is acted on once the cluster is up, and the cluster is
    then closed. The scheduler's small HTTP server (health checks) takes any free port, not
    Dask's usual 8787, which another cluster may hold."""
    from distributed import LocalCluster

    check_workers(workers)
    cluster = None
    try:
        with signals_held():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                   silence_logs=logging.CRITICAL)
    except BaseException:  # Ctrl-C held back during the start: the cluster is not left running
        if cluster is not None:
            with signals_held():
                cluster.close()
        raise
    return cluster


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT blocked in this thread while the block starts (or stops) worker processes, which
    inherit the mask across fork and exec (a disposition would not do: a handler is reset by
    exec, and polars, imported by every worker, replaces SIG_IGN with a handler of its own).
    SIGINT, and SIGTERM where Python handles it, that reach another thread meanwhile are noted,
    not raised half-way. Afterwards the mask and handlers are put back and a noted or pending
    signal is delivered, as if it had just come (Ctrl-C: KeyboardInterrupt).

    multiprocessing's resource tracker is started first: the thread that starts it, which would
    be the one spawning the first worker, leaves SIGINT unblocked (SIG_UNBLOCK, not the mask it
    found), so that worker and every one spawned after it would get Ctrl-C."""
    from multiprocessing import resource_tracker

    if threading.current_thread() is not threading.main_thread():  # only it handles signals
        yield
        return
    resource_tracker.ensure_running()
    came: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        came.append(signum)

    handled = [s for s in (signal.SIGINT, signal.SIGTERM) if callable(signal.getsignal(s))]
    previous = {s: signal.signal(s, note) for s in handled}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # a pending SIGINT is delivered here
        for s in dict.fromkeys(came):
            signal.raise_signal(s)


def _reach(address: str) -> Any:
    """A client of the Dask scheduler at `address`, once it has answered as one within
    REACH_TIMEOUT_S: `Client`'s own timeout covers the connection, not the handshake after it,
    which hangs on a port that never answers and crashes on one that speaks another protocol."""
    from distributed import Client

    what = _identify(address)
    if what != "Scheduler":
        raise ScorestateError(f"--scheduler: '{address}' is a Dask {what}, not a scheduler; expected "
                              f"the scheduler's address, such as {SCHEDULER_EXAMPLE} (or no --scheduler, "
                              "for a local cluster)")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except Exception as e:
        raise ScorestateError(_unreachable(address, _why(e))) from None


def _identify(address: str) -> str:
    """The kind of Dask server at `address` ('Scheduler', 'Worker', ...), asked in a thread of its
    own under an overall deadline (so that a program's running event loop is left alone)."""
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(address)
    except (ValueError, TypeError) as e:
        raise ScorestateError(_unreachable(address, _why(e))) from None
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scorestate-reach")
    try:
        answer = pool.submit(asyncio.run, _ask_identity(address)).result(timeout=REACH_TIMEOUT_S + 1)
    except Exception as e:
        raise ScorestateError(_unreachable(address, _went_wrong(e))) from None
    finally:
        pool.shutdown(wait=False)
    return str(answer.get("type", "server")) if isinstance(answer, dict) else "server"


async def _ask_identity(address: str) -> Any:
    from distributed.core import rpc
    from distributed.security import Security

    async def ask() -> Any:
        async with rpc(address, timeout=CONNECT_TIMEOUT_S,
                       connection_args=Security().get_connection_args("client")) as server:
            return await server.identity()

    return await asyncio.wait_for(ask(), REACH_TIMEOUT_S)


def _went_wrong(error: Exception) -> str:
    """Why a server did not answer as a Dask scheduler, in words."""
    from distributed.comm import CommClosedError

    if isinstance(error, TimeoutError) and not str(error):  # the overall deadline
        return f"it did not answer as a Dask scheduler within {REACH_TIMEOUT_S} s"
    if isinstance(error, CommClosedError):
        return "it closed the connection without answering as a Dask scheduler"
    if isinstance(error, OSError):  # refused, unresolvable, unreachable
        return _why(error)
    if isinstance(error, MemoryError):  # another protocol's first bytes read as a Dask frame's length
        return "it answered in another protocol than Dask's"
    return f"{type(error).__name__}: {_why(error)}"  # a TLS address without TLS settings, bad msgpack


def _why(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _unreachable(address: str, why: str) -> str:
    return (f"--scheduler: could not reach a Dask scheduler at '{address}' ({why}); expected the "
            f"address of a running Dask scheduler, such as {SCHEDULER_EXAMPLE} (or no --scheduler, "
            "for a local cluster)")


def _wait_for_workers(client: Any, address: str) -> None:
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except (TimeoutError, OSError):
        raise ScorestateError(f"--scheduler: the scheduler at '{address}' has had no worker for "
                              f"{WORKERS_TIMEOUT_S} s; expected one with workers (start some with "
                              f"`dask worker {address}`)") from None


def worker_model() -> str:
    """The digest of the model code a process runs (on a worker: the scorestate it imports)."""
    from scorestate import kernel_cache

    return kernel_cache.loaded()


def _this_worker() -> str:
    """The worker running this task, by address (in a task; 'a worker' outside one)."""
    from distributed import get_worker

    try:
        return f"worker {get_worker().address}"
    except ValueError:
        return "a worker"


def same_model(client: Any, where: str) -> None:
    """Refuse a scheduler whose workers run other model code, or none: a sweep whose runs came
    from two versions of the model would mix them in one table without a word. (Checked on the
    workers there at the start; each run checks its worker again, for workers that join later.)"""
    here = worker_model()
    found = client.run(worker_model, on_error="return")
    for worker, code in found.items():
        if isinstance(code, BaseException):
            why = str(code).splitlines()[0] if str(code) else ""
            what = f"cannot run scorestate ({type(code).__name__}: {why})"
        elif code != here:
            what = f"runs other model code (source digest {code}; here {here})"
        else:
            continue
        raise ScorestateError(f"{where}: its worker {worker} {what}; expected every worker to run "
                              f"this scorestate ({SAME_CODE})")


def worker_count(client: Any) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


class SweepStopped(ScorestateError):
    """A sweep stopped after some of its runs: a run failed or was refused, or the workers left.
    `finished` of `total` runs had finished; their results are not returned."""

    def __init__(self, message: str, finished: int, total: int) -> None:
        super().__init__(f"{message}; the sweep was stopped after {finished:,} of {total:,} runs "
                         "had finished")
        self.finished, self.total = finished, total


def gather(client: Any, tasks: list[tuple[int, int, Scenario]], outputs: list[str], window: int,
           progress: Callable[[int, int], None] | None = None) -> dict[tuple[int, int], dict[str, float]]:
    """Run every (point, seed, scenario) task and return {(point, seed): outputs}.

    `progress(done, total)` after each finished run. A run that fails cancels the rest and is
    reported by its point and seed, as is a scheduler left without workers for WORKERS_TIMEOUT_S
    (`SweepStopped`); Ctrl-C cancels them too (the caller shuts the cluster)."""
    tag = uuid.uuid4().hex[:12]  # keys unique to this sweep, on a scheduler other clients share
    model = worker_model()
    futures = {client.submit(run_outputs, scenario, outputs, window, model,
                             key=f"scorestate-{tag}-{p}-{s}", pure=False): (p, s)
               for p, s, scenario in tasks}
    done: dict[tuple[int, int], dict[str, float]] = {}
    try:
        for future, result in _as_finished(client, list(futures), lambda: len(done)):
            point, seed = futures[future]
            e = _error(result)
            if isinstance(e, ScorestateError):
                raise SweepStopped(f"the run of point {point}, seed {seed} was refused: {e}",
                                   len(done), len(futures)) from None
            if e is not None:  # a worker's crash, a bug: named, with its type
                raise SweepStopped(f"the run of point {point}, seed {seed} failed ({type(e).__name__}: "
                                   f"{e}); rerun that point alone with `scorestate run` to see more",
                                   len(done), len(futures)) from e
            done[(point, seed)] = result
            if progress is not None:
                progress(len(done), len(futures))
    finally:
        if len(done) < len(futures):
            with contextlib.suppress(Exception):
                client.cancel(list(futures))
    return done


def _error(result: Any) -> BaseException | None:
    """The error a task's outcome carries (as `as_completed` gives it without raising: the error's
    (type, value, traceback), or the CancelledError of a cancelled task), None for a result."""
    if isinstance(result, BaseException):
        return result
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], BaseException):
        return result[1]
    return None


def _as_finished(client: Any, futures: list[Any], finished: Callable[[], int]) -> Iterator[tuple[Any, Any]]:
    """(future, outcome) as each finishes, the result fetched with it (a result fetched later can
    be lost with its worker, and waited for ever); a scheduler that has had no worker for
    WORKERS_TIMEOUT_S meanwhile (all of them gone: a SLURM job's time limit, say) stops the sweep,
    which would otherwise wait for ever."""
    from distributed import as_completed

    # on this client's loop: by default, that of the process's latest client, which may be another
    pending = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
    last_seen = looked = time.monotonic()
    while not pending.is_empty():
        ready = pending.next_batch(block=False)
        if ready:
            yield from ready
            continue
        now = time.monotonic()
        if now - looked >= WATCH_S:
            looked = now
            if _has_workers(client):
                last_seen = now
            elif now - last_seen >= WORKERS_TIMEOUT_S:
                raise SweepStopped(f"the scheduler at '{client.scheduler.address}' has had no worker for "
                                   f"{WORKERS_TIMEOUT_S} s (its workers left or were stopped); expected "
                                   "workers to run the rest", finished(), len(futures))
        time.sleep(POLL_S)


def _has_workers(client: Any) -> bool:
    """Whether the scheduler has a worker now (a scheduler that does not answer has none to give)."""
    try:
        return bool(client.nthreads())
    except (OSError, TimeoutError):
        return False
