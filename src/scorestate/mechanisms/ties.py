"""Social adaptation (MODEL.md step 8): ties dropped and sought because of tiers.

"Where association is scored, citizens drop ties to low-tier neighbours and seek high-tier
ones ('to maintain a high score, you must surround yourself with the obedient')." Without the
system ties still churn: a citizen now and then replaces a tie by a new one in the region.

Decisions are drawn per citizen from its own streams (in parallel) and the few changes are
applied in citizen-id order, so the result does not depend on threads. A tie is made only if
both citizens have a free slot.

The sequential part is bound by memory latency, so what does not depend on earlier changes is
worked out in parallel first (`_prepare`): the list of citizens with a decision, each seeker's
pick (tiers do not change here) and each dropper's count of low-tier neighbours in the
start-of-step network. A change marks both rows DIRTY; a dirty row is counted again, so every
decision is the one the plain sequential rule makes.

Reads: `tier`, care (from conformity and risk aversion), graph. Writes: graph (`degree`, `nbrs`).
Streams: TIE_DROP, TIE_DROP_PICK, TIE_SEEK, TIE_SEEK_PICK, TIE_CHURN, TIE_CHURN_PICK,
TIE_CHURN_NEW.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate import rng
from scorestate.mechanisms.neighbours import CITIZEN_BYTES
from scorestate.network import add_tie, drop_tie
from scorestate.population import care

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
    flags = sim.buffer(CITIZEN_BYTES, (sim.n,), np.uint8)  # written in full by _decide
    offsets = _decide(sim.seed, sim.day, c.conformity, c.risk_aversion, sim.care_weights,
                      a.drop_rate if active else 0.0, a.seek_rate if active else 0.0, churn, flags)
    who, low, target = _prepare(sim.seed, sim.day, offsets, flags, g.start, g.degree, g.nbrs,
                                s.tier, c.region, c.region_start, p.low_tier, p.high_tier)
    dropped, made = _apply(sim.seed, sim.day, who, low, target, flags, g.start, g.degree, g.nbrs,
                           s.tier, c.region, c.region_start, p.low_tier)
    sim.tally["ties_dropped"] += dropped
    sim.tally["ties_made"] += made


# Bits of a citizen's byte in `flags`: today's decisions (_decide) and whether its row has
# changed since the step began (_apply).
DROP, SEEK, CHURN, DIRTY = 1, 2, 4, 8
CHUNK = 16384


@njit(parallel=True, cache=True)
def _decide(seed, day, conformity, risk_aversion, care_w, drop_rate, seek_rate, churn, flags):
    """Who considers a change today, drawn in parallel; returns where each chunk's citizens
    with a decision start in the list of them (a rate of 0 draws nothing)."""
    k_drop = rng.stream_key(seed, day, rng.TIE_DROP)
    k_seek = rng.stream_key(seed, day, rng.TIE_SEEK)
    k_churn = rng.stream_key(seed, day, rng.TIE_CHURN)
    n = conformity.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    offsets = np.zeros(n_chunks + 1, np.int64)
    for c in prange(n_chunks):
        m = 0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            f = np.uint8(0)
            cares = care(care_w, conformity[i], risk_aversion[i])
            if drop_rate > 0 and rng.uniform(k_drop, i) < drop_rate * cares:
                f |= DROP
            if seek_rate > 0 and rng.uniform(k_seek, i) < seek_rate * cares:
                f |= SEEK
            if churn > 0 and rng.uniform(k_churn, i) < churn:
                f |= CHURN
            flags[i] = f
            m += f != 0
        offsets[c + 1] = m
    return np.cumsum(offsets)


@njit(parallel=True, cache=True)
def _prepare(seed, day, offsets, flags, start, degree, nbrs, tier, region, region_start,
             low_tier, high_tier):
    """In parallel, from the start-of-step network: the citizens with a decision in id order,
    how many low-tier neighbours those who would drop one have, and the citizen each seeker
    picks (-1: none)."""
    k_seek_pick = rng.stream_key(seed, day, rng.TIE_SEEK_PICK)
    n = flags.shape[0]
    m = offsets[-1]
    who = np.empty(m, np.int64)
    low = np.zeros(m, np.int64)
    target = np.full(m, -1, np.int64)
    for c in prange(offsets.shape[0] - 1):
        q = offsets[c]
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if flags[i] != 0:
                who[q] = i
                q += 1
        for q in range(offsets[c], offsets[c + 1]):
            i = who[q]
            f = flags[i]
            if f & DROP:
                for k in range(start[i], start[i] + degree[i]):
                    low[q] += tier[nbrs[k]] <= low_tier
            if f & SEEK:
                lo = region_start[region[i]]
                size = region_start[region[i] + 1] - lo
                for t in range(SEEK_TRIES):
                    j = lo + rng.below(k_seek_pick, i * SEEK_TRIES + t, size)
                    if j != i and tier[j] >= high_tier:
                        target[q] = j
                        break
    return who, low, target


@njit(cache=True)
def _apply(seed, day, who, low, target, flags, start, degree, nbrs, tier, region, region_start,
           low_tier):
    """The few changes, one citizen after another in id order (a change alters later choices)."""
    k_drop_pick = rng.stream_key(seed, day, rng.TIE_DROP_PICK)
    k_churn_pick = rng.stream_key(seed, day, rng.TIE_CHURN_PICK)
    k_churn_new = rng.stream_key(seed, day, rng.TIE_CHURN_NEW)
    dropped = 0
    made = 0
    for q in range(who.shape[0]):
        i = who[q]
        f = flags[i]
        if f & DROP:
            n_low = low[q]
            if f & DIRTY:
                n_low = 0
                for k in range(start[i], start[i] + degree[i]):
                    n_low += tier[nbrs[k]] <= low_tier
            if n_low > 0:
                pick = rng.below(k_drop_pick, i, n_low)
                for k in range(start[i], start[i] + degree[i]):
                    if tier[nbrs[k]] <= low_tier:
                        if pick == 0:
                            j = nbrs[k]
                            drop_tie(start, degree, nbrs, i, j)
                            dropped += 1
                            flags[i] |= DIRTY
                            flags[j] |= DIRTY
                            break
                        pick -= 1
        if f & SEEK:
            j = target[q]
            if j >= 0 and add_tie(start, degree, nbrs, i, j):
                made += 1
                flags[i] |= DIRTY
                flags[j] |= DIRTY
        if f & CHURN and degree[i] > 0:
            lo = region_start[region[i]]
            size = region_start[region[i] + 1] - lo
            j = nbrs[start[i] + rng.below(k_churn_pick, i, degree[i])]
            drop_tie(start, degree, nbrs, i, j)
            dropped += 1
            flags[i] |= DIRTY
            flags[j] |= DIRTY
            j = lo + rng.below(k_churn_new, i, size)
            if add_tie(start, degree, nbrs, i, j):
                made += 1
                flags[j] |= DIRTY
    return dropped, made
