"""Blacklist (MODEL.md step 6): entry by rule with a reason, exit after term and correction.

"Entry by score threshold or by named events (court judgment unpaid, refusing a mandated
dose, ...) with a reason; exit after a minimum term and completed correction (the 'ritual of
public apology and behavioral correction'); senior officials may be exempt."

Exits are decided before entries, and a citizen who left today is not re-listed the same day.
Each reason is a condition (see `columns.py`); the first matching reason is recorded. A citizen
whose exit rule holds while an entry reason still holds (a term served with the judgment still
unpaid) is not let go for a day to be listed again the next: the term is extended, starting
again from today with that reason, and counted as an extension, not as an exit and an entry.

"Optional appeals reverse false attributions ... (what a judge would change)": a listed citizen
whose appeal was upheld today (`appeals`, before scoring) leaves the list when, with the false
points returned, no entry reason holds any more; one that still holds (a true offence, an
unpaid judgment, the neighbours) keeps them listed until the exit rule lets them go.

Reads: the day's columns, the day's upheld appeals. Writes: `blacklisted`, `listed_since`,
`list_reason`, `corrections`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from scorestate.state import NEVER

if TYPE_CHECKING:
    from scorestate.columns import ColumnEnv
    from scorestate.engine import Simulation

EXIT_SERVED, EXIT_DISMANTLED, EXIT_APPEAL = 0, 1, 2
REASON_SEED = 127  # listed on day 0 by `blacklist.seed_share` (cascade experiments)


def step(sim: Simulation) -> None:
    s, p, n = sim.state, sim.policy, sim.n
    if not p.enabled:
        return
    env = sim.columns()
    cond = p.conditions
    listed = np.flatnonzero(s.blacklisted)  # the exit rule is read for the listed only
    leaving = listed[cond.exit(env.subset(listed), listed.shape[0])]
    candidates = ~s.blacklisted
    due = _standing_reason(sim, env, leaving, exempt=True)
    _extend(sim, leaving[due >= 0], due[due >= 0])
    release(sim, leaving[due < 0], EXIT_SERVED)
    cleared = _cleared_on_appeal(sim, env)
    release(sim, cleared, EXIT_APPEAL)
    sim.tally["appeals_delisted"] += int(cleared.shape[0])
    if not cond.entry:
        return
    for k, (reason, rule) in enumerate(cond.entry):
        match = _take(candidates, np.ascontiguousarray(rule(env, n)))
        if match.shape[0] == 0:
            continue
        exempt = cond.exempt(env.subset(match), match.shape[0])  # read for the matched only
        spared = match[exempt]
        sim.tally["officials_spared"] += int(np.count_nonzero(sim.citizens.rank[spared] > 0))
        entering = match[~exempt]
        s.blacklisted[entering] = True
        s.listed_since[entering] = sim.day
        s.list_reason[entering] = k
        s.corrections[entering] = 0
        sim.tally["blacklist_inflow"] += int(entering.shape[0])
        sim.tally[f"blacklist_inflow_{reason}"] += int(entering.shape[0])
        sim.ledger.decisions(sim, entering, "blacklist_entry", value=k)


def _cleared_on_appeal(sim: Simulation, env: ColumnEnv) -> np.ndarray:
    """The listed citizens whose appeal was upheld today and whom no entry reason holds now."""
    upheld = sim.upheld_today
    upheld = upheld[sim.state.blacklisted[upheld]]
    return upheld[_standing_reason(sim, env, upheld) < 0]


def _standing_reason(sim: Simulation, env: ColumnEnv, citizens: np.ndarray, *,
                     exempt: bool = False) -> np.ndarray:
    """For each of `citizens`, the first entry reason that holds for them now (its index), or
    -1; with `exempt`, -1 also for those the exemption rule spares (as it would at entry)."""
    cond, m = sim.policy.conditions, citizens.shape[0]
    reason = np.full(m, -1, np.int64)
    if m == 0 or not cond.entry:
        return reason
    sub = env.subset(citizens)
    for k, (_name, rule) in reversed(list(enumerate(cond.entry))):  # the first one wins
        reason[rule(sub, m)] = k
    if exempt:
        reason[cond.exempt(sub, m) & (reason >= 0)] = -1
    return reason


def _extend(sim: Simulation, citizens: np.ndarray, reasons: np.ndarray) -> None:
    """A new term from today for citizens whose exit came while an entry reason still held."""
    s = sim.state
    s.listed_since[citizens] = sim.day
    s.list_reason[citizens] = reasons
    s.corrections[citizens] = 0
    sim.tally["blacklist_extended"] += int(citizens.shape[0])
    sim.ledger.decisions(sim, citizens, "blacklist_extension", value=reasons)


def release(sim: Simulation, citizens: np.ndarray, why: int) -> None:
    """Take citizens off the list (served their term, or the system was dismantled)."""
    s = sim.state
    s.blacklisted[citizens] = False
    s.listed_since[citizens] = NEVER
    s.list_reason[citizens] = -1
    sim.tally["blacklist_outflow"] += int(citizens.shape[0])
    sim.ledger.decisions(sim, citizens, "blacklist_exit", value=why)


BLOCK = 4096  # citizens per block of `_take`


@njit(cache=True)
def _take(candidates, hit):
    """The candidates that `hit` holds for, in id order, taken out of `candidates`.

    Entries are rare: a branch-free count per block (vectorised) finds the few blocks to scan.
    One thread: waking a second costs more than the pass.
    """
    n = candidates.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    count = np.empty(n_blocks, np.int64)
    for b in range(n_blocks):
        count[b] = _count(b * BLOCK, min(n, (b + 1) * BLOCK), candidates, hit)
    match = np.empty(count.sum(), np.int64)
    at = 0
    for b in range(n_blocks):
        if count[b]:
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                if candidates[i] & hit[i]:
                    candidates[i] = False
                    match[at] = i
                    at += 1
    return match


# A function of its own over a block, citizens indexed by an unsigned `j`: numba adds no
# negative-index wraparound and LLVM vectorises the count (see behaviour._block).
@njit
def _count(first, end, candidates, hit):
    c = 0
    for i in range(first, end):
        j = np.uint64(i)
        c += candidates[j] & hit[j]
    return c
