"""Figures of docs/validation.md: each experiment's engine results drawn over theory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from scipy import stats

from validation import theory
from validation.degroot import Averaging
from validation.granovetter import Riot
from validation.watts import GLOBAL_SHARE

COLOURS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def watts_cascades(frame: pl.DataFrame, path: Path) -> Path:
    """Frequency and size of global cascades against mean degree, one colour per phi."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, phi in enumerate(sorted(set(frame["phi"].to_list()))):
        c = COLOURS[k % len(COLOURS)]
        rows = frame.filter(pl.col("phi") == phi).sort("mean_degree")
        z = rows["mean_degree"].to_numpy()
        zs = np.linspace(0.3, z.max(), 150)
        freq = rows["frequency"].to_numpy()
        err = np.vstack([freq - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - freq])
        left.errorbar(z, freq, yerr=err, fmt="o", ms=3.5, color=c, capsize=2, label=f"engine, φ = {phi:.2f}")
        left.plot(zs, [theory.cascade_frequency(x, phi) for x in zs], color=c, lw=1.2)
        right.plot(z, rows["mean_global_size"].to_numpy(), "o", ms=3.5, color=c)
        size = [theory.cascade_size(x, phi) if theory.cascade_condition(x, phi) > 0 else np.nan for x in zs]
        right.plot(zs, size, color=c, lw=1.2)
    left.set(xlabel="mean degree z (realised)", ylabel=f"share of single seeds listing > {GLOBAL_SHARE:.0%}",
             title="Frequency of global cascades (lines: theory)")
    left.legend(fontsize=8)
    right.set(xlabel="mean degree z (realised)", ylabel="final listed share",
              title="Mean size of global cascades (lines: theory)", ylim=(0, 1.05))
    return _save(fig, path)


def watts_window(frame: pl.DataFrame, path: Path) -> Path:
    """The cascade window in the (z, phi) plane: theory's boundary, the engine's grid."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    # The window depends on phi only through K = floor(1/phi): a staircase, one step per K.
    for k in range(3, 21):
        w = theory.cascade_window(1.0 / k)
        if w is None:
            continue
        band = [1.0 / (k + 1), 1.0 / k]
        for edge in w:
            ax.plot([edge, edge], band, "k-", lw=1.2)
        if k > 3:
            up = theory.cascade_window(1.0 / (k - 1))
            if up is not None:
                ax.plot([up[1], w[1]], [1.0 / k, 1.0 / k], "k-", lw=1.2)
                ax.plot([up[0], w[0]], [1.0 / k, 1.0 / k], "k-", lw=1.2)
    ax.plot([], [], "k-", lw=1.2, label="cascade condition (theory)")
    hit = frame.filter(pl.col("global") > 0)
    miss = frame.filter(pl.col("global") == 0)
    sc = ax.scatter(hit["mean_degree"], hit["phi"], c=hit["frequency"], cmap="viridis", vmin=0, vmax=1,
                    s=28, label="engine: global cascades seen")
    ax.scatter(miss["mean_degree"], miss["phi"], facecolors="none", edgecolors="grey", s=28,
               label="engine: none")
    fig.colorbar(sc, ax=ax, label="frequency")
    ax.set(xlabel="mean degree z (realised)", ylabel="threshold φ", title="Cascade window", xlim=(0, 17),
           ylim=(0.045, 0.28))
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def degroot(runs: Sequence[tuple[str, Averaging]], path: Path) -> Path:
    """Distance to the degree-weighted mean over days: the engine against W^t x(0) in float64."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, (label, r) in enumerate(runs):
        c = COLOURS[k % len(COLOURS)]
        days = np.arange(1, r.days + 1)
        ax.semilogy(days, np.maximum(r.distance, 1e-9), color=c, lw=1.5, label=f"engine: {label}")
        ax.semilogy(days, np.maximum(r.exact, 1e-9), "--", color="k", lw=0.9,
                    label=f"theory: W^t x(0) in float64 (rate ρ = {r.rate:.3f})")
    ulp = max(r.target for _, r in runs) * 2.0**-23
    ax.axhline(ulp, color="grey", ls=":", lw=0.8, label="one float32 ulp of the score")
    ax.set(xlabel="day", ylabel="max |score − π·x(0)|", ylim=(1e-6, 1e3),
           title="DeGroot averaging: distance to the degree-weighted mean")
    ax.legend(fontsize=8)
    return _save(fig, path)


def granovetter(runs: Sequence[tuple[str, Riot, np.ndarray]], path: Path) -> Path:
    """Rioters over days: the engine against the synchronous threshold recursion."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, (label, r, thresholds) in enumerate(runs):
        c = COLOURS[k % len(COLOURS)]
        days = np.arange(r.daily.shape[0])
        ax.plot(days, r.daily, "o", ms=3, color=c, label=f"engine: {label}")
        ax.plot(days, theory.granovetter_daily(thresholds, days.shape[0]), "-", color=c, lw=1,
                label="theory")
    ax.set(xlabel="day", ylabel="rioters (listed)", title="Granovetter's riot, 100 citizens")
    ax.legend(fontsize=8)
    return _save(fig, path)


def rng_pvalues(pvalues: Sequence[float], path: Path) -> Path:
    """Sorted p-values of the battery over many keys against the uniform quantiles."""
    p = np.sort(np.asarray(pvalues))
    q = (np.arange(1, p.shape[0] + 1) - 0.5) / p.shape[0]
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    ax.plot(q, p, "o", ms=3)
    ax.plot([0, 1], [0, 1], "k-", lw=1)
    ks = stats.kstest(p, "uniform").pvalue
    ax.set(xlabel="uniform quantile", ylabel="p-value", title=f"{p.shape[0]} p-values (KS p = {ks:.2f})")
    return _save(fig, path)


def crn(table: pl.DataFrame, path: Path) -> Path:
    """Variance reduction per metric (log scale; metrics identical under pairing drawn at the top)."""
    rows = table.filter(pl.col("variance_reduction").is_finite())
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * rows.height + 1.5))
    ax.barh(rows["metric"].to_list(), rows["variance_reduction"].to_numpy())
    ax.axvline(1, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set(xlabel="var(independent) / var(paired)", title="Variance saved by common random numbers")
    return _save(fig, path)
