"""Comparing two policies with common random numbers: exact zeros, real effects, measured gains."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.compare import Comparison, compare
from scorestate.cli import app
from scorestate.errors import ScorestateError
from scorestate.metrics import HEADLINE

runner = CliRunner()
# A lower listing threshold lists people within weeks, so small runs have a blacklist to compare.
QUICK_LIST = {"policy.blacklist.entry.score": "score < 950"}


@functools.lru_cache(maxsize=4)
def essay_vs_baseline() -> Comparison:
    a = ss.load_scenario("baseline", QUICK_LIST, population=1000, days=90)
    b = ss.load_scenario("essay", QUICK_LIST, population=1000, days=90)
    return compare(a, b, replicates=3, seed=0)


def test_identical_scenarios_differ_by_exactly_zero():
    a = ss.load_scenario("essay", QUICK_LIST, population=500, days=45)
    b = ss.load_scenario("essay", QUICK_LIST, population=500, days=45)
    c = compare(a, b, replicates=2, seed=3)
    assert c.same_citizens
    assert c.metrics["metric"].to_list() == list(HEADLINE)
    for row in c.metrics.iter_rows(named=True):
        if math.isnan(row["a_mean"]):  # undefined under both (e.g. nobody to take a ratio over)
            assert math.isnan(row["b_mean"]) and row["n"] == 0
            continue
        assert row["n"] == 2
        assert row["difference"] == 0.0 and row["se"] == 0.0, row["metric"]
        assert row["ci_low"] == 0.0 and row["ci_high"] == 0.0
        assert row["a_mean"] == row["b_mean"]
    assert c.metric("blacklist_share")["a_mean"] > 0, "the test must compare something non-trivial"
    assert (c.fates["a_only"] == 0).all() and (c.fates["b_only"] == 0).all()
    assert c.fates.filter(fate="blacklisted", grouping="all")["both"].item() > 0
    # the paired values are the same runs: replicate by replicate, A equals B exactly
    frame = c.replicates_frame.drop_nans(subset=["a"])
    assert (frame["a"] == frame["b"]).all()


def test_essay_lists_more_citizens_than_baseline_with_a_ci_excluding_zero():
    c = essay_vs_baseline()
    row = c.metric("blacklist_share")
    assert row["a_mean"] == 0.0, "baseline has no list"
    assert row["difference"] > 0 and row["ci_low"] > 0
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    approval = c.metric("approval_mean")
    assert approval["ci_high"] < 0, "the sanctioned approve less"
    # the fates by group add up to the whole
    listed = c.fates.filter(fate="blacklisted")
    total = listed.filter(grouping="all")["b_only"].item()
    assert total > 0 and listed.filter(grouping="all")["a_only"].item() == 0
    for grouping in ("settlement", "education", "income_quintile", "official_rank"):
        part = listed.filter(grouping=grouping)
        assert part["b_only"].sum() == total and part["population"].sum() == 1000
    assert c.fates.filter(fate="travel_denied", grouping="all")["b_only"].item() == total


def test_common_random_numbers_reduce_variance_measured():
    """Two nearby policies: paired on a seed they differ by the policy alone; independently
    drawn, by the whole of the luck (citizens, network, draws) as well."""
    a = ss.load_scenario("essay", QUICK_LIST, population=600, days=60)
    b = ss.load_scenario("essay", {**QUICK_LIST, "policy.scoring.drift": 0.004}, population=600, days=60)
    c = compare(a, b, replicates=3, seed=0)
    finite = c.metrics.filter(c.metrics["variance_reduction"].is_finite())
    assert finite.height >= 5
    assert (finite["variance_reduction"] > 1).all(), finite
    recomputed = finite["var_independent"] / finite["var_paired"]
    np.testing.assert_allclose(recomputed.to_numpy(), finite["variance_reduction"].to_numpy())
    assert c.median_variance_reduction > 1
    # the would-have-been rates do not depend on the policy: their paired differences never vary
    for name in ("alcohol_latent_rate", "dissent_latent_rate"):
        row = c.metric(name)
        assert row["var_paired"] == 0.0 and row["var_independent"] > 0 and row["variance_reduction"] is None
    payload = c.to_dict()
    assert payload["median_variance_reduction"] == pytest.approx(c.median_variance_reduction)
    assert payload["independent_seeds"] == [10_000, 10_001, 10_002]
    assert all("variance_reduction" in m for m in payload["metrics"])
    json.dumps(payload, allow_nan=False)


def test_compare_refuses_what_it_cannot_pair():
    a = ss.load_scenario("baseline", population=100, days=5)
    with pytest.raises(ScorestateError, match=r"replicates must be an integer of at least 2.*got 1"):
        compare(a, a, replicates=1)
    with pytest.raises(ScorestateError, match=r"population\.size is 100 under A and 120 under B"):
        compare(a, ss.load_scenario("essay", population=120, days=5), replicates=2)
    with pytest.raises(ScorestateError, match=r"run\.days is 5 under A and 6 under B"):
        compare(a, ss.load_scenario("essay", population=100, days=6), replicates=2)


# ------------------------------------------------------------------ the command line


def test_cli_compare_json_is_one_object_without_nan():
    r = runner.invoke(app, ["compare", "baseline", "essay", "-n", "400", "-d", "30", "-r", "2",
                            "--seed", "5", "--set", "policy.blacklist.entry.score=score < 980",
                            "--set-b", "policy.scoring.points.alcohol=-20", "--json"])
    assert r.exit_code == 0, r.output

    def no_constants(text: str) -> None:
        raise AssertionError(f"JSON holds {text}")

    payload = json.loads(r.stdout, parse_constant=no_constants)
    assert (payload["a"], payload["b"]) == ("baseline", "essay")
    assert (payload["population"], payload["days"]) == (400, 30)
    assert payload["seeds"] == [5, 6]
    assert {m["metric"] for m in payload["metrics"]} == set(HEADLINE)
    keys = {"a_mean", "b_mean", "difference", "se", "ci_low", "ci_high", "variance_reduction"}
    assert all(keys <= set(m) for m in payload["metrics"])
    blacklist = next(m for m in payload["metrics"] if m["metric"] == "blacklist_share")
    assert blacklist["difference"] > 0
    fates = {(f["fate"], f["grouping"], f["group"]) for f in payload["fates"]}
    assert ("wallet_frozen", "settlement", "rural") in fates and ("blacklisted", "all", "all") in fates


def test_cli_compare_prints_the_tables():
    r = runner.invoke(app, ["compare", "baseline", "essay", "-n", "300", "-d", "40", "-r", "2",
                            "--set", "policy.blacklist.entry.score=score < 990"])
    assert r.exit_code == 0, r.output
    for text in ("metric (last day)", "A mean", "B mean", "95% CI", "variance", "blacklist_share",
                 "fates on the last day", "only under A / only under B", "settlement: urban"):
        assert text in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["nosuch", "essay"], "'nosuch' is neither a preset nor a scenario file"),
    (["baseline", "essay", "-r", "1"], "replicates must be an integer of at least 2"),
    (["baseline", "essay", "--set-a", "policy.bogus=1"], "unknown field 'policy.bogus'"),
])
def test_cli_compare_bad_input_is_one_message_and_exit_2(args: list[str], message: str):
    r = runner.invoke(app, ["compare", *args, "-n", "50", "-d", "3"])
    assert r.exit_code == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_cli_compare_can_store_the_first_seeds_runs_for_a_report(tmp_path):
    from typer.testing import CliRunner

    from scorestate.cli import app

    store = tmp_path / "c.duckdb"
    r = CliRunner().invoke(app, ["compare", "baseline", "essay", "-r", "2", "-n", "400", "-d", "20",
                                 "--seed", "5", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    ids = json.loads(r.stdout)["stored_runs"]
    a, b = ss.open_run(ids["a"], store=store), ss.open_run(ids["b"], store=store)
    assert (a.record.scenario_name, b.record.scenario_name) == ("baseline", "essay")
    assert a.record.seed == b.record.seed == 5
