"""A policy compiled for the kernels: arrays of numbers and compiled conditions.

The timeline is resolved once, before day 0, into a list of (first day, CompiledPolicy); the
engine swaps the object in force when a phase begins. Kernels never see pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorestate.columns import FACT_COLUMNS, FRIEND_COLUMNS, PolicyConditions, compile_policy_conditions
from scorestate.scenario.load import phase_policies
from scorestate.scenario.schema import MAX_SOURCES_PER_ACT, Policy, Scenario
from scorestate.vocabulary import EVENT_INDEX, EVENTS, SERVICE_INDEX, SOURCE_INDEX, SOURCES

N_EVENTS = len(EVENTS)
# Columns that stand for an act of the citizen: a rule reading one names that act as an offence.
OFFENCE_COLUMNS = {"court_judgment_unpaid": "court_judgment", "debt_unpaid": "court_judgment",
                   "dose_refused": "dose_refused", "days_since_flagged_alcohol": "alcohol"}


@dataclass(frozen=True)
class CompiledPolicy:
    spec: Policy
    name: str
    enabled: bool
    points: np.ndarray  # float64[3, E]: points by official rank (leniency applied to penalties)
    penal_mask: int  # bit mask of events the rules penalise
    offence_mask: int  # events the rules name: penalised, or read by a listing or gate rule
    coverage: np.ndarray  # float64[S, 2]: chance a feeding source sees an act (rural, urban)
    observe: np.ndarray  # int8[E, MAX_SOURCES_PER_ACT]: sources tried for each event, -1 padded
    visibility: np.ndarray  # float64[E, 2]: chance the centre learns of an act (for deterrence)
    tier_bounds: np.ndarray  # float64[T]
    low_tier: int
    high_tier: int
    conditions: PolicyConditions
    deny_gates: tuple[tuple[int, int], ...]  # (index into conditions.gates, service bit mask)
    price_gates: tuple[tuple[int, tuple[int, ...], float], ...]  # (index, services, multiplier)
    rewards: tuple[tuple[int, tuple[int, ...], float], ...]
    association_active: bool  # the centre scores association today (citizens then adapt ties)
    association_penalty: float  # the spec's, or 0 while the source of friendships is not shared
    association_averaging: float
    known_facts: frozenset[str]  # the FACT_ and FRIEND_COLUMNS the centre knows under this policy


def compile_policy(policy: Policy, name: str, label: str) -> CompiledPolicy:
    sv = policy.surveillance
    points = np.zeros((3, N_EVENTS))
    for e, pts in policy.scoring.points.items():
        k = EVENT_INDEX[e]
        points[:, k] = pts
        if pts < 0:
            points[:, k] *= np.asarray(policy.leniency.penalty_multiplier)
    penal_mask = 0
    for e, pts in policy.scoring.points.items():
        if pts < 0:
            penal_mask |= 1 << EVENT_INDEX[e]
    coverage = np.zeros((len(SOURCES), 2))
    for s in SOURCES:
        if getattr(policy.sharing, s) and policy.enabled:
            cov = getattr(sv, s)
            coverage[SOURCE_INDEX[s]] = (cov.rural, cov.urban)
    observe = np.full((N_EVENTS, MAX_SOURCES_PER_ACT), -1, np.int8)  # the schema caps the lists
    visibility = np.zeros((N_EVENTS, 2))
    for e, sources in sv.observes.items():
        k = EVENT_INDEX[e]
        miss = np.ones(2)
        for t, s in enumerate(sources):
            observe[k, t] = SOURCE_INDEX[s]
            c = coverage[SOURCE_INDEX[s]].copy()
            if e == "dissent_online" and s == "platform":
                c *= sv.platform_hit_rate
            miss *= 1 - c
        visibility[k] = 1 - miss
    cond = compile_policy_conditions(policy, label=label)
    named = set().union(*(c.names for _, c in cond.entry + cond.gates)) if cond.entry + cond.gates else set()
    offence_mask = penal_mask
    for column, event in OFFENCE_COLUMNS.items():
        if column in named and policy.enabled:
            offence_mask |= 1 << EVENT_INDEX[event]
    names = policy.tiers.names
    deny, price = [], []
    for k, gate in enumerate(policy.gates.values()):
        services = tuple(SERVICE_INDEX[s] for s in gate.services)
        if gate.action == "deny":
            deny.append((k, sum(1 << s for s in services)))
        else:
            price.append((k, services, gate.multiplier))
    rewards = tuple((k, tuple(SERVICE_INDEX[s] for s in g.services), g.multiplier)
                    for k, g in enumerate(policy.rewards.values()))
    a = policy.association
    shared = {s for s in SOURCES if getattr(policy.sharing, s) and policy.enabled}
    friends_known = a.source in shared  # guilt by association needs to know who is whose friend
    penalty, averaging = (a.penalty, a.averaging) if friends_known else (0.0, 0.0)
    return CompiledPolicy(
        spec=policy, name=name, enabled=policy.enabled, points=points, penal_mask=penal_mask,
        offence_mask=offence_mask,
        coverage=coverage, observe=observe, visibility=visibility,
        tier_bounds=np.asarray(policy.tiers.lower_bounds, np.float64),
        low_tier=names.index(a.low_tier), high_tier=names.index(a.high_tier), conditions=cond,
        deny_gates=tuple(deny), price_gates=tuple(price), rewards=rewards,
        association_active=penalty > 0 or averaging > 0,
        association_penalty=penalty, association_averaging=averaging,
        known_facts=frozenset([column for column, event in FACT_COLUMNS.items()
                               if shared.intersection(sv.observes.get(event, ()))]
                              + (list(FRIEND_COLUMNS) if friends_known else [])),
    )


def compile_timeline(scenario: Scenario) -> list[tuple[int, CompiledPolicy]]:
    """(first day, policy) in day order; the dismantling day, if any, switches everything off."""
    names = ["initial"] + [p.name for p in sorted(scenario.timeline.phases, key=lambda p: p.day)]
    resolved = phase_policies(scenario, label=f"scenario '{scenario.name}'")
    out = [(day, compile_policy(policy, name, where))
           for name, (day, policy, where) in zip(names, resolved, strict=True)]
    dismantle = scenario.timeline.dismantle_day
    if dismantle is not None:
        last = [p for d, p in out if d <= dismantle][-1]
        off = last.spec.model_copy(update={"enabled": False})
        out = [(d, p) for d, p in out if d < dismantle]
        out.append((dismantle, compile_policy(off, "dismantled", f"dismantling on day {dismantle}")))
    return out


def unheard(scenario: Scenario) -> list[str]:
    """What a scenario's rules ask of the centre that no shared source tells it, with the phases
    where it is so: those rules then read every citizen as having nothing on record (a dose rule
    with the health records not shared, guilt by association with its source not shared)."""
    where: dict[str, list[str]] = {}
    for _, p in compile_timeline(scenario):
        if not p.enabled:
            continue
        a, cond = p.spec.association, p.conditions
        if (a.penalty > 0 or a.averaging > 0) and not p.association_active:
            where.setdefault(f"guilt by association does nothing while policy.sharing.{a.source} (the "
                             "source of who is whose friend) is off", []).append(p.name)
        rules = cond.entry + cond.gates + cond.rewards + (("exit", cond.exit), ("exempt", cond.exempt))
        named = set().union(*(c.names for _, c in rules))
        for column in sorted(named.intersection([*FACT_COLUMNS, *FRIEND_COLUMNS]) - p.known_facts):
            sources = (" or ".join(f"policy.sharing.{s}" for s in p.spec.surveillance.observes.get(
                FACT_COLUMNS[column], ())) if column in FACT_COLUMNS else f"policy.sharing.{a.source}"
            ) or "a source in policy.surveillance.observes"
            where.setdefault(f"rules read {column} as for nobody on record while {sources} is off",
                             []).append(p.name)
    return [f"{what} (phase{'s' if len(phases) > 1 else ''} {', '.join(phases)})"
            for what, phases in where.items()]


def policy_on(timeline: list[tuple[int, CompiledPolicy]], day: int) -> CompiledPolicy:
    current = timeline[0][1]
    for first, policy in timeline:
        if first <= day:
            current = policy
    return current


def price_services(timeline: list[tuple[int, CompiledPolicy]]) -> tuple[int, ...]:
    """Services that any phase prices (they need a per-citizen price array)."""
    found: set[int] = set()
    for _, p in timeline:
        for _, services, _ in p.price_gates + p.rewards:
            found.update(services)
    return tuple(sorted(found))
