"""Scenarios: presets, files, overrides, and the messages a user gets for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

import scorestate as ss
from scorestate.errors import ConditionError, ScenarioError
from scorestate.scenario.load import load_scenario, phase_policies, resolved_yaml, scenario_from_dict


def test_presets_listed_and_load():
    names = ss.preset_names()
    assert {"essay", "baseline"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description


def test_essay_has_every_mechanism_switched_on_by_its_last_phase():
    policies = phase_policies(load_scenario("essay"))
    last = policies[-1][1]
    assert all(getattr(last.sharing, s) for s in ("payment", "health", "camera", "platform",
                                                     "court", "smart_home", "registry"))
    assert last.association.penalty > 0 and last.association.drop_rate > 0
    assert last.blacklist.entry and last.gates and last.rewards
    assert last.leniency.penalty_multiplier[2] < 1
    assert last.scoring.points["alcohol"] < 0 < last.scoring.points["health_dose"]
    assert [d for d, _, _ in policies] == [0, 30, 180]


def test_baseline_is_the_same_society_without_the_system():
    essay, base = load_scenario("essay"), load_scenario("baseline")
    for part in ("population", "network", "behaviour", "attitudes"):
        assert getattr(essay, part) == getattr(base, part)
    assert not base.policy.enabled


def test_overrides_by_dotted_path_from_strings_and_mappings():
    a = load_scenario("essay", ["policy.scoring.points.alcohol=-10", "population.size=500"])
    b = load_scenario("essay", {"policy.scoring.points.alcohol": -10}, population=500)
    assert a.model_copy(update={"overrides": []}) == b.model_copy(update={"overrides": []})
    # the record says how each was asked for: -n and friends are settings, not overrides
    assert a.overrides == ["policy.scoring.points.alcohol=-10", "population.size=500"]
    assert b.overrides == ["policy.scoring.points.alcohol=-10"]
    assert a.policy.scoring.points["alcohol"] == -10
    assert a.population.size == 500


def test_override_reaches_a_phase():
    s = load_scenario("essay", ["timeline.phases.0.set.policy.association.penalty=0"])
    assert all(p.association.penalty == 0 for _, p, _ in phase_policies(s))


def test_resolved_yaml_round_trips(tmp_path: Path):
    s = load_scenario("essay", ["policy.blacklist.appeals.rate=0.2"], days=50)
    f = tmp_path / "resolved.yaml"
    f.write_text(resolved_yaml(s))
    # the overrides become comments: a file's own values are its record, not a list of changes
    assert load_scenario(str(f)) == s.model_copy(update={"overrides": []})
    assert "# - policy.blacklist.appeals.rate=0.2" in f.read_text()
    assert scenario_from_dict(s.model_dump(mode="json")) == s


def test_a_scenario_file_with_phases(tmp_path: Path):
    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump({
        "name": "mine",
        "policy": {"sharing": {"payment": True}, "scoring": {"points": {"alcohol": -5}}},
        "timeline": {"phases": [{"day": 10, "name": "harsher",
                                 "set": {"policy.scoring.points.alcohol": -20}}],
                     "dismantle_day": 20},
    }))
    s = load_scenario(str(f))
    pts = [p.scoring.points["alcohol"] for _, p, _ in phase_policies(s)]
    assert pts == [-5, -20]
    assert s.timeline.dismantle_day == 20


@pytest.mark.parametrize(("overrides", "expected"), [
    (["population.sizee=5"], "unknown field 'population.sizee'; expected one of: size, urban_share"),
    (["population.size=-5"], "'population.size' input should be greater than 0; got -5"),
    (["population.size=many"], "'population.size' input should be a valid integer"),
    (["run.days=0"], "'run.days' input should be greater than 0; got 0"),
    (["policy.gates.wallet.services=[bread]"], "unknown service 'bread'"),
    (["policy.tiers.lower_bounds=[0, 5]"], "expected as many lower_bounds as names"),
    (["population.education_shares=[0.5, 0.5]"], "expected four non-negative shares that sum to 1"),
])
def test_bad_values_are_named_with_what_was_expected(overrides, expected):
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", overrides)
    assert expected in str(e.value)
    assert str(e.value).startswith("override") or str(e.value).startswith("preset 'essay'")


def test_condition_naming_an_unknown_column_is_refused():
    with pytest.raises(ConditionError) as e:
        load_scenario("essay", ["policy.gates.wallet.condition=not health_compliantt"])
    msg = str(e.value)
    assert "policy.gates.wallet.condition" in msg
    assert "unknown column 'health_compliantt'" in msg


@pytest.mark.parametrize("hostile", [
    "__import__('os').system('touch /tmp/scorestate-pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "score ** 999999999",
])
def test_hostile_condition_strings_never_run(hostile):
    with pytest.raises(ConditionError):
        load_scenario("essay", {"policy.blacklist.exit": hostile})
    assert not Path("/tmp/scorestate-pwned").exists()


def test_condition_in_a_phase_is_checked_at_load():
    with pytest.raises(ConditionError) as e:
        load_scenario("essay", ["timeline.phases.0.set.policy.gates.low_tier_loans.condition=tier <= 'Z'"])
    assert "timeline.phases[0]" in str(e.value) and "tiers are D, C, B, A, AA, AAA" in str(e.value)


def test_missing_file_and_unknown_preset():
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario("no/such/file.yaml")
    with pytest.raises(ScenarioError, match="neither a preset nor a scenario file"):
        load_scenario("esay")


def test_malformed_yaml_and_yaml_tags_are_refused(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("population: {size: 5\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_scenario(str(bad))
    tag = tmp_path / "tag.yaml"
    tag.write_text("population: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(str(tag))
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(str(listy))


def test_phases_may_only_change_the_policy():
    with pytest.raises(ScenarioError, match="phases may only change policy"):
        scenario_from_dict({"timeline": {"phases": [{"day": 3, "set": {"population.size": 5}}]}})


@pytest.mark.parametrize(("override", "path", "got"), [
    ("policy.scoring.points.alcohol=.nan", "policy.scoring.points.alcohol", "nan"),
    ("behaviour.alcohol.base=.nan", "behaviour.alcohol.base", "nan"),
    ("behaviour.alcohol.weight=.inf", "behaviour.alcohol.weight", "inf"),
    ("attitudes.approval_base=-.inf", "attitudes.approval_base", "-inf"),
    ("attitudes.perceived_initial=.nan", "attitudes.perceived_initial", "nan"),  # bounded
    ("policy.leniency.penalty_multiplier=[.nan, 1, 1]", "policy.leniency.penalty_multiplier.0", "nan"),
    ("policy.tiers.lower_bounds=[0, 600, 850, 960, 1030, .inf]", "policy.tiers.lower_bounds.5", "inf"),
    ("timeline.phases.0.set.policy.scoring.points.alcohol=.nan", "policy.scoring.points.alcohol", "nan"),
])
def test_non_finite_numbers_are_refused(override, path, got):
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", [override])
    assert f"'{path}' expected a finite number; got {got}" in str(e.value)


def test_non_finite_numbers_in_a_file_and_from_python_are_refused(tmp_path: Path):
    f = tmp_path / "nan.yaml"
    f.write_text("behaviour:\n  alcohol: {weight: .inf}\n")
    message = r"'behaviour\.alcohol\.weight' expected a finite number; got inf"
    with pytest.raises(ScenarioError, match=message):
        load_scenario(str(f))
    with pytest.raises(ScenarioError, match="expected a finite number; got nan"):
        load_scenario("essay", {"policy.scoring.points.alcohol": float("nan")})


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_scenario_file_is_refused(tmp_path: Path, text: str):
    f = tmp_path / "empty.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(f))
    assert f"scenario file '{f}' is empty; expected a YAML mapping" in str(e.value)
    assert "`population: {size: 20000}`" in str(e.value)


@pytest.mark.parametrize(("text", "key", "lines"), [
    ("name: a\npopulation: {size: 500}\nname: b\n", "name", "lines 1 and 3"),
    ("population:\n  size: 500\n  urban_share: 0.5\n  size: 600\n", "size", "lines 2 and 4"),
])
def test_a_key_given_twice_is_refused(tmp_path: Path, text: str, key: str, lines: str):
    f = tmp_path / "twice.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError, match=f"gives the key '{key}' twice \\({lines}\\)"):
        load_scenario(str(f))


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path):
    f = tmp_path / "merge.yaml"
    f.write_text("policy:\n  gates:\n    a: &gate {services: [rail], condition: blacklisted}\n"
                 "    b:\n      <<: *gate\n      services: [flight]\n")
    gates = load_scenario(str(f)).policy.gates
    assert gates["a"].services == ["rail"] and gates["b"].services == ["flight"]
    assert gates["b"].condition == "blacklisted"


def laughs(levels: int) -> str:
    """A few hundred bytes of nested aliases that stand for 10^levels values once expanded."""
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, levels + 1)]
    return "\n".join([*rows, "name: x"]) + "\n"


@pytest.mark.parametrize(("text", "message"), [
    ("a: &a [*a]\n", "an alias \\(\\*name\\) stands for a value that contains it"),
    ("policy: &p {gates: {a: *p}}\n", "an alias .* stands for a value that contains it"),
    (laughs(9), "its aliases \\(\\*name\\) expand to more than 100,000 values"),
])
def test_aliases_that_never_end_or_explode_are_one_message(tmp_path: Path, text: str, message: str):
    """Read on, a list that holds itself would exhaust the stack, and 10^9 values the memory."""
    f = tmp_path / "aliases.yaml"
    f.write_text(text)
    assert len(f.read_bytes()) < 1000
    with pytest.raises(ScenarioError, match=f"is not valid YAML: {message}"):
        load_scenario(str(f))


def test_a_sweep_file_with_endless_aliases_is_one_message(tmp_path: Path):
    from scorestate.sweep.design import load_sweep

    f = tmp_path / "sweep.yaml"
    f.write_text("scenario: essay\nparameters: &p [*p]\n")
    with pytest.raises(ss.ScorestateError, match="not valid YAML: an alias"):
        load_sweep(str(f))


@pytest.mark.parametrize("overrides", [["population.size=500"], {"population": {"size": 5}}])
def test_an_override_and_a_setting_of_one_field_conflict(overrides):
    with pytest.raises(ScenarioError, match=r"'population\.size' is given twice: by the override "
                                            r"population.* and by the setting population=1000"):
        load_scenario("essay", overrides, population=1000)
    assert load_scenario("essay", overrides, days=3).run.days == 3  # a different field: no conflict


def test_unknown_fields_and_acts_in_a_phase_name_the_choices():
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", ["timeline.phases.0.dya=3"])
    assert str(e.value).endswith("unknown field 'timeline.phases.0.dya'; expected one of: day, name, set")
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", ["policy.gates.wallet.sevices=[rail]"])
    assert str(e.value).endswith("expected one of: services, condition, action, multiplier")
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", ["timeline.phases.0.set.policy.scoring.points.alcohl=-3"])
    assert "'policy.scoring.points' unknown act 'alcohl'; expected one of: health_dose," in str(e.value)
    assert str(e.value).endswith("apology, court_judgment")  # no dump of the whole points table


def test_a_single_override_string_is_one_override():
    # iterated, a bare string would be read a character at a time ("override 'p' has no '='")
    assert load_scenario("essay", "policy.scoring.drift=0.1").policy.scoring.drift == 0.1
    assert load_scenario("essay", "policy.scoring.drift=0.1") == load_scenario(
        "essay", ["policy.scoring.drift=0.1"])


@pytest.mark.parametrize(("overrides", "got"), [
    (5, "got 5 (int)"), (["policy.scoring.drift=0.1", 3], "got 3 (int)"),
    ([{"policy.scoring.drift": 0.1}], 'got {"policy.scoring.drift": 0.1} (dict)'),
])
def test_overrides_that_are_neither_a_mapping_nor_strings_are_refused(overrides, got):
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", overrides)
    assert str(e.value).startswith("overrides must be a mapping {PATH: VALUE} or a list of "
                                   "PATH=VALUE strings") and got in str(e.value)


@pytest.mark.parametrize("field", ["edgelist=ties.csv", "edgelist_sha256=" + "ab" * 32])
def test_an_edge_list_without_its_kind_is_refused(field):
    # it used to be ignored without a word: the run then generated its own network
    name = field.partition("=")[0]
    with pytest.raises(ScenarioError) as e:
        load_scenario("baseline", [f"network.{field}"])
    assert (f"network.{name} is set but network.kind is 'homophilous'; expected network.kind: "
            f"edgelist to read the file, or no network.{name}") in str(e.value)


def test_an_edge_list_fingerprint_must_be_a_sha256():
    with pytest.raises(ScenarioError) as e:
        load_scenario("baseline", ["network.kind=edgelist", "network.edgelist=ties.csv",
                                   "network.edgelist_sha256=abc"])
    assert str(e.value).endswith("'network.edgelist_sha256' expected the 64 hex digits of a sha256, "
                                 "as scorestate records them (a scenario one writes leaves it out); "
                                 "got 'abc'")


def test_no_preset_gives_a_population_size():
    # an edge list sets the population and refuses a size the user gave; a size written into a
    # preset would count as given and make every edge-list run of that preset fail
    for name in ss.preset_names():
        assert "size" not in load_scenario(name).population.model_fields_set, name
    assert "size" in load_scenario("essay", population=500).population.model_fields_set
    assert "size" in load_scenario("essay", ["population.size=500"]).population.model_fields_set


def test_a_phase_may_move_tier_bounds_but_not_change_the_tiers():
    """Tier metrics and tier numbers hold for a run: a phase that renames, adds or removes tiers
    is refused, naming the phase; one that moves the bounds runs with the base's tier columns."""
    grades = {"names": ["low", "high"], "lower_bounds": [0.0, 900.0]}
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", {"timeline.phases.1.set.policy.tiers": grades})
    msg = str(e.value)
    assert "timeline.phases.1 ('the smart home', day 180)" in msg
    assert "['low', 'high']" in msg and "D, C, B, A, AA, AAA" in msg
    stricter = [0.0, 700.0, 900.0, 980.0, 1040.0, 1060.0]
    s = load_scenario("essay", {"timeline.phases.0.set.policy.tiers.lower_bounds": stricter},
                      population=300, days=35)
    assert phase_policies(s)[1][1].tiers.lower_bounds == stricter
    r = ss.simulate(s)
    shares = r.metrics.select(pl.col("^tier_share_.*$"))
    assert shares.columns == [f"tier_share_{t}" for t in ("D", "C", "B", "A", "AA", "AAA")]
    assert np.allclose(shares.sum_horizontal().to_numpy(), 1.0)


def test_an_act_lists_at_most_three_sources():
    four = ["camera", "payment", "platform", "registry"]
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", {"policy.surveillance.observes.infraction": four})
    assert "'infraction' lists 4 sources" in str(e.value) and "at most 3" in str(e.value)
    s = load_scenario("essay", {"policy.surveillance.observes.infraction": four[:3]})
    assert s.policy.surveillance.observes["infraction"] == four[:3]


@pytest.mark.parametrize(("path", "value", "section", "untouched"), [
    ("policy.surveillance.camera.urban", 0.9, lambda s: s.policy.surveillance.camera, {"rural": 0.1}),
    ("behaviour.alcohol.base", -2.0, lambda s: s.behaviour.alcohol, {"weight": 5.0}),
    ("population.traits.grievance.mean", 0.5, lambda s: s.population.traits.grievance,
     {"concentration": 3.0}),
])
def test_setting_one_field_of_a_section_leaves_its_siblings_alone(path, value, section, untouched,
                                                                 tmp_path: Path):
    """A section given in part changes only what it names, whether by --set or in a file: the
    rest keeps the field's own default (the camera's rural coverage), not the class's generic one."""
    by_set = load_scenario("baseline", {path: value})
    *parents, last = path.split(".")
    nested: dict = {last: value}
    for key in reversed(parents):
        nested = {key: nested}
    f = tmp_path / "partial.yaml"
    f.write_text(yaml.safe_dump({"name": "partial", **nested}))
    for scenario in (by_set, load_scenario(f)):
        got = section(scenario)
        assert getattr(got, last) == value
        for field, default in untouched.items():
            assert getattr(got, field) == default, (path, field)
    phased = load_scenario("baseline", {"timeline.phases": [{"day": 3, "name": "more cameras", "set": {
        "policy": {"surveillance": {"camera": {"urban": 0.9}}}}}]})
    camera = phase_policies(phased)[1][1].surveillance.camera
    assert (camera.urban, camera.rural) == (0.9, 0.1)


def test_an_unknown_field_is_not_offered_overrides_which_a_file_may_not_give(tmp_path: Path):
    """`overrides` is scorestate's record of the --set values and is refused when given."""
    f = tmp_path / "typo.yaml"
    f.write_text("populaton:\n  size: 300\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(f))
    assert str(e.value).endswith("unknown field 'populaton'; expected one of: name, description, population, "
                                 "network, behaviour, attitudes, policy, timeline, ledger, run")
