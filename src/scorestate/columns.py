"""The citizen columns that scenario conditions may name, and their compilation per policy.

A condition such as `tier <= 'C' and official_rank = 0` reads columns by these names. Derived
columns (days listed, health compliance, neighbour shares) are computed only when a condition
of the day asks for them, once per day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scorestate.conditions import ColumnKind, Condition, compile_condition
from scorestate.mechanisms.neighbours import share
from scorestate.state import NEVER

if TYPE_CHECKING:
    from scorestate.scenario.schema import Behaviour, Policy
    from scorestate.state import Citizens, State

COLUMNS: dict[str, tuple[ColumnKind, str]] = {
    "age": ("number", "age in years"),
    "urban": ("bool", "lives in a city"),
    "education": ("number", "0 primary, 1 secondary, 2 tertiary, 3 degree"),
    "income": ("number", "income, relative units"),
    "income_quintile": ("number", "1 poorest .. 5 richest"),
    "region": ("number", "region index"),
    "official_rank": ("number", "0 none, 1 local cadre, 2 senior official"),
    "conformity": ("number", "latent conformity in [0, 1]"),
    "risk_aversion": ("number", "latent risk aversion in [0, 1]"),
    "grievance": ("number", "dissent propensity in [0, 1]"),
    "smart_home": ("bool", "has smart-home devices"),
    "score": ("number", "current score"),
    "tier": ("tier", "current tier; compare with tier names: tier <= 'C'"),
    "blacklisted": ("bool", "on the blacklist"),
    "days_listed": ("number", "days on the blacklist (0 when not listed)"),
    "corrections": ("number", "apologies recognised while listed"),
    "health_compliant": ("bool", "not overdue for a scheduled dose beyond the grace days (true while no "
                                 "source of doses is shared)"),
    "days_overdue": ("number", "days past the scheduled dose (0 when not due, or while no source of "
                                 "doses is shared)"),
    "dose_refused": ("bool", "overdue past the refusal limit (false while no source of refusals is shared)"),
    "debt_unpaid": ("bool", "has defaulted on a debt and not paid (false while no source of judgments "
                              "is shared)"),
    "court_judgment_unpaid": ("bool", "a court judgment for an unpaid debt stands (false while no source "
                                        "of judgments is shared)"),
    "days_since_flagged_alcohol": ("number", "days since an alcohol purchase was observed (99999: never)"),
    "wallet_frozen": ("bool", "the wallet is shut today"),
    "approval": ("number", "approval of the system in [0, 1]"),
    "perceived_detection": ("number", "perceived chance of detection in [0, 1]"),
    "offences": ("number", "true acts committed that the rules name (penalise, or list or gate for)"),
    "false_points": ("number", "penalty points from false attributions not yet appealed"),
    "degree": ("number", "number of ties"),
    "frac_neighbours_blacklisted": ("number", "share of neighbours on the blacklist (0 while "
                                    "association.source is not shared)"),
    "frac_neighbours_low_tier": ("number", "share of neighbours at or below association.low_tier (0 while "
                                 "association.source is not shared)"),
}
KINDS: dict[str, ColumnKind] = {name: kind for name, (kind, _) in COLUMNS.items()}
# What a rule can know follows the data-sharing switches (MODEL.md step 3: "data-sharing
# switches decide which sources feed the centre"). A registry's facts (a judgment, a debt, a
# dose), each with the act whose sources hold them (`observes`), are known while one of those
# sources feeds the centre; the neighbours' shares while `association.source` does
# (`policy.compile_policy` sets `known_facts`). Unknown, a column reads as UNKNOWN gives: a
# citizen with nothing on record, or without known friends.
FACT_COLUMNS = {"court_judgment_unpaid": "court_judgment", "debt_unpaid": "court_judgment",
                "dose_refused": "dose_refused", "health_compliant": "health_dose",
                "days_overdue": "health_dose"}
FRIEND_COLUMNS = ("frac_neighbours_blacklisted", "frac_neighbours_low_tier")
UNKNOWN: dict[str, np.bool_ | np.int32 | np.float64] = {
    "court_judgment_unpaid": np.False_, "debt_unpaid": np.False_, "dose_refused": np.False_,
    "health_compliant": np.True_, "days_overdue": np.int32(0),
    "frac_neighbours_blacklisted": np.float64(0.0), "frac_neighbours_low_tier": np.float64(0.0)}


class ColumnEnv(Mapping[str, np.ndarray]):
    """Lazy, per-day view of the citizen columns for condition evaluation.

    With `rows`, the columns hold those citizens only (in that order): a rule that concerns a
    few citizens (the listed, for the exit rule) costs in proportion to them.
    """

    def __init__(self, citizens: Citizens, state: State, degree: np.ndarray, day: int,
                 behaviour: Behaviour, known: frozenset[str], rows: np.ndarray | None = None) -> None:
        self.c, self.s, self.degree, self.day, self.b = citizens, state, degree, day, behaviour
        self.known, self.rows = known, rows
        self._cache: dict[str, np.ndarray] = {}

    def subset(self, rows: np.ndarray) -> ColumnEnv:
        """The same columns for `rows` only."""
        return ColumnEnv(self.c, self.s, self.degree, self.day, self.b, self.known, rows)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COLUMNS)

    def __len__(self) -> int:
        return len(COLUMNS)

    def _take(self, column: np.ndarray) -> np.ndarray:
        return column if self.rows is None else column[self.rows]

    def _compute(self, name: str) -> np.ndarray:
        c, s, b, take = self.c, self.s, self.b, self._take
        if name in UNKNOWN and name not in self.known:  # no source of these facts feeds the centre
            return np.full(self.s.score.shape[0] if self.rows is None else self.rows.shape[0],
                           UNKNOWN[name])
        direct = {
            "age": c.age, "urban": c.urban, "education": c.education, "income": c.income,
            "income_quintile": c.quintile, "region": c.region, "official_rank": c.rank,
            "conformity": c.conformity, "risk_aversion": c.risk_aversion,
            "grievance": s.grievance, "smart_home": c.smart_home, "score": s.score,
            "tier": s.tier, "blacklisted": s.blacklisted, "corrections": s.corrections,
            "perceived_detection": s.perceived, "offences": s.offences,
            "false_points": s.false_points, "degree": self.degree,
            "court_judgment_unpaid": s.judgment,
        }
        if name in direct:
            return take(direct[name])
        if name == "frac_neighbours_blacklisted":
            return share(take(s.nbr_blacklisted), take(self.degree))
        if name == "frac_neighbours_low_tier":
            return share(take(s.nbr_low), take(self.degree))
        if name == "days_listed":
            return np.where(take(s.blacklisted), self.day - take(s.listed_since).astype(np.int32), 0)
        if name in ("days_overdue", "health_compliant", "dose_refused"):
            since = take(s.days_since_dose)  # compared as stored: no widened copy of a million
            if name == "health_compliant":
                return since <= b.dose_interval_days + b.dose_grace_days
            if name == "dose_refused":
                return since >= b.dose_interval_days + b.dose_refusal_days
            return np.maximum(since.astype(np.int32) - b.dose_interval_days, 0)
        if name == "debt_unpaid":
            return take(s.debt_since) != NEVER
        if name == "days_since_flagged_alcohol":
            flagged = take(s.alcohol_flagged)
            return np.where(flagged != NEVER, self.day - flagged.astype(np.int32), 99999)
        if name == "wallet_frozen":
            return (take(s.denied) & 1) != 0
        if name == "approval":
            return 1.0 / (1.0 + np.exp(-take(s.approval).astype(np.float64)))
        raise KeyError(name)


@dataclass(frozen=True)
class PolicyConditions:
    """A policy's conditions, compiled once per phase."""

    entry: tuple[tuple[str, Condition], ...]
    exit: Condition
    exempt: Condition
    gates: tuple[tuple[str, Condition], ...]
    rewards: tuple[tuple[str, Condition], ...]


def compile_policy_conditions(policy: Policy, *, label: str) -> PolicyConditions:
    """Compile every condition of a policy; errors name the field and the scenario."""
    tiers = policy.tiers.names

    def comp(text: str, where: str) -> Condition:
        return compile_condition(text, KINDS, where=f"{label}: {where}", tier_names=tiers)

    bl = policy.blacklist
    return PolicyConditions(
        entry=tuple((r, comp(t, f"policy.blacklist.entry.{r}")) for r, t in bl.entry.items()),
        exit=comp(bl.exit, "policy.blacklist.exit"),
        exempt=comp(bl.exempt, "policy.blacklist.exempt"),
        gates=tuple((g, comp(v.condition, f"policy.gates.{g}.condition"))
                    for g, v in policy.gates.items()),
        rewards=tuple((g, comp(v.condition, f"policy.rewards.{g}.condition"))
                      for g, v in policy.rewards.items()),
    )
