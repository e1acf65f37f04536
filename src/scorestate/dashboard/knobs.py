"""The policy's knobs the page exposes: a handful of the essay's levers, as typed widgets.

Each knob reads its value from a preset's policy at its fullest (after every phase) and writes
dotted-path overrides. Only knobs moved away from the preset's own value become overrides, so
a page run with untouched knobs is the preset as shipped. Overrides go through
`scorestate.analysis.experiments.resolve`, which carries them into the phases that set the
same parameter: a moved knob holds from day 0 to the last day. No widget takes text that
reaches a condition: the blacklist threshold is a number the knob writes into `score < N`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from scorestate.errors import ScorestateError
from scorestate.scenario.load import load_scenario, phase_policies, preset_names
from scorestate.scenario.schema import Policy, Scenario

DISSENT = ("dissent_online", "dissent_public", "dissent_home")
ESSAY_APPEAL_RATE = 0.01  # the essay preset's value: what "appeals on" means for a preset without
ESSAY_LENIENCY = [1.0, 0.5, 0.2]  # the essay preset's multipliers by official rank
ESSAY_EXEMPT = "official_rank >= 2"  # the essay preset's exemption of senior officials
NO_LENIENCY = [1.0, 1.0, 1.0]
THRESHOLD = re.compile(r"^\s*score\s*<\s*(\d+(?:\.\d+)?)\s*$")
EXIT_SCORE = re.compile(r"score\s*>=\s*\d+(?:\.\d+)?")

Value = float | int | bool
Overrides = list[tuple[str, Any]]


@dataclass(frozen=True)
class Knob:
    """One lever: how to show it, what it means, and how it reads and writes the policy."""

    key: str
    label: str
    meaning: str  # what it does, in the essay's words where it has them
    fields: tuple[str, ...]  # the schema paths it sets (their descriptions and sources are shown)
    kind: Literal["float", "int", "switch"]
    read: Callable[[Policy], Value]
    write: Callable[[Value, Policy], Overrides]
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    unit: str = ""

    def show(self, value: Value) -> str:
        if self.kind == "switch":
            return "on" if value else "off"
        return f"{value:g}{self.unit}"


def _threshold(p: Policy) -> int:
    """The score below which the preset lists a citizen; 0 when no rule lists by score."""
    found = THRESHOLD.match(p.blacklist.entry.get("score", ""))
    return int(float(found.group(1))) if found else 0


def _write_threshold(value: Value, p: Policy) -> Overrides:
    """`score < N` as the entry rule, and the same N in an exit rule that asks `score >= M`:
    otherwise a citizen released above the old bound would be listed again the next day."""
    out: Overrides = [("policy.blacklist.entry.score", f"score < {int(value)}")]
    if EXIT_SCORE.search(p.blacklist.exit):
        out.append(("policy.blacklist.exit", EXIT_SCORE.sub(f"score >= {int(value)}", p.blacklist.exit)))
    return out


def _lenient(p: Policy) -> bool:
    return any(m < 1 for m in p.leniency.penalty_multiplier) or p.blacklist.exempt.strip() != "false"


def _write_leniency(value: Value, p: Policy) -> Overrides:
    if not value:
        return [("policy.leniency.penalty_multiplier", NO_LENIENCY), ("policy.blacklist.exempt", "false")]
    return [("policy.leniency.penalty_multiplier", ESSAY_LENIENCY), ("policy.blacklist.exempt", ESSAY_EXEMPT)]


def _points(event: str) -> Callable[[Policy], Value]:
    return lambda p: float(p.scoring.points[event])


def _write_points(*events: str) -> Callable[[Value, Policy], Overrides]:
    return lambda v, p: [(f"policy.scoring.points.{e}", float(v)) for e in events]


KNOBS: tuple[Knob, ...] = (
    Knob("association", "Guilt by association (points lost a day)",
         "\"If you associate with low rated individuals ... your own creditworthiness drops\": "
         "points a citizen loses each day, times the share of their friends in a low tier (C or "
         "below).", ("policy.association.penalty",), "float",
         lambda p: float(p.association.penalty),
         lambda v, p: [("policy.association.penalty", float(v))], 0.0, 20.0, 0.5),
    Knob("threshold", "Blacklist below this score",
         "A citizen whose score falls below this is put on the blacklist (and can leave only at "
         "this score or above, after the term and the correction ritual); 0 lists nobody by score.",
         ("policy.blacklist.entry.score", "policy.blacklist.exit"), "int", _threshold, _write_threshold,
         0, 1000, 10),
    Knob("dissent", "Penalty for dissent (points)",
         "Points for each act of dissent the centre records, online, in public or at home: "
         "\"an immediate loss of units\". 0 makes speaking out free.",
         tuple(f"policy.scoring.points.{e}" for e in DISSENT), "float", _points("dissent_online"),
         _write_points(*DISSENT), -200.0, 0.0, 5.0),
    Knob("alcohol", "Penalty for buying alcohol (points)",
         "\"If you indulge in alcohol or tobacco, the system cuts your score\": points per "
         "recorded purchase.", ("policy.scoring.points.alcohol",), "float", _points("alcohol"),
         _write_points("alcohol"), -20.0, 0.0, 1.0),
    Knob("gaming", "Penalty for gaming (points)",
         "Points per day of gaming the platform records: \"how many hours you spend in virtual "
         "worlds\".", ("policy.scoring.points.gaming",), "float", _points("gaming"),
         _write_points("gaming"), -20.0, 0.0, 1.0),
    Knob("cameras", "Street cameras: coverage in cities",
         "The chance a street camera with face recognition sees a city dweller's public act "
         "(infractions, public dissent); some sightings are pinned on the wrong citizen.",
         ("policy.surveillance.camera.urban",), "float",
         lambda p: float(p.surveillance.camera.urban),
         lambda v, p: [("policy.surveillance.camera.urban", float(v))], 0.0, 1.0, 0.05),
    Knob("appeals", "Appeals against false attributions",
         "On: a citizen penalised for an act they did not commit may appeal, and a judge may "
         "reverse it. Off: nobody can appeal.", ("policy.blacklist.appeals.rate",), "switch",
         lambda p: p.blacklist.appeals.rate > 0,
         lambda v, p: [("policy.blacklist.appeals.rate",
                        (p.blacklist.appeals.rate or ESSAY_APPEAL_RATE) if v else 0.0)]),
    Knob("leniency", "Leniency for officials",
         "On: officials' penalties are cut (by half for local cadres, to a fifth for senior "
         "officials) and senior officials cannot be listed: the system \"does not seem to affect "
         "high ranking officials\". Off: one rule for everyone.",
         ("policy.leniency.penalty_multiplier", "policy.blacklist.exempt"), "switch", _lenient,
         _write_leniency),
)
BY_KEY = {k.key: k for k in KNOBS}


def check_preset(name: object) -> str:
    """A shipped preset's name, or one message: the page never loads a file by a name it is sent."""
    names = preset_names()
    if not isinstance(name, str) or name not in names:
        raise ScorestateError(f"preset {str(name)[:60]!r} is not one of the shipped presets; expected one "
                              f"of: {', '.join(names)}")
    return name


def checked(values: Mapping[str, object]) -> dict[str, Value]:
    """Knob values as their knobs take them, held to each knob's range, whatever the page sent."""
    out: dict[str, Value] = {}
    for key, value in values.items():
        knob = BY_KEY.get(key)
        if knob is None:
            raise ScorestateError(f"unknown knob {key[:40]!r}; expected one of: {', '.join(BY_KEY)}")
        if knob.kind == "switch":
            out[key] = bool(value)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ScorestateError(f"knob '{key}' is {str(value)[:40]!r}; expected a number from "
                                  f"{knob.low:g} to {knob.high:g}")
        value = min(max(float(value), knob.low), knob.high)
        out[key] = round(value) if knob.kind == "int" else value
    return out


@functools.cache
def fullest_policy(preset: str) -> Policy:
    """The preset's policy after its last phase: what its knobs read."""
    return phase_policies(load_scenario(check_preset(preset)))[-1][1]


def preset_values(preset: str) -> dict[str, Value]:
    """Every knob's value in a preset as shipped (a new dict: the page may change it)."""
    policy = fullest_policy(preset)
    return {k.key: k.read(policy) for k in KNOBS}


def moved(preset: str, values: Mapping[str, Value]) -> dict[str, Value]:
    """The knobs whose value differs from the preset's own."""
    shipped = preset_values(preset)
    return {key: v for key, v in values.items() if key in BY_KEY and not _same(v, shipped[key])}


def overrides(preset: str, values: Mapping[str, Value]) -> tuple[tuple[str, Any], ...]:
    """The dotted-path overrides of the moved knobs, in the knobs' order."""
    policy = fullest_policy(preset)
    changed = moved(preset, checked(values))
    return tuple(pair for k in KNOBS if k.key in changed for pair in k.write(changed[k.key], policy))


def moved_one(knob: Knob, value: Value, shipped: Value) -> bool:
    """Whether one knob stands away from the preset's value."""
    return not _same(value, shipped)


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)


def field_doc(path: str) -> tuple[str, str]:
    """(meaning, source) of a scenario field by its dotted path, from the schema."""
    model: type[BaseModel] = Scenario
    description, source = "", ""
    for part in path.split("."):
        info = model.model_fields.get(part)
        if info is None:
            break
        description = info.description or ""
        extra = info.json_schema_extra
        source = str(extra.get("source", "")) if isinstance(extra, dict) else ""
        annotation = info.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return description, source


def provenance(knob: Knob) -> str:
    """The fields a knob sets and where their numbers come from, as the schema says."""
    found = [field_doc(path)[1] for path in knob.fields]
    named = sorted({s for s in found if s})
    return f"sets {', '.join(knob.fields)}" + (f"; source: {'; '.join(named)}" if named else "")
