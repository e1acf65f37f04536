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

from scorestate import rng
from scorestate.bits import BIT_INDEX, popcount
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
    _points(sim.day, p.points, p.offence_mask, c.rank, s.acts, s.observed, s.falsely,
            s.points_today, s.false_points, s.offences, s.corrections, s.alcohol_flagged)
    actors = np.flatnonzero(s.misattributed)
    victims, events, pts = _misattribute(sim.seed, sim.day, actors, s.misattributed, c.region,
                                         c.region_start, c.rank, p.points, s.falsely,
                                         s.points_today, s.false_points)
    sim.ledger.misattributions(sim, victims, actors_of(actors, s.misattributed), events, pts)
    # Leniency seen: officials penalised today whose rank multiplies the penalty below 1.
    off = sim.officials
    lenient = np.asarray(p.spec.leniency.penalty_multiplier)[c.rank[off]] < 1
    hit = ((s.observed[off] | s.falsely[off]) & np.uint32(p.penal_mask)) != 0
    sim.tally["officials_spared"] += int(np.count_nonzero(hit & lenient))


def actors_of(actors: np.ndarray, misattributed: np.ndarray) -> np.ndarray:
    """One actor id per misattributed act, in the kernel's order."""
    counts = np.array([int(misattributed[a]).bit_count() for a in actors], dtype=np.int64)
    return np.repeat(actors, counts).astype(np.int32)


@njit(parallel=True, cache=True)
def _points(day, points, offence_mask, rank, acts, observed, falsely, points_today, false_points,
            offences, corrections, alcohol_flagged):
    n = acts.shape[0]
    offences_max = np.iinfo(offences.dtype).max
    corrections_max = np.iinfo(corrections.dtype).max
    for i in prange(n):
        o = observed[i]
        f = falsely[i]
        r = rank[i]
        total = 0.0
        wrong = 0.0
        rest = np.int64(o | f)
        while rest:  # the set bits only, lowest first (the order of the additions as before)
            low = rest & -rest
            rest ^= low
            e = BIT_INDEX[low % 37]
            if o & low:
                total += points[r, e]
            if f & low:
                total += points[r, e]
                if points[r, e] < 0:
                    wrong += points[r, e]
        points_today[i] = total
        if wrong != 0.0:
            false_points[i] += wrong
        committed = acts[i] & offence_mask
        if committed:
            k = offences[i] + popcount(committed)
            offences[i] = min(k, offences_max)  # counts saturate rather than wrap
        if (o >> EV_APOLOGY) & 1 and corrections[i] < corrections_max:
            corrections[i] += 1
        if (o >> EV_ALCOHOL) & 1:
            alcohol_flagged[i] = day


@njit(cache=True)
def _misattribute(seed, day, actors, misattributed, region, region_start, rank, points, falsely,
                  points_today, false_points):
    """Pin each misattributed sighting on another citizen of the actor's region, in id order."""
    total = 0
    for a in actors:
        m = misattributed[a]
        while m:
            total += 1
            m &= m - 1
    victims = np.empty(total, np.int32)
    events = np.empty(total, np.int16)
    pts = np.empty(total, np.float32)
    key = rng.stream_key(seed, day, rng.MISATTRIBUTE_TARGET)
    k = 0
    for a in actors:
        reg = region[a]
        lo = region_start[reg]
        size = region_start[reg + 1] - lo
        for e in range(N_EVENTS):
            if not (misattributed[a] >> e) & 1:
                continue
            if size < 2:
                v = a
            else:
                v = lo + rng.below(key, a * N_EVENTS + e, size - 1)
                if v >= a:
                    v += 1
            p = points[rank[v], e]
            falsely[v] |= np.uint32(1 << e)
            points_today[v] += p
            if p < 0:
                false_points[v] += p
            victims[k] = v
            events[k] = e
            pts[k] = p
            k += 1
    return victims, events, pts
