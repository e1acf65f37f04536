"""Appeals (MODEL.md step 6, optional): reversing penalties that were false attributions.

"Optional appeals reverse false attributions with some probability (what a judge would
change)." A citizen carrying penalty points from acts pinned on them falsely appeals with the
daily appeal rate; an upheld appeal returns those points with today's score.

Reads: `false_points`. Writes: `points_today`, `false_points`. Streams: APPEAL, APPEAL_SUCCESS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scorestate import rng

if TYPE_CHECKING:
    from scorestate.engine import Simulation


def step(sim: Simulation) -> None:
    ap = sim.policy.spec.blacklist.appeals
    s = sim.state
    if not sim.policy.enabled or ap.rate <= 0:
        return
    candidates = np.flatnonzero(s.false_points < 0)
    upheld, returned = _kernel(sim.seed, sim.day, candidates, ap.rate, ap.success,
                               s.false_points, s.points_today)
    sim.tally["appeals_upheld"] += int(upheld.shape[0])
    sim.ledger.decisions(sim, upheld, "appeal_upheld", points=returned)


@njit(cache=True)
def _kernel(seed, day, candidates, rate, success, false_points, points_today):
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
