"""What one request may ask of the server, so that a shared classroom server cannot be knocked over.

The command line sets the bounds (`scorestate dashboard --max-population N --max-days D
--max-runs R`) and hands them to the page through environment variables, which are read and
checked here when the page's module is imported: the bounds then hold for every session, also
when the page is served by `solara run scorestate.dashboard.app` directly.

A preset's warm-up (`run.warm_up_days`: court-blacklist lives eight years before day 0) costs its
days like any others, so a request is also held to a budget of citizen-days: citizens x (days +
warm-up days) at most max_population x max_days. Without a warm-up the budget follows from the
two bounds; with one, it lowers the citizens a run may have.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from scorestate.errors import ScorestateError
from scorestate.scenario.schema import MAX_POPULATION, Run

ENV_MAX_POPULATION = "SCORESTATE_DASHBOARD_MAX_POPULATION"
ENV_MAX_DAYS = "SCORESTATE_DASHBOARD_MAX_DAYS"
ENV_MAX_RUNS = "SCORESTATE_DASHBOARD_MAX_RUNS"

DEFAULT_MAX_POPULATION = 100_000  # a few seconds a run on a laptop core
DEFAULT_MAX_DAYS = 730  # two years: every phase of every preset, and time after them
DEFAULT_MAX_RUNS = 1  # simulations at once, over all sessions; the others wait their turn
MIN_POPULATION = 100  # fewer citizens make a network of a dozen ties each meaningless
MAX_DAYS = int(Run.model_fields["days"].metadata[-1].le)  # the schema's bound (16-bit day stamps)
MAX_RUNS = 8  # more at once would only share the same cores more thinly
MAX_SEED = 2**31 - 1  # a seed a person can type; the paired seeds of compare fit above it
MIN_REPLICATES, MAX_REPLICATES = 2, 10  # seeds per confidence interval on the page
# A whole number as a person types it: digits, grouped in thousands by commas (as the page writes
# its own numbers) or underscores, or not grouped at all.
WHOLE = re.compile(r"^[+-]?(?:\d{1,3}(?:[,_]\d{3})+|\d+)$")
SHOWN_TYPED = 30  # characters of a typed text a message repeats


@dataclass(frozen=True)
class Limits:
    """The server's bounds on one request: citizens, days, and simulations at once."""

    max_population: int = DEFAULT_MAX_POPULATION
    max_days: int = DEFAULT_MAX_DAYS
    max_runs: int = DEFAULT_MAX_RUNS

    def __post_init__(self) -> None:
        check_bound("--max-population", self.max_population, MIN_POPULATION, MAX_POPULATION)
        check_bound("--max-days", self.max_days, 1, MAX_DAYS)
        check_bound("--max-runs", self.max_runs, 1, MAX_RUNS)

    @property
    def budget(self) -> int:
        """The citizen-days one run may cost, its warm-up's days included."""
        return self.max_population * self.max_days

    def most_population(self, days: int, warm_up_days: int = 0) -> int:
        """The most citizens a run of `days` days after `warm_up_days` days of warm-up may have
        (below MIN_POPULATION: none fits)."""
        return min(self.max_population, self.budget // (days + warm_up_days))

    def problems(self, population: int | None, days: int | None, seed: int | None, *,
                 preset: str = "this scenario", warm_up_days: int = 0) -> list[str]:
        """What is wrong with a request, one readable sentence each (empty: it may run).
        `warm_up_days` are the days `preset` lives before day 0, which cost like the others."""
        found = self.by_field(population, days, seed, preset=preset, warm_up_days=warm_up_days)
        return [problem for field in found.values() for problem in field]

    def by_field(self, population: int | None, days: int | None, seed: int | None, *,
                 preset: str = "this scenario", warm_up_days: int = 0) -> dict[str, list[str]]:
        """`problems` by the field each concerns ("Citizens", "Days", "Seed"), so that the page can
        say each under its field; a warm-up's, which caps the citizens for the days asked, goes
        with the citizens."""
        check_bound("warm_up_days", warm_up_days, 0, MAX_DAYS)
        out: dict[str, list[str]] = {"Citizens": [], "Days": [], "Seed": []}
        if population is None or not MIN_POPULATION <= population <= self.max_population:
            out["Citizens"].append(f"Citizens: {_given(population)}; this server simulates from "
                                   f"{MIN_POPULATION:,} to {self.max_population:,} citizens a run.")
        if days is None or not 1 <= days <= self.max_days:
            out["Days"].append(f"Days: {_given(days)}; this server simulates from 1 to {self.max_days:,} "
                               "days a run.")
        elif (warm_up_days and population is not None
              and population * (days + warm_up_days) > self.budget):  # without a warm-up: the bounds above
            out["Citizens"].append(self._warm_up_problem(preset, days, warm_up_days))
        if seed is None or not 0 <= seed <= MAX_SEED:
            out["Seed"].append(f"Seed: {_given(seed)}; expected a whole number from 0 to {MAX_SEED:,}.")
        return out

    def field_range(self, field: str) -> tuple[int, int]:
        """The lowest and highest number a society field takes on this server."""
        return {"Citizens": (MIN_POPULATION, self.max_population), "Days": (1, self.max_days),
                "Seed": (0, MAX_SEED)}[field]

    def _warm_up_problem(self, preset: str, days: int, warm_up_days: int) -> str:
        lives = f"{preset} lives {warm_up_days:,} days of warm-up before day 0"
        most = self.most_population(days, warm_up_days)
        if most >= MIN_POPULATION:
            return (f"{lives}: with {days:,} days, this server simulates at most {most:,} of its citizens "
                    "a run.")
        longest = self.budget // MIN_POPULATION - warm_up_days  # the most days that fit MIN_POPULATION
        if longest >= 1:
            return (f"{lives}: with {days:,} days, this server cannot simulate even {MIN_POPULATION:,} of "
                    f"its citizens; ask for at most {longest:,} days.")
        return (f"{lives}: this server cannot simulate even {MIN_POPULATION:,} of its citizens for a day "
                f"(at most {self.budget:,} citizen-days a run, the warm-up's included).")

    def refuse(self, population: int | None, days: int | None, seed: int | None, *,
               preset: str = "this scenario", warm_up_days: int = 0) -> None:
        """Raise the request's problems as one ScorestateError; the page shows its text."""
        found = self.problems(population, days, seed, preset=preset, warm_up_days=warm_up_days)
        if found:
            raise ScorestateError(" ".join(found))

    def environ(self) -> dict[str, str]:
        """The environment variables that hand these bounds to the page's process."""
        return {ENV_MAX_POPULATION: str(self.max_population), ENV_MAX_DAYS: str(self.max_days),
                ENV_MAX_RUNS: str(self.max_runs)}


def check_bound(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScorestateError(f"{name} is {value!r}; expected a whole number from {low:,} to {high:,}")


def from_environ(env: Mapping[str, str] | None = None) -> Limits:
    """The bounds the command line set (defaults where a variable is unset), checked."""
    env = os.environ if env is None else env
    values = {}
    for field, name, default in (("max_population", ENV_MAX_POPULATION, DEFAULT_MAX_POPULATION),
                                 ("max_days", ENV_MAX_DAYS, DEFAULT_MAX_DAYS),
                                 ("max_runs", ENV_MAX_RUNS, DEFAULT_MAX_RUNS)):
        text = env.get(name)
        if text is None:
            values[field] = default
            continue
        try:
            values[field] = int(text.strip().replace("_", ""))
        except ValueError:
            raise ScorestateError(f"{name} is {text!r}; expected a whole number") from None
    try:
        return Limits(**values)
    except ScorestateError as e:  # name the variable, not the option that would have set it
        for field, name in (("--max-population", ENV_MAX_POPULATION), ("--max-days", ENV_MAX_DAYS),
                            ("--max-runs", ENV_MAX_RUNS)):
            if str(e).startswith(field):
                raise ScorestateError(name + str(e)[len(field):]) from None
        raise


def read_whole(text: str | None) -> int | None:
    """The whole number a field holds ("1,000", "1000" or "1_000"); None where it holds none."""
    typed = (text or "").strip()
    return int(typed.replace(",", "").replace("_", "")) if WHOLE.match(typed) else None


def not_whole(field: str, text: str | None, low: int, high: int) -> str:
    """What is wrong with a field's text that is not a whole number, and what it expects."""
    typed = (text or "").strip()
    what = "nothing is typed" if not typed else (
        f"'{typed[:SHOWN_TYPED]}{'...' * (len(typed) > SHOWN_TYPED)}' is not a whole number")
    return (f"{field}: {what}; expected a whole number from {low:,} to {high:,}, in digits (1,000 and 1000 "
            "both work).")


def _given(value: int | None) -> str:
    return "nothing given" if value is None else f"{value:,} asked"
