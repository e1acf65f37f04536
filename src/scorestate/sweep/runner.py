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


def run_sweep(sweep: Sweep | str | os.PathLike[str] | Mapping[str, Any], *, client: Any = None,
              scheduler: str | None = None, workers: int = 2,
              progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run every (point, seed) of a sweep and analyse it.

    `sweep`: a `Sweep` from `load_sweep`, or what `load_sweep` takes (a sweep file's path, or
    its mapping). Where the runs go: `client`, a `distributed.Client` of your own (left open);
    else `scheduler`, the address of a running Dask scheduler; else a local cluster of `workers`
    processes, started and shut down here. `progress(done, total)` is called as runs finish.
    """
    from scorestate.engine import compile_kernels

    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if client is not None and scheduler is not None:
        raise ScorestateError("run_sweep takes a client or a scheduler address, not both; expected one")
    compile_kernels()
    if client is None and scheduler is None:
        check_memory(sweep, min(workers, sweep.runs) if isinstance(workers, int) else 1)
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


def check_memory(sweep: Sweep, at_once: int) -> None:
    """Refuse, before a local cluster starts, runs that would not fit this machine's memory
    side by side (each worker holds one run)."""
    from scorestate import engine

    net = sweep.scenarios[0].network
    if net.kind != "homophilous" or sweep.population is None:
        return
    need = engine.memory_needed(sweep.population, net.mean_degree) * at_once
    have = engine.available_memory()
    if have is not None and need > have:
        raise ScorestateError(
            f"{sweep.label}: {at_once} run{'s' if at_once > 1 else ''} of {sweep.population:,} citizens "
            f"at once (one per worker) need{'s' if at_once == 1 else ''} about {need / 2**30:.1f} GiB "
            f"of memory, but {have / 2**30:.1f} GiB is available; expected fewer workers or a "
            "smaller population")
