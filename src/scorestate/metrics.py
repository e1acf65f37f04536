"""Measurement (MODEL.md step 10): daily metrics, overall and by group.

One kernel tallies everything a day needs into per-chunk partial sums of a fixed chunk size,
added in chunk order, so the numbers are bit-identical whatever the thread count. Group tallies
are kept for the 120 cells settlement x education x quintile x rank and summed into each
grouping afterwards. Results are preallocated arrays, one slot per day, returned as Polars
frames.

Every metric is the end of the day's, except two read from the neighbour pass: score
assortativity and the share of ties across tiers are measured at the start of the day, before
the day's scoring and tie changes (measuring them at its end would take a second pass over
every tie each day).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numba import njit, prange

from scorestate.expf import expf
from scorestate.mechanisms.neighbours import assortativity
from scorestate.network import components as network_components
from scorestate.population import N_GROUPS
from scorestate.vocabulary import (
    EV_DISSENT_HOME,
    EV_DISSENT_ONLINE,
    EV_DISSENT_PUBLIC,
    EVENT_INDEX,
    EVENTS,
    GROUPINGS,
    SERVICES,
    SV_ESSENTIALS,
)

if TYPE_CHECKING:
    from scorestate.engine import Simulation

CHUNK = 65536
N_EVENTS = len(EVENTS)
DISSENT_MASK = (1 << EV_DISSENT_ONLINE) | (1 << EV_DISSENT_PUBLIC) | (1 << EV_DISSENT_HOME)
BINS = 4096
# scalar tallies
(T_LISTED, T_FROZEN, T_COMPLIANT, T_APPROVAL, T_PERCEIVED, T_GRIEVANCE, T_SCORE, T_INNOCENT_LISTED,
 T_DENIED_ANY, T_DISSENT, T_DISSENT_LATENT, T_PENALISED, T_PENALISED_INNOCENT, T_LISTED_DEGREE,
 T_FALSELY_ANY, T_LISTED_ISOLATED, T_MISATTRIBUTED, T_REWARDED, T_DEGREE) = range(19)
N_SCALARS = 19
# group tallies
GROUP_METRICS = ("population", "blacklist_share", "approval_mean", "denied_share", "dissent_rate",
                 "dissent_latent_rate", "score_mean", "wallet_frozen_share",
                 "innocent_blacklisted_share", "false_attribution_rate", "penalised_rate")
N_GROUP = len(GROUP_METRICS)
RATE_EVENTS = ("health_dose", "health_purchase", "alcohol", "tobacco", "gaming", "infraction",
               "volunteer", "dissent_online", "dissent_public", "dissent_home", "apology")

# The headline metrics of a run's last day (`scorestate run --json` prints these).
HEADLINE = ("blacklist_share", "approval_mean", "dissent_rate", "dissent_latent_rate",
            "alcohol_rate", "alcohol_latent_rate", "score_mean", "score_assortativity",
            "wallet_frozen_share", "denied_share", "false_attribution_share",
            "innocent_blacklisted_share", "health_compliance_rate", "cross_tier_tie_share",
            "blacklisted_degree_ratio", "perceived_mean")


SUB = 2048  # citizens per block of a chunk: its slices stay in cache, its counts fit in FIELD bits
FIELD = 12  # bits per count packed into a group word, five counts to a word
RUN = 255  # citizens per run of byte counters (a byte holds 255)
# The block's passes index slices from 0: a loop over `range(lo, hi)` of a whole array does not
# vectorise (the index might be negative, so every access checks for wraparound).


@njit(inline="always")
def _spread(byte):
    """The 8 bits of a byte as the 8 bytes of a word (bit k -> byte k), branch-free."""
    x = (byte * np.uint64(0x0101010101010101)) & np.uint64(0x8040201008040201)
    return ((x + np.uint64(0x7F7F7F7F7F7F7F7F)) >> np.uint64(7)) & np.uint64(0x0101010101010101)


@njit(inline="always")
def _count_bits(masks, out):
    """Add the set bits of the 16 low bits of at most RUN masks to out[0:16], position by position."""
    low = high = np.uint64(0)
    for i in range(masks.shape[0]):
        m = np.uint64(masks[i])
        low += _spread(m & np.uint64(0xFF))
        high += _spread((m >> np.uint64(8)) & np.uint64(0xFF))
    for k in range(8):
        out[k] += np.int64((low >> np.uint64(8 * k)) & np.uint64(0xFF))
        out[8 + k] += np.int64((high >> np.uint64(8 * k)) & np.uint64(0xFF))


@njit(inline="always")
def _flag(x, k):
    """A flag as the k-th FIELD-bit count of a group word."""
    return np.uint64(x) << np.uint64(FIELD * k)


@njit(inline="always")
def _field(word, k):
    return np.int64((word >> np.uint64(FIELD * k)) & np.uint64((1 << FIELD) - 1))


@njit(parallel=True, cache=True)
def _tally(acts, latent, observed, falsely, misattributed, denied_today, denied, used, rewarded,
           blacklisted, score, tier, offences, approval, perceived, grievance, days_since_dose,
           group, degree, compliant_limit, penal_mask, score_min, bin_width, ev, svc, sc, grp,
           tiers, hist):
    """The day's tallies in per-chunk partial sums (fixed CHUNK, summed in chunk order).

    Counts are integers, exact in any order: a block of a chunk counts them in branch-free
    passes (bits of masks as byte counters, a citizen's group flags packed into two words that
    are added to its group's). The float sums (approval, perception, grievance, score, overall
    and by group) are added citizen by citizen within a chunk, so the totals do not depend on
    the number of threads. The partial sums go to the buffers ev .. hist, one row per chunk
    (kept by the Recorder: fresh ones would be paged in every day); each chunk writes its rows.
    """
    n = acts.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    n_tiers = tiers.shape[2]
    penal = np.uint64(penal_mask)
    dissent = np.uint64(DISSENT_MASK)
    for c in prange(n_chunks):
        cnt = np.zeros(N_SCALARS, np.int64)
        bits = np.zeros((6, 16), np.int64)
        g_cnt = np.zeros((N_GROUPS, N_GROUP), np.int64)
        g_words = np.zeros((N_GROUPS, 2), np.uint64)
        g_appr = np.zeros(N_GROUPS)
        g_score = np.zeros(N_GROUPS)
        t_cnt = np.zeros((2, n_tiers), np.int64)
        words = np.empty((2, SUB), np.uint64)
        bins = np.empty(SUB, np.int64)
        sig = np.empty(SUB)
        h = hist[c]
        h[:] = 0
        f_appr = f_perc = f_griev = f_score = 0.0
        for lo in range(c * CHUNK, min(n, (c + 1) * CHUNK), SUB):
            hi = min(n, lo + SUB, (c + 1) * CHUNK)
            a, lat, o, f = acts[lo:hi], latent[lo:hi], observed[lo:hi], falsely[lo:hi]
            dt, u = denied_today[lo:hi], used[lo:hi]
            for r in range(0, hi - lo, RUN):
                _count_bits(a[r:r + RUN], bits[0])
                _count_bits(lat[r:r + RUN], bits[1])
                _count_bits(o[r:r + RUN], bits[2])
                _count_bits(f[r:r + RUN], bits[3])
                _count_bits(dt[r:r + RUN], bits[4])
                _count_bits(u[r:r + RUN], bits[5])
            listed_, offences_, denied_ = blacklisted[lo:hi], offences[lo:hi], denied[lo:hi]
            dose_, degree_, mis_, rew_ = (days_since_dose[lo:hi], degree[lo:hi],
                                          misattributed[lo:hi], rewarded[lo:hi])
            score_, tier_, group_ = score[lo:hi], tier[lo:hi], group[lo:hi]
            compliant = pen_innocent = listed_degree = listed_isolated = mis = rew = degrees = 0
            for k in range(hi - lo):
                listed = listed_[k]
                innocent = offences_[k] == 0
                f_k = np.uint64(f[k])
                pen = ((np.uint64(o[k]) | f_k) & penal) != 0
                frozen = (np.uint64(denied_[k]) >> np.uint64(SV_ESSENTIALS)) & np.uint64(1)
                # the counts of GROUP_METRICS: 0, 1, 3, 4, 5 in word 0; 7, 8, 9, 10 in word 1
                words[0, k] = (_flag(1, 0) | _flag(listed, 1) | _flag(dt[k] != 0, 2)
                               | _flag((np.uint64(a[k]) & dissent) != 0, 3)
                               | _flag((np.uint64(lat[k]) & dissent) != 0, 4))
                words[1, k] = (_flag(frozen, 0) | _flag(listed and innocent, 1)
                               | _flag(f_k != 0, 2) | _flag(pen, 3))
                compliant += dose_[k] <= compliant_limit
                pen_innocent += pen and innocent
                listed_degree += degree_[k] if listed else 0
                listed_isolated += listed and degree_[k] == 0
                mis += mis_[k] != 0
                rew += rew_[k]
                degrees += degree_[k]
                b = int((float(score_[k]) - score_min) / bin_width)
                bins[k] = min(max(b, 0), BINS - 1)
            cnt[T_COMPLIANT] += compliant
            cnt[T_PENALISED_INNOCENT] += pen_innocent
            cnt[T_LISTED_DEGREE] += listed_degree
            cnt[T_LISTED_ISOLATED] += listed_isolated
            cnt[T_MISATTRIBUTED] += mis
            cnt[T_REWARDED] += rew
            cnt[T_DEGREE] += degrees
            for t in range(n_tiers):
                k_t = d_t = 0
                for k in range(hi - lo):
                    on = tier_[k] == t
                    k_t += on
                    d_t += degree_[k] if on else 0
                t_cnt[0, t] += k_t
                t_cnt[1, t] += d_t
            # the approvals' sigmoids in a loop that vectorises, then the float sums, citizen by
            # citizen in id order, and the counts added by group
            appr_, perc_, griev_ = approval[lo:hi], perceived[lo:hi], grievance[lo:hi]
            for k in range(hi - lo):
                sig[k] = 1.0 / (1.0 + expf(-appr_[k]))
            for k in range(hi - lo):
                g = group_[k]
                appr = sig[k]
                s_k = float(score_[k])
                f_appr += appr
                f_perc += perc_[k]
                f_griev += griev_[k]
                f_score += s_k
                g_appr[g] += appr
                g_score[g] += s_k
                g_words[g, 0] += words[0, k]
                g_words[g, 1] += words[1, k]
                h[bins[k]] += 1
            for g in range(N_GROUPS):
                w0, w1 = g_words[g, 0], g_words[g, 1]
                g_words[g, 0] = g_words[g, 1] = 0
                g_cnt[g, 0] += _field(w0, 0)
                g_cnt[g, 1] += _field(w0, 1)
                g_cnt[g, 3] += _field(w0, 2)
                g_cnt[g, 4] += _field(w0, 3)
                g_cnt[g, 5] += _field(w0, 4)
                g_cnt[g, 7] += _field(w1, 0)
                g_cnt[g, 8] += _field(w1, 1)
                g_cnt[g, 9] += _field(w1, 2)
                g_cnt[g, 10] += _field(w1, 3)
        for g in range(N_GROUPS):
            cnt[T_LISTED] += g_cnt[g, 1]
            cnt[T_DENIED_ANY] += g_cnt[g, 3]
            cnt[T_DISSENT] += g_cnt[g, 4]
            cnt[T_DISSENT_LATENT] += g_cnt[g, 5]
            cnt[T_FROZEN] += g_cnt[g, 7]
            cnt[T_INNOCENT_LISTED] += g_cnt[g, 8]
            cnt[T_FALSELY_ANY] += g_cnt[g, 9]
            cnt[T_PENALISED] += g_cnt[g, 10]
        for m in range(4):
            for k in range(N_EVENTS):
                ev[c, m, k] = bits[m, k]
        for m in range(2):
            for k in range(16):
                svc[c, m, k] = bits[4 + m, k]
        for k in range(N_SCALARS):
            sc[c, k] = cnt[k]
        sc[c, T_APPROVAL] = f_appr
        sc[c, T_PERCEIVED] = f_perc
        sc[c, T_GRIEVANCE] = f_griev
        sc[c, T_SCORE] = f_score
        for g in range(N_GROUPS):
            for k in range(N_GROUP):
                grp[c, g, k] = g_cnt[g, k]
            grp[c, g, 2] = g_appr[g]
            grp[c, g, 6] = g_score[g]
        for t in range(n_tiers):
            tiers[c, 0, t] = t_cnt[0, t]
            tiers[c, 1, t] = t_cnt[1, t]
    return (ev.sum(axis=0), svc.sum(axis=0), sc.sum(axis=0), grp.sum(axis=0),
            tiers.sum(axis=0), hist.sum(axis=0))


@njit(inline="always")
def _block_sum(a, lo, n):
    """numpy's sum of a block of at most 128: eight partial sums, then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    while i < lo + n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(i, lo + n):
        res += a[j]
    return res


@njit(cache=True)
def _pairwise_sum(a):
    """numpy's float sum of a (`ndarray.sum`, bit for bit): halves, split at a multiple of 8,
    until a block holds at most 128. The halving runs on an explicit stack (numba's cache
    cannot load a recursive function)."""
    n = a.shape[0]
    if n <= 128:
        return _block_sum(a, 0, n)
    lo = np.empty(64, np.int64)
    size = np.empty(64, np.int64)
    stage = np.empty(64, np.int64)
    value = np.empty(64)
    lo[0], size[0], stage[0] = 0, n, 0
    top = 1
    values = 0
    while top:
        f = top - 1
        if size[f] <= 128:
            value[values] = _block_sum(a, lo[f], size[f])
            values += 1
            top -= 1
            continue
        half = size[f] // 2
        half -= half % 8
        if stage[f] < 2:  # push the left half, then the right one
            lo[top] = lo[f] + half * stage[f]
            size[top] = size[f] - half if stage[f] else half
            stage[top] = 0
            stage[f] += 1
            top += 1
        else:
            values -= 1
            value[values - 1] += value[values]
            top -= 1
    return value[0]


@njit(cache=True)
def _quantiles_gini(hist, lo, width):
    """Score deciles 1, 5 and 9 (bin centres) and the Gini of the binned scores (shifted to be
    non-negative); one kernel instead of a dozen numpy calls a day, with numpy's sums."""
    bins = hist.shape[0]
    total = hist.sum()
    centres = lo + (np.arange(bins) + 0.5) * width
    q = np.empty(3)
    cum = 0
    k = 0
    for j, f in enumerate((0.1, 0.5, 0.9)):
        target = f * total
        while k < bins - 1 and cum + hist[k] < target:
            cum += hist[k]
            k += 1
        q[j] = centres[k]
    # an empty bin adds +0.0 to every sum below, which changes no bit: only filled bins are visited
    shift = min(lo, 0.0)
    mass = np.zeros(bins)
    for k in range(bins):
        if hist[k]:
            mass[k] = hist[k] * (centres[k] - shift)
    mass_total = _pairwise_sum(mass)
    if mass_total <= 0:
        return q[0], q[1], q[2], 0.0
    terms = np.zeros(bins)
    run = before = 0.0
    for k in range(bins):
        if hist[k]:
            run += mass[k]
            after = run / mass_total
            terms[k] = hist[k] / total * (after + before)
            before = after
    return q[0], q[1], q[2], 1.0 - _pairwise_sum(terms)


_SIZES = tuple(len(values) for values in GROUPINGS.values())  # the axes of the cell index
_G0, _G1, _G2, _G3 = _SIZES
_ROW0 = tuple(sum(_SIZES[:k]) for k in range(4))  # each grouping's first row
_RURAL = _ROW0[list(GROUPINGS).index("settlement")]  # then urban
_Q1 = _ROW0[list(GROUPINGS).index("income_quintile")]  # then q2 .. q5


@njit(inline="always")
def _ratio(a, b):
    return a / b if b else np.nan


@njit(cache=True)
def _group_rows(grp, out):
    """Each grouping's rows (population, then means and shares) from the 120 cells into out,
    and the disparate impacts rural/urban and q1/q5 of the blacklist share.

    A row sums its cells in the order of the cell index (numpy's
    `reshape(2, 4, 5, 3, -1).sum(axis=...)` adds them so), which keeps every bit.
    """
    sums = np.zeros((out.shape[0], N_GROUP))
    cell = 0
    for a in range(_G0):
        for b in range(_G1):
            for c in range(_G2):
                for d in range(_G3):
                    for m in range(N_GROUP):
                        x = grp[cell, m]
                        sums[_ROW0[0] + a, m] += x
                        sums[_ROW0[1] + b, m] += x
                        sums[_ROW0[2] + c, m] += x
                        sums[_ROW0[3] + d, m] += x
                    cell += 1
    share = np.empty(out.shape[0])
    for r in range(out.shape[0]):
        pop = sums[r, 0]
        out[r, 0] = pop
        for m in range(1, N_GROUP):
            out[r, m] = sums[r, m] / pop if pop else np.nan
        share[r] = sums[r, 1] / max(pop, 1.0)
    return _ratio(share[_RURAL], share[_RURAL + 1]), _ratio(share[_Q1], share[_Q1 + 4])


def histogram_low(minimum: float, initial: float, width: float) -> float:
    """The score histogram's lower edge: within half a bin of the scale's minimum, and placed so
    that the starting score is a bin's centre. Percentiles are bin centres, so a society still
    at its starting score reads exactly that score (not the centre of the bin it falls in)."""
    k = min(max(math.floor((initial - minimum) / width), 0), BINS - 1)
    return initial - (k + 0.5) * width


def _safe(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


class Recorder:
    """Preallocated daily metrics and group metrics for one run."""

    def __init__(self, sim: Simulation) -> None:
        days = sim.scenario.run.days
        self.days = days
        spec = sim.timeline[0][1].spec
        self.tier_names = spec.tiers.names  # every phase's: the schema refuses a phase changing them
        reasons: list[str] = []
        for _, p in sim.timeline:
            reasons += [r for r in p.spec.blacklist.entry if r not in reasons]
        self.reasons = reasons
        self.priced = [SERVICES[s] for s in sim.prices]
        names = ["policy_enabled", "score_mean", "score_p10", "score_p50", "score_p90",
                 "score_gini"]
        names += [f"tier_share_{t}" for t in self.tier_names]
        names += ["blacklist_share", "blacklist_inflow", "blacklist_outflow", "blacklist_extended"]
        names += [f"blacklist_inflow_{r}" for r in reasons]
        names += ["wallet_frozen_share", "denied_share"] + [f"denied_{s}" for s in SERVICES]
        names += [f"used_{s}" for s in SERVICES]
        names += ["health_compliance_rate"]
        for e in RATE_EVENTS:
            names += [f"{e}_rate", f"{e}_latent_rate"]
        names += ["dissent_rate", "dissent_latent_rate", "chilling",
                  "observed_penalties", "false_attributions", "misattributions",
                  "false_attribution_share", "innocent_blacklisted_share", "innocent_penalised",
                  "penalised_share", "approval_mean", "perceived_mean", "grievance_mean",
                  # score_assortativity, cross_tier_tie_share: the start of the day's (neighbours)
                  "mean_degree", "score_assortativity", "cross_tier_tie_share",
                  "blacklisted_degree_ratio", "blacklisted_isolated_share", "components",
                  "largest_component_share", "ties_dropped", "ties_made", "tier_changes",
                  "officials_spared", "appeals_upheld", "appeals_delisted", "rewards_received",
                  "disparate_impact_rural_urban", "disparate_impact_q1_q5"]
        names += [f"mean_degree_{t}" for t in self.tier_names]
        names += [f"price_{s}" for s in self.priced]
        self.names = names
        self.daily = {name: np.full(days, np.nan) for name in names}
        self.groups = [(g, v) for g, values in GROUPINGS.items() for v in values]
        self.group_values = np.full((days, len(self.groups), N_GROUP), np.nan)
        self._components = (float("nan"), float("nan"))
        # names that record() writes each day, formatted once
        self._tier_keys = [(f"tier_share_{t}", f"mean_degree_{t}") for t in self.tier_names]
        self._inflow_keys = [f"blacklist_inflow_{r}" for r in reasons]
        self._denied_keys = [f"denied_{s}" for s in SERVICES]
        self._used_keys = [f"used_{s}" for s in SERVICES]
        self._rate_keys = [(f"{e}_rate", f"{e}_latent_rate", EVENT_INDEX[e]) for e in RATE_EVENTS]
        self._price_keys = [f"price_{s}" for s in self.priced]
        # the buffers of `_tally`'s per-chunk partial sums, kept between days
        chunks = (sim.n + CHUNK - 1) // CHUNK
        self._partials = (np.empty((chunks, 4, N_EVENTS), np.int64), np.empty((chunks, 2, 16), np.int64),
                          np.empty((chunks, N_SCALARS)), np.empty((chunks, N_GROUPS, N_GROUP)),
                          np.empty((chunks, 2, len(self.tier_names))), np.empty((chunks, BINS), np.int64))

    def record(self, sim: Simulation) -> None:
        """The day's metrics. This runs every day, so its Python work is kept small: the tallies
        come back as Python numbers, the histogram and the groupings are reduced by kernels."""
        s, c, p, d = sim.state, sim.citizens, sim.policy, sim.day
        b = sim.scenario.behaviour
        sc_spec = p.spec.scoring
        width = max((sc_spec.maximum - sc_spec.minimum) / BINS, 1e-9)
        low = histogram_low(sc_spec.minimum, sc_spec.initial, width)
        ev_, svc_, sc_, grp, tiers_, hist = _tally(
            s.acts, s.latent, s.observed, s.falsely, s.misattributed, s.denied_today, s.denied,
            s.used, s.rewarded, s.blacklisted, s.score, s.tier, s.offences, s.approval,
            s.perceived, s.grievance, s.days_since_dose, c.group, sim.graph.degree,
            b.dose_interval_days + b.dose_grace_days, np.uint32(p.penal_mask), low, width,
            *self._partials)
        ev, svc, sc, tiers = ev_.tolist(), svc_.tolist(), sc_.tolist(), tiers_.tolist()
        n = sim.n
        t = sim.tally
        put = {"policy_enabled": float(p.enabled)}
        q10, q50, q90, gini = _quantiles_gini(hist, low, width)
        put.update(score_mean=sc[T_SCORE] / n, score_p10=q10, score_p50=q50, score_p90=q90,
                   score_gini=gini)
        for k, (share_name, degree_name) in enumerate(self._tier_keys):
            put[share_name] = tiers[0][k] / n
            put[degree_name] = _safe(tiers[1][k], tiers[0][k])
        listed = sc[T_LISTED]
        put.update(blacklist_share=listed / n, blacklist_inflow=t["blacklist_inflow"],
                   blacklist_outflow=t["blacklist_outflow"], blacklist_extended=t["blacklist_extended"])
        for name in self._inflow_keys:
            put[name] = t[name]
        put.update(wallet_frozen_share=sc[T_FROZEN] / n, denied_share=sc[T_DENIED_ANY] / n)
        for k, name in enumerate(self._denied_keys):
            put[name] = svc[0][k]
        for k, name in enumerate(self._used_keys):
            put[name] = svc[1][k]
        put["health_compliance_rate"] = sc[T_COMPLIANT] / n
        for rate, latent_rate, k in self._rate_keys:
            put[rate] = ev[0][k] / n
            put[latent_rate] = ev[1][k] / n
        penal = [k for k in range(N_EVENTS) if (p.penal_mask >> k) & 1]
        observed_pen = float(sum(ev[2][k] for k in penal))
        false_pen = float(sum(ev[3][k] for k in penal))
        put.update(dissent_rate=sc[T_DISSENT] / n, dissent_latent_rate=sc[T_DISSENT_LATENT] / n,
                   chilling=1 - _safe(sc[T_DISSENT], sc[T_DISSENT_LATENT]),
                   observed_penalties=observed_pen, false_attributions=float(sum(ev[3])),
                   misattributions=sc[T_MISATTRIBUTED],
                   false_attribution_share=_safe(false_pen, observed_pen + false_pen)
                   if observed_pen + false_pen else 0.0,
                   innocent_blacklisted_share=_safe(sc[T_INNOCENT_LISTED], listed) if listed else 0.0,
                   innocent_penalised=sc[T_PENALISED_INNOCENT], penalised_share=sc[T_PENALISED] / n,
                   approval_mean=sc[T_APPROVAL] / n, perceived_mean=sc[T_PERCEIVED] / n,
                   grievance_mean=sc[T_GRIEVANCE] / n)
        edges = t["edges"]
        mean_degree = sc[T_DEGREE] / n
        put.update(mean_degree=mean_degree, score_assortativity=assortativity(edges),
                   cross_tier_tie_share=_safe(edges[4], edges[3]),
                   blacklisted_degree_ratio=_safe(_safe(sc[T_LISTED_DEGREE], listed), mean_degree)
                   if listed else float("nan"),
                   blacklisted_isolated_share=_safe(sc[T_LISTED_ISOLATED], listed) if listed else 0.0)
        if d % sim.scenario.run.network_metrics_every == 0 or d == self.days - 1:
            self._components = components(sim)
        put["components"], put["largest_component_share"] = self._components
        put.update(ties_dropped=t["ties_dropped"], ties_made=t["ties_made"],
                   tier_changes=t["tier_changes"], officials_spared=t["officials_spared"],
                   appeals_upheld=t["appeals_upheld"], appeals_delisted=t["appeals_delisted"],
                   rewards_received=sc[T_REWARDED])
        for name in self._price_keys:
            put[name] = t.get(name, float("nan"))
        put["disparate_impact_rural_urban"], put["disparate_impact_q1_q5"] = _group_rows(
            grp, self.group_values[d])
        m = self.daily
        for name, value in put.items():
            m[name][d] = value

    def frames(self, days_done: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        metrics = pl.DataFrame({"day": np.arange(days_done, dtype=np.int32),
                                **{k: v[:days_done] for k, v in self.daily.items()}})
        rows = days_done * len(self.groups)
        flat = self.group_values[:days_done].reshape(rows, N_GROUP)
        groups = pl.DataFrame({
            "day": np.repeat(np.arange(days_done, dtype=np.int32), len(self.groups)),
            "grouping": pl.Series([g for _ in range(days_done) for g, _v in self.groups], dtype=pl.String),
            "group": pl.Series([v for _ in range(days_done) for _g, v in self.groups], dtype=pl.String),
            **{name: flat[:, k] for k, name in enumerate(GROUP_METRICS)},
        })
        return metrics, groups


def components(sim: Simulation) -> tuple[float, float]:
    """Number of connected components and the largest one's share of citizens."""
    g = sim.graph
    count, largest = network_components(g.start, g.degree, g.nbrs)
    return float(count), float(largest / sim.n)


def final(metrics: pl.DataFrame) -> dict[str, float | None]:
    """The last day's headline metrics; None for each before the first day (nothing measured)."""
    if metrics.height == 0:
        return dict.fromkeys(HEADLINE)
    last = metrics.row(-1, named=True)
    return {k: (None if last[k] is None or np.isnan(last[k]) else float(last[k])) for k in HEADLINE}
