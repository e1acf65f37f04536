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
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.textpath import text_to_path
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation

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
SMOOTHED = (f"Smoothed lines are trailing {SMOOTH_DAYS}-day means: a day's value is the mean of "
            f"that day and the {SMOOTH_DAYS - 1} before it, so a line moves on the day of its "
            "cause, never before.")
MIN_PCT_SPAN = 5.0  # percentage points: the least a level panel (approval, detection) spans


@dataclass
class RunData:
    """What the figures read of one stored run."""

    key: str  # "A" or "B"
    stored: StoredRun
    color: str
    style: str
    metrics: pl.DataFrame = field(init=False)
    groups: pl.DataFrame = field(init=False)
    tag: str = ""  # after the scenario's name in labels: what tells two runs of one scenario apart

    def __post_init__(self) -> None:
        self.metrics = self.stored.metrics
        self.groups = self.stored.group_metrics

    @property
    def label(self) -> str:
        r = self.stored.record
        return f"{self.key}: {r.scenario_name}{self.tag} ({r.run_id})"

    @property
    def short(self) -> str:
        return f"{self.key}: {self.stored.record.scenario_name}{self.tag}"

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
    """Trailing moving mean over `days`, NaN-aware, as long as `y` (fewer days at the start).

    Trailing, not centred: a day's value depends only on that day and the ones before, so a
    smoothed line never moves before the policy change that causes it. The full convolution's
    first `len(y)` points are exactly those trailing sums, for a series of any length.
    """
    y = np.asarray(y, dtype=float)
    if y.size == 0 or days <= 1:
        return y
    ok = np.isfinite(y)
    k = np.ones(days)
    num = np.convolve(np.where(ok, y, 0.0), k)[: y.size]
    den = np.convolve(ok.astype(float), k)[: y.size]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def new_figure(rows: int = 1, cols: int = 1, height: float = 3.2,
               width: float = 9.0) -> tuple[Figure, np.ndarray]:
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(width, height * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.ravel()


class TimelineLabels(Artist):
    """The names of a panel's timeline marks, laid out when the panel is drawn.

    Placement needs the axes' final size, which constrained layout settles only at draw time: a
    label that would cross the right edge is set to the left of its line instead (so "the smart
    home" is not clipped to "the smart ho"), and one that would overlap an earlier label drops a
    row.
    """

    GAP = 2.0  # points between a line and its label

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[Text] = []
        self.set_in_layout(False)  # inside the axes by construction; not part of the layout
        self.set_zorder(3)

    def add(self, x: float, label: str, color: str) -> None:
        self.texts.append(Text(x, 1.0, label, fontsize=7, color=color, va="top", ha="left",
                               bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.5}))

    def draw(self, renderer: RendererBase) -> None:
        ax = self.axes
        if not self.get_visible() or ax is None:
            return
        box = ax.bbox
        rows: list[list[tuple[float, float]]] = []
        for t in self.texts:
            t.set_figure(ax.figure)
            t.set_clip_path(ax.patch)
            t.set_y(1.0)
            for side in (1, -1):  # right of the line, or left of it when that crosses the edge
                t.set_horizontalalignment("left" if side == 1 else "right")
                t.set_transform(ax.get_xaxis_transform() + ScaledTranslation(
                    side * self.GAP / 72, -self.GAP / 72, ax.figure.dpi_scale_trans))
                ext = t.get_window_extent(renderer)
                if ext.x1 <= box.x1:
                    break
            row = next((k for k, taken in enumerate(rows)
                        if all(ext.x1 < a or ext.x0 > b for a, b in taken)), len(rows))
            if row == len(rows):
                rows.append([])
            rows[row].append((ext.x0 - self.GAP, ext.x1 + self.GAP))
            t.set_y(1.0 - row * (ext.height + self.GAP) / max(box.height, 1.0))
            t.draw(renderer)
        self.stale = False


def mark_timeline(ax: Axes, runs: list[RunData], label: bool = True,
                  phase_labels: bool | None = None) -> None:
    """Thin lines at the phase changes and the dismantling day of every run.

    Both runs' phases are drawn, so a comparison whose run A is the baseline (no phases) still
    shows when run B's policy changed; a phase only one run has is drawn in that run's line
    style and its label names the run.
    """
    phase_labels = label if phase_labels is None else phase_labels
    lo, hi = min(r.days[0] for r in runs), max(r.days[-1] for r in runs)
    ax.set_xlim(lo, max(hi, lo + 1))
    # days: no "day 0.5" on short runs; "auto" fits the ticks to the panel's width, so a narrow
    # panel of 200 days does not run its labels together ("100120140160180")
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    names = TimelineLabels()
    marks: dict[tuple[int, str], list[RunData]] = {}
    for r in runs:
        for day, name in r.phases:
            if 0 < day <= r.days[-1]:
                marks.setdefault((day, name), []).append(r)
    for (day, name), who in sorted(marks.items()):
        only = len(who) < len(runs)
        ax.axvline(day, color="#bbbbbb", lw=0.8, ls=who[0].style if only else "-", zorder=0)
        if phase_labels:
            names.add(day, f"{name} ({who[0].key})" if only else name, "#777777")
    seen = set()
    for r in runs:
        d = r.dismantle_day
        if d is None or d in seen:
            continue
        seen.add(d)
        ax.axvline(d, color="#333333", lw=1.0, ls=":", zorder=1)
        if label:
            names.add(d, "dismantled" + ("" if len(runs) == 1 else f" ({r.key})"), "#333333")
    if names.texts:
        ax.add_artist(names)


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


def note(ax: Axes, text: str, keep_axes: bool = False) -> None:
    """A message in an empty panel (e.g. nobody was blacklisted); `keep_axes` keeps the ticks."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="#666666", wrap=True,
            bbox={"facecolor": "white", "lw": 0, "pad": 2} if keep_axes else None)
    if not keep_axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)


def flat_zero(ax: Axes, runs: list[RunData], *metrics: str, what: str = "none") -> bool:
    """Say so when every run's `metrics` are zero (or undefined) all run long; True if so.

    Matplotlib gives constant data a hairline axis (0 to 0.05%), so a flat zero looks like a
    blank or broken panel; this gives it a 0-to-1 axis and a note such as "none in this run".
    """
    values = [v[np.isfinite(v)] for r in runs for m in metrics if (v := r.col(m)) is not None]
    if not values or any(np.any(v != 0) for v in values):
        return False
    ax.set_ylim(0, 1)
    note(ax, f"{what} in {'this run' if len(runs) == 1 else 'either run'}", keep_axes=True)
    return True


def percent_axis(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))


def _decimals(v: float) -> int:
    text = np.format_float_positional(round(float(v), 6), trim="-")
    return len(text.partition(".")[2])


class Thousands(Formatter):
    """Tick labels with thousands separators, every label of an axis with the same decimals
    ("0.50, 0.75, 1.00", not "0.5, 0.75, 1")."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: list[float]) -> list[str]:
        places = max((_decimals(v) for v in values), default=0)
        return [f"{round(v, places) + 0.0:,.{places}f}".replace("-", "\N{MINUS SIGN}")  # as matplotlib
                for v in values]


def count_axis(ax: Axes, integer: bool = False, axis: str = "y") -> None:
    """Counts with thousands separators, as in the tables ("25,000", not "25000").

    `integer` also keeps ticks on whole numbers, for what cannot be fractional (components,
    entries so far): not 0.2, 0.4 ... on an axis of one component."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    if integer:
        target.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    target.set_major_formatter(Thousands())


HEADROOM = 0.08  # of the axis: room above a series' highest point


def from_zero(ax: Axes) -> None:
    """Start the y axis at 0 with headroom above the data.

    Autoscaling pads by a share of the data's own range, so a series that barely moves
    (a list of 0.44% to 0.47%) touches the top edge once the axis is stretched down to 0.
    """
    top = ax.dataLim.y1 if np.isfinite(ax.dataLim.y1) else 0.0
    hi = ax.get_ylim()[1]
    ax.set_ylim(0, max(hi, top * (1 + HEADROOM)) if top > 0 else hi)


def min_span(ax: Axes, span: float = MIN_PCT_SPAN, floor: float = 0.0,
             ceil: float = 100.0) -> None:
    """Widen a percentage axis to at least `span` points around its data, within [floor, ceil].

    Autoscaling stretches whatever range the data has to the full height, so a 0.9-point dip
    in approval would look like a collapse; a minimum span keeps the drawing honest.
    """
    lo, hi = ax.get_ylim()
    if hi - lo >= span:
        return
    mid = (lo + hi) / 2
    lo = max(floor, mid - span / 2)
    hi = min(ceil, lo + span)
    ax.set_ylim(max(floor, hi - span), hi)


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


def legend_below(ax: Axes, ncols: int = 2) -> None:
    """The panel's legend under its x-axis, outside the plotting area, so it hides no line.

    Call it after the x label is set: the legend drops further to clear the label. It gets at
    most `ncols` columns, fewer when they would be wider than the panel.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    drop = 20 + (13 if ax.get_xlabel() else 0)  # points: the tick labels, then the x label
    below = ax.transAxes + ScaledTranslation(0, -drop / 72, ax.figure.dpi_scale_trans)
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0), bbox_transform=below, borderaxespad=0,
              ncols=_fit_columns(ax, labels, ncols), handlelength=1.8, handletextpad=0.8,
              columnspacing=1.2)


def _fit_columns(ax: Axes, labels: list[str], ncols: int) -> int:
    """The most legend columns, up to `ncols`, whose width fits under the panel.

    A legend wider than its panel makes constrained layout widen that column of panels, and
    the squeezed neighbours' titles then run into each other.
    """
    prop = FontProperties(size=mpl.rcParams["legend.fontsize"])
    em = prop.get_size_in_points()
    widths = [text_to_path.get_text_width_height_descent(s, prop, ismath=False)[0]
              for s in labels]
    spec = ax.get_subplotspec()
    share = 1.0 if spec is None else len(spec.colspan) / spec.get_gridspec().ncols
    room = ax.figure.get_figwidth() * 72 * share - 70  # points, less the y-axis decorations
    for n in range(min(ncols, len(labels)), 1, -1):
        columns = np.array_split(np.array(widths), n)  # how matplotlib fills the columns
        if sum(c.max() + 2.6 * em for c in columns) + (n - 1) * 1.2 * em <= room:
            return n
    return 1
