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
    """Per metric that varies under both policies: the paired effect, both variances, their
    ratio with the command's approximate 95% range, and its status. A metric constant under A
    or B (scores without a system, say) is left out: pairing has nothing to cancel there, and
    `compare` estimates no ratio for it (status `one_side_constant`)."""
    return (result.metrics
            .filter(pl.col("variance_reduction_status").is_in(["measured", "infinite"]))
            .select("metric", "variance_reduction_status", "difference", "ci_low", "ci_high", "var_paired",
                    "var_independent", "variance_reduction", "variance_reduction_low",
                    "variance_reduction_high")
            .sort("variance_reduction", descending=True))


def median_reduction(result: Comparison) -> float:
    """The command's median: over the measured ratios (infinite ones left out)."""
    return result.median_variance_reduction
