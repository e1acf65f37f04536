"""The fixed vocabulary of the model: events, surveillance sources, services, tiers of groups.

Kernels address these by integer index (bit positions, array columns); scenarios, the ledger
and metrics use the names. The order of each tuple is part of the model's identity: a new
entry goes at the end so that random streams and stored ledgers keep their meaning.
"""

from __future__ import annotations

# Things a citizen does (or is said to have done) that a source may observe and a rule may
# score. Bit i of a citizen's daily `acts`/`observed` masks is EVENTS[i].
EVENTS: tuple[str, ...] = (
    "health_dose",  # took a due scheduled dose
    "dose_refused",  # let a scheduled dose lapse past the refusal limit
    "health_purchase",  # bought products counted as good for health
    "alcohol",  # bought alcohol
    "tobacco",  # bought tobacco
    "gaming",  # a day of heavy gaming / hours online
    "infraction",  # a minor public infraction (jaywalking, littering)
    "dissent_online",  # questioned the regime online
    "dissent_public",  # questioned the regime in public
    "dissent_home",  # questioned the regime at home
    "volunteer",  # an act the rules reward (volunteering, a 'heroic act')
    "apology",  # a ritual of public apology and behavioural correction
    "court_judgment",  # a court judgment for an unpaid debt
)
EVENT_INDEX = {name: i for i, name in enumerate(EVENTS)}

# Sources of observation. "state" sources belong to the government, "corporate" to firms.
SOURCES: tuple[str, ...] = (
    "payment",  # payment operator (corporate): purchases
    "health",  # pharmacy and health records (state)
    "camera",  # street cameras with face recognition (state)
    "platform",  # social platform (corporate): friends, posts, hours online
    "court",  # courts (state): judgments, after a delay
    "smart_home",  # smart-home devices (corporate), adopters only
    "registry",  # neighbourhood committees and civil registries (state)
)
SOURCE_INDEX = {name: i for i, name in enumerate(SOURCES)}

# Services a citizen attempts; gates deny or price them. Bit i of the daily access mask.
SERVICES: tuple[str, ...] = (
    "essentials",  # "unable to buy bread"
    "alcohol",  # a merchant's refusal of a flagged purchase
    "tobacco",
    "pharmacy",
    "retail",
    "rail",
    "flight",
    "loan",  # priced: "your interest rates have doubled"
    "flat",
    "car",
    "welfare",
    "pension",
    "public_services",
)
SERVICE_INDEX = {name: i for i, name in enumerate(SERVICES)}

# Non-observation entries of the ledger. Their kind codes follow the events'.
DECISIONS: tuple[str, ...] = (
    "tier_change",  # value = new tier rank
    "blacklist_entry",  # value = reason index
    "blacklist_exit",  # value = 0 served, 1 dismantled, 2 cleared on appeal
    "denied",  # value = service index
    "appeal_upheld",  # points reversed; points = the reversal
    "adjustment",  # drift and clipping of the day
    "association",  # association penalty and averaging toward the neighbours of the day
    "blacklist_extension",  # value = reason index: a term served while that reason still held
)
LEDGER_KINDS: tuple[str, ...] = EVENTS + DECISIONS
KIND_INDEX = {name: i for i, name in enumerate(LEDGER_KINDS)}

# Groupings for metrics "by group".
GROUPINGS: dict[str, tuple[str, ...]] = {
    "settlement": ("rural", "urban"),
    "education": ("primary", "secondary", "tertiary", "degree"),
    "income_quintile": ("q1", "q2", "q3", "q4", "q5"),
    "official_rank": ("none", "local_cadre", "senior"),
}

# Integer constants for kernels (numba reads module-level ints as compile-time constants).
EV_DOSE, EV_REFUSED, EV_HEALTH_PURCHASE, EV_ALCOHOL, EV_TOBACCO, EV_GAMING, EV_INFRACTION = range(7)
EV_DISSENT_ONLINE, EV_DISSENT_PUBLIC, EV_DISSENT_HOME, EV_VOLUNTEER, EV_APOLOGY, EV_COURT = range(7, 13)
SV_ESSENTIALS, SV_ALCOHOL, SV_TOBACCO, SV_PHARMACY, SV_RETAIL, SV_RAIL, SV_FLIGHT = range(7)
SV_LOAN, SV_FLAT, SV_CAR, SV_WELFARE, SV_PENSION, SV_PUBLIC = range(7, 13)
SRC_PAYMENT, SRC_HEALTH, SRC_CAMERA, SRC_PLATFORM, SRC_COURT, SRC_SMART_HOME, SRC_REGISTRY = range(7)
assert EVENTS[EV_COURT] == "court_judgment" and SERVICES[SV_PUBLIC] == "public_services"
assert SOURCES[SRC_REGISTRY] == "registry"
