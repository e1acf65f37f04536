"""The data dictionary of a run's outputs: every column of `result.metrics`, of
`result.group_metrics` and of the ledger, and every ledger kind, with its unit, its meaning and
when it is undefined, and the codes that the ledger's `value`, `actor` and `source` hold.

    from scorestate import metric_docs
    print(metric_docs.describe("chilling"))
    print(metric_docs.describe("denied_flight"))          # a family: `denied_<service>`
    metric_docs.frame("ledger_kind")                      # the table as a Polars frame

The meanings are read from the code that computes each column (`metrics.py`, `ledger.py`, the
mechanisms) and written down here by hand; `tests/test_metric_docs.py` runs every preset (the
essay dismantled near its end) and checks that the table describes every column and ledger kind
that a run produces, names nothing that no run produces, and that its NaN rules and codes hold.
`python -m scorestate.docs_gen` writes the table to docs/metrics.md.

Conventions. Every metric value is a Float64 (counts too) measured at the end of its day, after
every mechanism of the day has run, except where an entry says otherwise. "Count ... per day" is
a flow over that day; "share of citizens" is a stock at the end of the day, a fraction in
[0, 1] of all citizens (or of the group's, in the group metrics). Families of columns are
written with a placeholder: `<service>` (one of `vocabulary.SERVICES`), `<event>` (one of
`metrics.RATE_EVENTS`), `<tier>` (a name in the scenario's `policy.tiers.names`) and `<reason>`
(a key of a `policy.blacklist.entry`).
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import asdict, dataclass
from typing import Literal

import polars as pl

from scorestate.errors import ScorestateError
from scorestate.mechanisms.blacklist import EXIT_APPEAL, EXIT_DISMANTLED, EXIT_SERVED
from scorestate.metrics import RATE_EVENTS
from scorestate.scenario.schema import Surveillance
from scorestate.vocabulary import EVENTS, KIND_INDEX, SERVICES, SOURCES

Table = Literal["metrics", "group_metrics", "ledger", "ledger_kind"]
TABLES: tuple[Table, ...] = ("metrics", "group_metrics", "ledger", "ledger_kind")
UNDEFINED_LABEL = {"metrics": "NaN", "group_metrics": "NaN", "ledger": "null or -1",
                   "ledger_kind": "unused columns"}


@dataclass(frozen=True)
class Entry:
    """One column (or family of columns) of a run's output, or one ledger kind."""

    table: Table
    name: str  # the column's name, or a pattern with a <placeholder> for a family
    kind: str  # the unit: count per day, share of citizens, ratio, price multiplier, ...
    meaning: str
    undefined: str  # when the value is NaN (metrics), null or -1 (ledger); "never" if never;
    #                 for a ledger kind, the columns its rows leave at -1 or null
    codes: str = ""  # what the codes of the column (or, for a ledger kind, its row) mean


# Placeholders of the families: their allowed values (None: any name the scenario gives).
PLACEHOLDERS: dict[str, tuple[str, ...] | None] = {
    "<service>": SERVICES,
    "<event>": RATE_EVENTS,
    "<tier>": None,
    "<reason>": None,
}

# ---------------------------------------------------------------- units

DAY = "day index (Int32)"
FLAG = "flag (0 or 1)"
POINTS = "score points"
SHARE = "share of citizens"
SHARE_LISTED = "share of the blacklisted"
CITIZENS = "count of citizens per day"
EVENTS_PER_DAY = "count of events per day"
TIES_PER_DAY = "count of ties per day"
RATE = "rate per citizen-day"
RATIO = "ratio"
MEAN01 = "mean of a value in [0, 1]"
DEGREE = "ties per citizen"
CORRELATION = "correlation in [-1, 1]"
MULTIPLIER = "price multiplier"
COUNT = "count"
NEVER = "never"

_SERVICE_CODES = ", ".join(f"{k} {s}" for k, s in enumerate(SERVICES))
_SOURCE_CODES = ", ".join(f"{k} {s}" for k, s in enumerate(SOURCES))
_COUNTED_ACT = ("a counted act is a true act that the rules in force when it was done name: one "
                "they penalise, or one a listing or gate rule reads (a court judgment, a refused "
                "dose, a flagged purchase)")

# ---------------------------------------------------------------- daily metrics

_METRICS: tuple[Entry, ...] = (
    Entry("metrics", "day", DAY,
          "The simulated day, from 0. Every other column of the row is measured at the end of "
          "this day, after all of the day's mechanisms have run (step 10 of the day).", NEVER),
    Entry("metrics", "policy_enabled", FLAG,
          "1 when the policy in force that day is enabled; 0 when none is (a `baseline` run, or "
          "from the day of `timeline.dismantle_day` on).", NEVER),
    Entry("metrics", "score_mean", POINTS,
          "Mean score over all citizens at the end of the day (exact, not binned). Scores move "
          "only while a policy is enabled: after a dismantling they stay where they were.", NEVER),
    *(Entry("metrics", f"score_p{q}", POINTS,
            f"The {q}th percentile of the end-of-day scores, read from a histogram of 4,096 bins "
            "over the scale (`policy.scoring.minimum` .. `maximum`): the centre of the bin that "
            "holds it, so within 1/4,096 of the range; the bins are placed so that a society "
            "still at `policy.scoring.initial` reads that score exactly.", NEVER)
      for q in (10, 50, 90)),
    Entry("metrics", "score_gini", "ratio in [0, 1]",
          "Gini coefficient of the end-of-day scores, from the same histogram (bin centres), "
          "scores measured from 0 (from the histogram's lower edge when that is below 0). 0 when "
          "every citizen is in one bin, e.g. everyone still at the starting score.", NEVER),
    Entry("metrics", "tier_share_<tier>", SHARE,
          "Share of citizens in tier <tier> at the end of the day. One column per name of the "
          "base policy's `policy.tiers.names`, lowest first (a tier is counted by its rank). "
          "Tiers are set at scoring: while the policy is off they stay as last scored.", NEVER),
    Entry("metrics", "blacklist_share", SHARE,
          "Share of citizens on the blacklist at the end of the day (including citizens listed on "
          "day 0 by `policy.blacklist.seed_share`).", NEVER),
    Entry("metrics", "blacklist_inflow", CITIZENS,
          "Citizens put on the blacklist today by an entry rule (those spared by "
          "`blacklist.exempt` are not; neither are the day-0 seeds of `blacklist.seed_share`).",
          NEVER),
    Entry("metrics", "blacklist_outflow", CITIZENS,
          "Citizens taken off the blacklist today: those whose exit rule held (served), those "
          "cleared on appeal (`appeals_delisted`), and everyone released on the dismantling day. "
          "Writes made between days by hand are not counted.", NEVER),
    Entry("metrics", "blacklist_extended", CITIZENS,
          "Listed citizens whose exit rule held today while an entry reason still held for them "
          "(a term served with the judgment still unpaid): they stay listed, the term starting "
          "again from today with that reason. Counted neither in `blacklist_outflow` nor in "
          "`blacklist_inflow`.", NEVER),
    Entry("metrics", "blacklist_inflow_<reason>", CITIZENS,
          "Citizens put on the blacklist today for reason <reason> (the first rule of "
          "`policy.blacklist.entry` that they met). One column per reason that any phase names, "
          "in order of first appearance; 0 on days when that rule is not in force.", NEVER),
    Entry("metrics", "wallet_frozen_share", SHARE,
          "Share of citizens whose essentials gate is closed at the end of the day: the gates "
          "step has just set tomorrow's closures, so these are the citizens whose purchases of "
          "essentials will be refused tomorrow (the condition column `wallet_frozen`).", NEVER),
    Entry("metrics", "denied_share", SHARE,
          "Share of citizens refused at least one service they attempted today (a gate closed "
          "for them at the end of the previous day).", NEVER),
    Entry("metrics", "denied_<service>", CITIZENS,
          "Citizens who attempted <service> today and were refused because its gate was closed "
          "for them (closed at the end of the previous day). A count, not a share: divide by the "
          "population for a share. A citizen attempts a service at most once a day, so this is "
          "also the number of refusals. `denied_essentials` is the shut wallet ('unable to buy "
          "bread').", NEVER),
    Entry("metrics", "used_<service>", CITIZENS,
          "Citizens who attempted <service> today and were served: its gate was open to them "
          "(at a price where a price rule applies). Attempts are `used_<service>` + "
          "`denied_<service>`; a share of refusals divides the second by their sum. Plain "
          "services are attempted by their daily chance and rate ratios "
          "(`behaviour.services`), purchases with their acts, welfare and pensions on claim "
          "days.", NEVER),
    Entry("metrics", "health_compliance_rate", SHARE,
          "Despite its name a share, not a rate: citizens not overdue for their scheduled dose "
          "beyond the grace days at the end of the day (days since the last dose <= "
          "`behaviour.dose_interval_days` + `dose_grace_days`; the condition column "
          "`health_compliant`).", NEVER),
    Entry("metrics", "<event>_rate", RATE,
          "Share of citizens who did <event> today: true acts, whether a source observed them or "
          "not (a citizen does an act at most once a day, so this is also acts per citizen-day). "
          "A purchase (health_purchase, alcohol, tobacco) refused at a closed gate is not an act "
          "and is not counted. Only citizens due a dose can do `health_dose`; only listed ones "
          "`apology`.", NEVER),
    Entry("metrics", "<event>_latent_rate", RATE,
          "Share of citizens who would have done <event> today without the incentives: the same "
          "random draw as the act, with no points at stake (no deterrence), no gate refusing a "
          "purchase and no wallet pressure on the dose. `<event>_rate` minus this is the "
          "incentives' effect, measured citizen by citizen. After a dismantling citizens still "
          "weigh the last rules enforced, so the two can differ there too.", NEVER),
    Entry("metrics", "dissent_rate", RATE,
          "Share of citizens who voiced dissent today through any channel (online, in public or "
          "at home; a citizen picks one channel a day): the sum of the three `dissent_*_rate`.",
          NEVER),
    Entry("metrics", "dissent_latent_rate", RATE,
          "Share of citizens who would have voiced dissent today without the incentives (same "
          "draw, no points at stake): the sum of the three `dissent_*_latent_rate`.", NEVER),
    Entry("metrics", "chilling", RATIO,
          "1 - dissent_rate / dissent_latent_rate: the share of today's would-be dissent that the "
          "incentives silenced (in [0, 1] while dissent is penalised or not scored; negative only "
          "if a rule rewards it).", "when dissent_latent_rate is 0 (nobody would have dissented)"),
    Entry("metrics", "observed_penalties", EVENTS_PER_DAY,
          "True acts of a penalised kind (negative points in the policy in force) that a source "
          "recorded today against the citizen who did them, one per (citizen, event). A camera "
          "sighting pinned on someone else is not counted here (it is a false attribution of the "
          "victim).", NEVER),
    Entry("metrics", "false_attributions", EVENTS_PER_DAY,
          "Acts recorded today against a citizen who did not do them, of any kind, penalised or "
          "not: camera false matches (infractions nobody did), platform false positives (online "
          "dissent of a silent citizen) and misattributed camera sightings; one per (citizen, "
          "event) a day.", NEVER),
    Entry("metrics", "misattributions", CITIZENS,
          "Citizens at least one of whose acts today a camera saw and pinned on another citizen "
          "of their region: the actors who escaped, counted once each, not the acts and not the "
          "victims (the victims' rows are in `false_attributions`). In a region of one the sighting "
          "is lost: the actor is counted, and nobody is its victim.", NEVER),
    Entry("metrics", "false_attribution_share", "share of events",
          "Of today's recorded acts of a penalised kind (true and false), the share that were "
          "false attributions: false / (observed_penalties + false ones of penalised kinds).",
          "never: 0, not NaN, on a day without any penalised act recorded"),
    Entry("metrics", "innocent_blacklisted_share", SHARE_LISTED,
          "Share of the blacklisted citizens who have no counted act up to and including that "
          f"day (`offences` = 0); {_COUNTED_ACT}. Day-0 seeds start innocent. Not the same "
          "quantity as the group metric of this name, which is a share of the group.",
          "never: 0, not NaN, when nobody is listed"),
    Entry("metrics", "innocent_penalised", CITIZENS,
          "Citizens penalised today (an act of a penalised kind recorded against them, true or "
          f"false) who had no counted act up to and including today; {_COUNTED_ACT}. Citizen-days, "
          "not people: a phase that adds rules finds most citizens innocent of the new ones.",
          NEVER),
    Entry("metrics", "penalised_share", SHARE,
          "Share of citizens with at least one act of a penalised kind recorded against them "
          "today, true or false.", NEVER),
    Entry("metrics", "approval_mean", MEAN01,
          "Mean approval of the system at the end of the day: the mean over citizens of "
          "sigmoid(approval logit).", NEVER),
    Entry("metrics", "perceived_mean", MEAN01,
          "Mean perceived chance of detection at the end of the day.", NEVER),
    Entry("metrics", "grievance_mean", MEAN01,
          "Mean grievance (the latent propensity to dissent) at the end of the day. It rises "
          "only with hardship (essentials, welfare or a pension denied), so it is constant in a "
          "run without such denials.", NEVER),
    Entry("metrics", "mean_degree", DEGREE,
          "Mean number of ties per citizen at the end of the day (after the day's tie changes).",
          NEVER),
    Entry("metrics", "score_assortativity", CORRELATION,
          "Pearson correlation of the scores at the two ends of each tie (Newman 2003). Tallied "
          "in the neighbours pass at the start of the day (step 5), before that day's scoring "
          "and tie changes: it describes the scores and the network as the previous day left "
          "them.",
          "when there are no ties, or the scores do not vary across ties (everyone at one score: "
          "no scoring policy, or rules that award no points)"),
    Entry("metrics", "cross_tier_tie_share", "share of ties",
          "Share of ties whose two ends are in different tiers, tallied in the same start-of-day "
          "pass as score_assortativity (before that day's scoring and tie changes). 0 while "
          "everyone is in one tier.", "when there are no ties"),
    Entry("metrics", "blacklisted_degree_ratio", RATIO,
          "Mean number of ties of the blacklisted / mean_degree, at the end of the day; below 1 "
          "the listed have fewer ties than the average citizen.",
          "when nobody is listed (or nobody has a tie)"),
    Entry("metrics", "blacklisted_isolated_share", SHARE_LISTED,
          "Share of the blacklisted who have no tie at the end of the day.",
          "never: 0, not NaN, when nobody is listed"),
    Entry("metrics", "components", COUNT,
          "Number of connected components of the network (an isolated citizen is one). Counted "
          "every `run.network_metrics_every` days (days 0, k, 2k, ...) and on the last day; the "
          "days between repeat the last count.", NEVER),
    Entry("metrics", "largest_component_share", SHARE,
          "Share of citizens in the largest connected component; counted on the same days as "
          "`components`, the days between repeat the last count.", NEVER),
    Entry("metrics", "ties_dropped", TIES_PER_DAY,
          "Ties cut today: by citizens dropping a neighbour at or below "
          "`association.low_tier` (while association is active) and by churn "
          "(`network.churn`).", NEVER),
    Entry("metrics", "ties_made", TIES_PER_DAY,
          "Ties formed today: citizens seeking one at or above `association.high_tier` and "
          "churn's replacement ties (a tie is made only where both ends have a free slot).",
          NEVER),
    Entry("metrics", "tier_changes", CITIZENS,
          "Citizens whose tier changed at today's scoring (0 while the policy is off).", NEVER),
    Entry("metrics", "officials_spared", CITIZENS,
          "Officials (official rank > 0) whose rank's penalty multiplier "
          "(`leniency.penalty_multiplier`) is below 1 and who had an act of a penalised kind "
          "recorded against them today (once per official a day), plus officials who met a "
          "blacklist entry rule today but were exempt. Over the number of officials, this is "
          "the visible leniency that lowers approval.", NEVER),
    Entry("metrics", "appeals_upheld", CITIZENS,
          "Citizens whose appeal against penalty points from false attributions was upheld "
          "today (the points are returned in today's score).", NEVER),
    Entry("metrics", "appeals_delisted", CITIZENS,
          "Listed citizens taken off the blacklist today because their appeal was upheld and, "
          "with the false points returned, no entry reason held any more (also counted in "
          "`blacklist_outflow`).", NEVER),
    Entry("metrics", "rewards_received", CITIZENS,
          "Citizens who paid a reward price (a multiplier below 1) for at least one priced "
          "service they used today.", NEVER),
    Entry("metrics", "disparate_impact_rural_urban", RATIO,
          "Blacklist share among rural citizens / blacklist share among urban citizens, at the "
          "end of the day; 1 is parity, above 1 the rural are listed more.",
          "when no urban citizen is listed (including when nobody is)"),
    Entry("metrics", "disparate_impact_q1_q5", RATIO,
          "Blacklist share in income quintile 1 (poorest) / blacklist share in quintile 5 "
          "(richest), at the end of the day; 1 is parity.",
          "when no citizen of quintile 5 is listed (including when nobody is)"),
    Entry("metrics", "mean_degree_<tier>", DEGREE,
          "Mean number of ties of the citizens in tier <tier> at the end of the day (one column "
          "per tier name, as tier_share_<tier>).", "when the tier is empty that day"),
    Entry("metrics", "price_<service>", MULTIPLIER,
          "Mean price multiplier paid today by the citizens who used <service> (attempted and "
          "were served), at the prices the gates set the evening before: for each user the "
          "product of the multipliers of the price gates and rewards it met, 1 being the plain "
          "price. On a day no rule prices it (before its pricing phase, after a dismantling) it "
          "is 1.0, not NaN. One column per service that some phase prices (`action: price` "
          "gates and `policy.rewards`); no column in runs without any.",
          "on a day when nobody used the service"),
)

# ---------------------------------------------------------------- group metrics

_EMPTY = "when the group has no citizens (population 0)"
_GROUP_METRICS: tuple[Entry, ...] = (
    Entry("group_metrics", "day", DAY,
          "The simulated day, from 0; values measured at the end of the day, as in the daily "
          "metrics.", NEVER),
    Entry("group_metrics", "grouping", "label (String)",
          "The grouping: `settlement`, `education`, `income_quintile` or `official_rank` "
          "(`vocabulary.GROUPINGS`). Each citizen is in one group of every grouping, so each "
          "grouping's rows of a day add up to the whole population.", NEVER),
    Entry("group_metrics", "group", "label (String)",
          "The group within its grouping: rural, urban; primary, secondary, tertiary, degree; "
          "q1 (poorest) .. q5; none, local_cadre, senior (official rank 0, 1, 2).", NEVER),
    Entry("group_metrics", "population", "count of citizens",
          "Citizens in the group (fixed for a run; a Float64 like the rest).", NEVER),
    Entry("group_metrics", "blacklist_share", "share of the group",
          "Share of the group's citizens on the blacklist at the end of the day.", _EMPTY),
    Entry("group_metrics", "approval_mean", MEAN01,
          "Mean approval (sigmoid of the approval logit) over the group's citizens.", _EMPTY),
    Entry("group_metrics", "denied_share", "share of the group",
          "Share of the group's citizens refused at least one service they attempted today.",
          _EMPTY),
    Entry("group_metrics", "dissent_rate", RATE,
          "Share of the group's citizens who voiced dissent today (any channel).", _EMPTY),
    Entry("group_metrics", "dissent_latent_rate", RATE,
          "Share of the group's citizens who would have voiced dissent today without the "
          "incentives (same draw, no points at stake).", _EMPTY),
    Entry("group_metrics", "score_mean", POINTS,
          "Mean end-of-day score of the group's citizens.", _EMPTY),
    Entry("group_metrics", "wallet_frozen_share", "share of the group",
          "Share of the group's citizens whose essentials gate is closed at the end of the day "
          "(their essentials will be refused tomorrow).", _EMPTY),
    Entry("group_metrics", "innocent_blacklisted_share", "share of the group",
          "Share of the group's citizens who are blacklisted AND have no counted act up to and "
          f"including that day; {_COUNTED_ACT}. A share of the group, not of the listed (unlike "
          "the daily column of this name): divide by blacklist_share for the innocent share of "
          "the group's listed.", _EMPTY),
    Entry("group_metrics", "false_attribution_rate", "share of the group",
          "Despite its name a share of citizens: the group's citizens with at least one act "
          "falsely attributed to them today (false match, false positive or a sighting "
          "misattributed to them; any kind, penalised or not).", _EMPTY),
    Entry("group_metrics", "penalised_rate", "share of the group",
          "Share of the group's citizens with at least one act of a penalised kind recorded "
          "against them today, true or false (the group version of penalised_share).", _EMPTY),
)

# ---------------------------------------------------------------- ledger columns

_LEDGER: tuple[Entry, ...] = (
    Entry("ledger", "day", DAY,
          "The day of the event or decision.", NEVER),
    Entry("ledger", "citizen", "citizen id (Int32)",
          "The row's subject: the citizen the event is recorded against or the decision is "
          "about, whose score the row's points move. For a misattributed camera sighting, the "
          "victim it was pinned on (the real actor is `actor`).", NEVER),
    Entry("ledger", "kind", "ledger kind (Enum)",
          "What the row records: an event name (an act recorded against `citizen`, true or "
          "false) or a decision; see the ledger kinds. Stored as a code, decoded in the frame.",
          NEVER,
          "codes in the order of `vocabulary.LEDGER_KINDS`: "
          + ", ".join(f"{k} {name}" for name, k in KIND_INDEX.items())),
    Entry("ledger", "source", "surveillance source (Enum)",
          "On an event row, the source that recorded the act: the first source feeding the "
          "centre, in the order of `policy.surveillance.observes`, that saw it; `camera` for a "
          "false match or a misattributed sighting, `platform` for a false positive.",
          "null on every decision row (code -1 in the raw batches)",
          f"codes in the order of `vocabulary.SOURCES`: {_SOURCE_CODES}"),
    Entry("ledger", "points", "score points (Float32)",
          "The points this row moved `citizen`'s score by. Event rows: the rule's points for "
          "the event at the citizen's official rank, leniency applied to penalties (0 when the "
          "policy does not score the event: observed events are recorded all the same). "
          "appeal_upheld: the false penalty points returned (positive). association: the association "
          "penalty and averaging toward the neighbours. adjustment: drift and clipping. Other "
          "decisions: 0. For a citizen the ledger follows (retention `full`, "
          "or in the `panel`) the points of its rows add up to its score change.", NEVER),
    Entry("ledger", "false_attribution", "flag (Boolean)",
          "True on an event row whose act `citizen` did not do: a camera false match (an "
          "infraction nobody did), a platform false positive (online dissent of a silent "
          "citizen) or a camera sighting misattributed to `citizen`. False on true observations "
          "and on every decision row.", NEVER),
    Entry("ledger", "actor", "citizen id (Int32)",
          "Who really did the act: on a true observation `citizen` itself; on a misattributed "
          "sighting the real actor, who escaped (the row is kept when either of them is followed "
          "by the ledger). `open_run(...).ledger(citizen=i)` returns the rows where i is the "
          "subject or the actor.",
          "-1 when nobody did the act (false match, false positive) and on every decision row"),
    Entry("ledger", "value", "code (Int32)",
          "The decision's detail, by kind: see `codes`.",
          "-1 on event rows and on appeal_upheld, association and adjustment rows",
          f"tier_change: the new tier's rank (0 = lowest; an index into `policy.tiers.names`, "
          f"which every phase shares). blacklist_entry: the reason's index in `policy.blacklist.entry` "
          f"of the phase in force (in the order the scenario lists them). blacklist_exit: "
          f"{EXIT_SERVED} served (the exit rule held), {EXIT_DISMANTLED} dismantled, {EXIT_APPEAL} "
          f"cleared on appeal. denied: the "
          f"service refused, an index into `vocabulary.SERVICES`: {_SERVICE_CODES}."),
)

# ---------------------------------------------------------------- ledger kinds

_ACTS = {  # what each event means as an act (vocabulary.EVENTS)
    "health_dose": "took a due scheduled dose",
    "dose_refused": "let a scheduled dose lapse past the refusal limit "
                    "(`behaviour.dose_interval_days` + `dose_refusal_days`)",
    "health_purchase": "bought products counted as good for health",
    "alcohol": "bought alcohol",
    "tobacco": "bought tobacco",
    "gaming": "a day of heavy gaming / hours online",
    "infraction": "a minor public infraction (jaywalking, littering)",
    "dissent_online": "questioned the regime online",
    "dissent_public": "questioned the regime in public",
    "dissent_home": "questioned the regime at home (by default seen only by adopters' smart homes)",
    "volunteer": "an act the rules reward (volunteering, a 'heroic act')",
    "apology": "a ritual of public apology and behavioural correction (only while listed; "
               "each recorded one counts as a correction toward exit)",
    "court_judgment": "a court judgment for an unpaid debt, once the default is "
                      "`policy.surveillance.court_delay_days` old (unless repaid before)",
}
_MISATTRIBUTED = ("a camera sighting misattributed to `citizen` (actor = the real actor; kept "
                  "when the victim or the actor is followed)")
_FALSE = {"infraction": f" False attributions (false_attribution true) come as a camera false "
                        f"match (actor -1) or {_MISATTRIBUTED}.",
          "dissent_public": f" A false attribution (false_attribution true) comes as "
                            f"{_MISATTRIBUTED}.",
          "dissent_online": " A false attribution (false_attribution true) comes as a platform "
                            "false positive: a silent citizen flagged (actor -1)."}
_DEFAULT_SOURCES = Surveillance().observes


def _event_row(event: str) -> str:
    """What the columns of an event's rows hold."""
    sources = ", ".join(_DEFAULT_SOURCES.get(event, [])) or "none"
    return (f"source: the source that recorded it (by default {sources}); points: the rule's "
            "points at the citizen's official rank, leniency applied (0 if unscored); actor: "
            "`citizen` itself on a true observation, else as the `actor` column says")


_KEPT_EVENTS = ("Kept for the citizens the ledger follows: all under `ledger.retention: full`, "
                "the panel under `panel`, none under `sanctions`.")
_KEPT_DECISIONS = ("Kept for everyone under `full` and `sanctions`, for the panel under `panel`.")
_KEPT_RECORDED = ("Kept for the recorded citizens only: everyone under `full`, the panel under "
                  "`panel`, nobody under `sanctions`.")
_DECISION_COLUMNS = "source null, actor -1, false_attribution false"

_LEDGER_KINDS: tuple[Entry, ...] = (
    *(Entry("ledger_kind", e, f"event (kind code {KIND_INDEX[e]})",
            f"An act recorded against `citizen` today: {_ACTS[e]}. One row per act recorded, "
            f"whatever the rules score.{_FALSE.get(e, '')} {_KEPT_EVENTS}",
            "value -1", _event_row(e))
      for e in EVENTS),
    Entry("ledger_kind", "tier_change", f"decision (kind code {KIND_INDEX['tier_change']})",
          f"The citizen's tier changed at today's scoring. {_KEPT_DECISIONS}",
          f"{_DECISION_COLUMNS}; points 0",
          "value: the new tier's rank (0 = lowest; an index into `policy.tiers.names`, which "
          "every phase shares)"),
    Entry("ledger_kind", "blacklist_entry", f"decision (kind code {KIND_INDEX['blacklist_entry']})",
          "The citizen was put on the blacklist today by an entry rule. Day-0 seeds of "
          f"`blacklist.seed_share` have no row. {_KEPT_DECISIONS}",
          f"{_DECISION_COLUMNS}; points 0",
          "value: the index of the reason in `policy.blacklist.entry` of the phase in force, in "
          "the order the scenario lists them (each preset's: docs/metrics.md, 'Codes by preset')"),
    Entry("ledger_kind", "blacklist_exit", f"decision (kind code {KIND_INDEX['blacklist_exit']})",
          f"The citizen was taken off the blacklist today. {_KEPT_DECISIONS}",
          f"{_DECISION_COLUMNS}; points 0",
          f"value: {EXIT_SERVED} served (the exit rule held), {EXIT_DISMANTLED} dismantled "
          f"(everyone is released on the dismantling day), {EXIT_APPEAL} cleared on appeal (an "
          "upheld appeal left no entry reason standing)"),
    Entry("ledger_kind", "blacklist_extension",
          f"decision (kind code {KIND_INDEX['blacklist_extension']})",
          "The citizen's exit rule held today while an entry reason still held: the citizen stays "
          f"listed and the term starts again from today. {_KEPT_DECISIONS}",
          f"{_DECISION_COLUMNS}; points 0",
          "value: the index of the reason that still held in `policy.blacklist.entry` of the phase "
          "in force (as for blacklist_entry)"),
    Entry("ledger_kind", "denied", f"decision (kind code {KIND_INDEX['denied']})",
          "The citizen attempted a service today and was refused (its gate was closed for them "
          f"the evening before): one row per service refused. {_KEPT_RECORDED}",
          f"{_DECISION_COLUMNS}; points 0",
          f"value: the service, an index into `vocabulary.SERVICES`: {_SERVICE_CODES}"),
    Entry("ledger_kind", "appeal_upheld", f"decision (kind code {KIND_INDEX['appeal_upheld']})",
          "The citizen's appeal against penalty points from false attributions was upheld today; "
          f"the points come back with today's score. {_KEPT_DECISIONS}",
          f"{_DECISION_COLUMNS}; value -1",
          "points: the points returned (positive: the reversed false penalties)"),
    Entry("ledger_kind", "adjustment", f"decision (kind code {KIND_INDEX['adjustment']})",
          "What drift toward the initial score and clipping to the scale added to the citizen's "
          "score today. One row per recorded citizen per day when that is not 0 (no row in a "
          f"scenario without drift, unless a score hits the scale's end). {_KEPT_RECORDED}",
          f"{_DECISION_COLUMNS}; value -1",
          "points: drift x (initial - score before) + what clipping took off; where "
          "association is off, the whole residual (score after - score before - the day's "
          "event and appeal points)"),
    Entry("ledger_kind", "association", f"decision (kind code {KIND_INDEX['association']})",
          "What guilt by association did to the citizen's score today: the association penalty "
          "(penalty x share of low-tier neighbours) and the averaging toward the neighbours' "
          "mean score, from the start-of-day neighbour aggregates scoring reads. One row per "
          "recorded citizen per day when that is not 0 and the policy in force scores "
          f"association. {_KEPT_RECORDED}",
          f"{_DECISION_COLUMNS}; value -1",
          "points: the score change less the day's event, appeal and `adjustment` points (it "
          "takes the float32 rounding of the new score)"),
)

ENTRIES: tuple[Entry, ...] = _METRICS + _GROUP_METRICS + _LEDGER + _LEDGER_KINDS


# ---------------------------------------------------------------- look-up


def _pattern(name: str) -> re.Pattern[str] | None:
    """The regular expression of a family's name, a named group per placeholder (None for a
    plain name)."""
    if "<" not in name:
        return None
    regex = re.escape(name)
    for placeholder, values in PLACEHOLDERS.items():
        alternatives = "|".join(re.escape(v) for v in values) if values is not None else ".+"
        regex = regex.replace(re.escape(placeholder), f"(?P<{placeholder.strip('<>')}>{alternatives})")
    return re.compile(regex)


_PATTERNS = {(e.table, e.name): p for e in ENTRIES if (p := _pattern(e.name)) is not None}


def matches(entry: Entry, name: str) -> bool:
    """Whether `name` is the entry's column (or one of its family)."""
    pattern = _PATTERNS.get((entry.table, entry.name))
    return entry.name == name if pattern is None else pattern.fullmatch(name) is not None


def lookup(name: str, table: Table | None = None) -> list[Entry]:
    """The entries that describe `name` (in `table`, or in any table), a plain name before a
    family in each table."""
    if table is not None and table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    found: list[Entry] = []
    for t in TABLES if table is None else (table,):
        rows = [e for e in ENTRIES if e.table == t]
        exact = [e for e in rows if e.name == name]
        found += exact or [e for e in rows if matches(e, name)]
    return found


class UnknownName(ScorestateError, KeyError):
    """A name that no table has (a KeyError too, as it always was)."""

    __str__ = ScorestateError.__str__  # KeyError's would quote the message


def _names(table: Table | None) -> list[str]:
    """Every name in `table` (or all), each family's spelled out where its values are known."""
    names = []
    for e in ENTRIES:
        if table is None or e.table == table:
            slots = [PLACEHOLDERS[p] for p in PLACEHOLDERS if p in e.name]
            if "<" not in e.name or any(values is None for values in slots):
                names.append(e.name)
                continue
            for values in itertools.product(*slots):
                name = e.name
                for placeholder, value in zip((p for p in PLACEHOLDERS if p in e.name), values, strict=True):
                    name = name.replace(placeholder, value)
                names.append(name)
    return sorted(set(names))


def describe(name: str, table: Table | None = None) -> str:
    """What a column (or ledger kind) holds, in a few lines: unit, meaning, when undefined.

    A name found in several tables (`day`, `blacklist_share`, ...) is described in each, unless
    `table` picks one of "metrics", "group_metrics", "ledger", "ledger_kind".
    """
    found = lookup(name, table)
    if not found:
        where = f"the {table} table" if table else "any table"
        close = difflib.get_close_matches(str(name), _names(table), n=3, cutoff=0.6)
        like = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        raise UnknownName(f"{name!r} is not a column or ledger kind in {where}; {like}"
                          "`metric_docs.frame()` lists them all")
    out = []
    for e in found:
        family = f" (family {e.name})" if e.name != name else ""
        undefined = UNDEFINED_LABEL[e.table]
        text = [f"{name}{family} [{e.table}; {e.kind}]", f"  {_fill(e, name)}",
                f"  {undefined}: {e.undefined}"]
        if e.codes:
            text.append(f"  codes: {e.codes}")
        out.append("\n".join(text))
    return "\n\n".join(out)


def _fill(entry: Entry, name: str) -> str:
    """The entry's meaning, a family's placeholder replaced by the value in `name`."""
    text = entry.meaning
    pattern = _PATTERNS.get((entry.table, entry.name))
    m = pattern.fullmatch(name) if pattern is not None else None
    if m is None:
        return text
    for placeholder, value in m.groupdict().items():
        text = text.replace(f"<{placeholder}>", value)
    return text


def frame(table: Table | None = None) -> pl.DataFrame:
    """The data dictionary as a Polars frame (columns table, name, kind, meaning, undefined,
    codes), all tables or one."""
    rows = [asdict(e) for e in ENTRIES if table is None or e.table == table]
    return pl.DataFrame(rows, schema={f: pl.String for f in Entry.__dataclass_fields__})


__all__ = ["ENTRIES", "PLACEHOLDERS", "TABLES", "Entry", "describe", "frame", "lookup", "matches"]
