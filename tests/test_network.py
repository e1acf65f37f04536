"""The network: a homophilous generator, an adjacency that changes in place, imports."""

from __future__ import annotations

import numpy as np
import pytest

import scorestate as ss
from scorestate.network import add_tie, components, drop_tie, from_edges, has_tie


def built(overrides: dict | None = None, population: int = 20000) -> ss.Simulation:
    return ss.Simulation(ss.load_scenario("baseline", overrides or {}, population=population, days=1))


def test_generator_gives_the_mean_degree_and_regional_homophily():
    sim = built({"network.mean_degree": 12, "network.within_region": 0.8})
    g, c = sim.graph, sim.citizens
    assert abs(g.degree.mean() - 12) < 0.3
    e = g.edges()
    same_region = (c.region[e[:, 0]] == c.region[e[:, 1]]).mean()
    # 80% are drawn inside the region; some of the other 20% land there by chance
    assert 0.78 < same_region < 0.84
    urban_match = (c.urban[e[:, 0]] == c.urban[e[:, 1]]).mean()
    random_match = c.urban.mean() ** 2 + (1 - c.urban.mean()) ** 2
    assert urban_match > random_match + 0.1


@pytest.mark.parametrize(("population", "changes"), [
    (1_000, {}), (3_000, {}), (5_000, {"network.mean_degree": 20}),
    (3_000, {"population.regions": 200}),  # strata of about two citizens
    (100_000, {}),
])
def test_the_mean_degree_is_the_scenarios_at_every_size(population: int, changes: dict):
    """Small populations draw far more duplicate ties (3,000 citizens in 50 regions have stratum
    blocks of about 8): the draw makes up for them, so the degree is what the scenario says."""
    wanted = changes.get("network.mean_degree", 12)
    assert built(changes, population).graph.degree.mean() == pytest.approx(wanted, rel=0.015)


def test_neighbours_sit_close_in_memory():
    sim = built()
    e = sim.graph.edges()
    gap = np.abs(e[:, 0] - e[:, 1])
    assert np.median(gap) < sim.n / 50  # citizens are numbered region by region


def test_adjacency_is_symmetric_without_self_loops_or_duplicates():
    g = built(population=3000).graph
    e = g.edges()
    assert (e[:, 0] < e[:, 1]).all()
    assert np.unique(e, axis=0).shape[0] == e.shape[0]
    assert 2 * e.shape[0] == g.degree.sum()


@pytest.mark.parametrize("slack", [0.0, 0.5, 3.0])
def test_adjacency_rows_are_the_sorted_distinct_neighbours_with_spare_slots(slack: float) -> None:
    # duplicates, both directions of a tie, self-loops and isolated citizens: the buckets are
    # squeezed and spread in place, so rows that shrink a lot and rows that grow must both come out
    rng = np.random.default_rng(5)
    n = 400
    edges = rng.integers(0, n // 2, (3000, 2))  # the upper half stays isolated
    edges = np.concatenate([edges, edges[:1000, ::-1], edges[:500], [[7, 7], [9, 9]]])
    g = from_edges(n, edges, slack=slack)
    for i in range(n):
        want = np.unique(np.concatenate([edges[edges[:, 0] == i, 1], edges[edges[:, 1] == i, 0]]))
        want = want[want != i]
        slots = g.start[i + 1] - g.start[i]
        assert slots == len(want) + max(2, int(np.ceil(slack * len(want))))
        row = g.nbrs[g.start[i]:g.start[i + 1]]
        np.testing.assert_array_equal(row[:g.degree[i]], want)
        assert (row[g.degree[i]:] == -1).all()


def test_ties_change_in_place():
    g = from_edges(4, np.array([[0, 1], [1, 2], [2, 3]]), slack=0.5)
    assert has_tie(g.start, g.degree, g.nbrs, 1, 0)
    drop_tie(g.start, g.degree, g.nbrs, 0, 1)
    assert not has_tie(g.start, g.degree, g.nbrs, 0, 1) and not has_tie(g.start, g.degree, g.nbrs, 1, 0)
    assert add_tie(g.start, g.degree, g.nbrs, 0, 3)
    assert not add_tie(g.start, g.degree, g.nbrs, 0, 3)  # already tied
    assert not add_tie(g.start, g.degree, g.nbrs, 2, 2)  # no self-ties
    assert components(g.start, g.degree, g.nbrs) == (1, 4)
    drop_tie(g.start, g.degree, g.nbrs, 2, 3)
    drop_tie(g.start, g.degree, g.nbrs, 1, 2)
    assert components(g.start, g.degree, g.nbrs) == (3, 2)  # {0, 3}, {1}, {2}


def test_full_slots_refuse_new_ties():
    g = from_edges(3, np.array([[0, 1]]), slack=0.0)
    # each citizen has degree + 2 slots at least
    assert add_tie(g.start, g.degree, g.nbrs, 0, 2)
    assert g.degree.tolist() == [2, 1, 1]


def test_ties_change_during_an_essay_run():
    r = ss.simulate(ss.load_scenario("essay", population=3000, days=120))
    assert r.metrics["ties_dropped"].sum() > 0 and r.metrics["ties_made"].sum() > 0


def test_networkx_graph_sets_the_population():
    nx = pytest.importorskip("networkx")
    g = nx.path_graph(50)
    sim = ss.Simulation(ss.load_scenario("essay", days=3), graph=g)
    assert sim.n == 50 and sim.graph.degree.sum() == 2 * 49


def test_a_run_on_a_given_graph_records_that_its_ties_came_from_outside():
    nx = pytest.importorskip("networkx")
    r = ss.simulate(ss.load_scenario("essay", days=2), graph=nx.karate_club_graph())
    assert r.scenario.network.kind == "graph"
    with pytest.raises(ss.ScorestateError, match="pass it again with graph="):
        ss.Simulation(r.scenario)
