"""`run_sweep`: a checked sweep run on Dask, gathered and analysed.

The kernels are compiled (or loaded from the cache) here before any worker starts, so that on a
code version's first run the workers load them from the cache instead of each compiling them at
once; the workers must start by 'spawn' (Dask's default), since a process forked after the
kernels ran cannot run them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from scorestate.errors import ScorestateError
from scorestate.sweep import execute
from scorestate.sweep.design import Sweep, load_sweep
from scorestate.sweep.result import SweepResult, runs_frame
from scorestate.sweep.sensitivity import indices, point_means

WORKER_BYTES = 340 * 2**20
"""Memory of one local worker process besides its run's arrays. Measured as the resident set
(psutil RSS) of a worker of `execute.local_cluster` on Linux, Python 3.11, distributed 2026.8:
255 MiB idle after its start, 334 MiB once it had imported scorestate and run one 300-citizen,
5-day run (its kernels loaded from the cache), which every worker that takes a run does."""


def run_sweep(sweep: Sweep | str | os.PathLike[str] | Mapping[str, Any], *, client: Any = None,
              scheduler: str | None = None, workers: int = 2,
              progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run every (point, seed) of a sweep and analyse it.

    `sweep`: a `Sweep` from `load_sweep`, or what `load_sweep` takes (a sweep file's path, or
    its mapping). Where the runs go: `client`, a `distributed.Client` of your own (left open);
    else `scheduler`, the address of a running Dask scheduler; else a local cluster of `workers`
    processes (no more than there are runs), started and shut down here. `progress(done, total)`
    is called as runs finish.
    """
    from scorestate.engine import compile_kernels

    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if client is not None and scheduler is not None:
        raise ScorestateError("run_sweep takes a client or a scheduler address, not both; expected one")
    compile_kernels()
    if client is None and scheduler is None:
        workers = local_workers(sweep, workers)
        check_memory(sweep, workers)
    t0 = time.perf_counter()
    tasks = [(k, seed, sweep.scenario(k, seed)) for k in range(len(sweep.points)) for seed in sweep.seeds]
    if client is not None:
        execute.same_model(client, "the client's scheduler")
        done = execute.gather(client, tasks, sweep.outputs, sweep.window, progress)
        count = execute.worker_count(client)
    else:
        with execute.connect(scheduler=scheduler, workers=workers) as own:
            done = execute.gather(own, tasks, sweep.outputs, sweep.window, progress)
            count = execute.worker_count(own)
    runs = runs_frame(sweep, done)
    means = point_means(sweep, runs)
    return SweepResult(sweep=sweep, runs=runs, points=means, sensitivity=indices(sweep, means),
                       elapsed_s=time.perf_counter() - t0, workers=count)


def local_workers(sweep: Sweep, workers: int) -> int:
    """The local worker processes to start: `workers`, but no more than the sweep has runs (an
    idle worker costs its memory and seconds of start)."""
    execute.check_workers(workers)
    return min(workers, sweep.runs)


def check_memory(sweep: Sweep, at_once: int) -> None:
    """Refuse, before a local cluster starts, `at_once` worker processes that would not fit this
    machine's memory, each with the run it holds."""
    from scorestate import engine

    net = sweep.scenarios[0].network
    known = net.kind == "homophilous" and sweep.population is not None  # else each run reads its size
    run = engine.memory_needed(sweep.population, net.mean_degree) if known else 0
    need = (WORKER_BYTES + run) * at_once
    have = engine.available_memory()
    if have is None or need <= have:
        return
    runs = f" and its run of {sweep.population:,} citizens" if known else ""
    raise ScorestateError(
        f"{sweep.label}: {at_once} local worker{'s' if at_once > 1 else ''}, each a process of about "
        f"{WORKER_BYTES / 2**20:.0f} MiB{runs}, need{'s' if at_once == 1 else ''} about "
        f"{need / 2**30:.1f} GiB of memory, but {have / 2**30:.1f} GiB is available; expected fewer "
        "workers" + (" or a smaller population" if known else ""))


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
