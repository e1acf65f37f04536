"""The Python API as a notebook user meets it: every command is a function, wrong types and typos
are refused with one message, and what a run returns agrees with what its store gives back."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import networkx as nx
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.explain import explain as explain_stored
from scorestate.cli import app
from scorestate.engine import RunResult, Simulation
from scorestate.store import READ_WAIT_S

runner = CliRunner()
SMALL = {"population": 300, "days": 10}


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, RunResult]:
    """One small run of `baseline` (some final metrics undefined: nobody listed) in a store."""
    store = tmp_path_factory.mktemp("api") / "runs.duckdb"
    scenario = ss.load_scenario("baseline", {"ledger.retention": "full"}, **SMALL, seed=2)
    return store, ss.run(scenario, store=store)


# ------------------------------------------------------------------ 2. a graph sets the size
def test_a_graph_refuses_a_population_size_the_user_set():
    scenario = ss.load_scenario("essay", population=300, days=2)
    with pytest.raises(ss.ScorestateError) as e:
        ss.simulate(scenario, graph=nx.path_graph(400))
    assert str(e.value) == ("population.size is 300, but the networkx graph given with graph= sets 400 "
                            "citizens; expected a graph of 300 citizens, or no population size (leave "
                            "out population= and population.size): the graph then sets the population")


def test_a_graph_replaces_the_default_size_and_agrees_with_an_equal_one():
    assert ss.simulate(ss.load_scenario("essay", days=2), graph=nx.path_graph(400)).population == 400
    agreed = ss.load_scenario("essay", population=400, days=2)
    assert ss.simulate(agreed, graph=nx.path_graph(400)).population == 400


# ------------------------------------------------------------------ 3. explain, runs, report
def test_explain_is_what_the_command_prints(stored):
    store, result = stored
    r = runner.invoke(app, ["explain", result.run_id, "7", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    by_id = ss.explain(result.run_id, 7, store=store)
    assert isinstance(by_id, ss.CitizenFile)
    assert by_id.to_dict() == json.loads(r.stdout)
    assert ss.explain(ss.open_run(result.run_id[-6:], store=store), 7).to_dict() == by_id.to_dict()


def test_list_runs_is_what_the_command_lists(stored):
    store, result = stored
    runs = ss.list_runs(store=store)
    r = runner.invoke(app, ["runs", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    assert runs["run_id"].to_list() == [row["run_id"] for row in json.loads(r.stdout)["runs"]]
    assert runs.filter(runs["run_id"] == result.run_id)["population"].to_list() == [300]


def test_write_report_writes_the_page(stored, tmp_path):
    store, result = stored
    page = ss.write_report(result.run_id, tmp_path / "r.html", compare=result.run_id, store=store)
    assert page == tmp_path / "r.html" and page.stat().st_size > 0
    again = ss.write_report(ss.open_run(result.run_id, store=store), tmp_path / "again.html")
    assert again.stat().st_size > 0


@pytest.mark.parametrize(("call", "message"), [
    (lambda store: ss.open_run(20260101, store=store),
     "a run id must be a string, such as '20260101-120000-a1b2c3' or its last six characters, as "
     "`scorestate runs` lists them; got int 20260101"),
    (lambda store: ss.explain(5, 0, store=store),
     "run must be a run id (a string, as ss.list_runs() shows) or a StoredRun from ss.open_run(...); "
     "got int 5"),
    (lambda store: ss.write_report(None, store=store), "run must be a run id"),
    (lambda store: ss.write_report("x", compare=3.5, store=store), "compare must be a run id"),
    (lambda store: explain_stored("20260101-120000-a1b2c3", 0),
     "expected a StoredRun from ss.open_run(...); got str '20260101-120000-a1b2c3' (to explain by "
     "run id: ss.explain(run_id, citizen, store=...))"),
])
def test_a_wrong_type_is_refused_by_name(stored, call, message):
    store, _ = stored
    with pytest.raises(ss.ScorestateError) as e:
        call(store)
    assert str(e.value).startswith(message)


def test_open_run_refuses_a_stored_run_given_as_its_id(stored):
    store, result = stored
    run = ss.open_run(result.run_id, store=store)
    with pytest.raises(ss.ScorestateError, match="got a StoredRun, which is open already"):
        ss.open_run(run, store=store)


# ------------------------------------------------------------------ 4. final keeps undefined metrics
def test_the_stored_final_keeps_undefined_metrics_as_none(stored):
    store, result = stored
    assert None in result.final.values()  # baseline lists nobody: a ratio over nobody
    assert ss.open_run(result.run_id, store=store).record.final == result.final


def test_a_record_stored_without_its_undefined_metrics_reads_them_as_none(tmp_path):
    store = tmp_path / "old.duckdb"
    result = ss.run(ss.load_scenario("baseline", **SMALL), store=store)
    old = {k: v for k, v in result.final.items() if v is not None}  # how stores used to keep it
    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE runs SET final = ? WHERE run_id = ?", [json.dumps(old), result.run_id])
    final = ss.open_run(result.run_id, store=store).record.final
    assert final == result.final and list(final) == list(result.final)


# ------------------------------------------------------------------ 6. a preset's name for a Scenario
@pytest.mark.parametrize(("call", "example"), [
    (lambda: ss.simulate("essay"), "ss.simulate(ss.load_scenario('essay'))"),
    (lambda: ss.Simulation("essay"), "ss.simulate(ss.load_scenario('essay'))"),
    (lambda: ss.run("essay", store=None), "ss.run(ss.load_scenario('essay'), store=...)"),
])
def test_a_presets_name_is_not_a_scenario(call, example):
    with pytest.raises(ss.ScorestateError) as e:
        call()
    assert str(e.value) == ("expected a Scenario from ss.load_scenario(...); got str 'essay' (to run a "
                            f"preset or file by name: {example})")


def test_run_refuses_a_name_before_touching_the_store(tmp_path):
    with pytest.raises(ss.ScorestateError, match="got str 'essay'"):
        ss.run("essay", store=tmp_path / "runs.duckdb")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("a", "b", "side", "got"), [
    ("baseline", "essay", "A", "str 'baseline'"),
    (None, "essay", "B", "str 'essay'"),
])
def test_compare_refuses_names(a, b, side, got):
    scenario = ss.load_scenario("baseline", **SMALL)
    with pytest.raises(ss.ScorestateError) as e:
        ss.compare(scenario if a is None else a, b)
    assert str(e.value).startswith(f"compare's {side}: expected a Scenario from ss.load_scenario(...); "
                                   f"got {got}")


# ------------------------------------------------------------------ 7. one family of errors
def test_an_invariant_error_is_a_scorestate_error():
    sim = Simulation(ss.load_scenario("essay", {"run.check_invariants": True}, **SMALL))
    sim.state.listed_since[0] = 3  # listed since day 3, but not on the list
    sim.state.blacklisted[0] = False
    with pytest.raises(ss.ScorestateError, match="blacklisted and listed_since disagree") as e:
        sim.step()
    assert isinstance(e.value, ss.InvariantError) and isinstance(e.value, RuntimeError)


def test_the_types_a_user_meets_are_exported():
    for name in ("Scenario", "StoredRun", "StoreError", "StoreInUseError", "ScenarioError",
                 "InvariantError", "CitizenFile", "explain", "list_runs", "write_report"):
        assert name in ss.__all__ and hasattr(ss, name), name
    assert issubclass(ss.StoreInUseError, ss.StoreError) and issubclass(ss.StoreError, ss.ScorestateError)
    assert isinstance(ss.load_scenario("essay"), ss.Scenario)


# ------------------------------------------------------------------ 8. no store in a folder that is not there
def test_the_command_line_refuses_a_store_in_a_missing_folder(tmp_path):
    store = tmp_path / "typo" / "runs.duckdb"
    r = runner.invoke(app, ["run", "baseline", "-n", "300", "-d", "2", "--store", str(store)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"the folder '{tmp_path / 'typo'}' does not exist" in r.stderr
    assert not (tmp_path / "typo").exists()


def test_the_default_store_is_made_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = ss.run(ss.load_scenario("baseline", **SMALL))
    assert (tmp_path / "scorestate.duckdb").is_file()
    assert ss.list_runs()["run_id"].to_list() == [result.run_id]


# ------------------------------------------------------------------ 9. what a notebook shows
def test_a_run_result_prints_in_one_short_line(stored):
    _, result = stored
    text = repr(result)
    assert len(text) < 250 and "\n" not in text
    assert text == (f"RunResult(scenario='baseline', population=300, days=10, seed=2, "
                    f"run_id={result.run_id!r}, metrics=10x{result.metrics.width}, "
                    f"group_metrics={result.group_metrics.height}x{result.group_metrics.width}, "
                    "ledger=None)")


def test_the_docstrings_name_what_a_user_reads():
    assert "ss.open_run(result.run_id, store=...).ledger(...)" in " ".join(RunResult.__doc__.split())
    for attribute in ("`state`", "`citizens`", "`graph`", "`day` (the next day to run", "`n`"):
        assert attribute in " ".join(Simulation.__doc__.split()), attribute
    assert f"READ_WAIT_S ({READ_WAIT_S:g} s)" in ss.open_run.__doc__  # the wait, as it is now
    for name in ("population", "days", "citizen_days_per_s"):
        assert getattr(RunResult, name).__doc__, name


def test_rebinding_a_state_array_is_a_scorestate_error_and_an_attribute_error():
    sim = ss.Simulation(ss.load_scenario("baseline", population=100, days=2))
    with pytest.raises(ss.ScorestateError, match=r"write into it \(state.perceived\[:\] = ...\)"):
        sim.state.perceived = sim.state.perceived.copy()
    with pytest.raises(AttributeError):
        sim.state.perceived = sim.state.perceived.copy()
