"""One citizen's file: who they are, what moved their score, and what the system did to them.

A stored run keeps metrics and a ledger, not the citizens themselves. Demographics, traits, the
starting state and the day-0 network are a pure function of the resolved scenario and its seed.
A run with a ledger panel keeps them for its panel's citizens (`panel_day0`, written as the run
starts), so their files open at once at any population; for anyone else they are rebuilt here
(`Simulation(scenario)` without running a day: about 2 s per million citizens, plus the days
of a warm-up, which it lives again). Everything
that happened later comes from the ledger, which keeps what the scenario's `ledger.retention`
chose:

- `full`: every citizen's events, denials, daily score adjustments and decisions;
- `panel`: the same for a fixed sample of citizens (kept with their day-0 records; for runs
  stored before those were kept, drawn again as the run drew it);
- `sanctions`: decisions only (tier changes, blacklist entries and exits, upheld appeals).

For a citizen whose events were kept, the points of their own rows (events, upheld appeals, the
daily `association` row for the association penalty and averaging, and the daily `adjustment`
row for drift and clipping) sum exactly to the change of their score, so the score over time is
a running sum from the rebuilt starting score, and guilt by association is told apart from the
rest.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from scorestate.errors import ScorestateError
from scorestate.mechanisms.blacklist import EXIT_APPEAL, EXIT_DISMANTLED, EXIT_SERVED, REASON_SEED
from scorestate.network import file_sha256
from scorestate.policy import compile_timeline, policy_on
from scorestate.population import care
from scorestate.store import NotRecordedWarning, StoredRun
from scorestate.vocabulary import EVENTS, GROUPINGS, SERVICES

LISTINGS = {"blacklist_entry": "entry", "blacklist_extension": "extension", "blacklist_exit": "exit"}
EXITS = {EXIT_SERVED: "term served and correction completed", EXIT_DISMANTLED: "system dismantled",
         EXIT_APPEAL: "cleared on appeal: no entry reason stood without the false points"}
TIE_NOTE = ("ties dropped or made during the run are not recorded per citizen; these are the "
            "citizen's ties on day 0, with each neighbour's tier then and the last tier the "
            "ledger shows for them")


@dataclass
class CitizenFile:
    """Everything the run can say about one citizen; `to_dict()` is JSON-able (no NaN)."""

    run_id: str
    scenario: str
    citizen: int
    population: int
    days: int
    seed: int
    retention: str
    events_recorded: bool  # observed events, denials and daily association/adjustments were kept
    decisions_recorded: bool  # tier changes, blacklist entries and exits, appeals were kept
    notes: list[str]
    demographics: dict[str, Any]
    traits: dict[str, Any]
    start: dict[str, Any]  # score, tier, blacklisted, approval on day 0 (before the first day)
    end: dict[str, Any]  # score, tier, blacklisted after the last day (None where not recorded)
    change: dict[str, float] | None  # the change split: events, appeals, association, adjustments
    score_by_day: list[float]  # score at the end of each day; empty when events were not kept
    events: list[dict[str, Any]]  # every observed or attributed act that could move the score
    pinned_on_others: list[dict[str, Any]]  # the citizen's own acts a camera pinned on someone else
    association: list[dict[str, Any]]  # association penalty and averaging, per day
    adjustments: list[dict[str, Any]]  # drift and clipping, per day
    tier_changes: list[dict[str, Any]]
    blacklist: list[dict[str, Any]]
    appeals: list[dict[str, Any]]
    denials: list[dict[str, Any]]  # gates that closed on an attempt: day and service
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    neighbours_note: str = TIE_NOTE

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(x: Any) -> Any:
    """Numpy scalars to Python, non-finite floats to None: safe for `json.dumps(allow_nan=False)`."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def explain(stored: StoredRun, citizen: int, *, graph: object | None = None) -> CitizenFile:
    """The file of `citizen` in a stored run (`ss.explain` takes a run id as well).

    `graph` is needed only for a run that was given an in-memory networkx graph (the store
    keeps the scenario, not the graph), for a citizen outside its ledger's panel (whose day-0
    ties the run kept); without it, that citizen's neighbours are left out.
    """
    if not isinstance(stored, StoredRun):  # a run id, say: refused here, not deep inside
        raise ScorestateError(f"expected a StoredRun from ss.open_run(...); got {type(stored).__name__} "
                              f"{repr(stored)[:60]} (to explain by run id: "
                              f"ss.explain(run_id, citizen, store=...))")
    rec = stored.record
    n = int(rec.population)
    if isinstance(citizen, bool) or not isinstance(citizen, int | np.integer):
        raise ScorestateError(f"citizen must be an integer id; got {citizen!r}")
    citizen = int(citizen)
    if not 0 <= citizen < n:
        raise ScorestateError(f"citizen {citizen} is out of range for run '{rec.run_id}'; expected "
                              f"an id from 0 to {n - 1} (the run has {n:,} citizens)")
    retention = rec.ledger_retention
    kept = stored.panel_day0()
    if kept is not None and citizen in kept:
        timeline = compile_timeline(_scenario(stored))
        head = kept[citizen]
        in_panel, notes = True, []
        panel = kept.__contains__
    else:
        sim, missing = _rebuild(stored, graph)
        timeline = sim.timeline
        head = day0(sim, citizen, network=missing is None)
        in_panel = bool(sim.ledger.records(np.array([citizen]))[0])
        notes = _notes(stored, citizen, retention, in_panel, sim)
        if missing:
            notes.append(missing)
        panel = _panel_of(sim)
    events_kept = retention == "full" or (retention == "panel" and in_panel)
    decisions_kept = retention in ("full", "sanctions") or in_panel
    notes += head["leniency"]

    rows = _kept_rows(stored, citizen=citizen)
    own = rows.filter(pl.col("citizen") == citizen)
    others = rows.filter(pl.col("citizen") != citizen)
    start_score = head["start"]["score"]
    start_tier = head["start"]["tier"]
    start_listed = head["start"]["blacklisted"]

    events = [_event_row(r, citizen) for r in own.filter(pl.col("kind").is_in(EVENTS))
              .iter_rows(named=True)]
    appeals = [{"day": r["day"], "points": r["points"]}
               for r in own.filter(pl.col("kind") == "appeal_upheld").iter_rows(named=True)]
    association, adjustments = ([{"day": r["day"], "points": r["points"]}
                                 for r in own.filter(pl.col("kind") == kind).iter_rows(named=True)]
                                for kind in ("association", "adjustment"))
    denials = [{"day": r["day"], "service": _name(SERVICES, r["value"], "service")}
               for r in own.filter(pl.col("kind") == "denied").iter_rows(named=True)]
    pinned = [{"day": r["day"], "event": r["kind"], "pinned_on": r["citizen"],
               "points": r["points"], "source": r["source"]}
              for r in others.iter_rows(named=True) if r["kind"] in EVENTS]

    tier_changes, tier = [], start_tier
    for r in own.filter(pl.col("kind") == "tier_change").iter_rows(named=True):
        names = _tiers(timeline, r["day"])
        tier_changes.append({"day": r["day"], "from": _name(names, tier, "tier"),
                             "to": _name(names, r["value"], "tier")})
        tier = r["value"]
    listings, listed = [], start_listed
    if start_listed:
        listings.append(_listed_at_start(timeline, head["start"]))
    for r in own.filter(pl.col("kind").is_in(list(LISTINGS))).iter_rows(named=True):
        what = LISTINGS[r["kind"]]
        reason = EXITS.get(r["value"], f"exit code {r['value']}") if what == "exit" else _reason(
            timeline, r["day"], r["value"])
        listings.append({"day": r["day"], "what": what, "reason": reason})
        listed = what != "exit"

    points = own.select("day", pl.col("points").cast(pl.Float64), "kind")
    score_by_day: list[float] = []
    change = None
    end_score: float | None = None
    if events_kept:
        per_day = np.bincount(points["day"].to_numpy(), weights=points["points"].to_numpy(),
                              minlength=rec.days)[: rec.days]
        score_by_day = (start_score + np.cumsum(per_day)).tolist()
        end_score = score_by_day[-1] if score_by_day else start_score
        kinds = points["kind"].cast(pl.String)

        def part(mask: pl.Series) -> float:
            return float(points["points"].filter(mask).sum())

        change = {"events": part(kinds.is_in(EVENTS)), "appeals": part(kinds == "appeal_upheld"),
                  "association": part(kinds == "association"),
                  "adjustments": part(kinds == "adjustment"), "total": end_score - start_score}

    end_names = _tiers(timeline, max(rec.days - 1, 0))
    end = {"score": end_score,
           "tier": _name(end_names, tier, "tier") if decisions_kept else None,
           "blacklisted": listed if decisions_kept else None}
    start_names = _tiers(timeline, 0)
    start = {"score": start_score, "tier": _name(start_names, start_tier, "tier"),
             "blacklisted": start_listed, "approval": head["start"]["approval"]}
    network_known = head["neighbours"] is not None
    neighbours = _neighbours(stored, timeline, head["neighbours"], panel) if network_known else []
    return CitizenFile(
        run_id=rec.run_id, scenario=rec.scenario_name, citizen=citizen, population=n,
        days=int(rec.days), seed=int(rec.seed), retention=retention, events_recorded=events_kept,
        decisions_recorded=decisions_kept, notes=notes, demographics=head["demographics"],
        traits=head["traits"], start=start, end=end, change=change,
        score_by_day=score_by_day, events=events if events_kept else [], pinned_on_others=pinned,
        association=association, adjustments=adjustments, tier_changes=tier_changes,
        blacklist=listings, appeals=appeals, denials=denials, neighbours=neighbours,
        neighbours_note=TIE_NOTE if network_known else "the run's network is not known here")


def _listed_at_start(timeline: list[tuple[int, Any]], start: dict[str, Any]) -> dict[str, Any]:
    """The listing a citizen starts the run with: a seed's on day 0, or one the warm-up made
    (on a day before 0, for the reason it gave). Records kept before warm-ups name neither."""
    since = start.get("listed_since")
    if since is None or start.get("list_reason") == REASON_SEED:
        return {"day": 0, "what": "entry", "reason": "seed (listed at the start)"}
    return {"day": since, "what": "entry",
            "reason": f"{_reason(timeline, 0, start['list_reason'])} (before day 0, in the warm-up)"}


def day0(sim: Any, citizen: int, *, network: bool = True) -> dict[str, Any]:
    """What a citizen's file takes from the society on day 0, as JSON-able data: who they are,
    their starting state, how leniency treats their rank, and their ties with each neighbour's
    tier index and listing then (None where the network is not the run's)."""
    s, c, g = sim.state, sim.citizens, sim.graph
    ties = None
    if network:
        lo = int(g.start[citizen])
        ties = [[j, int(s.tier[j]), bool(s.blacklisted[j])]
                for j in sorted(int(j) for j in g.nbrs[lo: lo + int(g.degree[citizen])])]
    return {"demographics": _demographics(c, citizen), "traits": _traits(c, s, sim.care_weights, citizen),
            "start": {"score": float(s.score[citizen]), "tier": int(s.tier[citizen]),
                      "blacklisted": bool(s.blacklisted[citizen]),
                      "listed_since": int(s.listed_since[citizen]) if s.blacklisted[citizen] else None,
                      "list_reason": int(s.list_reason[citizen]) if s.blacklisted[citizen] else None,
                      "approval": _sigmoid(float(s.approval[citizen]))},
            "leniency": _leniency(sim, citizen), "neighbours": ties}


# Panels up to this size keep their day-0 records (about 20 us and 170 bytes of file a citizen,
# so at most 0.4 s as the run starts and 3.4 MB); a larger panel's files are rebuilt.
MAX_PANEL_DAY0 = 20_000


def panel_day0(sim: Any) -> pl.DataFrame | None:
    """The day-0 part of every panel citizen's file (`day0`, as JSON), for a run whose ledger
    follows a panel of at most `MAX_PANEL_DAY0`: kept with the run, it spares `explain`
    rebuilding the society (at 50 million citizens, two minutes and 8 GB) for the citizens
    whose story the ledger has."""
    if sim.ledger.retention != "panel" or not 0 < sim.ledger.index.size <= MAX_PANEL_DAY0:
        return None
    ids = sim.ledger.index
    return pl.DataFrame({"citizen": ids.astype(np.int64),
                         "day0": [json.dumps(day0(sim, int(i))) for i in ids]})


def needs_rebuild(stored: StoredRun, citizen: int) -> bool:
    """Whether `citizen`'s file rebuilds the run's society (the run kept no day-0 record of them)."""
    kept = stored.panel_day0()
    return kept is None or citizen not in kept


def notable(stored: StoredRun, each: int = 2) -> list[tuple[int, str]]:
    """A few citizens worth opening, from what the ledger kept: the first listed, the most often
    penalised for acts they did not do, and the ones who lost most points (`each` of each kind;
    a citizen once, with the first reason found). For `scorestate explain RUN` and the dashboard.

    A panel ledger also keeps a panel citizen's act pinned on someone outside the panel; that
    victim's file has no events (their own were not kept), so only panel citizens are offered,
    and their counts are then whole."""
    rows = _followed(stored, stored.ledger(kinds=[*EVENTS, "blacklist_entry"]))
    rows = rows.with_columns(pl.col("kind").cast(pl.String))
    out: dict[int, str] = {}

    def add(frame: pl.DataFrame, say: Callable[[dict[str, Any]], str]) -> None:
        for row in frame.head(each).iter_rows(named=True):
            out.setdefault(int(row["citizen"]), say(row))

    listed = rows.filter(pl.col("kind") == "blacklist_entry").group_by("citizen").agg(
        pl.col("day").min()).sort("day", "citizen")
    add(listed, lambda r: f"listed on day {r['day']}")
    framed = rows.filter(pl.col("false_attribution") & (pl.col("points") < 0)).group_by("citizen").agg(
        pl.len().alias("n")).sort(["n", "citizen"], descending=[True, False])
    add(framed, lambda r: f"penalised {r['n']} time{'s' * (r['n'] != 1)} for acts they did not do")
    lost = rows.filter(pl.col("kind").is_in(EVENTS) & (pl.col("points") < 0)).group_by("citizen").agg(
        pl.col("points").sum().alias("lost")).sort(["lost", "citizen"])
    add(lost, lambda r: f"lost {-r['lost']:,.0f} points to penalties")
    return list(out.items())


def _followed(stored: StoredRun, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows whose subject's file shows them: under a panel ledger, those of panel citizens."""
    if stored.record.ledger_retention != "panel":
        return rows
    return rows.filter(pl.col("citizen").is_in(stored.panel_ids().tolist()))


# ------------------------------------------------------------------ rebuilding the society
def _rebuild(stored: StoredRun, graph: object | None) -> tuple[Any, str | None]:
    """The run's society on day 0, and why its network is not the one the run used (None: it is).

    An edge list is read again only if it is still the file the run read: any other would give
    the citizens other neighbours without a word.
    """
    import networkx as nx

    from scorestate.engine import Simulation

    rec = stored.record
    scenario = _scenario(stored)
    net, missing = scenario.network, None
    if graph is None and net.kind == "graph":
        missing = ("this run was given an in-memory network that the store does not keep, so its "
                   "neighbours cannot be rebuilt; pass the same graph to "
                   "`scorestate.analysis.explain.explain(stored, citizen, graph=G)`")
    elif graph is None and net.kind == "edgelist" and net.edgelist_sha256 is None:
        missing = (f"run '{rec.run_id}' was made by an older scorestate, which kept no fingerprint "
                   f"of its edge list '{net.edgelist}' (and renumbered its ids), so its neighbours "
                   "cannot be rebuilt")
    elif graph is None and net.kind == "edgelist":
        _same_edgelist(rec.run_id, Path(net.edgelist or ""), net.edgelist_sha256 or "")
    if missing:  # citizens are rebuilt in import order, as the run built them
        graph = nx.empty_graph(int(rec.population))
    try:
        sim = Simulation(scenario, graph=graph)
    except ScorestateError as e:
        raise ScorestateError(f"cannot rebuild the citizens of run '{rec.run_id}': {e}") from None
    if sim.n != rec.population:
        raise ScorestateError(f"the network given for run '{rec.run_id}' has {sim.n:,} citizens; "
                              f"expected the run's {rec.population:,}")
    return sim, missing


def _scenario(stored: StoredRun) -> Any:
    from scorestate.scenario.load import scenario_from_dict
    from scorestate.scenario.schema import MAX_DESCRIPTION, MAX_NAME

    rec = stored.record
    raw = dict(rec.scenario)
    # Runs stored before names had to be one printable line may hold control characters or be
    # longer; the words label the run and change nothing it computes, so they are read as such.
    for key, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION)):
        if isinstance(raw.get(key), str):
            raw[key] = "".join(c if c.isprintable() else " " for c in raw[key])[:limit]
    return scenario_from_dict(raw, label=f"the scenario of run '{rec.run_id}'")


def _panel_of(sim: Any) -> Any:
    """Whether the rebuilt run's ledger followed a citizen."""
    return lambda j: bool(sim.ledger.records(np.array([j]))[0])


def _same_edgelist(run_id: str, path: Path, digest: str) -> None:
    if not path.is_file():
        raise ScorestateError(f"the edge list '{path}' of run '{run_id}' no longer exists; expected "
                              f"the file the run read there (sha256 {digest}), to rebuild its ties")
    now = file_sha256(path)
    if now != digest:
        raise ScorestateError(f"the edge list '{path}' changed since run '{run_id}' was made: its "
                              f"sha256 is now {now}; expected {digest}. Restore the file the run "
                              "read to rebuild its citizens")


def _notes(stored: StoredRun, citizen: int, retention: str, in_panel: bool, sim: Any) -> list[str]:
    rec = stored.record
    events_kept = retention == "full" or (retention == "panel" and in_panel)
    how = ("to keep every citizen's file, rerun with `--set ledger.retention=full` "
           "(or `--set ledger.retention=panel --set ledger.panel_size=N` to follow a larger "
           "sample)")
    if events_kept:
        return []
    if retention == "sanctions":
        return [f"run '{rec.run_id}' kept decisions only (ledger retention 'sanctions'): tier "
                f"changes, blacklist entries and exits and upheld appeals are shown, but not the "
                f"events that moved the score, the gates that closed or the score over time; {how}"]
    panel = sim.ledger.index
    some = ", ".join(str(i) for i in panel[:8]) + (", ..." if panel.size > 8 else "")
    followed = (f"the panel follows {panel.size:,} of {rec.population:,} citizens ({some})"
                if panel.size else "the panel is empty")
    return [f"citizen {citizen} is not in the ledger of run '{rec.run_id}': the run kept a panel "
            f"(ledger retention 'panel') and {followed}. Only demographics, traits, the starting "
            f"state and the day-0 neighbours can be rebuilt; {how}"]


def _leniency(sim: Any, citizen: int) -> list[str]:
    """For an official, how the rules in force treated their rank: the ledger records the points
    as applied, so without this a softened penalty reads as the rule itself."""
    rank = int(sim.citizens.rank[citizen])
    if rank == 0:
        return []
    name = {1: "local cadre", 2: "senior official"}.get(rank, GROUPINGS["official_rank"][rank])
    one = np.array([citizen])
    seen: list[tuple[float, bool]] = []
    out = []
    for day, policy in sim.timeline:
        spec = policy.spec
        if not spec.enabled:
            continue
        # the exemption as it reads this citizen's starting state (rank-based rules do not move)
        exempt = bool(policy.conditions.exempt(sim.columns().subset(one), 1)[0])
        rule = (float(spec.leniency.penalty_multiplier[rank]), exempt)
        if rule in seen:
            continue
        seen.append(rule)
        out.append(f"from day {day}, as a {name} this citizen's penalties were multiplied by "
                   f"{rule[0]:g} (leniency for officials; the points above are as applied)"
                   + (f", and the blacklist's exemption (`{spec.blacklist.exempt}`) covers them: no "
                      "rule can list them" if exempt else ""))
    return out


def _demographics(c: Any, i: int) -> dict[str, Any]:
    return {"age": int(c.age[i]), "settlement": "urban" if c.urban[i] else "rural",
            "education": GROUPINGS["education"][int(c.education[i])],
            "income": float(c.income[i]), "income_quintile": int(c.quintile[i]),
            "region": int(c.region[i]), "official_rank": GROUPINGS["official_rank"][int(c.rank[i])]}


def _traits(c: Any, s: Any, care_weights: np.ndarray, i: int) -> dict[str, Any]:
    names = ("conformity", "risk_aversion", "health", "alcohol", "tobacco", "gaming")
    out: dict[str, Any] = {k: float(getattr(c, k)[i]) for k in names}
    out["care"] = float(care(care_weights, c.conformity[i], c.risk_aversion[i]))
    out["grievance"] = float(s.grievance[i])
    out["smart_home"] = bool(c.smart_home[i])
    return out


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _name(names: tuple[str, ...] | list[str], k: int, what: str) -> str:
    return names[k] if 0 <= k < len(names) else f"{what} {k}"


def _tiers(timeline: list[tuple[int, Any]], day: int) -> list[str]:
    return list(policy_on(timeline, day).spec.tiers.names)


def _reason(timeline: list[tuple[int, Any]], day: int, k: int) -> str:
    """Reason index -> name, by the blacklist rules in force that day (phases may change them)."""
    if k == REASON_SEED:
        return "seed"
    return _name(list(policy_on(timeline, day).spec.blacklist.entry), k, "reason")


def _event_row(r: dict[str, Any], citizen: int) -> dict[str, Any]:
    actor = r["actor"]
    return {"day": r["day"], "event": r["kind"], "source": r["source"], "points": r["points"],
            "false_attribution": bool(r["false_attribution"]),
            "actor": None if actor < 0 else actor,
            "real_actor": "self" if actor == citizen else
            ("nobody (a sensor's false positive)" if actor < 0 else f"citizen {actor}")}


def _neighbours(stored: StoredRun, timeline: list[tuple[int, Any]], ties: list[list[Any]],
                panel: Any) -> list[dict[str, Any]]:
    """Day-0 neighbours (id, tier index and listing then, from `day0`) with their tier then, and
    what the ledger says of them later; `panel(j)`: whether the ledger followed j."""
    if not ties:
        return []
    retention = stored.record.ledger_retention
    known = {j for j, _, _ in ties if retention in ("full", "sanctions") or panel(j)}
    later = _decisions_of(stored, sorted(known))
    names0 = _tiers(timeline, 0)
    out = []
    for j, tier0, listed0 in ties:
        rows = later.filter(pl.col("citizen") == j)
        tiers = rows.filter(pl.col("kind") == "tier_change")
        last_tier = None
        if j in known:
            if tiers.height:
                day, value = tiers["day"][-1], tiers["value"][-1]
                last_tier = _name(_tiers(timeline, day), value, "tier")
            else:
                last_tier = _name(names0, tier0, "tier")
        entries = rows.filter(pl.col("kind") == "blacklist_entry")
        out.append({"citizen": j, "tier_at_start": _name(names0, tier0, "tier"),
                    "last_tier": last_tier,
                    "ever_blacklisted": (listed0 or entries.height > 0) if j in known else None})
    return out


def _kept_rows(stored: StoredRun, **query: Any) -> pl.DataFrame:
    """The ledger's rows, without the warning for citizens the panel did not follow: the file
    says what was not recorded in its notes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotRecordedWarning)
        return stored.ledger(**query)


def _decisions_of(stored: StoredRun, ids: list[int]) -> pl.DataFrame:
    """Tier and blacklist decisions of several citizens, in one scan of the ledger's parts."""
    rows = _kept_rows(stored, citizens=ids, kinds=["tier_change", "blacklist_entry"])
    return (rows.with_columns(pl.col("kind").cast(pl.String))
            .select("day", "citizen", "kind", "value").sort("day", maintain_order=True))


__all__ = ["CitizenFile", "day0", "explain", "needs_rebuild", "notable", "panel_day0"]
