"""Watts (2002) global cascades through the engine.

The scenario `watts.yaml` turns the blacklist into Watts' threshold model: a citizen is listed
once a share phi of its neighbours is listed (`frac_neighbours_blacklisted >= phi`) and never
leaves; the network is the engine's generator without homophily, i.e. uniformly random ties
with Poisson degrees. Each run starts from the engine's own seeding (`seed_share` = 1/n) and
keeps runs that drew exactly one seed, as Watts did.

A run stops at the first day on which nobody entered: the state at the start of the next day
would be the same, and in this configuration nothing else changes the list or the ties, so
that state is the final one (checked against full-length runs in tests/test_validation.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl
from scipy import stats

from scorestate.engine import Simulation
from scorestate.scenario.schema import Scenario
from validation import scenario as load
from validation import theory

GLOBAL_SHARE = 0.05  # a cascade is global when it lists more than this share of citizens
ZS = tuple(float(z) for z in np.arange(0.5, 16.01, 0.5))
PHIS = (0.10, 0.14, 0.18, 0.24, 0.26)


def rule(phi: float) -> str:
    return f"frac_neighbours_blacklisted >= {phi!r}"


def cascade_scenario(z: float, phi: float, *, population: int = 10_000, seed: int = 0,
                     seed_share: float | None = None, days: int | None = None) -> Scenario:
    """The Watts scenario at mean degree z and threshold phi (one seed on average by default)."""
    overrides = {
        "network.mean_degree": z,
        "policy.blacklist.entry.association": rule(phi),
        "policy.blacklist.seed_share": 1.0 / population if seed_share is None else seed_share,
    }
    return load("watts", overrides, population=population, seed=seed, days=days)


@dataclass(frozen=True)
class Cascade:
    seed: int  # the run's seed
    seeds: int  # citizens listed before day 0
    final_share: float  # share listed at the end
    days: int  # days until nobody entered any more
    mean_degree: float  # of the graph this run generated


def run_cascade(sim: Simulation) -> Cascade:
    """Step a built simulation until a day on which nobody entered the list."""
    seeds = int(sim.state.blacklisted.sum())
    while sim.day < sim.scenario.run.days:
        sim.step()
        if sim.tally["blacklist_inflow"] == 0:
            break
    return Cascade(seed=sim.seed, seeds=seeds, final_share=float(sim.state.blacklisted.mean()),
                   days=sim.day, mean_degree=float(sim.graph.degree.mean()))


def single_seed_cascades(z: float, phi: float, runs: int, *, population: int = 10_000,
                         first_seed: int = 0) -> list[Cascade]:
    """`runs` cascades from exactly one seed: seeds first_seed, first_seed + 1, ... in order,
    skipping those whose seeding listed no citizen or several (deterministic for given args)."""
    out: list[Cascade] = []
    seed = first_seed
    while len(out) < runs:
        sim = Simulation(cascade_scenario(z, phi, population=population, seed=seed),
                         ledger_sink=_discard)
        seed += 1
        if int(sim.state.blacklisted.sum()) == 1:
            out.append(run_cascade(sim))
    return out


def _discard(batch: object) -> None:
    """Ledger sink that keeps nothing: the validation reads the state."""


def summarise(z: float, phi: float, cascades: list[Cascade]) -> dict[str, float]:
    """Observed frequency and size of global cascades next to theory, at the realised degree."""
    shares = np.array([c.final_share for c in cascades])
    big = shares > GLOBAL_SHARE
    k, n = int(big.sum()), len(cascades)
    lo, hi = clopper_pearson(k, n)
    zr = float(np.mean([c.mean_degree for c in cascades]))
    return {
        "phi": phi, "z": z, "mean_degree": zr, "runs": n, "global": k, "frequency": k / n,
        "ci_low": lo, "ci_high": hi,
        "mean_global_size": float(shares[big].mean()) if k else math.nan,
        "theory_frequency": theory.cascade_frequency(zr, phi),
        "theory_size": theory.cascade_size(zr, phi) if theory.cascade_condition(zr, phi) > 0 else math.nan,
        "in_window": theory.cascade_condition(zr, phi) > 0,
        "max_days": max(c.days for c in cascades),
    }


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def sweep(zs: tuple[float, ...] = ZS, phis: tuple[float, ...] = PHIS, runs: int = 100, *,
          population: int = 10_000, z_margin: float = 2.0,
          progress: bool = False) -> pl.DataFrame:
    """Frequency and size of global cascades over a grid of z and phi.

    For each phi, z runs up to the top of the theoretical window + z_margin (at least 8), so the
    edge where cascades stop is covered without spending runs far beyond it.
    """
    rows = []
    for phi in phis:
        window = theory.cascade_window(phi)
        top = max(8.0, (window[1] if window else 0.0) + z_margin)
        for z in (z for z in zs if z <= top):
            rows.append(summarise(z, phi, single_seed_cascades(z, phi, runs, population=population)))
            if progress:
                r = rows[-1]
                print(f"  phi={phi:.2f} z={z:5.2f} (realised {r['mean_degree']:.2f}): global "
                      f"{r['frequency']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}], theory "
                      f"{r['theory_frequency']:.2f}", flush=True)
    return pl.DataFrame(rows)


def finite_size(cases: tuple[tuple[float, float], ...] = ((0.10, 13.5), (0.18, 6.0), (0.18, 5.5)),
                populations: tuple[int, ...] = (1_000, 10_000, 100_000),
                runs: int = 100) -> pl.DataFrame:
    """Frequency of global cascades at the upper edge of the window as the population grows.

    Beyond the edge theory (an infinite graph) has no global cascade from one seed; a finite
    graph does, when the seed's finite vulnerable cluster is large enough a share of the whole
    to tip citizens who need two or more listed neighbours. That chance must fall with n.
    """
    rows = []
    for phi, z in cases:
        for n in populations:
            r = summarise(z, phi, single_seed_cascades(z, phi, runs, population=n))
            rows.append({"phi": phi, "z": z, "population": n, "mean_degree": r["mean_degree"],
                         "runs": r["runs"], "global": r["global"], "frequency": r["frequency"],
                         "theory_frequency": r["theory_frequency"]})
    return pl.DataFrame(rows)


def observed_window(frame: pl.DataFrame, phi: float) -> tuple[float, float] | None:
    """The lowest and highest realised mean degree at which any global cascade occurred."""
    hit = frame.filter((pl.col("phi") == phi) & (pl.col("global") > 0))
    if hit.is_empty():
        return None
    return float(hit["mean_degree"].min()), float(hit["mean_degree"].max())


def reference_final(n: int, edges: np.ndarray, seeds: np.ndarray, phi: float) -> np.ndarray:
    """Watts' threshold dynamics written independently of the engine, in exact integers.

    A citizen with k ties and m listed neighbours joins when m / k >= phi (phi read as a
    fraction, so no rounding is involved); the final set of a monotone threshold model does not
    depend on the update order.
    """
    f = Fraction(phi).limit_denominator(10_000)
    a, b = edges[:, 0], edges[:, 1]
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    active = np.zeros(n, np.bool_)
    active[seeds] = True
    while True:
        listed = (np.bincount(a, weights=active[b], minlength=n)
                  + np.bincount(b, weights=active[a], minlength=n))
        joins = ~active & (degree > 0) & (listed.astype(np.int64) * f.denominator >= f.numerator * degree)
        if not joins.any():
            return active
        active |= joins


def degree_check(z: float, *, population: int = 100_000, seed: int = 0) -> dict[str, float]:
    """How Poisson the generator's degrees are (within_region 0): mean, variance, distance."""
    sim = Simulation(cascade_scenario(z, 0.18, population=population, seed=seed, seed_share=0.0),
                     ledger_sink=_discard)
    d = sim.graph.degree.astype(np.int64)
    mean = float(d.mean())
    k = np.arange(int(d.max()) + 1)
    observed = np.bincount(d, minlength=k.shape[0]) / d.shape[0]
    tv = 0.5 * float(np.abs(observed - stats.poisson.pmf(k, mean)).sum() + stats.poisson.sf(k[-1], mean))
    # chi-square against Poisson(mean), tails pooled where fewer than 5 are expected
    expected = stats.poisson.pmf(k, mean) * d.shape[0]
    expected[-1] += stats.poisson.sf(k[-1], mean) * d.shape[0]
    obs, exp = _pool(np.bincount(d, minlength=k.shape[0]).astype(float), expected)
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    p = float(stats.chi2.sf(chi2, obs.shape[0] - 2))  # one parameter (the mean) estimated
    return {"z": z, "population": population, "mean_degree": mean, "ratio_to_z": mean / z,
            "variance": float(d.var()), "dispersion": float(d.var()) / mean,
            "total_variation": tv, "chi2_p": p}


def _pool(obs: np.ndarray, exp: np.ndarray, least: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring bins from both ends until each expects at least `least`."""
    o, e = list(obs), list(exp)
    while len(e) > 2 and e[0] < least:
        e[1] += e.pop(0)
        o[1] += o.pop(0)
    while len(e) > 2 and e[-1] < least:
        e[-2] += e.pop()
        o[-2] += o.pop()
    return np.array(o), np.array(e)
