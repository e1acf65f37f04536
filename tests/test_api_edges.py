"""The Python API at its edges: what a notebook may write between days and what it may not, a
run read before its first day, overrides and scenarios given as Python values, and a run refused
before it has begun."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.network import drop_tie
from scorestate.scenario import load
from scorestate.scenario.load import lay_over
from scorestate.state import NEVER

CHECKED = {"run.check_invariants": True}
SMALL = {"population": 600, "days": 40, "seed": 1}


def essay(overrides: dict | None = None, **sizes) -> ss.Scenario:
    return ss.load_scenario("essay", overrides or {}, **{**SMALL, **sizes})


def stepped(days: int = 3, overrides: dict | None = None) -> ss.Simulation:
    sim = ss.Simulation(essay({**CHECKED, **(overrides or {})}))
    for _ in range(days):
        sim.step()
    return sim


# ------------------------------------------------------------------ 1. citizens and ties
def test_the_demographics_are_read_only_and_no_field_can_be_rebound():
    sim = stepped()
    c, g = sim.citizens, sim.graph
    for name in ("group", "rank", "region", "region_start", "urban", "education", "quintile", "age",
                 "income"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(c, name)[:1] = 200
    with pytest.raises(ss.ScorestateError, match=r"Citizens\.age is fixed for the run") as e:
        c.age = np.zeros(3)
    assert isinstance(e.value, AttributeError)
    with pytest.raises(ss.ScorestateError, match=r"write into it \(citizens\.conformity\[:\] = ...\)"):
        c.conformity = c.conformity.copy()
    with pytest.raises(ss.ScorestateError, match=r"write into it \(graph\.degree\[:\] = ...\)"):
        g.degree = np.zeros(3)


def test_traits_and_ties_may_be_written_as_the_guide_says():
    sim = stepped()
    sim.citizens.conformity[:] = 0.5  # a trait: read afresh each day
    g = sim.graph
    drop_tie(g.start, g.degree, g.nbrs, 5, int(g.nbrs[g.start[5]]))
    s = sim.state
    s.score[:10] = 0  # its tier follows at the next scoring step
    s.perceived[:] = 0.5
    s.blacklisted[:] = False
    s.listed_since[:] = NEVER
    s.list_reason[:] = -1
    s.denied[:] = 0
    sim.step()  # checked before and after the day: nothing refused
    assert sim.day == 4


def test_what_crashed_the_interpreter_is_refused_with_a_message():
    """Kernels do not check bounds: a demographic written over, or ties to nobody, ended the
    process with a segmentation fault (run in a process of its own, should it still)."""
    script = textwrap.dedent("""
        import scorestate as ss
        def attempt(write, steps):
            sim = ss.Simulation(ss.load_scenario("essay", {"run.check_invariants": True},
                                                 population=5000, days=80, seed=1))
            for _ in range(steps):
                sim.step()
            try:
                write(sim)
                sim.run()
            except (ValueError, ss.ScorestateError) as e:
                print(type(e).__name__, str(e).splitlines()[0])
        attempt(lambda sim: sim.citizens.group.__setitem__(slice(None), 255), 40)
        attempt(lambda sim: sim.graph.nbrs.__setitem__(sim.graph.start[7], 10**8), 2)
        attempt(lambda sim: sim.graph.degree.__setitem__(7, 60000), 2)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    read_only, nobody, too_many = done.stdout.splitlines()
    assert read_only == "ValueError assignment destination is read-only"
    assert nobody.startswith("InvariantError before day 2 (written between days): 'graph.nbrs' has ties "
                             "to citizens that do not exist: citizen 7 to 100000000 (slot ")
    assert too_many.startswith("InvariantError before day 2 (written between days): the rows of ties are "
                               "out of order: citizen 7 holds 60000 ties ('graph.degree') in a row of ")


def test_an_asymmetric_tie_is_named():
    sim = stepped()
    g = sim.graph
    row = set(g.nbrs[g.start[5]:g.start[5] + g.degree[5]].tolist())
    stranger = next(j for j in range(sim.n) if j != 5 and j not in row)
    was = int(g.nbrs[g.start[5]])
    g.nbrs[g.start[5]] = stranger  # 5 names a citizen who does not name 5, and not one who does
    with pytest.raises(ss.InvariantError, match=r"^before day 3 \(written between days\): the adjacency is "
                                                r"not symmetric: citizen (\d+) is tied to (\d+), but \2 "
                                                r"not to \1$") as e:
        sim.step()
    assert {int(x) for x in e.value.args[0].split("citizen ")[1].split(",")[0].split(" is tied to ")} in (
        {5, stranger}, {5, was})


# ------------------------------------------------------------------ 2. nonsense in the state
FINITE = "expected a finite number"


@pytest.mark.parametrize(("name", "where", "value", "message"), [
    ("score", slice(0, 10), np.nan, f"'state.score' is nan for citizen 0; {FINITE} from 0 to 1300"),
    ("perceived", slice(None), -3.0, f"'state.perceived' is -3.0 for citizen 0; {FINITE} from 0 to 1"),
    ("grievance", slice(None), 7.0, f"'state.grievance' is 7.0 for citizen 0; {FINITE} from 0 to 1"),
    ("approval", slice(None), np.inf, f"'state.approval' is inf for citizen 0; {FINITE}"),
    ("list_reason", slice(2, 5), 99, "'state.list_reason' has values outside -1 to 2 (or 127, listed at the "
                                     "start): 99 for citizen 2"),
    ("tier", slice(3, 4), 200, "'state.tier' has values outside 0 to 5: 200 for citizen 3"),
])
def test_check_invariants_names_the_array_the_citizen_and_the_value(name, where, value, message):
    sim = stepped()
    getattr(sim.state, name)[where] = value
    with pytest.raises(ss.InvariantError) as e:
        sim.step()
    assert str(e.value) == f"before day 3 (written between days): {message}"
    assert sim.day == 3  # refused before the day ran


def test_a_nan_trait_is_refused_too():
    sim = stepped()
    sim.citizens.alcohol[4] = np.nan
    with pytest.raises(ss.InvariantError, match=r"'citizens\.alcohol' is nan for citizen 4"):
        sim.step()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("list_reason", 99, "'state.list_reason' has values outside"),
    ("score", np.nan, "'state.score' is nan for citizen 0"),
])
def test_save_refuses_what_resume_would_refuse(tmp_path, name, value, message):
    sim = ss.Simulation(essay())  # without check_invariants: save checks all the same
    sim.step()
    getattr(sim.state, name)[:5] = value
    path = tmp_path / "run.ckpt.npz"
    with pytest.raises(ss.ScorestateError, match=re.escape(f"cannot save the checkpoint '{path}': ")
                       + re.escape(message)):
        sim.save(path)
    assert not path.exists()


# ------------------------------------------------------------------ 3. a run read before its first day
def test_a_result_before_the_first_day_is_empty():
    sim = ss.Simulation(essay(days=10))
    result = sim.result()
    assert result.days == 0 and result.metrics.height == 0 and result.group_metrics.height == 0
    assert result.population == sim.n and set(result.final.values()) == {None}
    sim.step()
    assert sim.result().days == 1 and sim.result().final["score_mean"] is not None


def test_a_result_after_a_warm_ups_checkpoint_is_empty(tmp_path):
    scenario = ss.load_scenario("court-blacklist", {"run.warm_up_days": 5}, population=400, days=4)
    path = ss.Simulation(scenario).save(tmp_path / "day0.npz")
    again = ss.Simulation.resume(path)
    assert again.day == 0 and again.result().days == 0 and again.result().population == 400
    assert again.run().days == 4


# ------------------------------------------------------------------ 4. one parameter given twice
@pytest.mark.parametrize("overrides", [
    ["policy.scoring.drift=0.1", "policy.scoring.drift=0.2"],
    {"policy.scoring.drift": 0.1, "policy": {"scoring": {"drift": 0.2}}},
    {"policy.scoring.drift": 0.1, "policy.scoring": {"initial": 900}},  # the section would drop it
])
def test_a_parameter_that_a_later_override_would_replace_is_refused(overrides):
    with pytest.raises(ss.ScenarioError, match=r"^the overrides give 'policy\.scoring\.drift' twice \("):
        ss.load_scenario("essay", overrides)


def test_the_refusal_says_what_was_given_and_what_may_be():
    with pytest.raises(ss.ScenarioError) as e:
        ss.load_scenario("essay", ["policy.scoring.drift=0.1", "policy.scoring.drift=0.2"])
    assert str(e.value) == ("the overrides give 'policy.scoring.drift' twice (policy.scoring.drift=0.1, then "
                            "policy.scoring.drift=0.2, which would replace it without a word); expected "
                            "each parameter once (a section given whole may be followed by changes "
                            "inside it)")


def test_a_section_given_whole_may_be_changed_inside():
    s = ss.load_scenario("essay", {"policy.scoring": {"initial": 900, "drift": 0.2},
                                   "policy.scoring.drift": 0.3})
    assert (s.policy.scoring.initial, s.policy.scoring.drift) == (900, 0.3)
    s = ss.load_scenario("essay", ["policy.scoring={initial: 900}", "policy.scoring.drift=0.3"])
    assert (s.policy.scoring.initial, s.policy.scoring.drift) == (900, 0.3)


def test_the_command_lines_later_option_is_laid_over_the_earlier():
    assert lay_over(["a.b=1", "a.c=2"], ["a.b=3"]) == ["a.c=2", "a.b=3"]
    assert lay_over(["a.b=1"], ["a={c: 2}"]) == ["a={c: 2}"]
    assert lay_over(["a={b: 1}"], ["a.b=3"]) == ["a={b: 1}", "a.b=3"]
    r = CliRunner().invoke(app, ["scenarios", "--show", "essay", "--set", "run.days=3",
                                 "--set", "run.days=4"])
    assert r.exit_code == 2 and "--set gives 'run.days' twice" in r.stderr


# ------------------------------------------------------------------ 5. nothing made for a refused run
def test_a_run_refused_before_building_makes_no_store(tmp_path):
    with pytest.raises(ss.ScorestateError, match="of memory at its peak"):
        ss.run(essay(population=10**9, days=2), store=tmp_path / "big.duckdb")
    bad = tmp_path / "ties.csv"
    bad.write_text("0,1\n1,x\n")
    with pytest.raises(ss.ScorestateError, match="is not a whole number"):
        ss.run(essay({"network.kind": "edgelist", "network.edgelist": str(bad)}, population=None),
               store=tmp_path / "edges.duckdb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ties.csv"]
    with pytest.raises(ss.StoreError, match=r"the folder .* does not exist"):  # still before building
        ss.run(essay(population=10**9), store=tmp_path / "typo" / "runs.duckdb")
    result = ss.run(essay(days=2), store=tmp_path / "runs.duckdb")  # a new store, made once built
    assert ss.list_runs(tmp_path / "runs.duckdb")["run_id"].to_list() == [result.run_id]


def test_the_command_refused_before_building_makes_no_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["run", "-n", str(10**9), "-d", "2", "--store", "big.duckdb"])
    assert r.exit_code == 2 and "of memory at its peak" in r.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 6. a scenario from a mapping
def test_a_scenario_mapping_is_validated_as_a_file_is(tmp_path):
    town = {"name": "town", "population": {"size": 500},
            "policy": {"enabled": True, "scoring": {"points": {"alcohol": -10}}}}
    f = tmp_path / "town.yaml"
    f.write_text(yaml.safe_dump(town))
    from_mapping = ss.load_scenario(town, {"run.days": 5}, seed=3)
    assert from_mapping == ss.load_scenario(f, {"run.days": 5}, seed=3)
    assert from_mapping.policy.scoring.points["alcohol"] == -10 and town["population"] == {"size": 500}
    with pytest.raises(ss.ScenarioError, match=r"^scenario mapping: unknown field 'populaton'; expected"):
        ss.load_scenario({"populaton": {"size": 5}})
    with pytest.raises(ss.ScenarioError, match=r"'population\.size' input should be"):
        ss.load_scenario({"population": {"size": "many"}})
    with pytest.raises(ss.ScenarioError, match="scenario mapping gives 'overrides'"):
        ss.load_scenario({"overrides": []})


# ------------------------------------------------------------------ 7. phases after the last day
def test_phases_after_the_last_day_are_warned_of_once():
    with pytest.warns(ss.NotReachedWarning) as caught:
        ss.load_scenario("essay", days=20)
    assert len(caught) == 1 and issubclass(ss.NotReachedWarning, UserWarning)
    assert str(caught[0].message) == ("essay: 20 days do not reach phase 'the score for everything' "
                                      "(day 30), phase 'the smart home' (day 180); raise run.days "
                                      "(days=) to see what they do")
    assert Path(caught[0].filename) == Path(__file__)  # the user's line, not scorestate's
    with warnings.catch_warnings():
        warnings.simplefilter("error", ss.NotReachedWarning)
        ss.load_scenario("essay")  # all its days: nothing to say


def test_the_command_line_notes_them_in_its_own_words_only(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = CliRunner().invoke(app, ["run", "essay", "-n", "300", "-d", "2", "--store",
                                     str(tmp_path / "runs.duckdb")])
    assert r.exit_code == 0, r.output
    assert not [w for w in caught if issubclass(w.category, ss.NotReachedWarning)]
    assert "2 days do not reach phase 'the score for everything' (day 30)" in r.stderr


# ------------------------------------------------------------------ 8. small things a notebook meets
def test_an_unknown_metric_is_a_scorestate_error_with_close_names():
    with pytest.raises(ss.ScorestateError, match=r"'chiling' is not a column .*did you mean 'chilling'") as e:
        ss.metric_docs.describe("chiling")
    assert isinstance(e.value, KeyError) and not str(e.value).startswith('"')
    with pytest.raises(ss.ScorestateError, match="did you mean 'denied_flight'"):
        ss.metric_docs.describe("denied_fligt")


def test_load_scenario_shows_its_shortcuts():
    for function in (ss.load_scenario, load.load_scenario):
        parameters = inspect.signature(function).parameters
        assert [parameters[k].kind for k in ("population", "days", "seed")] == [
            inspect.Parameter.KEYWORD_ONLY] * 3
    assert "mapping" in ss.load_scenario.__doc__
    with pytest.raises(TypeError):
        ss.load_scenario("essay", populaton=3)


def test_a_stored_run_names_its_id_as_a_result_does(tmp_path):
    result = ss.run(essay(days=2), store=tmp_path / "runs.duckdb")
    assert ss.open_run(result.run_id[-6:], store=tmp_path / "runs.duckdb").run_id == result.run_id
