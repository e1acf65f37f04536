"""The citizens as a struct of arrays: one row per citizen, no Python object per citizen.

`Citizens` holds what does not change during a run (demographics, traits); `State` holds what
mechanisms write. Arrays are preallocated once and written in place; rebinding one is refused
(`Preallocated.__setattr__`) because kernels and views hold references to the original buffer.
A run's demographics are read-only besides: the groups, the officials and the network were
built from them, and kernels index tables with them without checking bounds.

Scratch arrays that one step writes and a later step of the same day reads are named for the
day (`acts`, `observed`, `points_today`, ...); the step that makes one writes every citizen's
entry each day (empty when its mechanism is off), so no pass is spent clearing them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import ClassVar

import numpy as np

from scorestate.errors import RebindError
from scorestate.vocabulary import EVENTS

# One bit per event in the day's masks; the narrowest unsigned type that holds every event.
MASK = np.uint16 if len(EVENTS) <= 16 else np.uint32
# Day stamps (`listed_since`, `debt_since`, `alcohol_flagged`) are int16: `run.days` and
# `run.warm_up_days` are capped at DAY_MAX, so that every stamp (negative for the warm-up's days,
# before day 0) and NEVER fit.
DAY = np.int16
DAY_MAX = int(np.iinfo(DAY).max)
NEVER = int(np.iinfo(DAY).min)


class Preallocated:
    """A dataclass of arrays that kernels and views hold: once frozen, a field may be written
    into but not rebound (`state.x |= y` rebinds the same object after writing in place: allowed)."""

    _frozen = False

    def __setattr__(self, name: str, value: object) -> None:
        if self._frozen and name in _field_names(type(self)) and value is not getattr(self, name):
            raise RebindError(self._refusal(name))
        super().__setattr__(name, value)

    def _refusal(self, name: str) -> str:
        kind = type(self).__name__
        return (f"{kind}.{name} is a preallocated array; write into it ({kind.lower()}.{name}[:] = "
                "...) instead of rebinding it, so kernels and views keep seeing the same buffer")

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


@dataclass
class Citizens(Preallocated):
    age: np.ndarray  # uint8, years
    urban: np.ndarray  # bool
    education: np.ndarray  # uint8, 0 primary .. 3 degree
    income: np.ndarray  # float32, relative units (log-normal)
    quintile: np.ndarray  # uint8, 1 (poorest) .. 5
    region: np.ndarray  # uint16 region index (int32 beyond 65,536 regions)
    rank: np.ndarray  # uint8, 0 none, 1 local cadre, 2 senior official
    group: np.ndarray  # uint8, combined index settlement x education x quintile x rank (metrics)
    conformity: np.ndarray  # float32 in [0, 1]
    risk_aversion: np.ndarray
    health: np.ndarray  # health-compliance propensity
    alcohol: np.ndarray
    tobacco: np.ndarray
    gaming: np.ndarray
    smart_home: np.ndarray  # bool: has smart-home devices (adopter)
    approval0: np.ndarray  # float32: initial approval logit (Kostka 2019 gradients)
    region_start: np.ndarray  # int64[regions + 1]: citizens are numbered region by region

    FIXED: ClassVar[tuple[str, ...]] = ("age", "urban", "education", "income", "quintile", "region",
                                        "rank", "group", "region_start")
    """The demographics, read-only in a run: the groups, the officials and the network were built
    from them, and kernels index tables with them. The traits after them may be written."""

    @property
    def n(self) -> int:
        return int(self.age.shape[0])

    def freeze(self) -> None:
        """Refuse rebinding any field, and writing into the demographics (`FIXED`)."""
        for name in self.FIXED:
            getattr(self, name).flags.writeable = False
        super().freeze()

    def _refusal(self, name: str) -> str:
        if name not in self.FIXED:
            return super()._refusal(name)
        return (f"Citizens.{name} is fixed for the run (read-only: the groups, the officials and the "
                "network were built from the demographics); expected a scenario that builds the "
                "citizens you want (population.*), or a write into a trait (citizens.conformity[:] "
                "= ...)")


@dataclass
class State(Preallocated):
    # persistent state
    score: np.ndarray  # float32
    tier: np.ndarray  # uint8 rank, 0 = lowest tier
    blacklisted: np.ndarray  # bool
    listed_since: np.ndarray  # int16 day (negative: in the warm-up), NEVER (-32768) when not listed
    list_reason: np.ndarray  # int8 index into policy.blacklist.entry, -1 when not listed
    corrections: np.ndarray  # uint8 apologies recognised while listed (saturates at 255)
    days_since_dose: np.ndarray  # int16 days since the last scheduled dose (stops at 30,000)
    debt_since: np.ndarray  # int16 day of an unpaid default (negative: in the warm-up), NEVER none
    judgment: np.ndarray  # bool: a court judgment for an unpaid debt stands
    perceived: np.ndarray  # float32 perceived detection risk
    approval: np.ndarray  # float32 approval logit
    grievance: np.ndarray  # float32 in [0, 1]
    denied: np.ndarray  # uint16 bit per service: closed by the gates (read by tomorrow's behaviour)
    false_points: np.ndarray  # float32 penalty points from false attributions, not yet appealed
    offences: np.ndarray  # uint16, saturating: true acts that the rules in force name
    sanctions: np.ndarray  # uint16 sanctions suffered (penalties, denials, listing, prices above normal)
    benefits: np.ndarray  # uint16 rewards received
    alcohol_flagged: np.ndarray  # int16 last day an alcohol purchase was observed, NEVER none
    # the day's scratch, written in full each day by the step that makes it
    acts: np.ndarray  # bit per event: what the citizen really did today
    latent: np.ndarray  # bit per event: what the citizen would have done without incentives
    observed: np.ndarray  # bit per event: acts the centre observed (true attributions)
    falsely: np.ndarray  # bit per event: acts pinned on the citizen that others did or nobody did
    misattributed: np.ndarray  # bit per event: own acts a camera pinned on someone else
    points_today: np.ndarray  # float32 points from today's observed events (after leniency)
    used: np.ndarray  # uint16 bit per service: attempted and served today
    denied_today: np.ndarray  # uint16 bit per service: attempted and denied today
    rewarded: np.ndarray  # bool: paid a reward price (below 1) today
    # neighbour aggregates, computed once a day from the start-of-day state; the counts are
    # shares once divided by the degree before the day's tie changes (`neighbours.share`)
    nbr_blacklisted: np.ndarray  # uint8 (wider for rows above 255 slots) neighbours listed
    nbr_low: np.ndarray  # uint8 (as nbr_blacklisted) neighbours at or below the low tier
    nbr_penalised: np.ndarray  # float32 share of neighbours penalised today
    nbr_score: np.ndarray  # float32 mean neighbour score (own score when isolated)

    @classmethod
    def allocate(cls, n: int, most_ties: int = 255) -> State:
        """Zeroed state for n citizens, none with more than `most_ties` ties (sizes the counts)."""
        count = next(t for t in (np.uint8, np.uint16, np.uint32) if most_ties <= np.iinfo(t).max)

        def z(dtype: type) -> np.ndarray:
            return np.zeros(n, dtype=dtype)

        s = cls(
            score=z(np.float32), tier=z(np.uint8), blacklisted=z(np.bool_),
            listed_since=np.full(n, NEVER, DAY), list_reason=np.full(n, -1, np.int8),
            corrections=z(np.uint8), days_since_dose=z(np.int16),
            debt_since=np.full(n, NEVER, DAY), judgment=z(np.bool_), perceived=z(np.float32),
            approval=z(np.float32), grievance=z(np.float32), denied=z(np.uint16),
            false_points=z(np.float32), offences=z(np.uint16), sanctions=z(np.uint16),
            benefits=z(np.uint16), alcohol_flagged=np.full(n, NEVER, DAY),
            acts=z(MASK), latent=z(MASK), observed=z(MASK), falsely=z(MASK), misattributed=z(MASK),
            points_today=z(np.float32), used=z(np.uint16), denied_today=z(np.uint16),
            rewarded=z(np.bool_),
            nbr_blacklisted=z(count), nbr_low=z(count), nbr_penalised=z(np.float32),
            nbr_score=z(np.float32),
        )
        s.freeze()
        return s

    def clear_day(self) -> None:
        """Empty the day's scratch (for tests and tools that run one mechanism by hand)."""
        for a in (self.acts, self.latent, self.observed, self.falsely, self.misattributed,
                  self.points_today, self.used, self.denied_today):
            a[:] = 0

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

