"""Plotting helpers for the report: one run's series, a quiet style, figures as inline SVG.

Figures are matplotlib `Figure` objects made without pyplot, so no display and no GUI backend is
ever involved (and a notebook's own backend is left alone); each is saved as SVG and inlined
into the page, so the report opens offline and makes no request. Text stays text in the SVG
(`svg.fonttype: none`), which keeps files small and lets a reader search the page.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from scorestate.store import StoredRun

COLORS = ("#1f4e79", "#c0504d")  # run A, run B
STYLES = ("-", "--")
GROUP_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
STYLE = {
    "svg.fonttype": "none", "svg.hashsalt": "scorestate", "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"], "font.size": 9,
    "axes.titlesize": 10, "axes.titleweight": "bold", "axes.titlelocation": "left",
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.color": "#e6e6e6", "grid.linewidth": 0.6, "axes.edgecolor": "#888888",
    "legend.frameon": False, "legend.fontsize": 8, "lines.linewidth": 1.6,
    "axes.axisbelow": True, "figure.dpi": 100, "savefig.bbox": "tight", "savefig.pad_inches": 0.08,
}
SMOOTH_DAYS = 7


@dataclass
class RunData:
    """What the figures read of one stored run."""

    key: str  # "A" or "B"
    stored: StoredRun
    color: str
    style: str
    metrics: pl.DataFrame = field(init=False)
    groups: pl.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = self.stored.metrics
        self.groups = self.stored.group_metrics

    @property
    def label(self) -> str:
        r = self.stored.record
        return f"{self.key}: {r.scenario_name} ({r.run_id})"

    @property
    def short(self) -> str:
        return f"{self.key}: {self.stored.record.scenario_name}"

    @property
    def days(self) -> np.ndarray:
        return self.metrics["day"].to_numpy()

    def col(self, name: str) -> np.ndarray | None:
        """A daily metric as floats (None when this run has no such column)."""
        if name not in self.metrics.columns:
            return None
        return self.metrics[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    def has(self, name: str) -> bool:
        return name in self.metrics.columns

    @property
    def dismantle_day(self) -> int | None:
        """The first day the policy is off after having been on (from `policy_enabled`)."""
        on = self.col("policy_enabled")
        if on is None:
            return None
        falls = np.flatnonzero((on[:-1] == 1) & (on[1:] == 0))
        return int(self.days[falls[0] + 1]) if falls.size else None

    @property
    def phases(self) -> list[tuple[int, str]]:
        timeline = self.stored.record.scenario.get("timeline", {}) or {}
        return sorted((int(p.get("day", 0)), str(p.get("name", "phase")))
                      for p in timeline.get("phases", []) or [])

    def group(self, grouping: str, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{group: (days, values)} of one group metric."""
        g = self.groups.filter(pl.col("grouping") == grouping)
        out = {}
        for name in g["group"].unique(maintain_order=True).to_list():
            rows = g.filter(pl.col("group") == name)
            out[name] = (rows["day"].to_numpy(),
                         rows[metric].cast(pl.Float64).fill_null(np.nan).to_numpy())
        return out


def smooth(y: np.ndarray, days: int = SMOOTH_DAYS) -> np.ndarray:
    """Centred moving mean over `days` (NaN-aware; shorter at the edges)."""
    if y.size < 3 or days <= 1:
        return y
    ok = np.isfinite(y)
    k = np.ones(days)
    num = np.convolve(np.where(ok, y, 0.0), k, mode="same")
    den = np.convolve(ok.astype(float), k, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def new_figure(rows: int = 1, cols: int = 1, height: float = 3.2,
               width: float = 9.0) -> tuple[Figure, np.ndarray]:
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(width, height * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.ravel()


def mark_timeline(ax: Axes, runs: list[RunData], label: bool = True,
                  phase_labels: bool | None = None) -> None:
    """Thin lines at phase changes (run A) and the dismantling day of each run."""
    phase_labels = label if phase_labels is None else phase_labels
    a = runs[0]
    lo, hi = min(r.days[0] for r in runs), max(r.days[-1] for r in runs)
    ax.set_xlim(lo, max(hi, lo + 1))
    top = ax.get_ylim()[1]
    for day, name in a.phases:
        if 0 < day <= a.days[-1]:
            ax.axvline(day, color="#bbbbbb", lw=0.8, zorder=0)
            if phase_labels:
                ax.text(day, top, f" {name}", fontsize=7, color="#777777", va="top", ha="left",
                        rotation=0, clip_on=True)
    seen = set()
    for r in runs:
        d = r.dismantle_day
        if d is None or d in seen:
            continue
        seen.add(d)
        ax.axvline(d, color="#333333", lw=1.0, ls=":", zorder=1)
        if label:
            who = "" if len(runs) == 1 else f" ({r.key})"
            ax.text(d, top, f" dismantled{who}", fontsize=7, color="#333333", va="top",
                    ha="left", clip_on=True)


def lines(ax: Axes, runs: list[RunData], metric: str, *, scale: float = 1.0, label: str = "",
          color: str | None = None, smoothed: bool = False, lw: float | None = None) -> bool:
    """One daily metric of every run on `ax` (A solid, B dashed). False if no run has it."""
    drawn = False
    for r in runs:
        y = r.col(metric)
        if y is None:
            continue
        y = smooth(y) if smoothed else y
        name = label if len(runs) == 1 else f"{label} ({r.key})" if label else r.short
        ax.plot(r.days, y * scale, color=color or r.color, ls=r.style, lw=lw, label=name or None)
        drawn = True
    return drawn


def note(ax: Axes, text: str) -> None:
    """A message in an empty panel (e.g. nobody was blacklisted)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="#666666", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))


def to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an inline <svg> element with ids made unique to this figure."""
    buf = io.StringIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{prefix}-\1"', text)
    text = re.sub(r'<metadata>.*?</metadata>', "", text, flags=re.S)
    return text.replace("<svg ", '<svg role="img" ', 1)


def legend(ax: Axes, **kw: Any) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(**kw)
