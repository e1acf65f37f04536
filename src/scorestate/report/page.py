"""The report page: one self-contained HTML file (inline CSS and SVG, no script, no request).

A reader gets the run's identity, its headline numbers, the figures with captions that say how
to read them, and the resolved scenario that produced it; with a second run, both side by side
and the scenario paths that differ.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scorestate import __version__
from scorestate.atomic import replacing
from scorestate.errors import ScorestateError, check_output_file
from scorestate.report.figures import Panel, all_panels
from scorestate.report.plotting import COLORS, SMOOTH_DAYS, STYLES, RunData
from scorestate.scenario.load import scenario_yaml
from scorestate.store import StoredRun

HEADLINE = (
    ("blacklist_share", "on the blacklist", "%"),
    ("innocent_blacklisted_share", "of them had done no act the rules name by that day", "%"),
    ("wallet_frozen_share", "wallets frozen", "%"),
    ("denied_share", "denied a service that day", "%"),
    ("dissent_rate", "dissent expressed", "%"),
    ("dissent_latent_rate", "dissent latent (without the system)", "%"),
    ("chilling", "share of latent dissent held back", "%"),
    ("alcohol_rate", "alcohol bought", "%"),
    ("alcohol_latent_rate", "alcohol latent", "%"),
    ("health_compliance_rate", "health compliance", "%"),
    ("approval_mean", "approval of the system", "%"),
    ("perceived_mean", "perceived chance of detection", "%"),
    ("false_attribution_share", "false attributions among penalties", "%"),
    ("score_mean", "mean score", "n"),
    ("score_gini", "score Gini", "n"),
    ("score_assortativity", "score assortativity over ties", "n"),
    ("cross_tier_tie_share", "ties across tiers", "%"),
    ("blacklisted_degree_ratio", "ties of the blacklisted / mean ties", "n"),
)
TOTALS = (
    ("blacklist_inflow", "blacklist entries"),
    ("blacklist_outflow", "blacklist exits"),
    ("blacklist_extended", "blacklist terms extended (an entry reason still held at the term's end)"),
    ("observed_penalties", "penalties recorded"),
    ("false_attributions", "false attributions"),
    ("misattributions", "of which pinned on another citizen's act (counted above)"),
    ("innocent_penalised", "penalties on citizens who had done no act the rules name "
                           "(citizen-days)"),
    ("appeals_upheld", "appeals upheld"),
    ("appeals_delisted", "of which took the citizen off the list"),
    ("officials_spared", "sanctions softened or waived for officials"),
    ("ties_dropped", "ties dropped"),
    ("ties_made", "ties made"),
)
# Why a headline is "-": a share of nobody (stored as NaN, or as 0 where the denominator named
# in ZERO_OVER_ZERO is 0, so a reader would take it for "none of them")
WHY_UNDEFINED = {
    "innocent_blacklisted_share": "nobody is listed",
    "blacklisted_degree_ratio": "nobody is listed",
    "false_attribution_share": "no penalty recorded that day",
    "chilling": "nobody would have dissented",
    "score_assortativity": "scores do not vary across ties",
}
ZERO_OVER_ZERO = {"innocent_blacklisted_share": "blacklist_share",
                  "false_attribution_share": "observed_penalties"}

CSS = """
:root { --ink: #1d2433; --muted: #5b6475; --rule: #e3e6ec; --a: COLOR_A; --b: COLOR_B; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans",
       sans-serif; color: var(--ink); margin: 0; background: #f6f7f9; line-height: 1.45; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 60px; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 36px 0 8px; padding-top: 10px; border-top: 1px solid var(--rule); }
p.lead { color: var(--muted); margin: 0 0 18px; }
nav { font-size: .9em; margin: 14px 0 6px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: var(--ink); white-space: nowrap; }
table { border-collapse: collapse; font-size: .9em; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { font-weight: 600; background: #fafbfc; }
.key-A { color: var(--a); font-weight: 700; }
.key-B { color: var(--b); font-weight: 700; }
figure { margin: 18px 0 28px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: .9em; color: var(--muted); margin-top: 6px; max-width: 900px; }
figcaption b { color: var(--ink); }
.note { background: #fff8e6; border-left: 3px solid #e0a800; padding: 8px 12px; font-size: .92em; }
pre { background: #f4f5f7; padding: 12px 14px; font-size: .8em; line-height: 1.35;
      max-height: 36em; overflow: auto; border: 1px solid var(--rule); }
.why { white-space: normal; color: var(--muted); font-size: .9em; }
th small { font-weight: normal; color: var(--muted); }
td code { overflow-wrap: anywhere; }
ul.overrides { margin: 2px 0; padding-left: 18px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 32px; align-items: start; }
.stack > div { margin-bottom: 12px; }
footer { margin-top: 40px; font-size: .8em; color: var(--muted); }
""".replace("COLOR_A", COLORS[0]).replace("COLOR_B", COLORS[1])


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _prose(text: str) -> str:
    """Escaped text with `backticked` spans set as code (commands and parameter paths)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _fmt(value: float | None, kind: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.2f}%" if kind == "%" else f"{value:,.3f}"


def _diff(a: float | None, b: float | None, kind: str) -> str:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    d = b - a
    return f"{100 * d:+.2f} pp" if kind == "%" else f"{d:+,.3f}"


def _last(r: RunData, metric: str) -> float | None:
    """The last day's value; NaN for a share of nobody, which the run stores as 0."""
    y = r.col(metric)
    if y is None or y.size == 0:
        return None
    base = r.col(ZERO_OVER_ZERO.get(metric, ""))
    if base is not None and base[-1] == 0 and y[-1] == 0:
        return float("nan")
    return float(y[-1])


def _cell(value: float | None, metric: str, kind: str) -> str:
    """A headline's cell: "-" with the reason where the share divides nobody."""
    text = _fmt(value, kind)
    why = WHY_UNDEFINED.get(metric)
    if value is not None and not math.isfinite(value) and why:
        return f'<td class="num"><span class="why">- ({_e(why)})</span></td>'
    return f'<td class="num">{text}</td>'


def _total(r: RunData, metric: str) -> float | None:
    y = r.col(metric)
    return None if y is None else float(np.nansum(y))


def _days(r: RunData) -> str:
    """The run's days, and the warm-up it lived before day 0 (not drawn: nothing was recorded)."""
    warm = r.stored.record.warm_up_days
    lived = f" (with {warm:,} days of warm-up before day 0, not recorded)" if warm else ""
    return f"{r.stored.record.days:,}{lived}"


def _seconds(s: float) -> str:
    return f"{s:,.1f} s" if s >= 0.95 else f"{s:.2g} s"


def _simulated(r: RunData) -> str:
    """The clock of the recorded days alone, which is what citizen-days/s divides by."""
    rec = r.stored.record
    return (f"{_seconds(rec.elapsed_s)} for the {rec.days:,} recorded days "
            f"({rec.citizen_days_per_s:,.0f} citizen-days/s)")


def _set_up(r: RunData) -> str:
    """What came before day 0 (`build_s`): building, and any warm-up, which is often most of it."""
    rec = r.stored.record
    if rec.build_s is None or not math.isfinite(rec.build_s):
        return "-"
    warm = rec.warm_up_days
    what = (f"building the citizens and their network, then living {warm:,} days of warm-up"
            if warm else "building the citizens and their network")
    return f"{_seconds(rec.build_s)} before day 0: {what} (in a process's first run, loading the kernels too)"


def _meta_table(runs: list[RunData]) -> str:
    rows = [("run", lambda r: f'<span class="key-{r.key}">{r.key}</span> {_e(r.stored.record.run_id)}'),
            ("scenario", lambda r: _e(r.stored.record.scenario_name)),
            ("description", lambda r: _e(r.stored.record.scenario.get("description", "")) or "-"),
            ("citizens", lambda r: f"{r.stored.record.population:,}"),
            ("days", _days),
            ("seed", lambda r: str(r.stored.record.seed)),
            ("created (UTC)", lambda r: f"{r.stored.record.created_at:%Y-%m-%d %H:%M:%S}"),
            ("ledger", lambda r: f"{_e(r.stored.record.ledger_retention)} "
                                 f"({r.stored.record.ledger_rows:,} rows)"),
            ("simulated in", _simulated),
            ("set up in", _set_up),
            ("package version", lambda r: _e(r.stored.record.package_version))]
    body = "".join(f"<tr><th>{name}</th>" + "".join(f"<td>{cell(r)}</td>" for r in runs) + "</tr>"
                   for name, cell in rows)
    return f"<table>{body}</table>"


def _last_day_head(runs: list[RunData]) -> str:
    """The table's heading: which day, and that it is one day while many lines are smoothed."""
    last = [int(r.days[-1]) for r in runs if r.days.size]
    day = (f"day {last[0]:,}" if len(set(last)) == 1
           else "; ".join(f"run {r.key}: day {d:,}" for r, d in zip(runs, last, strict=False)))
    return (f"on the last day ({day})<br><small>that one day, not smoothed: the figures' "
            f"smoothed lines ({SMOOTH_DAYS}-day means) may end elsewhere</small>")


def _headline_table(runs: list[RunData]) -> str:
    two = len(runs) > 1
    diff = '<th class="num">difference, B − A<br>(pp: percentage points)</th>'
    head = f"<tr><th>{_last_day_head(runs)}</th>" + "".join(
        f'<th class="num key-{r.key}">{r.key if two else "value"}</th>' for r in runs) + (
        diff if two else "") + "</tr>"
    body = []
    for metric, label, kind in HEADLINE:
        values = [_last(r, metric) for r in runs]
        if all(v is None for v in values):
            continue
        cells = "".join(_cell(v, metric, kind) for v in values)
        if two:
            cells += f'<td class="num">{_diff(values[0], values[1], kind)}</td>'
        body.append(f"<tr><td>{_e(label)}</td>{cells}</tr>")
    body.append(f'<tr><th colspan="{len(runs) + 1 + two}">over the whole run</th></tr>')
    for metric, label in TOTALS:
        values = [_total(r, metric) for r in runs]
        if all(v is None for v in values):
            continue
        cells = "".join(f'<td class="num">{"-" if v is None else f"{v:,.0f}"}</td>' for v in values)
        if two:
            a, b = values
            cells += f'<td class="num">{"-" if a is None or b is None else f"{b - a:+,.0f}"}</td>'
        body.append(f"<tr><td>{_e(label)}</td>{cells}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _flatten(x: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf at its dotted path, a list item's index counting as a key (as `--set` takes
    it), so a change deep in `timeline.phases` is one row, not the whole list."""
    items = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, list) else None
    if items is None:
        return {prefix: x}
    out: dict[str, Any] = {}
    for k, v in items:
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out or {prefix: x}


def _differences(runs: list[RunData]) -> list[tuple[str, Any, Any]]:
    """(path, A's value, B's value) of each parameter where B's scenario differs from A's.

    `overrides` is left out: it records how a scenario was loaded (shown at the top), and its
    values are already in the parameters."""
    if len(runs) < 2:
        return []
    fa, fb = (_flatten({k: v for k, v in r.stored.record.scenario.items() if k != "overrides"})
              for r in runs)
    return [(k, fa.get(k, _UNSET), fb.get(k, _UNSET)) for k in dict.fromkeys([*fa, *fb])
            if fa.get(k, _UNSET) != fb.get(k, _UNSET)]


def _changes(n: int) -> str:
    return f"{n:,} change" + ("" if n == 1 else "s")


def _overrides_section(runs: list[RunData], differ: int) -> str:
    """Each run's `--set` overrides in full, near the top: "essay vs essay" says what B changed."""
    rows = []
    for r in runs:
        done = r.stored.record.scenario.get("overrides") or []
        cell = ('<ul class="overrides">' + "".join(f"<li><code>{_e(o)}</code></li>" for o in done)
                + "</ul>" if done else "none: the scenario as its preset or file defines it")
        rows.append(f'<tr><th class="key-{r.key}">{r.key}</th>'
                    f"<td>{_e(r.stored.record.scenario_name)}</td><td>{cell}</td></tr>")
    tail = (f'Their scenarios differ in {differ:,} parameter{"" if differ == 1 else "s"}, '
            f'<a href="#differences">listed in full</a> under Scenario.' if differ
            else "Their scenarios are identical.")
    return (f"<table><tr><th>run</th><th>scenario</th><th>loaded with (<code>--set</code> "
            f"overrides)</th></tr>{''.join(rows)}</table><p>{tail}</p>")


def _scenario_section(runs: list[RunData]) -> str:
    a = runs[0].stored.record
    text = scenario_yaml(a.scenario)  # runs as a file: the overrides it was loaded with as comments
    parts = [f"<p>The fully resolved scenario of run A, every parameter included, as nested "
             f"YAML. A parameter's dotted path (for <code>--set PATH=VALUE</code>) is its keys "
             f"joined by dots, and a list item's index counts as a key, as in "
             f"<code>policy.enabled</code> or <code>timeline.phases.0.day</code>. Save it as a "
             f"file and run <code>scorestate run FILE</code> to repeat the run exactly.</p>"
             f"<pre>{_e(text)}</pre>"]
    if len(runs) > 1:
        keys = _differences(runs)
        if keys:
            rows = "".join(f"<tr><td><code>{_e(k)}</code></td><td>{_e(_value(va))}</td>"
                           f"<td>{_e(_value(vb))}</td></tr>" for k, va, vb in keys)
            parts.append(f'<p id="differences">Where run B\'s scenario differs ({len(keys):,} '
                         f'parameter{"" if len(keys) == 1 else "s"}):</p>'
                         f'<table><tr><th>parameter</th><th class="key-A">A</th>'
                         f'<th class="key-B">B</th></tr>{rows}</table>')
        else:
            parts.append("<p>Run B's scenario is identical to run A's.</p>")
    return "".join(parts)


_UNSET = object()


def _value(v: Any) -> str:
    """A parameter's value in full, as YAML writes it inline."""
    if v is _UNSET:
        return "(not set)"
    if isinstance(v, str):
        return v
    return yaml.safe_dump(v, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _figure(p: Panel) -> str:
    if not p.svg:
        return f'<h2 id="{p.id}">{_e(p.title)}</h2><p class="note">{_prose(p.caption)}</p>'
    table = ""
    if p.table:
        head, *rows = p.table
        table = ("<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
                 + "".join("<tr>" + "".join(
                     f'<td class="{"num" if k >= p.label_columns else ""}">{_e(c)}</td>'
                     for k, c in enumerate(row)) + "</tr>" for row in rows) + "</table>")
    return (f'<h2 id="{p.id}">{_e(p.title)}</h2><figure>{p.svg}'
            f"<figcaption><b>{_e(p.title.rstrip('?.!'))}.</b> {_prose(p.caption)}</figcaption>"
            f"</figure>{table}")


def _run_data(run: StoredRun, compare: StoredRun | None) -> list[RunData]:
    """The runs as the figures read them; when both have one scenario name, B's label counts
    what differs ("B: essay (3 changes)"), so legends and title tell the two apart."""
    stored = [run] if compare is None else [run, compare]
    runs = [RunData(k, s, COLORS[i], STYLES[i]) for i, (k, s) in enumerate(zip("AB", stored,
                                                                              strict=False))]
    differ = len(_differences(runs))
    if compare is not None and differ and run.record.scenario_name == compare.record.scenario_name:
        runs[1].tag = f" ({_changes(differ)})"
    return runs


def render(run: StoredRun, compare: StoredRun | None = None) -> str:
    """The report of `run` (and `compare` overlaid) as one HTML document."""
    runs = _run_data(run, compare)
    a = run.record
    panels = all_panels(runs)
    names = [r.short.split(": ", 1)[1] for r in runs]
    title = f"{a.scenario_name}: run {a.run_id}" if compare is None else " vs ".join(names)
    lead = (f"{a.population:,} synthetic citizens over {a.days:,} days under the scenario "
            f"“{a.scenario_name}”." if compare is None else
            f"Run A ({names[0]}, solid lines) against run B ({names[1]}, dashed lines).")
    top = "" if compare is None else _overrides_section(runs, len(_differences(runs)))
    nav = "".join(f'<a href="#{p.id}">{_e(p.title.split(":")[0])}</a>' for p in panels)
    nav = f'<a href="#summary">Summary</a>{nav}<a href="#scenario">Scenario</a>'
    body = "".join(_figure(p) for p in panels)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scorestate report: {_e(title)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>scorestate report: {_e(title)}</h1>
<p class="lead">{_e(lead)} Every citizen is synthetic: this is a model of a social-scoring
regime, not a measurement of any real person.</p>
{top}<nav>{nav}</nav>
<h2 id="summary">Summary</h2>
<div class="{'grid' if compare is None else 'stack'}"><div>{_meta_table(runs)}</div>
<div>{_headline_table(runs)}</div></div>
{body}
<h2 id="scenario">Scenario</h2>
{_scenario_section(runs)}
<footer>Written by scorestate {_e(__version__)}. Self-contained: the figures are inline SVG
and the page loads nothing else.</footer>
</main></body></html>
"""


def write_report(run: StoredRun, path: str | Path | None = None,
                 compare: StoredRun | None = None, *, protect: Iterable[str | Path] = ()) -> Path:
    """Write the report (default `report-<run_id>.html`); the file appears whole or not at all.

    The output may not be a store's file, its write-ahead log or in its ledger folder: neither
    that of the stores the runs were read from, nor those in `protect`."""
    out = Path(path) if path is not None else Path(f"report-{run.record.run_id}.html")
    stores = [*protect, *(s.store_path for s in (run, compare) if s is not None and s.store_path)]
    check_output_file(out, "-o", out / f"report-{run.record.run_id}.html", protect=stores)
    text = render(run, compare)
    try:
        with replacing(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ScorestateError(f"cannot write the report to '{out}': {e}") from None
    return out
