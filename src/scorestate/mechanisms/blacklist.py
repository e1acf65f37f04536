"""Blacklist (MODEL.md step 6): entry by rule with a reason, exit after term and correction.

"Entry by score threshold or by named events (court judgment unpaid, refusing a mandated
dose, ...) with a reason; exit after a minimum term and completed correction (the 'ritual of
public apology and behavioral correction'); senior officials may be exempt."

Exits are decided before entries, and a citizen who left today is not re-listed the same day.
Each reason is a condition (see `columns.py`); the first matching reason is recorded.

Reads: the day's columns. Writes: `blacklisted`, `listed_since`, `list_reason`, `corrections`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scorestate.engine import Simulation

EXIT_SERVED, EXIT_DISMANTLED = 0, 1
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
    release(sim, leaving, EXIT_SERVED)
    if not cond.entry:
        return
    for k, (reason, rule) in enumerate(cond.entry):
        match = np.flatnonzero(candidates & rule(env, n))
        if match.shape[0] == 0:
            continue
        exempt = cond.exempt(env.subset(match), match.shape[0])  # read for the matched only
        spared = match[exempt]
        sim.tally["officials_spared"] += int(np.count_nonzero(sim.citizens.rank[spared] > 0))
        entering = match[~exempt]
        candidates[match] = False
        s.blacklisted[entering] = True
        s.listed_since[entering] = sim.day
        s.list_reason[entering] = k
        s.corrections[entering] = 0
        sim.tally["blacklist_inflow"] += int(entering.shape[0])
        sim.tally[f"blacklist_inflow_{reason}"] += int(entering.shape[0])
        sim.ledger.decisions(sim, entering, "blacklist_entry", value=np.full(entering.shape[0], k))


def release(sim: Simulation, citizens: np.ndarray, why: int) -> None:
    """Take citizens off the list (served their term, or the system was dismantled)."""
    s = sim.state
    s.blacklisted[citizens] = False
    s.listed_since[citizens] = -1
    s.list_reason[citizens] = -1
    sim.tally["blacklist_outflow"] += int(citizens.shape[0])
    sim.ledger.decisions(sim, citizens, "blacklist_exit", value=np.full(citizens.shape[0], why))
