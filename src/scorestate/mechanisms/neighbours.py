"""Neighbour aggregates: the day's one pass over the network.

What association scoring, the blacklist's association rules, learning and attitudes need to
know about a citizen's friends: the share listed, the share at or below the low tier, the share
penalised today, and their mean score. Computed from the start-of-day tiers and scores (before
today's scoring), and today's penalties, so every citizen sees the same snapshot whatever the
order of the loop. The same pass tallies the edge sums for score assortativity and the ties
across tiers, so those two metrics are the start of the day's, before its scoring and tie changes.

Reads: graph, `score`, `tier`, `blacklisted`, `observed`, `falsely`. Writes: `nbr_*` (the listed
and low-tier neighbours as counts, one or two bytes a citizen instead of a float share).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

if TYPE_CHECKING:
    from scorestate.engine import Simulation

CITIZEN_BYTES = "citizen_bytes"  # Simulation.buffer key shared with the ties step

CHUNK = 16384  # fixed, so per-chunk partial sums and their order do not depend on threads
N_EDGE_TALLIES = 5  # sum s_i, sum s_i^2, sum s_i s_j over directed edges; edges; cross-tier


def step(sim: Simulation) -> None:
    g, s, p = sim.graph, sim.state, sim.policy
    view = sim.buffer(CITIZEN_BYTES, (sim.n,), np.uint8)
    partial = _kernel(g.start, g.degree, g.nbrs, s.score, s.tier, s.blacklisted, s.observed,
                      s.falsely, np.uint32(p.penal_mask), p.low_tier, view, s.nbr_blacklisted,
                      s.nbr_low, s.nbr_penalised, s.nbr_score)
    sim.tally["edges"] = partial.sum(axis=0)


# What a citizen shows its neighbours, in one byte: listed (bit 0), penalised today (bit 1),
# at or below the low tier (bit 2) and the tier (bits 4-7; at most 16 tiers). A tie reads that
# byte and the neighbour's score (packing both into 8 bytes doubles the randomly read footprint
# and measured slower). COUNTS, indexed by the byte xor the row's own tier shifted into bits
# 4-7, turns it into counters of FIELD bits (listed, penalised, low, same tier) that a row adds
# up at once, so a tie costs one table add and no compare; rows of WIDE or more ties count bit
# by bit.
FIELD = 10
WIDE = 1 << FIELD
_MASK = WIDE - 1
COUNTS = np.array([(f & 1) | (((f >> 1) & 1) << FIELD) | (((f >> 2) & 1) << (2 * FIELD))
                   | (int(f >> 4 == 0) << (3 * FIELD)) for f in range(256)], np.uint64)


@njit(parallel=True, cache=True)
def _kernel(start, degree, nbrs, score, tier, blacklisted, observed, falsely, penal_mask,
            low_tier, view, out_bl, out_low, out_pen, out_score):
    n = degree.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        first = c * CHUNK
        _views(first, min(n, first + CHUNK) - first, tier, blacklisted, observed, falsely,
               penal_mask, low_tier, view)
    partial = np.zeros((n_chunks, N_EDGE_TALLIES))
    for c in prange(n_chunks):
        first = c * CHUNK
        _rows(first, min(n, first + CHUNK) - first, start, degree, nbrs, score, tier, view,
              out_bl, out_low, out_pen, out_score, partial[c])
    return partial


# The bodies of the two parallel loops are functions of their own over one CHUNK, citizens and
# slots indexed by unsigned integers: numba then adds no negative-index wraparound and LLVM
# vectorises the first pass and unrolls the tie loop (measured ~20% faster than the same code
# inline in the prange loops). Sums and their order are those of the inline version.
@njit(error_model="numpy")
def _views(first, m, tier, blacklisted, observed, falsely, penal_mask, low_tier, view):
    for q in range(m):
        i = np.uint64(first + q)
        pen = ((observed[i] | falsely[i]) & penal_mask) != 0
        view[i] = (np.uint8(blacklisted[i]) | (np.uint8(pen) << np.uint8(1))
                   | (np.uint8(tier[i] <= low_tier) << np.uint8(2)) | (tier[i] << np.uint8(4)))


@njit(error_model="numpy")
def _rows(first, m, start, degree, nbrs, score, tier, view, out_bl, out_low, out_pen, out_score,
          part):
    t0 = t1 = t2 = t3 = t4 = 0.0
    for q in range(m):
        i = np.uint64(first + q)
        d = degree[i]
        si = float(score[i])
        if d == 0:
            out_bl[i] = 0
            out_low[i] = 0
            out_pen[i] = 0.0
            out_score[i] = score[i]
            continue
        own = np.uint8(tier[i] << np.uint8(4))
        ssum = 0.0
        b = np.uint64(start[i])
        e = b + np.uint64(d)
        if d < WIDE:
            acc = np.uint64(0)
            for p in range(b, e):
                k = np.uint64(nbrs[p])
                acc += COUNTS[view[k] ^ own]
                ssum += float(score[k])
            bl = acc & _MASK
            pen = (acc >> FIELD) & _MASK
            low = (acc >> (2 * FIELD)) & _MASK
            cross = d - np.int64(acc >> (3 * FIELD))
        else:
            bl = pen = low = cross = 0
            for p in range(b, e):
                k = np.uint64(nbrs[p])
                f = view[k]
                bl += f & 1
                pen += (f >> 1) & 1
                low += (f >> 2) & 1
                cross += (f ^ own) >> np.uint8(4) != 0
                ssum += float(score[k])
        out_bl[i] = bl
        out_low[i] = low
        out_pen[i] = pen / d
        out_score[i] = ssum / d
        t0 += d * si
        t1 += d * si * si
        t2 += si * ssum
        t3 += d
        t4 += cross
    part[0] = t0
    part[1] = t1
    part[2] = t2
    part[3] = t3
    part[4] = t4


def share(count: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Counts of neighbours as float32 shares of the degree (0 when isolated).

    The division is made in float64 and rounded once, as the scoring kernel does; a share read
    after the day's tie changes is capped at 1.
    """
    out = (count / np.maximum(degree, 1)).astype(np.float32)
    return np.minimum(out, np.float32(1), out=out)


@njit(inline="always")
def share_of(count, d):
    """One citizen's share (float32, 0 when isolated), as `share` computes it."""
    return np.float32(count / d) if d > 0 else np.float32(0.0)


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
