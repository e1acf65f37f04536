"""Calibration: the `court-blacklist` preset against the published figures of the national list
of dishonest judgment debtors (REFERENCES.md).

The preset's run starts after eight years of warm-up, when the list stands near the level it
settles at, so the flows and the list's size are read over the whole run (`YEARS` years), as
the 2024 figures of a list by then years old are; and so are the blocked purchases per listing,
against the published counts' growth from February 2017 to the end of 2018. The model's debt behaviour
(defaults, repayment) and the court's delay are assumed, not fitted: "of the published order"
is taken as within a factor of 3 either way. One number was set from these figures: rail's
known-block ratio (`behaviour.services.demand.rail.while_shut`, 0.05), since attempts at the
full rate block about twenty times the published rail purchases per listing
(`RAIL_AT_FULL_RATE` shows it). `filling` shows the list filling from empty, year by year,
without the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

import scorestate as ss

ADULTS = 1.1e9  # roughly, for the published counts as shares of adults
FACTOR = 3.0
YEARS = 2
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
    # blocked purchases and listings between two published dates, as a run after a warm-up
    # counts them (the counts since the list began would include its years of filling)
    Figure("flight purchases blocked per listing", (17.5 - 6.15) / (13 - 6.73),
           "Feb 2017 to end 2018: ~11.35 M blocked, ~6.27 M listed", False),
    Figure("rail purchases blocked per listing", (5.47 - 2.22) / (13 - 6.73),
           "Feb 2017 to end 2018: 3.25 M blocked, ~6.27 M listed", False),
)


def court_run(population: int, seed: int = 0, overrides: dict[str, Any] | None = None,
              years: int = YEARS) -> ss.RunResult:
    """The preset over `years` years (after its warm-up)."""
    return ss.simulate(ss.load_scenario("court-blacklist", overrides or {}, population=population,
                                        days=365 * years, seed=seed))


def court(run: ss.RunResult) -> dict[str, float]:
    """Each figure of `FIGURES` as a `court_run` gives it: yearly flows, the list's mean size,
    and the blocked purchases per listing, over the whole run."""
    m, n = run.metrics, run.scenario.population.size
    years = m.height / 365
    listings = m["blacklist_inflow"].sum()
    values = [listings / n / years, m["blacklist_outflow"].sum() / n / years,
              m["blacklist_share"].mean(), m["denied_flight"].sum() / listings,
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


def filling(population: int, years: int = 12, seed: int = 0) -> pl.DataFrame:
    """The list filling from empty (no warm-up), year by year: why the preset warms up."""
    m = court_run(population, seed, {"run.warm_up_days": 0}, years).metrics
    n = population
    return (m.with_columns(year=pl.col("day") // 365 + 1).group_by("year", maintain_order=True)
            .agg((pl.col("blacklist_share").mean() * 100).alias("on the list, % (mean)"),
                 (pl.col("blacklist_inflow").sum() / n * 100).alias("listed, % of adults"),
                 (pl.col("blacklist_outflow").sum() / n * 100).alias("removed, % of adults")))
