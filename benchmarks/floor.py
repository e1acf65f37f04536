"""The floor: the irreducible work of a day, as three bare kernels.

A day has to touch every citizen's state at least once, visit every tie at least once (the
neighbour aggregates are a sparse product over the network), and make the random draws its
decisions need. Each kernel below does exactly that and nothing else, with the engine's
counter-based generator and its thread layout (fixed chunks, `prange` over chunks); the day's
cost over the sum of the three is the ratio the benchmark reports.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, prange
from numba.typed import List

from scorestate import rng

CHUNK = 16384

# Per-citizen draws of an essay day once every phase is on: behaviour (3 purchases, 3 acts
# without a gate, dissent channel and decision, debt, 8 plain services), surveillance (camera
# false match, classifier false positive) and ties (drop, seek, churn). Draws that only some
# citizens need (a due dose, an apology while listed, an act's sources) come on top.
DRAWS_PER_CITIZEN = 3 + 3 + 2 + 1 + 8 + 2 + 3


@njit(parallel=True, cache=True)
def _touch(arrays, which: np.ndarray, first: np.ndarray, flip: np.uint64) -> np.uint64:
    """Read and write back every word of every array in place, one work item (a chunk of one
    array) per parallel iteration; flip is 0, so the bytes stay what they were."""
    acc = np.zeros(which.shape[0], np.uint64)
    for w in prange(which.shape[0]):
        data = arrays[which[w]]
        a = np.uint64(0)
        for k in range(first[w], min(data.shape[0], first[w] + CHUNK)):
            v = data[k] ^ flip
            data[k] = v
            a += v
        acc[w] = a
    return acc.sum()


@njit(parallel=True, cache=True)
def _sparse_product(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> None:
    """y_i = sum of x over i's neighbours: one visit per directed tie."""
    n = degree.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            s = np.float32(0.0)
            for k in range(start[i], start[i] + degree[i]):
                s += x[nbrs[k]]
            y[i] = s


@njit(parallel=True, cache=True)
def _draws(seed: int, day: int, n: int, per_citizen: int, p: float) -> int:
    """per_citizen independent draws for each citizen, each compared with a probability."""
    n_chunks = (n + CHUNK - 1) // CHUNK
    hits = np.zeros(n_chunks, np.int64)
    for c in prange(n_chunks):
        h = 0
        for s in range(per_citizen):
            key = rng.stream_key(seed, day, s)
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                h += rng.uniform(key, i) < p
        hits[c] = h
    return hits.sum()


def _best(fn, repeats: int) -> float:
    fn()  # compile or load from the cache
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(arrays: list[np.ndarray], start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray,
            score: np.ndarray, repeats: int = 5) -> dict[str, float]:
    """Seconds (best of `repeats`) for each floor kernel over a simulation's own arrays, in place."""
    n = degree.shape[0]
    # each array as 8-byte words, in place (the last few bytes of an odd-sized array are skipped)
    views = List([np.ascontiguousarray(a).reshape(-1).view(np.uint8)[: a.nbytes // 8 * 8].view(np.uint64)
                  for a in arrays if a.nbytes >= 8])
    items = [(k, lo) for k, v in enumerate(views) for lo in range(0, v.shape[0], CHUNK)]
    which = np.array([k for k, _ in items], np.int64)
    first = np.array([lo for _, lo in items], np.int64)
    y = np.empty(n, np.float32)
    x = np.ascontiguousarray(score, dtype=np.float32)

    def state_pass() -> None:
        _touch(views, which, first, np.uint64(0))

    out = {
        "state_pass_s": _best(state_pass, repeats),
        "sparse_product_s": _best(lambda: _sparse_product(start, degree, nbrs, x, y), repeats),
        "draws_s": _best(lambda: _draws(1, 0, n, DRAWS_PER_CITIZEN, 0.01), repeats),
    }
    out["floor_s"] = out["state_pass_s"] + out["sparse_product_s"] + out["draws_s"]
    out["state_bytes"] = float(sum(v.nbytes for v in views))
    out["draws_per_citizen"] = float(DRAWS_PER_CITIZEN)
    return out
