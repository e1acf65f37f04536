"""`python -m benchmarks`: throughput, floor, memory, start-up and the Mesa ratio in one table.

    python -m benchmarks                    # 10^4, 10^5, 10^6 citizens x 365 days; Mesa at 2,000
                                            # x 30 and 100,000 x 5
    python -m benchmarks --quick            # the same sizes over 30 days; Mesa 1,000 x 20
    python -m benchmarks --sizes 100000 --days 60 --json out.json
    python -m benchmarks --before /tmp/old/src --repeat 3   # a version side by side, interleaved

Each measurement runs in a fresh process (see `benchmarks/measure.py`); the ratios are taken
between measurements of this one invocation. The load average is printed before and after,
because other processes on the machine slow every figure down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the memory target: bytes per citizen plus bytes per directed tie
BUDGET_CITIZEN, BUDGET_TIE = 120, 8


def _budget(n: int, ties: int) -> float:
    """Bytes per citizen the memory target allows a population of n with `ties` directed ties."""
    return BUDGET_CITIZEN + BUDGET_TIE * ties / n


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import numba

    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": ram / 2**30,
            "python": platform.python_version(), "numba": numba.__version__,
            "numba_threads": numba.config.NUMBA_NUM_THREADS, "load_average": os.getloadavg()}


def run_task(task: str, population: int, days: int, seed: int, source: Path | None = None
             ) -> dict[str, Any]:
    """One measurement in a fresh process; `source`: measure the package under that directory."""
    cmd = [sys.executable, "-m", "benchmarks.measure", task, "--population", str(population),
           "--days", str(days), "--seed", str(seed)]
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"benchmark '{task}' at {population} citizens failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def table(results: list[dict[str, Any]], mesas: list[dict[str, Any]], info: dict[str, Any]) -> str:
    out = [f"machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']:.1f} GiB RAM, "
           f"Python {info['python']}, numba {info['numba']} with {info['numba_threads']} threads",
           f"load average before: {info['load_average'][0]:.2f}, after: {info['load_after'][0]:.2f}",
           "", "Throughput (essay preset as shipped: its phases begin on days 30 and 180; "
           "ledger retention panel)", "",
           "| citizens | days | build s | run s | citizen-days/s | day ms | floor ms | day / floor |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        day_ms = 1000 * r["step_s"] / r["days"]
        floor_ms = 1000 * r["floor"]["floor_s"]
        out.append(f"| {r['population']:,} | {r['days']} | {r['build_s']:.2f} | {r['step_s']:.2f} | "
                   f"{_si(r['citizen_days_per_s'])} | {day_ms:.2f} | {floor_ms:.2f} | "
                   f"{day_ms / floor_ms:.1f} |")
    out += ["", "Floor kernels (best of 5; ms): state pass, sparse product over the ties, draws", "",
            "| citizens | state pass | sparse product | draws | state bytes / citizen | draws / citizen |",
            "|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        f = r["floor"]
        out.append(f"| {r['population']:,} | {1000 * f['state_pass_s']:.2f} | "
                   f"{1000 * f['sparse_product_s']:.2f} | {1000 * f['draws_s']:.2f} | "
                   f"{f['state_bytes'] / r['population']:.0f} | {f['draws_per_citizen']:.0f} |")
    out += ["", f"Memory (budget: {BUDGET_CITIZEN} bytes per citizen + {BUDGET_TIE} per directed tie)", "",
            "| citizens | directed ties | held bytes / citizen | tie slot bytes / directed tie | "
            "held / budget | peak RSS over baseline / citizen | peak RSS / budget | of which build |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        h, n, e = r["held_bytes"], r["population"], max(r["directed_edges"], 1)
        per_citizen = (h["state"] + h["citizens"] + h["graph_per_citizen"] + h["prices"]
                       + h["ledger_index"] + h.get("scratch", 0)) / n
        peak, built = (r["rss_peak"] - r["rss_base"]) / n, (r["rss_built"] - r["rss_base"]) / n
        held = per_citizen + h["graph_slots"] / n
        # what is held counts the ties at the end; the peak, which may come while the network is
        # built, the ties it starts with (a year of the essay adds ties), whichever is fewer
        at_peak = _budget(n, min(e, r.get("directed_edges_built", e)))
        out.append(f"| {n:,} | {e:,} | {per_citizen:.0f} | {h['graph_slots'] / e:.1f} | "
                   f"{100 * held / _budget(n, e):.0f}% | {peak:.0f} | {100 * peak / at_peak:.0f}% | "
                   f"{built:.0f} |")
    big = max(results, key=lambda r: r["population"])
    total = sum(big["profile_s"].values())
    out += ["", f"Profile at {big['population']:,} citizens ({big['days']} days): time per mechanism", "",
            "| step | ms / day | share |", "|---|---:|---:|"]
    for name, secs in big["profile_s"].items():
        out.append(f"| {name} | {1000 * secs / big['days']:.2f} | {100 * secs / total:.1f}% |")
    if mesas:
        out += ["", "Against plain Mesa (benchmarks/mesa_reference.py; the reference scenario: the essay "
                "preset without appeals, debts, courts and smart homes; each size in one process)", "",
                "| citizens x days | Mesa build s | Mesa run s | Mesa citizen-days/s | engine build s | "
                "engine run s | engine citizen-days/s | ratio (run) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for m in mesas:
            out.append(f"| {m['population']:,} x {m['days']} | {m['mesa_build_s']:.2f} | "
                       f"{m['mesa_step_s']:.2f} | {_si(m['mesa_citizen_days_per_s'])} | "
                       f"{m['engine_build_s']:.3f} | {m['engine_step_s']:.3f} | "
                       f"{_si(m['engine_citizen_days_per_s'])} | {m['ratio']:.0f}x |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated populations (default 10000,100000,1000000)")
    parser.add_argument("--days", type=int, default=None, help="days per run (default 365; 30 with --quick)")
    parser.add_argument("--mesa", default=None, help="Mesa comparisons as POPULATIONxDAYS[,...] "
                        "(default 2000x30,100000x5; 1000x20 with --quick; 'none' to skip)")
    parser.add_argument("--quick", action="store_true", help="short runs: a couple of minutes in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each size (and each Mesa comparison) N times, this version and "
                        "--before's interleaved, and report the fastest run of each (default 1)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a directory holding another version of the package (e.g. an export of "
                        "an earlier commit's src/): its throughput is measured side by side")
    args = parser.parse_args(argv)
    try:
        sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated numbers, got '{args.sizes}'")
    if not sizes or min(sizes) < 100:
        parser.error(f"--sizes must list populations of at least 100, got '{args.sizes}'")
    if args.days is not None and args.days < 1:
        parser.error(f"--days must be at least 1, got {args.days}")
    days = args.days or (30 if args.quick else 365)
    mesa_spec = args.mesa or ("1000x20" if args.quick else "2000x30,100000x5")
    mesa_runs = []
    for spec in ([] if mesa_spec == "none" else mesa_spec.split(",")):
        try:
            mp, md = (int(x) for x in spec.lower().split("x"))
        except ValueError:
            parser.error(f"--mesa must be POPULATIONxDAYS[,...] such as 2000x30, got '{mesa_spec}'")
        if mp < 100 or md < 1:
            parser.error(f"--mesa needs at least 100 citizens and 1 day per comparison, got '{spec}'")
        mesa_runs.append((mp, md))
    if args.before is not None and not (args.before / "scorestate" / "engine.py").is_file():
        parser.error(f"--before must be a directory holding scorestate/engine.py, got '{args.before}'")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    info = machine()
    t0 = time.perf_counter()
    # Repeats are interleaved, this version then the one under --before for each size, so that
    # both meet the same load; the fastest run of each is reported, the others are kept.
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    before_runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for rep in range(args.repeat):
        for n in sizes:
            print(f"measuring {n:,} citizens x {days} days{_nth(rep, args.repeat)} ...",
                  file=sys.stderr, flush=True)
            runs[n].append(run_task("throughput", n, days, args.seed))
            if args.before is not None:
                print(f"measuring the package under {args.before} at {n:,} citizens x {days} days"
                      f"{_nth(rep, args.repeat)} ...", file=sys.stderr, flush=True)
                before_runs[n].append(run_task("throughput", n, days, args.seed, args.before.resolve()))
    results = [_fastest(runs[n]) for n in sizes]
    before = [_fastest(before_runs[n]) for n in sizes] if args.before is not None else []
    mesas = []
    for mp, md in mesa_runs:
        tries = []
        for rep in range(args.repeat):
            print(f"measuring Mesa and the engine at {mp:,} citizens x {md} days"
                  f"{_nth(rep, args.repeat)} ...", file=sys.stderr, flush=True)
            tries.append(run_task("mesa", mp, md, args.seed))
        mesas.append(_fastest_mesa(tries))
    info["load_after"] = os.getloadavg()
    info["total_s"] = time.perf_counter() - t0
    print(table(results, mesas, info))
    if before:
        best = f" (fastest of {args.repeat}, interleaved; all runs in brackets)" if args.repeat > 1 else ""
        print(f"\nBefore and after (the package under {args.before} against this one, same run)"
              f"{best}\n")
        print("| citizens | days | before: run s | after: run s | speed-up | before: build s "
              "| after: build s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for b, a in zip(before, results, strict=True):
            n = a["population"]
            print(f"| {n:,} | {a['days']} | {b['step_s']:.2f}{_all(before_runs[n])} | "
                  f"{a['step_s']:.2f}{_all(runs[n])} | {b['step_s'] / a['step_s']:.2f}x | "
                  f"{b['build_s']:.2f} | {a['build_s']:.2f} |")
        big = max(before, key=lambda r: r["population"])
        print(f"\nBefore: profile at {big['population']:,} citizens\n")
        print("| step | ms / day |\n|---|---:|")
        for name, secs in big["profile_s"].items():
            print(f"| {name} | {1000 * secs / big['days']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "throughput": results, "mesa": mesas,
                                         "before": before, "repeat": args.repeat,
                                         "throughput_runs": [runs[n] for n in sizes],
                                         "before_runs": [before_runs[n] for n in sizes]
                                         if before else []},
                                        indent=1), encoding="utf-8")


def _nth(rep: int, repeat: int) -> str:
    return f" (run {rep + 1} of {repeat})" if repeat > 1 else ""


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest simulated days: on a shared machine, the least disturbed."""
    return min(runs, key=lambda r: r["step_s"])


def _fastest_mesa(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """Each side's fastest run (Mesa's and the engine's may come from different tries)."""
    mesa = min(tries, key=lambda r: r["mesa_step_s"])
    engine = min(tries, key=lambda r: r["engine_step_s"])
    out = dict(mesa)
    for key in ("engine_build_s", "engine_step_s", "engine_citizen_days_per_s"):
        out[key] = engine[key]
    out["ratio"] = mesa["mesa_step_s"] / engine["engine_step_s"]
    return out


def _all(runs: list[dict[str, Any]]) -> str:
    times = ", ".join(f"{r['step_s']:.2f}" for r in runs)
    return f" ({times})" if len(runs) > 1 else ""


if __name__ == "__main__":
    main()
