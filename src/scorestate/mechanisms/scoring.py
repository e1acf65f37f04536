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

BLOCK = 2048  # citizens per block of the kernel (a multiple of 8: changes are found by words)


def step(sim: Simulation) -> None:
    s, p = sim.state, sim.policy
    if not p.enabled:
        return
    sc, a = p.spec.scoring, p.spec.association
    before = sim.ledger.score_snapshot(s.score)
    changed = _kernel(s.score, s.tier, s.points_today, s.nbr_low, sim.graph.degree, s.nbr_score,
                      a.penalty, a.averaging, sc.drift, sc.initial, sc.minimum, sc.maximum,
                      p.tier_bounds, *_buffers(sim, s.score.shape[0]))
    sim.tally["tier_changes"] += int(changed.shape[0])
    sim.ledger.score_adjustments(sim, before)
    sim.ledger.decisions(sim, changed, "tier_change", value=s.tier[changed])


def _buffers(sim: Simulation, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per thread: a block's new scores, tiers and tier changes (bytes, and as 8-byte words);
    and room for every citizen's id (a block's changes land at its own offset). Kept between days."""
    threads = numba.config.NUMBA_NUM_THREADS
    buf = sim.scratch.get("scoring_new")
    if buf is None or buf.shape[0] != threads or sim.scratch["scoring_ids"].shape[0] != n:
        sim.scratch["scoring_new"] = np.empty((threads, BLOCK), np.float64)
        sim.scratch["scoring_tier"] = np.empty((threads, BLOCK), np.uint8)
        sim.scratch["scoring_diff"] = np.empty((threads, BLOCK // 8), np.uint64)
        sim.scratch["scoring_ids"] = np.empty(n, np.int64)
    return (sim.scratch["scoring_new"], sim.scratch["scoring_tier"], sim.scratch["scoring_diff"],
            sim.scratch["scoring_ids"])


@njit(parallel=True, cache=True)
def _kernel(score, tier, points_today, nbr_low, degree, nbr_score, penalty, averaging, drift,
            initial, lo, hi, bounds, new_buf, tier_buf, diff_buf, ids):
    """Update every score and tier; return the citizens whose tier changed, in id order."""
    n = score.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    count = np.empty(n_blocks, np.int64)  # not zeros: numba would fill it in a parallel loop
    for b in prange(n_blocks):
        count[b] = _block(b * BLOCK, min(n, (b + 1) * BLOCK) - b * BLOCK, score, tier, points_today,
                          nbr_low, degree, nbr_score, penalty, averaging, drift, initial, lo, hi,
                          bounds, new_buf[numba.get_thread_id()], tier_buf[numba.get_thread_id()],
                          diff_buf[numba.get_thread_id()], ids)
    return _gather(ids, count)


@njit
def _gather(ids, count):
    """The blocks' ids in block order. Not in the parallel kernel: numba would make each slice
    copy a parallel loop of its own, started once per block."""
    changed = np.empty(count.sum(), np.int64)
    at = 0
    for b in range(count.shape[0]):
        changed[at:at + count[b]] = ids[b * BLOCK:b * BLOCK + count[b]]
        at += count[b]
    return changed


# A function of its own over a block, citizens indexed by an unsigned `j`: numba adds no
# negative-index wraparound and LLVM vectorises the loops (see behaviour._block). Tiers are found
# a bound at a time over the block (the last bound the score reaches, as before), and changes
# by comparing old and new tiers 8 bytes at a time. error_model="numpy": no zero-degree check
# inside the loops (share_of never divides by zero).
@njit(error_model="numpy")
def _block(first, m, score, tier, points_today, nbr_low, degree, nbr_score, penalty, averaging,
           drift, initial, lo, hi, bounds, new, new_tier, diff_words, ids):
    """One block: scores and tiers written, ids of the tier changes at ids[first:]; their count."""
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
    for w in range((m + 7) // 8):
        if diff_words[w] != 0:
            for k in range(8 * w, 8 * w + 8):
                if diff[k] != 0:
                    ids[first + found] = first + k
                    found += 1
    return found


def initial_tiers(score: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    return (np.searchsorted(bounds, score, side="right") - 1).clip(0).astype(np.uint8)
