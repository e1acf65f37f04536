"""Imported networks used for real: networkx's shipped graphs and an edge-list file.

A researcher may run a policy on an anonymised real topology; the society then has exactly one
citizen per node, each tied to its node's neighbours, whatever population the scenario names.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.explain import explain
from scorestate.cli import app
from scorestate.engine import Simulation, simulate
from scorestate.store import Store

runner = CliRunner()
DAYS = 60
GRAPHS = {"karate": nx.karate_club_graph, "les_miserables": nx.les_miserables_graph}


def scenario(**overrides):
    # population 1000 on purpose: the graph, not the scenario, sets the number of citizens
    return ss.load_scenario("essay", overrides, population=1000, days=DAYS, seed=4)


def neighbour_sets(sim: Simulation) -> list[set[int]]:
    g = sim.graph
    return [set(g.nbrs[g.start[i]: g.start[i] + g.degree[i]].tolist()) for i in range(sim.n)]


def check_sane(result, n: int) -> None:
    m = result.metrics
    assert result.population == n and m.height == DAYS
    for col in ("blacklist_share", "approval_mean", "dissent_rate", "health_compliance_rate",
                "cross_tier_tie_share", "largest_component_share"):
        values = m[col].to_numpy()
        assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() <= 1, col
    sc = result.scenario.policy.scoring
    assert sc.minimum <= m["score_p10"].min() and m["score_p90"].max() <= sc.maximum
    assert m["observed_penalties"].sum() > 0  # the system did act on this society
    pops = result.group_metrics.filter(pl.col("day") == 0).group_by("grouping").agg(
        pl.col("population").sum())
    assert pops["population"].to_list() == [n] * pops.height


@pytest.mark.parametrize("name", list(GRAPHS))
def test_a_networkx_graph_is_the_society(name):
    graph = GRAPHS[name]()
    nodes = list(graph.nodes())
    sim = Simulation(scenario(), graph=graph)
    assert sim.n == graph.number_of_nodes()
    index = {node: k for k, node in enumerate(nodes)}
    expected = [{index[v] for v in graph.neighbors(u)} for u in nodes]
    assert neighbour_sets(sim) == expected
    result = simulate(scenario(), graph=graph)
    check_sane(result, graph.number_of_nodes())
    mean_degree = 2 * graph.number_of_edges() / graph.number_of_nodes()
    assert result.metrics["mean_degree"][0] == pytest.approx(mean_degree, rel=0.1)


def test_a_stored_run_on_an_in_memory_graph_explains_with_the_graph(tmp_path):
    graph = nx.karate_club_graph()
    store = tmp_path / "runs.duckdb"
    run_id = ss.run(scenario(**{"ledger.retention": "full"}), store=store, graph=graph).run_id
    stored = ss.open_run(run_id, store=store)
    assert stored.record.population == 34
    f = explain(stored, 0)
    assert f.neighbours == [] and "in-memory network" in " ".join(f.notes)
    assert f.events_recorded and f.score_by_day  # the ledger still tells the story
    g = explain(stored, 0, graph=graph)
    assert [nb["citizen"] for nb in g.neighbours] == sorted(graph.neighbors(0))


def write_edges(path: Path, graph: nx.Graph, offset: int) -> int:
    """The graph as a CSV edge list with sparse, shifted ids (they must be relabelled)."""
    ids = {node: offset + 7 * k for k, node in enumerate(graph.nodes())}
    lines = ["source,target"] + [f"{ids[u]},{ids[v]}" for u, v in graph.edges()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return graph.number_of_nodes()


def cli(*args: str):
    return runner.invoke(app, list(args))


def test_an_edge_list_file_through_the_command_line(tmp_path):
    graph = nx.les_miserables_graph()
    edges = tmp_path / "ties.csv"
    n = write_edges(edges, graph, offset=1000)
    store = tmp_path / "runs.duckdb"
    r = cli("run", "essay", "-n", "5000", "-d", str(DAYS), "--seed", "4", "--store", str(store),
            "--set", "network.kind=edgelist", "--set", f"network.edgelist={edges}",
            "--set", "ledger.retention=full", "--json")
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["population"] == n and payload["days"] == DAYS
    assert 0 <= payload["final"]["blacklist_share"] <= 1
    assert 0 < payload["final"]["approval_mean"] < 1
    stored = ss.open_run(payload["run_id"], store=store)
    assert stored.record.population == n
    # the citizen's file rebuilds the same ties from the file (ids relabelled in sorted order)
    first = next(iter(graph.nodes()))
    f = explain(stored, 0)
    assert len(f.neighbours) == graph.degree(first)


def test_a_parquet_edge_list(tmp_path):
    graph = nx.karate_club_graph()
    path = tmp_path / "ties.parquet"
    pl.DataFrame(list(graph.edges()), schema=["a", "b"], orient="row").write_parquet(path)
    result = simulate(scenario(**{"network.kind": "edgelist", "network.edgelist": str(path)}))
    check_sane(result, graph.number_of_nodes())


@pytest.mark.parametrize("content, message", [
    ("alice,bob\ncarol,dave\n", "must have two integer columns"),
    ("1\n2\n3\n", "must have two integer columns"),
])
def test_a_malformed_edge_list_is_one_message(tmp_path, content, message):
    edges = tmp_path / "ties.csv"
    edges.write_text(content, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    r = cli("run", "essay", "-d", "5", "--store", str(store), "--set", "network.kind=edgelist",
            "--set", f"network.edgelist={edges}")
    assert r.exit_code == 2, r.output
    assert message in r.stderr and str(edges) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    with Store(store) as s:
        assert s.list_runs().height == 0  # nothing half-written


def test_a_missing_edge_list_is_one_message(tmp_path):
    missing = tmp_path / "nowhere.csv"
    r = cli("run", "essay", "-d", "5", "--store", str(tmp_path / "s.duckdb"),
            "--set", "network.kind=edgelist", "--set", f"network.edgelist={missing}")
    assert r.exit_code == 2 and "does not exist" in r.stderr and str(missing) in r.stderr


def test_a_hub_beyond_the_narrow_counts_gets_wider_ones():
    # state keeps degrees and neighbour counts in 16 and 8 bits where every row fits; a hub
    # with more ties than that must get wider types and exact shares, not wrapped counts
    leaves = 70_000
    sim = Simulation(scenario(**{"policy.blacklist.seed_share": 0.5}), graph=nx.star_graph(leaves))
    assert sim.graph.degree.dtype == np.int32 and sim.state.nbr_blacklisted.dtype == np.uint32
    sim.step()
    hub_share = sim.state.nbr_blacklisted[0] / sim.graph.degree[0]
    assert 0.45 < hub_share < 0.55
    assert int(sim.state.nbr_blacklisted[0]) > 65_535 // 2


def test_many_regions_get_wider_region_ids():
    sim = Simulation(ss.load_scenario("baseline", {"population.regions": 70_000}, population=140_000,
                                      days=1))
    assert sim.citizens.region.dtype == np.int32
    assert int(sim.citizens.region.max()) > 65_535
