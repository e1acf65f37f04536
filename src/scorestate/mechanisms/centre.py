"""The central information centre (MODEL.md step 4): observed events become points.

"Observed events are appended to the run's ledger (day, citizen, event, source, points,
whether it was a false attribution)."

Each observed act is worth the rule's points, with penalties multiplied by the enforcement
multiplier of the citizen's official rank (leniency). A camera sighting pinned on a wrong
citizen goes to a citizen of the actor's region, drawn from the actor's own stream, so the
victim is the same under any policy that keeps the sighting.

An offence is a true act that the rules in force name: one they penalise, or one a listing or
gate rule reads (a court judgment, a refused dose, a flagged purchase); `offences` counts them,
so "sanctioned without any true offence" means what it says.

Reads: `observed`, `falsely`, `misattributed`, `acts`. Writes: `points_today`,
`false_points`, `offences`, `corrections`, `alcohol_flagged`, and `falsely` for victims.
Streams: MISATTRIBUTE_TARGET.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from scorestate import rng
from scorestate.bits import popcount
from scorestate.vocabulary import EV_ALCOHOL, EV_APOLOGY, EVENTS

if TYPE_CHECKING:
    from scorestate.engine import Simulation

N_EVENTS = len(EVENTS)


def step(sim: Simulation) -> None:
    c, s, p = sim.citizens, sim.state, sim.policy
    if not p.enabled:
        s.points_today[:] = 0
        return
    sim.ledger.observations(sim)
    # Leniency seen: officials penalised today whose rank multiplies the penalty below 1.
    lenient = np.asarray(p.spec.leniency.penalty_multiplier) < 1
    mis_blocks = sim.buffer("centre_blocks", ((sim.n + BLOCK - 1) // BLOCK,), np.int64)
    spared = _points(sim.day, p.points, p.offence_mask, p.penal_mask, lenient, c.rank, s.acts,
                     s.observed, s.falsely, s.misattributed, s.points_today, s.false_points,
                     s.offences, s.corrections, s.alcohol_flagged, mis_blocks)
    victims, actors, events, pts, spared_victims = _misattribute(
        sim.seed, sim.day, mis_blocks, s.misattributed, c.region,
        c.region_start, c.rank, p.points, p.penal_mask, lenient, s.observed, s.falsely,
        s.points_today, s.false_points)
    sim.ledger.misattributions(sim, victims, actors, events, pts)
    sim.tally["officials_spared"] += spared + spared_victims


# Citizens are scored a block at a time: today's points are cleared for the whole block (a
# loop that LLVM vectorises); the citizens with an act, an observation or a false attribution
# (about one in five) are marked 64 at a time in a word (a vectorised loop too) and scored one
# by one from its set bits, so that nobody else costs a branch.
BLOCK = 2048


@njit(parallel=True, cache=True)
def _points(day, points, offence_mask, penal_mask, lenient, rank, acts, observed, falsely,
            misattributed, points_today, false_points, offences, corrections, alcohol_flagged,
            mis_blocks):
    """Score the day's observed and false events; returns the officials spared so far (before
    misattribution) and counts each block's misattributing actors into `mis_blocks`."""
    n = acts.shape[0]
    spared = 0
    for blk in prange((n + BLOCK - 1) // BLOCK):
        first = blk * BLOCK
        s, mis = _points_block(first, min(n, first + BLOCK) - first, day, points, offence_mask,
                               penal_mask, lenient, rank, acts, observed, falsely, misattributed,
                               points_today, false_points, offences, corrections,
                               alcohol_flagged)
        spared += s
        mis_blocks[blk] = mis
    return spared


# A function of its own rather than the body of the parallel loop, and citizens indexed by an
# unsigned `j`: numba then adds no negative-index wraparound and LLVM vectorises the first loop.
@njit
def _points_block(first, m, day, points, offence_mask, penal_mask, lenient, rank, acts, observed,
                  falsely, misattributed, points_today, false_points, offences, corrections,
                  alcohol_flagged):
    for k in range(m):
        points_today[np.uint64(first + k)] = 0.0
    offences_max = np.iinfo(offences.dtype).max
    corrections_max = np.iinfo(corrections.dtype).max
    spared = 0
    mis = 0
    for lo in range(0, m, 64):
        marks = np.uint64(0)
        for k in range(lo, min(m, lo + 64)):
            j = np.uint64(first + k)
            # observed acts are acts, but a caller may script observations: read all three
            marks |= np.uint64((acts[j] | observed[j] | falsely[j]) != 0) << np.uint64(k - lo)
        while marks:
            i = first + lo + np.int64(trailing_zeros(marks))
            marks &= marks - np.uint64(1)
            o = np.int64(observed[i])
            f = np.int64(falsely[i])
            r = np.uint64(rank[i])
            total = 0.0
            wrong = 0.0
            rest = o | f
            # the set bits in order, lowest first (the order of the additions as before): the
            # lowest without a branch (none: a sentinel bit of neither mask), then the rest
            e = np.uint64(trailing_zeros(rest | (1 << (N_EVENTS - 1))))
            while True:
                pt = points[r, e]
                total = total + pt if (o >> e) & 1 else total
                total = total + pt if (f >> e) & 1 else total
                wrong = wrong + pt if (f >> e) & 1 and pt < 0 else wrong
                rest &= rest - 1
                if rest == 0:
                    break
                e = np.uint64(trailing_zeros(rest))
            points_today[i] = total
            if wrong != 0.0:
                false_points[i] += wrong
            committed = acts[i] & offence_mask
            k = offences[i] + popcount(np.int64(committed))
            offences[i] = min(k, offences_max)  # counts saturate rather than wrap
            if (o >> EV_APOLOGY) & 1 and corrections[i] < corrections_max:
                corrections[i] += 1
            alcohol_flagged[i] = day if (o >> EV_ALCOHOL) & 1 else alcohol_flagged[i]
            if r > 0 and lenient[r] and (o | f) & penal_mask:
                spared += 1
            if misattributed[i]:
                mis += 1
    return spared, mis


@njit(cache=True)
def _misattribute(seed, day, mis_blocks, misattributed, region, region_start, rank, points,
                  penal_mask, lenient, observed, falsely, points_today, false_points):
    """Pin each misattributed sighting on another citizen of the actor's region, in id order
    (in a region of one, nobody: the sighting is lost, and the actor escapes as ever).

    Returns the victims, actors, events and points of the sightings, and the lenient officials
    whose first penalised event of the day is one pinned on them here.
    """
    total = 0
    actors = np.empty(mis_blocks.sum(), np.int64)
    for blk in range(mis_blocks.shape[0]):  # only blocks with a misattributing actor are read
        if mis_blocks[blk] == 0:
            continue
        for a in range(blk * BLOCK, min(misattributed.shape[0], (blk + 1) * BLOCK)):
            if misattributed[a]:
                actors[total] = a
                total += 1
    rows = 0
    for a in actors:
        rows += popcount(misattributed[a])
    victims = np.empty(rows, np.int32)
    actor = np.empty(rows, np.int32)
    events = np.empty(rows, np.int16)
    pts = np.empty(rows, np.float32)
    key = rng.stream_key(seed, day, rng.MISATTRIBUTE_TARGET)
    spared = 0
    k = 0
    for a in actors:
        reg = region[a]
        lo = region_start[reg]
        size = region_start[reg + 1] - lo
        for e in range(N_EVENTS):
            if not (misattributed[a] >> e) & 1:
                continue
            if size < 2:  # nobody else to pin it on: the sighting is lost
                continue
            v = lo + rng.below(key, a * N_EVENTS + e, size - 1)
            if v >= a:
                v += 1
            p = points[rank[v], e]
            penalised = (observed[v] | falsely[v]) & penal_mask
            falsely[v] |= np.uint32(1 << e)
            if not penalised and (observed[v] | falsely[v]) & penal_mask:
                spared += rank[v] > 0 and lenient[rank[v]]
            points_today[v] += p
            if p < 0:
                false_points[v] += p
            victims[k] = v
            actor[k] = a
            events[k] = e
            pts[k] = p
            k += 1
    return victims[:k], actor[:k], events[:k], pts[:k], spared
