"""Appeals (MODEL.md step 6, optional): reversing penalties that were false attributions.

"Optional appeals reverse false attributions with some probability (what a judge would
change)." A citizen carrying penalty points from acts pinned on them falsely appeals with the
daily appeal rate; an upheld appeal returns those points with today's score, and the blacklist
step then takes the citizen off the list if no entry reason holds without them.

Reads: `false_points`. Writes: `points_today`, `false_points`, `sim.upheld_today`.
Streams: APPEAL, APPEAL_SUCCESS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from scorestate import rng

if TYPE_CHECKING:
    from scorestate.engine import Simulation


def step(sim: Simulation) -> None:
    ap = sim.policy.spec.blacklist.appeals
    s = sim.state
    if not sim.policy.enabled or ap.rate <= 0:
        return
    upheld, returned = _kernel(sim.seed, sim.day, ap.rate, ap.success, s.false_points,
                               s.points_today)
    sim.upheld_today = upheld
    sim.tally["appeals_upheld"] += int(upheld.shape[0])
    sim.ledger.decisions(sim, upheld, "appeal_upheld", points=returned)


@njit(cache=True)
def _kernel(seed, day, rate, success, false_points, points_today):
    """Decide the appeals of everyone carrying false points; return who won and what came back,
    in id order."""
    candidates = _carrying(false_points)
    k_try = rng.stream_key(seed, day, rng.APPEAL)
    k_win = rng.stream_key(seed, day, rng.APPEAL_SUCCESS)
    upheld = np.empty(candidates.shape[0], np.int64)
    returned = np.empty(candidates.shape[0], np.float32)
    k = 0
    for i in candidates:
        if rng.uniform(k_try, i) < rate and rng.uniform(k_win, i) < success:
            points_today[i] -= false_points[i]
            returned[k] = -false_points[i]
            false_points[i] = 0.0
            upheld[k] = i
            k += 1
    return upheld[:k], returned[:k]


@njit
def _carrying(false_points):
    """The citizens with false points, in id order. Counted by a vectorised loop, then marked 64
    at a time in a word (vectorised too) and visited bit by bit: a branch per citizen would
    mispredict wherever the few carriers sit."""
    n = false_points.shape[0]
    count = 0
    for i in range(n):
        count += false_points[np.uint64(i)] < 0
    out = np.empty(count, np.int64)
    at = 0
    for lo in range(0, n, 64):
        marks = np.uint64(0)
        for k in range(lo, min(n, lo + 64)):
            marks |= np.uint64(false_points[np.uint64(k)] < 0) << np.uint64(k - lo)
        while marks:
            out[at] = lo + np.int64(trailing_zeros(marks))
            marks &= marks - np.uint64(1)
            at += 1
    return out
