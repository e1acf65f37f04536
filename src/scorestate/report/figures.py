"""The report's figures: one function per question a reader brings to a run.

Each function takes the runs (A, and B when comparing) and returns a `Panel`: an inline SVG
with a title and a caption that says what is drawn and how to read it. Time series overlay run
B (dashed) on run A (solid). Column names are the daily metrics of `metrics.Recorder` and the
group metrics of `metrics.GROUP_METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from matplotlib.axes import Axes

from scorestate.report.plotting import (
    GROUP_COLORS,
    MIN_PCT_SPAN,
    SMOOTHED,
    STYLE,
    RunData,
    count_axis,
    flat_zero,
    from_zero,
    legend,
    legend_below,
    lines,
    mark_timeline,
    min_span,
    new_figure,
    note,
    percent_axis,
    smooth,
    to_svg,
)
from scorestate.vocabulary import GROUPINGS, SERVICES

GROUPING_TITLES = {"settlement": "settlement", "education": "education",
                   "income_quintile": "income quintile", "official_rank": "official rank"}


@dataclass
class Panel:
    """One figure of the report (or, with `svg` empty, a note in its place)."""

    id: str
    title: str
    caption: str
    svg: str = ""
    table: list[list[str]] | None = None  # optional small table under the figure
    label_columns: int = 1  # the table's first columns that name a row; the rest are numbers


def _day_axis(axes: np.ndarray) -> None:
    for ax in axes:
        if ax.has_data():
            ax.set_xlabel("day")


def _reasons(r: RunData) -> list[str]:
    return [c.removeprefix("blacklist_inflow_") for c in r.metrics.columns
            if c.startswith("blacklist_inflow_")]


def _tiers(r: RunData) -> list[str]:
    return [c.removeprefix("tier_share_") for c in r.metrics.columns if c.startswith("tier_share_")]


def _only_tier(r: RunData) -> str | None:
    """The tier every citizen was in on every day, or None when the tiers held others."""
    for t in _tiers(r):
        share = r.col(f"tier_share_{t}")
        if share.size and np.all(share == 1.0):
            return t
    return None


def _constant_score(r: RunData) -> float | None:
    """The one score every citizen held all run long, or None when scores varied."""
    lo, hi = r.col("score_p10"), r.col("score_p90")
    if lo is None or hi is None or not np.isfinite(lo).any():
        return None
    low, high = np.nanmin(lo), np.nanmax(hi)
    return float(low) if low == high else None


def _either(runs: list[RunData]) -> str:
    return "this run" if len(runs) == 1 else "either run"


def score_distribution(runs: list[RunData]) -> Panel:
    held = [_constant_score(r) for r in runs]
    if all(v is not None for v in held):  # a flat line at one score: say so instead
        values = ", ".join(f"{v:,g}" if len(runs) == 1 else f"{v:,g} in run {r.key}"
                           for r, v in zip(runs, held, strict=True))
        return Panel("scores", "Score distribution over time",
                     f"Scores never varied in {_either(runs)} (every citizen held a score of "
                     f"{values} from the first day to the last): no rule in force moved anyone's "
                     "score (the scenario keeps none, or its scoring starts after these days), so "
                     "there is no distribution to draw.")
    fig, (ax,) = new_figure(height=3.6)
    for r in runs:
        p10, p50, p90, mean = (r.col(k) for k in ("score_p10", "score_p50", "score_p90",
                                                   "score_mean"))
        ax.fill_between(r.days, p10, p90, color=r.color, alpha=0.18 if r.key == "A" else 0.12,
                        lw=0, label=f"10th-90th percentile ({r.key})")
        ax.plot(r.days, p50, color=r.color, ls=r.style, label=f"median ({r.key})")
        ax.plot(r.days, mean, color=r.color, ls=":", lw=1.1, label=f"mean ({r.key})")
    ax.set_ylabel("score")
    count_axis(ax)
    mark_timeline(ax, runs)
    legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _day_axis(np.array([ax]))
    return Panel("scores", "Score distribution over time",
                 "The shaded band holds the middle 80% of citizens (10th to 90th percentile of "
                 "the score); the solid line is the median, the dotted line the mean. A band "
                 "that widens, or a median that stays put while the 10th percentile falls, "
                 "means the score is pulling a minority away from everyone else. Grey lines "
                 "mark the policy's phases; a black dotted line the dismantling.", to_svg(fig, "f-scores"))


def tiers(runs: list[RunData]) -> Panel:
    import matplotlib as mpl

    a = runs[0]
    names = _tiers(a)
    stayed = [_only_tier(r) for r in runs]
    if all(stayed):
        where = ", ".join(t if len(runs) == 1 else f"{t} in run {r.key}"
                          for r, t in zip(runs, stayed, strict=True))
        return Panel("tiers", "Tier shares",
                     f"Every citizen stayed in tier {where} from the first day to the last, so "
                     "there are no shares to draw (one layer at 100%).")
    fig, (ax,) = new_figure(height=3.6)
    shares = np.vstack([a.col(f"tier_share_{t}") * 100 for t in names])
    cmap = mpl.colormaps["RdYlGn"]
    colors = [cmap(0.08 + 0.84 * k / max(len(names) - 1, 1)) for k in range(len(names))]
    ax.stackplot(a.days, shares, labels=names, colors=colors, alpha=0.9, lw=0)
    caption_b = ""
    if len(runs) > 1:
        b = runs[1]
        if _tiers(b) == names:
            cum = np.cumsum(np.vstack([b.col(f"tier_share_{t}") * 100 for t in names]), axis=0)
            for k, row in enumerate(cum[:-1]):
                ax.plot(b.days, row, color="#222222", ls="--", lw=1.0,
                        label=f"tier boundaries ({b.key})" if k == 0 else None)
            caption_b = (f" Dashed lines are run {b.key}'s boundaries between the same tiers: "
                         "where a dashed line lies above the coloured boundary, run B has more "
                         "citizens in the tiers below it.")
        else:
            caption_b = f" Run {b.key} uses other tiers ({', '.join(_tiers(b))}) and is not overlaid."
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of citizens")
    percent_axis(ax)
    ax.grid(False)
    mark_timeline(ax, runs)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.01, 0.5),
              title="tier")
    _day_axis(np.array([ax]))
    return Panel("tiers", "Tier shares",
                 f"Each coloured layer is the share of citizens in one tier (run {a.key}), "
                 f"lowest tier at the bottom; the layers always add up to 100%. Growing bottom "
                 f"layers (the lowest tiers, whatever their colour) are a growing underclass."
                 + caption_b, to_svg(fig, "f-tiers"))


def blacklist(runs: list[RunData]) -> Panel:
    fig, (size, reasons) = new_figure(1, 2, height=3.4)
    lines(size, runs, "blacklist_share", scale=100)
    size.set_title("on the blacklist (% of citizens)")
    percent_axis(size)
    from_zero(size)
    flat_zero(size, runs, "blacklist_share", what="nobody listed")
    mark_timeline(size, runs, label=False)
    size.set_xlabel("day")
    legend_below(size)
    any_entry = False
    for r in runs:
        for k, reason in enumerate(_reasons(r)):
            y = r.col(f"blacklist_inflow_{reason}")
            if not np.nansum(y):
                continue
            any_entry = True
            reasons.plot(r.days, np.nancumsum(y), color=GROUP_COLORS[k % len(GROUP_COLORS)],
                         ls=r.style, label=reason if len(runs) == 1 else f"{reason} ({r.key})")
    reasons.set_title("entries so far, by reason")
    if any_entry:
        reasons.set_ylabel("entries (cumulative)")
        from_zero(reasons)
        count_axis(reasons, integer=True)
        mark_timeline(reasons, runs, label=False)
        reasons.set_xlabel("day")
        legend_below(reasons, ncols=3)
    else:
        note(reasons, "nobody entered the blacklist")
    return Panel("blacklist", "Blacklist size and why people were listed",
                 "Left: the share of citizens on the blacklist each day. Right: how many "
                 "citizens had entered the list so far, by the rule that put them there (a "
                 "citizen listed twice counts twice). Steps in the right panel are waves of "
                 "listings; a flat left line with rising right lines means exits keep pace "
                 "with entries.", to_svg(fig, "f-blacklist"))


def _peak_day(r: RunData) -> int | None:
    share = r.col("blacklist_share")
    if share is None or not np.nanmax(share, initial=0) > 0:
        return None
    return int(r.days[int(np.nanargmax(share))])


def blacklist_by_group(runs: list[RunData]) -> Panel:
    if all(_peak_day(r) is None for r in runs):
        return Panel("blacklist-groups", "Who is on the blacklist",
                     f"Nobody was on the blacklist on any day of {_either(runs)}, so there are "
                     "no groups to compare.")
    fig, (ax,) = new_figure(height=4.6)
    labels: list[str] = []
    for grouping, values in GROUPINGS.items():
        labels += [f"{GROUPING_TITLES[grouping]}: {v.replace('_', ' ')}" for v in values]
    y = np.arange(len(labels))
    height = 0.8 / len(runs)
    peaks = []
    widest = 0.0
    for k, r in enumerate(runs):
        day = _peak_day(r)
        peaks.append((r, day))
        if day is None:
            continue
        g = r.groups.filter(r.groups["day"] == day)
        share = g["blacklist_share"].fill_nan(0).fill_null(0).to_numpy() * 100
        # the group metric is a share of the group (the daily one is a share of the listed)
        innocent = g["innocent_blacklisted_share"].fill_nan(0).fill_null(0).to_numpy() * 100
        pos = y - 0.4 + height * (k + 0.5)
        ax.barh(pos, share, height=height * 0.92, color=r.color, alpha=0.85,
                label=f"listed ({r.short}, day {day})")
        ax.barh(pos, innocent, height=height * 0.92, color="white", alpha=0.55, hatch="////",
                edgecolor=r.color, lw=0, label=f"of whom had done no act the rules name ({r.key})")
        for p, x, (listed, size) in zip(pos, share, _counts(g), strict=True):
            ax.annotate(f"{listed:,} / {size:,}", (x, p), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7, color="#444444")
        widest = max(widest, float(share.max(initial=0)))
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, widest * 1.3)  # room for the counts at the bars' ends
    ax.set_xlabel("share of the group on the blacklist "
                  "(at each bar: citizens listed / group size)")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.grid(axis="y", visible=False)
    bounds = np.cumsum([len(v) for v in GROUPINGS.values()])[:-1] - 0.5
    for b in bounds:
        ax.axhline(b, color="#999999", lw=0.6)
    legend_below(ax)
    when = "; ".join(f"run {r.key}: day {d}" if d is not None else f"run {r.key}: nobody was ever listed"
                     for r, d in peaks)
    return Panel("blacklist-groups", "Who is on the blacklist",
                 "The share of each group on the blacklist on the day the list was longest "
                 f"({when}); groups are settlement, education, income quintile "
                 "(q1 poorest) and official rank. The hatched part of a bar is the share of the "
                 "group that is listed although it had done no act the rules name by that day "
                 "(listed through false attributions, association or other citizens' acts). "
                 "Bars of unequal length are disparate impact, but only when they rest on "
                 "enough people: the numbers at the bars' ends are the citizens listed and "
                 "the group's size, and a bar of one or two people is chance, not a pattern.",
                 to_svg(fig, "f-blgroups"))


def _counts(g: pl.DataFrame) -> list[tuple[int, int]]:
    """(citizens listed, group size) of each row of one day's group metrics."""
    size = g["population"].fill_nan(0).fill_null(0).to_numpy()
    share = g["blacklist_share"].fill_nan(0).fill_null(0).to_numpy()
    return [(round(s * n), round(n)) for s, n in zip(share, size, strict=True)]


def denials(runs: list[RunData]) -> Panel:
    fig, (bars, daily) = new_figure(1, 2, height=3.6)
    totals = {r.key: {s: float(np.nansum(r.col(f"denied_{s}"))) for s in SERVICES
                      if r.has(f"denied_{s}")} for r in runs}
    used = [s for s in SERVICES if any(t.get(s, 0) > 0 for t in totals.values())]
    if used:
        y = np.arange(len(used))
        height = 0.8 / len(runs)
        for k, r in enumerate(runs):
            bars.barh(y - 0.4 + height * (k + 0.5), [totals[r.key].get(s, 0) for s in used],
                      height=height * 0.92, color=r.color, label=r.short)
        bars.set_yticks(y, [s.replace("_", " ") for s in used])
        bars.invert_yaxis()
        bars.grid(axis="y", visible=False)
        bars.set_xlabel("attempts denied over the whole run")
        count_axis(bars, axis="x")
        if len(runs) > 1:
            legend_below(bars)
    else:
        note(bars, "no gate closed on anyone")
    bars.set_title("denials by service")
    lines(daily, runs, "denied_share", scale=100, label="denied any service that day",
          smoothed=True)
    lines(daily, runs, "wallet_frozen_share", scale=100, label="wallet frozen",
          color="#8c564b", smoothed=True, lw=1.1)
    daily.set_title("citizens shut out (% of citizens)")
    percent_axis(daily)
    from_zero(daily)
    flat_zero(daily, runs, "denied_share", "wallet_frozen_share", what="nobody shut out")
    mark_timeline(daily, runs, label=False)
    daily.set_xlabel("day")
    legend_below(daily)
    table = _refusals(runs, used, totals)
    return Panel("denials", "Gates that closed",
                 "Left: how many service attempts the gates denied over the whole run, by "
                 "service (\"unable to buy bread\" is essentials). Right: the share of citizens "
                 "denied at least one service that day, and the share whose wallet was frozen "
                 f"(essential purchases shut); both smoothed. {SMOOTHED}"
                 + (" The table: each denied service's attempts over the run and the share refused "
                    "(a citizen who knows a service is shut to it tries it less often, so the "
                    "refused are fewer than the shut out would suggest)." if table else ""),
                 to_svg(fig, "f-denials"), table=table)


def _refusals(runs: list[RunData], services: list[str],
              denials: dict[str, dict[str, float]]) -> list[list[str]] | None:
    """Attempts and the share refused, by denied service and run, from the run's denials by
    service (`denials[run key][service]`) and its uses (None for runs stored before uses were
    counted, which have no `used_<service>` columns)."""
    if not services or not all(r.has(f"used_{s}") for r in runs for s in services):
        return None
    head = ["service"] + [f"{label} ({r.key})" for r in runs for label in ("attempts", "refused")]
    rows = [head]
    for s in services:
        row = [s.replace("_", " ")]
        for r in runs:
            denied = denials[r.key].get(s, 0.0)
            tried = denied + float(np.nansum(r.col(f"used_{s}")))
            row += [f"{tried:,.0f}", f"{denied / tried:.2%}" if tried else "-"]
        rows.append(row)
    return rows


def _expressed_latent(ax: Axes, runs: list[RunData], act: str, what: str) -> None:
    for r in runs:
        done, latent = r.col(f"{act}_rate"), r.col(f"{act}_latent_rate")
        if done is None or latent is None:
            continue
        done, latent = smooth(done) * 100, smooth(latent) * 100
        tag = "" if len(runs) == 1 else f" ({r.key})"
        ax.plot(r.days, latent, color=r.color, ls=r.style, lw=1.0, alpha=0.6,
                label=f"would have{tag}")
        ax.plot(r.days, done, color=r.color, ls=r.style, label=f"did{tag}")
        if r.key == "A":
            ax.fill_between(r.days, done, latent, where=latent >= done, color=r.color,
                            alpha=0.15, lw=0, label="held back (A)" if len(runs) > 1 else "held back")
    ax.set_title(what)
    from_zero(ax)
    percent_axis(ax)
    mark_timeline(ax, runs, label=False)
    ax.set_xlabel("day")
    legend_below(ax, ncols=3)


def dissent(runs: list[RunData]) -> Panel:
    fig, (d, a) = new_figure(1, 2, height=3.4)
    _expressed_latent(d, runs, "dissent", "dissent expressed vs latent (% per day)")
    _expressed_latent(a, runs, "alcohol", "alcohol bought vs latent (% per day)")
    return Panel("dissent", "Dissent expressed and dissent held back",
                 "The thin line is the share of citizens who would have done it that day "
                 "without the system's incentives (the same decision with the deterrence term "
                 "removed); the thick line is the share who did. The shaded gap is what the "
                 "system suppressed: for dissent, chilling and preference falsification; for "
                 f"alcohol, self-policing. All lines are smoothed. {SMOOTHED}",
                 to_svg(fig, "f-dissent"))


def approval(runs: list[RunData]) -> Panel:
    fig, axes = new_figure(2, 2, height=2.8)
    for ax, (grouping, title) in zip(axes, GROUPING_TITLES.items(), strict=True):
        for r in runs:
            for k, (name, (days, values)) in enumerate(r.group(grouping, "approval_mean").items()):
                ax.plot(days, values * 100, color=GROUP_COLORS[k % len(GROUP_COLORS)],
                        ls=r.style, lw=1.3, label=name.replace("_", " ") if r.key == "A" else None)
        lines(ax, runs, "approval_mean", scale=100, color="#222222", lw=0.9,
              label="everyone")
        for line in ax.get_lines():
            if line.get_label().startswith("everyone") and "(B)" in line.get_label():
                line.set_label("_")
        ax.set_title(f"by {title}")
        percent_axis(ax)
        min_span(ax)
        mark_timeline(ax, runs, label=False)
        ax.set_xlabel("day")
        legend_below(ax, ncols=3)
    for ax in axes[::2]:
        ax.set_ylabel("mean approval")
    extra = " Run B is dashed, in the same colours." if len(runs) > 1 else ""
    return Panel("approval", "Approval of the system, by group",
                 "Mean approval (the chance a citizen approves of the system) in each group, "
                 "with the whole population in black. Approval starts higher among urban, "
                 "educated, richer and older citizens (Kostka 2019) and moves with rewards, "
                 "sanctions suffered or seen among friends, and visible leniency toward "
                 "officials. Small groups (senior officials) are noisy. Each panel spans at "
                 f"least {MIN_PCT_SPAN:g} percentage points, so a small wobble does not look "
                 "like a collapse." + extra,
                 to_svg(fig, "f-approval"))


def network(runs: list[RunData]) -> Panel:
    fig, axes = new_figure(2, 3, height=2.6)
    specs = [("score_assortativity", "score assortativity over ties", 1.0, False),
             ("cross_tier_tie_share", "ties across tiers (%)", 100.0, True),
             ("blacklisted_degree_ratio", "ties of the blacklisted / mean ties", 1.0, False),
             ("blacklisted_isolated_share", "blacklisted with no tie left (%)", 100.0, True),
             ("components", "connected components", 1.0, False)]
    for ax, (metric, title, scale, pct) in zip(axes, specs, strict=False):
        lines(ax, runs, metric, scale=scale)
        ax.set_title(title)
        if pct:
            percent_axis(ax)
        if metric in ("blacklisted_isolated_share", "components", "cross_tier_tie_share"):
            from_zero(ax)
        if metric == "components":
            count_axis(ax, integer=True)  # a count of pieces: 1, 2, 3, never 0.2
        if not any(np.isfinite(y).any() for r in runs if (y := r.col(metric)) is not None):
            why = {"blacklisted_degree_ratio": "nobody was on the blacklist",
                   "score_assortativity": "scores did not vary across ties"}.get(metric, "no data")
            note(ax, f"undefined all run long:\n{why}", keep_axes=True)
        if metric == "blacklisted_degree_ratio":
            ax.axhline(1.0, color="#999999", lw=0.8, ls="--")
        if pct:
            flat_zero(ax, runs, metric)
        mark_timeline(ax, runs, label=False)
    last = axes[5]
    for r in runs:
        for metric, color in (("ties_dropped", "#d62728"), ("ties_made", "#2ca02c")):
            y = r.col(metric)
            if y is not None:
                tag = metric.replace("_", " ") + ("" if len(runs) == 1 else f" ({r.key})")
                last.plot(r.days, np.nancumsum(y), color=color, ls=r.style, label=tag)
    last.set_title("ties dropped and made (cumulative)")
    from_zero(last)
    count_axis(last)
    mark_timeline(last, runs, label=False)
    _day_axis(axes)
    legend_below(last)
    if len(runs) > 1:
        legend_below(axes[0])
    return Panel("network", "What the system does to the social network",
                 "Score assortativity is the correlation of scores across ties (0: friends' "
                 "scores unrelated; toward 1: people tied to people like them). Ties across "
                 "tiers start near 0% (everyone starts in one tier) and rise as scores spread "
                 "citizens over tiers, so against a baseline run they rise for that reason "
                 "alone; the network is splitting by tier only where they stay below a run "
                 "with association off (`--compare` a run with `--set "
                 "timeline.phases.0.set.policy.association.penalty=0`, `...drop_rate=0` and "
                 "`...seek_rate=0`). The ties of the "
                 "blacklisted divided by everyone's mean (dashed line at 1 = as connected as "
                 "anyone) and the share of them left with no tie show isolation. Components "
                 "counts disconnected pieces of the network (measured every few days). The "
                 "last panel counts ties citizens dropped and made (to avoid low-tier friends "
                 "and to seek high-tier ones, plus everyday churn).", to_svg(fig, "f-network"))


def false_attributions(runs: list[RunData]) -> Panel:
    fig, (fa, inn, share) = new_figure(1, 3, height=3.2)
    lines(fa, runs, "false_attributions", smoothed=True, label="false attributions")
    lines(fa, runs, "misattributions", smoothed=True, label="of which pinned on another's act",
          color="#ff7f0e")
    fa.set_title("false attributions per day")
    from_zero(fa)
    count_axis(fa)
    flat_zero(fa, runs, "false_attributions", "misattributions")
    lines(inn, runs, "innocent_penalised", smoothed=True)
    inn.set_title("innocent citizens penalised per day")
    from_zero(inn)
    count_axis(inn)
    flat_zero(inn, runs, "innocent_penalised")
    lines(share, runs, "innocent_blacklisted_share", scale=100)
    share.set_title("innocent share of the blacklist (%)")
    percent_axis(share)
    from_zero(share)
    flat_zero(share, runs, "innocent_blacklisted_share")
    for ax in (fa, inn, share):
        mark_timeline(ax, runs, label=False)
        ax.set_xlabel("day")
    legend_below(fa)
    if len(runs) > 1:
        legend_below(inn)
    return Panel("innocent", "False attributions and the innocent sanctioned",
                 "Left: events recorded against a citizen who did not do them each day "
                 "(classifier false positives, camera false matches), and of which the acts "
                 "of another citizen that a camera pinned on them (already counted in the "
                 "false attributions: do not add the two lines). Middle: citizens penalised "
                 "that day who had done no act the rules name by that day; a phase that adds "
                 "rules makes everyone momentarily innocent of the new ones. Right: the share "
                 "of the blacklist who had done no such act by that day. Daily counts are "
                 "smoothed. "
                 f"{SMOOTHED}",
                 to_svg(fig, "f-innocent"))


def disparate_impact(runs: list[RunData]) -> Panel:
    fig, axes = new_figure(1, 2, height=3.2)
    specs = (("disparate_impact_rural_urban", "rural vs urban", "urban citizen"),
             ("disparate_impact_q1_q5", "poorest vs richest income quintile",
              "citizen of the richest quintile"))
    for ax, (metric, title, whom) in zip(axes, specs, strict=True):
        drawn = any(r.col(metric) is not None and np.isfinite(r.col(metric)).any() for r in runs)
        if not drawn:
            note(ax, f"undefined all run long:\nno {whom} was ever listed")
        else:
            lines(ax, runs, metric)
            ax.axhline(1.0, color="#999999", lw=0.8, ls="--")
            from_zero(ax)
            mark_timeline(ax, runs, label=False)
            ax.set_xlabel("day")
            if len(runs) > 1:
                legend_below(ax)
        ax.set_title(f"blacklist rate ratio, {title}")
    counts = "; ".join(
        f"run {r.key}: {_most_listed(r, 'settlement', 'rural')} rural and "
        f"{_most_listed(r, 'settlement', 'urban')} urban, "
        f"{_most_listed(r, 'income_quintile', 'q1')} of q1 and "
        f"{_most_listed(r, 'income_quintile', 'q5')} of q5" for r in runs)
    return Panel("disparate", "Disparate impact",
                 "How many times more likely a rural citizen is to be on the blacklist than an "
                 "urban one (left), and a citizen of the poorest income quintile than one of "
                 "the richest (right). The dashed line at 1 is parity; above it the first group "
                 "is hit harder. Gaps in a line are days when nobody in the second group was "
                 "listed (the ratio is undefined). The ratio is noisy when few are listed: one "
                 "citizen more or fewer can halve or double it. The most listed on any one day "
                 f"were {counts}.", to_svg(fig, "f-disparate"))


def _most_listed(r: RunData, grouping: str, group: str) -> str:
    """The most citizens of one group on the blacklist on any day, as text."""
    g = r.groups.filter((pl.col("grouping") == grouping) & (pl.col("group") == group))
    if g.is_empty():
        return "-"
    listed = (g["blacklist_share"].fill_nan(0).fill_null(0)
              * g["population"].fill_nan(0).fill_null(0)).round()
    return f"{int(listed.max() or 0):,}"


HYSTERESIS = (("chilling", "dissent held back (chilling)", 100.0),
              ("perceived_mean", "perceived chance of detection", 100.0),
              ("approval_mean", "approval of the system", 100.0))
WINDOW = 14
MIN_GAP = 0.005  # a smaller gap to the run without the system makes `recovered` noise


def _level(y: np.ndarray, lo: int, hi: int) -> float:
    part = y[max(lo, 0): max(hi, 0)]
    part = part[np.isfinite(part)]
    return float(part.mean()) if part.size else float("nan")


def _without_system(r: RunData) -> bool:
    """Whether the policy was never on in `r`: only such a run gives the level to recover to."""
    on = r.col("policy_enabled")
    return on is not None and not bool(np.nanmax(on, initial=0) > 0)


def _level_on(ref: RunData, metric: str, days: np.ndarray) -> float:
    """`ref`'s mean level over `days` (the other run's window), NaN when it lacks those days."""
    y = ref.col(metric)
    if y is None:
        return float("nan")
    same = np.isin(ref.days, days)
    part = y[same][np.isfinite(y[same])]
    return float(part.mean()) if same.sum() == len(days) and part.size else float("nan")


def recovered(before: float, after: float, ref_before: float, ref_after: float) -> float:
    """The share of the gap to the run without the system that closed after the switch-off.

    Each gap is taken against the run without the system over the same days, before and at
    the end: some measures drift without any system (perceived detection decays), and that
    drift is not recovery. Day 0 is no reference either: the policy is on from day 0. NaN when
    the gap before is under `MIN_GAP`.
    """
    gap_before, gap_after = before - ref_before, after - ref_after
    if not (np.isfinite(gap_before) and np.isfinite(gap_after)) or abs(gap_before) < MIN_GAP:
        return float("nan")
    return 1.0 - gap_after / gap_before


def hysteresis(runs: list[RunData]) -> Panel:
    dismantled = [r for r in runs if r.dismantle_day is not None]
    if not dismantled:
        which = "this run" if len(runs) == 1 else "either run"
        return Panel("hysteresis", "After dismantling",
                     f"The system was never switched off in {which}. To test whether "
                     "the damage reverses, rerun with `--set timeline.dismantle_day=DAY` (a day "
                     "well before the last, so the society has time to recover).")
    fig, axes = new_figure(1, 3, height=3.2)
    others = {r.key: next((o for o in runs if o is not r), None) for r in dismantled}
    keys = {o.key for o in others.values() if o is not None}
    other_head = (f"run {next(iter(keys))}" if len(keys) == 1 else "the other run")
    table = [["run", "measure", "day 0", f"{WINDOW} days before dismantling",
              f"last {WINDOW} days", "recovered"]
             + ([f"{other_head}, same {WINDOW} days before", f"{other_head}, same last {WINDOW} days"]
                if keys else [])]
    for ax, (metric, title, scale) in zip(axes, HYSTERESIS, strict=True):
        smoothed = metric == "chilling"
        lines(ax, runs, metric, scale=scale, smoothed=smoothed)
        for r in dismantled:
            d, y = r.dismantle_day, r.col(metric)  # levels from the raw daily values
            days = r.days
            k = int(np.searchsorted(days, d))
            before, after = _level(y, k - WINDOW, k), _level(y, len(y) - WINDOW, len(y))
            start = _level(y, 0, 7 if smoothed else 1)
            ax.hlines(before * scale, days[max(k - WINDOW, 0)], days[k - 1], color="#000000",
                      lw=2.4)
            ax.hlines(after * scale, days[max(len(y) - WINDOW, 0)], days[-1], color="#000000",
                      lw=2.4)
            other = others[r.key]
            ref_before, ref_after = ((float("nan"), float("nan")) if other is None else
                                     (_level_on(other, metric, days[max(k - WINDOW, 0):k]),
                                      _level_on(other, metric, days[max(len(y) - WINDOW, 0):])))
            rec = (recovered(before, after, ref_before, ref_after)
                   if other is not None and _without_system(other) else float("nan"))
            row = [r.key, title, _pct(start), _pct(before), _pct(after),
                   "-" if not np.isfinite(rec) else f"{100 * rec:.0f}%"]
            if keys:
                row += [_pct(ref_before), _pct(ref_after)]
            table.append(row)
        ax.set_title(title)
        percent_axis(ax)
        min_span(ax)
        mark_timeline(ax, runs, phase_labels=False)
        ax.set_xlabel("day")
        if len(runs) > 1:
            legend_below(ax, ncols=1)
    days = ", ".join(f"run {r.key}: day {r.dismantle_day}" for r in dismantled)
    refs = [o for o in others.values() if o is not None and _without_system(o)]
    if refs:
        against = (f" Recovered is the share of the gap to run {refs[0].key} that closed by the "
                   "end; the other run must be one without the system (e.g. a baseline run), as "
                   f"run {refs[0].key} is. Each gap is taken against run {refs[0].key} over the "
                   f"same days, so that its own drift is not counted as recovery: 1 − (last − "
                   f"its last) / (before − its before); 100%: level with the run without the "
                   "system; 0%: the gap is as wide as at the switch-off.")
    else:
        against = (" Give a run without the system with `--compare` (e.g. a baseline run) to "
                   "measure how much of the gap closed." if not keys else
                   " Recovered is measured against a run without the system, and the other run "
                   "had the system on too: `--compare` with a baseline run to measure it.")
    return Panel("hysteresis", "After dismantling: does the damage undo itself?",
                 f"The system was switched off ({days}; dotted line): the blacklist was "
                 "emptied and every gate opened. Black bars show the level over the "
                 f"{WINDOW} days before the switch-off and over the run's last {WINDOW} days. "
                 "Day 0 is not the level without the system: the policy is on from day 0, "
                 "and some measures drift without any system (perceived detection decays)."
                 + against + f" \"-\": not measured (no run without the system, or a gap under "
                 f"{100 * MIN_GAP:g} percentage points). Each panel spans at least "
                 f"{MIN_PCT_SPAN:g} percentage points, so a small dip does not look like a "
                 f"collapse. Chilling is smoothed. {SMOOTHED}",
                 to_svg(fig, "f-hysteresis"), table, label_columns=2)


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.1f}%"


FIGURES = (score_distribution, tiers, blacklist, blacklist_by_group, denials, dissent, approval,
           network, false_attributions, disparate_impact, hysteresis)


def all_panels(runs: list[RunData]) -> list[Panel]:
    import matplotlib as mpl

    with mpl.rc_context(STYLE):  # rc settings are read as artists are made, so hold them
        return [make(runs) for make in FIGURES]
