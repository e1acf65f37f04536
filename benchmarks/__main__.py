"""`python -m benchmarks`: throughput, the floor, memory, build time and the Mesa ratio, side by side.

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
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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


PROG = "python -m benchmarks"


class BenchError(Exception):
    """One line for the user; `code` is the exit status (2: the input, 1: a measurement broke)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, what was expected), exit 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise BenchError(f"{message} (see {self.prog} --help)")


def run_task(task: str, population: int, days: int, seed: int, source: Path | None = None
             ) -> dict[str, Any]:
    """One measurement in a fresh process; `source`: measure the package under that directory.
    A measurement that fails, is killed or prints no result ends the benchmark with one line
    naming it and the size, and how to rerun it alone to see more."""
    args = [task, "--population", str(population), "--days", str(days), "--seed", str(seed)]
    cmd = [sys.executable, "-m", "benchmarks.measure", *args]
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), str(ROOT), env.get("PYTHONPATH"))
                                            if p)
    what = (f"the {task} measurement at {population:,} citizens x {days} days"
            + (f" of the package under {source}" if source is not None else ""))
    rerun = ("; rerun it alone to see more: "
             + (f"PYTHONPATH={source} " if source is not None else "")
             + "python -m benchmarks.measure " + " ".join(args))
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        raise BenchError(f"{what} was killed by {name}{hint}{rerun}", code=1)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}, no message"
        # the measurement reports a refused input (exit 2) as 'error: ...'; anything else broke
        last = last.removeprefix("error: ")
        raise BenchError(f"{what} failed: {last}" + ("" if done.returncode == 2 else rerun),
                         code=2 if done.returncode == 2 else 1)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchError(f"{what} printed no result (expected one JSON line){rerun}", code=1) from None
    if not isinstance(result, dict):
        raise BenchError(f"{what} printed no result (expected one JSON line){rerun}", code=1)
    return result


def si(x: float) -> str:
    """A rate as people read it: 26.1M, 5.1k ('-' when there is none)."""
    if not math.isfinite(x):
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def _and(days: list[int]) -> str:
    """[30, 180] as '30 and 180'."""
    return " and ".join(filter(None, [", ".join(map(str, days[:-1])), str(days[-1])]))


def _phases(days: list[int] | None) -> str:
    if not days:
        return "no phases"
    return f"its phases begin on days {_and(days)}" if len(days) > 1 else f"its phase begins on day {days[0]}"


def _unreached(results: list[dict[str, Any]], phase_days: list[int] | None) -> list[str]:
    """A note when the runs end before a phase begins: their days are lighter than a year's."""
    days = min((r["days"] for r in results), default=None)
    missed = [d for d in phase_days or [] if days is not None and d >= days]
    if not missed:
        return []
    which = f"the phase of day {missed[0]} begins" if len(missed) == 1 else \
        f"the phases of days {_and(missed)} begin"
    return [f"note: {days} days end before {which}: these days do less than an essay year's, so "
            "their times are not comparable with a year's (docs/performance.md)"]


def table(results: list[dict[str, Any]], mesas: list[dict[str, Any]], info: dict[str, Any]) -> str:
    out = [f"machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gib']:.1f} GiB RAM, "
           f"Python {info['python']}, numba {info['numba']} with {info['numba_threads']} threads",
           f"load average before: {info['load_average'][0]:.2f}, after: {info['load_after'][0]:.2f}",
           "", f"Throughput (essay preset as shipped: {_phases(info.get('essay_phase_days'))}; "
           "ledger retention panel)", *_unreached(results, info.get("essay_phase_days")), "",
           "| citizens | days | build s | run s | citizen-days/s | day ms | floor ms | day / floor |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        day_ms = 1000 * r["step_s"] / r["days"]
        floor_ms = 1000 * r["floor"]["floor_s"]
        out.append(f"| {r['population']:,} | {r['days']} | {r['build_s']:.2f} | {r['step_s']:.2f} | "
                   f"{si(r['citizen_days_per_s'])} | {day_ms:.2f} | {floor_ms:.2f} | "
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
            "held / budget | peak RSS over baseline / citizen | peak RSS / budget | "
            "RSS after build over baseline / citizen |",
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
                       f"{m['mesa_step_s']:.2f} | {si(m['mesa_citizen_days_per_s'])} | "
                       f"{m['engine_build_s']:.3f} | {m['engine_step_s']:.3f} | "
                       f"{si(m['engine_citizen_days_per_s'])} | {m['ratio']:.0f}x |")
    return "\n".join(out)


MAX_POPULATION = 2_000_000_000  # the schema's population.size limit
MAX_DAYS = 32_767  # the schema's run.days limit: day stamps are 16-bit


def _count(text: str) -> int | None:
    """A whole number written as 100000, 100_000 or 1e5; None for anything else."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return None
    return int(x) if math.isfinite(x) and x == int(x) else None


def _population(text: str, flag: str, whole: str) -> int:
    n = _count(text)
    if n is None:
        raise BenchError(f"{flag} must be whole numbers of citizens such as 10000 or 1e6; got "
                         f"'{text.strip()}' in '{whole}'")
    if not 100 <= n <= MAX_POPULATION:
        raise BenchError(f"{flag} must be populations of 100 to {MAX_POPULATION:,} citizens; got "
                         f"{text.strip()}")
    return n


def _days(n: int | None, flag: str) -> None:
    if n is None or not 1 <= n <= MAX_DAYS:
        raise BenchError(f"{flag} must be 1 to {MAX_DAYS:,} days (day stamps are 16-bit); got {n}")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__.splitlines()[0],
               epilog="Columns: 'floor ms' is the sum of three bare kernels over the run's own "
               "arrays (a pass over every state array, a sparse product over the ties, the "
               "day's draws: benchmarks/floor.py), so 'day / floor' is how far a day is from "
               "that irreducible work; Mesa's 'ratio (run)' is Mesa's run time over the "
               "engine's on the reference scenario, builds excluded. Exit status: 0 done, "
               "2 bad input, 1 a measurement failed. See docs/performance.md.")
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="comma-separated populations, at least 100 each (default 10000,100000,1000000)")
    p.add_argument("--days", type=int, default=None,
                   help="days per run, 1 to 32,767 (default 365; 30 with --quick, which end before "
                   "the essay's phases of days 30 and 180 begin)")
    p.add_argument("--mesa", default=None, help="Mesa comparisons as POPULATIONxDAYS[,...] "
                   "(default 2000x30,100000x5; 1000x20 with --quick; 'none' to skip)")
    p.add_argument("--quick", action="store_true",
                   help="30 days a size and Mesa at 1000x20 only: a couple of minutes in all")
    p.add_argument("--seed", type=int, default=1, help="seed of every run, 0 or more (default 1)")
    p.add_argument("--json", type=Path, default=None,
                   help="also write the raw results to this file (in an existing folder)")
    p.add_argument("--repeat", type=int, default=1,
                   help="measure each size (and each Mesa comparison) N times, this version and "
                   "--before's interleaved, and report the fastest run of each (default 1)")
    p.add_argument("--before", type=Path, default=None,
                   help="a directory holding another version of the package (e.g. an export of "
                   "an earlier commit's src/): its throughput is measured side by side")
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, checked: every mistake is a BenchError naming the option, before any work.
    Adds `sizes` (a list), `days` (resolved), `mesa_runs` [(population, days)]."""
    args = parser().parse_args(argv)
    sizes = [_population(s, "--sizes", args.sizes) for s in args.sizes.split(",") if s.strip()]
    if not sizes:
        raise BenchError(f"--sizes lists no population; expected comma-separated numbers of "
                         f"citizens such as 10000,100000; got '{args.sizes}'")
    twice = sorted({n for n in sizes if sizes.count(n) > 1})
    if twice:
        raise BenchError(f"--sizes lists {', '.join(f'{n:,}' for n in twice)} more than once; "
                         "expected each population once (use --repeat to measure a size again)")
    args.sizes = sizes
    if args.days is not None:
        _days(args.days, "--days")
    args.days = args.days if args.days is not None else (30 if args.quick else 365)
    if not 0 <= args.seed < 2**63:
        raise BenchError(f"--seed must be 0 to 2^63 - 1; got {args.seed}")
    if args.repeat < 1:
        raise BenchError(f"--repeat must be at least 1; got {args.repeat}")
    mesa_spec = args.mesa if args.mesa is not None else ("1000x20" if args.quick else "2000x30,100000x5")
    args.mesa_runs = []
    if mesa_spec.strip().lower() != "none":
        specs = [spec for spec in mesa_spec.split(",") if spec.strip()]
        if not specs:
            raise BenchError(f"--mesa lists no comparison; expected POPULATIONxDAYS[,...] such as "
                             f"2000x30, or 'none'; got '{mesa_spec}'")
        for spec in specs:
            parts = spec.strip().lower().split("x")
            counts = [_count(x) for x in parts] if len(parts) == 2 and all(parts) else [None]
            if None in counts:
                raise BenchError(f"--mesa must be POPULATIONxDAYS[,...] such as 2000x30, or 'none'; "
                                 f"got '{spec.strip()}' in '{mesa_spec}'")
            mp, md = counts
            if not 100 <= mp <= MAX_POPULATION or not 1 <= md <= MAX_DAYS:
                raise BenchError(f"--mesa needs 100 to {MAX_POPULATION:,} citizens and 1 to "
                                 f"{MAX_DAYS:,} days per comparison; got '{spec.strip()}'")
            args.mesa_runs.append((mp, md))
    if args.before is not None:
        if not args.before.is_dir():
            raise BenchError(f"--before: '{args.before}' is not a directory; expected one holding "
                             "scorestate/engine.py (an export of an earlier commit's src/)")
        if not (args.before / "scorestate" / "engine.py").is_file():
            raise BenchError(f"--before: '{args.before}' holds no scorestate/engine.py; expected a "
                             "directory holding the package (an export of an earlier commit's src/)")
        args.before = args.before.resolve()
    if args.json is not None:
        _check_writable(args.json)
    return args


def _check_writable(path: Path) -> None:
    """Refuse, before hours of measuring, a --json path that could not be written at the end."""
    folder = path.parent
    if path.is_dir():
        raise BenchError(f"--json: '{path}' is a directory; expected the path of a file to write")
    if path.exists() and not os.access(path, os.W_OK):
        raise BenchError(f"--json: '{path}' is not writable; expected a file this user may write")
    if not folder.is_dir():
        raise BenchError(f"--json: the folder '{folder}' does not exist; expected a file in an "
                         "existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BenchError(f"--json: cannot write in the folder '{folder}'; expected a folder this "
                         "user may write in")


def _check_memory(sizes: list[int], days: int, seed: int) -> list[int]:
    """Each size against the memory free now, as the engine's own check does (engine.py,
    `check_memory`), so that the largest size is refused before the smaller ones are measured.
    Returns the days on which the essay's phases begin."""
    from scorestate import engine
    from scorestate.errors import ScorestateError
    from scorestate.scenario.load import load_scenario

    phases: list[int] = []
    for n in sizes:
        try:
            sc = load_scenario("essay", {"ledger.retention": "panel"}, population=n, days=days,
                               seed=seed)
        except ScorestateError as e:
            raise BenchError(f"--sizes {n:,}: {e}") from None
        phases = [p.day for p in sc.timeline.phases]
        need, have = engine.memory_needed(n, sc.network.mean_degree), engine.available_memory()
        if have is not None and need > have:
            per = engine.BYTES_PER_CITIZEN + engine.BYTES_PER_TIE * sc.network.mean_degree
            raise BenchError(
                f"--sizes {n:,}: a run of {n:,} citizens needs about {need / 2**30:.1f} GiB of memory "
                f"at its peak ({engine.BYTES_PER_CITIZEN} bytes a citizen + {engine.BYTES_PER_TIE} a "
                f"tie at the essay's mean degree {sc.network.mean_degree:g}), but "
                f"{have / 2**30:.1f} GiB is available; expected at most {int(have // per):,} "
                "citizens on this machine now")
    return phases


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark; a mistake or a failed measurement ends it with one line on stderr
    (exit 2: the input; 1: a measurement broke; 130: Ctrl-C) and nothing written."""
    one_line_errors(_main, argv, PROG)


def one_line_errors(run: Callable[[list[str] | None], None], argv: list[str] | None, prog: str) -> None:
    """A benchmark's entry point: its errors and Ctrl-C as one line on stderr, with the exit status."""
    try:
        run(argv)
    except BenchError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        raise SystemExit(e.code) from None
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None


def _main(argv: list[str] | None) -> None:
    args = parse(argv)
    sizes, days, mesa_runs = args.sizes, args.days, args.mesa_runs
    phase_days = _check_memory(sizes, days, args.seed)
    info = machine()
    info["essay_phase_days"] = phase_days
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
                before_runs[n].append(run_task("throughput", n, days, args.seed, args.before))
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
        _write_json(args.json, {"machine": info, "throughput": results, "mesa": mesas,
                                "before": before, "repeat": args.repeat,
                                "throughput_runs": [runs[n] for n in sizes],
                                "before_runs": [before_runs[n] for n in sizes] if before else []})


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Whole or not at all: written beside the target, then renamed over it."""
    from scorestate.atomic import replacing  # here: the harness imports no version of its own before

    text = json.dumps(data, indent=1)
    try:
        with replacing(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        raise BenchError(f"--json: could not write '{path}' ({e.strerror or e}); the tables above "
                         "are the results, nothing was written", code=1) from None


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
