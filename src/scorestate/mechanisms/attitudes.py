"""Learning and attitudes (MODEL.md step 9).

"Perceived detection rises when the citizen or a neighbour is penalised and decays slowly.
Approval starts from demographics (higher among urban, educated, wealthier, older citizens:
Kostka 2019) and moves with benefits received, sanctions suffered or seen among friends ('as
the punitive tools become more tangible'), and visible leniency toward officials."

Approval is kept on the logit scale and pulled slowly back toward its initial value; hardship
(essentials, welfare or pension denied) adds to grievance, the latent propensity to dissent.

Reads: `points_today`, denials, listings, rewards, surcharges, `nbr_penalised`, the leniency
tally. A sanction's weight is its severity: penalty points in units of stake, a denial, a
listing, and a price paid above the normal one (by how far above), weighted by the scenario.
Writes: `perceived`, `approval`, `grievance`, `sanctions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from scorestate.mechanisms.gates import NO_SURCHARGES, SURCHARGES
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
                       sim.scenario.behaviour.points_unit, at.severity_denial,
                       at.severity_listing, at.severity_surcharge])
    payers, surcharge = sim.tally.get(SURCHARGES, NO_SURCHARGES)
    _kernel(sim.day, params, s.points_today, s.denied_today, s.listed_since, s.rewarded,
            s.nbr_penalised, c.approval0, s.perceived, s.approval, s.grievance, s.sanctions,
            payers, surcharge)


BLOCK = 4096  # citizens per block of the kernel


@njit(parallel=True, cache=True)
def _kernel(day, params, points_today, denied_today, listed_since, rewarded, nbr_penalised,
            approval0, perceived, approval, grievance, sanctions, payers, surcharge):
    """Blocks in parallel. The few who paid above the normal price (`payers`, in id order) are
    spread over a block's own array of surcharges; a block without any reads shared zeros, so
    the loop stays one branch-free pass and no column of every citizen is kept for them."""
    n = points_today.shape[0]
    none = np.zeros(BLOCK)
    for b in prange((n + BLOCK - 1) // BLOCK):
        first = b * BLOCK
        end = min(n, first + BLOCK)
        lo = np.searchsorted(payers, first)
        hi = np.searchsorted(payers, end)
        extra = none
        if hi > lo:
            extra = np.zeros(BLOCK)
            for q in range(lo, hi):
                extra[payers[q] - first] = surcharge[q]
        _block(first, end, day, params, points_today, denied_today, listed_since, rewarded,
               nbr_penalised, approval0, perceived, approval, grievance, sanctions, extra)


# A function of its own over a block, citizens indexed by an unsigned `j`, and every column
# stored unconditionally (the old value where nothing changes): numba adds no negative-index
# wraparound, the loop has no branch, and LLVM vectorises it (see behaviour._block).
# error_model="numpy": no check for a zero points unit (validated positive) inside the loop.
@njit(error_model="numpy")
def _block(first, end, day, params, points_today, denied_today, listed_since, rewarded,
           nbr_penalised, approval0, perceived, approval, grievance, sanctions, extra):
    decay, learn_own, learn_nbr, benefit, own, nbr, lenient, recovery, hardship, unit = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6], params[7],
        params[8], params[9])
    denial, listing, priced = params[10], params[11], params[12]
    for i in range(first, end):
        j = np.uint64(i)
        # severity of today's sanctions: penalty points in units of stake, a denial, a listing,
        # a price above the normal one (0 for those who paid none: the sum keeps its bits)
        severity = min(1.0, max(0.0, -points_today[j]) / unit)
        if denied_today[j] != 0:
            severity += denial
        if listed_since[j] == day:
            severity += listing
        severity += priced * extra[np.uint64(i - first)]
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
