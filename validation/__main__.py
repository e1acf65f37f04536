"""`python -m validation [EXPERIMENT ...] [--plots] [--quick]`: the full-size validation.

Runs each experiment at the size docs/validation.md reports (the Watts sweep takes the
longest: about ten minutes on two cores), prints engine against theory, and with --plots writes
the figures to docs/img/. --quick runs everything small, as a smoke test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl

from validation import IMG, calibration, crn, degroot, granovetter, one_thread, rngcheck, theory, watts


@dataclass
class Settings:
    plots: bool
    out: Path
    quick: bool
    runs: int
    population: int


def run_watts(s: Settings) -> None:
    print("Degrees of the generator without homophily (within_region 0) against Poisson:")
    checks = [watts.degree_check(z, population=10_000 if s.quick else 100_000) for z in (1.0, 3.0, 12.0)]
    print(pl.DataFrame(checks))
    print("\nCascade window, theory (Watts 2002 cascade condition on Poisson graphs):")
    for phi in watts.PHIS:
        w = theory.cascade_window(phi)
        print(f"  phi={phi:.2f}: " + (f"z from {w[0]:.2f} to {w[1]:.2f}" if w else "none"))
    zs = (1.0, 2.0, 3.0, 5.0, 6.0, 8.0) if s.quick else watts.ZS
    print(f"\nSweep: {s.runs} single-seed runs per point, {s.population} citizens "
          f"(global: more than {watts.GLOBAL_SHARE:.0%} listed)")
    frame = watts.sweep(zs, watts.PHIS, s.runs, population=s.population, progress=True)
    print("\nCascade window observed (lowest and highest realised z with a global cascade):")
    for phi in watts.PHIS:
        w, t = watts.observed_window(frame, phi), theory.cascade_window(phi)
        seen = f"{w[0]:.2f} .. {w[1]:.2f}" if w else "none"
        expected = f"{t[0]:.2f} .. {t[1]:.2f}" if t else "none"
        print(f"  phi={phi:.2f}: engine {seen:>14}   theory {expected}")
    inside = frame.filter(pl.col("in_window") & (pl.col("global") > 0))
    if inside.height:
        gap = (inside["frequency"] - inside["theory_frequency"]).abs()
        sgap = (inside["mean_global_size"] - inside["theory_size"]).abs()
        print(f"  inside the window: |frequency - theory| mean {gap.mean():.3f}, max {gap.max():.3f}; "
              f"|size - theory| mean {sgap.mean():.4f}, max {sgap.max():.4f}")
    print(f"  most days a cascade took: {frame['max_days'].max()}")
    print("\nNear the upper edge, as the population grows (theory is for an infinite graph):")
    sizes = (500, 2_000) if s.quick else (1_000, 10_000, 100_000)
    with pl.Config(tbl_rows=20):
        print(watts.finite_size(populations=sizes, runs=s.runs))
    if s.plots:
        print(f"  wrote {watts_plots(frame, s.out)}")


def watts_plots(frame: pl.DataFrame, out: Path) -> str:
    """The two figures, and the sweep's numbers beside them as CSV."""
    from validation import plots

    out.mkdir(parents=True, exist_ok=True)
    frame.write_csv(out / "watts_sweep.csv")
    a = plots.watts_cascades(frame, out / "watts_cascades.png")
    b = plots.watts_window(frame, out / "watts_window.png")
    return f"{a}, {b}, {out / 'watts_sweep.csv'}"


def run_degroot(s: Settings) -> None:
    n = 1000 if s.quick else 10_000
    runs = [
        (f"Barabási-Albert graph, n={n}, m=3",
         degroot.run(degroot.averaging_scenario(population=n, days=200),
                     graph=nx.barabasi_albert_graph(n, 3, seed=1))),
        (f"engine's homophilous generator, n={n}, z=20",
         degroot.run(degroot.averaging_scenario(population=n, mean_degree=20.0, days=400))),
    ]
    for label, r in runs:
        rel = r.max_error / abs(r.target)
        print(f"{label}: pi.x(0) = {r.target:.4f}, plain mean {r.plain_mean:.4f}; final scores "
              f"{r.final_min:.4f} .. {r.final_max:.4f}; max |x - pi.x(0)| = {r.max_error:.2e} "
              f"({rel:.1e} relative; tolerance {degroot.FLOAT32_TOLERANCE:.0e}); contraction "
              f"rate theory {r.rate:.4f}; engine vs W^t x(0) in float64, largest relative gap "
              f"above rounding {_gap(r):.1e}")
    if s.plots:
        from validation import plots

        print(f"  wrote {plots.degroot(runs, s.out / 'degroot.png')}")


def _gap(r: degroot.Averaging) -> float:
    """Largest relative gap between the engine's distance to consensus and the float64 one,
    over the days where that distance is still far (1000 ulps) above float32 rounding."""
    far = r.exact > 1e3 * abs(r.target) * 2.0**-23
    return float(np.max(np.abs(r.distance[far] - r.exact[far]) / r.exact[far])) if far.any() else float("nan")


def run_granovetter(s: Settings) -> None:
    runs = []
    for label, t in (("thresholds 0..99", granovetter.uniform_thresholds()),
                     ("threshold 1 changed to 2", granovetter.perturbed_thresholds())):
        r = granovetter.run(t)
        path_ok = np.array_equal(r.daily, theory.granovetter_daily(t, r.daily.shape[0]))
        print(f"{label}: engine {r.rioters} rioters, theory {r.predicted}; daily path as theory: {path_ok}")
        runs.append((label, r, t))
    if s.plots:
        from validation import plots

        print(f"  wrote {plots.granovetter(runs, s.out / 'granovetter.png')}")


def run_rng(s: Settings) -> None:
    n = 1_000_000 if s.quick else 10_000_000
    keys = (20240601,) if s.quick else (20240601, 1, 2, 3, 4, 5, 6, 7)
    table: dict[str, list[object]] = {}
    for seed in keys:
        results = rngcheck.battery(n, seed)
        table.setdefault("check", [name for name, _ in results])
        table[f"seed {seed}"] = [round(p, 4) for _, p in results]
    from scipy import stats

    print(f"Battery on {n:,} draws per seed (p-values; a check fails below {rngcheck.ALPHA}):")
    with pl.Config(tbl_rows=30, tbl_cols=12, tbl_width_chars=200, fmt_str_lengths=45):
        print(pl.DataFrame(table))
    pvalues = [p for k, v in table.items() if k != "check" for p in v]
    print(f"{len(pvalues)} p-values over {len(keys)} seeds: smallest {min(pvalues):.4f}, "
          f"second-level KS against uniform p = {stats.kstest(pvalues, 'uniform').pvalue:.3f}")
    if s.plots:
        from validation import plots

        print(f"  wrote {plots.rng_pvalues(pvalues, s.out / 'rng_pvalues.png')}")


def run_crn(s: Settings) -> None:
    size = {"population": 1000, "days": 60, "replicates": 5} if s.quick else \
        {"population": 2000, "days": 120, "replicates": 20}
    result = crn.measure(**size)
    print(f"essay vs baseline, {size['replicates']} replicates, {size['population']} citizens, "
          f"{size['days']} days (last-day metrics):")
    frame = crn.table(result)
    with pl.Config(tbl_rows=30, tbl_width_chars=180, float_precision=7):
        print(frame)
    print(f"median variance reduction over the measured ratios (infinite ones left out): "
          f"{crn.median_reduction(result):.2f}")
    if s.plots:
        from validation import plots

        print(f"  wrote {plots.crn(frame, s.out / 'crn.png')}")


def run_calibration(s: Settings) -> None:
    n = 20_000 if s.quick else 200_000
    print(f"court-blacklist against REFERENCES.md, {n:,} adults, {calibration.YEARS} years after "
          f"the preset's warm-up, seed 0 (flows, size and blocked purchases over the whole run). "
          f"'rail ratio 1': the same run with "
          f"{', '.join(f'{k}={v}' for k, v in calibration.RAIL_AT_FULL_RATE.items())}")
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_width_chars=250, fmt_str_lengths=70, float_precision=4):
        print(calibration.table(n))
        print("\nThe list filling from empty (run.warm_up_days 0), year by year:")
        print(calibration.filling(n))


EXPERIMENTS: dict[str, Callable[[Settings], None]] = {
    "watts": run_watts, "degroot": run_degroot, "granovetter": run_granovetter,
    "rng": run_rng, "crn": run_crn, "calibration": run_calibration,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation", description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                        help=f"any of: {', '.join(EXPERIMENTS)} (default: all)")
    parser.add_argument("--plots", action="store_true", help="write the figures to --out")
    parser.add_argument("--out", type=Path, default=IMG, help="folder of the figures (default docs/img)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="Watts: single-seed runs per point (100)")
    parser.add_argument("--population", type=int, default=None, help="Watts: citizens (10000)")
    args = parser.parse_args(argv)
    unknown = [e for e in args.experiments if e not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment '{unknown[0]}'; expected any of: {', '.join(EXPERIMENTS)}")
    if args.quick and args.plots and args.out.resolve() == IMG.resolve():
        parser.error("--quick --plots would overwrite the figures of docs/validation.md with small runs; "
                     "give another folder with --out DIR")
    for name, value in (("--runs", args.runs), ("--population", args.population)):
        if value is not None and value < 1:
            parser.error(f"{name} must be a positive integer; got {value}")
    settings = Settings(plots=args.plots, out=args.out, quick=args.quick,
                        runs=args.runs or (20 if args.quick else 100),
                        population=args.population or (2000 if args.quick else 10_000))
    with one_thread():
        for name in args.experiments or EXPERIMENTS:
            t0 = time.perf_counter()
            print(f"\n=== {name} ===", flush=True)
            EXPERIMENTS[name](settings)
            print(f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
