"""One measurement in its own process: `python -m benchmarks.measure TASK ...` prints one JSON line.

Tasks:
- `throughput --population N --days D`: the essay preset as shipped (its phases begin on days
  30 and 180; ledger retention `panel`) — build time, citizen-days per second over the days,
  the time of each mechanism, the floor kernels over the same arrays, bytes held and peak
  resident memory.
- `mesa --population N --days D`: the Mesa reference and the engine on the same scenario (the
  reference scenario with its second phase in force from day 0), one after the other here.

Kernels are compiled (or loaded from numba's cache) by a small warm-up run before any clock
starts, so timings are of the work, not of the compiler.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from typing import Any

import numpy as np


def _rss_peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _rss_now_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _warm_up() -> None:
    from scorestate.engine import simulate
    from scorestate.scenario.load import load_scenario

    simulate(load_scenario("essay", {"timeline.dismantle_day": 200}, population=2000, days=210, seed=0))


def _held(holder: Any) -> int:
    """Bytes a price book or ledger holds; versions before they reported it held plain arrays."""
    if hasattr(holder, "nbytes"):
        return int(holder.nbytes)
    if isinstance(holder, dict):  # per-service price arrays
        return sum(a.nbytes for a in holder.values())
    return int(holder.recorded.nbytes + holder.index.nbytes)


def throughput(population: int, days: int, seed: int) -> dict[str, Any]:
    from benchmarks import floor
    from scorestate.engine import Simulation
    from scorestate.scenario.load import load_scenario

    _warm_up()
    rss_base = _rss_now_bytes()
    scenario = load_scenario("essay", {"ledger.retention": "panel"}, population=population,
                             days=days, seed=seed)
    rows: list[int] = []
    sim = Simulation(scenario, ledger_sink=lambda batch: rows.append(len(batch["day"])))
    rss_built = _rss_now_bytes()
    edges_built = int(sim.graph.degree.sum())
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    while sim.day < days:
        sim.step(timings)
    wall = time.perf_counter() - t0
    result = sim.result()
    # the kernel's high-water mark and /proc's current count are kept apart and can disagree by
    # a few pages; a peak below a level the run was seen at would read as a contradiction
    peak = max(_rss_peak_bytes(), rss_built, _rss_now_bytes())
    g, s, c = sim.graph, sim.state, sim.citizens
    edges = int(g.degree.sum())
    citizen_arrays = [getattr(c, f.name) for f in dataclasses.fields(c)]  # not the ClassVars
    state_arrays = [getattr(s, f.name) for f in dataclasses.fields(s)]
    held = {
        "state": s.nbytes(),
        "citizens": sum(a.nbytes for a in citizen_arrays),
        "graph_per_citizen": g.start.nbytes + g.degree.nbytes,
        "graph_slots": g.nbrs.nbytes,
        "prices": _held(sim.prices),
        "ledger_index": _held(sim.ledger),
        "scratch": sum(a.nbytes for a in sim.scratch.values()),
    }
    fl = floor.measure(state_arrays + citizen_arrays, g.start, g.degree, g.nbrs, s.score)
    return {
        "task": "throughput", "population": sim.n, "days": days, "seed": seed,
        "build_s": sim.build_s, "step_s": sim.step_s, "wall_s": wall,
        "citizen_days_per_s": sim.n * days / sim.step_s,
        "profile_s": timings, "floor": fl, "held_bytes": held, "directed_edges": edges,
        "directed_edges_built": edges_built,
        "rss_base": rss_base, "rss_built": rss_built, "rss_peak": peak,
        "ledger_rows": result.extra["ledger_rows"],
        "final_blacklist_share": result.final["blacklist_share"],
    }


def mesa(population: int, days: int, seed: int) -> dict[str, Any]:
    from benchmarks.mesa_reference import ReferenceModel, reference_scenario
    from scorestate.engine import Simulation

    _warm_up()
    # every mechanism the reference models is on from day 0 (the essay's second phase at once)
    scenario = reference_scenario(population, days, seed, {"timeline.phases.0.day": 0})
    sim = Simulation(scenario)
    sim.run()
    t0 = time.perf_counter()
    model = ReferenceModel(scenario)
    mesa_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.run()
    mesa_days = time.perf_counter() - t0
    return {
        "task": "mesa", "population": population, "days": days, "seed": seed,
        "engine_build_s": sim.build_s, "engine_step_s": sim.step_s,
        "mesa_build_s": mesa_build, "mesa_step_s": mesa_days,
        "engine_citizen_days_per_s": population * days / sim.step_s,
        "mesa_citizen_days_per_s": population * days / mesa_days,
        "ratio": mesa_days / sim.step_s,
        "engine_blacklist_share": float(np.mean(sim.recorder.daily["blacklist_share"])),
        "mesa_blacklist_share": float(np.mean([d["blacklist_share"] for d in model.metrics])),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure")
    parser.add_argument("task", choices=("throughput", "mesa"))
    parser.add_argument("--population", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.population < 1 or args.days < 1:
        parser.error(f"--population and --days must be at least 1; got {args.population} and {args.days}")
    fn = throughput if args.task == "throughput" else mesa
    try:
        result = fn(args.population, args.days, args.seed)
    except Exception as e:
        # the engine refusing its input (too large for the memory free, a bad seed) is one line
        # and exit 2, as on the command line; anything else keeps its traceback for whoever
        # reruns this alone (`python -m benchmarks` shows its last line)
        if not isinstance(e, _usage_errors()):
            raise
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps(result))
    sys.stdout.flush()


def _usage_errors() -> tuple[type[BaseException], ...]:
    """The package's usage error, where the version measured has one (older ones may not)."""
    try:
        from scorestate.errors import ScorestateError
    except ImportError:
        return ()
    return (ScorestateError,)


if __name__ == "__main__":
    main()
