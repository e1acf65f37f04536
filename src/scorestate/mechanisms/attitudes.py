"""Learning and attitudes (MODEL.md step 9).

"Perceived detection rises when the citizen or a neighbour is penalised and decays slowly.
Approval starts from demographics (higher among urban, educated, wealthier, older citizens:
Kostka 2019) and moves with benefits received, sanctions suffered or seen among friends ('as
the punitive tools become more tangible'), and visible leniency toward officials."

Approval is kept on the logit scale and pulled slowly back toward its initial value; hardship
(essentials, welfare or pension denied) adds to grievance, the latent propensity to dissent.

Reads: `points_today`, denials, listings, rewards, `nbr_penalised`, the leniency tally.
A sanction's weight is its severity: penalty points in units of stake, a denial, a listing.
Writes: `perceived`, `approval`, `grievance`, `sanctions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate.vocabulary import SV_ESSENTIALS, SV_PENSION, SV_WELFARE

if TYPE_CHECKING:
    from scorestate.engine import Simulation

HARDSHIP = (1 << SV_ESSENTIALS) | (1 << SV_WELFARE) | (1 << SV_PENSION)


def step(sim: Simulation) -> None:
    at, s, c = sim.scenario.attitudes, sim.state, sim.citizens
    n_officials = max(1, sim.officials.shape[0])
    leniency_signal = at.leniency_visibility * sim.tally["officials_spared"] / n_officials
    params = np.array([at.perceived_decay, at.learn_own, at.learn_neighbours,
                       at.approval_benefit, at.approval_own_sanction,
                       at.approval_neighbour_sanction, at.approval_leniency * leniency_signal,
                       at.approval_recovery, at.grievance_hardship,
                       sim.scenario.behaviour.points_unit])
    _kernel(sim.day, params, s.points_today, s.denied_today, s.listed_since, s.rewarded,
            s.nbr_penalised, c.approval0, s.perceived, s.approval, s.grievance, s.sanctions)


BLOCK = 4096  # citizens per block of the kernel


@njit(parallel=True, cache=True)
def _kernel(day, params, points_today, denied_today, listed_since, rewarded, nbr_penalised,
            approval0, perceived, approval, grievance, sanctions):
    n = points_today.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        _block(b * BLOCK, min(n, (b + 1) * BLOCK), day, params, points_today, denied_today,
               listed_since, rewarded, nbr_penalised, approval0, perceived, approval, grievance,
               sanctions)


# A function of its own over a block, citizens indexed by an unsigned `j`, and every column
# stored unconditionally (the old value where nothing changes): numba adds no negative-index
# wraparound, the loop has no branch, and LLVM vectorises it (see behaviour._block).
# error_model="numpy": no check for a zero points unit (validated positive) inside the loop.
@njit(error_model="numpy")
def _block(first, end, day, params, points_today, denied_today, listed_since, rewarded,
           nbr_penalised, approval0, perceived, approval, grievance, sanctions):
    decay, learn_own, learn_nbr, benefit, own, nbr, lenient, recovery, hardship, unit = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6], params[7],
        params[8], params[9])
    for i in range(first, end):
        j = np.uint64(i)
        # severity of today's sanctions: penalty points in units of stake, a denial, a listing
        severity = min(1.0, max(0.0, -points_today[j]) / unit)
        if denied_today[j] != 0:
            severity += 1.0
        if listed_since[j] == day:
            severity += 1.0
        severity = min(severity, 1.0)
        p = perceived[j] * (1.0 - decay)
        p += (1.0 - p) * (learn_own * severity + learn_nbr * nbr_penalised[j])
        perceived[j] = min(p, 1.0)
        a = approval[j]
        a += benefit * rewarded[j] - own * severity - nbr * nbr_penalised[j] - lenient
        a += recovery * (approval0[j] - a)
        approval[j] = a
        s = sanctions[j]
        sanctions[j] = s + ((severity > 0) & (s < 65535))
        g = grievance[j]
        grievance[j] = min(1.0, g + hardship) if denied_today[j] & HARDSHIP else g
