"""Imported networks used for real: networkx's shipped graphs and an edge-list file.

A researcher may run a policy on an anonymised real topology; the society then has exactly one
citizen per node, each tied to its node's neighbours. A networkx graph's nodes are numbered in its
node order; a population size the scenario gives must be the graph's. An edge list's ids *are*
the citizens' ids (results must join back to the file): the population is the largest id + 1, a
size the user gives must agree, and a stored run is rebuilt only from the very file it read.
"""

from __future__ import annotations

import hashlib
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
from scorestate.scenario.load import scenario_from_dict
from scorestate.store import PANEL_DAY0, Store

runner = CliRunner()
DAYS = 60
GRAPHS = {"karate": nx.karate_club_graph, "les_miserables": nx.les_miserables_graph}


def scenario(**overrides):
    # no population: the graph sets the number of citizens (a size given must agree with it)
    return ss.load_scenario("essay", overrides, days=DAYS, seed=4)


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
    assert stored.record.scenario["population"]["size"] == 34  # the record agrees with itself
    f = explain(stored, 0)
    assert f.neighbours == [] and "in-memory network" in " ".join(f.notes)
    assert f.events_recorded and f.score_by_day  # the ledger still tells the story
    g = explain(stored, 0, graph=graph)
    assert [nb["citizen"] for nb in g.neighbours] == sorted(graph.neighbors(0))


def test_a_self_loop_in_a_networkx_graph_is_refused():
    # dropped without a word, it would run a network other than the one given
    graph = nx.karate_club_graph()
    graph.add_edge(5, 5)
    with pytest.raises(ss.ScorestateError, match=r"the networkx graph ties node 5 to itself \(1 self-loop\); "
                       r"expected ties between two different nodes"):
        Simulation(scenario(), graph=graph)


def numbered(graph: nx.Graph) -> dict[object, int]:
    """Ids with gaps and id 0 unused: only ids kept as they are make citizen k the file's node k."""
    return {node: 3 * k + 2 for k, node in enumerate(graph.nodes())}


def write_edges(path: Path, graph: nx.Graph, ids: dict[object, int]) -> int:
    """The graph as a CSV edge list with a header; returns the population it sets."""
    lines = ["source,target"] + [f"{ids[u]},{ids[v]}" for u, v in graph.edges()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return max(ids.values()) + 1


def edge_scenario(path: Path | str, **overrides):
    # no population: the file sets it (a different explicit one is an error, tested below)
    return ss.load_scenario("essay", {"network.kind": "edgelist", "network.edgelist": str(path),
                                      **overrides}, days=DAYS, seed=4)


def test_edge_list_ids_are_the_citizens_ids(tmp_path):
    graph = nx.les_miserables_graph()
    ids = numbered(graph)
    n = write_edges(tmp_path / "ties.csv", graph, ids)
    sim = Simulation(edge_scenario(tmp_path / "ties.csv"))
    assert sim.n == n == 3 * graph.number_of_nodes()
    assert sim.scenario.population.size == n  # the size the run records
    nbrs = neighbour_sets(sim)
    for u in graph.nodes():
        assert nbrs[ids[u]] == {ids[v] for v in graph.neighbors(u)}, u
    unused = sorted(set(range(n)) - set(ids.values()))
    assert unused[:3] == [0, 1, 3] and all(not nbrs[i] for i in unused)  # citizens without ties


def cli(*args: str):
    return runner.invoke(app, list(args))


def test_an_edge_list_file_through_the_command_line(tmp_path, monkeypatch):
    graph = nx.les_miserables_graph()
    ids = numbered(graph)
    n = write_edges(tmp_path / "ties.csv", graph, ids)
    store = tmp_path / "runs.duckdb"
    monkeypatch.chdir(tmp_path)  # the path is typed relative, as a user would
    r = cli("run", "essay", "-d", str(DAYS), "--seed", "4", "--store", str(store),
            "--set", "network.kind=edgelist", "--set", "network.edgelist=ties.csv",
            "--set", "ledger.retention=full", "--json")
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["population"] == n and payload["days"] == DAYS
    assert 0 <= payload["final"]["blacklist_share"] <= 1
    assert 0 < payload["final"]["approval_mean"] < 1
    stored = ss.open_run(payload["run_id"], store=store)
    assert stored.record.population == stored.record.scenario["population"]["size"] == n
    net = stored.record.scenario["network"]
    assert net["edgelist"] == str(tmp_path / "ties.csv")
    assert net["edgelist_sha256"] == hashlib.sha256((tmp_path / "ties.csv").read_bytes()).hexdigest()
    # from another folder, the citizen's file rebuilds the same ties from the same file
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    first = next(iter(graph.nodes()))
    f = explain(stored, ids[first])
    assert sorted(nb["citizen"] for nb in f.neighbours) == sorted(ids[v] for v in graph.neighbors(first))


@pytest.mark.parametrize("size, ok", [("5000", False), ("1000", False), (None, True)])
def test_an_explicit_population_size_must_be_the_edge_lists(tmp_path, size, ok):
    # it used to be ignored without a word, and the stored record then disagreed with itself
    graph = nx.karate_club_graph()
    n = write_edges(tmp_path / "ties.csv", graph, numbered(graph))
    store = tmp_path / "runs.duckdb"
    given = ["-n", size] if size else ["-n", str(n)]
    r = cli("run", "essay", "-d", "3", *given, "--store", str(store), "--set",
            "network.kind=edgelist", "--set", f"network.edgelist={tmp_path / 'ties.csv'}")
    assert (r.exit_code == 0) == ok, r.output
    if not ok:
        assert r.exit_code == 2 and "Traceback" not in r.output
        assert r.stderr.strip() == (
            f"scorestate: error: population.size is {int(size):,}, but the edge list "
            f"'{tmp_path / 'ties.csv'}' sets {n} citizens (its largest id is {n - 1}); expected no "
            f"population size (-n), or {n}: the file sets the population")
        with Store(store) as s:
            assert s.list_runs().height == 0


def test_accepted_edge_lists_are_one_network(tmp_path):
    # with or without a header, comments, ties twice and both ways, spaces after commas, a byte
    # order mark and Windows line ends (a spreadsheet's export), Parquet
    graph = nx.karate_club_graph()
    edges = list(graph.edges())
    texts = {
        "header.csv": "a,b\n" + "".join(f"{u},{v}\n" for u, v in edges),
        "bare.csv": "".join(f"{u},{v}\n" for u, v in edges),
        "messy.csv": "# exported\nsource,target\n" + "".join(f"{u}, {v}\n{v},{u}\n" for u, v in edges),
        "excel.csv": "\ufeff" + "".join(f"{u},{v}\r\n" for u, v in edges),  # no header to lose
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    pl.DataFrame(edges, schema=["a", "b"], orient="row").write_parquet(tmp_path / "ties.parquet")
    want = [{v for v in graph.neighbors(u)} for u in range(graph.number_of_nodes())]
    for name in [*texts, "ties.parquet"]:
        sim = Simulation(edge_scenario(tmp_path / name))
        assert neighbour_sets(sim) == want, name


def test_a_parquet_edge_list(tmp_path):
    graph = nx.karate_club_graph()
    path = tmp_path / "ties.parquet"
    pl.DataFrame(list(graph.edges()), schema=["a", "b"], orient="row").write_parquet(path)
    result = simulate(edge_scenario(path))
    check_sane(result, graph.number_of_nodes())


RULE = ("expected two columns of citizen ids, integers from 0 (id k is citizen k of the run), one "
        "tie per row")


@pytest.mark.parametrize("content, message", [
    ("a,b\n0,1\n5,5\n", "line 3 ('5,5') ties citizen 5 to itself (1 such row); expected two "
                        "different citizens per row"),
    ("a,b\n0,1\n-3,7\n", "line 3 ('-3,7'), column 1 ('a'): -3 is negative; expected a citizen id, "
                         "an integer from 0"),
    ("a,b\n0,1\n3,\n", "line 3 ('3,'), column 2 ('b'): the cell is empty; expected a citizen id"),
    ("0,1\n\n2,3\n", "line 2 (''), column 1: the cell is empty; expected a citizen id"),
    ("a,b\n0,1\n1.5,7\n", "line 3 ('1.5,7'), column 1 ('a'): '1.5' is not a whole number"),
    ("a,b\n" + "0,1\n" * 300 + "0,2.5\n", "line 302 ('0,2.5'), column 2 ('b'): '2.5' is not a whole"),
    ("alice,bob\ncarol,dave\n", "line 2 ('carol,dave'), column 1 ('alice'): 'carol' is not a whole"),
    ("# from the survey\na,b\n0,1\nx,7\n", "line 4 ('x,7'), column 1 ('a'): 'x' is not a whole"),
    ("a,b,w\n0,1,1\n", f"has 3 columns (a, b, w); {RULE} (a weight or any other column is not used"),
    ("1\n2\n3\n", f"has one column; {RULE}"),
    ("0\t1\n1\t2\n", "has one column: its first line '0\\t1' is separated by tabs; "
                     f"{RULE}, separated by a comma (e.g. 0,1)"),
    ("0 1\n1 2\n", "its first line '0 1' is separated by spaces"),
    ("", f"has no ties; {RULE}"),
    ("a,b\n", f"has no ties; {RULE}"),
    ("# nothing yet\n\n", f"has no ties; {RULE}"),
])
def test_a_malformed_edge_list_is_one_message(tmp_path, content, message):
    edges = tmp_path / "ties.csv"
    edges.write_text(content, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    r = cli("run", "essay", "-d", "5", "--store", str(store), "--set", "network.kind=edgelist",
            "--set", f"network.edgelist={edges}")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"scorestate: error: network.edgelist: '{edges}' "), r.stderr
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    with Store(store) as s:
        assert s.list_runs().height == 0  # nothing half-written


@pytest.mark.parametrize("frame, message", [
    (pl.DataFrame({"a": [0], "b": [1]}).clear(), f"has no ties; {RULE}"),  # as for an empty CSV
    (pl.DataFrame({"a": [0, 1], "b": [1.0, 2.5]}),  # the first value that is not whole
     "row 2, column 2 ('b'): the column holds Float64 values (2.5 here), not integers"),
    (pl.DataFrame({"a": [0, 1], "b": [1.0, 2.0]}),
     "row 1, column 2 ('b'): the column holds Float64 values (1.0 here), not integers"),
    (pl.DataFrame({"a": [0, None], "b": [1, 2]}), "row 2, column 1 ('a'): the cell is empty"),
    (pl.DataFrame({"a": [0, 4], "b": [1, 4]}), "row 2 ties citizen 4 to itself"),
    (pl.DataFrame({"a": [0], "b": [1], "w": [0.5]}), "has 3 columns (a, b, w)"),
])
def test_a_malformed_parquet_edge_list_is_one_message(tmp_path, frame, message):
    path = tmp_path / "ties.parquet"
    frame.write_parquet(path)
    with pytest.raises(ss.ScorestateError) as e:
        Simulation(edge_scenario(path))
    assert str(e.value).startswith(f"network.edgelist: '{path}' {message}"), str(e.value)


def test_a_missing_edge_list_is_one_message(tmp_path):
    missing = tmp_path / "nowhere.csv"
    r = cli("run", "essay", "-d", "5", "--store", str(tmp_path / "s.duckdb"),
            "--set", "network.kind=edgelist", "--set", f"network.edgelist={missing}")
    assert r.exit_code == 2 and "does not exist" in r.stderr and str(missing) in r.stderr


def test_a_folder_or_a_binary_file_is_named_as_what_it_is(tmp_path):
    binary = tmp_path / "ties.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    parquet = tmp_path / "ties.txt"
    pl.DataFrame({"a": [0], "b": [1]}).write_parquet(parquet)
    for path, message in ((tmp_path, "is a folder"), (binary, "is a binary file, not CSV text"),
                          (parquet, "a Parquet file needs the suffix .parquet")):
        r = cli("run", "essay", "-d", "5", "--store", str(tmp_path / "s.duckdb"),
                "--set", "network.kind=edgelist", "--set", f"network.edgelist={path}")
        assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output, r.output


def test_a_stored_edge_list_run_is_rebuilt_only_from_the_same_file(tmp_path):
    graph = nx.karate_club_graph()
    path = tmp_path / "ties.csv"
    write_edges(path, graph, numbered(graph))
    original = path.read_bytes()
    store = tmp_path / "runs.duckdb"
    stored = ss.open_run(ss.run(edge_scenario(path, **{"ledger.retention": "full"}),
                                store=store).run_id, store=store)
    resolved = scenario_from_dict(stored.record.scenario)
    assert simulate(resolved).metrics.equals(stored.metrics)  # a stored scenario runs again
    digest = hashlib.sha256(original).hexdigest()
    path.write_bytes(original + b"2,5\n")  # one tie more: a different network, silently
    with pytest.raises(ss.ScorestateError) as e:
        explain(stored, 2)
    assert str(e.value) == (f"the edge list '{path}' changed since run '{stored.record.run_id}' was "
                            f"made: its sha256 is now {hashlib.sha256(path.read_bytes()).hexdigest()}; "
                            f"expected {digest}. Restore the file the run read to rebuild its citizens")
    with pytest.raises(ss.ScorestateError, match=f"has changed since this scenario was resolved: its "
                                                 f"sha256 is [0-9a-f]{{64}}; expected {digest}"):
        Simulation(resolved)
    path.unlink()
    with pytest.raises(ss.ScorestateError, match=r"the edge list '.*ties.csv' of run '.*' no longer "
                                                 f"exists; expected the file the run read there "
                                                 f"\\(sha256 {digest}\\)"):
        explain(stored, 2)
    path.write_bytes(original)
    assert explain(stored, 2).neighbours  # the very file again: rebuilt


def test_an_edge_list_run_without_a_fingerprint_explains_without_neighbours(tmp_path, monkeypatch):
    # runs stored before fingerprints were kept renumbered ids: their ties cannot be checked
    import scorestate.engine as engine

    def unchecked(spec, size=None):
        spec, n, edges = import_edgelist(spec, size)
        return spec.model_copy(update={"edgelist_sha256": None}), n, edges

    import_edgelist = engine.import_edgelist
    monkeypatch.setattr(engine, "import_edgelist", unchecked)
    graph = nx.karate_club_graph()
    write_edges(tmp_path / "ties.csv", graph, numbered(graph))
    store = tmp_path / "runs.duckdb"
    run_id = ss.run(edge_scenario(tmp_path / "ties.csv"), store=store).run_id
    monkeypatch.undo()
    # nor did they keep their panel's day-0 records, which would name the neighbours
    (tmp_path / "runs.duckdb.ledger" / run_id / PANEL_DAY0).unlink()
    f = explain(ss.open_run(run_id, store=store), 2)
    assert f.neighbours == [] and "older scorestate, which kept no fingerprint" in " ".join(f.notes)
    assert f.demographics  # the citizens themselves are still rebuilt


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


def test_an_edge_list_named_in_a_scenario_file_is_the_one_beside_it(tmp_path, monkeypatch):
    """A scenario handed out with its network must run that network from any folder."""
    town = tmp_path / "town"
    town.mkdir()
    graph = nx.karate_club_graph()
    n = write_edges(town / "ties.csv", graph, numbered(graph))
    (town / "net.yaml").write_text("network: {kind: edgelist, edgelist: ties.csv}\nrun: {days: 2}\n")
    decoy = nx.path_graph(60)  # another ties.csv where the command runs
    write_edges(tmp_path / "ties.csv", decoy, numbered(decoy))
    monkeypatch.chdir(tmp_path)
    scenario = ss.load_scenario(str(town / "net.yaml"))
    assert scenario.network.edgelist == str(town / "ties.csv")
    assert ss.simulate(scenario).population == n


def test_a_networkx_graph_with_integer_labels_keeps_them_as_ids():
    """The same network from a file or a graph gives the same citizens: node k is citizen k."""
    graph = nx.Graph([(0, 1), (1, 2), (10, 11), (2999, 0)])  # insertion order is not id order
    sim = Simulation(ss.load_scenario("baseline", days=1), graph=graph)
    assert sim.n == 3000
    for node in (0, 1, 2, 10, 11, 2999, 5):
        row = sim.graph.nbrs[sim.graph.start[node]:sim.graph.start[node] + sim.graph.degree[node]]
        assert sorted(row.tolist()) == sorted(graph.neighbors(node)) if node in graph else row.size == 0
    named = nx.Graph([("b", "a"), ("a", "c")])  # names are numbered in the graph's node order
    sim = Simulation(ss.load_scenario("baseline", days=1), graph=named)
    assert sim.n == 3 and sim.graph.degree.tolist() == [1, 2, 1]
    with pytest.raises(ss.ScorestateError, match="expected integer labels from 0"):
        Simulation(ss.load_scenario("baseline", days=1), graph=nx.Graph([(-1, 2)]))
