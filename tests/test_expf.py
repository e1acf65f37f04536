"""The vectorisable `expf` gives the float32 exponential numpy gives, bit for bit.

Why it matters: the tallies' mean approval used numpy's exponential; replacing it must leave
every metric where it was (the golden baselines check the whole run). Here a sample of every
4099th float32 bit pattern (about a million numbers, infinities, NaNs and subnormals among
them) is compared; `python tests/test_expf.py` compares all 2^32 (about a minute).
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from scorestate.expf import expf


@njit(cache=True)
def _ours(x, out):
    for i in range(x.shape[0]):
        out[i] = expf(x[i])


@njit(cache=True)
def _numpy(x, out):
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i])


def _mismatches(x: np.ndarray) -> np.ndarray:
    got, want = np.empty_like(x), np.empty_like(x)
    _ours(x, got)
    _numpy(x, want)
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    return x[~same]


def _patterns(start: int, stop: int, step: int = 1) -> np.ndarray:
    return np.arange(start, stop, step, dtype=np.uint64).astype(np.uint32).view(np.float32)


def test_sample_of_every_float32_matches_numpy() -> None:
    assert _mismatches(_patterns(0, 1 << 32, 4099)).size == 0


def test_edges_and_the_approval_range_match_numpy() -> None:
    edges = np.array([0.0, -0.0, 1e-45, -1e-45, 88.72, 88.73, 89.0, 89.5, -87.3, -103.0, -103.3,
                      -103.98, -104.0, -104.5, 3.4e38, -3.4e38, np.inf, -np.inf, np.nan],
                     np.float32)
    dense = np.linspace(-30.0, 30.0, 2_000_001, dtype=np.float32)  # where approval logits live
    assert _mismatches(np.concatenate([edges, dense])).size == 0


def test_limits() -> None:
    x = np.array([100.0, np.inf, -110.0, -np.inf, np.nan, 0.0], np.float32)
    out = np.empty_like(x)
    _ours(x, out)
    assert np.isposinf(out[0]) and np.isposinf(out[1])
    assert out[2] == 0.0 and out[3] == 0.0
    assert np.isnan(out[4]) and out[5] == 1.0


if __name__ == "__main__":
    bad = 0
    for start in range(0, 1 << 32, 1 << 26):
        wrong = _mismatches(_patterns(start, start + (1 << 26)))
        bad += wrong.size
        if wrong.size:
            print("differ at", wrong[:10])
    print(f"all 2^32 float32 patterns: {bad} differ from numpy's exp")
    sys.exit(1 if bad else 0)
