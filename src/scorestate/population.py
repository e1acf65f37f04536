"""Synthetic citizens: demographics and latent traits, as arrays.

Nobody real is represented. Citizens are numbered region by region, and within a region by
settlement and education, so that a homophilous network puts most neighbours close in memory.
Every draw comes from a generator seeded by (seed, purpose): the same society spec and seed
give the same citizens under any policy, which is what comparisons need.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import ndtri

from scorestate.scenario.schema import Attitudes, Behaviour, Population, Trait
from scorestate.state import Citizens

TRAITS = ("conformity", "risk_aversion", "health", "alcohol", "tobacco", "gaming", "grievance",
          "smart_home")


def _rng(seed: int, purpose: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, purpose])))


def _beta(rng: np.random.Generator, trait: Trait, n: int) -> np.ndarray:
    a = trait.mean * trait.concentration
    b = (1 - trait.mean) * trait.concentration
    return rng.beta(a, b, n).astype(np.float32)


def group_index(urban: np.ndarray, education: np.ndarray, quintile: np.ndarray,
                rank: np.ndarray) -> np.ndarray:
    """Combined metrics group: settlement (2) x education (4) x quintile (5) x rank (3)."""
    g = ((urban.astype(np.int32) * 4 + education) * 5 + (quintile - 1)) * 3 + rank
    return g.astype(np.uint8)


N_GROUPS = 2 * 4 * 5 * 3


def care_weights(behaviour: Behaviour) -> np.ndarray:
    """The weights of conformity and risk aversion in how much a citizen cares about its score."""
    return np.array([behaviour.care_conformity, behaviour.care_risk], np.float32)


@njit(inline="always")
def care(weights, conformity, risk_aversion):
    """How much a citizen cares about its score, computed where read rather than stored (4 bytes
    a citizen); float32 arithmetic, as the arrays it comes from."""
    return weights[0] * conformity + weights[1] * risk_aversion


def build_citizens(pop: Population, behaviour: Behaviour, attitudes: Attitudes, seed: int,
                   n: int | None = None, keep_order: bool = False
                   ) -> tuple[Citizens, np.ndarray, np.ndarray]:
    """Citizens, their initial grievance and days since their last dose.

    `n` overrides the population size (an imported network fixes it); `keep_order` keeps
    citizens in draw order instead of sorting them by region (imported ids must not move).
    """
    n = pop.size if n is None else n
    rng = _rng(seed, 1)
    urban = rng.random(n) < pop.urban_share
    region_dtype = np.uint16 if pop.regions <= 1 << 16 else np.int32
    region = rng.integers(0, pop.regions, n).astype(region_dtype)
    # Education: a latent normal shifted up for city dwellers, cut at the shares' quantiles.
    latent = rng.standard_normal(n) + pop.education_urban_shift * (urban - pop.urban_share)
    cuts = ndtri(np.clip(np.cumsum(pop.education_shares)[:-1], 1e-9, 1 - 1e-9))
    education = np.searchsorted(cuts, latent).astype(np.uint8)
    if keep_order:  # imported ids stay put; regions become contiguous blocks of ids
        region = ((np.arange(n, dtype=np.int64) * pop.regions) // n).astype(region_dtype)
    else:
        order = np.lexsort((education, urban, region))
        urban, region, education = urban[order], region[order], education[order]
    age = rng.integers(pop.age_min, pop.age_max + 1, n).astype(np.uint8)
    log_income = (pop.income_urban_premium * urban + pop.income_education_step * education
                  + pop.income_sigma * rng.standard_normal(n))
    income = np.exp(log_income).astype(np.float32)
    ranks = np.empty(n, np.int64)
    ranks[np.argsort(log_income, kind="stable")] = np.arange(n)
    quintile = (1 + (5 * ranks) // n).astype(np.uint8)
    u = rng.random(n)
    rank = np.where(u < pop.official_senior_share, 2,
                    np.where(u < pop.official_senior_share + pop.official_local_share, 1, 0)
                    ).astype(np.uint8)
    traits = {name: _beta(rng, getattr(pop.traits, name), n) for name in TRAITS}
    smart_home = rng.random(n) < traits["smart_home"]
    a = attitudes
    approval0 = (a.approval_base + a.approval_urban * urban + a.approval_education * education
                 + a.approval_income * (quintile.astype(np.float64) - 3)
                 + a.approval_age * (age.astype(np.float64) - 40)
                 + a.approval_noise * rng.standard_normal(n)).astype(np.float32)
    days_since_dose = rng.integers(0, behaviour.dose_interval_days, n).astype(np.int16)
    counts = np.bincount(region, minlength=pop.regions)
    region_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    citizens = Citizens(
        age=age, urban=urban, education=education, income=income, quintile=quintile,
        region=region, rank=rank, group=group_index(urban, education, quintile, rank),
        conformity=traits["conformity"], risk_aversion=traits["risk_aversion"],
        health=traits["health"], alcohol=traits["alcohol"], tobacco=traits["tobacco"],
        gaming=traits["gaming"], smart_home=smart_home, approval0=approval0,
        region_start=region_start,
    )
    return citizens, traits["grievance"], days_since_dose
