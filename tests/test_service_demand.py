"""Services are attempted by a daily chance varied by demographics and by a known block:
travel, a loan, a flat, a car "with probabilities from a logit of traits, demographics and
incentives" (MODEL.md step 2), and the incentive a shut gate gives is not to try.

On one day of 60,000 citizens, each group's attempt rate must be the group's mean of the chance
times its rate ratios (urban, per income quintile, per decade of age, while shut), capped at 1,
within 4 standard errors; the services left at their defaults must keep one rate for all.
"""

from __future__ import annotations

import numpy as np

import scorestate as ss
from scorestate.engine import Simulation
from scorestate.vocabulary import SERVICE_INDEX

RATIOS = {"behaviour.services.flight": 0.05, "behaviour.services.demand.flight.urban": 3.0,
          "behaviour.services.demand.flight.income": 1.5,
          "behaviour.services.demand.retail.age": 0.7,
          "behaviour.services.rail": 0.2, "behaviour.services.demand.rail.while_shut": 0.25,
          "behaviour.services.demand.loan.while_shut": 0.0, "behaviour.services.loan": 0.3}


def _day(overrides: dict, shut: dict[str, np.ndarray] | None = None) -> Simulation:
    """One day of a society without a policy; `shut` closes services to given citizens as
    yesterday's gates would have (the state arrays are the user's to set between days)."""
    sim = Simulation(ss.load_scenario("baseline", overrides, population=60_000, days=1, seed=5))
    for service, who in (shut or {}).items():
        sim.state.denied[who] |= np.uint16(1 << SERVICE_INDEX[service])
    sim.step()
    return sim


def _attempted(sim: Simulation, service: str) -> np.ndarray:
    bit = np.uint16(1 << SERVICE_INDEX[service])
    return ((sim.state.used | sim.state.denied_today) & bit) != 0


def _expected(sim: Simulation, service: str, shut: np.ndarray) -> np.ndarray:
    c, services = sim.citizens, sim.scenario.behaviour.services
    d = getattr(services.demand, service)
    p = (getattr(services, service) * np.where(c.urban, d.urban, 1.0)
         * d.income ** (c.quintile.astype(np.float64) - 3) * d.age ** ((c.age.astype(np.float64) - 40) / 10)
         * np.where(shut, d.while_shut, 1.0))
    return np.minimum(p, 1.0)


def _check(sim: Simulation, service: str, groups: np.ndarray,
           shut: np.ndarray | None = None) -> np.ndarray:
    """Each group's attempt rate, checked against the formula; `shut`: whom it was shut to."""
    shut = np.zeros(groups.shape[0], bool) if shut is None else shut
    did, p = _attempted(sim, service), _expected(sim, service, shut)
    got, want, se = [], [], []
    for g in np.unique(groups):
        at = groups == g
        got.append(did[at].mean())
        want.append(p[at].mean())
        se.append(np.sqrt((p[at] * (1 - p[at])).sum()) / at.sum())
    got_a, want_a, se_a = np.array(got), np.array(want), np.array(se)
    assert np.all(np.abs(got_a - want_a) <= 4 * se_a + 1e-12), (service, got_a, want_a)
    return got_a


def test_attempts_follow_settlement_income_and_age_as_the_ratios_say():
    sim = _day(RATIOS)
    c = sim.citizens
    # the groups (settlement x quintile: city dwellers are richer) in the order of np.unique
    by_both = _check(sim, "flight", c.urban.astype(np.int64) * 10 + c.quintile).reshape(2, 5)
    assert np.all((by_both[1] / by_both[0] > 2.4) & (by_both[1] / by_both[0] < 3.6)), (
        "city dwellers fly three times as often as their rural peers of the same income")
    by_quintile = _check(sim, "flight", c.quintile)
    assert np.all(np.diff(by_quintile) > 0), "the richer fly more under an income ratio above 1"
    by_decade = _check(sim, "retail", np.minimum(c.age // 10, 7))
    assert by_decade[0] > by_decade[-1] * 1.5, "the young shop more under an age ratio below 1"


def test_a_known_block_deters_attempts():
    who = np.arange(0, 60_000, 2)
    sim = _day(RATIOS, shut={"rail": who, "loan": who})
    shut = np.zeros(60_000, bool)
    shut[who] = True
    by_shut = _check(sim, "rail", shut.astype(np.int64), shut)
    assert 0.15 < by_shut[1] / by_shut[0] < 0.35, "a quarter of the attempts while rail is shut"
    loans = _attempted(sim, "loan")
    assert not loans[who].any() and loans.mean() > 0.1, "a ratio of 0: nobody tries a shut service"
    # the attempts made while shut are the ones denied
    rail = np.uint16(1 << SERVICE_INDEX["rail"])
    assert np.array_equal((sim.state.denied_today & rail) != 0, _attempted(sim, "rail") & shut)
    # the day's metrics count the uses and the refusals apart
    daily = sim.recorder.daily
    assert daily["used_rail"][0] == (_attempted(sim, "rail") & ~shut).sum() > 0
    assert daily["denied_rail"][0] == (_attempted(sim, "rail") & shut).sum() > 0


def test_services_left_at_their_defaults_keep_one_rate_for_all():
    sim = _day({})
    c, demand = sim.citizens, sim.scenario.behaviour.services.demand
    assert (demand.flight.urban, demand.flight.income, demand.retail.age) == (1.0, 1.0, 1.0)
    by_quintile = _check(sim, "retail", c.quintile)
    assert by_quintile.max() - by_quintile.min() < 0.02
    # and the chance is capped at 1: essentials (0.9) at an urban ratio of 2 is certain in town
    capped = _day({"behaviour.services.demand.essentials.urban": 2.0})
    assert _attempted(capped, "essentials")[capped.citizens.urban].all()

