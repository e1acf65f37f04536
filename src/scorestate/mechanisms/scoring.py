"""Scoring in real time (MODEL.md step 5).

"score += sum of rule points of the day's observed events x enforcement multiplier (by
official rank) - association penalty (a function of the neighbours' tiers or scores: 'if you
associate with low rated individuals your own creditworthiness drops') + drift toward a
baseline (optional); clipped to the scale. Tiers from thresholds."

Association has two forms: a penalty per day times the share of low-tier neighbours, and
DeGroot averaging toward the neighbours' mean score. Both read the start-of-day snapshot in
`nbr_low` / `nbr_score`, so the update is synchronous.

Reads: `points_today` (leniency already applied), neighbour aggregates. Writes: `score`, `tier`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import njit, prange

from scorestate.mechanisms.neighbours import share_of

if TYPE_CHECKING:
    from scorestate.engine import Simulation

BLOCK = 2048  # citizens per block of the kernel (a multiple of 64: changes are kept as bits)


def step(sim: Simulation) -> None:
    s, p = sim.state, sim.policy
    if not p.enabled:
        return
    sc = p.spec.scoring
    before = sim.ledger.score_snapshot(s.score)
    changed = _kernel(s.score, s.tier, s.points_today, s.nbr_low, sim.graph.degree, s.nbr_score,
                      p.association_penalty, p.association_averaging, sc.drift, sc.initial,
                      sc.minimum, sc.maximum, p.tier_bounds, *_buffers(sim, s.score.shape[0]))
    sim.tally["tier_changes"] += int(changed.shape[0])
    sim.ledger.score_adjustments(sim, before)
    sim.ledger.decisions(sim, changed, "tier_change", value=s.tier[changed])


def _buffers(sim: Simulation, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per thread: a block's new scores, tiers and tier changes (bytes, and as 8-byte words);
    and a bit per citizen for the changes (a block writes its own words). Kept between days."""
    threads = numba.config.NUMBA_NUM_THREADS
    return (sim.buffer("scoring_new", (threads, BLOCK), np.float64),
            sim.buffer("scoring_tier", (threads, BLOCK), np.uint8),
            sim.buffer("scoring_diff", (threads, BLOCK // 8), np.uint64),
            sim.buffer("scoring_changed", ((n + 63) // 64,), np.uint64))


@njit(parallel=True, cache=True)
def _kernel(score, tier, points_today, nbr_low, degree, nbr_score, penalty, averaging, drift,
            initial, lo, hi, bounds, new_buf, tier_buf, diff_buf, changed_bits):
    """Update every score and tier; return the citizens whose tier changed, in id order."""
    n = score.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    count = np.empty(n_blocks, np.int64)  # not zeros: numba would fill it in a parallel loop
    for b in prange(n_blocks):
        count[b] = _block(b * BLOCK, min(n, (b + 1) * BLOCK) - b * BLOCK, score, tier, points_today,
                          nbr_low, degree, nbr_score, penalty, averaging, drift, initial, lo, hi,
                          bounds, new_buf[numba.get_thread_id()], tier_buf[numba.get_thread_id()],
                          diff_buf[numba.get_thread_id()], changed_bits)
    return _gather(changed_bits, count)


@njit
def _gather(changed_bits, count):
    """The changed citizens in id order, from the bits of the blocks that have any (tier changes
    are rare). Not in the parallel kernel: it would start a parallel loop of its own."""
    changed = np.empty(count.sum(), np.int64)
    at = 0
    for b in range(count.shape[0]):
        if count[b] == 0:
            continue
        for w in range(b * (BLOCK // 64), min(changed_bits.shape[0], (b + 1) * (BLOCK // 64))):
            word = changed_bits[w]
            k = 0
            while word:
                if word & np.uint64(1):
                    changed[at] = 64 * w + k
                    at += 1
                word >>= np.uint64(1)
                k += 1
    return changed


# A function of its own over a block, citizens indexed by an unsigned `j`: numba adds no
# negative-index wraparound and LLVM vectorises the loops (see behaviour._block). Tiers are found
# a bound at a time over the block (the last bound the score reaches, as before), and changes
# by comparing old and new tiers 8 bytes at a time. error_model="numpy": no zero-degree check
# inside the loops (share_of never divides by zero).
@njit(error_model="numpy")
def _block(first, m, score, tier, points_today, nbr_low, degree, nbr_score, penalty, averaging,
           drift, initial, lo, hi, bounds, new, new_tier, diff_words, changed_bits):
    """One block: scores and tiers written, a bit per tier change in its words of
    `changed_bits`; returns the number of changes."""
    for k in range(m):
        j = np.uint64(first + k)
        old = float(score[j])
        x = (old + points_today[j] - penalty * share_of(nbr_low[j], degree[j])
             + averaging * (nbr_score[j] - old) + drift * (initial - old))
        x = min(max(x, lo), hi)
        score[j] = x
        new[k] = x
        new_tier[k] = 0
    for t in range(1, bounds.shape[0]):
        bound = bounds[t]
        for k in range(m):
            new_tier[k] = t if new[k] >= bound else new_tier[k]
    diff = diff_words.view(np.uint8)
    diff[m:] = 0
    for k in range(m):
        j = np.uint64(first + k)
        diff[k] = tier[j] ^ new_tier[k]
        tier[j] = new_tier[k]
    found = 0
    for w in range((m + 63) // 64):
        bits = np.uint64(0)
        for b in range(8 * w, 8 * w + 8):
            if diff_words[b] != 0:
                for k in range(8 * b, 8 * b + 8):
                    if diff[k] != 0:
                        bits |= np.uint64(1) << np.uint64(k - 64 * w)
                        found += 1
        changed_bits[first // 64 + w] = bits
    return found


def initial_tiers(score: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    return (np.searchsorted(bounds, score, side="right") - 1).clip(0).astype(np.uint8)
