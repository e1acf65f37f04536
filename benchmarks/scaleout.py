"""`python -m benchmarks.scaleout`: one sweep on 1 Dask worker and on 2, side by side.

    python -m benchmarks.scaleout                        # 50,000 citizens x 365 days, 8 x 2 runs
    python -m benchmarks.scaleout --population 5000 --days 60 --points 4 --seeds 2 --workers 1,2,4
    python -m benchmarks.scaleout --repeat 3           # each count 3 times, interleaved; the fastest

Each worker count gets a fresh local cluster (processes of one thread each, as `scorestate
sweep` starts); its workers load the kernels before the clock starts, so the times are of the
runs. The speed-up is the one-worker time over each count's, measured in this invocation on this
machine; the runs tables must be identical, bit for bit, or the benchmark fails (exit 1). The
load average is printed before and after: other processes on the machine slow every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from benchmarks.__main__ import MAX_DAYS, MAX_POPULATION, BenchError, Parser, machine, one_line_errors, si

PROG = "python -m benchmarks.scaleout"
ALCOHOL = "policy.scoring.points.alcohol"  # the swept parameter: a penalty from 0 to -30 points
OUTPUTS = ["alcohol_rate", "approval_mean", "blacklist_share", "score_assortativity"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options, each checked with a message naming it, before any cluster starts."""
    p = Parser(prog=PROG, description=__doc__.splitlines()[0],
               epilog="Columns: 'start s' starts the cluster and loads the kernels in its workers; "
               "'runs s' runs every (point, seed) of the sweep; 'speed-up' is the first count's "
               "'runs s' over this one's (with --repeat: the fastest of each, every time in brackets); "
               "'machine ceiling' is the same ratio for a pure CPU loop in as many processes, "
               "measured after the sweeps: what the machine allows now (shared cores, other "
               "load). Exit status: 0 done, 2 bad input, 1 the tables differ.")
    p.add_argument("--population", type=int, default=50_000, help="citizens per run (default 50000)")
    p.add_argument("--days", type=int, default=365, help="days per run (default 365)")
    p.add_argument("--points", type=int, default=8,
                   help="grid points: penalties on drinking from 0 to -30 points (default 8)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per point (default 2)")
    p.add_argument("--workers", default="1,2", help="worker counts to compare, comma-separated, "
                   "first the reference (default 1,2)")
    p.add_argument("--repeat", type=int, default=1, help="measure each count N times, the counts "
                   "interleaved, and report the fastest of each (default 1): on a shared machine, "
                   "the least disturbed")
    args = p.parse_args(argv)
    if args.repeat < 1:
        raise BenchError(f"--repeat must be at least 1; got {args.repeat}")
    if not 100 <= args.population <= MAX_POPULATION:
        raise BenchError(f"--population must be 100 to {MAX_POPULATION:,} citizens; got {args.population}")
    if not 1 <= args.days <= MAX_DAYS:
        raise BenchError(f"--days must be 1 to {MAX_DAYS:,}; got {args.days}")
    if args.points < 1 or args.seeds < 1:
        raise BenchError(f"--points and --seeds must be at least 1; got {args.points} and {args.seeds}")
    try:
        counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        counts = []
    if not counts or any(not 1 <= w <= 256 for w in counts) or len(set(counts)) != len(counts):
        raise BenchError(f"--workers must list distinct worker counts from 1 to 256, such as 1,2; got "
                         f"'{args.workers}'")
    args.counts = counts
    return args


def sweep_spec(args: argparse.Namespace) -> dict[str, Any]:
    step = 30 / max(args.points - 1, 1)
    values = [-round(k * step, 6) + 0.0 for k in range(args.points)]
    return {"scenario": "essay", "population": args.population, "days": args.days,
            "seeds": args.seeds, "design": "grid", "parameters": {ALCOHOL: values},
            "outputs": OUTPUTS, "window": max(1, args.days // 4)}


def measure(sweep: Any, workers: int) -> dict[str, Any]:
    """One sweep on a fresh local cluster of `workers` processes."""
    from distributed import Client

    from scorestate.engine import compile_kernels
    from scorestate.sweep import run_sweep
    from scorestate.sweep.execute import local_cluster

    t0 = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(compile_kernels)  # each worker loads the kernels from the cache
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = run_sweep(sweep, client=client)
        runs_s = time.perf_counter() - t1
    return {"workers": workers, "start_s": start, "runs_s": runs_s, "result": result}


def _busy(_: int) -> float:
    """A fixed CPU-bound loop (no memory traffic): its time in one process."""
    t0 = time.perf_counter()
    total = 0
    for i in range(BUSY_STEPS):
        total += i
    return time.perf_counter() - t0


BUSY_STEPS = 20_000_000


def ceiling(workers: int) -> float:
    """The machine's own speed-up for `workers` processes of pure CPU work: `workers` loops at
    once against one alone. Below `workers` on a machine whose CPUs share cores (SMT) or that
    other processes load, and no sweep can do better."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_busy, range(workers))  # the processes started and warm
        t0 = time.perf_counter()
        pool.map(_busy, [0], chunksize=1)
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.map(_busy, range(workers), chunksize=1)
        together = time.perf_counter() - t0
    return workers * alone / together


def main(argv: list[str] | None = None) -> None:
    """Errors, a failed check (exit 1) and Ctrl-C end it with one line, as `python -m benchmarks`."""
    one_line_errors(_main, argv, PROG)


def _main(argv: list[str] | None) -> None:
    from scorestate.errors import ScorestateError
    from scorestate.sweep import load_sweep

    args = parse(argv)
    try:
        sweep = load_sweep(sweep_spec(args))
    except ScorestateError as e:
        raise BenchError(str(e)) from None
    info = machine()
    runs = sweep.runs
    print(f"machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']:.1f} GiB RAM, "
          f"Python {info['python']}, numba {info['numba']}")
    print(f"load average before: {info['load_average'][0]:.2f}", flush=True)
    tries: dict[int, list[dict[str, Any]]] = {w: [] for w in args.counts}
    for rep in range(args.repeat):
        for workers in args.counts:
            nth = f" (run {rep + 1} of {args.repeat})" if args.repeat > 1 else ""
            print(f"measuring {runs} runs on {workers} worker{'s' if workers > 1 else ''}{nth} ...",
                  file=sys.stderr, flush=True)
            try:
                tries[workers].append(measure(sweep, workers))
            except ScorestateError as e:
                raise BenchError(str(e), code=1) from None
    results = [min(tries[w], key=lambda r: r["runs_s"]) for w in args.counts]
    ceilings = {w: ceiling(w) for w in args.counts if w > 1}
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(f"Scale-out: the essay preset, {args.population:,} citizens x {args.days} days, "
          f"{len(sweep.points)} points x {len(sweep.seeds)} seeds = {runs} runs "
          f"({args.population * args.days * runs:,} citizen-days)")
    print()
    print("| workers | start s | runs s | runs / s | citizen-days / s | speed-up | efficiency | "
          "machine ceiling |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    ref = results[0]
    for r in results:
        speedup = ref["runs_s"] / r["runs_s"]
        scale = r["workers"] / ref["workers"]
        times = ", ".join(f"{t['runs_s']:.2f}" for t in tries[r["workers"]])
        every = f" ({times})" if args.repeat > 1 else ""
        print(f"| {r['workers']} | {r['start_s']:.2f} | {r['runs_s']:.2f}{every} | "
              f"{runs / r['runs_s']:.2f} | "
              f"{si(args.population * args.days * runs / r['runs_s'])} | {speedup:.2f}x | "
              f"{100 * speedup / scale:.0f}% | {_ceiling_cell(ceilings, r['workers'], ref['workers'])} |")
    different = sorted({t["workers"] for r in results for t in tries[r["workers"]]
                        if not t["result"].runs.equals(ref["result"].runs)})
    if different:
        raise BenchError(f"the runs tables on {different} workers differ from the table on "
                         f"{ref['workers']}; expected them identical, bit for bit", code=1)
    print()
    print(f"runs tables identical on {', '.join(str(r['workers']) for r in results)} workers: yes")
    cpus = os.cpu_count() or 1
    if max(args.counts) > cpus:
        print(f"note: this machine has {cpus} CPUs; more workers than that share them")


def _ceiling_cell(ceilings: dict[int, float], workers: int, ref: int) -> str:
    """The CPU loop's speed-up from the reference count to this one."""
    if workers == ref:
        return "1.00x"
    if workers not in ceilings:
        return "-"
    return f"{ceilings[workers] / ceilings.get(ref, 1.0):.2f}x"


if __name__ == "__main__":
    main()
