"""`scorestate compare A B`: two policies on the same citizens, with common random numbers.

Prints the paired differences B - A of the headline metrics with 95% confidence intervals and
the variance reduction estimated from the replicates, with an approximate 95% range, then how
many citizens met a different fate on the first seed, by group. With `--json`, stdout holds
exactly one JSON object (undefined values are null, never NaN; each metric's
`variance_reduction_status` tells an infinite reduction from an undefined one).
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
from rich.table import Table

from scorestate.cli import (
    DaysOpt,
    JsonOpt,
    PopulationOpt,
    SetOpt,
    app,
    friendly,
    once,
    out,
    progress,
    warn_undone,
    who,
)

SetAOpt = Annotated[list[str] | None, typer.Option(
    metavar="PATH=VALUE", help="Override PATH=VALUE for policy A only (repeatable); applied after --set.")]
SetBOpt = Annotated[list[str] | None, typer.Option(
    metavar="PATH=VALUE", help="Override PATH=VALUE for policy B only (repeatable); applied after --set.")]


@app.command()
@friendly(stopped="the comparison was stopped")
def compare(
    a: Annotated[str, typer.Argument(metavar="A", help="Policy A: a preset name or a YAML scenario file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Policy B: a preset name or a YAML scenario file.")],
    replicates: Annotated[int, typer.Option("--replicates", "-r",
                                            help="Paired replicates (seeds S, S+1, ...); 2 to 1,000.")] = 5,
    seed: Annotated[int | None, typer.Option(
        "--seed", "-s", help="First seed of the replicates (default: A's run.seed, 0 for a preset).")] = None,
    population: PopulationOpt = None, days: DaysOpt = None, set_: SetOpt = None,
    set_a: SetAOpt = None, set_b: SetBOpt = None, as_json: JsonOpt = False,
    store: Annotated[Path | None, typer.Option(
        "--store", help="Also land the first seed's two runs in this store, for "
                        "`scorestate report A --compare B` and `scorestate explain`.")] = None,
) -> None:
    """Compare policy B with policy A on the same citizens (common random numbers)."""
    from scorestate.analysis.compare import check
    from scorestate.analysis.compare import compare as run_compare
    from scorestate.errors import ScorestateError
    from scorestate.scenario.load import lay_over, load_scenario
    from scorestate.store import Store

    both = once("--set", set_)  # each side's own option may then change what both share
    scen_a = load_scenario(a, lay_over(both, once("--set-a", set_a)), population=population, days=days,
                           seed=seed)
    sets_b = lay_over(both, once("--set-b", set_b))
    if seed is None:  # B runs on A's seeds: a run.seed that B alone sets would be ignored
        scen_b = load_scenario(b, sets_b, population=population, days=days)
        seed = scen_a.run.seed
        if "seed" in scen_b.run.model_fields_set and scen_b.run.seed != seed:
            raise ScorestateError(
                f"B ({scen_b.name}) sets run.seed={scen_b.run.seed}, but compare runs A and B on the "
                f"same seeds (A's run.seed, here {seed}, or --seed); expected one seed for both: "
                f"set it for both (--set run.seed={scen_b.run.seed}), or give --seed "
                f"{scen_b.run.seed}, which replaces both sides' run.seed")
        if scen_b.run.seed != seed:
            scen_b = load_scenario(b, sets_b, population=population, days=days, seed=seed)
    else:
        scen_b = load_scenario(b, sets_b, population=population, days=days, seed=seed)
    check(scen_a, scen_b, replicates, seed)  # bad -r or seed: the message alone, before the bar
    if store is not None:
        Store(store).close()  # fail fast on a bad store, before any citizen is built
    with progress("runs") as bar:
        task = bar.add_task(f"{scen_a.name} vs {scen_b.name}: {who(scen_a)}",
                            total=3 * replicates)
        result = run_compare(scen_a, scen_b, replicates=replicates, seed=seed,
                             progress=lambda done, total: bar.update(task, completed=done))
    warn_undone(scen_a)  # after the runs: an error is then the only message
    if scen_b.timeline != scen_a.timeline:
        warn_undone(scen_b)
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
    for side, scen in (("A", scen_a), ("B", scen_b)):  # what makes the two sides differ
        if scen.overrides:
            out.print(f"{side} ({scen.name}) with " + "; ".join(scen.overrides), markup=False,
                      highlight=False, soft_wrap=True)
    if stored:
        out.print(f"seed {result.seed}'s runs stored in {store}: A {stored['a']}, B {stored['b']} "
                  f"(scorestate report {stored['a']} --compare {stored['b']} --store {store})")


# Why a reduction cell reads "inf" or "-", by variance_reduction_status (see REDUCTION_STATUS).
REDUCTION_FOOTNOTES = {
    "infinite": "inf: the paired differences did not vary (up to round-off) while the independent did",
    "independent_constant": "-: not estimated, the independent differences did not vary",
    "both_constant": "-: neither the paired nor the independent differences varied",
    "one_side_constant": "-: not estimated, A or B did not vary, so pairing had nothing to cancel (the "
                         "true ratio is 1); left out of the median",
    "no_data": "-: fewer than two replicates gave the metric a value under both A and B",
}


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _reduction(v: float | None) -> str:
    """Compact, so one huge ratio cannot squeeze the other columns: 0.51x, 318x, 1.2e+03x."""
    if v is None or math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf"
    if v < 10:
        return f"{v:#.2g}".rstrip(".") + "x"  # 1.0x, 0.51x, 7.2e-07x; 9.99 -> 10x
    return f"{v:.0f}x" if v < 1000 else f"{v:.1e}x"


def _print_fates(result: Any) -> None:
    """Whose fate differs, by group: from the first seed's runs alone, which the table says (one
    draw of each policy gives counts, not estimates)."""
    from scorestate.analysis.compare import FATES

    fates: pl.DataFrame = result.fates
    if not fates.filter((pl.col("a_only") > 0) | (pl.col("b_only") > 0)).height:
        out.print("no citizen's fate (blacklisted, wallet frozen, travel denied) on the last day differs "
                  f"between A and B on the first seed ({result.seed}), one run of each policy; another "
                  f"seed may differ")
        return
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
    out.print(f"fates from the first seed ({result.seed}) alone, one run of each policy: counts from one "
              "draw, with no interval; another seed would pick other citizens")


def _fewer_pairs(result: Any) -> str:
    """The metrics whose means and interval rest on fewer than R replicates, as `name (n=3)` (with
    none, every cell is "-" and the no_data footnote names them)."""
    short = result.metrics.filter((pl.col("n") > 0) & (pl.col("n") < result.replicates))
    return ", ".join(f"{name} (n={n})" for name, n in short.select("metric", "n").iter_rows())


def _range(low: float | None, high: float | None) -> str:
    """A reduction's 95% range, compact as the reduction: 0.13–14x, 1.2–inf; "-" if none."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "-"
    return f"{_reduction(low).removesuffix('x')}–{_reduction(high)}"


def _difference_rows(result: Any) -> list[tuple[str, ...]]:
    """Each metric's cells: name, A mean, B mean, B - A, 95% CI, reduction, its 95% range."""
    rows = []
    for row in result.metrics.iter_rows(named=True):
        half = row["ci_high"] - row["difference"]
        ci = "-" if math.isnan(half) else f"±{_num(half)}"
        status = row["variance_reduction_status"]
        reduction = _reduction(row["variance_reduction"]) if status in ("measured", "infinite") else "-"
        spread = _range(row["variance_reduction_low"], row["variance_reduction_high"])
        rows.append((row["metric"], _num(row["a_mean"]), _num(row["b_mean"]), _num(row["difference"]),
                     ci, reduction, spread))
    return rows


def _difference_table(result: Any) -> Table:
    """The differences and reductions; the range column only where a range was estimated."""
    last = result.seed + result.replicates - 1
    table = Table(title=f"{result.b} (B) vs {result.a} (A): {result.population:,} citizens, "
                        f"{result.days} days, paired seeds {result.seed}..{last}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    rows = _difference_rows(result)
    columns = ["A mean", "B mean", "B - A", "95% CI", "variance\nreduction", "its 95%\nrange"]
    if all(r[-1] == "-" for r in rows):
        columns, rows = columns[:-1], [r[:-1] for r in rows]
    # Numbers keep their full width; on a narrow terminal the metric names fold instead.
    table.add_column("metric (last day)", overflow="fold")
    for i, col in enumerate(columns, start=1):
        table.add_column(col, justify="right", no_wrap=True, min_width=max(len(r[i]) for r in rows))
    for cells in rows:
        table.add_row(*cells)
    return table


def _median(result: Any) -> str:
    """The median reduction over the measured metrics, with its range where one was estimated."""
    measured = result.metrics.filter(pl.col("variance_reduction_status") == "measured").height
    spread = _range(*result.median_variance_reduction_range)
    return (f"median over the {measured} measured: {_reduction(result.median_variance_reduction)}"
            + ("" if spread == "-" else f" (95% range {spread})"))


def print_comparison(result: Any) -> None:
    """The readable comparison: differences, then fates by group."""
    out.print(_difference_table(result))
    out.print("B - A = the paired difference (same seed); 95% CI = B - A ± t(0.975, n-1) x standard error, "
              f"over the n replicates with a value under both A and B (n = {result.replicates} unless "
              "listed below); variance reduction = var(B - A, independent seeds) / var(B - A, same "
              "seeds), estimated from the replicates, its 95% range an approximate one from a bootstrap "
              f"over them; {_median(result)}")
    short = _fewer_pairs(result)
    if short:
        out.print(f"fewer than {result.replicates} replicates gave a value under both A and B, so the means "
                  f"and B - A are over n of them: {short}")
    for status, why in REDUCTION_FOOTNOTES.items():
        names = result.metrics.filter(pl.col("variance_reduction_status") == status)["metric"].to_list()
        if names:
            out.print(f"{why} ({', '.join(names)})")

    _print_fates(result)
    for note in result.notes:
        out.print(f"note: {note}")
