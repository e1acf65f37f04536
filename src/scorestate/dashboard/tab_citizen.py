"""The second tab: one citizen's file, as `scorestate explain` reads it from the stored run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import solara

from scorestate.analysis.explain import CitizenFile
from scorestate.dashboard import plots, runs, state
from scorestate.dashboard.limits import not_whole
from scorestate.dashboard.widgets import (
    ACCENT,
    Caption,
    Figure,
    Heading,
    Note,
    NumberField,
    Progress,
    Table,
    TaskOutcome,
)


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
    problem = id_problem(state.citizen_text.value, state.citizen.value, n)

    def open_file(citizen: int | None = None) -> None:
        if citizen is not None:
            state.pick_citizen(citizen)
        target = state.citizen.value
        if not id_problem(state.citizen_text.value, target, n) and target is not None:
            state.citizen_task(run, target)

    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        if len(names) > 1:
            solara.Select("In", names, value=which, on_value=state.citizen_run.set,
                          style={"max-width": "14em"})
        NumberField(f"Citizen id (0 to {n - 1:,})", state.citizen_text.value, state.type_citizen,
                    [problem] if problem else [], note_class="citizen-refused",
                    style={"width": "22em", "max-width": "100%"})
        solara.Button("Open the file", on_click=lambda: open_file(), color=ACCENT, classes=["open-citizen"],
                      disabled=bool(problem) or state.citizen_task.pending, style={"margin-top": "10px"})
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
        CitizenFileView(done.value, run, open_file)


def id_problem(text: str, who: int | None, n: int) -> str:
    """What is wrong with the citizen id typed ('' when it names a citizen of the run)."""
    if who is None:
        return not_whole("Citizen id", text, 0, n - 1)
    if not 0 <= who < n:
        return f"Citizen id: {who:,} is not a citizen of this run; expected an id from 0 to {n - 1:,}."
    return ""


def _followed(run: runs.Landed) -> None:
    rec = run.stored.record
    panel = run.scenario.ledger.panel_size
    if rec.ledger_retention == "panel" and panel < rec.population:
        Caption(f"This run's ledger follows {panel:,} of its {rec.population:,} citizens in full (a "
                "random panel): others show who they are and their neighbours, not their events. The "
                "citizens worth a look are among those followed.")


@solara.component
def CitizenFileView(f: CitizenFile, run: runs.Landed, open_file: Callable[[int], None]) -> None:
    d = f.demographics
    Heading(f"Citizen {f.citizen}", 3, classes=["citizen-title"])
    Caption(f"run {f.run_id} ({f.scenario}, {f.population:,} citizens, {f.days:,} days, seed {f.seed})")
    solara.Text(f"Age {d['age']}, {d['settlement']}, {d['education']} education, income quintile "
                f"{d['income_quintile']}, region {d['region']}, official rank: "
                f"{d['official_rank'].replace('_', ' ')}.")
    traits = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" if isinstance(v, float) else f"{k.replace('_', ' ')} "
                       f"{'yes' if v else 'no'}" for k, v in f.traits.items())
    Caption(f"Traits (0 to 1): {traits}. Approval at the start: {f.start['approval']:.0%}.")
    if f.events_recorded:
        for note in f.notes:
            Note(kind="warning", text=note)
    else:  # the file's own note tells a command-line user how to rerun; the page says what it can do
        NotFollowed(f, run, open_file)
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


FOLLOWED_SHOWN = 8  # followed citizens offered in place of one the run did not follow


@solara.component
def NotFollowed(f: CitizenFile, run: runs.Landed, open_file: Callable[[int], None]) -> None:
    """A citizen whose events the run did not keep: what the file lacks, and whose files are whole."""
    panel = run.scenario.ledger.panel_size
    Note(kind="warning", classes=["not-followed"], text=(
        f"Citizen {f.citizen} is not among the {panel:,} citizens this run follows in full, so their "
        "events, decisions and score over time were not kept: below are who they are, their start and "
        "their neighbours on day 0. To see a whole file, open one of the citizens worth a look or "
        "one of those below, who are all followed."))
    followed = [c for c, _ in run.notable] + [c for c in panel_ids(run) if c not in dict(run.notable)]
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        Caption("Followed:")
        for citizen in followed[:FOLLOWED_SHOWN]:
            solara.Button(f"citizen {citizen}", on_click=lambda c=citizen: open_file(c), text=True,
                          small=True, classes=["followed"], style={"text-transform": "none"})
    Caption("From the command line, `scorestate run` with `--set ledger.retention=full` keeps every "
            "citizen's file.", small=True)


def panel_ids(run: runs.Landed) -> list[int]:
    """The citizens a run's ledger panel followed, as the run kept them (none for an older store)."""
    kept = run.stored.panel_day0()
    return [] if kept is None else [int(c) for c in kept.ids[:FOLLOWED_SHOWN]]


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
    first = "Tier" if f.events_recorded or f.decisions_recorded else "Tier at the start"
    tiers = f"{first} {start['tier']}" + "".join(f" → {t['to']} (day {t['day']})" for t in f.tier_changes)
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
