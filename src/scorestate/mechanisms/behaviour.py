"""Behaviour (MODEL.md step 2): each citizen decides what to do today.

"Each citizen decides, with probabilities from a logit of traits, demographics and incentives
... Incentives enter as perceived detection x points at stake x how much the citizen cares
about its score ... The same logit without the deterrence term gives each citizen's latent
('would have') probability."

Services (travel, a loan, a flat, a car, ...) are attempted by a daily chance varied by rate
ratios by demographic group, and cut where the citizen knows the service is shut to it: a
known block deters (the court list's blocked rail purchases are a twentieth of what attempts
at the full rate would give).

Reads: traits, demographics, perceived detection, yesterday's gates (`state.denied`), health
and debt state, the court's delay in the policy in force.
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
from scorestate.population import care
from scorestate.state import NEVER
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
    EVENTS,
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
    from scorestate.scenario.schema import Services

# Indices into the parameter vector `bp`.
(DOSE_B, DOSE_W, HP_B, HP_W, ALC_B, ALC_W, TOB_B, TOB_W, GAM_B, GAM_W, INF_B, INF_W, DIS_B,
 DIS_W, CH_ONLINE, CH_PUBLIC, VOL_B, VOL_W, APO_B, APO_W, DEBT_P, DEBT_F, REPAY_P, DETER,
 UNIT, WALLET_P, INTERVAL, REFUSAL, CLAIM_EVERY, WELFARE_Q, RETIRE, COURT_DELAY) = range(32)
# Then, for each logit decision d (D_DOSE .. D_APOLOGY, below), its demographic terms at
# DEMO + 3 d: per city dweller, per income quintile above the middle, per decade of age above 40.
DEMO = 32
N_PARAMS = DEMO + 3 * 9

# Services attempted by plain daily chance (the others come with an act or a claim day). Each
# draws from its own stream, SERVICE_ATTEMPT + the service's index, whatever its place here.
PLAIN_SERVICES = np.array([S[s] for s in ("essentials", "retail", "rail", "flight", "loan",
                                          "flat", "car", "public_services", "pharmacy")], np.int64)
# Columns of the demand table, a row per service: the daily chance, the rate ratio while shut,
# whether demographic ratios vary it (else it is the same for all), and those ratios as tables
# by settlement (rural, urban), by income quintile (0 to 5; no citizen has 0) and by age in years.
CHANCE, SHUT, GRADED, BY_URBAN, BY_QUINTILE, BY_AGE = 0, 1, 2, 3, 5, 11
DEMAND_COLUMNS = BY_AGE + 256


def parameters(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """The society's behaviour as a vector for the kernel; the court's delay is the policy's,
    set each morning from the policy in force (`step`)."""
    b = sim.scenario.behaviour
    bp = np.zeros(N_PARAMS)
    for d, (bi, wi), logit in ((D_DOSE, (DOSE_B, DOSE_W), b.health_dose),
                               (D_HP, (HP_B, HP_W), b.health_purchase),
                               (D_ALC, (ALC_B, ALC_W), b.alcohol), (D_TOB, (TOB_B, TOB_W), b.tobacco),
                               (D_GAM, (GAM_B, GAM_W), b.gaming), (D_INF, (INF_B, INF_W), b.infraction),
                               (D_DISSENT, (DIS_B, DIS_W), b.dissent),
                               (D_VOL, (VOL_B, VOL_W), b.volunteer),
                               (D_APOLOGY, (APO_B, APO_W), b.apology)):
        bp[bi], bp[wi] = logit.base, logit.weight
        bp[DEMO + 3 * d: DEMO + 3 * d + 3] = logit.urban, logit.income, logit.age
    bp[CH_ONLINE], bp[CH_PUBLIC] = b.dissent_channels[0], b.dissent_channels[1]
    bp[DEBT_P], bp[DEBT_F], bp[REPAY_P] = b.debt_default, b.debt_default_income_factor, b.debt_repay
    bp[DETER], bp[UNIT], bp[WALLET_P] = b.deterrence, b.points_unit, b.wallet_pressure
    bp[INTERVAL], bp[REFUSAL] = b.dose_interval_days, b.dose_refusal_days
    bp[CLAIM_EVERY], bp[WELFARE_Q] = b.services.claim_every_days, b.services.welfare_max_quintile
    bp[RETIRE], bp[COURT_DELAY] = sim.scenario.population.retirement_age, court_delay(sim)
    return bp, demand_table(b.services)


def demand_table(services: Services) -> np.ndarray:
    """Each plain service's daily chance and how it varies (the `demand` columns above); the
    other services' rows stay 0, as nobody attempts them by chance."""
    table = np.zeros((len(SERVICES), DEMAND_COLUMNS))
    for name, demand in services.demand:
        row = table[S[name]]
        row[CHANCE], row[SHUT] = getattr(services, name), demand.while_shut
        row[GRADED] = (demand.urban, demand.income, demand.age) != (1.0, 1.0, 1.0)
        row[BY_URBAN:BY_URBAN + 2] = 1.0, demand.urban
        row[BY_QUINTILE:BY_AGE] = demand.income ** (np.arange(6.0) - 3.0)
        row[BY_AGE:] = demand.age ** ((np.arange(256.0) - 40.0) / 10.0)
    return table


def court_delay(sim: Simulation) -> int:
    """Days from a default to the judgment, under the policy in force (a phase may change it)."""
    return sim.policy.spec.surveillance.court_delay_days


def step(sim: Simulation) -> None:
    c, s = sim.citizens, sim.state
    sim.behaviour_params[COURT_DELAY] = court_delay(sim)
    # Stakes are what citizens believe: after a dismantling they still fear the last rules in
    # force, weighted by a perceived detection that only decays slowly (hysteresis can emerge).
    p = sim.believed
    _kernel(sim.seed, sim.day, p is not None, sim.behaviour_params, sim.service_demand,
            sim.policy.points if p is None else p.points,
            sim.policy.visibility if p is None else p.visibility, c.urban, c.rank, c.quintile,
            c.age, c.conformity, c.health, c.alcohol, c.tobacco, c.gaming, c.risk_aversion,
            sim.care_weights, c.smart_home,
            s.grievance, s.perceived, s.denied, s.blacklisted, s.days_since_dose, s.debt_since,
            s.judgment, s.acts, s.latent, s.used, s.denied_today, _buffers(sim))


def _buffers(sim: Simulation) -> np.ndarray:
    """A block of working words and of attempted services per thread, kept between days."""
    return sim.buffer("behaviour_words", (numba.config.NUMBA_NUM_THREADS, 2, BLOCK), np.int64)


# Citizens are decided a block at a time. One loop over a block makes every citizen's seven
# daily logit decisions: the draws, both logits (latent and deterred) and both comparisons,
# settled from the draw's `rng.logit_bounds` without branches, so that LLVM vectorises it. What
# the table leaves open (one decision in 2048, about 0.3% of citizens), and the few citizens
# with a due dose, a listing or a debt that moves today, are then decided one by one with the
# exact `rng.below_sigmoid` and the same logits. Each draw keeps its key (seed, day, stream, citizen).
BLOCK = 2048
# A citizen's working word: today's acts (bits 0..15), latent acts (LAT + event), what is left
# to decide one by one (UNK + D_*), and a shut wallet.
LAT = 16
UNK = 32
(D_DOSE, D_HP, D_ALC, D_TOB, D_GAM, D_INF, D_VOL, D_DISSENT, D_APOLOGY, D_DEBT) = range(10)
WALLET = 48
ACTS = (1 << LAT) - 1
assert len(EVENTS) <= LAT
# Per decision: the logit's parameters, its event (dissent: the channel's), its draw stream.
D_BASE = np.array([DOSE_B, HP_B, ALC_B, TOB_B, GAM_B, INF_B, VOL_B, DIS_B, APO_B], np.int64)
D_WEIGHT = np.array([DOSE_W, HP_W, ALC_W, TOB_W, GAM_W, INF_W, VOL_W, DIS_W, APO_W], np.int64)
D_EVENT = np.array([EV_DOSE, EV_HEALTH_PURCHASE, EV_ALCOHOL, EV_TOBACCO, EV_GAMING, EV_INFRACTION,
                    EV_VOLUNTEER, EV_DISSENT_ONLINE, EV_APOLOGY], np.int64)
D_STREAM = np.array([rng.DOSE, rng.HEALTH_PURCHASE, rng.ALCOHOL, rng.TOBACCO, rng.GAMING,
                     rng.INFRACTION, rng.VOLUNTEER, rng.DISSENT, rng.APOLOGY], np.int64)
# Purchases: the act's event and the service whose gate it meets.
PURCHASES = ((EV_HEALTH_PURCHASE, SV_PHARMACY), (EV_ALCOHOL, SV_ALCOHOL), (EV_TOBACCO, SV_TOBACCO))


@njit(inline="always")
def _stake(enabled: bool, deter: float, unit: float, perceived: float, care: float) -> float:
    """What a point at stake weighs: deterrence x perceived detection x care, per unit."""
    return deter * perceived * care / unit if enabled else 0.0


@njit(inline="always")
def _logits(b0: float, w: float, trait: float, stake: float, pts: float,
            v: float) -> tuple[float, float]:
    """The latent logit b0 + w (trait - 0.5), and the actual one: plus stake x points x visibility."""
    x0 = b0 + w * (trait - 0.5)
    return x0, x0 + stake * pts * v


@njit(inline="always")
def _channel(bits: int, online: int, online_public: int) -> int:
    """The channel of dissent a draw picks (bounds from `rng.draw_bound`)."""
    if bits >> np.uint64(11) < online:
        return EV_DISSENT_ONLINE
    return EV_DISSENT_PUBLIC if bits >> np.uint64(11) < online_public else EV_DISSENT_HOME


@njit(inline="always")
def _params(bp: np.ndarray, points: np.ndarray, vis: np.ndarray, base: int, weight: int,
            ev: int, d: int) -> tuple[float, ...]:
    """A decision's logit parameters, its event's points by rank and visibility by settlement,
    its demographic terms: scalars the vectorised loop selects from, where array reads would be
    gathers."""
    return (bp[base], bp[weight], points[0, ev], points[1, ev], points[2, ev], vis[ev, 0],
            vis[ev, 1], bp[DEMO + 3 * d], bp[DEMO + 3 * d + 1], bp[DEMO + 3 * d + 2])


@njit(inline="always")
def _base(b0: float, cu: float, ci: float, ca: float, urban: bool, quintile: int, age: int) -> float:
    """The intercept with the citizen's demographic terms: per city dweller, per income quintile
    above the middle one, per decade of age above 40."""
    return b0 + cu * urban + ci * (np.float64(quintile) - 3.0) + ca * (np.float64(age) - 40.0) * 0.1


@njit(inline="always")
def _pts(r: int, c: tuple[float, ...]) -> float:
    """points[rank, ev] of `_params` (rank is 0, 1 or 2)."""
    return c[2] if r == 0 else (c[3] if r == 1 else c[4])


@njit(inline="always")
def _decide(bits: int, x0: float, x: float, ev: int, d: int) -> int:
    """Word bits of decision d (event ev) from the table; one draw for both logits."""
    bounds = rng.logit_bounds(bits)
    lat, lat_known = rng.settle_below_sigmoid(bounds, x0)
    act, act_known = rng.settle_below_sigmoid(bounds, x)
    return ((np.int64(act) << ev) | (np.int64(lat) << (ev + LAT))
            | (np.int64(not (lat_known & act_known)) << (UNK + d)))


@njit(inline="always")
def _act(key: int, i: int, trait: float, stake: float, r: int, urban: bool, q: int, a: int,
         c: tuple[float, ...], ev: int, d: int) -> int:
    """An act without a gate or condition (a purchase meets its gate later)."""
    x0, x = _logits(_base(c[0], c[7], c[8], c[9], urban, q, a), c[1], trait, stake, _pts(r, c),
                    c[6] if urban else c[5])
    return _decide(rng.draw_bits(key, i), x0, x, ev, d)


@njit(inline="always")
def _settle(wd: int, u: float, x0: float, x: float, ev: int) -> int:
    """A decision decided exactly: `u < sigmoid(x)` for the act, `u < sigmoid(x0)` latent."""
    wd &= ~((1 << ev) | (1 << (ev + LAT)))
    return (wd | (np.int64(rng.below_sigmoid(u, x)) << ev)
            | (np.int64(rng.below_sigmoid(u, x0)) << (ev + LAT)))


@njit(parallel=True, cache=True)
def _kernel(seed, day, enabled, bp, demand, points, vis, urban, rank, quintile, age,
            conformity, health, alcohol, tobacco, gaming, risk_aversion, care_w, smart_home, grievance,
            perceived, denied, blacklisted, days_since_dose, debt_since, judgment, acts_out, latent_out,
            used_out, denied_out, words):
    n = urban.shape[0]
    keys = np.empty(64, np.uint64)
    for k in range(64):
        keys[k] = rng.stream_key(seed, day, k)
    # by quintile (1 to 5): the lowest's chance, times the factor per step up; a factor of 0 leaves
    # defaults to the lowest quintile alone (0 ** 0 = 1). No citizen has quintile 0: its entry,
    # the lowest's chance, only keeps 0 ** -1 from being computed.
    default_p = np.empty(256)
    for q in range(256):
        default_p[q] = bp[DEBT_P] * bp[DEBT_F] ** max(q - 1, 0)
    for blk in prange((n + BLOCK - 1) // BLOCK):
        first = blk * BLOCK
        _block(first, min(n, first + BLOCK) - first, day, enabled, keys, bp, demand, default_p,
               points, vis, urban, rank, quintile, age, conformity, health, alcohol, tobacco,
               gaming, risk_aversion, care_w, smart_home, grievance, perceived, denied, blacklisted,
               days_since_dose, debt_since, judgment, acts_out, latent_out, used_out, denied_out,
               words[numba.get_thread_id()])


# A function of its own rather than the body of the parallel loop, and citizens indexed by an
# unsigned `j`: numba then adds no negative-index wraparound, loads stay consecutive and LLVM
# vectorises the loops (checking that arrays do not overlap). error_model="numpy": no check
# for a zero points unit (validated positive) inside the loops.
@njit(error_model="numpy")
def _block(first, m, day, enabled, keys, bp, demand, default_p, points, vis, urban, rank,
           quintile, age, conformity, health, alcohol, tobacco, gaming, risk_aversion, care_w,
           smart_home, grievance, perceived, denied, blacklisted, days_since_dose, debt_since, judgment,
           acts_out, latent_out, used_out, denied_out, words):
    wd = words[0]
    hits = words[1]
    kh, ka, kt = keys[rng.HEALTH_PURCHASE], keys[rng.ALCOHOL], keys[rng.TOBACCO]
    kg, ki, kv = keys[rng.GAMING], keys[rng.INFRACTION], keys[rng.VOLUNTEER]
    kc, kd, kdebt = keys[rng.DISSENT_CHANNEL], keys[rng.DISSENT], keys[rng.DEBT_DEFAULT]
    c_hp = _params(bp, points, vis, HP_B, HP_W, EV_HEALTH_PURCHASE, D_HP)
    c_alc = _params(bp, points, vis, ALC_B, ALC_W, EV_ALCOHOL, D_ALC)
    c_tob = _params(bp, points, vis, TOB_B, TOB_W, EV_TOBACCO, D_TOB)
    c_gam = _params(bp, points, vis, GAM_B, GAM_W, EV_GAMING, D_GAM)
    c_inf = _params(bp, points, vis, INF_B, INF_W, EV_INFRACTION, D_INF)
    c_vol = _params(bp, points, vis, VOL_B, VOL_W, EV_VOLUNTEER, D_VOL)
    c_on = _params(bp, points, vis, DIS_B, DIS_W, EV_DISSENT_ONLINE, D_DISSENT)
    c_pub = _params(bp, points, vis, DIS_B, DIS_W, EV_DISSENT_PUBLIC, D_DISSENT)
    c_home = _params(bp, points, vis, DIS_B, DIS_W, EV_DISSENT_HOME, D_DISSENT)
    deter, unit, wallet = bp[DETER], bp[UNIT], bp[WALLET_P]
    online = rng.draw_bound(bp[CH_ONLINE])
    online_public = rng.draw_bound(bp[CH_ONLINE] + bp[CH_PUBLIC])
    may_default = rng.draw_bound(default_p.max())  # those who may default draw again below
    interval = int(bp[INTERVAL])
    # purchases (their gates are met below), acts without a gate, and dissent: a channel,
    # then whether to speak, deterred by what that channel exposes
    for k in range(m):
        i = first + k
        j = np.uint64(i)
        stake = _stake(enabled, deter, unit, perceived[j],
                       care(care_w, conformity[j], risk_aversion[j]))
        r = rank[j]
        ub = urban[j]
        q, a = quintile[j], age[j]
        ev = _channel(rng.draw_bits(kc, i), online, online_public)
        if ev == EV_DISSENT_ONLINE:
            pts, v = _pts(r, c_on), c_on[6] if ub else c_on[5]
        elif ev == EV_DISSENT_PUBLIC:
            pts, v = _pts(r, c_pub), c_pub[6] if ub else c_pub[5]
        else:
            pts, v = _pts(r, c_home), (c_home[6] if ub else c_home[5]) if smart_home[j] else 0.0
        x0, x = _logits(_base(c_on[0], c_on[7], c_on[8], c_on[9], ub, q, a), c_on[1], grievance[j],
                        stake, pts, v)
        wd[k] = (_act(kh, i, health[j], stake, r, ub, q, a, c_hp, EV_HEALTH_PURCHASE, D_HP)
                 | _act(ka, i, alcohol[j], stake, r, ub, q, a, c_alc, EV_ALCOHOL, D_ALC)
                 | _act(kt, i, tobacco[j], stake, r, ub, q, a, c_tob, EV_TOBACCO, D_TOB)
                 | _act(kg, i, gaming[j], stake, r, ub, q, a, c_gam, EV_GAMING, D_GAM)
                 | _act(ki, i, conformity[j], stake, r, ub, q, a, c_inf, EV_INFRACTION, D_INF)
                 | _act(kv, i, conformity[j], stake, r, ub, q, a, c_vol, EV_VOLUNTEER, D_VOL)
                 | _decide(rng.draw_bits(kd, i), x0, x, ev, D_DISSENT))
    # left to decide one by one: a due dose, an apology while listed, a debt that moves today
    for k in range(m):
        i = first + k
        j = np.uint64(i)
        debt = (debt_since[j] != NEVER) | (rng.draw_bits(kdebt, i) >> np.uint64(11) < may_default)
        wd[k] |= ((np.int64(days_since_dose[j] >= interval) << (UNK + D_DOSE))
                  | (np.int64(blacklisted[j]) << (UNK + D_APOLOGY))
                  | (np.int64(debt) << (UNK + D_DEBT)) | (np.int64(denied[j] & 1) << WALLET))
    # services attempted by daily chance (gates are met below), less often where the citizen
    # knows the service is shut to it, and by demographic group where rate ratios are set
    hits[:m] = 0
    for s in range(PLAIN_SERVICES.shape[0]):
        svc = PLAIN_SERVICES[s]
        key = keys[rng.SERVICE_ATTEMPT + svc]
        row = demand[svc]
        if row[GRADED]:
            for k in range(m):
                j = np.uint64(first + k)
                p = (row[CHANCE] * row[BY_URBAN + np.int64(urban[j])] * row[BY_QUINTILE + quintile[j]]
                     * row[BY_AGE + age[j]] * (row[SHUT] if denied[j] >> svc & 1 else 1.0))
                hits[k] |= (np.int64(rng.draw_bits(key, first + k) >> np.uint64(11) < rng.draw_bound(p))
                            << svc)
            continue
        bound = rng.draw_bound(row[CHANCE])
        shut = rng.draw_bound(row[CHANCE] * row[SHUT])
        if shut == bound:
            for k in range(m):
                hits[k] |= np.int64(rng.draw_bits(key, first + k) >> np.uint64(11) < bound) << svc
            continue
        for k in range(m):
            b = shut if denied[np.uint64(first + k)] >> svc & 1 else bound
            hits[k] |= np.int64(rng.draw_bits(key, first + k) >> np.uint64(11) < b) << svc
    # one by one: the scheduled dose ("if ... a body has not received its scheduled preparation
    # ..."), the ritual of apology and correction while listed, what the table left open; debts:
    # income shocks, repayment, and the court's judgment after a delay
    traits = (health, health, alcohol, tobacco, gaming, conformity, conformity, grievance, conformity)
    for k in range(m):
        if wd[k] >> UNK & ((1 << (D_DEBT + 1)) - 1) == 0:
            continue
        i = first + k
        r = rank[i]
        ub = 1 if urban[i] else 0
        stake = _stake(enabled, deter, unit, perceived[i],
                       care(care_w, conformity[i], risk_aversion[i]))
        for d in range(D_DEBT):
            if wd[k] >> (UNK + d) & 1:
                ev = D_EVENT[d]
                if d == D_DISSENT:
                    ev = _channel(rng.draw_bits(kc, i), online, online_public)
                v = vis[ev, ub] if ev != EV_DISSENT_HOME or smart_home[i] else 0.0
                b0 = _base(bp[D_BASE[d]], bp[DEMO + 3 * d], bp[DEMO + 3 * d + 1],
                           bp[DEMO + 3 * d + 2], urban[i], quintile[i], age[i])
                x0, x = _logits(b0, bp[D_WEIGHT[d]], traits[d][i], stake, points[r, ev], v)
                if d == D_DOSE and wd[k] >> WALLET & 1:
                    x += wallet
                wd[k] = _settle(wd[k], rng.uniform(keys[D_STREAM[d]], i), x0, x, ev)
        if wd[k] >> (UNK + D_DEBT) & 1:
            if debt_since[i] == NEVER:
                if rng.uniform(kdebt, i) < default_p[quintile[i]]:
                    debt_since[i] = day
            elif rng.uniform(keys[rng.DEBT_REPAY], i) < bp[REPAY_P]:
                debt_since[i] = NEVER
                judgment[i] = False
            # `>=`: a phase that shortens the delay judges the debts already older than it; a
            # delay of 0 judges a default the day it happens
            if (debt_since[i] != NEVER and not judgment[i]
                    and day - debt_since[i] >= int(bp[COURT_DELAY])):
                wd[k] |= 1 << EV_COURT
                judgment[i] = True
    # claims on claim days
    claim_every = int(bp[CLAIM_EVERY])
    for i in range(first + (claim_every - (day + first) % claim_every) % claim_every,
                   first + m, claim_every):
        if quintile[i] <= bp[WELFARE_Q]:
            hits[i - first] |= 1 << SV_WELFARE
        if age[i] >= bp[RETIRE]:
            hits[i - first] |= 1 << SV_PENSION
    # purchases meet their gates; a taken dose resets the count, a long lapse is a refusal
    refusal = int(bp[REFUSAL])
    for k in range(m):
        j = np.uint64(first + k)
        closed = np.int64(denied[j])
        a = wd[k]
        h = hits[k]
        for ev, svc in PURCHASES:
            h |= (a >> ev & 1) << svc
            a &= ~((a >> ev & closed >> svc & 1) << ev)
        dsd = days_since_dose[j]
        if a & (1 << EV_DOSE):
            dsd = 0
        elif dsd < 30000:
            dsd += 1
            if dsd - interval == refusal:
                a |= 1 << EV_REFUSED
        days_since_dose[j] = dsd
        wd[k] = a
        hits[k] = h
    for k in range(m):
        j = np.uint64(first + k)
        acts_out[j] = wd[k] & ACTS
        latent_out[j] = wd[k] >> LAT & ACTS
        closed = np.int64(denied[j])
        used_out[j] = hits[k] & ~closed
        denied_out[j] = hits[k] & closed
