"""The `scorestate` command line: the app, shared options, and the error convention.

Usage errors (bad scenario, option or store) print one message and exit with code 2; nothing
is written to the store. Progress goes to stderr; with `--json`, stdout holds one JSON object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from scorestate import interrupts
from scorestate.errors import ScorestateError

app = typer.Typer(add_completion=False, no_args_is_help=False, rich_markup_mode=None,
                  help="scorestate: a research simulator of algorithmic social-scoring regimes, "
                       "on synthetic citizens. Model, not machine.")
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F | None = None, *, stopped: str = "") -> Any:
    """Turn usage errors into one message and exit code 2, without a traceback, and Ctrl-C into
    one line and exit code 130 that says what it left undone (`stopped`, as
    `@friendly(stopped="the page was not written")`: each command leaves something else)."""
    if fn is None:
        return functools.partial(friendly, stopped=stopped)
    said = "scorestate: interrupted" + (f"; {stopped}" if stopped else "")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with interrupts.watching():
                return fn(*args, **kwargs)
        except ScorestateError as e:
            err.print(f"scorestate: error: {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except (KeyboardInterrupt, SystemError) as e:
            if not interrupts.was_interrupt(e):  # a SystemError that is not Ctrl-C in disguise
                raise
            with interrupts.ignoring():
                err.print(said, markup=False, highlight=False)
                raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


ScenarioArg = Annotated[str, typer.Argument(metavar="SCENARIO",
                                             help="A preset name or a YAML scenario file.")]
RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A run id, a unique prefix of it, or its "
                                       "last six characters, as `scorestate runs` lists them.")]
PopulationOpt = Annotated[int | None, typer.Option(
    "--population", "-n", metavar="N", help="Number of citizens (default: the scenario's).")]
DaysOpt = Annotated[int | None, typer.Option(
    "--days", "-d", metavar="DAYS", help="Days to simulate (default: the scenario's).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", "-s", metavar="SEED",
                                             help="Seed of all random streams.")]
StoreOpt = Annotated[Path, typer.Option("--store", metavar="PATH", help="The DuckDB store of runs.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE", help="Override a parameter by its dotted path (repeatable), "
    "e.g. --set 'policy.blacklist.entry.score=score < 850'; a phase that sets the same path "
    "wins from its day (reach it as timeline.phases.N.set.PATH).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def once(option: str, sets: list[str] | None) -> list[str]:
    """The overrides one option gave, each parameter at most once: given twice, the later value
    would win without a word (a pasted line, a script's default and its change), as a key given
    twice in a scenario file would, which is refused too. (load_scenario refuses it as well; this
    names the option.)"""
    seen: dict[str, str] = {}
    for text in sets or []:
        path = text.partition("=")[0].strip()
        if path in seen:
            raise ScorestateError(f"{option} gives '{path}' twice ({seen[path]} and {text}); expected "
                                  "each parameter once")
        seen[path] = text
    return list(sets or [])


def warn_undone(scenario: Any) -> None:
    """Notes on stderr for what the run does not do: what its days do not reach, and rules that
    read facts no shared source tells the centre."""
    from scorestate.policy import unheard
    from scorestate.scenario.load import after_the_end

    late = after_the_end(scenario)
    if late:
        days = scenario.run.days
        err.print(f"scorestate: note: {scenario.name}: {plural(days, 'day')} "
                  f"{'does' if days == 1 else 'do'} not reach "
                  f"{', '.join(late)}; raise --days to see what they do",
                  markup=False, highlight=False, soft_wrap=True)
    for what in unheard(scenario):
        err.print(f"scorestate: note: {scenario.name}: {what}",
                  markup=False, highlight=False, soft_wrap=True)


def who(scenario: Any) -> str:
    """The citizens a scenario runs, for a progress bar: an imported network sets their number
    only once it is read."""
    net = scenario.network
    if net.kind == "edgelist":
        citizens = f"the citizens of {Path(net.edgelist).name}"
    elif net.kind == "graph":
        citizens = "the citizens of the graph"
    else:
        citizens = plural(scenario.population.size, "citizen")
    return citizens + warm_up(scenario)


def warm_up(scenario: Any) -> str:
    """The warm-up a scenario lives before day 0, for a title ('' without one)."""
    days = scenario.run.warm_up_days
    return f" (with {plural(days, 'day')} of warm-up before day 0)" if days else ""


def store_flag(store: Path) -> str:
    """` --store PATH` for a command printed for the user to run next (the store's own, imported
    when needed: the command line starts without the store's modules)."""
    from scorestate.store import store_flag as flag

    return flag(store)


def plural(n: int, noun: str) -> str:
    """`1 citizen`, `1,000 citizens`: a summary must read right at any size."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


COMPILING = ("scorestate: compiling the simulation's kernels; the first run of a version takes about a "
             "minute, later runs load them from the cache")


def progress(unit: str, *extra: ProgressColumn) -> Progress:
    """The bar simulating commands show on stderr while they work.

    The kernels are made ready first, with a line on stderr if that takes long (compiling them,
    on a version's first run, takes about a minute), so a silent wait is explained. The bar is
    drawn only on a terminal: piped or logged, stderr carries messages alone.
    """
    from scorestate.engine import compile_kernels

    compile_kernels(lambda: err.print(COMPILING, markup=False, highlight=False))
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(unit), *extra, TimeElapsedColumn(), console=err, transient=True,
                    disable=not err.is_terminal)


def main() -> None:
    interrupts.started()
    app()


# Each command lives in its own module and registers itself on `app` when imported.
from scorestate.cli import compare as _compare  # noqa: E402, F401
from scorestate.cli import dashboard as _dashboard  # noqa: E402, F401
from scorestate.cli import explain as _explain  # noqa: E402, F401
from scorestate.cli import findings as _findings  # noqa: E402, F401
from scorestate.cli import report as _report  # noqa: E402, F401
from scorestate.cli import run as _run  # noqa: E402, F401
from scorestate.cli import runs as _runs  # noqa: E402, F401
from scorestate.cli import scenarios as _scenarios  # noqa: E402, F401
from scorestate.cli import sweep as _sweep  # noqa: E402, F401
