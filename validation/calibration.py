"""Calibration: the `court-blacklist` preset against the published figures of the national list
of dishonest judgment debtors (REFERENCES.md).

The list fills over years from empty, so the flows and the list's size are read in the run's
fourth year, and the blocked purchases per listing over the whole run, as the published
cumulative counts are (end 2018, about five years into the list). The model's debt behaviour
(defaults, repayment) and the court's delay are assumed, not fitted: "of the published order"
is taken as within a factor of 3 either way. One number was set from these figures: rail's
known-block ratio (`behaviour.services.demand.rail.while_shut`, 0.1), since attempts at the full
rate block about ten times the published rail purchases per listing (`RAIL_AT_FULL_RATE` shows
it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

import scorestate as ss

ADULTS = 1.1e9  # roughly, for the published counts as shares of adults
FACTOR = 3.0
YEARS = 4
RAIL_AT_FULL_RATE = {"behaviour.services.demand.rail.while_shut": 1.0}


@dataclass(frozen=True)
class Figure:
    name: str
    published: float
    source: str
    share: bool  # a share of adults (printed as %), else a count per listing


FIGURES = (
    Figure("listed in a year", 2.457e6 / ADULTS, "2024: 2.457 M newly listed", True),
    Figure("removed in a year", 2.821e6 / ADULTS, "2024: 2.821 M removed via credit repair", True),
    Figure("on the list at one time", 8.3e6 / ADULTS, "2024: about 8.3 M (WSJ, secondary)", True),
    Figure("flight purchases blocked per listing", 17.5 / 13,
           "end 2018: ~17.5 M blocked, ~13 M listed since the list began", False),
    Figure("rail purchases blocked per listing", 5.47 / 13,
           "end 2018: 5.47 M blocked, ~13 M listed since the list began", False),
)


def court_run(population: int, seed: int = 0, overrides: dict[str, Any] | None = None) -> ss.RunResult:
    """The preset over `YEARS` years."""
    return ss.simulate(ss.load_scenario("court-blacklist", overrides or {}, population=population,
                                        days=365 * YEARS, seed=seed))


def court(run: ss.RunResult) -> dict[str, float]:
    """Each figure of `FIGURES` as a `court_run` gives it."""
    m, n = run.metrics, run.scenario.population.size
    last = m.filter(pl.col("day") >= 365 * (YEARS - 1))
    listings = m["blacklist_inflow"].sum()
    values = [last["blacklist_inflow"].sum() / n, last["blacklist_outflow"].sum() / n,
              last["blacklist_share"].mean(), m["denied_flight"].sum() / listings,
              m["denied_rail"].sum() / listings]
    return {f.name: float(v) for f, v in zip(FIGURES, values, strict=True)}


def within(model: float, published: float) -> bool:
    return published / FACTOR <= model <= published * FACTOR


def table(population: int, seed: int = 0) -> pl.DataFrame:
    """Published against model, with the rail ratio at its calibrated value and at 1."""
    model = court(court_run(population, seed))
    full_rate = court(court_run(population, seed, RAIL_AT_FULL_RATE))
    return pl.DataFrame([{
        "figure": f.name, "published": f.published, "model": model[f.name],
        "model / published": model[f.name] / f.published, "within 3x": within(model[f.name], f.published),
        "rail ratio 1": full_rate[f.name], "published as": f.source} for f in FIGURES])
