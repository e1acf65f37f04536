"""Surveillance (MODEL.md step 3): sources observe acts, with coverage and error.

"Each action is observed by zero or more sources, each with coverage (by urban/rural and
phase) and error ... street cameras with face recognition (misattribution to a wrong citizen
at a false-match rate), social platform (a classifier with hit and false-positive rates) ...
Data-sharing switches decide which sources feed the centre."

An act is tried against its sources in the order the scenario lists; the first feeding source
that sees it is the one recorded. A camera sighting is pinned on another citizen of the same
region with the misattribution rate (the true actor escapes); cameras also match citizens to
acts nobody did (the base-rate effect of a small false-match rate times many sightings), and
the platform's classifier flags silent citizens at its false-positive rate.

Reads: `acts`, coverage and sharing of the policy in force. Writes: `observed`, `falsely`,
and `misattributed` (acts whose sighting went to someone else; resolved by `centre.py`).
Streams: OBSERVE + event, MISATTRIBUTE, FALSE_MATCH, FALSE_POSITIVE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from scorestate import rng
from scorestate.bits import popcount
from scorestate.scenario.schema import MAX_SOURCES_PER_ACT
from scorestate.vocabulary import (
    EV_DISSENT_ONLINE,
    EV_INFRACTION,
    EVENTS,
    SRC_CAMERA,
    SRC_PLATFORM,
    SRC_SMART_HOME,
)

if TYPE_CHECKING:
    from scorestate.engine import Simulation

N_EVENTS = len(EVENTS)


def step(sim: Simulation) -> None:
    c, s, p = sim.citizens, sim.state, sim.policy
    sv = p.spec.surveillance
    if not p.enabled:  # nobody watches: the day's masks are written empty
        for mask in (s.observed, s.falsely, s.misattributed):
            mask[:] = 0
        return
    _kernel(sim.seed, sim.day, s.acts, c.urban, c.smart_home, p.coverage, p.observe,
            sv.platform_hit_rate, sv.camera_misattribution, sv.camera_false_match,
            sv.platform_false_positive, s.observed, s.falsely, s.misattributed)


# Decisions compare a draw's top 53 bits with `rng.draw_bound` of the probability (the same
# answer as `rng.uniform(key, i) < p`, without the float conversion). Sightings are settled a
# block of citizens at a time: one loop over the block, without branches so that LLVM
# vectorises it, draws everyone's false match and false positive and clears the masks; the
# citizens who acted today (about one in five) are then settled one by one, from the table of
# `_source_bounds`. Each draw keeps its key (seed, day, stream, citizen).
BLOCK = 2048
TRIES = MAX_SOURCES_PER_ACT  # sources tried per event (the columns of `CompiledPolicy.observe`)
SRC_SHIFT = np.uint64(56)  # a table entry: draw bound below bit 56, source + 1 above
BOUND_MASK = np.uint64((1 << 56) - 1)


@njit(parallel=True, cache=True)
def _kernel(seed, day, acts, urban, smart_home, coverage, observe, hit_rate, mis_rate,
            false_match, false_positive, observed, falsely, misattributed):
    n = acts.shape[0]
    keys = np.empty(N_EVENTS, np.uint64)
    for e in range(N_EVENTS):
        keys[e] = rng.stream_key(seed, day, rng.OBSERVE + e)
    k_mis = rng.stream_key(seed, day, rng.MISATTRIBUTE)
    k_fm = rng.stream_key(seed, day, rng.FALSE_MATCH)
    k_fp = rng.stream_key(seed, day, rng.FALSE_POSITIVE)
    table = _source_bounds(coverage, observe, hit_rate)
    # `cam > 0 and u < false_match * cam`: a zero bound when cam is not positive
    cam0, cam1 = coverage[SRC_CAMERA, 0], coverage[SRC_CAMERA, 1]
    plat0, plat1 = coverage[SRC_PLATFORM, 0], coverage[SRC_PLATFORM, 1]
    fm0 = rng.draw_bound(false_match * cam0) if cam0 > 0 else np.uint64(0)
    fm1 = rng.draw_bound(false_match * cam1) if cam1 > 0 else np.uint64(0)
    fp0 = rng.draw_bound(false_positive * plat0) if plat0 > 0 else np.uint64(0)
    fp1 = rng.draw_bound(false_positive * plat1) if plat1 > 0 else np.uint64(0)
    mis_bound = rng.draw_bound(mis_rate)
    for blk in prange((n + BLOCK - 1) // BLOCK):
        first = blk * BLOCK
        _block(first, min(n, first + BLOCK) - first, keys, k_mis, k_fm, k_fp, table, fm0, fm1,
               fp0, fp1, mis_bound, acts, urban, smart_home, observed, falsely, misattributed)


@njit(inline="always")
def _sighting(table: np.ndarray, d: int, e: int, ub: int, sh: int) -> int:
    """The source that sees act e on a draw's top 53 bits d (-1: none), from `_source_bounds`:
    the first try whose bound is above the draw, found without branches."""
    base = np.uint64(((e * 2 + ub) * 2 + sh) * TRIES)
    seen = np.int64(-1)
    for t in range(TRIES - 1, -1, -1):
        entry = table[base + np.uint64(t)]
        if d < entry & BOUND_MASK:
            seen = np.int64(entry >> SRC_SHIFT) - 1
    return seen


@njit(inline="always")
def _settle(table: np.ndarray, keys: np.ndarray, k_mis: int, mis_bound: int, i: int, e: int,
            ub: int, sh: int) -> tuple[int, int]:
    """Act e of citizen i: (observed, misattributed) as 0/1."""
    seen = _sighting(table, rng.draw_bits(keys[np.uint64(e)], i) >> np.uint64(11), e, ub, sh)
    mis = (seen == SRC_CAMERA) & (rng.draw_bits(k_mis, i * N_EVENTS + e) >> np.uint64(11)
                                  < mis_bound)
    return np.int64((seen >= 0) & ~mis), np.int64(mis)


# A function of its own rather than the body of the parallel loop, and citizens indexed by an
# unsigned `j`: numba then adds no negative-index wraparound and LLVM vectorises the first loop.
# The citizens who acted are marked 64 at a time in a word (a vectorised loop) and settled one
# by one from its set bits: the table's reads are gathers that LLVM does not vectorise (it
# cannot rule out that they alias the stores), and a test per citizen would mispredict often.
@njit
def _block(first, m, keys, k_mis, k_fm, k_fp, table, fm0, fm1, fp0, fp1, mis_bound, acts,
           urban, smart_home, observed, falsely, misattributed):
    for k in range(m):
        i = first + k
        j = np.uint64(i)
        ub = urban[j]
        fm = rng.draw_bits(k_fm, i) >> np.uint64(11) < (fm1 if ub else fm0)
        fp = rng.draw_bits(k_fp, i) >> np.uint64(11) < (fp1 if ub else fp0)
        # an act nobody did: a citizen who did it today is not falsely flagged for it
        falsely[j] = ((fm << EV_INFRACTION) | (fp << EV_DISSENT_ONLINE)) & ~np.int64(acts[j])
        observed[j] = 0
        misattributed[j] = 0
    for lo in range(0, m, 64):
        marks = np.uint64(0)
        for k in range(lo, min(m, lo + 64)):
            marks |= np.uint64(acts[np.uint64(first + k)] != 0) << np.uint64(k - lo)
        while marks:
            i = first + lo + np.int64(trailing_zeros(marks))
            marks &= marks - np.uint64(1)
            a = np.int64(acts[i])
            ub = np.int64(urban[i])
            sh = np.int64(smart_home[i])
            e = trailing_zeros(a)
            obs, mis = _settle(table, keys, k_mis, mis_bound, i, e, ub, sh)
            obs <<= e
            mis <<= e
            a &= a - 1
            while a:  # any further acts, lowest bit first
                e = trailing_zeros(a)
                a &= a - 1
                o, w = _settle(table, keys, k_mis, mis_bound, i, e, ub, sh)
                obs |= o << e
                mis |= w << e
            observed[i] = obs
            misattributed[i] = mis


@njit
def _source_bounds(coverage: np.ndarray, observe: np.ndarray, hit_rate: float) -> np.ndarray:
    """Which feeding source sees an act, as a table by (event, urban, smart home, try).

    Sources are tried in the scenario's order; try t sees the act on a draw u below the running
    sum of miss x coverage, so an entry holds `rng.draw_bound` of that sum (0 from the first
    unfed try on) and its source. The ledger replays the source of the citizens it records
    from the same draw, so the day's state does not carry a source per citizen and event.
    """
    if observe.shape[1] > TRIES:
        raise ValueError("more sources tried per event than the table holds")
    table = np.zeros(N_EVENTS * 2 * 2 * TRIES, np.uint64)
    for e in range(N_EVENTS):
        for ub in range(2):
            for sh in range(2):
                cum = 0.0
                miss = 1.0
                for t in range(observe.shape[1]):
                    s = observe[e, t]
                    if s < 0:
                        break
                    cov = coverage[s, ub]
                    if s == SRC_SMART_HOME and not sh:
                        cov = 0.0
                    if s == SRC_PLATFORM and e == EV_DISSENT_ONLINE:
                        cov *= hit_rate
                    cum += miss * cov
                    table[((e * 2 + ub) * 2 + sh) * TRIES + t] = (
                        rng.draw_bound(cum) | (np.uint64(s + 1) << SRC_SHIFT))
                    miss *= 1.0 - cov
    return table


@njit(cache=True)
def replay_sources(seed, day, citizens, observed, urban, smart_home, coverage, observe, hit_rate):
    """The recording source of each observed act of `citizens`, in (citizen, event) order."""
    total = 0
    for i in citizens:
        total += popcount(observed[i])
    out = np.empty(total, np.int8)
    table = _source_bounds(coverage, observe, hit_rate)
    k = 0
    for i in citizens:
        o = observed[i]
        ub = 1 if urban[i] else 0
        sh = 1 if smart_home[i] else 0
        for e in range(N_EVENTS):
            if (o >> e) & 1:
                key = rng.stream_key(seed, day, rng.OBSERVE + e)
                out[k] = _sighting(table, rng.draw_bits(key, i) >> np.uint64(11), e, ub, sh)
                k += 1
    return out
