"""The third tab: policy A against policy B on the same citizens and draws (common random numbers).

The differences with confidence intervals and the citizens whose fate differs are those of
`scorestate compare` (`scorestate.analysis.compare`); the page adds the two runs' series.
"""

from __future__ import annotations

import polars as pl
import solara

from scorestate.analysis.compare import BOOTSTRAP_FROM, FATES, ratio_spread
from scorestate.dashboard import knobs, plots, runs, state
from scorestate.dashboard.limits import MAX_REPLICATES, MIN_REPLICATES
from scorestate.dashboard.widgets import (
    ACCENT,
    Caption,
    Figure,
    Heading,
    Knob,
    Note,
    Progress,
    Table,
    TaskOutcome,
)
from scorestate.metrics import HEADLINE
from scorestate.scenario.load import preset_names


@solara.component
def CompareTab() -> None:
    issues = state.problems(state.preset.value, state.preset_b.value)  # each run bounded, its warm-up too
    a = runs.Policy.of(state.preset.value, state.knobs_a.value)
    b = runs.Policy.of(state.preset_b.value, state.knobs_b.value)

    def start() -> None:
        if not state.problems(a.preset, b.preset):
            state.compare_task(a, b, state.society(), int(state.replicates.value))

    Caption("Policy A is the sidebar's; set policy B here. Both run on the same citizens with the "
            "same random draws (the same seed), so every difference is the policies' doing.")
    PolicyB(a)
    shown = state.problems()  # the sidebar shows policy A's
    for problem in issues:
        if problem not in shown:  # B's warm-up
            Note(kind="error", text=problem, classes=["bound-refused"])
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.SliderInt(f"Replicates (paired seeds) for the confidence intervals: {state.replicates.value}",
                         value=state.replicates, min=MIN_REPLICATES, max=MAX_REPLICATES,
                         thumb_label=False)
        solara.Button("Compare A and B", on_click=start, color=ACCENT, classes=["compare-button"],
                      disabled=bool(issues) or state.compare_task.pending, icon_name="mdi-scale-balance")
    Caption(f"Runs A and B once each for the figures and citizens' files, then {state.replicates.value} "
            f"replicates: paired seeds of each (and B on independent seeds) for the confidence intervals: "
            f"{2 + 3 * state.replicates.value} runs in all.", small=True)
    Progress(state.compare_task, state.compare_status.value, "the comparison")
    TaskOutcome(state.compare_task, "comparison")
    outcome = state.last_compare.value
    if outcome is not None:
        CompareView(outcome)


@solara.component
def PolicyB(a: runs.Policy) -> None:
    values = state.knobs_b.value
    shipped = knobs.preset_values(state.preset_b.value)

    def copy_a() -> None:
        state.preset_b.set(a.preset)
        state.knobs_b.set(dict(a.values))

    with solara.Card("Policy B", classes=["policy-b"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Preset of B", preset_names(), value=state.preset_b.value,
                          on_value=state.choose_preset_b, style={"max-width": "16em"})
            solara.Button("Same as A", on_click=copy_a, text=True, classes=["b-same-as-a"])
            solara.Button(f"Reset to {state.preset_b.value}", text=True,
                          on_click=lambda: state.choose_preset_b(state.preset_b.value))
        with solara.Columns([1, 1]):
            for column in (knobs.KNOBS[::2], knobs.KNOBS[1::2]):
                with solara.Column():
                    for knob in column:
                        Knob(knob, values[knob.key], shipped[knob.key],
                             lambda v, k=knob.key: state.set_knob(state.knobs_b, k, v))


@solara.component
def CompareView(outcome: runs.CompareOutcome) -> None:
    c = outcome.comparison
    Heading(f"A: {outcome.a.policy.describe()}", 4, classes=["compare-a"])
    Heading(f"B: {outcome.b.policy.describe()}", 4, classes=["compare-b"])
    Caption(f"{outcome.society.describe()} · runs {outcome.a.run_id} (A) and {outcome.b.run_id} (B) · "
            f"confidence intervals over seeds {c.seed} to {c.seed + c.replicates - 1}")
    if outcome.identical:
        Note("A and B are the same policy: the same scenario with the same seed gives the same "
                    "run, bit for bit, so every difference below is exactly 0.", classes=["identical"])
    for note in c.notes:
        Note(kind="warning", text=note)
    for landed in (outcome.a, outcome.b):
        for what in landed.unheard:
            Note(kind="warning", text=f"{landed.label}: {what}: the preset's data sharing decides what "
                 "the centre knows.", classes=["unheard"])
    _difference_table(outcome)
    _fates(c.fates)
    for panel in outcome.panels:
        Figure(panel)


def _difference_table(outcome: runs.CompareOutcome) -> None:
    c, seed = outcome.comparison, outcome.society.seed
    rows, classes = [], []
    for column in HEADLINE:
        rows.append(_difference_row(outcome, column))
        classes.append(f"compare-{column}")
    Heading("The last day, A and B", 4)
    Table(("metric", f"A (seed {seed})", f"B (seed {seed})", "B - A", f"B - A, mean of {c.replicates} seeds",
           "95% confidence interval", "variance reduction from pairing"), rows, row_classes=classes,
          cell_classes=("metric", "a", "b", "diff", "mean-diff", "ci", "reduction"), max_height="none")
    Caption("B - A is the paired difference on the same citizens and draws, in percentage points (pp) "
            "for a share; the mean and its 95% interval are over the paired seeds (t interval). The "
            "variance reduction is how many times less B - A varies over the paired seeds than between "
            "B and A on independent seeds: the precision the pairing buys, estimated from the seeds "
            f"and rough from so few ({_spread(c.replicates)}). In brackets, an approximate 95% range "
            f"from a bootstrap over the seeds (from {BOOTSTRAP_FROM} seeds on). ∞: the paired "
            "differences did not vary at all; -: not estimated, a metric that did not vary under A or "
            "under B (pairing has nothing to cancel there) or at all.", small=True)


def _difference_row(outcome: runs.CompareOutcome, column: str) -> tuple[str, ...]:
    """One metric's row, labelled and printed as the society tab's headline numbers are."""
    h, row = plots.metric(column), outcome.comparison.metric(column)
    a, b = outcome.a.metrics, outcome.b.metrics
    va, vb = plots.last(a, column), plots.last(b, column)
    why_a, why_b = plots.undefined_today(a, column), plots.undefined_today(b, column)
    shown_a = f"- ({why_a})" if why_a else h.text(va)
    shown_b = f"- ({why_b})" if why_b else h.text(vb)
    diff = None if why_a or why_b or va is None or vb is None else vb - va
    ci = ("-" if row["ci_low"] is None else
          f"{h.difference(row['ci_low'])} to {h.difference(row['ci_high'])}")
    return (h.label, shown_a, shown_b, h.difference(diff), h.difference(row["difference"]), ci,
            _reduction(row))


def _spread(replicates: int) -> str:
    """How wide a ratio of two variances from this many seeds is, in words."""
    return f"from {replicates} seeds its 95% range spans about ×/÷{ratio_spread(replicates):,.3g}"


def _reduction(row: dict) -> str:
    """var(independent) / var(paired) as a factor, with its 95% range where one was estimated:
    how much the pairing narrowed the interval's spread, and how surely."""
    status, value = row["variance_reduction_status"], row["variance_reduction"]
    if status == "infinite":
        return "∞"
    if value is None or status != "measured":
        return "-"
    low, high = row["variance_reduction_low"], row["variance_reduction_high"]  # None: NaN, or high inf
    return f"{value:,.1f}×" + ("" if low is None else f" ({_factor(low)}–{_factor(high)})")


def _factor(value: float | None) -> str:
    """A bound of a range (None: infinite, as `Comparison.metric` gives it), compactly: 0.13, 9.0, 274."""
    if value is None:
        return "∞"
    return f"{value:.2g}" if value < 10 else f"{value:,.0f}"


def _fates(fates: pl.DataFrame) -> None:
    changed = fates.filter((pl.col("grouping") == "all") | (pl.col("a_only") > 0) | (pl.col("b_only") > 0))
    Heading("Citizens whose fate differs (first seed, last day)", 4)
    rows = [(r["fate"].replace("_", " "), "everyone" if r["grouping"] == "all" else
             f"{r['grouping'].replace('_', ' ')}: {r['group'].replace('_', ' ')}", f"{r['population']:,}",
             f"{r['a_only']:,}", f"{r['b_only']:,}", f"{r['both']:,}") for r in changed.iter_rows(named=True)]
    Table(("fate", "group", "citizens", "only under A", "only under B", "under both"), rows,
          classes=["fates"])
    Caption("; ".join(f"{name.replace('_', ' ')}: {what}" for name, what in FATES.items()) + ". From the "
            "first seed alone (one run of each policy): counts from one draw, with no interval; another "
            "seed would pick other citizens.", small=True, classes=["fates-caveat"])
