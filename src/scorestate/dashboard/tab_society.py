"""The first tab: the society under policy A, its headline numbers and the report's figures."""

from __future__ import annotations

import polars as pl
import solara

from scorestate.dashboard import plots, runs, state
from scorestate.dashboard.download import Download
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
        if not state.run_task.pending:  # while a run goes on, the bar above says what happens
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
    for what in run.unheard:
        Note(f"{what[0].upper()}{what[1:]}: the preset's data sharing decides what the centre knows.",
             "warning", classes=["unheard"])
    Headlines(run.metrics)
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        Download(run.metrics.write_csv, f"metrics-{run.run_id}.csv", "Daily metrics (CSV)", "text/csv",
                 "download-metrics")
        Download(lambda: resolved_yaml(run.scenario), f"scenario-{run.run_id}.yaml",
                 "The scenario (YAML)", "application/yaml", "download-scenario")
    Caption("The CSV has one row a day and one column a metric (what each means is in the metrics "
            "reference of scorestate's documentation); `scorestate run FILE` with the YAML repeats "
            "this run. The figures are those of `scorestate report`.")
    for panel in outcome.panels:
        Figure(panel)


@solara.component
def Headlines(metrics: pl.DataFrame) -> None:
    Heading(f"On the last day (day {metrics.height - 1})", 4)
    with solara.Row(style={"flex-wrap": "wrap", "gap": "0"}, classes=["headlines"]):
        for h in plots.HEADLINES:
            why = plots.undefined_today(metrics, h.column)
            if why:
                Headline("-", f"{h.label} ({why})", h.column)
            else:
                Headline(h.text(plots.last(metrics, h.column)), h.label, h.column)
