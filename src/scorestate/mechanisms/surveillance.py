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

from scorestate import rng
from scorestate.bits import BIT_INDEX, popcount
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
    for i in prange(n):
        a = acts[i]
        ub = 1 if urban[i] else 0
        obs = 0
        mis = 0
        rest = np.int64(a)
        while rest:  # the citizen's acts, lowest bit first
            low = rest & -rest
            rest ^= low
            e = BIT_INDEX[low % 37]
            seen = first_source(rng.uniform(keys[e], i), e, ub, smart_home[i], coverage, observe,
                                hit_rate)
            if seen < 0:
                continue
            if seen == SRC_CAMERA and rng.uniform(k_mis, i * N_EVENTS + e) < mis_rate:
                mis |= 1 << e
                continue
            obs |= 1 << e
        fal = 0
        cam = coverage[SRC_CAMERA, ub]
        if cam > 0 and rng.uniform(k_fm, i) < false_match * cam:
            fal |= 1 << EV_INFRACTION
        plat = coverage[SRC_PLATFORM, ub]
        if plat > 0 and rng.uniform(k_fp, i) < false_positive * plat:
            fal |= 1 << EV_DISSENT_ONLINE
        observed[i] = obs
        falsely[i] = fal
        misattributed[i] = mis


@njit(inline="always")
def first_source(u, e, ub, smart_home, coverage, observe, hit_rate):
    """The first feeding source that sees act `e` on draw `u` (-1: none).

    The ledger replays it from the same draw for the citizens it records, so the day's state
    does not carry a source per citizen and event.
    """
    cum = 0.0
    miss = 1.0
    for t in range(observe.shape[1]):
        src = observe[e, t]
        if src < 0:
            return -1
        cov = coverage[src, ub]
        if src == SRC_SMART_HOME and not smart_home:
            cov = 0.0
        if src == SRC_PLATFORM and e == EV_DISSENT_ONLINE:
            cov *= hit_rate
        cum += miss * cov
        if u < cum:
            return src
        miss *= 1.0 - cov
    return -1


@njit(cache=True)
def replay_sources(seed, day, citizens, observed, urban, smart_home, coverage, observe, hit_rate):
    """The recording source of each observed act of `citizens`, in (citizen, event) order."""
    total = 0
    for i in citizens:
        total += popcount(observed[i])
    out = np.empty(total, np.int8)
    k = 0
    for i in citizens:
        o = observed[i]
        ub = 1 if urban[i] else 0
        for e in range(N_EVENTS):
            if (o >> e) & 1:
                key = rng.stream_key(seed, day, rng.OBSERVE + e)
                out[k] = first_source(rng.uniform(key, i), e, ub, smart_home[i], coverage, observe,
                                      hit_rate)
                k += 1
    return out
