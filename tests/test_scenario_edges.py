"""Edges of scenario input: each bad input refused with one message saying what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import scorestate as ss
from scorestate.errors import ConditionError, ScenarioError
from scorestate.scenario.load import load_scenario, preset_names, resolved_yaml, scenario_from_dict

DATA = Path(__file__).parent / "data"


# 1. `overrides` is scorestate's own record
def test_a_scenario_file_may_not_give_overrides(tmp_path: Path) -> None:
    f = tmp_path / "fake.yaml"
    f.write_text("policy: {scoring: {drift: 0}}\noverrides: ['policy.scoring.drift=0.9; totally fake']\n")
    with pytest.raises(ScenarioError, match="gives 'overrides', which scorestate writes itself"):
        load_scenario(str(f))


def test_stored_scenarios_with_overrides_still_load() -> None:
    again = load_scenario("essay", ["policy.scoring.drift=0.1"], population=50, days=3)
    assert scenario_from_dict(again.model_dump(mode="json")).overrides == ["policy.scoring.drift=0.1"]
    for f in DATA.glob("*_scenario.json"):
        scenario_from_dict(json.loads(f.read_text()), label=f.name)


def test_resolved_yaml_with_overrides_runs_as_a_file(tmp_path: Path) -> None:
    s = load_scenario("essay", ["policy.scoring.drift=0.2", "policy.blacklist.entry.score=score < 850"],
                      days=40)
    text = resolved_yaml(s)
    assert "# overrides:" in text and "# - policy.scoring.drift=0.2" in text
    f = tmp_path / "shown.yaml"
    f.write_text(text)
    again = load_scenario(str(f))
    assert again.overrides == [] and again == s.model_copy(update={"overrides": []})


# 2. a phase's parameter given twice through two spellings
@pytest.mark.parametrize("changes", [
    {"policy.scoring.points.alcohol": -5, "policy": {"scoring": {"points": {"alcohol": -50}}}},
    {"policy": {"scoring": {"points": {"alcohol": -50}}}, "policy.scoring.points.alcohol": -5},
    {"policy.scoring.points": {"alcohol": -50}, "policy.scoring.points.alcohol": -5},
])
def test_a_phase_change_given_twice_is_refused(tmp_path: Path, changes: dict) -> None:
    f = tmp_path / "twice.yaml"
    f.write_text(yaml.safe_dump({"timeline": {"phases": [{"day": 3, "set": changes}]}}, sort_keys=False))
    with pytest.raises(ScenarioError, match=r"gives 'policy\.scoring\.points\.alcohol' twice"):
        load_scenario(str(f))


def test_a_phase_changing_different_parameters_by_two_spellings_loads(tmp_path: Path) -> None:
    f = tmp_path / "both.yaml"
    f.write_text(yaml.safe_dump({"timeline": {"phases": [{"day": 3, "set": {
        "policy.scoring.points.alcohol": -5, "policy": {"scoring": {"points": {"tobacco": -7}}}}}]}}))
    points = load_scenario(str(f)).timeline.phases[0].set["policy"]["scoring"]["points"]
    assert points == {"alcohol": -5, "tobacco": -7}


# 3. dotted keys in a mapping given by --set
def test_a_phase_set_given_by_override_may_use_dotted_keys() -> None:
    s = load_scenario("essay", ["timeline.phases.0.set={policy.enabled: false}"])
    assert s.timeline.phases[0].set == {"policy": {"enabled": False}}
    s = load_scenario("essay", {"timeline.phases": [{"day": 2, "set": {"policy.scoring.drift": 0.3}}]})
    assert s.timeline.phases[0].set == {"policy": {"scoring": {"drift": 0.3}}}


# 4. a mean degree the population cannot hold
def test_a_mean_degree_beyond_the_population_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"'network\.mean_degree' is 20 but population\.size is 10"):
        load_scenario("essay", ["network.mean_degree=20"], population=10)
    with pytest.raises(ScenarioError, match="at most 9"):
        load_scenario("essay", ["network.mean_degree=10", "population.size=10"])
    assert load_scenario("essay", ["network.mean_degree=9"], population=10).network.mean_degree == 9
    assert load_scenario("essay", population=1).population.size == 1  # the default degree: capped


# 5. huge finite numbers
@pytest.mark.parametrize("override", [
    "population.income_sigma=1e308", "attitudes.approval_base=1e308", "attitudes.approval_age=-1e308",
    "attitudes.approval_noise=1e308", "policy.scoring.points.alcohol=1e308",
    "policy.scoring.points.dissent_public=-1e7", "policy.leniency.penalty_multiplier=[1e308, 1, 1]",
    "behaviour.alcohol.weight=1e308", "behaviour.dissent.base=-1e308", "behaviour.deterrence=1e308",
])
def test_huge_numbers_are_refused(override: str) -> None:
    with pytest.raises(ScenarioError, match=r"less than or equal|greater than or equal|expected"):
        load_scenario("essay", [override])


def test_presets_and_stored_scenarios_are_within_the_bounds() -> None:
    for name in preset_names():
        load_scenario(name)
    for f in DATA.glob("*_scenario.json"):
        scenario_from_dict(json.loads(f.read_text()), label=f.name)


def test_a_run_at_the_bounds_is_finite() -> None:
    import warnings

    s = load_scenario("essay", ["policy.scoring.points.alcohol=-1e6", "attitudes.approval_base=1e3",
                                "population.income_sigma=5", "behaviour.alcohol.weight=1e3",
                                "policy.leniency.penalty_multiplier=[1000, 1000, 1000]"],
                      population=200, days=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.simulate(s)


# 6. division by a literal 0
@pytest.mark.parametrize("condition", ["score / 0 < 1", "score / (1 - 1) < 1", "score / 0.0 > 2"])
def test_a_condition_dividing_by_zero_is_refused(condition: str) -> None:
    with pytest.raises(ConditionError, match=r"policy.blacklist.entry.score: the condition .* divides "
                                             r"'score' by .*, which is 0"):
        load_scenario("essay", {"policy.blacklist.entry.score": condition})


def test_a_condition_dividing_by_a_column_loads() -> None:
    load_scenario("essay", {"policy.blacklist.entry.score": "score / (age + 1) < 20"})


# 7. a file named like a preset
def test_a_file_named_like_a_preset_is_not_silently_ignored(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "essay").write_text("name: mine\npopulation: {size: 50}\n")
    with pytest.raises(ScenarioError, match=r"names both a preset and the file 'essay'.*\./essay"):
        load_scenario("essay")
    assert load_scenario("./essay").name == "mine"
    (tmp_path / "essay.yaml").write_text("name: mine too\n")
    assert load_scenario("essay.yaml").name == "mine too"
    (tmp_path / "essay").unlink()
    (tmp_path / "essay").mkdir()  # a folder of that name (a report's, say) is no scenario
    assert load_scenario("essay").name == load_scenario("baseline", ["name=essay"]).name
