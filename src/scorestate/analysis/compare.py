"""Compare two policies on the same citizens with common random numbers (CRN).

Why paired runs: replicate k runs scenario A and scenario B with the same seed (seed + k), so
both meet the same synthetic citizens, the same network and the same draw for every decision
(the generator is keyed by seed, day, stream and citizen). The difference B - A is then the
policy's, citizen by citizen, and its variance over replicates is smaller than that of two
independent runs wherever the two policies' outcomes move together. That reduction is estimated
from the replicates rather than assumed: B is also run with independent seeds (seed + 10_000 + k)
and var(independent differences) / var(paired differences) is reported per metric. A metric
constant under one policy (the blacklist share under `baseline`) gets none: B - A then varies
with the other side alone, the true ratio is 1 and an estimate of it is noise. A variance within
round-off of zero counts as zero, and `variance_reduction_status` says why a ratio is infinite
or missing (see REDUCTION_STATUS).

A ratio of two variances from R replicates is wide: each has R - 1 degrees of freedom, so from 5
replicates its 95% range spans about ×/÷9.6 (an F(4, 4) quantile, were the two independent;
they share A's runs). Each measured ratio, and the median over metrics, gets an approximate 95%
range from a percentile bootstrap over replicates: the (A, B, independent B) triples are
resampled together, with a fixed seed so the same runs always print the same range. Below
BOOTSTRAP_FROM replicates there are too few distinct resamples for one, and below ROUGH_BELOW a
note says how wide a ratio is.

What differs for whom is read from replicate 0's final state: citizens listed under one policy
and not the other, wallets frozen, rail or flight closed to them, counted by group. That reading
needs both policies to meet the same people: the scenarios' SOCIETY sections, which build the
citizens and their ties, are compared field by field, and a note names the fields that differ.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from scorestate.engine import Simulation, frame_shape
from scorestate.errors import ScorestateError, not_a_scenario
from scorestate.ledger import discard
from scorestate.metrics import HEADLINE
from scorestate.scenario.schema import Scenario
from scorestate.vocabulary import GROUPINGS, SV_ESSENTIALS, SV_FLIGHT, SV_RAIL

INDEPENDENT_OFFSET = 10_000  # independent seeds: seed + INDEPENDENT_OFFSET + k
TRAVEL_BITS = np.uint16((1 << SV_RAIL) | (1 << SV_FLIGHT))
FATES = {
    "blacklisted": "on the blacklist on the last day",
    "wallet_frozen": "wallet shut at the end of the last day",
    "travel_denied": "rail or flight closed to them at the end of the last day",
}
# Metrics are shares and means over thousands of citizens: a real change (one citizen in a million)
# moves them by ~1e-6 of their size, while b - a and the variance's sums carry errors of a few
# ulps. So a spread below ROUNDOFF x the values' magnitude is arithmetic noise, not variance
# (-0.002 twice gave var 6e-36 and a 3e28x "reduction").
ROUNDOFF = 256 * float(np.finfo(np.float64).eps)
ROUGH_FACTOR = 2.0  # a ratio is called rough while its 95% range spans more than ×/÷ this
BOOTSTRAP_FROM = 5  # fewer replicates: too few distinct resamples (from 2, every one gives the same ratio)
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 2_718  # fixed: the same replicates give the same range, run after run
MAX_REPLICATES = 1_000  # each is 3 runs: beyond this a comparison takes hours for no real gain
# Rough end-to-end speed of one run (building, simulating, measuring) at the sizes compare and
# findings use, to tell a user how long the replicates asked for would take: order of magnitude only.
ROUGH_CITIZEN_DAYS_PER_S = 2e6
SOCIETY = ("population", "network")  # the sections that build the citizens and their ties
SHOWN_DIFFERENCES = 6  # fields a note names before it says "and N more"


def ratio_spread(replicates: int) -> float:
    """The factor (×/÷) that a 95% range of a ratio of two independent variances from this many
    replicates spans about the ratio: F(0.975; R - 1, R - 1)."""
    return float(stats.f.ppf(0.975, replicates - 1, replicates - 1))


ROUGH_BELOW = next(r for r in range(2, MAX_REPLICATES) if ratio_spread(r) <= ROUGH_FACTOR)  # 35
REDUCTION_STATUS = {
    "measured": "var(independent) / var(paired), both positive",
    "infinite": "the paired differences did not vary (up to round-off) while the independent did",
    "independent_constant": "the independent differences did not vary: no ratio is estimated",
    "both_constant": "neither the paired nor the independent differences varied",
    "one_side_constant": "A or B did not vary over the replicates (B - A did), so B - A varies with the "
                         "other side alone and pairing has nothing to cancel: the true ratio is 1, none "
                         "is estimated",
    "no_data": "fewer than two replicates gave the metric a value under both policies",
}
FATES_SCHEMA = {"fate": pl.String, "grouping": pl.String, "group": pl.String, "population": pl.Int64,
                "a_only": pl.Int64, "b_only": pl.Int64, "both": pl.Int64}


@dataclass
class Comparison:
    """Paired differences B - A over replicates, the fates that differ, and the CRN gain.

    `metrics` has one row per headline metric: the means under A and B and the paired
    difference's mean, standard error and 95% t interval, all over the `n` replicates with a value
    under both, and the variance reduction with its status (a key of REDUCTION_STATUS: the value
    is inf for "infinite", NaN unless "measured"). `fates` has one row per
    (fate, grouping, group): how many citizens had the fate only under A, only under B, under
    both, from replicate 0 alone. `replicates_frame` holds every replicate's value under A, B and
    independent B. `seed` is the first paired seed. `notes` says what limits the reading: citizens
    that differ between A and B (naming the fields), B's own seed ignored, or fewer than ROUGH_BELOW
    replicates. `variance_reduction_low`/`_high` and `median_variance_reduction_range` are
    approximate 95% ranges (a bootstrap over replicates), NaN where none is estimated.
    """

    a: str
    b: str
    replicates: int
    seed: int
    population: int
    days: int
    same_citizens: bool
    metrics: pl.DataFrame
    fates: pl.DataFrame
    replicates_frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    median_variance_reduction_range: tuple[float, float] = (math.nan, math.nan)

    def __repr__(self) -> str:
        """One line, as RunResult's: the default printed all three frames in full."""
        last = self.seed + self.replicates - 1
        return (f"Comparison(a={self.a!r}, b={self.b!r}, replicates={self.replicates}, "
                f"seeds={self.seed}..{last}, population={self.population:,}, days={self.days}, "
                f"same_citizens={self.same_citizens}, metrics={frame_shape(self.metrics)}, "
                f"fates={frame_shape(self.fates)}, replicates_frame={frame_shape(self.replicates_frame)}, "
                f"notes={len(self.notes)})")

    @property
    def median_variance_reduction(self) -> float:
        """The median over metrics of var(independent) / var(paired), where both are positive and
        both A and B varied (status "measured"; infinite and undefined reductions, and those of a
        metric constant under one policy, are left out)."""
        r = self.metrics["variance_reduction"].to_numpy()
        r = r[np.isfinite(r)]
        return float(np.median(r)) if r.size else float("nan")

    def metric(self, name: str) -> dict[str, Any]:
        """One metric's row as a dict (values None where undefined)."""
        rows = self.metrics.filter(pl.col("metric") == name).to_dicts()
        if not rows:
            raise ScorestateError(f"unknown metric '{name}'; expected one of: {', '.join(HEADLINE)}")
        return {k: _clean(v) for k, v in rows[0].items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: NaN and infinity become None.

        JSON has no infinity, so each metric's `variance_reduction_status` tells a null reduction
        apart: "infinite" (the pairing removed all variance) from "independent_constant",
        "both_constant", "one_side_constant" or "no_data" (undefined); see REDUCTION_STATUS. A
        null `variance_reduction_high` beside a number in `_low` is an infinite upper bound.
        """
        return {
            "a": self.a, "b": self.b, "replicates": self.replicates, "seed": self.seed,
            "seeds": [self.seed + k for k in range(self.replicates)],
            "independent_seeds": [self.seed + INDEPENDENT_OFFSET + k for k in range(self.replicates)],
            "population": self.population, "days": self.days,
            "same_citizens": self.same_citizens,
            "median_variance_reduction": _clean(self.median_variance_reduction),
            "median_variance_reduction_low": _clean(self.median_variance_reduction_range[0]),
            "median_variance_reduction_high": _clean(self.median_variance_reduction_range[1]),
            "metrics": [{k: _clean(v) for k, v in row.items()} for row in self.metrics.to_dicts()],
            "fates": [{k: _clean(v) for k, v in row.items()} for row in self.fates.to_dicts()],
            "notes": list(self.notes),
        }


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _with_seed(scenario: Scenario, seed: int) -> Scenario:
    return scenario.model_copy(update={"run": scenario.run.model_copy(update={"seed": seed})})


def _run(scenario: Scenario, seed: int, graph: object | None) -> Simulation:
    """Run to the last day, keeping the final state; the ledger is not kept (not needed)."""
    sim = Simulation(_with_seed(scenario, seed), graph=graph, ledger_sink=discard)
    sim.run()
    return sim


def _final(sim: Simulation) -> dict[str, float]:
    result = sim.result()
    return {k: (float("nan") if v is None else float(v)) for k, v in result.final.items()}


def check(a: Scenario, b: Scenario, replicates: int, seed: int | None = None) -> int:
    """Refuse what cannot be paired, before any run, so a caller can validate up front; return
    the first seed (`seed`, or A's `run.seed` when it is None)."""
    _check_scenarios(a, b)
    name = "seed" if seed is not None else "seed (by default A's run.seed)"
    seed = a.run.seed if seed is None else seed
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise ScorestateError(f"replicates must be an integer of at least 2 (a confidence interval "
                              f"and a variance need two); got {replicates!r}")
    if replicates > MAX_REPLICATES:
        raise ScorestateError(f"replicates must be at most {MAX_REPLICATES:,}; got {replicates:,}. "
                              + over_cap(replicates, 3, a.population.size, a.run.days)
                              + f"; expected from 2 to {MAX_REPLICATES:,}")
    top = 2**63 - INDEPENDENT_OFFSET - replicates
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < top:
        raise ScorestateError(f"{name} must be an integer from 0 to {top - 1} (independent seeds add "
                              f"{INDEPENDENT_OFFSET} + replicate); got {seed!r}")
    if a.population.size != b.population.size:
        raise ScorestateError(f"compare needs the same citizens under both policies; population.size is "
                              f"{a.population.size} under A and {b.population.size} under B; expected "
                              f"one population.size for both")
    if a.run.days != b.run.days:
        raise ScorestateError(f"compare reads both runs on the same last day; run.days is {a.run.days} "
                              f"under A and {b.run.days} under B; expected one run.days for both")
    return seed


LONG_S = 3600  # a refused replicate count says how long it would take from this long on


def over_cap(replicates: int, runs: int, population: int, days: int) -> str:
    """Why a replicate count is refused: the cap is fixed, whatever the runs' size (beyond it an
    interval narrows by little). How long it would take is said only where that is long: a few
    seconds quoted as the reason read as a contradiction."""
    why = "The cap is a fixed limit, whatever the size of the runs: beyond it an interval narrows by little"
    per = rough_seconds(runs, population, days)
    if per * replicates < LONG_S:
        return why
    return (f"{why}, and each replicate is {runs} runs of {population:,} citizens for {days:,} days "
            f"(at a rough guess, {rough_duration(per)}), so {replicates:,} would take "
            f"{rough_duration(per * replicates)}")


def rough_seconds(runs: int, population: int, days: int) -> float:
    """How long `runs` runs of this size take, roughly (order of magnitude, not a promise)."""
    return runs * population * days / ROUGH_CITIZEN_DAYS_PER_S


def rough_duration(seconds: float) -> str:
    """A duration in words a user can weigh: "about 2 s", "about 3 h", "about 40 years"."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:,.0f} {unit}"
    return "under a second" if seconds < 1 else f"about {seconds:.0f} s"


def _check_scenarios(a: object, b: object) -> None:
    """Refuse what is not a loaded Scenario (a preset's name, say) before it is read."""
    for side, scenario in (("A", a), ("B", b)):
        if not isinstance(scenario, Scenario):
            raise ScorestateError(f"compare's {side}: " + str(not_a_scenario(
                scenario, "ss.compare(ss.load_scenario({name!r}), ...)")))


def society_differences(a: Scenario, b: Scenario) -> list[str]:
    """The fields of the SOCIETY sections in which A and B differ, as `path (A value, B value)`:
    with the same seed, the same sections build the same citizens and ties (and others do not)."""
    return [f"{section}.{path} ({x!r} under A, {y!r} under B)" for section in SOCIETY
            for path, x, y in _differing(getattr(a, section).model_dump(mode="json"),
                                         getattr(b, section).model_dump(mode="json"))]


def _differing(x: Any, y: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, x value, y value) of each leaf where two JSON-like values differ."""
    if isinstance(x, dict) and isinstance(y, dict):
        keys = [*x, *(k for k in y if k not in x)]
        return [d for k in keys
                for d in _differing(x.get(k), y.get(k), f"{path}.{k}" if path else str(k))]
    return [] if x == y else [(path, x, y)]


def _society_note(differences: list[str]) -> str:
    shown = "; ".join(differences[:SHOWN_DIFFERENCES])
    more = len(differences) - SHOWN_DIFFERENCES
    return ("the two scenarios build different citizens or ties: they differ in " + shown
            + (f"; and {more} more field{'s' * (more > 1)}" if more > 0 else "")
            + ". So the fates compare different people and the pairing gains less")


def _seed_note(a: Scenario, b: Scenario, seed: int, replicates: int) -> str:
    """B's own seed is never used (both sides share seeds): said, since it was set for a reason."""
    return (f"B's run.seed ({b.run.seed}) differs from A's ({a.run.seed}) and was ignored: both "
            f"policies run on the same seeds, {seed} to {seed + replicates - 1} (from seed=, or A's "
            f"run.seed without it)")


def _rough_note(replicates: int) -> str:
    """How wide a ratio from this many replicates is, and what the ranges shown are worth."""
    dof = replicates - 1
    ranges = (f"the 95% ranges shown are a bootstrap over the {replicates} replicates, approximate and "
              f"if anything too narrow" if replicates >= BOOTSTRAP_FROM else
              f"no range is shown: fewer than {BOOTSTRAP_FROM} replicates give a bootstrap too few "
              f"distinct resamples")
    return (f"from {replicates} replicates the variance reductions are rough: each is a ratio of two "
            f"variances with {dof} degree{'s' * (dof != 1)} of freedom, whose 95% range spans about "
            f"×/÷{ratio_spread(replicates):.3g} (F({dof}, {dof}), were the two independent); {ranges}. "
            f"It takes {ROUGH_BELOW} replicates to narrow that to ×/÷{ROUGH_FACTOR:g}")


def _fate_masks(sim: Simulation) -> dict[str, np.ndarray]:
    s = sim.state
    return {
        "blacklisted": s.blacklisted.copy(),
        "wallet_frozen": (s.denied & np.uint16(1 << SV_ESSENTIALS)) != 0,
        "travel_denied": (s.denied & TRAVEL_BITS) != 0,
    }


def _group_codes(sim: Simulation) -> dict[str, np.ndarray]:
    c = sim.citizens
    return {
        "settlement": c.urban.astype(np.int64),
        "education": c.education.astype(np.int64),
        "income_quintile": c.quintile.astype(np.int64) - 1,
        "official_rank": c.rank.astype(np.int64),
    }


def fates_frame(sim_a: Simulation, sim_b: Simulation) -> pl.DataFrame:
    """Citizens whose fate differs between A and B, by group (needs the same citizens)."""
    fa, fb = _fate_masks(sim_a), _fate_masks(sim_b)
    codes = _group_codes(sim_a)
    rows: list[dict[str, Any]] = []
    for fate in FATES:
        a_only = fa[fate] & ~fb[fate]
        b_only = fb[fate] & ~fa[fate]
        both = fa[fate] & fb[fate]
        groups: list[tuple[str, str, np.ndarray]] = [("all", "all", np.ones(sim_a.n, np.bool_))]
        for grouping, names in GROUPINGS.items():
            for k, name in enumerate(names):
                groups.append((grouping, name, codes[grouping] == k))
        for grouping, name, member in groups:
            rows.append({
                "fate": fate, "grouping": grouping, "group": name,
                "population": int(member.sum()),
                "a_only": int((a_only & member).sum()), "b_only": int((b_only & member).sum()),
                "both": int((both & member).sum()),
            })
    return pl.DataFrame(rows, schema=FATES_SCHEMA)


def fates_frame_empty() -> pl.DataFrame:
    return pl.DataFrame([], schema=FATES_SCHEMA)


def _variance(d: np.ndarray, scale: float) -> float:
    """Sample variance, 0.0 where the spread is round-off next to `scale` (see ROUNDOFF)."""
    if d.size < 2:
        return float("nan")
    v = float(d.var(ddof=1))
    return 0.0 if v <= (ROUNDOFF * scale) ** 2 else v


def _scale(*arrays: np.ndarray) -> float:
    """The largest magnitude among the values a difference was taken from (0.0 if none)."""
    return max((float(np.abs(x).max()) for x in arrays if x.size), default=0.0)


def _reduction(var_p: float, var_i: float, one_side_constant: bool = False) -> tuple[float, str]:
    """var_i / var_p and its REDUCTION_STATUS key; a zero variance gives no finite ratio, and
    neither does a side that did not vary (its ratio is 1 in truth; an estimate is noise)."""
    if math.isnan(var_p) or math.isnan(var_i):
        return float("nan"), "no_data"
    if var_p == 0.0:  # A and B moved together exactly (or both stood still): said as it is
        return (float("nan"), "both_constant") if var_i == 0.0 else (math.inf, "infinite")
    if one_side_constant:
        return float("nan"), "one_side_constant"
    if var_i == 0.0:
        return float("nan"), "independent_constant"
    return var_i / var_p, "measured"


@functools.lru_cache(maxsize=4)
def _resamples(replicates: int) -> np.ndarray:
    """BOOTSTRAP_RESAMPLES rows of replicate indices drawn with replacement, from a fixed seed."""
    rows = np.random.default_rng(BOOTSTRAP_SEED).integers(0, replicates, (BOOTSTRAP_RESAMPLES, replicates))
    rows.setflags(write=False)  # shared by every metric of every comparison of this size
    return rows


def _resampled_variances(d: np.ndarray, scale: float) -> np.ndarray:
    """The sample variance of d's finite values in each resample (as `_variance`: NaN from fewer
    than two, 0.0 within round-off of zero)."""
    x = d[_resamples(d.size)]
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    x = np.where(ok, x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = x.sum(axis=1) / n
        v = (np.where(ok, x - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1)
    v[n < 2] = np.nan
    v[v <= (ROUNDOFF * scale) ** 2] = 0.0
    return v


def resampled_reductions(a: np.ndarray, b: np.ndarray, b_ind: np.ndarray) -> np.ndarray:
    """var(B_ind - A) / var(B - A) in each bootstrap resample of the replicates' (A, B, B_ind)
    triples, kept together since both variances use the same A runs: inf where only the paired
    variance is 0, NaN where neither varied (one replicate drawn R times)."""
    ok, ok_i = np.isfinite(b - a), np.isfinite(b_ind - a)
    var_p = _resampled_variances(b - a, _scale(a[ok], b[ok]))
    var_i = _resampled_variances(b_ind - a, _scale(a[ok_i], b_ind[ok_i]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return var_i / var_p


def percentile_range(draws: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the defined draws (NaN, NaN if most are undefined);
    no interpolation, so an infinite draw gives an infinite bound rather than NaN."""
    draws = draws[~np.isnan(draws)]
    if draws.size < BOOTSTRAP_RESAMPLES // 2:
        return math.nan, math.nan
    low, high = np.quantile(draws, [0.025, 0.975], method="inverted_cdf")
    return float(low), float(high)


def _reduction_range(a: np.ndarray, b: np.ndarray, b_ind: np.ndarray, status: str) -> tuple[float, float]:
    """An approximate 95% range of a measured variance reduction; NaN, NaN otherwise, and where
    fewer than BOOTSTRAP_FROM replicates gave either difference a value."""
    given = min(np.isfinite(b - a).sum(), np.isfinite(b_ind - a).sum())
    if status != "measured" or given < BOOTSTRAP_FROM:
        return math.nan, math.nan
    return percentile_range(resampled_reductions(a, b, b_ind))


def _median_range(arrays: dict[str, dict[str, np.ndarray]], measured: list[str]) -> tuple[float, float]:
    """An approximate 95% range of the median over the measured metrics: in each resample (the same
    replicates for every metric), the median of their ratios."""
    if not measured or next(iter(arrays.values()))["a"].size < BOOTSTRAP_FROM:
        return math.nan, math.nan
    draws = np.column_stack([resampled_reductions(arrays[m]["a"], arrays[m]["b"], arrays[m]["b_independent"])
                             for m in measured])
    defined = ~np.isnan(draws).all(axis=1)
    medians = np.full(draws.shape[0], math.nan)
    medians[defined] = np.nanmedian(draws[defined], axis=1)
    return percentile_range(medians)


def _summary(a: np.ndarray, b: np.ndarray, b_ind: np.ndarray) -> dict[str, float | int | str]:
    """Mean, SE and 95% t interval (n - 1 degrees of freedom) of the paired differences over the n
    replicates that gave the metric a value under both A and B; the CRN variance reduction."""
    ok = np.isfinite(b - a)
    d = (b - a)[ok]
    n = int(d.size)
    nan = float("nan")
    mean = float(d.mean()) if n else nan
    var_p = _variance(d, _scale(a[ok], b[ok]))
    se = math.sqrt(var_p / n) if n >= 2 else nan
    half = float(stats.t.ppf(0.975, n - 1)) * se if se > 0 else (0.0 if se == 0.0 else nan)
    ok_i = np.isfinite(b_ind - a)
    var_i = _variance((b_ind - a)[ok_i], _scale(a[ok_i], b_ind[ok_i]))
    constant = any(_variance(x[ok], _scale(x[ok])) == 0.0 for x in (a, b))
    reduction, status = _reduction(var_p, var_i, constant)
    low, high = _reduction_range(a, b, b_ind, status)
    return {  # both means over the pairs the difference uses, so that b_mean - a_mean is its mean
        "a_mean": float(a[ok].mean()) if n else nan,
        "b_mean": float(b[ok].mean()) if n else nan,
        "difference": mean, "se": se, "ci_low": mean - half, "ci_high": mean + half, "n": n,
        "var_paired": var_p, "var_independent": var_i, "variance_reduction": reduction,
        "variance_reduction_low": low, "variance_reduction_high": high,
        "variance_reduction_status": status,
    }


def compare(a: Scenario, b: Scenario, replicates: int = 5, seed: int | None = None, *,
            graph: object | None = None,
            progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run A and B on seeds seed..seed+R-1 (paired) and B on independent seeds; compare.

    `seed` defaults to scenario A's own `run.seed` (as `load_scenario(..., seed=S)` set it), so
    replicate 0 is the run `simulate(a)` makes; B's `run.seed` is not used (both sides share seeds:
    a note says so where it differs from A's).

    For each headline metric of the last day: the paired difference B - A with its mean,
    standard error and 95% t confidence interval over replicates, and var(independent) /
    var(paired) as the measured variance reduction of common random numbers. `progress(done,
    total)` is called after each of the 3 x R runs. Identical scenarios give differences of
    exactly 0.0 (same seed, same scenario: bit-identical runs). `graph`: a networkx graph both
    policies run on, as `simulate(..., graph=G)` takes it.
    """
    seed = check(a, b, replicates, seed)
    total = 3 * replicates
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    values: dict[str, list[dict[str, float]]] = {"a": [], "b": [], "b_independent": []}
    fates = fates_frame_empty()
    differences: list[str] = []
    for k in range(replicates):
        sim_a = _run(a, seed + k, graph)
        tick()
        sim_b = _run(b, seed + k, graph)
        tick()
        values["a"].append(_final(sim_a))
        values["b"].append(_final(sim_b))
        if k == 0:
            if sim_a.n != sim_b.n:
                raise ScorestateError(f"compare needs the same citizens under both policies; A has "
                                      f"{sim_a.n} citizens and B {sim_b.n} (different networks?); "
                                      f"expected the same number under both")
            differences = society_differences(sim_a.scenario, sim_b.scenario)
            fates = fates_frame(sim_a, sim_b)
            population = sim_a.n
        del sim_a, sim_b
        sim_i = _run(b, seed + INDEPENDENT_OFFSET + k, graph)
        values["b_independent"].append(_final(sim_i))
        del sim_i
        tick()

    arrays = {metric: {side: np.array([v[metric] for v in vals]) for side, vals in values.items()}
              for metric in HEADLINE}
    metrics = pl.DataFrame([{"metric": m, **_summary(x["a"], x["b"], x["b_independent"])}
                            for m, x in arrays.items()])
    measured = metrics.filter(pl.col("variance_reduction_status") == "measured")["metric"].to_list()
    replicates_frame = pl.DataFrame([
        {"replicate": k, "metric": metric, "a": values["a"][k][metric], "b": values["b"][k][metric],
         "b_independent": values["b_independent"][k][metric]}
        for k in range(replicates) for metric in HEADLINE
    ])
    notes = [_society_note(differences)] if differences else []
    if b.run.seed != a.run.seed:
        notes.append(_seed_note(a, b, seed, replicates))
    if replicates < ROUGH_BELOW:
        notes.append(_rough_note(replicates))
    return Comparison(a=a.name, b=b.name, replicates=replicates, seed=seed,
                      population=population, days=a.run.days, same_citizens=not differences,
                      metrics=metrics, fates=fates, replicates_frame=replicates_frame, notes=notes,
                      median_variance_reduction_range=_median_range(arrays, measured))


__all__ = ["BOOTSTRAP_FROM", "FATES", "INDEPENDENT_OFFSET", "REDUCTION_STATUS", "ROUGH_BELOW", "ROUNDOFF",
           "SOCIETY", "Comparison", "check", "compare", "fates_frame", "percentile_range", "ratio_spread",
           "resampled_reductions", "society_differences"]
