"""`scorestate compare A B`: two policies on the same citizens, with common random numbers.

Prints the paired differences B - A of the headline metrics with 95% confidence intervals and
the measured variance reduction, then how many citizens met a different fate, by group. With
`--json`, stdout holds exactly one JSON object (undefined values are null, never NaN).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scorestate.cli import DaysOpt, JsonOpt, PopulationOpt, SetOpt, app, err, friendly, out

SideSetOpt = Annotated[list[str] | None, typer.Option(help="Override PATH=VALUE for one side only "
                                                      "(repeatable); applied after --set.")]


@app.command()
@friendly
def compare(
    a: Annotated[str, typer.Argument(help="Policy A: a preset name or a YAML scenario file.")],
    b: Annotated[str, typer.Argument(help="Policy B: a preset name or a YAML scenario file.")],
    replicates: Annotated[int, typer.Option("--replicates", "-r",
                                            help="Paired replicates (seeds S, S+1, ...); at least 2.")] = 5,
    seed: Annotated[int, typer.Option("--seed", "-s", help="First seed of the replicates.")] = 0,
    population: PopulationOpt = None, days: DaysOpt = None, set_: SetOpt = None,
    set_a: SideSetOpt = None, set_b: SideSetOpt = None, as_json: JsonOpt = False,
    store: Annotated[Path | None, typer.Option(
        "--store", help="Also land the first seed's two runs in this store, for "
                        "`scorestate report A --compare B` and `scorestate explain`.")] = None,
) -> None:
    """Compare policy B with policy A on the same citizens (common random numbers)."""
    from scorestate.analysis.compare import compare as run_compare
    from scorestate.scenario.load import load_scenario
    from scorestate.store import Store

    both = list(set_ or [])
    scen_a = load_scenario(a, both + list(set_a or []), population=population, days=days, seed=seed)
    scen_b = load_scenario(b, both + list(set_b or []), population=population, days=days, seed=seed)
    if store is not None:
        Store(store).close()  # fail fast on a bad store, before any citizen is built
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("runs"), TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"{scen_a.name} vs {scen_b.name}: {scen_a.population.size:,} citizens",
                            total=3 * max(replicates, 0))
        result = run_compare(scen_a, scen_b, replicates=replicates, seed=seed,
                             progress=lambda done, total: bar.update(task, completed=done))
    stored = {}
    if store is not None:
        from scorestate import api

        stored = {"a": api.run(scen_a, store=store).run_id, "b": api.run(scen_b, store=store).run_id}
    if as_json:
        payload = result.to_dict()
        if stored:
            payload["stored_runs"] = stored
        sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
        return
    print_comparison(result)
    if stored:
        out.print(f"seed {seed}'s runs stored in {store}: A {stored['a']}, B {stored['b']} "
                  f"(scorestate report {stored['a']} --compare {stored['b']} --store {store})")


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _reduction(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.2g}x" if v < 10 else f"{v:,.0f}x"


def print_comparison(result: Any) -> None:
    """The readable comparison: differences, then fates by group."""
    from scorestate.analysis.compare import FATES

    last = result.seed + result.replicates - 1
    table = Table(title=f"{result.b} (B) vs {result.a} (A): {result.population:,} citizens, "
                        f"{result.days} days, paired seeds {result.seed}..{last}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("metric (last day)", no_wrap=True)
    for col in ("A mean", "B mean", "B - A", "95% CI", "variance\nreduction"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in result.metrics.iter_rows(named=True):
        half = row["ci_high"] - row["difference"]
        ci = "-" if math.isnan(half) else f"±{_num(half)}"
        table.add_row(row["metric"], _num(row["a_mean"]), _num(row["b_mean"]), _num(row["difference"]),
                      ci, _reduction(row["variance_reduction"]))
    out.print(table)
    out.print("B - A = the paired difference (same seed); 95% CI = B - A ± t(0.975, R-1) x standard error; "
              "variance reduction = var(B - A, independent seeds) / var(B - A, same seeds), measured "
              f"(inf: the paired differences did not vary at all); median over the finite ones: "
              f"{_reduction(result.median_variance_reduction)}")

    fates: pl.DataFrame = result.fates
    if not fates.filter((pl.col("a_only") > 0) | (pl.col("b_only") > 0)).height:
        out.print("no citizen's fate (blacklisted, wallet frozen, travel denied) differs between A and B")
    else:
        ft = Table(title=f"fates on the last day, seed {result.seed}: citizens only under A / only under B",
                   box=box.SIMPLE_HEAD, pad_edge=False)
        ft.add_column("group", no_wrap=True)
        ft.add_column("citizens", justify="right", no_wrap=True)
        for fate in FATES:
            longest_word = max(len(w) for w in fate.split("_"))
            ft.add_column(fate.replace("_", " "), justify="right", min_width=longest_word)
        wide = fates.pivot(on="fate", index=["grouping", "group", "population"],
                           values=["a_only", "b_only"], maintain_order=True)
        for row in wide.iter_rows(named=True):
            label = "all" if row["grouping"] == "all" else f"{row['grouping']}: {row['group']}"
            cells = [f"{row[f'a_only_{f}']:,} / {row[f'b_only_{f}']:,}" for f in FATES]
            ft.add_row(label, f"{row['population']:,}", *cells)
        out.print(ft)
    for note in result.notes:
        out.print(f"note: {note}")
