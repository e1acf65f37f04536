"""The first tab: the society under policy A, its headline numbers and the report's figures."""

from __future__ import annotations

import polars as pl
import solara

from scorestate.dashboard import plots, runs, state
from scorestate.dashboard.widgets import (
    ACCENT,
    Caption,
    Figure,
    Heading,
    Headline,
    Note,
    Progress,
    TaskOutcome,
)
from scorestate.scenario.load import resolved_yaml


@solara.component
def SocietyTab() -> None:
    issues = state.problems()
    policy = runs.Policy.of(state.preset.value, state.knobs_a.value)

    def start() -> None:
        if not state.problems():
            state.run_task(policy, state.society())

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Run", on_click=start, color=ACCENT, classes=["run-button"],
                      disabled=bool(issues) or state.run_task.pending, icon_name="mdi-play")
        Caption(f"Runs policy A ({policy.describe()}) on the society set in the sidebar.")
    Progress(state.run_task, state.run_status.value, "the run")
    TaskOutcome(state.run_task, "run")
    outcome = state.last_run.value
    if outcome is None:
        Note("Pick a preset, the size of the society and the policy's knobs in the sidebar, "
                    "then press Run. Every citizen is synthetic: this is a model, not a machine.")
        return
    RunView(outcome)


@solara.component
def RunView(outcome: runs.RunOutcome) -> None:
    run = outcome.run
    Heading(run.policy.describe(), 3, classes=["run-title"])
    Caption(f"{outcome.society.describe()} · run {run.run_id} · "
            f"simulated in {run.stored.record.elapsed_s:.2f} s")
    for late in run.late():
        Note(f"{outcome.society.days:,} days do not reach {late}: raise Days to see it.", "warning")
    Headlines(run.metrics)
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.FileDownload(lambda: run.metrics.write_csv().encode(), f"metrics-{run.run_id}.csv",
                            label="Daily metrics (CSV)")
        solara.FileDownload(lambda: resolved_yaml(run.scenario).encode(), f"scenario-{run.run_id}.yaml",
                            label="The scenario (YAML: scorestate run FILE repeats this run)")
    Caption("What every column means: docs/metrics.md. The figures are those of `scorestate report`.")
    for panel in outcome.panels:
        Figure(panel)


@solara.component
def Headlines(metrics: pl.DataFrame) -> None:
    Heading(f"On the last day (day {metrics.height - 1})", 4)
    nobody_listed = not plots.last(metrics, "blacklist_share")
    with solara.Row(style={"flex-wrap": "wrap", "gap": "0"}, classes=["headlines"]):
        for h in plots.HEADLINES:
            if h.column == "innocent_blacklisted_share" and nobody_listed:  # 0 by convention, not news
                Headline("-", "of the listed never broke a rule (nobody is listed)", h.column)
            else:
                Headline(h.text(plots.last(metrics, h.column)), h.label, h.column)
