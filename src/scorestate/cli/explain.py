"""`scorestate explain RUN CITIZEN`: one citizen's file, readable or as JSON."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.columns import Columns
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from scorestate.cli import COMPILING, JsonOpt, RunArg, StoreOpt, app, err, friendly, out, plural, store_flag
from scorestate.store import DEFAULT_STORE

if TYPE_CHECKING:
    from scorestate.store import StoredRun

# A citizen's file outside the run's ledger panel (or of a run stored before the panel's day-0
# records were kept) rebuilds the run's whole society: about 2 s per million citizens here (a
# 50-million-citizen run: 1 min 54 s, 8.4 GB), and lives its warm-up's days again (a day of a
# million citizens: about 40 ms; docs/performance.md). A rebuild this long is announced.
SLOW_REBUILD_S = 4.0
REBUILD_S_PER_MILLION = 2.0
WARM_UP_S_PER_MILLION_DAYS = 0.04

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
NEGATIVE = re.compile(r"-\d+")


class NegativeCitizen(TyperCommand):
    """Reads `explain RUN -1` as citizen -1, so the user gets the range message rather than
    click's "No such option: -1" (a run id never starts with '-')."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        negative = [a for a in args if NEGATIVE.fullmatch(a)]
        if negative and "--" not in args:  # after "--" a token is an argument, never an option
            args = [a for a in args if a not in negative] + ["--", *negative]
        return super().parse_args(ctx, args)


@app.command(cls=NegativeCitizen)
@friendly
def explain(run_id: RunArg,
            citizen: Annotated[int | None, typer.Argument(
                metavar="CITIZEN", help="The citizen's id, from 0 to the population minus one; "
                "without it, a few citizens worth opening.")] = None,
            store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """One citizen's file: who they are, every event that moved their score, the gates that
    closed, the blacklist, and their neighbours' tiers. Without CITIZEN: whose file to open."""
    from scorestate.analysis.explain import explain as explain_citizen
    from scorestate.analysis.explain import needs_rebuild
    from scorestate.api import open_run
    from scorestate.engine import compile_kernels

    stored = open_run(run_id, store=store)
    if citizen is None:
        worth_opening(stored, store, as_json)
        return
    n = int(stored.record.population)
    if 0 <= citizen < n and needs_rebuild(stored, citizen):
        warm = stored.record.warm_up_days
        seconds = (REBUILD_S_PER_MILLION + WARM_UP_S_PER_MILLION_DAYS * warm) * n / 1e6
        if seconds >= SLOW_REBUILD_S:
            lived = f", with their {plural(warm, 'day')} of warm-up," if warm else ""
            err.print(f"scorestate: rebuilding the {plural(n, 'citizen')} of run {stored.record.run_id} "
                      f"and their ties{lived} to read one file; at this size that takes about "
                      f"{_rebuild_s(seconds)} (a citizen of the ledger's panel opens at once)",
                      markup=False, highlight=False, soft_wrap=True)
        compile_kernels(lambda: err.print(COMPILING, markup=False, highlight=False))
    file = explain_citizen(stored, citizen)
    if as_json:
        sys.stdout.write(json.dumps(file.to_dict(), allow_nan=False) + "\n")
        return
    show(file)


def worth_opening(stored: StoredRun, store: Path, as_json: bool) -> None:
    """The citizens the ledger shows something of (`analysis.explain.notable`), each with the
    command that opens their file."""
    from scorestate.analysis.explain import notable

    rec = stored.record
    found = notable(stored)
    if as_json:
        sys.stdout.write(json.dumps({"run_id": rec.run_id, "notable": [
            {"citizen": c, "why": why} for c, why in found]}) + "\n")
        return
    if not found:
        out.print(f"run {rec.run_id}: nobody in its ledger was listed, falsely accused or penalised "
                  f"(ledger: {rec.ledger_retention}); give a citizen's id to open their file",
                  markup=False, highlight=False)
        return
    suffix = store_flag(store)
    out.print(f"citizens worth opening in run {rec.run_id} (from its ledger: {rec.ledger_retention}); "
              f"open one with: scorestate explain {rec.run_id} CITIZEN{suffix}",
              markup=False, highlight=False)
    table = Table(box=None, padding=(0, 2))
    table.add_column("citizen", justify="right")
    table.add_column("why")
    for c, why in found:
        table.add_row(str(c), why)
    out.print(table)


def _rebuild_s(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} minutes"


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    """Values as block characters, one per bucket of days (each bucket shows its last day)."""
    if not values:
        return ""
    k = len(values)
    picks = [values[min(k - 1, ((b + 1) * k) // min(width, k) - 1)] for b in range(min(width, k))]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return BLOCKS[3] * len(picks)
    return "".join(BLOCKS[round((v - lo) / (hi - lo) * (len(BLOCKS) - 1))] for v in picks)


def _pts(x: float) -> Text:
    style = "red" if x < 0 else "green" if x > 0 else "dim"
    return Text(f"{x:+g}" if x else "0", style=style)


def _kv(title: str, rows: dict[str, Any]) -> Table:
    t = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    t.add_column(style="dim")
    t.add_column()
    for k, v in rows.items():
        t.add_row(k.replace("_", " "), f"{v:.2f}" if isinstance(v, float) else str(v))
    return t


def show(f: Any) -> None:
    """The readable citizen's file."""
    d = f.demographics
    out.print(f"[bold]citizen {f.citizen}[/bold] of run {f.run_id} ({f.scenario}, "
              f"{plural(f.population, 'citizen')}, {plural(f.days, 'day')}, seed {f.seed}, "
              f"ledger: {f.retention})")
    who = {**d, "income": round(d["income"], 2), "approval_at_start": f.start["approval"]}
    out.print(Columns([_kv("who", who), _kv("traits (0 to 1)", f.traits)], padding=(0, 6)))
    for note in f.notes:
        out.print(Text(f"note: {note}", style="yellow"))

    start, end = f.start, f.end
    line = f"score {start['score']:.1f}"
    if f.change is None:
        line = f"score at the start {start['score']:.1f} (later scores not recorded)"
    else:
        c = f.change
        line += (f" → {end['score']:.1f}  ({c['total']:+.1f} = events {c['events']:+.1f}, "
                 f"appeals {c['appeals']:+.1f}, association {c['association']:+.1f}, "
                 f"drift/clipping {c['adjustments']:+.1f})")
    out.print(line)
    if f.score_by_day:
        lo, hi = min(f.score_by_day), max(f.score_by_day)
        out.print(f"  day 0 [cyan]{sparkline(f.score_by_day)}[/cyan] day {f.days - 1}"
                  f"   (lowest {lo:.1f}, highest {hi:.1f})")
    tiers = f"tier {start['tier']}" + "".join(f" → {t['to']} (day {t['day']})" for t in f.tier_changes)
    if end["tier"] is None:
        tiers += "  (later tiers not recorded)"
    out.print(tiers)
    if end["blacklisted"] is not None:
        listed = "yes" if end["blacklisted"] else "no"
        out.print(f"on the blacklist at the end: {listed}"
                  + (" (listed at the start)" if start["blacklisted"] else ""))

    if f.events:
        t = Table(title="events the centre recorded", title_justify="left")
        for col in ("day", "event", "source", "points", "false attribution", "real actor"):
            t.add_column(col, justify="right" if col in ("day", "points") else "left")
        for e in f.events:
            t.add_row(str(e["day"]), e["event"], e["source"] or "-", _pts(e["points"]),
                      Text("yes", style="bold yellow") if e["false_attribution"] else "",
                      e["real_actor"])
        out.print(t)
    elif f.events_recorded:
        out.print("no event of this citizen reached the centre")
    if f.pinned_on_others:
        t = Table(title="own acts a camera pinned on someone else", title_justify="left")
        for col in ("day", "event", "pinned on", "points they got"):
            t.add_column(col)
        for e in f.pinned_on_others:
            t.add_row(str(e["day"]), e["event"], f"citizen {e['pinned_on']}", _pts(e["points"]))
        out.print(t)

    # within a day, in the order of the day's steps: appeals, scoring (tiers), blacklist
    decisions = ([(x["day"], "appeal upheld", f"{x['points']:+g} points returned")
                  for x in f.appeals]
                 + [(x["day"], "tier", f"{x['from']} → {x['to']}") for x in f.tier_changes]
                 + [(x["day"], f"blacklist {x['what']}", x["reason"]) for x in f.blacklist])
    if decisions:
        t = Table(title="decisions", title_justify="left")
        for col in ("day", "decision", "detail"):
            t.add_column(col)
        for day, what, detail in sorted(decisions, key=lambda r: r[0]):
            t.add_row(str(day), what, detail)
        out.print(t)
    if f.denials:
        by: dict[str, list[int]] = defaultdict(list)
        for x in f.denials:
            by[x["service"]].append(x["day"])
        t = Table(title="gates that closed (attempts denied)", title_justify="left")
        for col in ("service", "times", "first day", "last day"):
            t.add_column(col, justify="left" if col == "service" else "right")
        for svc, days in by.items():
            t.add_row(svc, str(len(days)), str(min(days)), str(max(days)))
        out.print(t)
    elif f.events_recorded:
        out.print("no gate closed on this citizen")

    if f.neighbours:
        known = any(nb["last_tier"] is not None for nb in f.neighbours)
        note = f.neighbours_note if known else (
            "ties dropped or made during the run are not recorded per citizen; these are the "
            "ties on day 0. The ledger kept no decision of these neighbours, so their later "
            "tiers are unknown")
        t = Table(title=f"neighbours on day 0 ({len(f.neighbours)})", title_justify="left",
                  caption=note, caption_justify="left")
        cols = ("citizen", "tier at start", "last tier", "ever blacklisted")
        for col in cols if known else cols[:2]:
            t.add_column(col)
        for nb in f.neighbours:
            listed = nb["ever_blacklisted"]
            row = [str(nb["citizen"]), nb["tier_at_start"], nb["last_tier"] or "not recorded",
                   "not recorded" if listed is None else ("yes" if listed else "no")]
            t.add_row(*(row if known else row[:2]))
        out.print(t)
    else:
        out.print(f"no neighbours on day 0 ({f.neighbours_note})")
