"""Bit-mask helpers for the kernels: the day's events and services are bits of small integers."""

from __future__ import annotations

import numpy as np
from numba import njit

# The index of a single set bit b (below 36) is BIT_INDEX[b % 37]: 2^k mod 37 differs for each k.
BIT_INDEX = np.zeros(37, np.int64)
for _k in range(36):
    BIT_INDEX[(1 << _k) % 37] = _k


@njit(inline="always")
def popcount(x):
    """Number of set bits (masks are sparse: a loop per set bit beats a table here)."""
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c
