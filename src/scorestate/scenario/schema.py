"""The scenario schema: every number the model uses, with its source or the word "assumed".

A scenario has two halves. The *society* (population, network, behaviour, attitudes) is the
same under every policy, so two scenarios can be compared on the same citizens. The *policy*
(surveillance, data sharing, scoring, tiers, blacklist, gates, rewards, leniency) is what a
regime chooses; the timeline's phases change it on given days, and may dismantle it.

Constraints live here as data; `scorestate scenarios --show NAME` prints the resolved values
and `docs/ODD.md` tabulates the fields with their sources.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scorestate.vocabulary import EVENTS, SERVICES, SOURCES

ASSUMED = "assumed"
MAX_POPULATION = 2_000_000_000  # citizen ids must fit the adjacency's int32
MAX_SOURCES_PER_ACT = 3  # sources tried per act: the columns of the surveillance table
MAX_NAME = 200  # characters of a scenario's or a phase's name
MAX_DESCRIPTION = 500  # characters of a scenario's description
# Bounds that keep the kernels' arithmetic finite (a 1e308 overflows them), far beyond any study:
MAX_LOGIT = 1e3  # a term on the logit scale (sigmoid(1e3) is 1 to the last bit)
MAX_DEMOGRAPHIC = 1e2  # a demographic term per unit (a quintile step, a decade): a few units apart
MAX_POINTS = 1e6  # points: a score is a few thousand at most in every preset
MAX_LOG_INCOME = 5.0  # a log-income term (e^5: 148 times the income)
MAX_MULTIPLIER = 1e3  # a penalty multiplier
MAX_RATIO = 1e2  # a rate ratio per unit (a quintile step, a decade)


def P(default: Any, doc: str, source: str = ASSUMED, **constraints: Any) -> Any:
    """A parameter: default, one-line meaning, and where the number comes from."""
    return Field(default, description=doc, json_schema_extra={"source": source}, **constraints)


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never be silently ignored. NaN and infinities are
    refused everywhere: the kernels would turn them into nonsense runs without a word.

    Types are strict (pydantic's strict mode): a number must be a number, true/false a boolean,
    text a string. `size: true` is not 1 citizen, `enabled: 'off'` not false, `days: "5"` not 5.
    The one conversion kept is an integer where a real number is expected (`drift: 1`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False,
                              strict=True)

    @model_validator(mode="before")
    @classmethod
    def _partial_sections_keep_their_defaults(cls, data: Any) -> Any:
        """A section given in part (`camera: {urban: 0.9}`, `--set behaviour.alcohol.base=-2`)
        changes only what it names. Where a field's default is its own instance (the camera's
        coverage, each trait, each logit), the rest comes from that default, not from the class's
        generic one, which would silently change parameters nobody touched."""
        if not isinstance(data, dict):
            return data
        merged = None
        for name, default in _own_defaults(cls).items():
            if isinstance(data.get(name), dict):
                merged = dict(data) if merged is None else merged
                merged[name] = _overlay(default, data[name])
        return data if merged is None else merged


@functools.cache
def _own_defaults(cls: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """The section fields of a model whose default is an instance of its own (a trait's mean,
    a camera's coverage), as data: once per class, not at every validation."""
    return {name: info.default.model_dump() for name, info in cls.model_fields.items()
            if isinstance(info.default, Strict) and info.default != type(info.default)()}


def _overlay(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` over `base`, section by section."""
    out = dict(base)
    for key, value in given.items():
        out[key] = (_overlay(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict)
                    else value)
    return out


class UnknownName(ValueError):
    """A wrong name whose message already names it and the choices, so no "got ..." is added."""


# Characters that would rewrite a terminal or a report where a name is printed: C0 and C1
# controls (ESC, newline, tab, ...), DEL, and the bidirectional overrides and isolates.
_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\x1b": "ESC",
                  "\x00": "NUL", "\x7f": "DEL"}
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str, limit: int) -> str:
    """`text` if it is one line of printable text of at most `limit` characters."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cc" or ch in _BIDI:
            what = _CONTROL_NAMES.get(ch, f"U+{ord(ch):04X}")
            raise ValueError(f"contains a control character ({what}) at character {i + 1}; expected "
                             f"one line of printable text of at most {limit} characters")
    if len(text) > limit:
        raise ValueError(f"is {len(text):,} characters long; expected at most {limit}")
    return text


# ---------------------------------------------------------------- society


class Trait(Strict):
    """A latent trait in [0, 1], drawn from a Beta distribution."""

    mean: float = P(0.5, "mean of the Beta distribution", gt=0, lt=1)
    concentration: float = P(4.0, "alpha + beta of the Beta distribution", gt=0)


class Traits(Strict):
    conformity: Trait = Trait(mean=0.6, concentration=4)
    risk_aversion: Trait = Trait(mean=0.5, concentration=4)
    health: Trait = Trait(mean=0.8, concentration=6)
    alcohol: Trait = Trait(mean=0.3, concentration=3)
    tobacco: Trait = Trait(mean=0.25, concentration=3)
    gaming: Trait = Trait(mean=0.3, concentration=3)
    grievance: Trait = Trait(mean=0.3, concentration=3)
    smart_home: Trait = Trait(mean=0.3, concentration=3)


class Population(Strict):
    size: int = P(100_000, "number of synthetic citizens (with an edge list: set by the file, its largest id + 1)", gt=0, le=MAX_POPULATION)
    urban_share: float = P(0.65, "share living in cities", ge=0, le=1)
    regions: int = P(50, "number of regions (communities)", gt=0, le=1_000_000)
    age_min: int = P(18, "youngest adult modelled (minors cannot be listed: SPC 2017)", ge=0)
    age_max: int = P(85, "oldest age modelled", gt=0, le=120)
    retirement_age: int = P(60, "age from which a pension is claimed", ge=0)
    education_shares: list[float] = P(
        [0.30, 0.38, 0.17, 0.15], "shares of primary, secondary, tertiary, degree"
    )
    education_urban_shift: float = P(0.5, "shift of the latent normal cut into education levels per unit of (urban - urban_share): city dwellers are better educated", ge=-MAX_LOGIT, le=MAX_LOGIT)
    income_sigma: float = P(0.8, "sigma of log income", gt=0, le=MAX_LOG_INCOME)
    income_urban_premium: float = P(0.5, "log-income premium of city dwellers", ge=-MAX_LOG_INCOME, le=MAX_LOG_INCOME)
    income_education_step: float = P(0.25, "log-income premium per education level", ge=-MAX_LOG_INCOME, le=MAX_LOG_INCOME)
    official_local_share: float = P(0.01, "share who are local cadres (rank 1)", source="MODEL.md", ge=0, le=1)
    official_senior_share: float = P(0.001, "share who are senior officials (rank 2)", source="MODEL.md", ge=0, le=1)
    traits: Traits = Traits()

    @field_validator("education_shares")
    @classmethod
    def _four_shares(cls, v: list[float]) -> list[float]:
        if len(v) != 4 or any(x < 0 for x in v) or abs(sum(v) - 1) > 1e-6:
            raise ValueError("expected four non-negative shares that sum to 1")
        return v

    @model_validator(mode="after")
    def _ages(self) -> Population:
        if self.age_min >= self.age_max:
            raise ValueError("age_min must be below age_max")
        return self


class Network(Strict):
    kind: Literal["homophilous", "edgelist", "graph"] = P(
        "homophilous", "generate; read an edge list; or 'graph': a networkx graph given from Python (graph=)")
    mean_degree: float = P(12.0, "mean number of ties per citizen", source="MODEL.md (10-20)", gt=0, le=1000)
    within_region: float = P(0.8, "share of ties inside the citizen's region", ge=0, le=1)
    same_stratum: float = P(0.6, "share of in-region ties to the same urban/education stratum", ge=0, le=1)
    edgelist: str | None = P(None, "CSV or Parquet file of two columns of citizen ids from 0, one tie per row (kind: edgelist); recorded as an absolute path")
    edgelist_sha256: str | None = P(None, "set by scorestate, not by you: the sha256 of the edge list a run read, so that its network is rebuilt only from the same file")
    churn: float = P(0.002, "daily chance a citizen replaces one tie by a new one in the region", ge=0, le=1)
    slack: float = P(0.5, "spare tie slots per citizen, as a share of degree (tie changes need room)", ge=0, le=10)

    @field_validator("edgelist_sha256")
    @classmethod
    def _sha256(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("expected the 64 hex digits of a sha256, as scorestate records them "
                             "(a scenario one writes leaves it out)")
        return v

    @model_validator(mode="after")
    def _edgelist_given(self) -> Network:
        """An edge list and its kind come together: either one alone would be silently ignored."""
        if self.kind == "edgelist" and not self.edgelist:
            raise ValueError("kind 'edgelist' needs network.edgelist, the path of the edge list")
        for name in ("edgelist", "edgelist_sha256"):
            if self.kind != "edgelist" and getattr(self, name) is not None:
                raise ValueError(f"network.{name} is set but network.kind is '{self.kind}'; expected "
                                 f"network.kind: edgelist to read the file, or no network.{name}")
        return self


class Logit(Strict):
    """Daily probability sigmoid(base + weight * (trait - 0.5) + the demographic terms) before
    incentives. The demographic terms are 0 in every preset: no source gives them for these acts,
    and a researcher who has one sets them."""

    base: float = P(0.0, "intercept on the logit scale", ge=-MAX_LOGIT, le=MAX_LOGIT)
    weight: float = P(4.0, "weight of the citizen's own trait, centred at 0.5", ge=-MAX_LOGIT, le=MAX_LOGIT)
    urban: float = P(0.0, "added to the logit of a city dweller", ge=-MAX_DEMOGRAPHIC, le=MAX_DEMOGRAPHIC)
    income: float = P(0.0, "added per income quintile above the middle one (q3; q1 gets -2x, q5 +2x)", ge=-MAX_DEMOGRAPHIC, le=MAX_DEMOGRAPHIC)
    age: float = P(0.0, "added per decade of age above 40 (below 40, subtracted)", ge=-MAX_DEMOGRAPHIC, le=MAX_DEMOGRAPHIC)


class Demand(Strict):
    """How one service's daily chance of an attempt varies between citizens: rate ratios by
    demographic group (1 everywhere in the presets: no source gives them), and what is left of
    the attempts while the citizen knows the service is shut to it (it was shut yesterday)."""

    urban: float = P(1.0, "rate ratio of a city dweller to a rural one", ge=0, le=MAX_RATIO)
    income: float = P(1.0, "rate ratio per income quintile above the middle one (q1: x^-2, q5: x^2)", gt=0, le=MAX_RATIO)
    age: float = P(1.0, "rate ratio per decade of age above 40 (below 40, divided)", gt=0, le=MAX_RATIO)
    while_shut: float = P(1.0, "rate ratio while the service is shut to the citizen (a known block deters)", ge=0, le=1)


class Demands(Strict):
    """A `Demand` for each service attempted by daily chance."""

    essentials: Demand = Demand()
    pharmacy: Demand = Demand()
    retail: Demand = Demand()
    rail: Demand = P(Demand(while_shut=0.05), "rail tickets", source=(
        "calibrated: 0.52 blocked rail purchases per listing on the court list, February 2017 to "
        "end 2018 (REFERENCES.md; tests/test_calibration.py), which attempts at the full rate "
        "overstate about twentyfold"))
    flight: Demand = Demand()
    loan: Demand = Demand()
    flat: Demand = Demand()
    car: Demand = Demand()
    public_services: Demand = Demand()


class Services(Strict):
    """Daily chance that a citizen attempts each service (welfare/pension: on claim days); the
    chance is the average citizen's, varied by `demand`."""

    essentials: float = P(0.9, "buying essentials", ge=0, le=1)
    pharmacy: float = P(0.03, "buying at a pharmacy (other than health products)", ge=0, le=1)
    retail: float = P(0.3, "general retail", ge=0, le=1)
    rail: float = P(0.01, "a high-speed rail ticket", ge=0, le=1)
    flight: float = P(0.002, "a flight ticket", ge=0, le=1)
    loan: float = P(0.0008, "a loan application", ge=0, le=1)
    flat: float = P(0.0003, "buying or renting a flat", ge=0, le=1)
    car: float = P(0.0003, "buying a car", ge=0, le=1)
    public_services: float = P(0.03, "a public service", ge=0, le=1)
    claim_every_days: int = P(30, "welfare and pensions are claimed every this many days", gt=0)
    welfare_max_quintile: int = P(1, "welfare is claimed by income quintiles up to this one", ge=0, le=5)
    demand: Demands = P(Demands(), "rate ratios of the attempts by demographic group and while shut")


class Behaviour(Strict):
    """How citizens act. Incentives enter as perceived detection x points at stake x care."""

    health_dose: Logit = Logit(base=-3.0, weight=10.0)
    # at most 10,000 days each: the count of days since a dose (int16) stops at 30,000
    dose_interval_days: int = P(180, "days between scheduled doses", gt=0, le=10_000)
    dose_grace_days: int = P(30, "days overdue before a citizen counts as non-compliant", ge=0, le=10_000)
    dose_refusal_days: int = P(60, "days overdue at which the lapse counts as refusal", ge=0, le=10_000)
    health_purchase: Logit = Logit(base=-3.5, weight=3.0)
    alcohol: Logit = Logit(base=-3.0, weight=5.0)
    tobacco: Logit = Logit(base=-2.5, weight=6.0)
    gaming: Logit = Logit(base=-2.5, weight=5.0)
    infraction: Logit = Logit(base=-5.0, weight=-3.0)  # trait: conformity (less conformist, more)
    dissent: Logit = Logit(base=-4.0, weight=6.0)  # trait: grievance
    dissent_channels: list[float] = P([0.6, 0.15, 0.25], "shares of dissent online, in public, at home")
    volunteer: Logit = Logit(base=-5.0, weight=3.0)  # trait: conformity
    apology: Logit = Logit(base=-2.0, weight=4.0)  # trait: conformity; only while blacklisted
    debt_default: float = P(1.5e-5, "daily chance of defaulting on a debt, lowest income quintile", source="assumed; of the order of the court list's flows (REFERENCES.md)", ge=0, le=1)
    debt_default_income_factor: float = P(0.6, "default chance multiplier per quintile step up (0: only the lowest quintile defaults)", ge=0)
    debt_repay: float = P(0.001, "daily chance a defaulter pays", source="assumed; listings last years (REFERENCES.md: ~8.3 M listed at once, ~2.5 M a year)", ge=0, le=1)
    services: Services = Services()
    deterrence: float = P(8.0, "logit weight of perceived detection x points at stake x care", ge=0, le=MAX_LOGIT)
    points_unit: float = P(50.0, "points that count as one unit of stake", gt=0)
    care_conformity: float = P(0.6, "how much conformity adds to caring about one's score", ge=0, le=MAX_LOGIT)
    care_risk: float = P(0.6, "how much risk aversion adds to caring about one's score", ge=0, le=MAX_LOGIT)
    wallet_pressure: float = P(3.0, "logit push to take a due dose while one's wallet is shut", ge=0, le=MAX_LOGIT)

    @field_validator("dissent_channels")
    @classmethod
    def _three_channels(cls, v: list[float]) -> list[float]:
        if len(v) != 3 or any(x < 0 for x in v) or abs(sum(v) - 1) > 1e-6:
            raise ValueError("expected three non-negative shares (online, public, home) that sum to 1")
        return v


class Attitudes(Strict):
    """Learning of detection risk, and approval of the system (Kostka 2019 gradients)."""

    perceived_initial: float = P(0.3, "perceived chance of detection at the start", ge=0, le=1)
    perceived_decay: float = P(0.005, "daily relative decay of perceived detection", ge=0, le=1)
    learn_own: float = P(0.3, "step toward certainty x severity of one's own sanction today", ge=0, le=1)
    learn_neighbours: float = P(0.02, "step toward certainty x share of neighbours penalised today", ge=0, le=1)
    approval_base: float = P(0.9, "approval logit of a rural, primary-educated, q3, 40-year-old", source="Kostka 2019 (~80% approve)", ge=-MAX_LOGIT, le=MAX_LOGIT)
    approval_urban: float = P(0.4, "approval logit added by city living", source="Kostka 2019 (direction)", ge=-MAX_LOGIT, le=MAX_LOGIT)
    approval_education: float = P(0.25, "approval logit added per education level", source="Kostka 2019 (direction)", ge=-MAX_LOGIT, le=MAX_LOGIT)
    approval_income: float = P(0.15, "approval logit added per income quintile above q3", source="Kostka 2019 (direction)", ge=-MAX_LOGIT, le=MAX_LOGIT)
    approval_age: float = P(0.015, "approval logit added per year of age above 40", source="Kostka 2019 (direction)", ge=-MAX_LOGIT, le=MAX_LOGIT)
    approval_noise: float = P(0.8, "standard deviation of individual approval logits", ge=0, le=MAX_LOGIT)
    approval_benefit: float = P(0.05, "approval logit gained per reward received", ge=0, le=MAX_LOGIT)
    approval_own_sanction: float = P(0.3, "approval logit lost x severity of one's own sanction today", ge=0, le=MAX_LOGIT)
    approval_neighbour_sanction: float = P(0.05, "approval logit lost x share of neighbours penalised today", ge=0, le=MAX_LOGIT)
    approval_leniency: float = P(0.3, "approval logit lost x share of officials seen spared today", ge=0, le=MAX_LOGIT)
    approval_recovery: float = P(0.01, "daily pull of approval back toward its initial value", ge=0, le=1)
    grievance_hardship: float = P(0.01, "grievance added on a day with any hardship denial (essentials, welfare or a pension), once however many", ge=0, le=1)
    leniency_visibility: float = P(0.1, "weight of the share of officials spared today in the leniency everyone sees (deterministic: no draw per official)", ge=0, le=1)
    severity_denial: float = P(1.0, "severity of a day with any service denied, however many", ge=0, le=MAX_LOGIT)
    severity_listing: float = P(1.0, "severity of being put on the blacklist today, or of a new term begun (an extension)",
                               ge=0, le=MAX_LOGIT)
    severity_surcharge: float = P(0.5, "severity per unit of price paid above the normal today, summed over services (a doubled price: 1 unit)", ge=0, le=MAX_LOGIT)


# ---------------------------------------------------------------- policy


class Coverage(Strict):
    urban: float = P(0.0, "chance the source observes a city dweller's act", ge=0, le=1)
    rural: float = P(0.0, "chance the source observes a rural dweller's act", ge=0, le=1)


class Surveillance(Strict):
    """Sources with coverage and error. Which acts each source sees is `observes`."""

    payment: Coverage = Coverage(urban=0.9, rural=0.6)
    health: Coverage = Coverage(urban=1.0, rural=0.9)
    camera: Coverage = Coverage(urban=0.6, rural=0.1)
    platform: Coverage = Coverage(urban=0.8, rural=0.5)
    court: Coverage = Coverage(urban=1.0, rural=1.0)
    smart_home: Coverage = Coverage(urban=0.0, rural=0.0)
    registry: Coverage = Coverage(urban=0.5, rural=0.5)
    camera_misattribution: float = P(
        0.02, "share of camera-observed acts pinned on a wrong citizen of the same region",
        source="assumed; cf. NIST FRVT (NISTIR 8280) and live deployments (REFERENCES.md)", ge=0, le=1)
    camera_false_match: float = P(
        2e-5, "daily chance per citizen in camera coverage of being matched to an act nobody did",
        source="assumed; FMR 1e-4..1e-5 at thresholds (NISTIR 8280)", ge=0, le=1)
    platform_hit_rate: float = P(0.7, "share of online dissent the classifier flags", ge=0, le=1)
    platform_false_positive: float = P(2e-4, "daily chance the classifier flags a citizen who said nothing", ge=0, le=1)
    court_delay_days: int = P(60, "days from an unpaid default to the court's judgment", ge=0)
    observes: dict[str, list[str]] = P(
        {
            "health_dose": ["health"], "dose_refused": ["health"],
            "health_purchase": ["payment", "health"], "alcohol": ["payment"],
            "tobacco": ["payment"], "gaming": ["platform"], "infraction": ["camera"],
            "dissent_online": ["platform"], "dissent_public": ["camera"],
            "dissent_home": ["smart_home"], "volunteer": ["registry"],
            "apology": ["registry"], "court_judgment": ["court"],
        },
        "which sources can observe each act, tried in order; the first that sees it is recorded")

    @field_validator("observes")
    @classmethod
    def _known(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        """Acts not named keep their default sources, so one act can be changed alone."""
        v = {**cls.model_fields["observes"].default, **v}
        for event, sources in v.items():
            if event not in EVENTS:
                raise UnknownName(f"unknown act '{event}'; expected one of: {', '.join(EVENTS)}")
            for s in sources:
                if s not in SOURCES:
                    raise UnknownName(f"unknown source '{s}' for '{event}'; expected one of: {', '.join(SOURCES)}")
            if len(sources) > MAX_SOURCES_PER_ACT:
                raise ValueError(f"'{event}' lists {len(sources)} sources ({', '.join(sources)}); expected at "
                                 f"most {MAX_SOURCES_PER_ACT} per act (tried in order, the first that sees it is recorded)")
        return v


class Sharing(Strict):
    """Which sources feed the central information centre ("two hands of the same organism")."""

    payment: bool = P(False, "payment operator (corporate)")
    health: bool = P(False, "pharmacy and health records (state)")
    camera: bool = P(False, "street cameras (state)")
    platform: bool = P(False, "social platform (corporate)")
    court: bool = P(False, "courts (state)")
    smart_home: bool = P(False, "smart-home devices (corporate)")
    registry: bool = P(False, "neighbourhood committees (state)")


def _zero_points() -> dict[str, float]:
    return {e: 0.0 for e in EVENTS}


class Scoring(Strict):
    initial: float = P(1000.0, "everyone's starting score", source="Rongcheng: everyone starts at 1000 (REFERENCES.md)")
    initial_spread: float = P(0.0, "starting scores spread uniformly over initial +/- this (0: all equal)", ge=0)
    minimum: float = P(0.0, "lowest score")
    maximum: float = P(1300.0, "highest score")
    points: dict[str, float] = P(_zero_points(), f"points per observed act (negative: penalty), each from -{MAX_POINTS:,.0f} to {MAX_POINTS:,.0f}")
    drift: float = P(0.0, "daily pull of the score back toward `initial`", ge=0, le=1)

    @field_validator("points")
    @classmethod
    def _known_events(cls, v: dict[str, float]) -> dict[str, float]:
        for e, x in v.items():
            if e not in EVENTS:
                raise UnknownName(f"unknown act '{e}'; expected one of: {', '.join(EVENTS)}")
            if not -MAX_POINTS <= x <= MAX_POINTS:
                raise ValueError(f"gives '{e}' {x:g} points; expected points from -{MAX_POINTS:,.0f} to "
                                 f"{MAX_POINTS:,.0f} per act")
        return {**_zero_points(), **v}

    @model_validator(mode="after")
    def _scale(self) -> Scoring:
        if not self.minimum <= self.initial <= self.maximum:
            raise ValueError("expected minimum <= initial <= maximum")
        return self


class Association(Strict):
    """Guilt by association: "if you associate with low rated individuals ... drops"."""

    penalty: float = P(0.0, "points lost per day x share of neighbours at or below `low_tier`", ge=0)
    low_tier: str = P("C", "the highest tier that counts as low-rated")
    averaging: float = P(0.0, "daily weight of the neighbours' mean score in one's own (DeGroot)", ge=0, le=1)
    drop_rate: float = P(0.0, "daily chance x care that a citizen drops a tie to a low-tier neighbour", ge=0, le=1)
    seek_rate: float = P(0.0, "daily chance x care that a citizen ties to a high-tier citizen of the region", ge=0, le=1)
    seek_tries: int = P(4, "citizens of its region a seeker draws, tying to the first of high tier", gt=0, le=64)
    high_tier: str = P("A", "the lowest tier that counts as high-rated")
    source: str = P("platform", "the source that tells the centre who is whose friend: association is "
                    "scored, and ties adapted to it, only while it is shared",
                    source="MODEL.md (the social platform knows 'friends')")

    @field_validator("source")
    @classmethod
    def _a_source(cls, v: str) -> str:
        if v not in SOURCES:
            raise UnknownName(f"unknown source '{v}'; expected one of: {', '.join(SOURCES)}")
        return v


class Tiers(Strict):
    names: list[str] = P(["D", "C", "B", "A", "AA", "AAA"], "tiers from lowest to highest",
                         source="Rongcheng grades (REFERENCES.md)")
    lower_bounds: list[float] = P([0.0, 600.0, 850.0, 960.0, 1030.0, 1050.0], "lowest score of each tier",
                                  source="Rongcheng grade boundaries (REFERENCES.md, unverified)")

    @model_validator(mode="after")
    def _consistent(self) -> Tiers:
        if len(self.names) != len(self.lower_bounds) or not 1 <= len(self.names) <= 16:
            raise ValueError("expected as many lower_bounds as names (1 to 16 tiers)")
        if any(b <= a for a, b in zip(self.lower_bounds, self.lower_bounds[1:], strict=False)):
            raise ValueError("expected lower_bounds to increase")
        if len(set(self.names)) != len(self.names):
            raise ValueError("expected distinct tier names")
        return self


class Appeals(Strict):
    rate: float = P(0.0, "daily chance a citizen with penalties from false attributions appeals", ge=0, le=1)
    success: float = P(0.5, "chance an appeal reverses those penalties (what a judge would change)", ge=0, le=1)


class Blacklist(Strict):
    """Entry by condition with a reason; exit by condition (minimum term, correction)."""

    entry: dict[str, str] = P({}, "reason -> condition that puts a citizen on the list")
    exit: str = P("days_listed >= 180 and corrections >= 5", "condition that takes a listed citizen off")
    exempt: str = P("false", "condition that keeps a citizen off the list whatever they do")
    seed_share: float = P(0.0, "share of citizens listed on day 0 (seeds of a cascade; reason 'seed')", ge=0, le=1)
    appeals: Appeals = Appeals()


class Gate(Strict):
    services: list[str] = P([], "services this gate controls")
    condition: str = P("false", "citizens for whom the gate acts")
    action: Literal["deny", "price"] = P("deny", "deny the service, or change its price")
    multiplier: float = P(1.0, "price multiplier when action is price (rewards: below 1)", gt=0)

    @field_validator("services")
    @classmethod
    def _known_services(cls, v: list[str]) -> list[str]:
        for s in v:
            if s not in SERVICES:
                raise UnknownName(f"unknown service '{s}'; expected one of: {', '.join(SERVICES)}")
        return v


class Leniency(Strict):
    penalty_multiplier: list[float] = P([1.0, 1.0, 1.0], f"multiplier of penalties by official rank 0, 1, 2, each from 0 to {MAX_MULTIPLIER:,.0f}")

    @field_validator("penalty_multiplier")
    @classmethod
    def _three(cls, v: list[float]) -> list[float]:
        if len(v) != 3 or any(not 0 <= x <= MAX_MULTIPLIER for x in v):
            raise ValueError(f"expected three multipliers from 0 to {MAX_MULTIPLIER:,.0f} (ranks 0, 1, 2)")
        return v


class Policy(Strict):
    enabled: bool = P(True, "whether the scoring system runs at all (false: the society without it)")
    surveillance: Surveillance = Surveillance()
    sharing: Sharing = Sharing()
    scoring: Scoring = Scoring()
    association: Association = Association()
    tiers: Tiers = Tiers()
    blacklist: Blacklist = Blacklist()
    gates: dict[str, Gate] = P({}, "name -> gate")
    rewards: dict[str, Gate] = P({}, "name -> reward (a price gate for high tiers, multiplier < 1)")
    leniency: Leniency = Leniency()

    @model_validator(mode="after")
    def _tier_names(self) -> Policy:
        for field in ("low_tier", "high_tier"):
            name = getattr(self.association, field)
            if name not in self.tiers.names:
                raise UnknownName(f"association.{field} '{name}' is not a tier; tiers are {', '.join(self.tiers.names)}")
        for name, g in self.rewards.items():
            if g.action != "price":
                raise ValueError(f"reward '{name}' must have action 'price'")
        return self


# ---------------------------------------------------------------- timeline, ledger, run


class Phase(Strict):
    day: int = P(0, "first day of the phase", ge=0)
    name: str = P("phase", f"what the phase is called (one line, at most {MAX_NAME} characters)")
    set: dict[str, Any] = P({}, "policy changes from this day on (dotted keys such as policy.sharing.camera)")

    @field_validator("name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return one_line(v, MAX_NAME)

    @field_validator("set")
    @classmethod
    def _policy_only(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if key != "policy":
                raise UnknownName(f"'{key}' is not part of the policy; phases may only change policy.*")
        return v


class Timeline(Strict):
    phases: list[Phase] = P([], "policy changes on given days, applied in day order")
    dismantle_day: int | None = P(None, "day the whole system is switched off (blacklist emptied, gates open)", ge=0)


class Ledger(Strict):
    retention: Literal["full", "sanctions", "panel"] = P(
        "panel", "full: every event; sanctions: tier and blacklist decisions for all; panel: every event of a sample")
    panel_size: int = P(1000, "citizens followed in full when retention is panel (a panel of up to 20,000 also keeps their day-0 records, so that explain opens their files without rebuilding the society)", ge=0)
    flush_rows: int = P(2_000_000, "rows buffered before a Parquet part is written", gt=0)


class Run(Strict):
    days: int = P(365, "days simulated (day stamps are 16-bit: at most 32,767, about 89 years)", gt=0, le=32_767)
    warm_up_days: int = P(0, "days the society lives under the scenario's `policy` (before any phase, even one of day 0) before day 0, unrecorded, so that a standing regime's list, debts and scores start at their own level instead of empty (the timeline's phases start at day 0; at most 32,767)", ge=0, le=32_767)
    seed: int = P(0, "seed of all random streams", ge=0, lt=2**63)
    network_metrics_every: int = P(7, "days between the costlier network metrics (components)", gt=0)
    check_invariants: bool = P(False, "check state invariants every day (slower; for tests and debugging)")


class Scenario(Strict):
    name: str = P("custom", f"scenario name (one line, at most {MAX_NAME} characters)")
    description: str = P("", f"one line saying what the scenario is (at most {MAX_DESCRIPTION} characters)")
    population: Population = Population()
    network: Network = Network()
    behaviour: Behaviour = Behaviour()
    attitudes: Attitudes = Attitudes()
    policy: Policy = Policy()
    timeline: Timeline = Timeline()
    ledger: Ledger = Ledger()
    run: Run = Run()
    overrides: list[str] = P([], "the PATH=VALUE overrides this scenario was loaded with, in order: a record, set by scorestate (its values are already in the fields above)", source="set by scorestate")

    @field_validator("name")
    @classmethod
    def _name_one_line(cls, v: str) -> str:
        return one_line(v, MAX_NAME)

    @field_validator("description")
    @classmethod
    def _description_one_line(cls, v: str) -> str:
        return one_line(v, MAX_DESCRIPTION)

    @model_validator(mode="after")
    def _fixed_tiers(self) -> Scenario:
        """A phase may move the tiers' bounds but not rename, add or remove tiers: tier numbers in
        the state, the ledger and the conditions, and the tier metrics' columns, hold for the run."""
        names = self.policy.tiers.names
        for k, phase in enumerate(self.timeline.phases):
            policy = phase.set.get("policy")
            tiers = policy.get("tiers") if isinstance(policy, dict) else None
            given = tiers.get("names") if isinstance(tiers, dict) else None
            if given is not None and given != names:
                raise UnknownName(
                    f"timeline.phases.{k} ('{phase.name}', day {phase.day}) changes policy.tiers.names "
                    f"to {given}; expected the base policy's tiers ({', '.join(names)}) in every phase, "
                    "since a run's tier metrics and tier numbers are fixed at its start (a phase may "
                    "change tiers.lower_bounds)")
        return self
