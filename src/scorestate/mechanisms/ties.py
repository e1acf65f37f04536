"""Social adaptation (MODEL.md step 8): ties dropped and sought because of tiers.

"Where association is scored, citizens drop ties to low-tier neighbours and seek high-tier
ones ('to maintain a high score, you must surround yourself with the obedient')." Without the
system ties still churn: a citizen now and then replaces a tie by a new one in the region.

Decisions are drawn per citizen from its own streams and applied in citizen-id order, so the
result does not depend on threads. A tie is made only if both citizens have a free slot.

Reads: `tier`, `care`, graph. Writes: graph (`degree`, `nbrs`).
Streams: TIE_DROP, TIE_DROP_PICK, TIE_SEEK, TIE_SEEK_PICK, TIE_CHURN, TIE_CHURN_PICK,
TIE_CHURN_NEW.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numba import njit

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
    dropped, made = _kernel(sim.seed, sim.day, g.start, g.degree, g.nbrs, s.tier, c.care,
                            c.region, c.region_start, active, a.drop_rate, a.seek_rate,
                            p.low_tier, p.high_tier, churn)
    sim.tally["ties_dropped"] += dropped
    sim.tally["ties_made"] += made


@njit(cache=True)
def _kernel(seed, day, start, degree, nbrs, tier, care, region, region_start, active,
            drop_rate, seek_rate, low_tier, high_tier, churn):
    k_drop = rng.stream_key(seed, day, rng.TIE_DROP)
    k_drop_pick = rng.stream_key(seed, day, rng.TIE_DROP_PICK)
    k_seek = rng.stream_key(seed, day, rng.TIE_SEEK)
    k_seek_pick = rng.stream_key(seed, day, rng.TIE_SEEK_PICK)
    k_churn = rng.stream_key(seed, day, rng.TIE_CHURN)
    k_churn_pick = rng.stream_key(seed, day, rng.TIE_CHURN_PICK)
    k_churn_new = rng.stream_key(seed, day, rng.TIE_CHURN_NEW)
    dropped = 0
    made = 0
    n = degree.shape[0]
    for i in range(n):
        lo = region_start[region[i]]
        size = region_start[region[i] + 1] - lo
        if active:
            if drop_rate > 0 and rng.uniform(k_drop, i) < drop_rate * care[i]:
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
            if seek_rate > 0 and rng.uniform(k_seek, i) < seek_rate * care[i]:
                for t in range(SEEK_TRIES):
                    j = lo + rng.below(k_seek_pick, i * SEEK_TRIES + t, size)
                    if j != i and tier[j] >= high_tier:
                        if add_tie(start, degree, nbrs, i, j):
                            made += 1
                        break
        if churn > 0 and degree[i] > 0 and rng.uniform(k_churn, i) < churn:
            j = nbrs[start[i] + rng.below(k_churn_pick, i, degree[i])]
            drop_tie(start, degree, nbrs, i, j)
            dropped += 1
            if add_tie(start, degree, nbrs, i, lo + rng.below(k_churn_new, i, size)):
                made += 1
    return dropped, made
