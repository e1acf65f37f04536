"""The model's day written plainly in Mesa 3: one Python object per citizen.

Why it exists: it is the independent second implementation of MODEL.md that the fast engine is
checked against (`tests/test_mesa_equivalence.py` compares their metric distributions over many
seeds), and the baseline of the speed comparison (`python -m benchmarks`). It re-implements the
formulas from MODEL.md and the mechanism docstrings with ordinary Python: per-agent draws from
Mesa's `model.random`, sets and dicts, agents visited by `AgentSet.do` / `shuffle_do`. It shares
no kernel, no random stream and no state array with the engine.

What it shares on purpose: the scenario (parameters, resolved phases, vocabulary of events,
sources and services) and the day-0 society — the synthetic citizens and their network, built
by scorestate's population and network builders for the same seed — so that the comparison is
about the day, not about the initial draw. Condition strings of the scenario are interpreted by
a small evaluator of its own (`Rule` below), per agent.

The day, in MODEL.md's order: the phase in force; behaviour with deterrence; surveillance with
coverage, camera misattribution, false matches and classifier false positives; the centre's
points with leniency; the neighbours' snapshot; scoring with the association penalty, averaging
and drift; blacklist exits and entries; gates, prices and rewards; tie dropping, seeking and
churn; learning and approval; the day's metrics.

Left out (the reference scenario switches them off and `ReferenceModel` refuses them): appeals,
debts and court judgments, smart-home sensing, dismantling, listings seeded on day 0.
Done differently on purpose, without changing what is computed: scores are kept in float64 (the
engine keeps float32), and tie changes are made in a shuffled order of citizens (the engine's in
id order). Condition columns it does not know raise a KeyError rather than read as zero.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from scorestate.network import homophilous
from scorestate.population import build_citizens
from scorestate.scenario.load import load_scenario, phase_policies, scenario_from_dict
from scorestate.scenario.schema import Policy, Scenario
from scorestate.vocabulary import EVENTS, SERVICES

# The essay preset with the mechanisms the reference leaves out switched off. Scores start
# spread out so tiers, association and tie dropping are at work within a short run.
REFERENCE_OVERRIDES: dict[str, Any] = {
    "policy.blacklist.appeals.rate": 0.0,  # no appeals
    "behaviour.debt_default": 0.0,  # no debts, hence no court judgments
    "policy.sharing.court": False,
    "policy.scoring.initial_spread": 250.0,  # assumed: starting scores 750..1250
}

# columns that are a registry's facts, with the act whose sources hold them
FACT_OF_COLUMN = {"court_judgment_unpaid": "court_judgment", "debt_unpaid": "court_judgment",
                  "dose_refused": "dose_refused", "health_compliant": "health_dose",
                  "days_overdue": "health_dose"}
# columns that stand for an act of the citizen (a rule reading one names that act)
ACT_OF_COLUMN = {"court_judgment_unpaid": "court_judgment", "debt_unpaid": "court_judgment",
                 "dose_refused": "dose_refused", "days_since_flagged_alcohol": "alcohol"}
PLAIN_SERVICES = ("essentials", "retail", "rail", "flight", "loan", "flat", "car", "public_services",
                  "pharmacy")
PURCHASES = (("health_purchase", "pharmacy", "health"), ("alcohol", "alcohol", "alcohol"),
             ("tobacco", "tobacco", "tobacco"))
UNGATED = (("gaming", "gaming"), ("infraction", "conformity"), ("volunteer", "conformity"))
DISSENT = ("dissent_online", "dissent_public", "dissent_home")
HARDSHIP = {"essentials", "welfare", "pension"}


def reference_scenario(population: int = 400, days: int = 90, seed: int = 0,
                       overrides: dict[str, Any] | None = None) -> Scenario:
    """The scenario both implementations run when they are compared: the essay preset with
    REFERENCE_OVERRIDES, and without the phase changes that switch smart-home sensing on."""
    sc = load_scenario("essay", {**REFERENCE_OVERRIDES, **(overrides or {})},
                       population=population, days=days, seed=seed)
    raw = sc.model_dump(mode="json")
    for phase in raw["timeline"]["phases"]:
        phase["set"] = _without_smart_homes(phase["set"])
    return scenario_from_dict(raw, label="the Mesa reference scenario")


def _without_smart_homes(changes: dict[str, Any]) -> dict[str, Any]:
    """A phase's changes (dotted or nested) without any that touch smart-home sensing."""
    out = {}
    for key, value in changes.items():
        if "smart_home" in key.split("."):
            continue
        if isinstance(value, dict):
            value = _without_smart_homes(value)
            if not value:
                continue
        out[key] = value
    return out


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


# ------------------------------------------------------------------ conditions, per agent


def _divide(a: float, b: float) -> float:
    return a / b if b else math.copysign(math.inf, a) if a else math.nan


_CMP: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide}


class Rule:
    """A scenario condition evaluated on one agent at a time (whitelisted AST, never eval)."""

    def __init__(self, text: str, tiers: list[str]) -> None:
        self.text = text
        self.tiers = tiers
        self.names: set[str] = set()  # the columns it reads
        src = re.sub(r"(?<![<>=!])=(?!=)", "==", " ".join(text.split()))
        self.fn = self._build(ast.parse(src, mode="eval").body)

    def __call__(self, agent: Citizen) -> bool:
        return bool(self.fn(agent))

    def _build(self, node: ast.expr) -> Callable[[Citizen], Any]:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                value = self.tiers.index(value)
            return lambda agent, v=value: v
        if isinstance(node, ast.Name):
            if node.id.lower() in ("true", "false"):
                truth = node.id.lower() == "true"
                return lambda agent: truth
            self.names.add(node.id)
            return lambda agent, k=node.id: agent.column(k)
        if isinstance(node, ast.UnaryOp):
            f = self._build(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda agent: not f(agent)
            if isinstance(node.op, ast.USub):
                return lambda agent: -f(agent)
            return f
        if isinstance(node, ast.BoolOp):
            parts = [self._build(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda agent: all(p(agent) for p in parts)
            return lambda agent: any(p(agent) for p in parts)
        if isinstance(node, ast.BinOp):
            op, left, right = _ARITH[type(node.op)], self._build(node.left), self._build(node.right)
            return lambda agent: op(left(agent), right(agent))
        if isinstance(node, ast.Compare):
            items = [self._build(x) for x in (node.left, *node.comparators)]
            ops = [_CMP[type(o)] for o in node.ops]

            def chain(agent: Citizen) -> bool:
                values = [f(agent) for f in items]
                return all(op(values[k], values[k + 1]) for k, op in enumerate(ops))

            return chain
        raise ValueError(f"condition '{self.text}': {type(node).__name__} is not supported")


# ------------------------------------------------------------------ the policy in force


class PolicyView:
    """One phase's policy as plain Python values: points by rank, coverage, visibility, rules."""

    def __init__(self, policy: Policy) -> None:
        self.enabled = policy.enabled
        sv = policy.surveillance
        self.coverage = {
            s: ((getattr(sv, s).rural, getattr(sv, s).urban)
                if getattr(policy.sharing, s) and policy.enabled else (0.0, 0.0))
            for s in ("payment", "health", "camera", "platform", "court", "smart_home", "registry")}
        if any(self.coverage["smart_home"]):
            raise ValueError("the Mesa reference does not model smart-home sensing")
        self.observes = {e: list(sv.observes.get(e, []))[:3] for e in EVENTS}
        self.hit_rate = sv.platform_hit_rate
        self.misattribution = sv.camera_misattribution
        self.false_match = sv.camera_false_match
        self.false_positive = sv.platform_false_positive
        mult = policy.leniency.penalty_multiplier
        self.points = [{e: (p * mult[r] if p < 0 else p) for e, p in policy.scoring.points.items()}
                       for r in range(3)]
        self.penal = {e for e, p in policy.scoring.points.items() if p < 0}
        self.visibility = {e: tuple(self._visibility(e, u) for u in (0, 1)) for e in EVENTS}
        sc = policy.scoring
        self.initial, self.minimum, self.maximum, self.drift = sc.initial, sc.minimum, sc.maximum, sc.drift
        self.tiers = list(policy.tiers.names)
        self.bounds = list(policy.tiers.lower_bounds)
        a = policy.association
        shared = {s for s, cov in self.coverage.items() if getattr(policy.sharing, s) and policy.enabled}
        # association is scored only while the source that knows friendships feeds the centre,
        # and a registry's facts are known only while one of their sources does
        self.penalty, self.averaging = (a.penalty, a.averaging) if a.source in shared else (0.0, 0.0)
        self.known = {column for column, act in FACT_OF_COLUMN.items()
                      if shared.intersection(sv.observes.get(act, []))}
        if a.source in shared:
            self.known.add("friends")
        self.drop_rate, self.seek_rate = a.drop_rate, a.seek_rate
        self.seek_tries = a.seek_tries
        self.low_tier, self.high_tier = self.tiers.index(a.low_tier), self.tiers.index(a.high_tier)
        self.association = self.penalty > 0 or self.averaging > 0
        bl = policy.blacklist
        if bl.appeals.rate > 0:
            raise ValueError("the Mesa reference does not model appeals")
        self.entry = [(reason, Rule(text, self.tiers)) for reason, text in bl.entry.items()]
        self.exit = Rule(bl.exit, self.tiers)
        self.exempt = Rule(bl.exempt, self.tiers)
        gates = [(Rule(g.condition, self.tiers), g) for g in policy.gates.values()]
        rewards = [(Rule(g.condition, self.tiers), g) for g in policy.rewards.values()]
        self.deny = [(rule, set(g.services)) for rule, g in gates if g.action == "deny"]
        self.prices = [(rule, set(g.services), g.multiplier)
                       for rule, g in (*gates, *rewards) if g.action == "price"]
        self.spared = [m < 1 for m in mult]
        # an offence is a true act the rules name: penalised, or read by a listing or gate rule
        named = set().union(*(r.names for _, r in self.entry), *(r.names for r, _ in gates))
        self.offences = set(self.penal)
        if policy.enabled:
            self.offences |= {ACT_OF_COLUMN[c] for c in named if c in ACT_OF_COLUMN}

    def _visibility(self, event: str, urban: int) -> float:
        """The chance that at least one feeding source sees the act (what deterrence weighs)."""
        miss = 1.0
        for source in self.observes[event]:
            cov = self.coverage[source][urban]
            if source == "platform" and event == "dissent_online":
                cov *= self.hit_rate
            miss *= 1.0 - cov
        return 1.0 - miss

    def tier_of(self, score: float) -> int:
        tier = 0
        for k, bound in enumerate(self.bounds):
            if score >= bound:
                tier = k
        return tier


# ------------------------------------------------------------------ the citizen


class Citizen(mesa.Agent):
    """One synthetic citizen: traits, state, ties, and the day's acts as Python sets."""

    def __init__(self, model: ReferenceModel, index: int, traits: dict[str, Any]) -> None:
        super().__init__(model)
        self.index = index
        for name, value in traits.items():
            setattr(self, name, value)
        self.ties: dict[Citizen, None] = {}  # insertion-ordered, so runs repeat exactly
        self.capacity = 0
        self.listed = False
        self.listed_since = -1
        self.corrections = 0
        self.offences = 0
        self.sanctions = 0
        self.benefits = 0
        self.denied: set[str] = set()  # services closed today (decided yesterday)
        self.price: dict[str, float] = {}
        self.new_day()

    def new_day(self) -> None:
        self.acts: set[str] = set()
        self.latent: set[str] = set()
        self.used: set[str] = set()
        self.surcharge = 0.0  # how far above the normal price today's uses were paid, summed
        self.denied_today: set[str] = set()
        self.observed: list[str] = []
        self.falsely: list[str] = []
        self.misattributed = 0
        self.points_today = 0.0
        self.rewarded = False
        self.penalised = False  # an act the rules penalise was observed or pinned on it today

    def column(self, name: str) -> Any:
        """The value of a condition column for this citizen (see `COLUMNS`)."""
        return COLUMNS[name](self)

    # 2. behaviour
    def choose(self, event: str, x0: float, stake: float, extra: float = 0.0,
               visible: bool = True) -> bool:
        """One draw against the latent and the deterred probability; True when the act is done."""
        p = self.model.policy
        x = x0 + extra
        if visible:
            x += stake * p.points[self.rank][event] * p.visibility[event][int(self.urban)]
        u = self.random.random()
        if u < sigmoid(x0):
            self.latent.add(event)
        return u < sigmoid(x)

    def logit_of(self, logit: Any, trait: float) -> float:
        """A decision's logit before incentives: traits and demographics."""
        return (logit.base + logit.weight * (trait - 0.5) + logit.urban * self.urban
                + logit.income * (self.quintile - 3) + logit.age * (self.age - 40) / 10)

    def behave(self) -> None:
        m, b = self.model, self.model.scenario.behaviour
        self.new_day()
        stake = b.deterrence * self.perceived * self.care / b.points_unit if m.policy.enabled else 0.0
        if self.days_since_dose >= m.interval:
            x0 = self.logit_of(b.health_dose, self.health)
            push = b.wallet_pressure if "essentials" in self.denied else 0.0
            if self.choose("health_dose", x0, stake, push):
                self.acts.add("health_dose")
        if "health_dose" in self.acts:
            self.days_since_dose = 0
        else:
            self.days_since_dose += 1
            if self.days_since_dose - m.interval == m.refusal:
                self.acts.add("dose_refused")
        for event, service, trait in PURCHASES:
            logit = getattr(b, event)
            if self.choose(event, self.logit_of(logit, getattr(self, trait)), stake):
                self.attempt(service, act=event)
        for event, trait in UNGATED:
            logit = getattr(b, event)
            if self.choose(event, self.logit_of(logit, getattr(self, trait)), stake):
                self.acts.add(event)
        shares = b.dissent_channels
        v = self.random.random()
        channel = DISSENT[0] if v < shares[0] else DISSENT[1] if v < shares[0] + shares[1] else DISSENT[2]
        x0 = self.logit_of(b.dissent, self.grievance)
        if self.choose(channel, x0, stake, visible=channel != "dissent_home" or self.smart_home):
            self.acts.add(channel)
        if self.listed:
            x0 = self.logit_of(b.apology, self.conformity)
            if self.choose("apology", x0, stake):
                self.acts.add("apology")
        for service in PLAIN_SERVICES:
            if self.random.random() < self.chance_of(service):
                self.attempt(service)
        if (m.day + self.index) % b.services.claim_every_days == 0:
            if self.quintile <= b.services.welfare_max_quintile:
                self.attempt("welfare")
            if self.age >= m.scenario.population.retirement_age:
                self.attempt("pension")

    def chance_of(self, service: str) -> float:
        """The daily chance of attempting a service: the average citizen's, times the rate ratios
        of this citizen's settlement, income quintile and age, and of a known block."""
        services = self.model.scenario.behaviour.services
        d = getattr(services.demand, service)
        return (getattr(services, service) * (d.urban if self.urban else 1.0)
                * d.income ** (self.quintile - 3) * d.age ** ((self.age - 40) / 10)
                * (d.while_shut if service in self.denied else 1.0))

    def attempt(self, service: str, act: str | None = None) -> None:
        if service in self.denied:
            self.denied_today.add(service)
            return
        self.used.add(service)
        if act:
            self.acts.add(act)

    # 3. surveillance
    def get_observed(self) -> None:
        p = self.model.policy
        if not p.enabled:
            return
        u = int(self.urban)
        for event in sorted(self.acts):
            seen = None
            for source in p.observes[event]:
                cov = p.coverage[source][u]
                if source == "platform" and event == "dissent_online":
                    cov *= p.hit_rate
                if self.random.random() < cov:
                    seen = source
                    break
            if seen is None:
                continue
            if seen == "camera" and self.random.random() < p.misattribution:
                self.misattributed += 1
                self.model.pin_on_someone_else(self, event)
                continue
            self.observed.append(event)
        cam, plat = p.coverage["camera"][u], p.coverage["platform"][u]
        if cam > 0 and self.random.random() < p.false_match * cam and "infraction" not in self.acts:
            self.falsely.append("infraction")
        if plat > 0 and self.random.random() < p.false_positive * plat and "dissent_online" not in self.acts:
            self.falsely.append("dissent_online")

    # 4. the centre
    def tally_points(self) -> None:
        p = self.model.policy
        if not p.enabled:
            return
        points = p.points[self.rank]
        self.points_today = sum(points[e] for e in self.observed) + sum(points[e] for e in self.falsely)
        self.offences += len(self.acts & p.offences)
        if "apology" in self.observed:
            self.corrections += 1
        self.penalised = any(e in p.penal for e in self.observed) or any(e in p.penal for e in self.falsely)
        if self.rank > 0 and p.spared[self.rank] and self.penalised:
            self.model.spared += 1

    # 5. the neighbours' snapshot (before anyone's score moves today)
    def look_at_neighbours(self) -> None:
        p = self.model.policy
        d = len(self.ties)
        if d == 0:
            self.nbr_low = self.nbr_penalised = 0.0
            self.nbr_score = self.score
            return
        self.nbr_low = sum(1 for j in self.ties if j.tier <= p.low_tier) / d
        self.nbr_penalised = sum(1 for j in self.ties if j.penalised) / d
        self.nbr_score = sum(j.score for j in self.ties) / d

    # 5. scoring
    def update_score(self) -> None:
        p = self.model.policy
        if not p.enabled:
            return
        old = self.score
        new = (old + self.points_today - p.penalty * self.nbr_low + p.averaging * (self.nbr_score - old)
               + p.drift * (p.initial - old))
        self.score = min(max(new, p.minimum), p.maximum)
        self.tier = p.tier_of(self.score)

    # 6. blacklist: exits first; who left today is not listed again today; a term served while
    # an entry reason still holds starts again instead
    def review_listing(self) -> None:
        m, p = self.model, self.model.policy
        if not p.enabled:
            return
        if self.listed:
            if p.exit(self):
                if any(rule(self) for _reason, rule in p.entry) and not p.exempt(self):
                    self.listed_since, self.corrections = m.day, 0
                    m.extended += 1
                else:
                    self.listed, self.listed_since = False, -1
                    m.outflow += 1
            return
        for reason, rule in p.entry:
            if rule(self):
                if p.exempt(self):
                    if self.rank > 0:
                        m.spared += 1
                    return
                self.listed, self.listed_since, self.corrections = True, m.day, 0
                m.inflow[reason] = m.inflow.get(reason, 0) + 1
                return

    # 7. gates: settle today's prices, then decide tomorrow's
    def pass_gates(self) -> None:
        p = self.model.policy
        self.surcharge = 0.0
        for service in self.used:
            price = self.price.get(service, 1.0)
            self.model.paid.setdefault(service, []).append(price)
            if price < 1:
                self.rewarded = True
            self.surcharge += max(0.0, price - 1.0)
        self.benefits += self.rewarded
        denied: set[str] = set()
        price: dict[str, float] = {}
        if p.enabled:  # the rules read yesterday's gates (wallet_frozen), as the engine's do
            for rule, services in p.deny:
                if rule(self):
                    denied |= services
            for rule, services, multiplier in p.prices:
                if rule(self):
                    for s in services:
                        price[s] = price.get(s, 1.0) * multiplier
        self.denied, self.price = denied, price

    # 8. ties
    def adapt_ties(self) -> None:
        m, p = self.model, self.model.policy
        region = m.regions[self.region]
        if p.association:
            if p.drop_rate > 0 and self.random.random() < p.drop_rate * self.care:
                low = [j for j in self.ties if j.tier <= p.low_tier]
                if low:
                    m.untie(self, self.random.choice(low))
            if p.seek_rate > 0 and self.random.random() < p.seek_rate * self.care:
                for _ in range(p.seek_tries):
                    j = self.random.choice(region)
                    if j is not self and j.tier >= p.high_tier:
                        m.tie(self, j)
                        break
        churn = m.scenario.network.churn
        if churn > 0 and self.ties and self.random.random() < churn:
            m.untie(self, self.random.choice(list(self.ties)))
            m.tie(self, self.random.choice(region))

    # 9. learning and attitudes
    def learn(self) -> None:
        m, at = self.model, self.model.scenario.attitudes
        unit = m.scenario.behaviour.points_unit
        severity = min(1.0, max(0.0, -self.points_today) / unit)
        severity += at.severity_denial if self.denied_today else 0.0
        severity += at.severity_listing if self.listed and self.listed_since == m.day else 0.0
        severity += at.severity_surcharge * self.surcharge
        severity = min(severity, 1.0)
        p = self.perceived * (1.0 - at.perceived_decay)
        p += (1.0 - p) * (at.learn_own * severity + at.learn_neighbours * self.nbr_penalised)
        self.perceived = min(p, 1.0)
        a = self.approval + at.approval_benefit * self.rewarded - at.approval_own_sanction * severity
        a -= at.approval_neighbour_sanction * self.nbr_penalised + m.leniency_signal
        self.approval = a + at.approval_recovery * (self.approval0 - a)
        if severity > 0:
            self.sanctions += 1
        if self.denied_today & HARDSHIP:
            self.grievance = min(1.0, self.grievance + at.grievance_hardship)


def _overdue(a: Citizen) -> int:
    return a.days_since_dose - a.model.interval


# The condition columns the reference scenario's rules may read, for one citizen.
COLUMNS: dict[str, Callable[[Citizen], Any]] = {
    "score": lambda a: a.score, "tier": lambda a: a.tier, "blacklisted": lambda a: a.listed,
    "days_listed": lambda a: a.model.day - a.listed_since if a.listed else 0,
    "corrections": lambda a: a.corrections,
    "health_compliant": lambda a: (_overdue(a) <= a.model.grace
                                   or "health_compliant" not in a.model.policy.known),
    "dose_refused": lambda a: _overdue(a) >= a.model.refusal and "dose_refused" in a.model.policy.known,
    "days_overdue": lambda a: max(_overdue(a), 0) if "days_overdue" in a.model.policy.known else 0,
    "court_judgment_unpaid": lambda a: False, "debt_unpaid": lambda a: False,
    "official_rank": lambda a: a.rank, "urban": lambda a: a.urban, "age": lambda a: a.age,
    "income_quintile": lambda a: a.quintile, "degree": lambda a: len(a.ties),
    "wallet_frozen": lambda a: "essentials" in a.denied, "offences": lambda a: a.offences,
    "perceived_detection": lambda a: a.perceived, "approval": lambda a: sigmoid(a.approval),
    "grievance": lambda a: a.grievance, "conformity": lambda a: a.conformity,
    "frac_neighbours_low_tier": lambda a: a.nbr_low if "friends" in a.model.policy.known else 0.0,
}


# ------------------------------------------------------------------ the model


class ReferenceModel(mesa.Model):
    """The society of a scenario, a day per `step()`; `metrics` holds one dict per day."""

    def __init__(self, scenario: Scenario, rng_seed: int | None = None) -> None:
        super().__init__(seed=scenario.run.seed if rng_seed is None else rng_seed)
        self.scenario = scenario
        if scenario.behaviour.debt_default > 0:
            raise ValueError("the Mesa reference does not model debts; set behaviour.debt_default: 0")
        if scenario.policy.blacklist.seed_share > 0:
            raise ValueError("the Mesa reference does not model seeded listings")
        if scenario.timeline.dismantle_day is not None:
            raise ValueError("the Mesa reference does not model dismantling")
        self.phases = [(day, PolicyView(policy)) for day, policy, _ in phase_policies(scenario)]
        self.policy = self.phases[0][1]
        b = scenario.behaviour
        self.interval, self.grace, self.refusal = b.dose_interval_days, b.dose_grace_days, b.dose_refusal_days
        self.day = -scenario.run.warm_up_days  # the warm-up's days, before day 0, are not measured
        self._populate()
        self.metrics: list[dict[str, float]] = []
        while self.day < 0:
            self.step()

    def _populate(self) -> None:
        """Day 0: the same synthetic citizens and ties as the engine builds for this seed."""
        sc, seed = self.scenario, self.scenario.run.seed
        c, grievance, dsd = build_citizens(sc.population, sc.behaviour, sc.attitudes, seed)
        n = c.age.shape[0]
        start = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, 4])))
        p = self.policy
        s0 = sc.policy.scoring
        scores = np.clip(s0.initial + s0.initial_spread * start.uniform(-1, 1, n), s0.minimum, s0.maximum)
        self.citizens: list[Citizen] = []
        for i in range(n):
            score = float(np.float32(scores[i]))
            traits = {
                "urban": bool(c.urban[i]), "rank": int(c.rank[i]), "quintile": int(c.quintile[i]),
                "age": int(c.age[i]), "region": int(c.region[i]), "smart_home": bool(c.smart_home[i]),
                "conformity": float(c.conformity[i]), "health": float(c.health[i]),
                "alcohol": float(c.alcohol[i]), "tobacco": float(c.tobacco[i]),
                "gaming": float(c.gaming[i]),
                "care": (sc.behaviour.care_conformity * float(c.conformity[i])
                         + sc.behaviour.care_risk * float(c.risk_aversion[i])),
                "approval0": float(c.approval0[i]), "approval": float(c.approval0[i]),
                "grievance": float(grievance[i]), "days_since_dose": int(dsd[i]),
                "perceived": sc.attitudes.perceived_initial, "score": score, "tier": p.tier_of(score),
            }
            self.citizens.append(Citizen(self, i, traits))
        stratum = (c.region.astype(np.int64) * 2 + c.urban) * 4 + c.education
        g = homophilous(sc.network, c.region_start, stratum, seed)
        for i, a in enumerate(self.citizens):
            for k in range(g.start[i], g.start[i] + g.degree[i]):
                a.ties[self.citizens[int(g.nbrs[k])]] = None
        for a in self.citizens:  # room for new ties: the degree and a share of spare slots
            d = len(a.ties)
            a.capacity = d + max(2, math.ceil(sc.network.slack * d))
        self.regions: dict[int, list[Citizen]] = {}
        for a in self.citizens:
            self.regions.setdefault(a.region, []).append(a)
        self.officials = sum(1 for a in self.citizens if a.rank > 0)

    # ties change on both sides, within each side's room
    def tie(self, a: Citizen, b: Citizen) -> None:
        if a is b or b in a.ties or len(a.ties) >= a.capacity or len(b.ties) >= b.capacity:
            return
        a.ties[b] = None
        b.ties[a] = None
        self.made += 1

    def untie(self, a: Citizen, b: Citizen) -> None:
        del a.ties[b]
        del b.ties[a]
        self.dropped += 1

    def pin_on_someone_else(self, actor: Citizen, event: str) -> None:
        """A camera sighting matched to another citizen of the actor's region."""
        region = self.regions[actor.region]
        if len(region) < 2:  # nobody else to pin it on: the sighting is lost
            return
        victim = actor
        while victim is actor:
            victim = self.random.choice(region)
        victim.falsely.append(event)

    def step(self) -> None:
        for first, policy in self.phases:
            if first <= self.day:
                self.policy = policy
        self.spared = 0
        self.outflow = self.extended = 0
        self.inflow: dict[str, int] = {}
        self.dropped = self.made = 0
        self.paid: dict[str, list[float]] = {}
        self.agents.shuffle_do("behave")
        self.agents.shuffle_do("get_observed")
        self.agents.do("tally_points")
        self.agents.do("look_at_neighbours")
        self.agents.do("update_score")
        self.agents.do("review_listing")
        self.agents.do("pass_gates")
        if self.policy.association or self.scenario.network.churn > 0:
            self.agents.shuffle_do("adapt_ties")
        at = self.scenario.attitudes
        self.leniency_signal = (at.approval_leniency * at.leniency_visibility * self.spared
                                / max(1, self.officials))
        self.agents.do("learn")
        if self.day >= 0:
            self.metrics.append(self.measure())
        self.day += 1

    def measure(self) -> dict[str, float]:
        people = self.citizens
        n = len(people)
        interval_grace = self.interval + self.grace
        out = {
            "day": self.day,
            "blacklist_share": sum(a.listed for a in people) / n,
            "score_mean": sum(a.score for a in people) / n,
            "approval_mean": sum(sigmoid(a.approval) for a in people) / n,
            "perceived_mean": sum(a.perceived for a in people) / n,
            "grievance_mean": sum(a.grievance for a in people) / n,
            "denied_share": sum(bool(a.denied_today) for a in people) / n,
            "wallet_frozen_share": sum("essentials" in a.denied for a in people) / n,
            "health_compliance_rate": sum(a.days_since_dose <= interval_grace for a in people) / n,
            "dissent_rate": sum(any(e in a.acts for e in DISSENT) for a in people) / n,
            "dissent_latent_rate": sum(any(e in a.latent for e in DISSENT) for a in people) / n,
            "penalised_share": sum(a.penalised for a in people) / n,
            "mean_degree": sum(len(a.ties) for a in people) / n,
            "ties_dropped": float(self.dropped), "ties_made": float(self.made),
            "blacklist_outflow": float(self.outflow), "blacklist_extended": float(self.extended),
            "blacklist_inflow": float(sum(self.inflow.values())),
            "misattributions": float(sum(a.misattributed > 0 for a in people)),
            # acts of a penalised kind seen, and events pinned on citizens who did not do them
            # (false matches, false positives, misattributions), each counted once a citizen
            "observed_penalties": float(sum(len(set(a.observed) & self.policy.penal) for a in people)),
            "false_attributions": float(sum(len(set(a.falsely)) for a in people)),
            "rewards_received": float(sum(a.rewarded for a in people)),
        }
        for event in ("alcohol", "tobacco", "gaming", "infraction", "health_dose", "apology"):
            out[f"{event}_rate"] = sum(event in a.acts for a in people) / n
            out[f"{event}_latent_rate"] = sum(event in a.latent for a in people) / n
        for k, name in enumerate(self.policy.tiers):
            out[f"tier_share_{name}"] = sum(a.tier == k for a in people) / n
        for service in SERVICES:
            out[f"denied_{service}"] = float(sum(service in a.denied_today for a in people))
            out[f"used_{service}"] = float(sum(service in a.used for a in people))
        return out

    def run(self) -> list[dict[str, float]]:
        while self.day < self.scenario.run.days:
            self.step()
        return self.metrics


def run_reference(scenario: Scenario, rng_seed: int | None = None) -> list[dict[str, float]]:
    """Daily metrics of the Mesa reference for a scenario (one dict per day)."""
    return ReferenceModel(scenario, rng_seed).run()
