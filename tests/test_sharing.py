"""Data-sharing switches decide what the centre knows (MODEL.md step 3): rules that read a
registry's facts (judgments, debts, doses) and guilt by association work only while a source
of those facts feeds the centre."""

from __future__ import annotations

import numpy as np
import pytest

import scorestate as ss

N, DAYS = 5_000, 120


def final_sums(result: ss.RunResult, *names: str) -> dict[str, float]:
    return {name: float(result.metrics[name].sum()) for name in names}


def test_the_court_list_needs_the_courts_to_share():
    changes = {"run.warm_up_days": 0}
    shared = ss.simulate(ss.load_scenario("court-blacklist", changes, population=20_000, days=365))
    assert shared.metrics["blacklist_inflow_court"].sum() > 0
    sim = ss.Simulation(ss.load_scenario("court-blacklist", {**changes, "policy.sharing.court": False},
                                         population=20_000, days=365))
    result = sim.run()
    assert result.metrics["blacklist_inflow"].sum() == 0
    assert result.metrics["denied_flight"].sum() == 0
    assert sim.state.judgment.sum() > 0  # the courts judge as before; the centre does not hear of it


def test_dose_rules_need_the_health_records_to_share():
    reluctant = {"behaviour.health_dose.base": -6.0}  # doses lapse often within a short run
    shared = ss.simulate(ss.load_scenario("essay", reluctant, population=N, days=DAYS, seed=1))
    unshared = ss.simulate(ss.load_scenario("essay", {**reluctant, "policy.sharing.health": False},
                                            population=N, days=DAYS, seed=1))
    assert shared.metrics["blacklist_inflow_dose_refusal"].sum() > 0
    assert shared.metrics["wallet_frozen_share"].max() > 0
    assert unshared.metrics["blacklist_inflow_dose_refusal"].sum() == 0
    assert unshared.metrics["wallet_frozen_share"].max() == 0  # essay's wallet gate reads doses


def test_association_needs_its_source_to_share():
    """With the platform (the source of friendships) switched off, the association penalty and
    tie dropping change nothing; switched on, they do."""
    off = {"timeline.phases.0.set.policy.sharing.platform": False}
    no_penalty = {"timeline.phases.0.set.policy.association.penalty": 0.0,
                  "timeline.phases.0.set.policy.association.drop_rate": 0.0,
                  "timeline.phases.0.set.policy.association.seek_rate": 0.0}

    def run(changes: dict) -> ss.RunResult:
        return ss.simulate(ss.load_scenario("essay", changes, population=N, days=DAYS, seed=2))

    blind, blind_without = run(off), run({**off, **no_penalty})
    for name in ("score_mean", "score_assortativity", "blacklist_share", "ties_dropped"):
        assert np.array_equal(blind.metrics[name].to_numpy(), blind_without.metrics[name].to_numpy(),
                              equal_nan=True), name
    seeing, seeing_without = run({}), run(no_penalty)
    assert seeing.metrics["ties_dropped"].sum() > seeing_without.metrics["ties_dropped"].sum()
    assert not np.array_equal(seeing.metrics["score_mean"].to_numpy(),
                              seeing_without.metrics["score_mean"].to_numpy())


def test_association_may_name_another_source():
    """The registry (neighbourhood committees) shares from day 30 in essay, as the platform
    does: naming it leaves the run as it was. The smart homes share from day 180: named, they
    leave the first 120 days as if the phase had no association."""
    source = "timeline.phases.0.set.policy.association.source"

    def score_mean(changes: dict) -> list[float]:
        scenario = ss.load_scenario("essay", changes, population=N, days=DAYS, seed=3)
        return ss.simulate(scenario).metrics["score_mean"].to_list()

    base = score_mean({})
    assert score_mean({source: "registry"}) == base
    late = score_mean({source: "smart_home"})
    assert late != base
    assert late == score_mean({"timeline.phases.0.set.policy.association.penalty": 0.0,
                               "timeline.phases.0.set.policy.association.drop_rate": 0.0,
                               "timeline.phases.0.set.policy.association.seek_rate": 0.0})


def test_an_unknown_source_of_friendships_is_one_message():
    with pytest.raises(ss.ScorestateError, match="unknown source 'cameras'; expected one of: payment"):
        ss.load_scenario("essay", {"policy.association.source": "cameras"})


def test_rules_no_shared_source_feeds_are_named():
    from scorestate.policy import unheard

    for preset in ("essay", "court-blacklist", "health-code", "rongcheng", "western-soft", "baseline"):
        assert unheard(ss.load_scenario(preset)) == [], preset
    blind = ss.load_scenario("essay", {"policy.sharing.health": False,
                                       "timeline.phases.0.set.policy.sharing.platform": False})
    assert unheard(blind) == [
        "rules read dose_refused as for nobody on record while policy.sharing.health is off "
        "(phases initial, the score for everything, the smart home)",
        "rules read health_compliant as for nobody on record while policy.sharing.health is off "
        "(phases initial, the score for everything, the smart home)",
        "guilt by association does nothing while policy.sharing.platform (the source of who is "
        "whose friend) is off (phases the score for everything, the smart home)"]


def test_the_command_line_notes_a_rule_no_source_feeds(tmp_path):
    from typer.testing import CliRunner

    from scorestate.cli import app

    result = CliRunner().invoke(app, ["run", "court-blacklist", "-n", "500", "-d", "2", "--set",
                                      "run.warm_up_days=0", "--set", "policy.sharing.court=false",
                                      "--store", str(tmp_path / "s.duckdb"), "--json"])
    assert result.exit_code == 0, result.output
    assert ("scorestate: note: court-blacklist: rules read court_judgment_unpaid as for nobody on "
            "record while policy.sharing.court is off (phase initial)") in result.stderr


def test_a_rule_on_the_neighbours_needs_the_source_of_friendships():
    """Guilt by association as a listing rule (Watts' threshold) lists nobody while the centre
    does not know who is whose friend."""
    from scorestate.policy import unheard

    rule = {"policy.blacklist.seed_share": 0.01,
            "policy.blacklist.entry": {"association": "frac_neighbours_blacklisted >= 0.05"}}

    def listed(share_friends: bool) -> float:
        scenario = ss.load_scenario("baseline", {**rule, "policy.enabled": True,
                                                 "policy.sharing.platform": share_friends},
                                    population=N, days=20, seed=4)
        return float(ss.simulate(scenario).metrics["blacklist_inflow_association"].sum())

    assert listed(True) > 0 and listed(False) == 0
    blind = ss.load_scenario("baseline", {**rule, "policy.enabled": True})
    assert unheard(blind) == ["rules read frac_neighbours_blacklisted as for nobody on record while "
                              "policy.sharing.platform is off (phase initial)"]
