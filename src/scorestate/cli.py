"""The `scorestate` command line.

Usage errors (bad scenario, option or store) print one message and exit with code 2; nothing
is written to the store. Progress goes to stderr; with `--json`, stdout holds one JSON object.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scorestate.errors import ScorestateError
from scorestate.store import DEFAULT_STORE

app = typer.Typer(add_completion=False, no_args_is_help=False, rich_markup_mode=None,
                  help="scorestate: a research simulator of algorithmic social-scoring regimes, "
                       "on synthetic citizens. Model, not machine.")
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn usage errors into one message and exit code 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScorestateError as e:
            err.print(f"scorestate: error: {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("scorestate: interrupted; the run was not stored", markup=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


ScenarioArg = Annotated[str, typer.Argument(help="A preset name or a YAML scenario file.")]
PopulationOpt = Annotated[int | None, typer.Option(
    "--population", "-n", help="Number of citizens (default: the scenario's).")]
DaysOpt = Annotated[int | None, typer.Option(
    "--days", "-d", help="Days to simulate (default: the scenario's).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", "-s", help="Seed of all random streams.")]
StoreOpt = Annotated[Path, typer.Option("--store", help="The DuckDB store of runs.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override PATH=VALUE (repeatable), "
                                                  "e.g. --set policy.scoring.points.alcohol=-10")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


@app.command()
@friendly
def run(scenario: ScenarioArg = "essay", population: PopulationOpt = None, days: DaysOpt = None,
        seed: SeedOpt = None, store: StoreOpt = DEFAULT_STORE, set_: SetOpt = None,
        as_json: JsonOpt = False) -> None:
    """Simulate a scenario and land the run in the store."""
    from scorestate import api
    from scorestate.scenario.load import load_scenario
    from scorestate.store import Store

    resolved = load_scenario(scenario, set_ or [], population=population, days=days, seed=seed)
    Store(store).close()  # fail fast on a bad store, before any citizen is built
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("days"), TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"{resolved.name}: {resolved.population.size:,} citizens",
                            total=resolved.run.days)
        result = api.run(resolved, store=store, progress=lambda d: bar.update(task, completed=d))
    if as_json:
        payload = {"run_id": result.run_id, "scenario": resolved.name,
                   "population": result.population, "days": result.days,
                   "seed": resolved.run.seed, "elapsed_s": round(result.elapsed_s, 4),
                   "citizen_days_per_s": round(result.citizen_days_per_s, 1),
                   "final": result.final}
        sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
        return
    print_summary(result, store)


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.2f}%" if pct else f"{value:,.3f}"


def _pair(f: dict[str, float | None], a: str, b: str) -> str:
    return f"{_fmt(f[a], True)} / {_fmt(f[b], True)}"


def print_summary(result: Any, store: Path) -> None:
    """The readable summary of a run: what the system did to this society."""
    m: pl.DataFrame = result.metrics
    f = result.final
    last = m.row(-1, named=True)
    head = Table(title=f"{result.scenario.name}: {result.population:,} citizens, "
                       f"{result.days} days, seed {result.seed}", show_header=True)
    head.add_column("on the last day")
    head.add_column("value", justify="right")
    rows = [
        ("blacklisted", _fmt(f["blacklist_share"], True)),
        ("  of them never committed a penalised act", _fmt(f["innocent_blacklisted_share"], True)),
        ("wallets frozen", _fmt(f["wallet_frozen_share"], True)),
        ("denied a service today", _fmt(f["denied_share"], True)),
        ("dissent expressed / latent", _pair(f, "dissent_rate", "dissent_latent_rate")),
        ("alcohol bought / latent", _pair(f, "alcohol_rate", "alcohol_latent_rate")),
        ("health compliance", _fmt(f["health_compliance_rate"], True)),
        ("approval of the system", _fmt(f["approval_mean"], True)),
        ("perceived detection", _fmt(f["perceived_mean"], True)),
        ("false attributions among penalties", _fmt(f["false_attribution_share"], True)),
        ("score mean / p10", f"{_fmt(last['score_mean'])} / {_fmt(last['score_p10'])}"),
        ("score assortativity over ties", _fmt(f["score_assortativity"])),
        ("ties across tiers", _fmt(f["cross_tier_tie_share"], True)),
        ("degree of the blacklisted / mean", _fmt(f["blacklisted_degree_ratio"])),
        ("network components", _fmt(last["components"])),
    ]
    for label, value in rows:
        head.add_row(label, value)
    out.print(head)

    totals = Table(title="over the whole run")
    totals.add_column("what")
    totals.add_column("count", justify="right")
    for col in m.columns:
        if col.startswith(("denied_", "blacklist_inflow")) and col != "denied_share":
            total = m[col].sum()
            if total:
                totals.add_row(col.replace("_", " "), f"{int(total):,}")
    for col in ("false_attributions", "misattributions", "innocent_penalised", "appeals_upheld",
                "officials_spared", "ties_dropped", "ties_made"):
        totals.add_row(col.replace("_", " "), f"{int(m[col].sum()):,}")
    out.print(totals)

    groups = result.group_metrics.filter(pl.col("day") == result.days - 1)
    by = Table(title="by group, last day")
    for col in ("grouping", "group", "approval", "blacklisted", "dissent / latent", "denied"):
        by.add_column(col, justify="left" if col in ("grouping", "group") else "right")
    for row in groups.iter_rows(named=True):
        by.add_row(row["grouping"], row["group"], _fmt(row["approval_mean"], True),
                   _fmt(row["blacklist_share"], True),
                   f"{_fmt(row['dissent_rate'], True)} / {_fmt(row['dissent_latent_rate'], True)}",
                   _fmt(row["denied_share"], True))
    out.print(by)
    out.print(f"run [bold]{result.run_id}[/bold] stored in {store} "
              f"({result.elapsed_s:.1f} s, {result.citizen_days_per_s:,.0f} citizen-days/s)")


@app.command()
@friendly
def scenarios(show: Annotated[str | None, typer.Option("--show", help="Print the fully resolved "
                                                       "scenario NAME (a preset or a file).")] = None,
              set_: SetOpt = None) -> None:
    """List the shipped presets, or show one resolved scenario with every parameter."""
    from scorestate.engine import Simulation
    from scorestate.scenario.load import load_scenario, preset_names, resolved_yaml

    if show is None:
        table = Table(title="presets (scorestate scenarios --show NAME prints every parameter)")
        table.add_column("name")
        table.add_column("description")
        for name in preset_names():
            table.add_row(name, load_scenario(name).description)
        out.print(table)
        return
    resolved = load_scenario(show, set_ or [])
    sys.stdout.write(f"# {resolved.name}: every parameter at its dotted path "
                     f"(override with --set PATH=VALUE)\n")
    sys.stdout.write("# the day's steps, in order: " + ", ".join(Simulation.plan()) + "\n")
    sys.stdout.write(resolved_yaml(resolved))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
