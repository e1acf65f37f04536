"""Neighbour aggregates: the day's one pass over the network.

What association scoring, the blacklist's association rules, learning and attitudes need to
know about a citizen's friends: the share listed, the share at or below the low tier, the share
penalised today, and their mean score. Computed from the start-of-day tiers and scores (before
today's scoring), and today's penalties, so every citizen sees the same snapshot whatever the
order of the loop. The same pass tallies the edge sums for score assortativity.

Reads: graph, `score`, `tier`, `blacklisted`, `observed`, `falsely`. Writes: `nbr_*`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

if TYPE_CHECKING:
    from scorestate.engine import Simulation

CHUNK = 16384  # fixed, so per-chunk partial sums and their order do not depend on threads
N_EDGE_TALLIES = 5  # sum s_i, sum s_i^2, sum s_i s_j over directed edges; edges; cross-tier


def step(sim: Simulation) -> None:
    g, s, p = sim.graph, sim.state, sim.policy
    partial = _kernel(g.start, g.degree, g.nbrs, s.score, s.tier, s.blacklisted, s.observed,
                      s.falsely, np.uint32(p.penal_mask), p.low_tier, s.nbr_blacklisted,
                      s.nbr_low, s.nbr_penalised, s.nbr_score)
    sim.tally["edges"] = partial.sum(axis=0)


@njit(parallel=True, cache=True)
def _kernel(start, degree, nbrs, score, tier, blacklisted, observed, falsely, penal_mask,
            low_tier, out_bl, out_low, out_pen, out_score):
    n = degree.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    partial = np.zeros((n_chunks, N_EDGE_TALLIES))
    for c in prange(n_chunks):
        t0 = t1 = t2 = t3 = t4 = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            d = degree[i]
            si = float(score[i])
            if d == 0:
                out_bl[i] = 0.0
                out_low[i] = 0.0
                out_pen[i] = 0.0
                out_score[i] = score[i]
                continue
            bl = 0
            low = 0
            pen = 0
            ssum = 0.0
            cross = 0
            for k in range(start[i], start[i] + d):
                j = nbrs[k]
                bl += blacklisted[j]
                low += tier[j] <= low_tier
                pen += ((observed[j] | falsely[j]) & penal_mask) != 0
                sj = float(score[j])
                ssum += sj
                cross += tier[j] != tier[i]
            out_bl[i] = bl / d
            out_low[i] = low / d
            out_pen[i] = pen / d
            out_score[i] = ssum / d
            t0 += d * si
            t1 += d * si * si
            t2 += si * ssum
            t3 += d
            t4 += cross
        partial[c, 0] = t0
        partial[c, 1] = t1
        partial[c, 2] = t2
        partial[c, 3] = t3
        partial[c, 4] = t4
    return partial


def assortativity(edges: np.ndarray) -> float:
    """Pearson correlation of scores across the ends of ties (Newman 2003), from the tallies."""
    s1, s2, sxy, m, _ = edges
    if m == 0:
        return float("nan")
    mean = s1 / m
    var = s2 / m - mean * mean
    if var <= 1e-12 * max(1.0, mean * mean):
        return float("nan")
    return float((sxy / m - mean * mean) / var)
