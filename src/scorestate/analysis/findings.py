"""The essay's claims as hypotheses, measured: `scorestate findings` writes docs/findings.md.

MODEL.md says the essay's claims are the model's hypotheses, to be tested, not assumed. Each
claim here names its metric, compares two policies on the same synthetic citizens with the
same seeds (the engine's counter-based streams give common random numbers, so a paired
difference is the policy's, citizen by citizen), reports the mean paired difference over the
seeds with a 95% t-interval, and sweeps one key parameter to show where the effect holds or
fails. Every verdict sentence is computed from those numbers; none is written by hand.

A run is stepped day by day (`Simulation.step`) so that per-citizen tallies the daily metrics
do not keep (who was ever penalised, listed or pushed into a low tier; penalty points by
official rank; exposure to sanctions) are accumulated alongside.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scorestate import __version__
from scorestate.analysis.experiments import (
    BASELINE,
    ESSAY,
    SCORING_PHASE_DAY,
    Arm,
    Effect,
    Lab,
    paired,
    resolve,
)
from scorestate.errors import ScorestateError
from scorestate.scenario.load import load_scenario, phase_policies

DEFAULT_POPULATION = 3_000
DEFAULT_DAYS = 365  # the essay preset's own year: its score-based listings come late in it
DEFAULT_REPLICATES = 4
DEFAULT_OUTPUT = "docs/findings.md"  # the project's page: writing here from the repository root replaces it
MIN_DAYS = 60
MAX_REPLICATES = 100  # each replicate runs every arm once (27 runs): more would take hours


# ---------------------------------------------------------------- smallest effects of interest

# Common random numbers make paired intervals narrow: an effect can exclude zero beyond doubt and
# still be too small to matter. So each test names the smallest effect it counts, and an interval
# wholly inside +/- that is "negligible", however clearly it excludes zero. By kind: (value, what, why)
SMALLEST_BY_KIND: dict[str, tuple[float, str, str]] = {
    "share": (0.001, "shares and rates of citizens", "a tenth of a percentage point, 3 citizens in 3,000: "
              "no reading of a claim turns on less"),
    "per1000": (1.0, "counts of citizens per 1,000", "the same tenth of a point"),
    "points": (5.0, "penalty points", "half a percent of the 1,000 every citizen starts with"),
}
# ... and for metrics in units of their own ("number" has no common unit) or too rare for their kind's:
# (value, kind, what, why)
SMALLEST_BY_METRIC: dict[str, tuple[float, str, str, str]] = {
    "false_share": (0.0001, "share", "the false share of penalised acts", "false attributions are rare, "
                    "about 0.2% of penalised acts under `essay`: a tenth of a point would be half of them"),
    "ties_dropped": (20.0, "per1000", "ties dropped per 1,000 citizens over the run",
                     "one citizen in fifty cutting one more tie"),
    "assortativity": (0.05, "number", "score assortativity", "a correlation of scores across ties: half "
                      "of a 'small' correlation (0.1, Cohen)"),
    "components": (1.0, "number", "connected components", "the smallest split there is"),
    "listed_degree_ratio": (0.05, "number", "the degree of the blacklisted / mean degree",
                            "a twentieth of the mean degree"),
    "listed_days_official": (1.0, "number", "days blacklisted per official", "a day"),
    "mean_degree": (0.1, "number", "mean degree", "about 1% of it"),
}
# Claim 6 asks whether a gap the system opened is still there after it is switched off: a remainder
# under a tenth of the gap just before is read as the gap all but closed, whatever its interval
GAP_LEFT = 0.1


def smallest(key: str, kind: str) -> float:
    """The smallest effect of interest for a metric: its own, else its kind's."""
    if key in SMALLEST_BY_METRIC:
        return SMALLEST_BY_METRIC[key][0]
    if kind in SMALLEST_BY_KIND:
        return SMALLEST_BY_KIND[kind][0]
    raise KeyError(f"no smallest effect of interest for {key!r} ({kind}): name one in SMALLEST_BY_METRIC")


def gap_least(key: str, kind: str, before: Effect) -> float:
    """Claim 6's smallest gap of interest at the end: a tenth of the gap before, or the metric's own."""
    own = smallest(key, kind)
    return max(own, GAP_LEFT * abs(before.diff)) if math.isfinite(before.diff) else own


def judge(e: Effect, expect: int, least: float) -> str:
    """A test's result: where its interval lies against zero and against +/- `least`, the smallest
    effect of interest. A reversal counts unless shown negligible, so the rule leans against the
    claims: an effect the claim predicts must clear `least`, one against it need not."""
    if expect == 0:
        return ""
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return "undetermined"
    lo, hi = sorted((expect * e.lo, expect * e.hi))  # positive: the side the claim predicts
    if lo <= 0 <= hi:
        return "not shown"
    if -least <= lo and hi <= least:
        return "negligible"
    if lo > least:
        return "holds"
    return "perhaps negligible" if lo > 0 else "reversed"


# Every word the page gives as a result, and what it means: the page's key is written from this table,
# so no word can appear on the page without its definition. (heading, ((word, meaning), ...))
RESULT_WORDS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("One test reads its 95% interval against zero and against its smallest effect of interest", (
        ("holds", "the interval lies on the side the claim predicts, beyond the smallest effect of interest"),
        ("perhaps negligible", "it excludes zero on the side the claim predicts but reaches inside the "
         "smallest effect, so the direction is shown but not that the effect is large enough to matter; it "
         "does not count as holding"),
        ("negligible", "it excludes zero but lies within ± the smallest effect, on whichever side (a real "
         "difference, too small to matter)"),
        ("reversed", "it excludes zero on the other side and is not negligible (a reversal counts unless it "
         "is shown negligible: the rules lean against the claims, not for them)"),
        ("not shown", "it includes zero (no evidence either way at this size, which is not evidence of no "
         "effect)"),
        ("undetermined", "there is no interval, as fewer than two seeds gave the metric a value"),
    )),
    ("A gap after dismantling (claim 6) reads its interval at the end the same way, against its smallest gap "
     "of interest, and says, besides the words above", (
        ("persists", "the gap holds, beyond its smallest gap of interest on the side it had before"),
        ("no gap shown", "the interval at the end includes zero; the gap is no longer shown, which is not "
         "proof that it closed"),
        ("no gap to close", "the gap just before dismantling did not hold (it was not shown, or negligible)"),
    )),
    ("A claim's verdict comes from its primary tests (claim 6: from the gaps that opened)", (
        ("supported", "every primary test holds"),
        ("partly supported", "some hold and none is reversed"),
        ("mixed", "some hold and some are reversed"),
        ("contradicted", "none holds and some are reversed"),
        ("negligible", "every one is negligible"),
        ("not supported at this size", "none holds or is reversed, and not all are negligible (some "
         "intervals include zero or reach inside the smallest effect, which more seeds or citizens could "
         "settle)"),
        ("undetermined", "none could be computed"),
    )),
)


def result_words() -> str:
    """The page's key to its result words, from RESULT_WORDS."""
    lines = ["- **Result words.** Every result on this page is one of these."]
    for heading, words in RESULT_WORDS:
        lines += [f"  - {heading}:", *(f"    - *{word}*: {meaning}." for word, meaning in words)]
    return "\n".join(lines)


# ---------------------------------------------------------------- formatting

_FORMS = {"share": (100, 2), "per1000": (1, 1), "points": (1, 1)}  # scale, decimals; others (1, 3)


def decimals(values: Sequence[float], kind: str) -> int:
    """The page's decimals for a kind, or more where a value that is not zero would read as zero:
    enough for two significant digits, so that a tiny effect cannot pass for none."""
    scale, base = _FORMS.get(kind, (1, 3))
    hidden = [abs(v * scale) for v in values if math.isfinite(v) and v and round(v * scale, base) == 0]
    return min(base + 8, 1 - math.floor(math.log10(min(hidden)))) if hidden else base


def fmt(value: float, kind: str, diff: bool = False, digits: int | None = None) -> str:
    """A value for the tables: shares in %, their differences in percentage points."""
    if value is None or not math.isfinite(value):
        return "n/a"
    scale, base = _FORMS.get(kind, (1, 3))
    unit = (" pp" if diff else "%") if kind == "share" else ""
    d = base if digits is None else digits
    x = round(value * scale, d) + 0.0  # no "-0.00"
    sign = "+" if diff and x > 0 else ""
    return f"{sign}{x:.{d}f}{unit}"


def fmt_effect(e: Effect, kind: str) -> str:
    """An effect and its interval, with the digits they need to show whether they are zero."""
    if not math.isfinite(e.lo):
        return fmt(e.diff, kind, True, decimals([e.diff], kind))
    d = decimals([e.diff, e.lo, e.hi], kind)
    return f"{fmt(e.diff, kind, True, d)} [{fmt(e.lo, kind, True, d)}, {fmt(e.hi, kind, True, d)}]"


def fmt_least(least: float, kind: str) -> str:
    """A smallest effect of interest, as +/- in the effect's units."""
    return "±" + fmt(least, kind, True, decimals([least], kind)).lstrip("+")


@dataclass(frozen=True)
class Row:
    """One line of a claim's table: a metric under arm a against a reference."""

    label: str
    kind: str
    effect: Effect
    expect: int  # +1: the claim predicts a > reference; -1: a < reference; 0: context
    reference: str
    difference: bool = False  # the values themselves are differences (of shares: percentage points)
    least: float = math.nan  # the smallest effect of interest; a test (expect != 0) must name one

    def __post_init__(self) -> None:
        if self.expect and self.reference and not math.isfinite(self.least):
            raise ValueError(f"{self.label}: a test needs its smallest effect of interest")

    @property
    def status(self) -> str:
        return judge(self.effect, self.expect, self.least)


_EXPECT = {1: "higher", -1: "lower", 0: "(context)"}


def row_table(rows: Sequence[Row], a_label: str) -> list[str]:
    lines = [f"| metric | {a_label} | reference | reference value | effect [95% CI] | smallest effect of "
             "interest | claim expects | result |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b = fmt(r.effect.a, r.kind, r.difference), fmt(r.effect.b, r.kind, r.difference)
        if not r.reference:  # a value shown alone, for context
            lines.append(f"| {r.label} | {a} | - | - | - | - | {_EXPECT[r.expect]} | - |")
            continue
        least = fmt_least(r.least, r.kind) if r.expect else "-"
        lines.append(f"| {r.label} | {a} | {r.reference} | {b} | {fmt_effect(r.effect, r.kind)} | {least} "
                     f"| {_EXPECT[r.expect]} | {r.status or '-'} |")
    return lines


@dataclass
class Sweep:
    """One parameter varied; each value's effects on the claim's key metrics."""

    parameter: str
    columns: list[tuple[str, str, int, float]]  # (label, kind, expected sign, smallest effect of interest)
    points: list[tuple[str, list[Effect], list[float]]] = field(default_factory=list)  # value, effects, least

    def add(self, value: str, effects: list[Effect], least: Sequence[float] | None = None) -> None:
        """A swept value's effects; `least` replaces the columns' smallest effects of interest."""
        self.points.append((value, effects, list(least) if least else [c[3] for c in self.columns]))

    def holds_at(self, column: int = 0) -> tuple[list[str], list[str]]:
        """Values where the column's effect holds, and where it does not."""
        expect = self.columns[column][2]
        held = [(v, judge(effects[column], expect, least[column]) == "holds")
                for v, effects, least in self.points]
        return [v for v, ok in held if ok], [v for v, ok in held if not ok]

    def _head(self, i: int, fixed: bool) -> str:
        """A column's head, naming its smallest effect of interest when every value shares it."""
        label, kind, _, _ = self.columns[i]
        least = fmt_least(self.points[0][2][i], kind) if fixed and self.points else "± in each cell"
        return f"{label} [95% CI] (smallest of interest {least})"

    def table(self) -> list[str]:
        fixed = [len({least[i] for _, _, least in self.points}) <= 1 for i in range(len(self.columns))]
        heads = [self._head(i, same) for i, same in enumerate(fixed)]
        lines = [f"| `{self.parameter}` | {' | '.join(heads)} | result |",
                 "|---|" + "---|" * len(self.columns) + "---|"]
        for value, effects, least in self.points:
            cells, results = [], []
            for i, (e, (_, kind, expect, _)) in enumerate(zip(effects, self.columns, strict=True)):
                cells.append(fmt_effect(e, kind) + ("" if fixed[i] else f" ({fmt_least(least[i], kind)})"))
                if expect:
                    results.append(judge(e, expect, least[i]))
            lines.append(f"| {value} | {' | '.join(cells)} | {', '.join(results) or '-'} |")
        return lines


def _and(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def where(yes: Sequence[str], no: Sequence[str]) -> str:
    """'at every value tried (...)', 'at none of ...', or 'at a and b but not at c'."""
    if yes and not no:
        return f"at every value tried ({_and(yes)})"
    if not yes:
        return f"at none of the values tried ({_and(no)})" if no else "at no value (none tried)"
    return f"at {_and(yes)} but not at {_and(no)}"


def half_proportional(first: Effect, dose_first: float, dose_last: float) -> float:
    """Half the change in an effect that scaling in proportion to its dose would give."""
    return 0.5 * abs(first.diff) * (dose_last / dose_first - 1)


def dose_response(first: Effect, change: Effect, dose_first: float, dose_last: float) -> str:
    """'flat', 'scales' or 'unsettled': whether an effect grows with the dose behind it. `change` is the
    paired change in the effect from the first dose to the last; it is flat when its whole 95% interval
    lies below half of what proportional scaling would give, scales when it lies at or above that half.
    The doses (points spared) are measured far more tightly than the effect, so they are taken as given."""
    values = (first.diff, change.lo, change.hi, dose_first, dose_last)
    if not all(math.isfinite(x) for x in values) or not first.diff or not dose_first:
        return "unsettled"
    half = half_proportional(first, dose_first, dose_last)
    lo, hi = sorted((math.copysign(1, first.diff) * change.lo, math.copysign(1, first.diff) * change.hi))
    return "flat" if hi < half else "scales" if lo >= half else "unsettled"


def overall(statuses: Sequence[str]) -> str:
    """A claim's verdict from its primary tests; a reversed test is never hidden behind one that holds."""
    held, reversal = "holds" in statuses, "reversed" in statuses
    if statuses and all(s == "holds" for s in statuses):
        return "supported"
    if held:
        return "mixed" if reversal else "partly supported"
    if reversal:
        return "contradicted"
    for word in ("negligible", "undetermined"):
        if statuses and all(s == word for s in statuses):
            return word
    return "not supported at this size"


@dataclass
class Section:
    """A claim's part of the report; `verdict` is a short phrase, `text` the computed paragraph."""

    number: int
    title: str
    quote: str
    metric: str
    blocks: list[str]
    verdict: str
    text: str


# ---------------------------------------------------------------- the claims


def _essay_value(path: str) -> Any:
    """A parameter's value in `essay`; policy paths as in force after the essay's last phase."""
    scenario = load_scenario("essay")
    node: Any = phase_policies(scenario)[-1][1] if path.startswith("policy.") else scenario
    for part in path.split(".")[1 if path.startswith("policy.") else 0:]:
        node = getattr(node, part)
    return node


def _label(value: Any, essay_value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} (essay)" if value == essay_value else text


def _sweep_values(values: Sequence[float], essay_value: float, leave_out: float | None = None) -> list[float]:
    """The sweep's values with the essay's own value added, sorted, the reference left out."""
    return sorted({*values, essay_value} - {leave_out})


def _least(key: str, kind: str, expect: int) -> float:
    """A test's smallest effect of interest; none for a value shown for context."""
    return smallest(key, kind) if expect else math.nan


def _rows(lab: Lab, a: Arm, b: Arm, spec: Sequence[tuple[str, str, str, int]]) -> list[Row]:
    return [Row(label, kind, paired(lab.values(a, key), lab.values(b, key)), expect, f"`{b.label}`",
                least=_least(key, kind, expect))
            for key, label, kind, expect in spec]


class Claim:
    """A hypothesis: the arms it needs and how their numbers become a section of the report."""

    number = 0
    title = ""
    quote = ""
    path = ""  # the parameter swept to show where the claim holds
    values: tuple[float, ...] = ()
    sweep_name = ""  # a sweep arm is called "essay, {sweep_name} {value}"
    leave_out: float | None = None  # a value not swept (it is the reference arm already)

    def _sweep(self) -> list[tuple[float, Arm]]:
        """The essay with `path` at each swept value, the essay's own value included."""
        key = self.path.replace(".", "__")
        return [(v, ESSAY.but(f"essay, {self.sweep_name} {v:g}", **{key: v}))
                for v in _sweep_values(self.values, _essay_value(self.path), self.leave_out)]

    def _swept(self, lab: Lab, against: Arm, columns: list[tuple[str, str, str, int]]) -> Sweep:
        """Each swept value against `against`: one paired effect per (metric, label, kind, sign)."""
        ev = _essay_value(self.path)
        sweep = Sweep(self.path, [(label, kind, sign, smallest(k, kind)) for k, label, kind, sign in columns])
        for v, arm in self._sweep():
            sweep.add(_label(v, ev), [paired(lab.values(arm, k), lab.values(against, k))
                                      for k, *_ in columns])
        return sweep

    def arms(self, lab: Lab) -> list[Arm]:
        raise NotImplementedError

    def evaluate(self, lab: Lab) -> Section:
        raise NotImplementedError


class Chilling(Claim):
    number = 1
    title = "Chilling of dissent"
    quote = ("Questioning the regime is already a high risk activity ... daring to say that we do not "
             "have democracy or freedom of speech will lead to an immediate loss of units.")
    path = "behaviour.deterrence"
    values = (0.0, 2.0, 32.0)
    sweep_name = "deterrence"

    def arms(self, lab: Lab) -> list[Arm]:
        return [ESSAY, BASELINE] + [a for _, a in self._sweep()]

    def evaluate(self, lab: Lab) -> Section:
        rows = _rows(lab, ESSAY, BASELINE, [
            ("chilling", "chilling: 1 - expressed / latent dissent", "share", 1),
            ("dissent", "dissent expressed, share of citizens a day", "share", -1),
            ("dissent_latent", "dissent latent (would have, without incentives)", "share", 0),
            ("perceived", "perceived detection", "share", 0),
        ])
        chill, expressed, latent = rows[0], rows[1], rows[2]
        sweep = self._swept(lab, BASELINE, [("chilling", "chilling vs baseline", "share", 1),
                                            ("dissent", "dissent expressed vs baseline", "share", -1)])
        verdict = overall([chill.status, expressed.status])
        text = (f"Over the last {lab.window} days under `essay`, citizens voiced "
                f"{fmt(chill.effect.a, 'share')} less dissent than their own latent propensity "
                f"({fmt(expressed.effect.a, 'share')} expressed against {fmt(latent.effect.a, 'share')} "
                f"latent a day). Against `baseline`, "
                f"expressed dissent differs by {fmt_effect(expressed.effect, 'share')} ({expressed.status}) "
                f"and chilling by {fmt_effect(chill.effect, 'share')} ({chill.status}). Across "
                f"`{self.path}`, chilling is shown {where(*sweep.holds_at(0))}.")
        metric = (f"Chilling = 1 - expressed / latent dissent. Latent dissent is what the same citizens, "
                  f"with the same random draws, would have done without the deterrence term. Rates are "
                  f"shares of citizens a day, averaged over the last {lab.window} days.")
        blocks = [*row_table(rows, "`essay`"), "",
                  f"Where it holds (sweep of `{self.path}`, each value against `baseline`):", "",
                  *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks, verdict, text)


class Association(Claim):
    number = 2
    title = "Self-policing and network splitting under guilt by association"
    quote = ("If you associate with low rated individuals on social networks, your own creditworthiness "
             "drops ... To maintain a high score, you must surround yourself with the obedient. This "
             "creates a self policing society.")
    path = "policy.association.penalty"
    values = (1.0, 20.0)
    sweep_name = "association penalty"
    leave_out = 0.0
    OFF = ESSAY.but("essay, association off", policy__association__penalty=0.0,
                    policy__association__drop_rate=0.0, policy__association__seek_rate=0.0)

    def arms(self, lab: Lab) -> list[Arm]:
        return [ESSAY, self.OFF] + [a for _, a in self._sweep()]

    def evaluate(self, lab: Lab) -> Section:
        off = self.OFF
        rows = _rows(lab, ESSAY, off, [
            ("ties_dropped", "ties dropped per 1,000 citizens over the run", "per1000", 1),
            ("cross_tier", "share of ties across tiers", "share", -1),
            ("assortativity", "score assortativity over ties", "number", 1),
            ("largest_component", "largest component, share of citizens (last day)", "share", -1),
            ("components", "connected components (last day)", "number", 1),
            ("listed_degree_ratio", "degree of the blacklisted / mean degree", "number", -1),
            ("ties_made", "ties made per 1,000 citizens over the run", "per1000", 0),
            ("mean_degree", "mean degree (last day)", "number", 0),
        ])
        dropped, cross, assort, largest, made = rows[0], rows[1], rows[2], rows[3], rows[6]
        sweep = self._swept(lab, off, [("ties_dropped", "ties dropped per 1,000", "per1000", 1),
                                       ("assortativity", "score assortativity", "number", 1),
                                       ("largest_component", "largest component", "share", -1)])
        policing = overall([dropped.status, cross.status])
        # sorting (ties follow scores) and splitting (the network comes apart) are told apart: rising
        # assortativity alone is sorting; splitting needs the largest component to shrink
        sorting, splitting = overall([assort.status]), overall([largest.status])
        text = (f"With guilt by association on, citizens dropped {fmt_effect(dropped.effect, 'per1000')} "
                f"more ties per 1,000 ({dropped.status}); the share of ties across tiers changed by "
                f"{fmt_effect(cross.effect, 'share')} ({cross.status}); score assortativity by "
                f"{fmt_effect(assort.effect, 'number')} ({assort.status}); the largest component's share by "
                f"{fmt_effect(largest.effect, 'share')} ({largest.status}). Across `{self.path}` (drop and "
                f"seek rates as in `essay`), extra tie-dropping is shown {where(*sweep.holds_at(0))}; a "
                f"smaller largest component {where(*sweep.holds_at(2))}.")
        if assort.status == "holds" and largest.status != "holds":
            more = judge(made.effect, 1, smallest("ties_made", "per1000")) == "holds"
            text += (" So the network sorts by score but does not split: assortativity rises, while the "
                     "largest component, on which the splitting verdict rests, does not shrink"
                     + (f", and citizens make more ties, not fewer (ties made per 1,000: "
                        f"{fmt_effect(made.effect, 'per1000')})" if more else "") + ".")
        metric = (f"`essay` against the same policy with association scoring and tie choices off (penalty, "
                  f"drop and seek rates 0 in every phase). Tie shares and assortativity are averaged over "
                  f"the last {lab.window} days; components are counted on the last day.")
        blocks = [*row_table(rows, "`essay`"), "",
                  f"Where it holds (sweep of `{self.path}`, each value against `{off.label}`):", "",
                  *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks,
                       f"self-policing {policing}; sorting by score {sorting}; network splitting {splitting}",
                       text)


class Innocents(Claim):
    number = 3
    title = "Innocent citizens sanctioned through camera misattribution and association"
    quote = ("Cameras with face recognition track every movement in the public square ... If you "
             "associate with low rated individuals ... your own creditworthiness drops.")
    path = "policy.surveillance.camera_misattribution"
    values = (0.1, 0.3)
    sweep_name = "misattribution"
    leave_out = 0.0
    CAMERA_OFF = ESSAY.but("essay, camera errors off", policy__surveillance__camera_misattribution=0.0,
                           policy__surveillance__camera_false_match=0.0)
    ZERO = ESSAY.but("essay, misattribution 0", policy__surveillance__camera_misattribution=0.0)

    def arms(self, lab: Lab) -> list[Arm]:
        return [ESSAY, BASELINE, self.CAMERA_OFF, Association.OFF, self.ZERO] + [a for _, a in self._sweep()]

    @staticmethod
    def _only(lab: Lab, arm: Arm, without: Arm, flag: str) -> np.ndarray:
        """Per seed, per 1,000: citizens `flag` under `arm` but never under `without` (same draws)."""
        return np.array([1000 * float((o.citizens[flag] & ~w.citizens[flag]).mean())
                         for o, w in zip(lab.outcomes(arm), lab.outcomes(without), strict=True)])

    def evaluate(self, lab: Lab) -> Section:
        zero = np.zeros(lab.replicates)
        cam, assoc = self.CAMERA_OFF, Association.OFF

        def only(label: str, without: Arm, flag: str) -> Row:
            return Row(label, "per1000", paired(self._only(lab, ESSAY, without, flag), zero), 1,
                       f"`{without.label}`, same citizens", least=smallest(flag, "per1000"))

        rows = [
            *_rows(lab, ESSAY, BASELINE, [
                ("false_penalised", "citizens penalised for an act they did not commit, per 1,000",
                 "per1000", 1)]),
            *_rows(lab, ESSAY, cam, [
                ("false_penalised", "... the same, against camera errors off", "per1000", 1),
                ("false_share", "false attributions among penalised acts", "share", 1)]),
            only("citizens blacklisted only because of camera errors, per 1,000", cam, "ever_listed"),
            only("citizens in a low tier only because of association, per 1,000", assoc, "ever_low"),
            only("citizens blacklisted only because of association, per 1,000", assoc, "ever_listed"),
            *(Row(label, "per1000", paired(lab.values(ESSAY, key), zero), 0, "") for key, label in (
                ("never_offended", "citizens who never did an act the rules name, per 1,000"),
                ("innocent_penalised", "... citizens who never did such an act yet were penalised all the "
                 "same, per 1,000 citizens"))),
        ]
        total, cam_pen, cam_share, cam_listed, assoc_low, assoc_listed = rows[:6]
        sweep = self._swept(lab, self.ZERO,
                            [("false_penalised", "falsely penalised per 1,000", "per1000", 1),
                             ("false_share", "false share of penalised acts", "share", 1)])
        camera = overall([cam_pen.status, cam_share.status, cam_listed.status])
        association = overall([assoc_low.status, assoc_listed.status])
        text = (f"Under `essay`, {fmt(total.effect.a, 'per1000')} citizens per 1,000 were penalised at least "
                f"once for an act they did not commit (every error channel, the platform's false positives "
                f"included). Camera errors (misattribution and false matches) account for "
                f"{fmt_effect(cam_pen.effect, 'per1000')} of them ({cam_pen.status}), raise the false share "
                f"of penalised acts by {fmt_effect(cam_share.effect, 'share')} ({cam_share.status}) and put "
                f"{fmt_effect(cam_listed.effect, 'per1000')} citizens per 1,000 on the blacklist who are "
                f"never listed without them ({cam_listed.status}). Guilt by association puts "
                f"{fmt_effect(assoc_low.effect, 'per1000')} citizens per 1,000 in a low tier who never reach "
                f"one without it ({assoc_low.status}) and {fmt_effect(assoc_listed.effect, 'per1000')} on "
                f"the blacklist ({assoc_listed.status}). Against misattribution 0, more citizens are falsely "
                f"penalised {where(*sweep.holds_at(0))}.")
        metric = ("A false attribution is a penalised act recorded against a citizen who did not commit it "
                  "(a camera sighting pinned on the wrong citizen, a camera false match, a platform false "
                  "positive). 'Only because of' compares the same citizen, on the same seed, with the "
                  "mechanism on and off. Counts are of citizens per 1,000 over the run.")
        blocks = [*row_table(rows, "`essay`"), "",
                  f"Where it holds (sweep of `{self.path}`, each value against misattribution 0; false "
                  "matches as in `essay`):", "", *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks,
                       f"through camera errors {camera}; through association {association}", text)


class Approval(Claim):
    number = 4
    title = "Approval higher among urban, educated, wealthy, older citizens, falling as sanctions come close"
    quote = ("Highly educated city dwellers are the most enthusiastic supporters of this system ... Public "
             "opinion may change as the punitive tools become more tangible.")
    path = "attitudes.approval_own_sanction"
    values = (0.0, 0.1, 1.0)
    sweep_name = "approval_own_sanction"

    def arms(self, lab: Lab) -> list[Arm]:
        return [ESSAY, BASELINE] + [a for _, a in self._sweep()]

    @staticmethod
    def _falls(lab: Lab, arm: Arm) -> dict[str, np.ndarray]:
        """Per seed: the mean change in approval (arm - baseline, citizen by citizen) overall and in
        the quarters of citizens most and least exposed to sanctions, their own or their friends'."""
        out: dict[str, list[float]] = {k: [] for k in (
            "all", "own_top", "own_bottom", "own_gap", "nbr_top", "nbr_bottom", "nbr_gap")}
        for o, b in zip(lab.outcomes(arm), lab.outcomes(BASELINE), strict=True):
            d = o.citizens["approval_end"].astype(float) - b.citizens["approval_end"]
            out["all"].append(float(d.mean()))
            for name in ("own", "nbr"):
                order = np.argsort(o.citizens[f"{name}_exposure"], kind="stable")  # ties by citizen id
                q = max(1, order.size // 4)
                top, bottom = float(d[order[-q:]].mean()), float(d[order[:q]].mean())
                out[f"{name}_top"].append(top)
                out[f"{name}_bottom"].append(bottom)
                out[f"{name}_gap"].append(top - bottom)
        return {k: np.array(v) for k, v in out.items()}

    def evaluate(self, lab: Lab) -> Section:
        zero = np.zeros(lab.replicates)
        groups = (("urban", "urban - rural"), ("education", "degree - primary education"),
                  ("income", "richest - poorest income quintile"), ("age", "aged 60+ - under 35"))
        # every value in these tables is a difference of approval shares, shown in percentage points
        least = smallest("approval", "share")
        start = [Row(f"{label}, day 0", "share", paired(lab.values(ESSAY, f"gap_{k}_start"), zero), 1,
                     "no gradient", True, least) for k, label in groups]
        end = [Row(f"{label}, last day", "share", paired(lab.values(ESSAY, f"gap_{k}_end"), zero), 0,
                   "no gradient", True) for k, label in groups]
        falls = self._falls(lab, ESSAY)
        fall = [Row(label, "share", paired(falls[key], zero), expect, "`baseline`, same citizens", True,
                    _least(key, "share", expect))
                for key, label, expect in (
                    ("all", "approval change, all citizens", -1),
                    ("own_top", "... the quarter most sanctioned themselves", -1),
                    ("own_bottom", "... the quarter least sanctioned themselves", 0),
                    ("own_gap", "most minus least sanctioned quarter", -1),
                    ("nbr_top", "... the quarter who saw most penalties among friends", -1),
                    ("nbr_bottom", "... the quarter who saw fewest", 0),
                    ("nbr_gap", "most minus least exposed through friends", -1))]
        ev = _essay_value(self.path)
        sweep = Sweep(self.path, [("approval change, all", "share", -1, least),
                                  ("most minus least sanctioned quarter", "share", -1, least)])
        for v, arm in self._sweep():
            f = self._falls(lab, arm)
            sweep.add(_label(v, ev), [paired(f["all"], zero), paired(f["own_gap"], zero)])
        gradient = overall([r.status for r in start])
        falling = overall([fall[0].status, fall[3].status, fall[6].status])
        persist = [label for (_, label), r in zip(groups, end, strict=True)
                   if judge(r.effect, 1, least) == "holds"]
        text = (f"The day-0 gradients are the model's input (the `attitudes.approval_*` parameters, after "
                f"Kostka 2019), so that check confirms the implementation, not the claim. By day "
                f"{lab.days - 1} approval under `essay` differs from the same citizens' under `baseline` by "
                f"{fmt_effect(fall[0].effect, 'share')} ({fall[0].status}): "
                f"{fmt(fall[1].effect.diff, 'share', True)} in the quarter most sanctioned themselves "
                f"against {fmt(fall[2].effect.diff, 'share', True)} in the least ({fall[3].status}), and "
                f"{fmt(fall[4].effect.diff, 'share', True)} in the quarter who saw most penalties among "
                f"friends against {fmt(fall[5].effect.diff, 'share', True)} in the fewest "
                f"({fall[6].status}). Gradients still shown on the last day (beyond "
                f"{fmt_least(least, 'share')}): "
                f"{_and(persist) if persist else 'none'}. Across `{self.path}`, the most sanctioned lose "
                f"more approval than the least {where(*sweep.holds_at(1))}.")
        metric = ("Approval is each citizen's approval probability (the logistic of its approval logit). "
                  "Gradients compare group means. The change is each citizen's approval under `essay` minus "
                  "the same citizen's under `baseline` on the same seed, averaged over everyone and over the "
                  "quarters most and least exposed: by the number of sanctions suffered (penalties, denials, "
                  "listings), and by the summed daily share of friends penalised.")
        blocks = ["Gradients at the start (under `essay`; differences of mean approval, in percentage "
                  "points):", "",
                  *row_table(start, "`essay`"), "",
                  f"The change, citizen by citizen against `baseline` (day {lab.days - 1}):", "",
                  *row_table(fall, "`essay` - `baseline`"), "",
                  "Gradients at the end (context):", "", *row_table(end, "`essay`"), "",
                  f"Where it holds (sweep of `{self.path}`, against `baseline`):", "", *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks,
                       f"gradient at the start {gradient}; falling as sanctions come close {falling}", text)


_SCALES = {"flat": "Nor does its size scale with the multiplier (no dose-response):",
           "scales": "Its size changes with the multiplier:",
           "unsettled": "Whether its size scales with the multiplier is not settled at this size:"}


class Officials(Claim):
    number = 5
    title = "Officials spared"
    quote = ("Some are starting to notice that the social rating does not seem to affect high ranking "
             "officials.")
    path = "policy.leniency.penalty_multiplier"
    values = (0.5, 0.2, 0.0)
    NO_LENIENCY = ESSAY.but("essay, no leniency", policy__leniency__penalty_multiplier=[1.0, 1.0, 1.0],
                            policy__blacklist__exempt="false")

    def _sweep(self) -> list[tuple[float, Arm]]:
        return [(m, self.NO_LENIENCY.but(f"essay, officials x{m:g}",
                                         policy__leniency__penalty_multiplier=[1.0, m, m]))
                for m in self.values]

    def arms(self, lab: Lab) -> list[Arm]:
        return [ESSAY, self.NO_LENIENCY] + [a for _, a in self._sweep()]

    def evaluate(self, lab: Lab) -> Section:
        ref = self.NO_LENIENCY
        rows = _rows(lab, ESSAY, ref, [
            ("pen_official", "penalty points lost per official (ranks 1-2) over the run", "points", -1),
            ("pen_official_rule_share", "officials' points lost / what the rules would take", "share", -1),
            ("listed_days_official", "days blacklisted per official", "number", -1),
            ("pen_ordinary", "penalty points lost per ordinary citizen", "points", 0),
            ("listed_days_ordinary", "days blacklisted per ordinary citizen", "number", 0),
            ("approval_ordinary", "ordinary citizens' approval, last day", "share", -1),
        ])
        lost, share, listed, _, _, approval = rows
        keys = ("pen_official", "approval_ordinary")
        sweep = Sweep(f"{self.path} = [1, m, m]", [
            ("points lost per official", "points", -1, smallest(keys[0], "points")),
            ("ordinary citizens' approval", "share", -1, smallest(keys[1], "share"))])
        for m, arm in self._sweep():
            sweep.add(f"m = {m:g}", [paired(lab.values(arm, k), lab.values(ref, k)) for k in keys])
        (m_hi, (pts_hi, appr_hi), _), (m_lo, (pts_lo, appr_lo), _) = sweep.points[0], sweep.points[-1]
        arms = self._sweep()
        change = paired(lab.values(arms[-1][1], keys[1]), lab.values(arms[0][1], keys[1]))
        half = math.copysign(half_proportional(appr_hi, pts_hi.diff, pts_lo.diff), appr_hi.diff)
        scales = _SCALES[dose_response(appr_hi, change, pts_hi.diff, pts_lo.diff)]
        spared = overall([lost.status, share.status])
        noticed = overall([approval.status])
        officials = float(lab.values(ESSAY, "officials").mean())
        text = (f"An official (about {officials:.0f} per run) lost {fmt(lost.effect.a, 'points')} penalty "
                f"points over the run under `essay` against {fmt(lost.effect.b, 'points')} with no leniency "
                f"({fmt_effect(lost.effect, 'points')}, {lost.status}), {fmt(share.effect.a, 'share')} of "
                f"what the rules take from anyone else ({share.status}); their days on the blacklist changed "
                f"by {fmt_effect(listed.effect, 'number')} ({listed.status}). "
                f"The sparing is the rule itself (penalties multiplied by rank); what the model adds is its "
                f"consequence: ordinary citizens' approval differs by {fmt_effect(approval.effect, 'share')} "
                f"({approval.status}). Across the officials' multiplier m, lower approval of ordinary "
                f"citizens is shown {where(*sweep.holds_at(1))}. But that approval effect is the model's "
                f"input: an assumed parameter (`attitudes.approval_leniency`, 'assumed' in docs/ODD.md) "
                f"lowers approval with the share of officials seen spared a penalty each day, a count of "
                f"softened sanctions whatever the multiplier, so the check confirms the implementation, not "
                f"the claim. {scales} {fmt(appr_hi.diff, 'share', True)} at {m_hi} and "
                f"{fmt(appr_lo.diff, 'share', True)} at {m_lo}, a change of {fmt_effect(change, 'share')} "
                f"where half of proportional scaling would give {fmt(half, 'share', True)}, while the points "
                f"spared per official go from {fmt(-pts_hi.diff, 'points')} to "
                f"{fmt(-pts_lo.diff, 'points')}.")
        metric = ("`essay` (penalties multiplied by rank, senior officials exempt from the blacklist) "
                  "against the same policy with every multiplier 1 and no exemption. Points lost sum the "
                  "penalties of every penalised act recorded against a citizen, true or false. The approval "
                  "effect has no dose-response when its paired change from the largest multiplier swept to "
                  "the smallest lies, whole 95% interval, below half of what scaling in proportion to the "
                  "points spared would give; it scales when the interval lies wholly at or above that half; "
                  "otherwise it is not settled.")
        blocks = [*row_table(rows, "`essay`"), "",
                  "Where it holds (sweep of the officials' multiplier m, no exemption, against "
                  f"`{ref.label}`):", "", *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks,
                       f"officials spared {spared}; leniency lowers approval {noticed} (an assumed input)",
                       text)


_GAP_WORD = {"holds": "persists", "not shown": "no gap shown"}  # claim 6's words for a gap at the end


def last_counted(day: int) -> int:
    """The day whose component count a day's metrics repeat: components, the costlier network
    metrics, are counted only every `run.network_metrics_every` days (and on a run's last day)."""
    every = int(_essay_value("run.network_metrics_every"))
    return day // every * every


class Irreversibility(Claim):
    number = 6
    title = "Irreversibility after dismantling"
    quote = ("The transition is irreversible because the citizens themselves are building the walls of "
             "their own prison.")
    path = "attitudes.perceived_decay"
    values = (0.001, 0.02, 0.05)
    METRICS = (("dissent", "dissent expressed", "share"), ("dissent_latent", "dissent latent", "share"),
               ("perceived", "perceived detection", "share"), ("approval", "approval", "share"),
               ("grievance", "grievance", "share"), ("mean_degree", "mean degree", "number"),
               ("largest_component", "largest component share", "share"))

    def _pairs(self, lab: Lab) -> list[tuple[float, Arm, Arm]]:
        ev = _essay_value(self.path)
        out = []
        for v in _sweep_values(self.values, ev):
            over = {} if v == ev else {"attitudes__perceived_decay": v}
            tag = "" if v == ev else f", perceived_decay {v:g}"
            out.append((v, ESSAY.but(f"essay dismantled{tag}", timeline__dismantle_day=lab.dismantle_day,
                                     **over), BASELINE.but(f"baseline{tag}", **over)))
        return out

    def arms(self, lab: Lab) -> list[Arm]:
        return [BASELINE] + [a for _, x, y in self._pairs(lab) for a in (x, y)]

    @staticmethod
    def _gap(lab: Lab, arm: Arm, ref: Arm, key: str, kind: str) -> tuple[Effect, Effect, str]:
        """A metric's gap to `ref` just before dismantling and at the end, and the test of the gap at the
        end ('' when no gap opened: it must hold before, beyond the metric's smallest effect of interest)."""
        before = paired(lab.values(arm, f"before_{key}"), lab.values(ref, f"before_{key}"))
        after = paired(lab.values(arm, key), lab.values(ref, key))
        sign = 1 if before.diff > 0 else -1
        if judge(before, sign, smallest(key, kind)) != "holds":
            return before, after, ""
        return before, after, judge(after, sign, gap_least(key, kind, before))

    def _sweep_table(self, lab: Lab) -> Sweep:
        """The gaps at the end at each decay, each against a tenth of its own gap before."""
        ev = _essay_value(self.path)
        keys = (("perceived", "share"), ("dissent", "share"))
        sweep = Sweep(self.path, [("perceived detection gap at the end", "share", 1, math.nan),
                                  ("dissent gap at the end", "share", -1, math.nan)])
        for v, x, y in self._pairs(lab):
            befores = [paired(lab.values(x, f"before_{k}"), lab.values(y, f"before_{k}")) for k, _ in keys]
            sweep.add(_label(v, ev), [paired(lab.values(x, k), lab.values(y, k)) for k, _ in keys],
                      [gap_least(k, kind, b) for (k, kind), b in zip(keys, befores, strict=True)])
        return sweep

    def evaluate(self, lab: Lab) -> Section:
        dd, w = lab.dismantle_day, lab.window
        ev = _essay_value(self.path)
        dismantled = next(x for v, x, _ in self._pairs(lab) if v == ev)
        lines = ["| metric | gap just before dismantling [95% CI] | gap at the end [95% CI] | smallest gap "
                 "of interest at the end | share of the gap left | result |", "|---|---|---|---|---|---|"]
        results: dict[str, list[str]] = {}
        statuses: list[str] = []  # the tests of the gaps that opened
        shares: list[tuple[float, str]] = []  # share of the gap left, for the gaps that persist
        for key, label, kind in self.METRICS:
            before, after, status = self._gap(lab, dismantled, BASELINE, key, kind)
            opened = bool(status)
            statuses += [status] if opened else []
            result = _GAP_WORD.get(status, status) if opened else "no gap to close"
            results.setdefault(result, []).append(label)
            if result == "persists":
                shares.append((after.diff / before.diff, label))
            left = fmt(after.diff / before.diff, "share") if opened else "-"
            least = fmt_least(gap_least(key, kind, before), kind) if opened else "-"
            lines.append(f"| {label} | {fmt_effect(before, kind)} | {fmt_effect(after, kind)} | {least} "
                         f"| {left} | {result} |")
        sweep = self._sweep_table(lab)
        persisted = results.get("persists", [])
        others = [f"{label} ({r})" for r, labels in results.items()
                  if r not in ("persists", "no gap to close") for label in labels]
        verdict = overall(statuses)
        text = (f"After the system was switched off on day {dd}, the gaps to `baseline` it had opened "
                f"persisted to day {lab.days - 1} in: {_and(persisted) if persisted else 'nothing'}; not in: "
                f"{_and(others) if others else 'nothing'}.")
        if shares:
            (low, low_label), (high, high_label) = min(shares), max(shares)
            text += (f" In the {lab.days - dd} days after, the persisting gaps went to between "
                     f"{fmt(low, 'share')} ({low_label}) and {fmt(high, 'share')} ({high_label}) of their "
                     f"size just before.")
        text += (f" Across `{self.path}`, a perceived-detection gap of more than a tenth of its size before "
                 f"dismantling remains at the end {where(*sweep.holds_at(0))}.")
        counted = last_counted(dd - 1)
        metric = (f"`essay` with `timeline.dismantle_day: {dd}` against `baseline`. The gap before is "
                  f"averaged over days {dd - w}-{dd - 1} (mean degree: day {dd - 1}; the largest component: "
                  f"day {counted}, the last day before dismantling it was counted on, as components are "
                  f"counted every {_essay_value('run.network_metrics_every')} days); the gap at the end over "
                  f"the last {w} days (network metrics: the last day, on which components are always "
                  f"counted). A gap has opened when its 95% CI before dismantling lies beyond the metric's "
                  f"smallest effect of interest; it persists when its 95% CI at the end lies beyond a tenth "
                  f"of its size before (or that smallest effect, if larger), on the same side. The verdict "
                  f"reads the gaps that opened as its primary tests, a gap that persists as one that holds.")
        blocks = [*lines, "", f"Where it holds (sweep of `{self.path}`, dismantled `essay` against "
                  "`baseline` with the same value):", "", *sweep.table()]
        return Section(self.number, self.title, self.quote, metric, blocks, verdict, text)


CLAIMS: tuple[Claim, ...] = (Chilling(), Association(), Innocents(), Approval(), Officials(),
                             Irreversibility())


# ---------------------------------------------------------------- the report


def check_sizes(population: int, days: int, replicates: int) -> None:
    """Refuse sizes the findings cannot be computed at, with the reason."""
    if population < 100:
        raise ScorestateError(f"--population must be at least 100 for the findings; got {population}")
    if days < MIN_DAYS:
        raise ScorestateError(f"--days must be at least {MIN_DAYS} for the findings (the essay's scoring "
                              f"phase begins on day {SCORING_PHASE_DAY}); got {days}")
    if replicates < 2:
        raise ScorestateError(f"--replicates must be at least 2 to give a confidence interval; "
                              f"got {replicates}")
    if replicates > MAX_REPLICATES:
        from scorestate.analysis.compare import over_cap

        runs = plan(Lab(population, days, 1, 0))  # the runs of one seed
        raise ScorestateError(
            f"--replicates must be at most {MAX_REPLICATES:,} for the findings; got {replicates:,}. "
            + over_cap(replicates, runs, population, days)
            + f"; expected from 2 to {MAX_REPLICATES:,} (the page's default is {DEFAULT_REPLICATES})")


def smallest_note() -> str:
    """The page's statement of the smallest effects of interest, from the tables the tests use."""
    entries = [(value, kind, what, why) for kind, (value, what, why) in SMALLEST_BY_KIND.items()]
    entries += SMALLEST_BY_METRIC.values()
    items = [f"  - {what}: {fmt_least(value, kind)} ({why})" for value, kind, what, why in entries]
    return "\n".join([
        "- **Smallest effect of interest.** Common random numbers make paired intervals narrow, so an "
        "effect can exclude zero beyond doubt and still be too small to matter (and a value that would "
        "read as zero at a table's precision is shown with more digits, so that a tiny effect cannot pass "
        "for none). Every test names the smallest effect it counts (the tables' ± column), by kind of "
        "metric or for the metric itself:",
        *items,
        f"  - a gap after dismantling (claim 6): a tenth ({GAP_LEFT:g}) of its size just before, or its "
        "metric's own if larger (the claim is that the gap stays, not that a trace of it does)."])


_INTERVAL = re.compile(r"\[[^\[\]|]+, [^\[\]|]+\]")  # "[lo, hi]" in a table cell


@dataclass
class Findings:
    """Every claim's section, and the sizes they were measured at."""

    population: int
    days: int
    replicates: int
    seed: int
    runs: int
    sections: list[Section]
    output: str = DEFAULT_OUTPUT  # the path the page was written to, as the user gave it

    @property
    def command(self) -> str:
        return (f"scorestate findings -o {shlex.quote(self.output)} --population {self.population} "
                f"--days {self.days} --replicates {self.replicates} --seed {self.seed}")

    def horizon(self) -> str:
        """Why the number of days matters: the essay's listing wave comes late in its year."""
        text = ("- **Horizon.** The essay preset runs a year (365 days), and its score-based blacklisting "
                "comes late in it: scores must first fall below the listing threshold, and the listings "
                "climb mostly in the last months, after the smart-home phase. A shorter run stops before "
                "that wave and understates every blacklist measure (claims 3 and 5 above all).")
        if self.days < DEFAULT_DAYS:
            text += (f" This page ran {self.days} days, fewer than the essay's {DEFAULT_DAYS}: read its "
                     "blacklist numbers as a lower bound.")
        return text

    def intervals(self) -> tuple[int, int]:
        """How many confidence intervals the page's tables show, and how many results they give."""
        shown = tests = 0
        for s in self.sections:
            results = False  # whether the table being read has a result column
            for line in s.blocks:
                if not line.startswith("|"):
                    results = False
                elif "[95% CI]" in line:  # a table's head
                    results = line.endswith("| result |")
                elif not line.startswith("|---"):
                    shown += len(_INTERVAL.findall(line))
                    cell = line.rstrip(" |").rsplit(" | ", 1)[-1]
                    tests += len(cell.split(", ")) if results and cell != "-" else 0
        return shown, tests

    def multiplicity(self) -> str:
        """What the page's many unadjusted intervals allow a reader to conclude."""
        shown, tests = self.intervals()
        return (f"- **Many intervals.** This page shows {shown} confidence intervals (95%, t, over "
                f"{self.replicates} seeds each), {tests} of them tests of a prediction, none adjusted for "
                "the others: where there is no effect, about one in twenty excludes zero by chance. "
                "*Supported* (every primary test holds) and a sweep's "
                "'at every value tried' are intersection-union tests, each part passing on its own, so they "
                "need no correction. *Partly supported*, *mixed* and a sweep's 'at a but not at b' rest on "
                "some tests among several holding, a union, which unadjusted intervals reach more often than "
                "one time in twenty: read one test that holds among several, or one value where a sweep's "
                "effect holds, as a lead to rerun with more seeds, not as a finding. 'At none of the values "
                "tried' says that no interval showed the effect, not that it is absent.")

    def markdown(self) -> str:
        lines = [
            "# Findings: the essay's claims as hypotheses, measured", "",
            f"<!-- Generated by `{self.command}` (scorestate {__version__}); do not edit by hand. -->", "",
            f"{self.population:,} synthetic citizens, {self.days} days, seeds {self.seed} to "
            f"{self.seed + self.replicates - 1} ({self.replicates} replicates per arm, {self.runs} runs).",
            "",
            "MODEL.md treats the essay's claims as the model's hypotheses. For each claim this page gives "
            "its metric, the effect of the policy against a reference policy, and a sweep of one key "
            "parameter showing where the effect holds or fails.", "",
            "- **Paired design.** Both arms of a comparison run on the same seeds, so they meet the same "
            "citizens, network and luck for every decision (common random numbers). An effect is the "
            "mean of the per-seed differences, with a 95% t-interval over the seeds.",
            smallest_note(),
            result_words(),
            self.multiplicity(),
            "- **What this is.** The model's answer under its assumptions (docs/ODD.md lists every "
            "parameter and its source), not an observation of any real society. Small populations and "
            "few replicates give wide intervals; rerun with more to narrow them.",
            self.horizon(), "",
            "| # | claim | verdict |", "|---|---|---|",
        ]
        lines += [f"| {s.number} | {s.title} | {s.verdict} |" for s in self.sections]
        lines.append("")
        for s in self.sections:
            lines += [f"## {s.number}. {s.title}", "", f"> {s.quote}", "", f"**Metric.** {s.metric}", "",
                      *s.blocks, "", f"**Verdict: {s.verdict}.** {s.text}", ""]
        lines += ["## Reproduce", "", "```", self.command, "```", ""]
        return "\n".join(lines)


def plan(lab: Lab, claims: Sequence[Claim] = CLAIMS) -> int:
    """How many runs the claims need at the lab's size."""
    return lab.count(a for claim in claims for a in claim.arms(lab))


def measure(population: int = DEFAULT_POPULATION, days: int = DEFAULT_DAYS,
            replicates: int = DEFAULT_REPLICATES, seed: int = 0,
            progress: Callable[[str], None] | None = None, claims: Sequence[Claim] = CLAIMS,
            on_plan: Callable[[int], None] | None = None, output: str = DEFAULT_OUTPUT) -> Findings:
    """Run every arm the claims need, then evaluate each claim; `output` is where the page will go
    (named in its header and its Reproduce block)."""
    check_sizes(population, days, replicates)
    lab = Lab(population, days, replicates, seed, progress)
    if on_plan is not None:
        on_plan(plan(lab, claims))
    for claim in claims:
        for arm in claim.arms(lab):
            lab.outcomes(arm)
    sections = [claim.evaluate(lab) for claim in claims]
    return Findings(population, days, replicates, seed, lab.runs, sections, output)


__all__ = ["CLAIMS", "Arm", "Effect", "Findings", "Lab", "measure", "paired", "plan", "resolve"]
