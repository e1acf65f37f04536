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
# without a gate, dissent channel and decision, debt, 9 plain services), surveillance (camera
# false match, classifier false positive) and ties (drop, seek, churn). Draws that only some
# citizens need (a due dose, an apology while listed, an act's sources) come on top.
DRAWS_PER_CITIZEN = 3 + 3 + 2 + 1 + 9 + 2 + 3


# Each parallel loop hands a chunk to a plain function that indexes with unsigned integers, as
# the engine's kernels do: inside `prange` numba guards every read against negative-index
# wraparound, which keeps LLVM from vectorising; the floor must be the best this machine does.
@njit(parallel=True, cache=True)
def _touch(arrays, which: np.ndarray, first: np.ndarray, flip: np.uint64) -> np.uint64:
    """Read and write back every word of every array in place, one work item (a chunk of one
    array) per parallel iteration; flip is 0, so the bytes stay what they were."""
    acc = np.zeros(which.shape[0], np.uint64)
    for w in prange(which.shape[0]):
        acc[w] = _touch_chunk(arrays[which[w]], first[w], flip)
    return acc.sum()


@njit
def _touch_chunk(data: np.ndarray, first: int, flip: np.uint64) -> np.uint64:
    a = np.uint64(0)
    for k in range(np.uint64(first), np.uint64(min(data.shape[0], first + CHUNK))):
        v = data[k] ^ flip
        data[k] = v
        a += v
    return a


@njit(parallel=True, cache=True)
def _sparse_product(start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> None:
    """y_i = sum of x over i's neighbours: one visit per directed tie."""
    n = degree.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        _sparse_rows(c * CHUNK, min(n, (c + 1) * CHUNK), start, degree, nbrs, x, y)


@njit
def _sparse_rows(lo: int, hi: int, start: np.ndarray, degree: np.ndarray, nbrs: np.ndarray,
                 x: np.ndarray, y: np.ndarray) -> None:
    for i in range(np.uint64(lo), np.uint64(hi)):
        s = np.float32(0.0)
        b = np.uint64(start[i])
        for k in range(b, b + np.uint64(degree[i])):
            s += x[np.uint64(nbrs[k])]
        y[i] = s


@njit(parallel=True, cache=True)
def _draws(seed: int, day: int, n: int, per_citizen: int, p: float) -> int:
    """per_citizen independent draws for each citizen, each compared with a probability."""
    n_chunks = (n + CHUNK - 1) // CHUNK
    hits = np.zeros(n_chunks, np.int64)
    for c in prange(n_chunks):
        h = 0
        for s in range(per_citizen):
            h += _draw_chunk(rng.stream_key(seed, day, s), c * CHUNK, min(n, (c + 1) * CHUNK), p)
        hits[c] = h
    return hits.sum()


@njit
def _draw_chunk(key: np.uint64, lo: int, hi: int, p: float) -> int:
    h = 0
    for i in range(np.uint64(lo), np.uint64(hi)):
        h += rng.uniform(key, i) < p
    return h


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
