"""Whole runs: the directions the essay's mechanisms push a society, and reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import scorestate as ss
from conftest import small_run
from scorestate import engine

DAYS = 300  # the essay's phases begin on days 0, 30 and 180


def late(result, column: str, start: int = 200) -> float:
    return float(result.metrics[column][start:].mean())


def test_essay_against_baseline_on_the_same_seed():
    essay = small_run("essay", days=DAYS)
    base = small_run("baseline", days=DAYS)
    # drinking and expressed dissent fall ...
    assert late(essay, "alcohol_rate") < late(base, "alcohol_rate")
    assert late(essay, "dissent_rate") < 0.8 * late(base, "dissent_rate")
    # ... while what people would have done does not
    assert late(essay, "alcohol_latent_rate") >= 0.97 * late(base, "alcohol_latent_rate")
    assert late(essay, "dissent_latent_rate") >= 0.97 * late(base, "dissent_latent_rate")
    # the system lists people, shuts wallets and denies services; the baseline does none of it
    assert essay.metrics["blacklist_share"].max() > 0
    assert essay.metrics["denied_share"].sum() > 0
    assert base.metrics["blacklist_share"].max() == 0 and base.metrics["denied_share"].sum() == 0
    # baseline approval only reverts to its initial level
    assert abs(base.final["approval_mean"] - base.metrics["approval_mean"][0]) < 0.01


def test_association_scoring_raises_score_assortativity():
    on = small_run("essay", days=DAYS)
    off = small_run("essay", {"timeline.phases.0.set.policy.association.penalty": 0,
                              "timeline.phases.0.set.policy.association.drop_rate": 0,
                              "timeline.phases.0.set.policy.association.seek_rate": 0}, days=DAYS)
    assert late(on, "score_assortativity") > late(off, "score_assortativity") + 0.05


def test_dismantling_stops_new_sanctions():
    r = small_run("essay", {"timeline.dismantle_day": 200}, days=260)
    after = r.metrics.filter(pl.col("day") >= 200)
    before = r.metrics.filter(pl.col("day") < 200)
    assert before["blacklist_share"].max() > 0 and before["observed_penalties"].sum() > 0
    assert after["policy_enabled"].max() == 0
    for col in ("blacklist_share", "blacklist_inflow", "observed_penalties", "false_attributions",
                "denied_share", "wallet_frozen_share"):
        assert after[col].sum() == 0, col
    # perceived detection decays only slowly: the chill outlives the system for a while
    assert after["perceived_mean"][0] > after["perceived_mean"][-1]
    assert after["dissent_rate"].sum() < after["dissent_latent_rate"].sum()
    early, late_ = after["perceived_mean"][:20].mean(), after["perceived_mean"][-20:].mean()
    assert late_ < early


def test_same_seed_gives_bit_identical_results_and_another_seed_does_not():
    s = ss.load_scenario("essay", population=1500, days=60, seed=11)
    a, b = ss.simulate(s), ss.simulate(s)
    assert a.metrics.equals(b.metrics) and a.group_metrics.equals(b.group_metrics)
    assert a.ledger.equals(b.ledger)
    c = ss.simulate(ss.load_scenario("essay", population=1500, days=60, seed=12))
    assert not a.metrics.equals(c.metrics)


def test_common_random_numbers_give_the_same_citizen_the_same_luck():
    """A policy that changes nothing about drinking leaves every citizen's drinking as it was."""
    a = ss.Simulation(ss.load_scenario("baseline", population=2000, days=30, seed=5))
    b = ss.Simulation(ss.load_scenario("baseline", {"policy.enabled": True,
                                                    "policy.gates.travel": {"services": ["rail"],
                                                                            "condition": "true"}},
                                       population=2000, days=30, seed=5))
    for _ in range(30):
        a.step()
        b.step()
        assert np.array_equal(a.state.acts, b.state.acts)


def test_results_do_not_depend_on_the_thread_count(tmp_path: Path):
    script = (
        "import sys, scorestate as ss\n"
        "s = ss.load_scenario('essay', population=40000, days=40, seed=3)\n"
        "ss.simulate(s).metrics.write_parquet(sys.argv[1])\n"
    )
    frames = []
    for threads in ("1", "2"):
        out = tmp_path / f"m{threads}.parquet"
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        frames.append(pl.read_parquet(out))
    assert frames[0].equals(frames[1])


def test_step_by_step_equals_run_and_state_is_readable_between_days():
    s = ss.load_scenario("essay", population=1000, days=40, seed=2)
    sim = ss.Simulation(s)
    means = []
    for _ in range(40):
        sim.step()
        means.append(float(sim.state.score.mean(dtype=np.float64)))
    stepped = sim.result()
    whole = ss.simulate(s)
    assert stepped.metrics.equals(whole.metrics)
    assert np.allclose(means, stepped.metrics["score_mean"].to_numpy())
    with pytest.raises(ss.ScorestateError, match="last day"):
        sim.step()


def test_state_arrays_cannot_be_rebound():
    sim = ss.Simulation(ss.load_scenario("essay", population=100, days=2))
    with pytest.raises(AttributeError, match="write into it"):
        sim.state.score = np.zeros(100, np.float32)
    sim.state.score[:] = 500  # writing in place is how a dashboard or a test nudges the state


def test_invariant_checks_run_when_switched_on():
    r = ss.simulate(ss.load_scenario("essay", {"run.check_invariants": True}, population=800, days=40))
    assert r.days == 40


def test_a_run_ships_to_another_process():
    import pickle

    s = ss.load_scenario("essay", population=500, days=10, seed=4)
    assert pickle.loads(pickle.dumps(s)) == s
    r = ss.simulate(s)
    back = pickle.loads(pickle.dumps(r))
    assert back.metrics.equals(r.metrics)


def test_metrics_overall_and_by_group():
    r = small_run("essay", days=DAYS)
    m, g = r.metrics, r.group_metrics
    assert m.height == DAYS and m["day"].to_list() == list(range(DAYS))
    for col in ("score_gini", "tier_share_D", "blacklist_inflow_score", "denied_rail", "chilling",
                "innocent_blacklisted_share", "disparate_impact_rural_urban", "components",
                "mean_degree_AAA", "price_loan"):
        assert col in m.columns
    assert set(g["grouping"].unique()) == {"settlement", "education", "income_quintile", "official_rank"}
    day0 = g.filter(pl.col("day") == 0)
    for grouping in ("settlement", "education", "income_quintile", "official_rank"):
        assert day0.filter(pl.col("grouping") == grouping)["population"].sum() == 3000
    # Kostka 2019: approval higher among urban, educated and wealthier citizens at the start
    approval = {row["group"]: row["approval_mean"] for row in day0.iter_rows(named=True)}
    assert approval["urban"] > approval["rural"]
    assert approval["degree"] > approval["primary"]
    assert approval["q5"] > approval["q1"]
    shares = m.select(pl.sum_horizontal(pl.col("^tier_share_.*$")))
    assert np.allclose(shares.to_series().to_numpy(), 1.0)


def test_ledger_retention():
    full = small_run("essay", {"ledger.retention": "full"}, population=800, days=60)
    panel = small_run("essay", {"ledger.retention": "panel", "ledger.panel_size": 50},
                      population=800, days=60)
    sanctions = small_run("essay", {"ledger.retention": "sanctions"}, population=800, days=60)
    assert full.metrics.equals(panel.metrics) and full.metrics.equals(sanctions.metrics)
    assert full.ledger["citizen"].n_unique() > 700
    assert panel.ledger["citizen"].n_unique() <= 50
    assert set(sanctions.ledger["kind"].cast(pl.String).unique()) <= {
        "tier_change", "blacklist_entry", "blacklist_exit", "appeal_upheld"}
    # the panel's rows are exactly the full ledger's rows of the panel citizens
    who = panel.ledger["citizen"].unique()
    assert full.ledger.filter(pl.col("citizen").is_in(who.implode())).height == panel.ledger.height


def test_slow_compilation_is_announced_and_a_quick_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine's first run compiles for about a minute; the CLI is told so it can say why."""
    calls: list[str] = []
    monkeypatch.setattr(engine, "_KERNELS_READY", False)
    monkeypatch.setattr(engine, "SLOW_COMPILE_S", 0.0)
    engine.compile_kernels(lambda: calls.append("slow"))
    assert calls == ["slow"]
    monkeypatch.setattr(engine, "_KERNELS_READY", False)
    monkeypatch.setattr(engine, "SLOW_COMPILE_S", 3600.0)
    engine.compile_kernels(lambda: calls.append("slow"))
    assert calls == ["slow"]


def _simulate_in_child(scenario: ss.scenario.schema.Scenario) -> str:
    try:
        ss.simulate(scenario)
    except ss.ScorestateError as e:
        return str(e)
    return "ran"


def test_a_forked_worker_is_told_to_spawn_instead_of_being_killed() -> None:
    """GNU OpenMP terminates a process forked after its first parallel loop; Linux forks by
    default, so a worker pool after one run in a notebook must get a message, not a crash."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    scenario = ss.load_scenario("essay", population=500, days=2)
    ss.simulate(scenario)  # the parent has run the kernels
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        said = pool.submit(_simulate_in_child, scenario).result(timeout=300)
    assert "forked" in said and "'spawn'" in said


def test_every_name_the_package_exports_exists() -> None:
    """`from scorestate import *` must work, and the API's names be where the docs say."""
    missing = [name for name in ss.__all__ if not hasattr(ss, name)]
    assert missing == []
    assert callable(ss.compare) and ss.compare.__module__ == "scorestate.analysis.compare"


def test_a_society_at_its_starting_score_reads_it_at_every_percentile() -> None:
    """Percentiles are bin centres of a histogram; the bins are placed so that the starting
    score is a centre, and a run where nobody's score moves must not report 999.915 for 1000."""
    for preset in ("baseline", "rongcheng"):
        m = ss.simulate(ss.load_scenario(preset, population=2000, days=2)).metrics
        for col in ("score_p10", "score_p50", "score_p90"):
            assert m[col][0] == 1000.0, (preset, col, m[col][0])
    from scorestate.metrics import BINS, histogram_low
    for lo, hi, initial in ((0.0, 1300.0, 1000.0), (0.0, 1000.0, 1000.0), (-50.0, 50.0, -50.0),
                            (350.0, 950.0, 600.3)):
        width = (hi - lo) / BINS
        low = histogram_low(lo, initial, width)
        assert abs(low - lo) <= width / 2 + 1e-9  # the histogram still spans the scale
        k = (initial - low) / width - 0.5
        assert abs(k - round(k)) < 1e-6  # the starting score is a bin's centre
