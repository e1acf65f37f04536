"""What the page draws: the report's figures, headline numbers, and the difference B - A.

The figures of one run (or of A with B overlaid) are those of `scorestate report`, drawn by
`scorestate.report.figures` from the stored runs, so the page and the report show the same
thing and read the same way. The page adds what a report has no place for: the last day's
headline numbers, the paired difference B - A day by day, and a citizen's score over time.
Everything is drawn on matplotlib `Figure`s (no pyplot) as SVG, which the page shows as images:
nothing is fetched from anywhere.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import polars as pl

from scorestate.report.figures import Panel, all_panels
from scorestate.report.plotting import COLORS, STYLES, RunData, new_figure, smooth, to_svg
from scorestate.store import StoredRun

# matplotlib's rc settings are process-wide: two sessions drawing at once must not mix them
DRAWING = threading.Lock()


ROUNDOFF = 1e-12  # metrics are shares and means of thousands: a smaller difference is round-off


@dataclass(frozen=True)
class Headline:
    """One number of the last day: the metric's column, a short name, and how to print it."""

    column: str
    label: str
    kind: str = "percent"  # "percent" of a share, "points", "correlation" or "ratio"

    def text(self, value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return "undefined"
        if self.kind == "percent":
            return f"{100 * value:.2f}%"
        if self.kind == "points":
            return f"{value:,.1f}"
        if self.kind == "ratio":
            return f"{value:.2f}"
        return f"{value:+.3f}"

    def difference(self, value: float | None) -> str:
        """A difference B - A in the metric's unit: percentage points for a share; "0" for one
        within round-off, and as many decimals as a small one needs (never 1e-06)."""
        if value is None or not math.isfinite(value):
            return "-"
        if abs(value) < ROUNDOFF:
            return "0"
        scale, decimals, unit = {"percent": (100, 2, " pp"), "points": (1, 1, ""),
                                 "ratio": (1, 2, "")}.get(self.kind, (1, 3, ""))
        return _signed(scale * value, decimals) + unit


def _signed(x: float, decimals: int) -> str:
    """x with a sign and `decimals` decimals, or the two significant digits it would round away."""
    if round(x, decimals) == 0:
        decimals = 1 - math.floor(math.log10(abs(x)))
    return f"{x:+,.{decimals}f}"


METRICS = {h.column: h for h in (
    Headline("approval_mean", "approve of the system"),
    Headline("blacklist_share", "on the blacklist"),
    Headline("innocent_blacklisted_share", "of the listed never broke a rule"),
    Headline("penalised_share", "penalised on the last day"),
    Headline("chilling", "of would-be dissent held back"),
    Headline("false_attribution_share", "of penalties hit the wrong person"),
    Headline("wallet_frozen_share", "wallets shut"),
    Headline("score_mean", "mean score", "points"),
    Headline("score_assortativity", "score correlation across ties", "correlation"),
    # the rest of the comparison's metrics (scorestate.metrics.HEADLINE)
    Headline("dissent_rate", "voiced dissent on the last day"),
    Headline("dissent_latent_rate", "would have voiced dissent without the incentives"),
    Headline("alcohol_rate", "bought alcohol on the last day"),
    Headline("alcohol_latent_rate", "would have bought alcohol without the incentives"),
    Headline("denied_share", "refused a service they tried on the last day"),
    Headline("health_compliance_rate", "up to date with their doses"),
    Headline("cross_tier_tie_share", "of ties join citizens of different tiers"),
    Headline("blacklisted_degree_ratio", "ties of the listed, as a multiple of everyone's mean", "ratio"),
    Headline("perceived_mean", "perceived chance of being caught (mean)"),
)}
HEADLINES = tuple(METRICS[c] for c in (
    "approval_mean", "blacklist_share", "innocent_blacklisted_share", "penalised_share", "chilling",
    "false_attribution_share", "wallet_frozen_share", "score_mean", "score_assortativity"))
NOBODY_LISTED = "nobody is listed"


def metric(column: str) -> Headline:
    """How the page names and prints a metric (its column name, as a share, for one it has no label for)."""
    return METRICS.get(column) or Headline(column, column.replace("_", " "))


def undefined_today(metrics: pl.DataFrame, column: str) -> str | None:
    """Why a metric's last-day value means nothing (None: it means what it says). The innocent
    share of an empty list is 0 by convention, not news."""
    if column in ("innocent_blacklisted_share", "blacklisted_degree_ratio") and not last(metrics,
                                                                                         "blacklist_share"):
        return NOBODY_LISTED
    return None


# The metrics whose daily difference B - A the comparison draws: (column, title, scale, unit, smoothed)
DIFFERENCES = (
    ("approval_mean", "approval", 100, "percentage points", False),
    ("blacklist_share", "on the blacklist", 100, "percentage points", False),
    ("penalised_share", "penalised that day", 100, "percentage points", True),
    ("dissent_rate", "dissent voiced that day", 100, "percentage points", True),
    ("score_mean", "mean score", 1, "points", False),
    ("score_assortativity", "score correlation across ties", 1, "", False),
)


def last(metrics: pl.DataFrame, column: str) -> float | None:
    """A metric's value on the last day (None where the run has no such column or no day)."""
    if column not in metrics.columns or metrics.height == 0:
        return None
    value = metrics[column][-1]
    return None if value is None else float(value)


def run_panels(*runs: StoredRun) -> list[Panel]:
    """The report's figures for run A (and B, dashed, when two are given)."""
    data = [RunData(key, stored, COLORS[k], STYLES[k])
            for k, (key, stored) in enumerate(zip("AB", runs, strict=False))]
    with DRAWING:
        return all_panels(data)


def difference_panel(a: pl.DataFrame, b: pl.DataFrame) -> Panel:
    """B - A day by day for a few key metrics: with the same seed, zero where the policies agree."""
    import matplotlib as mpl

    from scorestate.report.plotting import STYLE

    days = a["day"].to_numpy()
    with DRAWING, mpl.rc_context(STYLE):
        fig, axes = new_figure(2, 3, height=2.4)
        for ax, (column, title, scale, unit, smoothed) in zip(axes, DIFFERENCES, strict=True):
            diff = _series(b, column) - _series(a, column)
            shown = smooth(diff) if smoothed else diff
            ax.axhline(0, color="#888888", lw=0.8)
            if smoothed:
                ax.plot(days, diff * scale, color="#bbbbbb", lw=0.7)
            ax.plot(days, shown * scale, color=COLORS[1])
            ax.set_title(title + ("*" if smoothed else ""))
            ax.set_ylabel(unit)
            ax.set_xlabel("day")
            if not np.any(np.nan_to_num(diff)):  # identical policies: a flat zero on a plain axis
                ax.set_ylim(-1, 1)
        svg = to_svg(fig, "f-difference")
    return Panel("difference", "Policy B minus policy A, day by day",
                 "Each line is B's value minus A's on the same day, for the same citizens and the "
                 "same random draws (common random numbers): where the two policies act alike the "
                 "line sits on zero, so every departure is the policies' doing, not luck. Daily "
                 "rates (*) are noisy: their thick line is the trailing 7-day mean, the thin grey "
                 "line the day's value.", svg)


def score_panel(scores: list[float], days: int) -> Panel:
    """A citizen's score at the end of each day."""
    import matplotlib as mpl

    from scorestate.report.plotting import STYLE

    with DRAWING, mpl.rc_context(STYLE):
        fig, (ax,) = new_figure(height=2.2)
        ax.plot(np.arange(len(scores)), scores, color=COLORS[0])
        ax.set_xlim(0, max(days - 1, 1))
        ax.set_xlabel("day")
        ax.set_ylabel("score")
        svg = to_svg(fig, "f-citizen")
    return Panel("citizen-score", "Score at the end of each day", "", svg)


def _series(frame: pl.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(frame.height, np.nan)
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
