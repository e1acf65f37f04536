"""Measurement (MODEL.md step 10): daily metrics, overall and by group.

One fused pass over the citizens tallies everything a day needs into per-chunk partial sums of
a fixed chunk size, added in chunk order, so the numbers are bit-identical whatever the thread
count. Group tallies are kept for the 120 cells settlement x education x quintile x rank and
summed into each grouping afterwards. Results are preallocated arrays, one slot per day,
returned as Polars frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numba import njit, prange

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
 T_FALSELY_ANY, T_LISTED_ISOLATED, T_MISATTRIBUTED, T_REWARDED) = range(18)
N_SCALARS = 18
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


SUB = 4096  # citizens per sub-block of a chunk (keeps a block's arrays in cache)


@njit(inline="always")
def _by_byte(mask, hist, row):
    """Histogram the two low bytes of a bit mask; bit counts are read off once per chunk."""
    if mask:
        hist[row, 0, mask & 0xFF] += 1
        hist[row, 1, (mask >> 8) & 0xFF] += 1


@njit(inline="always")
def _bits_from_bytes(hist, row, out):
    for byte in range(2):
        for v in range(1, 256):
            k = hist[row, byte, v]
            if k:
                for bit in range(8):
                    if (v >> bit) & 1:
                        out[8 * byte + bit] += k


@njit(parallel=True, cache=True)
def _tally(acts, latent, observed, falsely, misattributed, denied_today, denied, used, rewarded,
           blacklisted, score, tier, offences, approval, perceived, grievance, days_since_dose,
           group, degree, compliant_limit, penal_mask, score_min, bin_width, n_tiers):
    """The day's tallies in per-chunk partial sums (fixed CHUNK, summed in chunk order).

    Counts are integers, exact in any order; the float sums (approval, perception, grievance,
    score, overall and by group) are added citizen by citizen within a chunk, so the totals do
    not depend on the number of threads.
    """
    n = acts.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    ev = np.zeros((n_chunks, 4, N_EVENTS), np.int64)
    svc = np.zeros((n_chunks, 2, 16), np.int64)
    sc = np.zeros((n_chunks, N_SCALARS))
    grp = np.zeros((n_chunks, N_GROUPS, N_GROUP))
    tiers = np.zeros((n_chunks, 2, n_tiers))
    hist = np.zeros((n_chunks, BINS), np.int64)
    for c in prange(n_chunks):
        cnt = np.zeros(N_SCALARS, np.int64)
        bytes_ = np.zeros((6, 2, 256), np.int64)
        bits = np.zeros((6, 16), np.int64)
        g_cnt = np.zeros((N_GROUPS, N_GROUP), np.int64)
        g_appr = np.zeros(N_GROUPS)
        g_score = np.zeros(N_GROUPS)
        f_appr = f_perc = f_griev = f_score = 0.0
        for lo in range(c * CHUNK, min(n, (c + 1) * CHUNK), SUB):
            hi = min(n, lo + SUB, (c + 1) * CHUNK)
            for i in range(lo, hi):
                a, lat, o, f = acts[i], latent[i], observed[i], falsely[i]
                dt = denied_today[i]
                _by_byte(a, bytes_, 0)
                _by_byte(lat, bytes_, 1)
                _by_byte(o, bytes_, 2)
                _by_byte(f, bytes_, 3)
                _by_byte(dt, bytes_, 4)
                _by_byte(used[i], bytes_, 5)
                listed = blacklisted[i]
                frozen = (denied[i] >> SV_ESSENTIALS) & 1
                appr = 1.0 / (1.0 + np.exp(-approval[i]))
                innocent = offences[i] == 0
                dis = (a & DISSENT_MASK) != 0
                dis_lat = (lat & DISSENT_MASK) != 0
                pen = ((o | f) & penal_mask) != 0
                s_i = float(score[i])
                f_appr += appr
                f_perc += perceived[i]
                f_griev += grievance[i]
                f_score += s_i
                cnt[T_LISTED] += listed
                cnt[T_FROZEN] += frozen
                cnt[T_COMPLIANT] += days_since_dose[i] <= compliant_limit
                cnt[T_INNOCENT_LISTED] += listed and innocent
                cnt[T_DENIED_ANY] += dt != 0
                cnt[T_DISSENT] += dis
                cnt[T_DISSENT_LATENT] += dis_lat
                cnt[T_PENALISED] += pen
                cnt[T_PENALISED_INNOCENT] += pen and innocent
                cnt[T_LISTED_DEGREE] += degree[i] if listed else 0
                cnt[T_FALSELY_ANY] += f != 0
                cnt[T_LISTED_ISOLATED] += listed and degree[i] == 0
                cnt[T_MISATTRIBUTED] += misattributed[i] != 0
                cnt[T_REWARDED] += rewarded[i]
                g = group[i]
                g_cnt[g, 0] += 1
                g_cnt[g, 1] += listed
                g_appr[g] += appr
                g_cnt[g, 3] += dt != 0
                g_cnt[g, 4] += dis
                g_cnt[g, 5] += dis_lat
                g_score[g] += s_i
                g_cnt[g, 7] += frozen
                g_cnt[g, 8] += listed and innocent
                g_cnt[g, 9] += f != 0
                g_cnt[g, 10] += pen
                t = tier[i]
                tiers[c, 0, t] += 1
                tiers[c, 1, t] += degree[i]
                b = int((s_i - score_min) / bin_width)
                hist[c, min(max(b, 0), BINS - 1)] += 1
        for m in range(6):
            _bits_from_bytes(bytes_, m, bits[m])
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
    return (ev.sum(axis=0), svc.sum(axis=0), sc.sum(axis=0), grp.sum(axis=0),
            tiers.sum(axis=0), hist.sum(axis=0))


def _quantiles_gini(hist: np.ndarray, lo: float, width: float) -> tuple[float, ...]:
    total = hist.sum()
    centres = lo + (np.arange(hist.shape[0]) + 0.5) * width
    cum = np.cumsum(hist)
    q = [float(centres[np.searchsorted(cum, f * total)]) for f in (0.1, 0.5, 0.9)]
    # Gini of a grouped distribution (scores shifted to be non-negative)
    x = centres - min(lo, 0.0)
    mass = hist * x
    if mass.sum() <= 0:
        return (*q, 0.0)
    share_pop = hist / total
    cum_mass = np.cumsum(mass) / mass.sum()
    lorenz = np.concatenate([[0.0], cum_mass])
    gini = 1.0 - float(np.sum(share_pop * (lorenz[1:] + lorenz[:-1])))
    return (*q, gini)


def _safe(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


class Recorder:
    """Preallocated daily metrics and group metrics for one run."""

    def __init__(self, sim: Simulation) -> None:
        days = sim.scenario.run.days
        self.days = days
        spec = sim.timeline[0][1].spec
        self.tier_names = spec.tiers.names
        reasons: list[str] = []
        for _, p in sim.timeline:
            reasons += [r for r in p.spec.blacklist.entry if r not in reasons]
        self.reasons = reasons
        self.priced = [SERVICES[s] for s in sim.prices]
        names = ["policy_enabled", "score_mean", "score_p10", "score_p50", "score_p90",
                 "score_gini"]
        names += [f"tier_share_{t}" for t in self.tier_names]
        names += ["blacklist_share", "blacklist_inflow", "blacklist_outflow"]
        names += [f"blacklist_inflow_{r}" for r in reasons]
        names += ["wallet_frozen_share", "denied_share"] + [f"denied_{s}" for s in SERVICES]
        names += ["health_compliance_rate"]
        for e in RATE_EVENTS:
            names += [f"{e}_rate", f"{e}_latent_rate"]
        names += ["dissent_rate", "dissent_latent_rate", "chilling",
                  "observed_penalties", "false_attributions", "misattributions",
                  "false_attribution_share", "innocent_blacklisted_share", "innocent_penalised",
                  "penalised_share", "approval_mean", "perceived_mean", "grievance_mean",
                  "mean_degree", "score_assortativity", "cross_tier_tie_share",
                  "blacklisted_degree_ratio", "blacklisted_isolated_share", "components",
                  "largest_component_share", "ties_dropped", "ties_made", "tier_changes",
                  "officials_spared", "appeals_upheld", "rewards_received",
                  "disparate_impact_rural_urban", "disparate_impact_q1_q5"]
        names += [f"mean_degree_{t}" for t in self.tier_names]
        names += [f"price_{s}" for s in self.priced]
        self.names = names
        self.daily = {name: np.full(days, np.nan) for name in names}
        self.groups = [(g, v) for g, values in GROUPINGS.items() for v in values]
        self.group_values = np.full((days, len(self.groups), N_GROUP), np.nan)
        self._components = (float("nan"), float("nan"))

    def record(self, sim: Simulation) -> None:
        s, c, p, d = sim.state, sim.citizens, sim.policy, sim.day
        b = sim.scenario.behaviour
        sc_spec = p.spec.scoring
        width = max((sc_spec.maximum - sc_spec.minimum) / BINS, 1e-9)
        ev, svc, sc, grp, tiers, hist = _tally(
            s.acts, s.latent, s.observed, s.falsely, s.misattributed, s.denied_today, s.denied,
            s.used, s.rewarded, s.blacklisted, s.score, s.tier, s.offences, s.approval,
            s.perceived, s.grievance, s.days_since_dose, c.group, sim.graph.degree,
            b.dose_interval_days + b.dose_grace_days, np.uint32(p.penal_mask), sc_spec.minimum,
            width, len(self.tier_names))
        n = sim.n
        t = sim.tally
        m = self.daily
        put = {"policy_enabled": float(p.enabled)}
        q10, q50, q90, gini = _quantiles_gini(hist, sc_spec.minimum, width)
        put.update(score_mean=sc[T_SCORE] / n, score_p10=q10, score_p50=q50, score_p90=q90,
                   score_gini=gini)
        for k, name in enumerate(self.tier_names):
            put[f"tier_share_{name}"] = tiers[0, k] / n
            put[f"mean_degree_{name}"] = _safe(tiers[1, k], tiers[0, k])
        listed = sc[T_LISTED]
        put.update(blacklist_share=listed / n, blacklist_inflow=t["blacklist_inflow"],
                   blacklist_outflow=t["blacklist_outflow"])
        for r in self.reasons:
            put[f"blacklist_inflow_{r}"] = t[f"blacklist_inflow_{r}"]
        put.update(wallet_frozen_share=sc[T_FROZEN] / n, denied_share=sc[T_DENIED_ANY] / n)
        for k, name in enumerate(SERVICES):
            put[f"denied_{name}"] = svc[0, k]
        put["health_compliance_rate"] = sc[T_COMPLIANT] / n
        for e in RATE_EVENTS:
            k = EVENT_INDEX[e]
            put[f"{e}_rate"] = ev[0, k] / n
            put[f"{e}_latent_rate"] = ev[1, k] / n
        penal = [k for k in range(N_EVENTS) if (p.penal_mask >> k) & 1]
        observed_pen = float(ev[2, penal].sum())
        false_pen = float(ev[3, penal].sum())
        put.update(dissent_rate=sc[T_DISSENT] / n, dissent_latent_rate=sc[T_DISSENT_LATENT] / n,
                   chilling=1 - _safe(sc[T_DISSENT], sc[T_DISSENT_LATENT]),
                   observed_penalties=observed_pen, false_attributions=float(ev[3].sum()),
                   misattributions=sc[T_MISATTRIBUTED],
                   false_attribution_share=_safe(false_pen, observed_pen + false_pen)
                   if observed_pen + false_pen else 0.0,
                   innocent_blacklisted_share=_safe(sc[T_INNOCENT_LISTED], listed) if listed else 0.0,
                   innocent_penalised=sc[T_PENALISED_INNOCENT], penalised_share=sc[T_PENALISED] / n,
                   approval_mean=sc[T_APPROVAL] / n, perceived_mean=sc[T_PERCEIVED] / n,
                   grievance_mean=sc[T_GRIEVANCE] / n)
        edges = t["edges"]
        degree_total = float(sim.graph.degree.sum())
        mean_degree = degree_total / n
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
                   appeals_upheld=t["appeals_upheld"], rewards_received=sc[T_REWARDED])
        for name in self.priced:
            put[f"price_{name}"] = t.get(f"price_{name}", float("nan"))
        by = grp.reshape(2, 4, 5, 3, N_GROUP)
        cells = {"settlement": by.sum(axis=(1, 2, 3)), "education": by.sum(axis=(0, 2, 3)),
                 "income_quintile": by.sum(axis=(0, 1, 3)), "official_rank": by.sum(axis=(0, 1, 2))}
        k = 0
        for grouping, values in GROUPINGS.items():
            for v in range(len(values)):
                row = cells[grouping][v]
                pop = row[0]
                self.group_values[d, k, 0] = pop
                self.group_values[d, k, 1:] = row[1:] / pop if pop else np.nan
                k += 1
        share = {g: cells[g][:, 1] / np.maximum(cells[g][:, 0], 1) for g in cells}
        put["disparate_impact_rural_urban"] = _safe(share["settlement"][0], share["settlement"][1])
        put["disparate_impact_q1_q5"] = _safe(share["income_quintile"][0], share["income_quintile"][4])
        for name, value in put.items():
            m[name][d] = value

    def frames(self, days_done: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        metrics = pl.DataFrame({"day": np.arange(days_done, dtype=np.int32),
                                **{k: v[:days_done] for k, v in self.daily.items()}})
        rows = days_done * len(self.groups)
        flat = self.group_values[:days_done].reshape(rows, N_GROUP)
        groups = pl.DataFrame({
            "day": np.repeat(np.arange(days_done, dtype=np.int32), len(self.groups)),
            "grouping": [g for _ in range(days_done) for g, _v in self.groups],
            "group": [v for _ in range(days_done) for _g, v in self.groups],
            **{name: flat[:, k] for k, name in enumerate(GROUP_METRICS)},
        })
        return metrics, groups


def components(sim: Simulation) -> tuple[float, float]:
    """Number of connected components and the largest one's share of citizens."""
    g = sim.graph
    count, largest = network_components(g.start, g.degree, g.nbrs)
    return float(count), float(largest / sim.n)


def final(metrics: pl.DataFrame) -> dict[str, float]:
    """The last day's headline metrics."""
    last = metrics.row(-1, named=True)
    return {k: (None if last[k] is None or np.isnan(last[k]) else float(last[k])) for k in HEADLINE}
