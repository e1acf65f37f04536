"""The variance that common random numbers save when two policies are compared.

`scorestate.analysis.compare` runs A and B on the same seeds (paired: same citizens, same
network, same draw for every decision) and B again on independent seeds. The ratio
var(B_independent - A) / var(B - A) over replicates is the factor by which pairing cuts the
variance of the estimated effect, i.e. how many times more independent replicates the same
precision would need.
"""

from __future__ import annotations

import polars as pl

from scorestate.analysis.compare import Comparison, compare
from scorestate.scenario.load import load_scenario


def measure(a: str = "baseline", b: str = "essay", *, population: int = 2000, days: int = 120,
            replicates: int = 10, seed: int = 0) -> Comparison:
    """Compare preset `b` with preset `a` (paired and independent) at a small size."""
    sa = load_scenario(a, population=population, days=days)
    sb = load_scenario(b, population=population, days=days)
    return compare(sa, sb, replicates=replicates, seed=seed)


def table(result: Comparison) -> pl.DataFrame:
    """Per metric: the paired effect, both variances, their ratio, and whether the metric
    varies under A at all (where A is constant over seeds, e.g. scores without a system,
    pairing has nothing to cancel and the ratio is 1 up to noise). Metrics that vary under
    neither design are left out."""
    spread = (result.replicates_frame.group_by("metric")
              .agg(pl.col("a").var().alias("var_a"), pl.col("b").var().alias("var_b")))
    return (result.metrics.join(spread, on="metric")
            .filter(pl.col("var_independent").is_not_nan() & (pl.col("var_independent") > 0))
            .with_columns(a_varies=pl.col("var_a") > 0)
            .select("metric", "a_varies", "difference", "ci_low", "ci_high", "var_paired",
                    "var_independent", "variance_reduction")
            .sort(["a_varies", "variance_reduction"], descending=True))


def median_reduction(frame: pl.DataFrame) -> float:
    """Median variance reduction over the metrics that vary under A (infinite ones included)."""
    r = frame.filter(pl.col("a_varies"))["variance_reduction"]
    return float(r.median()) if r.len() else float("nan")
