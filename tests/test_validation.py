"""Canonical results through the real engine, at CI size.

The same experiments run at full size with `python -m validation` (docs/validation.md); here
they are small but still decisive: the engine's final cascade is compared citizen by citizen
with threshold dynamics written independently, cascade frequencies with Watts' theory,
averaging with the degree-weighted mean, the riot with Granovetter's count.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `validation/` lives at the repository root, beside `tests/`
    sys.path.insert(0, str(ROOT))

from validation import SCENARIOS, crn, degroot, granovetter, one_thread, theory, watts  # noqa: E402

from scorestate.engine import Simulation  # noqa: E402

ALPHA = 1e-4  # significance level of the statistical checks (fixed seeds: deterministic)
N = 2000  # citizens in the small cascade runs


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


# ------------------------------------------------------------------ Watts (2002)


@pytest.mark.parametrize(("phi", "window"), [(0.10, (1.0, 13.7)), (0.18, (1.0, 5.8)), (0.24, (1.1, 3.9))])
def test_theory_cascade_window_is_the_published_one(phi, window):
    lo, hi = theory.cascade_window(phi)
    assert lo == pytest.approx(window[0], abs=0.05)
    assert hi == pytest.approx(window[1], abs=0.05)


def test_theory_has_no_cascade_window_from_phi_026():
    assert theory.cascade_window(0.26) is None
    assert theory.cascade_window(0.30) is None


@pytest.mark.parametrize(("z", "phi"), [(1.5, 0.18), (3.0, 0.18), (6.0, 0.18), (3.0, 0.26), (10.0, 0.10)])
def test_engine_cascade_is_exactly_the_threshold_model(z, phi):
    """Same graph, same seeds: the engine's final list equals independent threshold dynamics."""
    for seed in range(3):
        sc = watts.cascade_scenario(z, phi, population=N, seed=seed, seed_share=4 / N, days=120)
        sim = Simulation(sc, ledger_sink=lambda batch: None)
        seeds = np.flatnonzero(sim.state.blacklisted)
        expected = watts.reference_final(sim.n, sim.graph.edges(), seeds, phi)
        result = sim.run()
        assert np.array_equal(sim.state.blacklisted, expected)
        assert result.metrics["blacklist_share"][-1] == expected.mean()


def test_cascade_stops_at_the_fixed_point_the_full_run_reaches():
    sc = watts.cascade_scenario(3.0, 0.18, population=N, seed=5, seed_share=2 / N, days=120)
    early = watts.run_cascade(Simulation(sc, ledger_sink=lambda batch: None))
    full = Simulation(sc, ledger_sink=lambda batch: None)
    full.run()
    assert early.days < 120
    assert early.final_share == full.state.blacklisted.mean()


def test_cascade_frequency_and_size_match_theory_inside_the_window():
    cascades = watts.single_seed_cascades(3.0, 0.18, 60, population=N)
    assert all(c.seeds == 1 for c in cascades)
    row = watts.summarise(3.0, 0.18, cascades)
    assert row["global"] > 0
    assert stats.binomtest(row["global"], row["runs"], row["theory_frequency"]).pvalue > ALPHA
    assert row["mean_global_size"] == pytest.approx(row["theory_size"], abs=0.02)


@pytest.mark.parametrize(("z", "phi"), [(0.5, 0.18), (8.0, 0.18), (5.0, 0.24), (2.0, 0.26), (3.0, 0.26)])
def test_no_global_cascade_outside_the_window(z, phi):
    cascades = watts.single_seed_cascades(z, phi, 30, population=N)
    assert max(c.final_share for c in cascades) <= watts.GLOBAL_SHARE


def test_generator_without_homophily_gives_poisson_degrees():
    check = watts.degree_check(6.0, population=20_000)
    assert check["dispersion"] == pytest.approx(1.0, abs=0.05)  # Poisson: variance = mean
    assert check["chi2_p"] > ALPHA
    assert check["ratio_to_z"] == pytest.approx(1.0, abs=0.03)


# ------------------------------------------------------------------ DeGroot (1974)


def _assert_consensus_at_weighted_mean(r: degroot.Averaging) -> None:
    tol = degroot.FLOAT32_TOLERANCE * abs(r.target)
    assert abs(r.plain_mean - r.target) > 100 * tol  # the test can tell the two means apart
    assert r.max_error <= tol
    assert r.final_max - r.final_min <= 2 * tol


def test_degroot_converges_to_degree_weighted_mean_on_a_networkx_graph():
    g = nx.barabasi_albert_graph(400, 3, seed=7)  # connected, with very unequal degrees
    r = degroot.run(degroot.averaging_scenario(population=g.number_of_nodes(), days=200), graph=g)
    _assert_consensus_at_weighted_mean(r)


def test_degroot_converges_on_the_engines_own_graph():
    r = degroot.run(degroot.averaging_scenario(population=600, mean_degree=20.0, days=250, seed=2))
    _assert_consensus_at_weighted_mean(r)


def test_degroot_trajectory_is_the_linear_iteration():
    g = nx.barabasi_albert_graph(300, 2, seed=3)
    r = degroot.run(degroot.averaging_scenario(population=g.number_of_nodes(), days=60), graph=g)
    far = r.exact > 1e3 * r.target * 2.0**-23  # well above float32 rounding
    assert far.sum() > 20
    np.testing.assert_allclose(r.distance[far], r.exact[far], rtol=1e-3)


def test_degroot_refuses_a_disconnected_graph():
    from scorestate.errors import ScorestateError

    g = nx.disjoint_union(nx.cycle_graph(5), nx.cycle_graph(6))
    with pytest.raises(ScorestateError, match="connected graph; this one has 2 components"):
        degroot.run(degroot.averaging_scenario(population=g.number_of_nodes(), days=5), graph=g)


# ------------------------------------------------------------------ Granovetter (1978)


def test_granovetter_thresholds_0_to_99_everyone_riots():
    t = granovetter.uniform_thresholds()
    r = granovetter.run(t)
    assert r.rioters == 100 == r.predicted
    assert np.array_equal(r.daily, theory.granovetter_daily(t, r.daily.shape[0]))  # one a day


def test_granovetter_threshold_1_changed_to_2_one_rioter():
    r = granovetter.run(granovetter.perturbed_thresholds())
    assert r.rioters == 1 == r.predicted


# ------------------------------------------------------------------ common random numbers


def test_common_random_numbers_reduce_the_variance_of_an_effect():
    result = crn.measure(population=800, days=40, replicates=6)
    frame = crn.table(result)
    rows = {r["metric"]: r for r in frame.to_dicts()}
    for metric in ("alcohol_rate", "dissent_rate"):
        assert rows[metric]["variance_reduction"] > 1.5, rows[metric]
    assert crn.median_reduction(result) > 2


# ------------------------------------------------------------------ scenario files


def test_every_number_in_the_validation_scenarios_has_a_source():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for k, line in enumerate(lines):
            if line.startswith(("name:", "description:")) or not re.search(r"\d", line.split("#")[0]):
                continue
            previous = lines[k - 1].strip() if k else ""
            assert "#" in line or previous.startswith("#"), f"{path.name}:{k + 1}: {line.strip()}"
