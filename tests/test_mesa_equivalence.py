"""The fast engine computes the model: its metrics agree with an independent Mesa implementation.

`benchmarks/mesa_reference.py` writes the same day plainly in Mesa 3, one Python object per
citizen, with its own random draws. Both run the same scenario (the essay preset without the
mechanisms the reference leaves out, with a short dose interval and tighter blacklist rules so
doses, refusals, listings, exits, gates, association and tie dropping all happen within a
short run) on the same day-0 society for each seed. Per seed and metric the statistic is the
metric's mean over the days after a burn-in; the engine-minus-Mesa differences are paired by
seed and must pass a two-sided paired t-test at a fixed significance.

The compared scenario also raises the surveillance errors (camera misattribution, false matches,
classifier false positives) above the essay's rates so that they happen often enough in a small
population to be compared, and the metrics include the rates of every act (with their latent
rates), observed penalties, false attributions, misattributions, tier shares, and the uses and
denials of the gated services one by one, so that a mechanism that only moves one of those is
still compared.

The test can fail: `test_comparison_detects_a_different_model` runs the same check against a
Mesa model with deterrence switched off and requires it to be rejected, and
`test_comparison_detects_a_wrong_mechanism` does the same for Mesa models with one mechanism
wrong (no misattribution, no classifier false positives, a gate that lets the listed travel by
rail, a known block that does not deter, rail taken alike in town and country, public services
alike by income, shopping alike at every age), each required to be rejected on the metric it
moves.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from scorestate.engine import simulate

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ lives at the repository root, beside tests/
    sys.path.insert(0, str(ROOT))
from benchmarks.mesa_reference import reference_scenario, run_reference  # noqa: E402

POPULATION, DAYS, BURN_IN = 300, 60, 20
SEEDS = range(40)
ALPHA = 0.001  # per metric, two-sided
# Make every compared mechanism busy within 60 days (numbers chosen for the test: assumed).
# The surveillance errors are raised well above the essay's rates so that misattributions,
# false matches and false positives happen often enough in 300 citizens to be compared.
BUSY: dict[str, Any] = {
    "behaviour.dose_interval_days": 30,
    "behaviour.dose_refusal_days": 10,
    "behaviour.dose_grace_days": 5,
    "policy.blacklist.entry.score": "score < 850",
    "policy.blacklist.exit": "days_listed >= 15 and corrections >= 2 and health_compliant and score >= 850",
    "policy.surveillance.camera_misattribution": 0.2,
    "policy.surveillance.camera_false_match": 1e-3,
    "policy.surveillance.platform_false_positive": 1e-3,
    # demographic terms in the logits, which every preset leaves at 0
    "behaviour.infraction.urban": 1.0,
    "behaviour.alcohol.income": 0.4,
    "behaviour.dissent.age": -0.3,
    "behaviour.health_dose.age": 0.3,
    # services by demographic group (1 in every preset) and a known block that deters
    "behaviour.services.demand.rail.urban": 2.0,
    "behaviour.services.demand.rail.while_shut": 0.5,
    "behaviour.services.demand.public_services.income": 1.5,
    "behaviour.services.demand.retail.age": 0.8,
}
METRICS = ("blacklist_share", "blacklist_inflow", "blacklist_outflow", "wallet_frozen_share",
           "denied_share", "health_dose_rate", "health_dose_latent_rate", "health_compliance_rate",
           "alcohol_rate", "alcohol_latent_rate", "tobacco_rate", "tobacco_latent_rate",
           "gaming_rate", "gaming_latent_rate", "infraction_rate", "infraction_latent_rate",
           "apology_rate", "apology_latent_rate", "dissent_rate", "dissent_latent_rate",
           "observed_penalties", "false_attributions", "misattributions", "penalised_share",
           "score_mean", "tier_share_C", "tier_share_B", "tier_share_A", "tier_share_AAA",
           "approval_mean", "perceived_mean", "grievance_mean", "mean_degree", "ties_dropped",
           "ties_made", "rewards_received", "denied_essentials", "denied_retail", "denied_rail",
           "denied_welfare", "denied_pension", "denied_public_services", "used_essentials",
           "used_alcohol", "used_retail", "used_rail", "used_flight", "used_public_services",
           "used_welfare", "used_pension")


def summaries(seeds: range, mesa_overrides: dict[str, Any] | None = None, *,
              metrics: tuple[str, ...] = METRICS, scenario: dict[str, Any] = BUSY, days: int = DAYS,
              burn_in: int = BURN_IN) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per metric, one value per seed (mean over the days after burn-in) for each implementation."""
    engine: dict[str, list[float]] = {m: [] for m in metrics}
    mesa: dict[str, list[float]] = {m: [] for m in metrics}
    for seed in seeds:
        ours = simulate(reference_scenario(POPULATION, days, seed, scenario)).metrics
        reference = run_reference(reference_scenario(POPULATION, days, seed,
                                                     {**scenario, **(mesa_overrides or {})}))
        assert [day["day"] for day in reference] == list(range(days))  # day 0 on, after any warm-up
        for m in metrics:
            engine[m].append(float(ours[m][burn_in:].mean()))
            mesa[m].append(float(np.mean([day[m] for day in reference[burn_in:]])))
    return ({m: np.array(v) for m, v in engine.items()}, {m: np.array(v) for m, v in mesa.items()})


def paired_t(a: np.ndarray, b: np.ndarray) -> float:
    """t statistic of the paired differences; 0 when both agree exactly, inf when a constant gap."""
    d = a - b
    sd = d.std(ddof=1)
    if sd == 0:
        return 0.0 if d.mean() == 0 else float("inf")
    return float(d.mean() / (sd / np.sqrt(d.shape[0])))


def critical(n_seeds: int) -> float:
    return float(stats.t.ppf(1 - ALPHA / 2, n_seeds - 1))


@pytest.fixture(scope="module")
def agreeing() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return summaries(SEEDS)


def test_the_comparison_exercises_every_compared_mechanism(
        agreeing: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]) -> None:
    engine, _ = agreeing
    busy = {"blacklist_share": 0.02, "blacklist_inflow": 0.05, "blacklist_outflow": 0.05,
            "wallet_frozen_share": 0.001, "denied_share": 0.001, "health_dose_rate": 0.005,
            "penalised_share": 0.01, "tier_share_C": 0.02, "ties_dropped": 0.2, "ties_made": 0.2,
            "rewards_received": 0.05, "misattributions": 0.05, "false_attributions": 0.2,
            "denied_rail": 0.2}
    idle = {m: float(engine[m].mean()) for m, floor in busy.items() if engine[m].mean() < floor}
    assert not idle, f"mechanisms barely at work in the comparison scenario: {idle}"


@pytest.mark.parametrize("metric", METRICS)
def test_engine_and_mesa_agree(metric: str,
                               agreeing: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]) -> None:
    engine, mesa = agreeing
    t = paired_t(engine[metric], mesa[metric])
    assert abs(t) <= critical(len(SEEDS)), (
        f"{metric}: engine mean {engine[metric].mean():.6g}, Mesa mean {mesa[metric].mean():.6g}, "
        f"paired t = {t:.2f} over {len(SEEDS)} seeds (critical {critical(len(SEEDS)):.2f})")


def test_comparison_detects_a_different_model() -> None:
    """Without deterrence in the Mesa model, the same test must see the difference."""
    seeds = range(100, 108)
    engine, mesa = summaries(seeds, {"behaviour.deterrence": 0.0})
    rejected = [m for m in METRICS if abs(paired_t(engine[m], mesa[m])) > critical(len(seeds))]
    assert "dissent_rate" in rejected
    assert "perceived_mean" in rejected
    # latent (would-have) dissent does not involve deterrence, so it must still agree
    assert "dissent_latent_rate" not in rejected


# Wrong mechanisms in the Mesa model, each of which the comparison must see in the metric it
# moves: the surveillance errors and the gates are compared, not only the headline rates.
WRONG_MODELS: dict[str, tuple[dict[str, Any], str]] = {
    "cameras never misattribute": ({"policy.surveillance.camera_misattribution": 0.0},
                                   "misattributions"),
    "no classifier false positives": ({"policy.surveillance.platform_false_positive": 0.0},
                                      "false_attributions"),
    "rail open to the listed": ({"policy.gates.travel.services": ["flight"]}, "denied_rail"),
    "city dwellers infringe no more": ({"behaviour.infraction.urban": 0.0}, "infraction_rate"),
    "a known block does not deter": ({"behaviour.services.demand.rail.while_shut": 1.0}, "denied_rail"),
    "rail alike in town and country": ({"behaviour.services.demand.rail.urban": 1.0}, "denied_rail"),
    "public services alike by income": ({"behaviour.services.demand.public_services.income": 1.0},
                                        "used_public_services"),
    "shopping alike at every age": ({"behaviour.services.demand.retail.age": 1.0}, "used_retail"),
}


@pytest.mark.parametrize("wrong", WRONG_MODELS)
def test_comparison_detects_a_wrong_mechanism(wrong: str) -> None:
    overrides, metric = WRONG_MODELS[wrong]
    seeds = range(200, 216)
    engine, mesa = summaries(seeds, overrides)
    t = paired_t(engine[metric], mesa[metric])
    assert abs(t) > critical(len(seeds)), (
        f"{wrong}: {metric} engine mean {engine[metric].mean():.6g}, Mesa mean "
        f"{mesa[metric].mean():.6g}, paired t = {t:.2f} (critical {critical(len(seeds)):.2f})")


# A warm-up (`run.warm_up_days`): both implementations live the days before day 0 unrecorded,
# and their first days agree; a Mesa model that skips the warm-up must be told apart.
WARM = {**BUSY, "run.warm_up_days": 30}
WARM_DAYS = 10
WARM_METRICS = ("blacklist_share", "score_mean", "tier_share_C", "tier_share_B", "approval_mean",
                "perceived_mean", "grievance_mean", "mean_degree", "health_compliance_rate")


def warm_summaries(seeds: range, mesa_overrides: dict[str, Any] | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per metric, each implementation's mean over the run's days (all after the warm-up)."""
    return summaries(seeds, mesa_overrides, metrics=WARM_METRICS, scenario=WARM, days=WARM_DAYS,
                     burn_in=0)


def test_engine_and_mesa_agree_after_a_warm_up() -> None:
    seeds = range(300, 320)
    engine, mesa = warm_summaries(seeds)
    assert engine["blacklist_share"].mean() > 0.02  # the warm-up listed people before day 0
    disagree = {m: round(paired_t(engine[m], mesa[m]), 2) for m in WARM_METRICS
                if abs(paired_t(engine[m], mesa[m])) > critical(len(seeds))}
    assert not disagree, f"paired t beyond {critical(len(seeds)):.2f}: {disagree}"
    _, cold = warm_summaries(seeds, {"run.warm_up_days": 0})  # a Mesa model without the warm-up
    assert abs(paired_t(engine["blacklist_share"], cold["blacklist_share"])) > critical(len(seeds))
