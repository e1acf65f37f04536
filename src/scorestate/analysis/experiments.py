"""Paired experiments for the findings: arms, runs stepped day by day, and paired effects.

An arm is a policy (a preset plus overrides that reach every phase); a run of an arm is stepped
day by day so that per-citizen tallies the daily metrics do not keep (who was ever penalised,
listed or pushed into a low tier; penalty points by official rank; exposure to sanctions) are
accumulated alongside. Two arms on the same seeds meet the same citizens and the same luck
(common random numbers), so the mean of the per-seed differences, with its t-interval, is the
policy's effect.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import polars as pl
from scipy import stats

from scorestate.engine import Simulation
from scorestate.scenario.load import load_scenario
from scorestate.scenario.schema import Scenario
from scorestate.vocabulary import EVENTS

SCORING_PHASE_DAY = 30  # the essay's "score for everything" phase; effects need time after it


# ---------------------------------------------------------------- arms and runs


@dataclass(frozen=True)
class Arm:
    """A scenario variant: a preset plus overrides. Policy overrides reach every phase that
    touches the same parameter, so "association off" stays off after the essay's day-30 phase."""

    label: str
    preset: str = "essay"
    overrides: tuple[tuple[str, Any], ...] = ()

    def but(self, label: str, **changes: Any) -> Arm:
        """This arm with more overrides (keyword `a__b__c` for the dotted path `a.b.c`)."""
        more = tuple((k.replace("__", "."), v) for k, v in changes.items())
        return Arm(label, self.preset, self.overrides + more)


ESSAY = Arm("essay")
BASELINE = Arm("baseline", "baseline")


def leaves(value: Any, prefix: str = "") -> list[str]:
    """The dotted paths of a nested mapping's values (`{"a": {"b": 1}}` -> `["a.b"]`)."""
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{prefix}.{k}" if prefix else k)]
    return [prefix]


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _set_in_phase(changes: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` inside a phase's changes, whether they are written nested or with dotted keys."""
    for key in list(changes):
        if path == key:
            changes[key] = value
            return
        if path.startswith(key + ".") and isinstance(changes[key], dict):
            node = changes[key]
            parts = path[len(key) + 1:].split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
            return
    changes[path] = value  # a dotted key after the phase's own keys is applied after them


def resolve(arm: Arm, population: int, days: int, seed: int) -> Scenario:
    """The arm's scenario at this size and seed, with policy overrides carried into phases."""
    base = load_scenario(arm.preset)
    phases = [p.model_dump(mode="json") for p in base.timeline.phases]
    changed = False
    for path, value in arm.overrides:
        if not path.startswith("policy."):
            continue
        for phase in phases:
            touched = [leaf for key, v in phase["set"].items() for leaf in leaves(v, key)]
            if any(_overlaps(path, leaf) for leaf in touched):
                _set_in_phase(phase["set"], path, value)
                changed = True
    overrides: dict[str, Any] = dict(arm.overrides)
    if changed:
        overrides["timeline.phases"] = phases
    return load_scenario(arm.preset, overrides, population=population, days=days, seed=seed)


@dataclass
class Outcome:
    """One run's summary: scalar metrics and the per-citizen arrays the claims pair."""

    values: dict[str, float]
    citizens: dict[str, np.ndarray]


def _mean(frame: pl.DataFrame, column: str, start: int, stop: int) -> float:
    if column not in frame.columns:
        return float("nan")
    x = frame[column].to_numpy()[max(0, start):stop].astype(np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _gap(values: np.ndarray, high: np.ndarray, low: np.ndarray) -> float:
    if not high.any() or not low.any():
        return float("nan")
    return float(values[high].mean() - values[low].mean())


@dataclass
class _Tally:
    """Per-citizen accumulators over the days of one run."""

    n: int
    ever_penalised: np.ndarray = field(init=False)
    ever_false: np.ndarray = field(init=False)  # penalised for an act the citizen did not commit
    ever_listed: np.ndarray = field(init=False)
    ever_low: np.ndarray = field(init=False)
    points_lost: np.ndarray = field(init=False)
    points_rules: np.ndarray = field(init=False)  # what the same acts cost without leniency
    listed_days: np.ndarray = field(init=False)
    nbr_exposure: np.ndarray = field(init=False)  # sum over days of the share of friends penalised
    true_events: int = 0
    false_events: int = 0

    def __post_init__(self) -> None:
        n = self.n
        self.ever_penalised, self.ever_false, self.ever_listed, self.ever_low = (
            np.zeros(n, bool) for _ in range(4))
        self.points_lost, self.points_rules, self.listed_days, self.nbr_exposure = (
            np.zeros(n) for _ in range(4))

    def add_day(self, sim: Simulation, rank: np.ndarray, rules: np.ndarray) -> None:
        s, p = sim.state, sim.policy
        if p.enabled and p.penal_mask:
            hit = (s.observed | s.falsely) & np.uint32(p.penal_mask)
            self.ever_penalised |= hit != 0
            self.ever_false |= (s.falsely & np.uint32(p.penal_mask)) != 0
            for e in range(len(EVENTS)):
                if (p.penal_mask >> e) & 1:
                    bit = np.uint32(1 << e)
                    hit_e = (hit & bit) != 0
                    self.true_events += int(np.count_nonzero(s.observed & bit))
                    self.false_events += int(np.count_nonzero(s.falsely & bit))
                    self.points_lost[hit_e] -= p.points[rank[hit_e], e]
                    self.points_rules[hit_e] -= rules[e]
        if p.enabled:
            self.ever_low |= s.tier <= p.low_tier
        self.ever_listed |= s.blacklisted
        self.listed_days += s.blacklisted
        self.nbr_exposure += s.nbr_penalised


def simulate_outcome(scenario: Scenario, window: int, dismantle_day: int) -> Outcome:
    """Run one scenario, stepping day by day, and summarise it (see the module docstring)."""
    sim = Simulation(scenario)
    c, s = sim.citizens, sim.state
    rank = c.rank.astype(np.int64)
    t = _Tally(sim.n)
    rules: dict[int, np.ndarray] = {}
    while sim.day < scenario.run.days:
        sim.step()
        p = sim.policy
        if id(p) not in rules:
            rules[id(p)] = np.array([p.spec.scoring.points[e] for e in EVENTS])
        t.add_day(sim, rank, rules[id(p)])
    m = sim.result().metrics
    days = m.height
    lo = days - window
    innocent = s.offences == 0
    official = rank >= 1
    start = 1 / (1 + np.exp(-c.approval0.astype(np.float64)))
    end = 1 / (1 + np.exp(-s.approval.astype(np.float64)))
    nan = float("nan")
    events = t.true_events + t.false_events
    v: dict[str, float] = {
        "dissent": _mean(m, "dissent_rate", lo, days),
        "dissent_latent": _mean(m, "dissent_latent_rate", lo, days),
        "perceived": _mean(m, "perceived_mean", lo, days),
        "approval": _mean(m, "approval_mean", lo, days),
        "grievance": _mean(m, "grievance_mean", lo, days),
        "assortativity": _mean(m, "score_assortativity", lo, days),
        "cross_tier": _mean(m, "cross_tier_tie_share", lo, days),
        "listed_degree_ratio": _mean(m, "blacklisted_degree_ratio", lo, days),
        "largest_component": float(m["largest_component_share"][-1]),
        "components": float(m["components"][-1]),
        "mean_degree": float(m["mean_degree"][-1]),
        "ties_dropped": 1000 * float(m["ties_dropped"].sum()) / sim.n,
        "ties_made": 1000 * float(m["ties_made"].sum()) / sim.n,
        "false_share": t.false_events / events if events else 0.0,
        "penalised": 1000 * float(t.ever_penalised.mean()),
        "false_penalised": 1000 * float(t.ever_false.mean()),
        "never_offended": 1000 * float(innocent.mean()),
        "innocent_penalised": 1000 * float((t.ever_penalised & innocent).mean()),
        "listed": 1000 * float(t.ever_listed.mean()),
        "officials": float(official.sum()),
        "pen_official": float(t.points_lost[official].mean()) if official.any() else nan,
        "pen_ordinary": float(t.points_lost[~official].mean()),
        "pen_official_rule_share": (float(t.points_lost[official].sum() / t.points_rules[official].sum())
                                    if official.any() and t.points_rules[official].sum() > 0 else nan),
        "listed_days_official": float(t.listed_days[official].mean()) if official.any() else nan,
        "listed_days_ordinary": float(t.listed_days[~official].mean()),
        "approval_ordinary": float(end[~official].mean()),
    }
    v["chilling"] = 1 - v["dissent"] / v["dissent_latent"] if v["dissent_latent"] > 0 else 0.0
    urban = c.urban.astype(bool)
    for when, a in (("start", start), ("end", end)):
        v[f"gap_urban_{when}"] = _gap(a, urban, ~urban)
        v[f"gap_education_{when}"] = _gap(a, c.education == 3, c.education == 0)
        v[f"gap_income_{when}"] = _gap(a, c.quintile == 5, c.quintile == 1)
        v[f"gap_age_{when}"] = _gap(a, c.age >= 60, c.age < 35)
    # the window just before the dismantling day (the irreversibility claim's "before")
    for key, column in (("dissent", "dissent_rate"), ("dissent_latent", "dissent_latent_rate"),
                        ("perceived", "perceived_mean"), ("approval", "approval_mean"),
                        ("grievance", "grievance_mean")):
        v[f"before_{key}"] = _mean(m, column, dismantle_day - window, dismantle_day)
    for key, column in (("mean_degree", "mean_degree"), ("largest_component", "largest_component_share")):
        v[f"before_{key}"] = _mean(m, column, dismantle_day - 1, dismantle_day)
    return Outcome(v, {"approval_end": end.astype(np.float32),
                       "own_exposure": s.sanctions.astype(np.float64), "nbr_exposure": t.nbr_exposure,
                       "ever_listed": t.ever_listed, "ever_low": t.ever_low})


class Lab:
    """Runs arms at one size over the same seeds, once each; arms that resolve to the same
    scenario share their runs."""

    def __init__(self, population: int, days: int, replicates: int, seed: int = 0,
                 progress: Callable[[str], None] | None = None) -> None:
        self.population, self.days, self.replicates, self.seed = population, days, replicates, seed
        self.window = max(5, days // 8)
        # halfway, but late enough for the scoring phase to have acted for a window before it
        self.dismantle_day = max(days // 2, min(SCORING_PHASE_DAY + self.window, days - self.window))
        self.progress = progress
        self.runs = 0
        self._cache: dict[str, list[Outcome]] = {}
        self._keys: dict[str, str] = {}

    @property
    def seeds(self) -> list[int]:
        return [self.seed + k for k in range(self.replicates)]

    def _key(self, arm: Arm) -> str:
        spec = json.dumps([arm.preset, arm.overrides])
        if spec not in self._keys:
            scenario = resolve(arm, self.population, self.days, 0)
            self._keys[spec] = scenario.model_dump_json(exclude={"name", "description", "overrides"})
        return self._keys[spec]

    def outcomes(self, arm: Arm) -> list[Outcome]:
        """The arm's outcomes, one per seed, run on first request.

        Kernels run on one thread here: at these sizes a day is dominated by thread
        synchronisation (badly so on a shared machine), and results do not depend on threads.
        """
        key = self._key(arm)
        if key not in self._cache:
            done = []
            threads = numba.get_num_threads()
            numba.set_num_threads(1)
            try:
                for seed in self.seeds:
                    scenario = resolve(arm, self.population, self.days, seed)
                    done.append(simulate_outcome(scenario, self.window, self.dismantle_day))
                    self.runs += 1
                    if self.progress is not None:
                        self.progress(f"{arm.label}, seed {seed}")
            finally:
                numba.set_num_threads(threads)
            self._cache[key] = done
        return self._cache[key]

    def values(self, arm: Arm, key: str) -> np.ndarray:
        return np.array([o.values[key] for o in self.outcomes(arm)])

    def count(self, arms: Iterable[Arm]) -> int:
        """How many runs these arms need that have not been made yet."""
        keys = {self._key(a) for a in arms}
        return len(keys - set(self._cache)) * self.replicates


# ---------------------------------------------------------------- paired effects


@dataclass(frozen=True)
class Effect:
    """Mean paired difference a - b over seeds, with its 95% t-interval."""

    a: float
    b: float
    diff: float
    lo: float
    hi: float
    n: int


def paired(a: Sequence[float], b: Sequence[float]) -> Effect:
    """The paired effect of a over b; seeds where either is undefined are left out."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    nan = float("nan")
    if n == 0:
        return Effect(nan, nan, nan, nan, nan, 0)
    d = x - y
    mean = float(d.mean())
    if n < 2:
        return Effect(float(x.mean()), float(y.mean()), mean, nan, nan, n)
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return Effect(float(x.mean()), float(y.mean()), mean, mean - half, mean + half, n)
