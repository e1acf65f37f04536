"""What a sweep's runs say: each point's mean over seeds, and the design's sensitivity indices.

Each point's outputs are averaged over its seeds (the same seeds at every point: common random
numbers) with a 95% t-interval. A Sobol' design gives, per output and parameter, the first-order
index S1 (the share of the output's variance the parameter explains alone) and the total index
ST (alone and in interaction), each with SALib's 95% bootstrap interval; a Morris design gives
mu* (the mean absolute elementary effect: how much the parameter moves the output) with its
interval and sigma (how much that effect varies: interactions or non-linearity). Both analyse
the per-point means, so replicates lower the noise the indices see.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
from scipy import stats

from scorestate.sweep.design import Sweep

CONFIDENCE = 0.95
RESAMPLES = 1000  # bootstrap resamples for SALib's intervals


def point_means(sweep: Sweep, runs: pl.DataFrame) -> pl.DataFrame:
    """One row per (point, output): the parameters' values, the mean over seeds, its 95%
    t-interval (NaN with a single seed) and the number of seeds where the output was defined."""
    names = [p.path for p in sweep.parameters]
    rows = []
    for (point,), at in runs.group_by("point", maintain_order=True):
        for output in sweep.outputs:
            mean, low, high, n = _t_interval(at[output].to_numpy())
            rows.append((point, output, mean, low, high, n))
    stats_frame = pl.DataFrame(rows, orient="row", schema={
        "point": pl.Int64, "output": pl.String, "mean": pl.Float64, "ci_low": pl.Float64,
        "ci_high": pl.Float64, "seeds": pl.Int64})
    values = runs.group_by("point", maintain_order=True).agg(pl.col(names).first())
    return (stats_frame.join(values, on="point", how="left", maintain_order="left")
            .select("point", *names, "output", "mean", "ci_low", "ci_high", "seeds"))


def _t_interval(x: np.ndarray) -> tuple[float, float, float, int]:
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def indices(sweep: Sweep, means: pl.DataFrame) -> pl.DataFrame | None:
    """The design's sensitivity indices, one row per (output, parameter); None for a grid.

    An output that is undefined at some point, or the same at every point, has no indices
    (NaN): there is no variance to apportion."""
    if sweep.kind == "grid":
        return None
    rows = []
    problem = sweep.problem()
    for output in sweep.outputs:
        y = (means.filter(pl.col("output") == output).sort("point")["mean"].to_numpy()
             .astype(np.float64))
        usable = bool(np.all(np.isfinite(y))) and float(np.ptp(y)) > 0
        found = _analyse(sweep, problem, y) if usable else None
        for i, p in enumerate(sweep.parameters):
            row = {"output": output, "parameter": p.path}
            for key in _COLUMNS[sweep.kind]:
                row[key] = float(found[key][i]) if found is not None else math.nan
            rows.append(row)
    return pl.DataFrame(rows)


_COLUMNS = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"),
            "morris": ("mu_star", "mu_star_conf", "sigma", "mu")}


def _analyse(sweep: Sweep, problem: dict, y: np.ndarray) -> dict:
    # SALib's sobol.analyze reads a seed of 0 as none (`if seed:`) and bootstraps from the global
    # random state, so its intervals would change from one call to the next: never pass it 0
    seed = sweep.seeds[0] + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if sweep.kind == "sobol":
            from SALib.analyze import sobol

            return sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                                 conf_level=CONFIDENCE, seed=seed)
        from SALib.analyze import morris

        return morris.analyze(problem, sweep.samples, y, num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                              num_levels=sweep.levels, seed=seed)
