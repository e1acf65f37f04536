"""The second tab: one citizen's file, as `scorestate explain` reads it from the stored run."""

from __future__ import annotations

from collections import defaultdict

import solara

from scorestate.analysis.explain import CitizenFile
from scorestate.dashboard import plots, runs, state
from scorestate.dashboard.widgets import ACCENT, Caption, Figure, Heading, Note, Progress, Table, TaskOutcome


@solara.component
def CitizenTab() -> None:
    available = state.open_runs()
    if not available:
        Note("Run a society (or compare two policies) first: then any citizen's file opens here.")
        return
    names = list(available)
    which = state.citizen_run.value if state.citizen_run.value in names else names[0]
    run = available[which]
    n = int(run.stored.record.population)
    who = state.citizen.value
    valid = who is not None and 0 <= who < n

    def open_file(citizen: int | None = None) -> None:
        if citizen is not None:
            state.citizen.set(citizen)
        target = state.citizen.value if citizen is None else citizen
        if target is not None and 0 <= target < n:
            state.citizen_task(run, int(target))

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        if len(names) > 1:
            solara.Select("In", names, value=which, on_value=state.citizen_run.set,
                          style={"max-width": "14em"})
        solara.InputInt(f"Citizen id (0 to {n - 1:,})", value=state.citizen, style={"max-width": "12em"})
        solara.Button("Open the file", on_click=lambda: open_file(), color=ACCENT,
                      classes=["open-citizen"], disabled=not valid or state.citizen_task.pending)
    if not valid:
        Note(kind="error", text=f"Citizen ids of this run go from 0 to {n - 1:,}.")
    _followed(run)
    if run.notable:
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            Caption("Worth a look:")
            for citizen, why in run.notable:
                solara.Button(f"{citizen}: {why}", on_click=lambda c=citizen: open_file(c), text=True,
                              small=True, classes=["notable"], style={"text-transform": "none"})
    Progress(state.citizen_task, state.citizen_status.value, "the file")
    TaskOutcome(state.citizen_task, "look-up")
    done = state.citizen_task.value
    if state.citizen_task.finished and done is not None and isinstance(done.value, CitizenFile):
        CitizenFileView(done.value)


def _followed(run: runs.Landed) -> None:
    rec = run.stored.record
    panel = run.scenario.ledger.panel_size
    if rec.ledger_retention == "panel" and panel < rec.population:
        Caption(f"This run's ledger follows {panel:,} of its {rec.population:,} citizens in full (a "
                "random panel): others show who they are and their neighbours, not their events. The "
                "citizens worth a look are among those followed.")


@solara.component
def CitizenFileView(f: CitizenFile) -> None:
    d = f.demographics
    Heading(f"Citizen {f.citizen}", 3, classes=["citizen-title"])
    Caption(f"run {f.run_id} ({f.scenario}, {f.population:,} citizens, {f.days:,} days, seed {f.seed})")
    solara.Text(f"Age {d['age']}, {d['settlement']}, {d['education']} education, income quintile "
                f"{d['income_quintile']}, region {d['region']}, official rank: "
                f"{d['official_rank'].replace('_', ' ')}.")
    traits = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" if isinstance(v, float) else f"{k.replace('_', ' ')} "
                       f"{'yes' if v else 'no'}" for k, v in f.traits.items())
    Caption(f"Traits (0 to 1): {traits}. Approval at the start: {f.start['approval']:.0%}.")
    for note in f.notes:
        Note(kind="warning", text=note)
    _score_lines(f)
    if f.score_by_day:
        Figure(plots.score_panel(f.score_by_day, f.days), caption=False)
    if f.events:
        Heading(f"{len(f.events):,} events the centre recorded", 4, classes=["citizen-events"])
        Table(("day", "event", "source", "points", "false attribution", "real actor"),
              [(e["day"], e["event"], e["source"] or "-", f"{e['points']:+g}",
                "yes" if e["false_attribution"] else "", e["real_actor"]) for e in f.events],
              row_classes=["event-row"] * len(f.events))
    elif f.events_recorded:
        Caption("No event of this citizen reached the centre.", classes=["citizen-events"])
    if f.pinned_on_others:
        Heading("Own acts a camera pinned on someone else", 4)
        Table(("day", "event", "pinned on", "points they got"),
              [(e["day"], e["event"], f"citizen {e['pinned_on']}", f"{e['points']:+g}")
               for e in f.pinned_on_others])
    _decisions(f)
    _gates(f)
    _neighbours(f)


def _score_lines(f: CitizenFile) -> None:
    start, end = f.start, f.end
    if f.change is None:
        solara.Text(f"Score at the start: {start['score']:.1f} (later scores not recorded).")
    else:
        c = f.change
        solara.Text(f"Score {start['score']:.1f} → {end['score']:.1f} ({c['total']:+.1f}: events "
                    f"{c['events']:+.1f}, appeals {c['appeals']:+.1f}, guilt by association "
                    f"{c['association']:+.1f}, drift and clipping {c['adjustments']:+.1f}).",
                    classes=["citizen-score"])
    tiers = f"Tier {start['tier']}" + "".join(f" → {t['to']} (day {t['day']})" for t in f.tier_changes)
    listed = "" if end["blacklisted"] is None else (
        "; on the blacklist at the end" if end["blacklisted"] else "; not on the blacklist at the end")
    solara.Text(tiers + listed + ".")


def _decisions(f: CitizenFile) -> None:
    rows = ([(x["day"], "appeal upheld", f"{x['points']:+g} points returned") for x in f.appeals]
            + [(x["day"], "tier", f"{x['from']} → {x['to']}") for x in f.tier_changes]
            + [(x["day"], f"blacklist {x['what']}", x["reason"]) for x in f.blacklist])
    if rows:
        Heading("Decisions", 4)
        Table(("day", "decision", "detail"), sorted(rows, key=lambda r: r[0]))


def _gates(f: CitizenFile) -> None:
    if not f.denials:
        if f.events_recorded:
            Caption("No gate closed on this citizen.")
        return
    by: dict[str, list[int]] = defaultdict(list)
    for x in f.denials:
        by[x["service"]].append(x["day"])
    Heading("Gates that closed (attempts denied)", 4, classes=["citizen-gates"])
    Table(("service", "times", "first day", "last day"),
          [(s, len(d), min(d), max(d)) for s, d in by.items()])


def _neighbours(f: CitizenFile) -> None:
    if not f.neighbours:
        Caption(f"No neighbours on day 0 ({f.neighbours_note}).")
        return
    Heading(f"Neighbours on day 0 ({len(f.neighbours)})", 4)
    Table(("citizen", "tier at start", "last tier", "ever blacklisted"),
          [(nb["citizen"], nb["tier_at_start"], nb["last_tier"] or "not recorded",
            "not recorded" if nb["ever_blacklisted"] is None else ("yes" if nb["ever_blacklisted"] else "no"))
           for nb in f.neighbours])
    Caption(f.neighbours_note, small=True)
