"""Behaviour (MODEL.md step 2): each citizen decides what to do today.

"Each citizen decides, with probabilities from a logit of traits, demographics and incentives
... Incentives enter as perceived detection x points at stake x how much the citizen cares
about its score ... The same logit without the deterrence term gives each citizen's latent
('would have') probability."

Reads: traits, perceived detection, yesterday's gates (`state.denied`), health and debt state.
Writes: `acts`, `latent` (same draw, no incentive: chilling is measured per citizen),
`used` and `denied_today` service masks, days since dose, debts and court judgments.
Streams: DOSE, HEALTH_PURCHASE, ALCOHOL, TOBACCO, GAMING, INFRACTION, DISSENT,
DISSENT_CHANNEL, VOLUNTEER, APOLOGY, DEBT_DEFAULT, DEBT_REPAY, SERVICE_ATTEMPT + service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import njit, prange

from scorestate import rng
from scorestate.vocabulary import (
    EV_ALCOHOL,
    EV_APOLOGY,
    EV_COURT,
    EV_DISSENT_HOME,
    EV_DISSENT_ONLINE,
    EV_DISSENT_PUBLIC,
    EV_DOSE,
    EV_GAMING,
    EV_HEALTH_PURCHASE,
    EV_INFRACTION,
    EV_REFUSED,
    EV_TOBACCO,
    EV_VOLUNTEER,
    SERVICES,
    SV_ALCOHOL,
    SV_PENSION,
    SV_PHARMACY,
    SV_TOBACCO,
    SV_WELFARE,
)
from scorestate.vocabulary import SERVICE_INDEX as S

if TYPE_CHECKING:
    from scorestate.engine import Simulation

# Indices into the parameter vector `bp`.
(DOSE_B, DOSE_W, HP_B, HP_W, ALC_B, ALC_W, TOB_B, TOB_W, GAM_B, GAM_W, INF_B, INF_W, DIS_B,
 DIS_W, CH_ONLINE, CH_PUBLIC, VOL_B, VOL_W, APO_B, APO_W, DEBT_P, DEBT_F, REPAY_P, DETER,
 UNIT, WALLET_P, INTERVAL, REFUSAL, CLAIM_EVERY, WELFARE_Q, RETIRE, COURT_DELAY) = range(32)
N_PARAMS = 32

# Services attempted by plain daily chance (the others come with an act or a claim day).
PLAIN_SERVICES = np.array([S[s] for s in ("essentials", "retail", "rail", "flight", "loan",
                                          "flat", "car", "public_services")], np.int64)


def parameters(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    b = sim.scenario.behaviour
    sv = sim.scenario.policy.surveillance
    bp = np.zeros(N_PARAMS)
    for (bi, wi), logit in {(DOSE_B, DOSE_W): b.health_dose, (HP_B, HP_W): b.health_purchase,
                            (ALC_B, ALC_W): b.alcohol, (TOB_B, TOB_W): b.tobacco,
                            (GAM_B, GAM_W): b.gaming, (INF_B, INF_W): b.infraction,
                            (DIS_B, DIS_W): b.dissent, (VOL_B, VOL_W): b.volunteer,
                            (APO_B, APO_W): b.apology}.items():
        bp[bi], bp[wi] = logit.base, logit.weight
    bp[CH_ONLINE], bp[CH_PUBLIC] = b.dissent_channels[0], b.dissent_channels[1]
    bp[DEBT_P], bp[DEBT_F], bp[REPAY_P] = b.debt_default, b.debt_default_income_factor, b.debt_repay
    bp[DETER], bp[UNIT], bp[WALLET_P] = b.deterrence, b.points_unit, b.wallet_pressure
    bp[INTERVAL], bp[REFUSAL] = b.dose_interval_days, b.dose_refusal_days
    bp[CLAIM_EVERY], bp[WELFARE_Q] = b.services.claim_every_days, b.services.welfare_max_quintile
    bp[RETIRE], bp[COURT_DELAY] = sim.scenario.population.retirement_age, sv.court_delay_days
    service_p = np.zeros(len(SERVICES))
    for name in SERVICES:
        service_p[S[name]] = getattr(b.services, name, 0.0)
    return bp, service_p


def step(sim: Simulation) -> None:
    c, s = sim.citizens, sim.state
    # Stakes are what citizens believe: after a dismantling they still fear the last rules in
    # force, weighted by a perceived detection that only decays slowly (hysteresis can emerge).
    p = sim.believed
    _kernel(sim.seed, sim.day, p is not None, sim.behaviour_params, sim.service_params,
            sim.policy.points if p is None else p.points,
            sim.policy.visibility if p is None else p.visibility, c.urban, c.rank, c.quintile,
            c.age, c.conformity, c.health, c.alcohol, c.tobacco, c.gaming, c.care, c.smart_home,
            s.grievance, s.perceived, s.denied, s.blacklisted, s.days_since_dose, s.debt_since,
            s.judgment, s.acts, s.latent, s.used, s.denied_today, _buffers(sim))


def _buffers(sim: Simulation) -> np.ndarray:
    """One block of draws per thread, kept between days."""
    shape = (numba.config.NUMBA_NUM_THREADS, BUFFERED.shape[0], BLOCK)
    buf = sim.scratch.get("behaviour_draws")
    if buf is None or buf.shape != shape:
        buf = sim.scratch["behaviour_draws"] = np.empty(shape)
    return buf


# Draws every citizen needs every day, made a block of citizens at a time in vectorised
# loops before the decisions use them; draws only some citizens need (a due dose, an apology,
# a repayment) are made where they are used. Each draw keeps its key (seed, day, stream, id).
BLOCK = 256
BUFFERED = np.array([rng.HEALTH_PURCHASE, rng.ALCOHOL, rng.TOBACCO, rng.GAMING, rng.INFRACTION,
                     rng.VOLUNTEER, rng.DISSENT_CHANNEL, rng.DISSENT, rng.DEBT_DEFAULT]
                    + [rng.SERVICE_ATTEMPT + s for s in PLAIN_SERVICES], np.int64)
(U_HP, U_ALC, U_TOB, U_GAM, U_INF, U_VOL, U_CHANNEL, U_DISSENT, U_DEBT) = range(9)
U_SERVICE = 9


@njit(inline="always")
def _choose(u: float, x0: float, x: float, bit: int, acts: int, latent: int) -> tuple[int, int]:
    """Same draw against the latent and the actual probability (common random numbers)."""
    if rng.surely_not_below_sigmoid(u, max(x0, x)):  # the usual case: neither would happen
        return acts, latent
    if rng.below_sigmoid(u, x0):
        latent |= bit
    if rng.below_sigmoid(u, x):
        acts |= bit
    return acts, latent


@njit(inline="always")
def _act(u, b0, w, trait, stake, pts, v, ev, a, lat):
    """An act without a gate: sigmoid(b0 + w (trait - 0.5) [+ stake x points x visibility])."""
    x0 = b0 + w * (trait - 0.5)
    x = x0 + stake * pts * v
    return _choose(u, x0, x, 1 << ev, a, lat)


@njit(inline="always")
def _purchase(u, b0, w, trait, stake, pts, v, ev, svc, closed, a, lat, used, den):
    """A purchase: the intent is an act's decision; then the service's gate serves or denies it."""
    x0 = b0 + w * (trait - 0.5)
    x = x0 + stake * pts * v
    intent, lat = _choose(u, x0, x, 1 << ev, 0, lat)
    if intent:
        if closed & (1 << svc):
            den |= 1 << svc
        else:
            a |= intent
            used |= 1 << svc
    return a, lat, used, den


@njit(parallel=True, cache=True)
def _kernel(seed, day, enabled, bp, service_p, points, vis, urban, rank, quintile, age,
            conformity, health, alcohol, tobacco, gaming, care, smart_home, grievance, perceived,
            denied, blacklisted, days_since_dose, debt_since, judgment, acts_out, latent_out,
            used_out, denied_out, buffers):
    n = urban.shape[0]
    keys = np.empty(64, np.uint64)
    for k in range(64):
        keys[k] = rng.stream_key(seed, day, k)
    n_buf = BUFFERED.shape[0]
    bkeys = np.empty(n_buf, np.uint64)
    for k in range(n_buf):
        bkeys[k] = keys[BUFFERED[k]]
    interval = int(bp[INTERVAL])
    claim_every = int(bp[CLAIM_EVERY])
    n_blocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        ub_ = buffers[numba.get_thread_id()]
        first = blk * BLOCK
        m = min(n, first + BLOCK) - first
        for r in range(n_buf):
            key = bkeys[r]
            for k in range(m):
                ub_[r, k] = rng.uniform(key, first + k)
        for k in range(m):
            i = first + k
            r = rank[i]
            ub = 1 if urban[i] else 0
            closed = denied[i]
            stake = bp[DETER] * perceived[i] * care[i] / bp[UNIT] if enabled else 0.0
            a = 0
            lat = 0
            used = 0
            den = 0
            # scheduled dose: "if ... a body has not received its scheduled preparation ..."
            dsd = days_since_dose[i]
            if dsd >= interval:
                x0 = bp[DOSE_B] + bp[DOSE_W] * (health[i] - 0.5)
                x = x0 + stake * points[r, EV_DOSE] * vis[EV_DOSE, ub]
                if closed & 1:
                    x += bp[WALLET_P]
                a, lat = _choose(rng.uniform(keys[rng.DOSE], i), x0, x, 1 << EV_DOSE, a, lat)
            if a & (1 << EV_DOSE):
                dsd = 0
            elif dsd < 30000:
                dsd += 1
                if dsd - interval == int(bp[REFUSAL]):
                    a |= 1 << EV_REFUSED
            days_since_dose[i] = dsd
            # purchases that pass through a service gate: intend, then meet the gate
            a, lat, used, den = _purchase(
                ub_[U_HP, k], bp[HP_B], bp[HP_W], health[i], stake, points[r, EV_HEALTH_PURCHASE],
                vis[EV_HEALTH_PURCHASE, ub], EV_HEALTH_PURCHASE, SV_PHARMACY, closed, a, lat, used, den)
            a, lat, used, den = _purchase(
                ub_[U_ALC, k], bp[ALC_B], bp[ALC_W], alcohol[i], stake, points[r, EV_ALCOHOL],
                vis[EV_ALCOHOL, ub], EV_ALCOHOL, SV_ALCOHOL, closed, a, lat, used, den)
            a, lat, used, den = _purchase(
                ub_[U_TOB, k], bp[TOB_B], bp[TOB_W], tobacco[i], stake, points[r, EV_TOBACCO],
                vis[EV_TOBACCO, ub], EV_TOBACCO, SV_TOBACCO, closed, a, lat, used, den)
            # acts without a gate
            a, lat = _act(ub_[U_GAM, k], bp[GAM_B], bp[GAM_W], gaming[i], stake,
                          points[r, EV_GAMING], vis[EV_GAMING, ub], EV_GAMING, a, lat)
            a, lat = _act(ub_[U_INF, k], bp[INF_B], bp[INF_W], conformity[i], stake,
                          points[r, EV_INFRACTION], vis[EV_INFRACTION, ub], EV_INFRACTION, a, lat)
            a, lat = _act(ub_[U_VOL, k], bp[VOL_B], bp[VOL_W], conformity[i], stake,
                          points[r, EV_VOLUNTEER], vis[EV_VOLUNTEER, ub], EV_VOLUNTEER, a, lat)
            # dissent: a channel, then whether to speak, deterred by what that channel exposes
            uc = ub_[U_CHANNEL, k]
            if uc < bp[CH_ONLINE]:
                ev = EV_DISSENT_ONLINE
                v = vis[ev, ub]
            elif uc < bp[CH_ONLINE] + bp[CH_PUBLIC]:
                ev = EV_DISSENT_PUBLIC
                v = vis[ev, ub]
            else:
                ev = EV_DISSENT_HOME
                v = vis[ev, ub] if smart_home[i] else 0.0
            x0 = bp[DIS_B] + bp[DIS_W] * (grievance[i] - 0.5)
            x = x0 + stake * points[r, ev] * v
            a, lat = _choose(ub_[U_DISSENT, k], x0, x, 1 << ev, a, lat)
            # the ritual of apology and correction, while listed
            if blacklisted[i]:
                ev = EV_APOLOGY
                x0 = bp[APO_B] + bp[APO_W] * (conformity[i] - 0.5)
                x = x0 + stake * points[r, ev] * vis[ev, ub]
                a, lat = _choose(rng.uniform(keys[rng.APOLOGY], i), x0, x, 1 << ev, a, lat)
            # debts: income shocks, repayment, and the court's judgment after a delay
            if debt_since[i] < 0:
                p = bp[DEBT_P] * bp[DEBT_F] ** (quintile[i] - 1)
                if ub_[U_DEBT, k] < p:
                    debt_since[i] = day
            elif rng.uniform(keys[rng.DEBT_REPAY], i) < bp[REPAY_P]:
                debt_since[i] = -1
                judgment[i] = False
            elif day - debt_since[i] == int(bp[COURT_DELAY]):
                a |= 1 << EV_COURT
                judgment[i] = True
            # services attempted by plain daily chance, and claims on claim days
            for s in range(PLAIN_SERVICES.shape[0]):
                svc = PLAIN_SERVICES[s]
                hit = (ub_[U_SERVICE + s, k] < service_p[svc]) << svc  # branch-free: p is often large
                den |= hit & closed
                used |= hit & ~closed
            if (day + i) % claim_every == 0:
                for svc, eligible in ((SV_WELFARE, quintile[i] <= bp[WELFARE_Q]),
                                      (SV_PENSION, age[i] >= bp[RETIRE])):
                    if eligible:
                        if closed & (1 << svc):
                            den |= 1 << svc
                        else:
                            used |= 1 << svc
            acts_out[i] = a
            latent_out[i] = lat
            used_out[i] = used
            denied_out[i] = den
