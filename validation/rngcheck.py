"""Statistical checks of the counter-based streams in `scorestate.rng`.

A draw is a pure function of (seed, day, stream, citizen), so "independence" means: draws
that differ in one coordinate of the key look like independent uniforms. Each check returns a
p-value under that null hypothesis; with fixed keys the p-values are fixed numbers, so a test
that compares them with a small significance level (ALPHA) is deterministic, not flaky.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from scorestate import rng

ALPHA = 1e-4  # significance level of each check (p-values below it fail)


def draws(seed: int, day: int, stream: int, n: int, first: int = 0) -> np.ndarray:
    """Draws of citizens first .. first + n - 1 in one stream on one day."""
    return rng.uniforms(seed, day, stream, np.arange(first, first + n, dtype=np.int64))


def ks_uniform(u: np.ndarray) -> float:
    """Kolmogorov-Smirnov test against U(0, 1)."""
    return float(stats.kstest(u, "uniform").pvalue)


def chi2_uniform(u: np.ndarray, bins: int = 1000) -> float:
    """Chi-square test of equal counts in `bins` equal bins of [0, 1)."""
    counts = np.bincount(np.minimum((u * bins).astype(np.int64), bins - 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


def bits(u: np.ndarray) -> float:
    """Each of the 53 bits of a draw is 1 half the time: the sum over bits of the squared
    standardised counts is chi-square with 53 degrees of freedom (catches weak low bits)."""
    words = (u * 2.0**53).astype(np.uint64)
    n = u.shape[0]
    ones = np.array([int(((words >> np.uint64(b)) & np.uint64(1)).sum()) for b in range(53)])
    z = (ones - n / 2) / np.sqrt(n / 4)
    return float(stats.chi2.sf(float(np.sum(z * z)), 53))


def correlation(u: np.ndarray, v: np.ndarray) -> float:
    """Pearson correlation test of zero correlation."""
    return float(stats.pearsonr(u, v).pvalue)


def pairs(u: np.ndarray, v: np.ndarray, bins: int = 32) -> float:
    """Chi-square test that (u, v) falls equally often in each of bins x bins cells: catches
    dependence that a correlation misses."""
    a = np.minimum((u * bins).astype(np.int64), bins - 1)
    b = np.minimum((v * bins).astype(np.int64), bins - 1)
    counts = np.bincount(a * bins + b, minlength=bins * bins)
    return float(stats.chisquare(counts).pvalue)


def battery(n: int = 1_000_000, seed: int = 20240601) -> list[tuple[str, float]]:
    """Every check on n draws: (name, p-value). The streams, days and citizens compared are
    neighbours in their coordinate, where a weak mixer would show first."""
    day, stream = 3, rng.ALCOHOL
    u = draws(seed, day, stream, n)
    other_stream = draws(seed, day, stream + 1, n)
    next_day = draws(seed, day + 1, stream, n)
    next_seed = draws(seed + 1, day, stream, n)
    half = n // 2
    even, odd = u[0:2 * half:2], u[1:2 * half:2]
    i = np.arange(n, dtype=np.int64)
    j = (i * 7919 + 1) % (4 * n)  # arbitrary partners
    pair = rng.uniforms_pair(seed, day, rng.TIE_SEEK, i, j)
    pair_next = rng.uniforms_pair(seed, day, rng.TIE_SEEK, i, j + 1)
    nz = rng.normals(seed, rng.BUILD, n)
    return [
        ("uniform: Kolmogorov-Smirnov", ks_uniform(u)),
        ("uniform: chi-square, 1000 bins", chi2_uniform(u)),
        ("uniform: each of the 53 bits", bits(u)),
        ("streams s, s+1: correlation", correlation(u, other_stream)),
        ("streams s, s+1: 32x32 pairs", pairs(u, other_stream)),
        ("days d, d+1: correlation", correlation(u, next_day)),
        ("days d, d+1: 32x32 pairs", pairs(u, next_day)),
        ("seeds k, k+1: correlation", correlation(u, next_seed)),
        ("seeds k, k+1: 32x32 pairs", pairs(u, next_seed)),
        ("citizens c, c+1: correlation", correlation(even, odd)),
        ("citizens c, c+1: 32x32 pairs", pairs(even, odd)),
        ("pair draws: uniform (KS)", ks_uniform(pair)),
        ("pair draws (i,j), (i,j+1): 32x32 pairs", pairs(pair, pair_next)),
        ("pair draw vs own draw of i: 32x32 pairs", pairs(pair, u)),
        ("normals: Kolmogorov-Smirnov", float(stats.kstest(nz, "norm").pvalue)),
    ]
