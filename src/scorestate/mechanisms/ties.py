"""Social adaptation (MODEL.md step 8): ties dropped and sought because of tiers.

"Where association is scored, citizens drop ties to low-tier neighbours and seek high-tier
ones ('to maintain a high score, you must surround yourself with the obedient')." Without the
system ties still churn: a citizen now and then replaces a tie by a new one in the region.

Decisions are drawn per citizen from its own streams (in parallel) and the few changes are
applied in citizen-id order, so the result does not depend on threads. A tie is made only if
both citizens have a free slot.

Reads: `tier`, `care`, graph. Writes: graph (`degree`, `nbrs`).
Streams: TIE_DROP, TIE_DROP_PICK, TIE_SEEK, TIE_SEEK_PICK, TIE_CHURN, TIE_CHURN_PICK,
TIE_CHURN_NEW.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate import rng
from scorestate.network import add_tie, drop_tie

if TYPE_CHECKING:
    from scorestate.engine import Simulation

SEEK_TRIES = 4


def step(sim: Simulation) -> None:
    p, g, c, s = sim.policy, sim.graph, sim.citizens, sim.state
    a = p.spec.association
    active = p.association_active
    churn = sim.scenario.network.churn
    if not active and churn <= 0:
        return
    flags = sim.scratch.get("tie_decisions")
    if flags is None or flags.shape[0] != sim.n:
        flags = sim.scratch["tie_decisions"] = np.empty(sim.n, np.uint8)
    _decide(sim.seed, sim.day, c.care, active, a.drop_rate, a.seek_rate, churn, flags)
    dropped, made = _apply(sim.seed, sim.day, flags, g.start, g.degree, g.nbrs, s.tier,
                           c.region, c.region_start, p.low_tier, p.high_tier)
    sim.tally["ties_dropped"] += dropped
    sim.tally["ties_made"] += made


DROP, SEEK, CHURN = 1, 2, 4
CHUNK = 16384


@njit(parallel=True, cache=True)
def _decide(seed, day, care, active, drop_rate, seek_rate, churn, flags):
    """Who considers a change today: each citizen's own draws, in parallel (they read no ties)."""
    k_drop = rng.stream_key(seed, day, rng.TIE_DROP)
    k_seek = rng.stream_key(seed, day, rng.TIE_SEEK)
    k_churn = rng.stream_key(seed, day, rng.TIE_CHURN)
    n = care.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            f = 0
            if active:
                if drop_rate > 0 and rng.uniform(k_drop, i) < drop_rate * care[i]:
                    f |= DROP
                if seek_rate > 0 and rng.uniform(k_seek, i) < seek_rate * care[i]:
                    f |= SEEK
            if churn > 0 and rng.uniform(k_churn, i) < churn:
                f |= CHURN
            flags[i] = f


@njit(cache=True)
def _apply(seed, day, flags, start, degree, nbrs, tier, region, region_start, low_tier, high_tier):
    """The few changes, one citizen after another in id order (a change alters later choices)."""
    k_drop_pick = rng.stream_key(seed, day, rng.TIE_DROP_PICK)
    k_seek_pick = rng.stream_key(seed, day, rng.TIE_SEEK_PICK)
    k_churn_pick = rng.stream_key(seed, day, rng.TIE_CHURN_PICK)
    k_churn_new = rng.stream_key(seed, day, rng.TIE_CHURN_NEW)
    dropped = 0
    made = 0
    for i in range(flags.shape[0]):
        f = flags[i]
        if f == 0:
            continue
        lo = region_start[region[i]]
        size = region_start[region[i] + 1] - lo
        if f & DROP:
            low = 0
            for k in range(start[i], start[i] + degree[i]):
                low += tier[nbrs[k]] <= low_tier
            if low > 0:
                pick = rng.below(k_drop_pick, i, low)
                for k in range(start[i], start[i] + degree[i]):
                    if tier[nbrs[k]] <= low_tier:
                        if pick == 0:
                            drop_tie(start, degree, nbrs, i, nbrs[k])
                            dropped += 1
                            break
                        pick -= 1
        if f & SEEK:
            for t in range(SEEK_TRIES):
                j = lo + rng.below(k_seek_pick, i * SEEK_TRIES + t, size)
                if j != i and tier[j] >= high_tier:
                    if add_tie(start, degree, nbrs, i, j):
                        made += 1
                    break
        if f & CHURN and degree[i] > 0:
            j = nbrs[start[i] + rng.below(k_churn_pick, i, degree[i])]
            drop_tie(start, degree, nbrs, i, j)
            dropped += 1
            if add_tie(start, degree, nbrs, i, lo + rng.below(k_churn_new, i, size)):
                made += 1
    return dropped, made
