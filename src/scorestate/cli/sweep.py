"""`scorestate sweep`: run a design of scenario variants on Dask and analyse its sensitivity."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from scorestate import interrupts
from scorestate.cli import COMPILING, JsonOpt, app, err, friendly, out, plural, progress, who
from scorestate.errors import ScorestateError, check_output_file, output_path
from scorestate.store import DEFAULT_STORE

DEFAULT_WORKERS = 2
SHORT_NAME = 10  # 'camera.urban', not 'urban'

SweepArg = Annotated[Path, typer.Argument(
    metavar="SWEEP.yaml", show_default=False,
    help="A sweep file: the scenario, the parameters to vary and the outputs to read (docs/sweeps.md; "
    "examples in examples/sweeps/).")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", help="A running Dask scheduler to send the runs to, such as "
    "tcp://10.0.0.5:8786 (a cluster, or SLURM through dask-jobqueue); default: a local cluster.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", "-w", metavar="N", help=f"Worker processes of the local cluster (default "
    f"{DEFAULT_WORKERS}; one run each at a time).")]
OutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o", metavar="FILE.parquet", help="Where to write the runs table (default: the "
    "sweep file's name with .parquet, beside it).")]


@app.command()
@friendly
def sweep(file: SweepArg, scheduler: SchedulerOpt = None, workers: WorkersOpt = None,
          output: OutputOpt = None, as_json: JsonOpt = False) -> None:
    """Run every point of a sweep file on Dask, write the runs, print each point or the sensitivity."""
    from scorestate.sweep import execute

    if scheduler is not None and workers is not None:
        raise ScorestateError("--workers sizes the local cluster, and --scheduler sends the runs to "
                              "another one, whose workers run them; expected one of the two")
    if workers is not None and not 1 <= workers <= execute.MAX_LOCAL_WORKERS:
        raise ScorestateError(f"--workers is {workers}; expected 1 to {execute.MAX_LOCAL_WORKERS} "
                              "worker processes")
    target = None if output is None else output_path(output, "--output", "runs.parquet")
    tally = _Tally()
    try:
        with _terminated_as_interrupt():
            _run(file, scheduler, workers, target, as_json, tally)
    except execute.SweepStopped as e:
        raise ScorestateError(f"{e}, and nothing was written") from None
    except (KeyboardInterrupt, SystemError) as e:
        if not interrupts.was_interrupt(e):
            raise
        with interrupts.ignoring():
            how = "terminated" if isinstance(e, Terminated) else "interrupted"
            err.print(f"scorestate: {how}; the sweep was stopped{tally.said()} and nothing was written",
                      markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(143 if isinstance(e, Terminated) else 130) from None


@dataclass
class _Tally:
    """How far the sweep got, for the line that says it was stopped."""

    finished: int = 0
    total: int = 0

    def said(self) -> str:
        return f" after {self.finished:,} of {plural(self.total, 'run')} had finished" if self.total else ""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is, so that the local cluster is shut down on the way out (killed
    by the signal, the command left its workers to die alone and Python warned of leaked
    semaphores)."""


@contextlib.contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only it handles signals
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_parquet(path: Path) -> None:
    """The runs table is Parquet: a name that says otherwise (x.csv) is refused rather than
    written as Parquet under it."""
    if path.suffix.lower() != ".parquet":
        said = f"ends in '{path.suffix}'" if path.suffix else "has no suffix"
        raise ScorestateError(f"--output: '{path}' {said}, but the runs table is written as Parquet; "
                              f"expected a path ending in .parquet, such as '{path.with_suffix('.parquet')}'")


def _run(file: Path, scheduler: str | None, workers: int | None, output: Path | None,
         as_json: bool, tally: _Tally) -> None:
    from scorestate.sweep.design import load_sweep
    from scorestate.sweep.result import dumps
    from scorestate.sweep.runner import local_workers, run_sweep

    checked = load_sweep(file, when_slow=lambda: err.print(COMPILING, markup=False, highlight=False))
    target = output if output is not None else file.with_suffix(".parquet")
    check_output_file(target, "--output", file.with_suffix(".parquet"), protect=[DEFAULT_STORE])
    scenario_file = Path(checked.source)
    _check_not_an_input(target, [file, *([scenario_file] if scenario_file.is_absolute() else [])])
    _check_parquet(target)
    if scheduler is None and workers is not None:
        _note_cpus(local_workers(checked, workers))
    tally.total = checked.runs

    def advance(done: int, _total: int) -> None:
        tally.finished = done
        bar.update(task, completed=done)

    with progress("runs") as bar:
        task = bar.add_task(f"{checked.name}: {plural(checked.runs, 'run')} of "
                            f"{who(checked.scenarios[0])}", total=checked.runs)
        result = run_sweep(checked, scheduler=scheduler, workers=workers or DEFAULT_WORKERS,
                           progress=advance)
    _note_late(checked)  # after the runs: an error is then the only message
    if as_json:  # printed before the table is written: a file that cannot be takes nothing with it
        sys.stdout.write(dumps(result) + "\n")
        sys.stdout.flush()
    else:
        print_result(result)
    written = _write(result, target)
    if not as_json:
        out.print(f"wrote {written}: {plural(result.runs.height, 'run')} "
                  f"({result.elapsed_s:.1f} s on {plural(result.workers, 'worker')})",
                  markup=False, highlight=False, soft_wrap=True)


def _note_cpus(started: int) -> None:
    """More local workers than CPUs share them: no faster, and each costs its memory."""
    from scorestate.sweep.runner import WORKER_BYTES, cpus

    if started > (have := cpus()):
        err.print(f"scorestate: note: {started} local workers on {plural(have, 'CPU')}: they share the "
                  f"CPUs, so the sweep runs no faster than on {have}, and each worker holds about "
                  f"{WORKER_BYTES / 2**20:.0f} MiB", markup=False, highlight=False, soft_wrap=True)


def _write(result: Any, target: Path) -> Path:
    """The runs table at `target`; if it cannot be written there (a folder removed, a full disk),
    in the temporary folder instead, said on stderr with exit code 1: hours of runs are not
    thrown away for a path."""
    from scorestate.sweep.result import TableNotWritten

    try:
        return result.write_parquet(target)
    except TableNotWritten as e:
        runs = plural(result.runs.height, "run")
        try:
            fate = f"the {runs} were saved to '{result.write_elsewhere(target)}' instead"
        except TableNotWritten as again:
            fate = (f"nor could the {runs} be saved in the temporary folder ({again.why}): what is "
                    "printed above is all that is left of them")
        err.print(f"scorestate: error: {e}; {fate}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _check_not_an_input(target: Path, inputs: list[Path]) -> None:
    """The table must not replace the sweep file or its scenario file."""
    for given in inputs:
        try:
            same = given.exists() and target.exists() and os.path.samefile(target, given)
        except OSError:
            same = False
        if same or target.resolve() == given.resolve():
            raise ScorestateError(f"--output: '{target}' is the input file '{given}' (writing would "
                                  "replace it); expected another file path, such as "
                                  f"'{given.with_suffix('.parquet').name}'")


def _note_late(checked: Any) -> None:
    """What the runs' days do not reach, as `scorestate run` says it: at every point, or at the
    points named (a swept phase day or dismantling day is reached at some points only)."""
    from scorestate.scenario.load import after_the_end

    points: dict[str, list[int]] = {}  # what is not reached -> where
    for k, scenario in enumerate(checked.scenarios):
        for what in after_the_end(scenario):
            points.setdefault(what, []).append(k)
    notes: dict[tuple[int, ...], list[str]] = {}  # the same points: one note
    for what, where in points.items():
        notes.setdefault(tuple(where), []).append(what)
    for where, late in notes.items():
        err.print(f"scorestate: note: {checked.name}: {_at(list(where), len(checked.scenarios))}, the runs' "
                  f"{plural(checked.days, 'day')} do not reach {', '.join(late)}; raise 'days' in the "
                  "sweep file to see what they do", markup=False, highlight=False, soft_wrap=True)


def _at(points: list[int], total: int) -> str:
    """`at every point`, `at point 3`, `at points 0, 2, 4, ... (12 of 40)`."""
    if len(points) == total:
        return "at every point" if total > 1 else "at its one point"
    shown = ", ".join(map(str, points[:6])) + (", ..." if len(points) > 6 else "")
    return f"at point {shown}" if len(points) == 1 else f"at points {shown} ({len(points)} of {total})"


def _num(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.3g}"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return _num(v)
    return "null" if v is None else str(v)


def short_names(paths: list[str]) -> dict[str, str]:
    """Each dotted path by its shortest ending that no other path shares and that says enough
    ('points.alcohol' for policy.scoring.points.alcohol; at least SHORT_NAME characters), so
    that a table of several parameters fits a terminal."""
    names = {}
    for path in paths:
        keys = path.split(".")
        for k in range(1, len(keys) + 1):
            tail = ".".join(keys[-k:])
            if len(tail) >= SHORT_NAME and not any(
                    o != path and (o == tail or o.endswith("." + tail)) for o in paths):
                break
        names[path] = tail
    return names


def _legend(names: dict[str, str]) -> None:
    shortened = [f"{short} = {path}" for path, short in names.items() if short != path]
    if shortened:
        out.print("parameters: " + "; ".join(shortened), markup=False, highlight=False, soft_wrap=True)


def print_result(result: Any) -> None:
    """Each point's means (grid) or the sensitivity indices (sobol, morris)."""
    s = result.sweep
    title = (f"{s.name}: {s.kind}, {plural(len(s.points), 'point')} x {plural(len(s.seeds), 'seed')}, "
             f"{who(s.scenarios[0])}, {plural(s.days, 'day')}; outputs: mean of the last "
             f"{plural(s.window, 'day')}")
    names = short_names([p.path for p in s.parameters])
    if s.kind == "grid":
        _print_points(result, title, names)
    else:
        _print_indices(result, title, names)
    _legend(names)


def _print_points(result: Any, title: str, names: dict[str, str]) -> None:
    s = result.sweep
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("point", justify="right", no_wrap=True)
    for p in s.parameters:
        table.add_column(names[p.path], justify="right", overflow="fold")
    for name in s.outputs:
        table.add_column(name, justify="right", overflow="fold")
    means = {(row["point"], row["output"]): row for row in result.points.iter_rows(named=True)}
    for k, values in enumerate(s.points):
        cells = []
        for name in s.outputs:
            row = means[(k, name)]
            half = row["ci_high"] - row["mean"]
            cells.append(_num(row["mean"]) + ("" if math.isnan(half) else f" ± {_num(half)}"))
        table.add_row(str(k), *(_value(v) for v in values), *cells)
    out.print(table)
    if len(s.seeds) > 1:
        out.print(f"± = half-width of the 95% t-interval over the {len(s.seeds)} seeds (the same seeds "
                  "at every point: common random numbers)", markup=False, highlight=False, soft_wrap=True)


def _print_indices(result: Any, title: str, names: dict[str, str]) -> None:
    s = result.sweep
    sobol = s.kind == "sobol"
    heads = ("S1", "± S1", "ST", "± ST") if sobol else ("mu*", "± mu*", "sigma", "mu")
    keys = ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma", "mu")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("output", no_wrap=True)
    table.add_column("parameter", overflow="fold")
    for head in heads:
        table.add_column(head, justify="right", no_wrap=True)
    rows = result.sensitivity.iter_rows(named=True)
    last = None
    for k, row in enumerate(rows):
        first = row["output"] != last
        if first and k:
            table.add_section()
        last = row["output"]
        table.add_row(row["output"] if first else "", names[row["parameter"]],
                      *(_num(row[key]) for key in keys))
    out.print(table)
    if sobol:
        explain = ("S1: the share of the output's variance the parameter explains alone; ST: alone and "
                   "with the others (near 0: the output does not depend on it)")
    else:
        explain = ("mu*: the mean absolute change of the output over a step of the parameter across "
                   "its range (its influence); sigma: how much that change varies (interactions, "
                   "non-linearity); mu: the signed mean")
    out.print(f"{explain}; ± = 95% bootstrap interval (SALib); computed on each point's mean over "
              f"{plural(len(s.seeds), 'seed')}; '-': the output was undefined somewhere or did not vary",
              markup=False, highlight=False, soft_wrap=True)
