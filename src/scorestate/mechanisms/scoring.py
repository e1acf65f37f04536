"""Scoring in real time (MODEL.md step 5).

"score += sum of rule points of the day's observed events x enforcement multiplier (by
official rank) - association penalty (a function of the neighbours' tiers or scores: 'if you
associate with low rated individuals your own creditworthiness drops') + drift toward a
baseline (optional); clipped to the scale. Tiers from thresholds."

Association has two forms: a penalty per day times the share of low-tier neighbours, and
DeGroot averaging toward the neighbours' mean score. Both read the start-of-day snapshot in
`nbr_low` / `nbr_score`, so the update is synchronous.

Reads: `points_today` (leniency already applied), neighbour aggregates. Writes: `score`, `tier`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate.mechanisms.neighbours import share_of

if TYPE_CHECKING:
    from scorestate.engine import Simulation


def step(sim: Simulation) -> None:
    s, p = sim.state, sim.policy
    if not p.enabled:
        return
    sc, a = p.spec.scoring, p.spec.association
    before_tier = s.tier.copy()
    before = sim.ledger.score_snapshot(s.score)
    _kernel(s.score, s.tier, s.points_today, s.nbr_low, sim.graph.degree, s.nbr_score, a.penalty,
            a.averaging,
            sc.drift, sc.initial, sc.minimum, sc.maximum, p.tier_bounds)
    changed = np.flatnonzero(before_tier != s.tier)
    sim.tally["tier_changes"] += int(changed.shape[0])
    sim.ledger.score_adjustments(sim, before)
    sim.ledger.decisions(sim, changed, "tier_change", value=s.tier[changed])


@njit(inline="always")
def tier_of(score: float, bounds: np.ndarray) -> int:
    t = 0
    for k in range(1, bounds.shape[0]):
        if score >= bounds[k]:
            t = k
    return t


@njit(parallel=True, cache=True)
def _kernel(score, tier, points_today, nbr_low, degree, nbr_score, penalty, averaging, drift,
            initial, lo, hi, bounds):
    for i in prange(score.shape[0]):
        old = float(score[i])
        new = (old + points_today[i] - penalty * share_of(nbr_low[i], degree[i])
               + averaging * (nbr_score[i] - old) + drift * (initial - old))
        new = min(max(new, lo), hi)
        score[i] = new
        tier[i] = tier_of(new, bounds)


def initial_tiers(score: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    return (np.searchsorted(bounds, score, side="right") - 1).clip(0).astype(np.uint8)
