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
start-of-step network. It also reads the rows each change will most likely touch, so that they
wait in the cache the cores share (about half the sequential time was waiting for memory). A
change marks both rows DIRTY; a dirty row is counted again, so every decision is the one the
plain sequential rule makes.

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
    who, low, target, _ = _prepare(sim.seed, sim.day, offsets, flags, g.start, g.degree, g.nbrs,
                                   s.tier, c.region, c.region_start, p.low_tier, p.high_tier,
                                   a.seek_tries)
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
        first = c * CHUNK
        offsets[c + 1] = _decide_block(first, min(n, first + CHUNK) - first, k_drop, k_seek,
                                       k_churn, conformity, risk_aversion, care_w, drop_rate,
                                       seek_rate, churn, flags)
    return np.cumsum(offsets)


# A function of its own over a block with unsigned indices (no wraparound checks, so LLVM
# vectorises each pass), and draws compared as integers: `draw_bits >> 11 < draw_bound(p)` is
# exactly `uniform < p`, the bound taken per citizen where p depends on its care.
@njit
def _decide_block(first, m, k_drop, k_seek, k_churn, conformity, risk_aversion, care_w,
                  drop_rate, seek_rate, churn, flags):
    shift = np.uint64(11)
    drop_rate = drop_rate if drop_rate > 0 else 0.0  # as not drawing: a bound of 0, never
    seek_rate = seek_rate if seek_rate > 0 else 0.0
    if churn > 0:
        b_churn = rng.draw_bound(churn)
        for k in range(m):
            j = np.uint64(first + k)
            flags[j] = np.uint8((rng.draw_bits(k_churn, first + k) >> shift) < b_churn) \
                * np.uint8(CHURN)
    else:
        for k in range(m):
            flags[np.uint64(first + k)] = np.uint8(0)
    if drop_rate > 0 or seek_rate > 0:
        for k in range(m):
            j = np.uint64(first + k)
            cares = care(care_w, conformity[j], risk_aversion[j])
            drop = (rng.draw_bits(k_drop, first + k) >> shift) < rng.draw_bound(drop_rate * cares)
            seek = (rng.draw_bits(k_seek, first + k) >> shift) < rng.draw_bound(seek_rate * cares)
            flags[j] |= np.uint8(drop) * np.uint8(DROP) | np.uint8(seek) * np.uint8(SEEK)
    count = 0
    for k in range(m):
        count += flags[np.uint64(first + k)] != 0
    return count


@njit(parallel=True, cache=True)
def _prepare(seed, day, offsets, flags, start, degree, nbrs, tier, region, region_start,
             low_tier, high_tier, seek_tries):
    """In parallel, from the start-of-step network: the citizens with a decision in id order,
    how many low-tier neighbours those who would drop one have, and the citizen each seeker
    picks (-1: none; the first high-tier one of `seek_tries` draws in its region)."""
    k_seek_pick = rng.stream_key(seed, day, rng.TIE_SEEK_PICK)
    keys = (rng.stream_key(seed, day, rng.TIE_DROP_PICK), rng.stream_key(seed, day, rng.TIE_CHURN_PICK),
            rng.stream_key(seed, day, rng.TIE_CHURN_NEW))
    n = flags.shape[0]
    m = offsets[-1]
    who = np.empty(m, np.int64)
    low = np.zeros(m, np.int64)
    target = np.full(m, -1, np.int64)
    warm = np.zeros(offsets.shape[0] - 1, np.int64)
    for c in prange(offsets.shape[0] - 1):
        first = c * CHUNK
        warm[c] = _prepare_block(first, min(n, first + CHUNK) - first, offsets[c], offsets[c + 1],
                                 k_seek_pick, keys, flags, start, degree, nbrs, tier, region,
                                 region_start, low_tier, high_tier, seek_tries, who, low, target)
    return who, low, target, warm.sum()


@njit
def _prepare_block(first, m, q0, q1, k_seek_pick, keys, flags, start, degree, nbrs, tier, region,
                   region_start, low_tier, high_tier, seek_tries, who, low, target):
    """`_prepare` for one chunk, with unsigned indices (no wraparound checks). Also reads the
    rows that `_apply` will most likely change (the picks it makes while no row is dirty), so
    that they wait in the shared cache: the sequential pass then seldom waits for memory."""
    k_drop_pick, k_churn_pick, k_churn_new = keys
    q = q0
    for k in range(m):
        i = first + k
        if flags[np.uint64(i)] != 0:
            who[np.uint64(q)] = i
            q += 1
    warm = 0
    for q in range(q0, q1):
        uq = np.uint64(q)
        i = who[uq]
        ui = np.uint64(i)
        f = flags[ui]
        s = np.uint64(start[ui])
        d = degree[ui]
        warm += _row(start, degree, nbrs, ui)
        if f & DROP:
            n_low = _low_count(s, d, nbrs, tier, low_tier)
            low[uq] = n_low
            if n_low > 0:
                j = _low_pick(s, d, nbrs, tier, low_tier, rng.below(k_drop_pick, i, n_low))
                warm += _row(start, degree, nbrs, np.uint64(j))
        r = np.uint64(region[ui])
        lo = region_start[r]
        size = region_start[r + np.uint64(1)] - lo
        if f & SEEK:
            for t in range(seek_tries):  # draw i * seek_tries + t: citizens' draws never overlap
                j = lo + rng.below(k_seek_pick, i * seek_tries + t, size)
                if j != i and tier[np.uint64(j)] >= high_tier:
                    target[uq] = j
                    warm += _row(start, degree, nbrs, np.uint64(j))
                    break
        if f & CHURN and d > 0:
            warm += _row(start, degree, nbrs, np.uint64(nbrs[s + np.uint64(rng.below(k_churn_pick, i, d))]))
            warm += _row(start, degree, nbrs, np.uint64(lo + rng.below(k_churn_new, i, size)))
    return warm


@njit(inline="always")
def _low_count(s, d, nbrs, tier, low_tier):
    """How many of the d neighbours in a row's slots (from s) are at or below the low tier."""
    n_low = 0
    for k in range(d):
        n_low += tier[np.uint64(nbrs[np.uint64(s) + np.uint64(k)])] <= low_tier
    return n_low


@njit(inline="always")
def _low_pick(s, d, nbrs, tier, low_tier, pick):
    """The neighbour a dropper drops: the pick-th (from 0) at or below the low tier, in slot order."""
    for k in range(d):
        j = nbrs[np.uint64(s) + np.uint64(k)]
        if tier[np.uint64(j)] <= low_tier:
            if pick == 0:
                return j
            pick -= 1
    return -1


@njit(inline="always")
def _row(start, degree, nbrs, j):
    """Read a citizen's row where `add_tie` and `drop_tie` read and write it (a value to keep
    the reads from being dropped as unused)."""
    s = np.uint64(start[j])
    end = min(s + np.uint64(degree[j]), np.uint64(nbrs.shape[0] - 1))  # a full last row ends the array
    return np.int64(nbrs[s]) + nbrs[end] + start[j + np.uint64(1)]


@njit(cache=True)
def _apply(seed, day, who, low, target, flags, start, degree, nbrs, tier, region, region_start,
           low_tier):
    """The few changes, one citizen after another in id order (a change alters later choices)."""
    k_drop_pick = rng.stream_key(seed, day, rng.TIE_DROP_PICK)
    k_churn_pick = rng.stream_key(seed, day, rng.TIE_CHURN_PICK)
    k_churn_new = rng.stream_key(seed, day, rng.TIE_CHURN_NEW)
    dropped = 0
    made = 0
    m = who.shape[0]
    for q in range(m):
        i = who[q]
        f = flags[i]
        if f & DROP:
            n_low = low[q]
            if f & DIRTY:
                n_low = _low_count(start[i], degree[i], nbrs, tier, low_tier)
            if n_low > 0:
                j = _low_pick(start[i], degree[i], nbrs, tier, low_tier,
                              rng.below(k_drop_pick, i, n_low))
                drop_tie(start, degree, nbrs, i, j)
                dropped += 1
                flags[i] |= DIRTY
                flags[j] |= DIRTY
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
