"""Behaviour's logits take demographics: "each citizen decides, with probabilities from a logit
of traits, demographics and incentives" (MODEL.md step 2).

Without a policy nothing deters, so each act's daily rate among a group of citizens must be the
group's mean of sigmoid(base + weight (trait - 0.5) + the demographic terms): checked for an
income, an urban and an age term at once, against the formula, on one day of 60,000 citizens.
"""

from __future__ import annotations

import numpy as np

import scorestate as ss
from scorestate.engine import Simulation
from scorestate.vocabulary import EVENT_INDEX

TERMS = {"behaviour.alcohol.income": 0.5, "behaviour.alcohol.urban": -0.7,
         "behaviour.gaming.age": -0.6}


def _day(overrides: dict) -> Simulation:
    sim = Simulation(ss.load_scenario("baseline", overrides, population=60_000, days=1, seed=3))
    sim.step()
    return sim


def _expected(sim: Simulation, trait: np.ndarray, logit, groups: np.ndarray) -> np.ndarray:
    c = sim.citizens
    q, age = c.quintile.astype(np.float64), c.age.astype(np.float64)
    x = (logit.base + logit.weight * (trait.astype(np.float64) - 0.5) + logit.urban * c.urban
         + logit.income * (q - 3) + logit.age * (age - 40) / 10)
    p = 1 / (1 + np.exp(-x))
    return np.array([p[groups == g].mean() for g in np.unique(groups)]), p


def _check(sim: Simulation, event: str, trait: np.ndarray, logit, groups: np.ndarray) -> np.ndarray:
    did = (sim.state.acts >> EVENT_INDEX[event]) & 1
    want, p = _expected(sim, trait, logit, groups)
    got = np.array([did[groups == g].mean() for g in np.unique(groups)])
    se = np.array([np.sqrt((p[groups == g] * (1 - p[groups == g])).sum()) / (groups == g).sum()
                   for g in np.unique(groups)])
    assert np.all(np.abs(got - want) < 4 * se), (event, got, want)
    return got


def test_acts_follow_income_settlement_and_age_as_the_logit_says():
    sim = _day(TERMS)
    c, b = sim.citizens, sim.scenario.behaviour
    by_quintile = _check(sim, "alcohol", c.alcohol, b.alcohol, c.quintile)
    assert np.all(np.diff(by_quintile) > 0), "richer citizens drink more under a positive income term"
    by_settlement = _check(sim, "alcohol", c.alcohol, b.alcohol, c.urban.astype(np.int64))
    assert by_settlement[1] < by_settlement[0], "city dwellers drink less under a negative urban term"
    decade = np.minimum(c.age // 10, 7)
    by_decade = _check(sim, "gaming", c.gaming, b.gaming, decade)
    assert by_decade[0] > by_decade[-1] * 2, "the young game more under a negative age term"


def test_without_demographic_terms_the_groups_differ_only_by_chance():
    sim = _day({})
    c, b = sim.citizens, sim.scenario.behaviour
    assert b.alcohol.income == b.alcohol.urban == b.gaming.age == 0.0  # no preset sets them
    by_quintile = _check(sim, "alcohol", c.alcohol, b.alcohol, c.quintile)
    assert by_quintile.max() - by_quintile.min() < 0.01
