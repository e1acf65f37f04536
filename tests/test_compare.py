"""Comparing two policies with common random numbers: exact zeros, real effects, measured gains."""

from __future__ import annotations

import functools
import io
import json
import math
import re

import numpy as np
import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import scorestate as ss
import scorestate.cli.compare as cli_compare
from scorestate.analysis.compare import (
    BOOTSTRAP_FROM,
    FATES,
    REDUCTION_STATUS,
    ROUGH_BELOW,
    Comparison,
    _median_range,
    _resamples,
    _rough_note,
    _summary,
    compare,
    fates_frame_empty,
    ratio_spread,
)
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
        assert row["variance_reduction_status"] == "infinite"
    assert (finite["variance_reduction_status"] == "measured").all()
    payload = c.to_dict()
    assert payload["median_variance_reduction"] == pytest.approx(c.median_variance_reduction)
    assert payload["independent_seeds"] == [10_000, 10_001, 10_002]
    assert all("variance_reduction" in m for m in payload["metrics"])
    json.dumps(payload, allow_nan=False)


def test_compare_refuses_what_it_cannot_pair():
    a = ss.load_scenario("baseline", population=100, days=5)
    with pytest.raises(ScorestateError, match=r"replicates must be an integer of at least 2.*got 1"):
        compare(a, a, replicates=1)
    with pytest.raises(ScorestateError, match=r"population\.size is 100 under A and 120 under B; "
                                              r"expected one population\.size for both"):
        compare(a, ss.load_scenario("essay", population=120, days=5), replicates=2)
    with pytest.raises(ScorestateError, match=r"run\.days is 5 under A and 6 under B; expected one"):
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
    keys = {"a_mean", "b_mean", "difference", "se", "ci_low", "ci_high", "variance_reduction",
            "variance_reduction_status"}
    assert all(keys <= set(m) for m in payload["metrics"])
    for m in payload["metrics"]:  # a number exactly when measured; otherwise the status says why not
        assert m["variance_reduction_status"] in REDUCTION_STATUS
        assert (m["variance_reduction"] is not None) == (m["variance_reduction_status"] == "measured")
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
    assert r.stderr.startswith("scorestate: error:"), repr(r.stderr)  # no blank line from a progress bar
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.output


def test_cli_compare_side_overrides_say_which_side():
    r = runner.invoke(app, ["compare", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert "for policy A only" in text and "for policy B only" in text


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


# ------------------------------------------------------------------ round-off and small samples

# The reviewer's alcohol_rate: 5,000 citizens, B lists 10 fewer drinkers on both seeds. b - a is
# -0.002 twice up to the last bit, which numpy's variance turns into 6e-36.
ALCOHOL_A = np.array([148, 156]) / 5000
ALCOHOL_B = np.array([138, 146]) / 5000


def test_paired_differences_equal_up_to_round_off_give_a_zero_width_ci_and_infinite_reduction():
    assert 0 < np.var(ALCOHOL_B - ALCOHOL_A, ddof=1) < 1e-30, "the case must carry round-off"
    row = _summary(ALCOHOL_A, ALCOHOL_B, np.array([141, 160]) / 5000)
    assert row["difference"] == pytest.approx(-0.002)
    assert row["var_paired"] == 0.0 and row["se"] == 0.0
    assert row["ci_low"] == row["difference"] == row["ci_high"]
    assert row["variance_reduction"] == math.inf and row["variance_reduction_status"] == "infinite"


@pytest.mark.parametrize(("b_independent", "status"), [
    (ALCOHOL_B, "both_constant"),  # independent differences equal up to round-off too
    (np.array([141, 160]) / 5000, "infinite"),
])
def test_round_off_never_makes_an_absurd_reduction(b_independent: np.ndarray, status: str):
    row = _summary(ALCOHOL_A, ALCOHOL_B, b_independent)
    assert row["variance_reduction_status"] == status
    assert not 1e6 < row["variance_reduction"] < math.inf


@pytest.mark.parametrize(("a", "b", "b_independent", "status"), [
    # paired differences vary, the independent ones are equal up to round-off: no ratio of 0
    (ALCOHOL_A, [0.028, 0.0299], ALCOHOL_B, "independent_constant"),
    ([math.nan, 0.0312], [0.028, 0.0296], [0.027, 0.0299], "no_data"),
])
def test_a_reduction_with_nothing_to_measure_is_undefined(a, b, b_independent, status):
    row = _summary(np.array(a), np.array(b), np.array(b_independent))
    assert row["variance_reduction_status"] == status
    assert math.isnan(row["variance_reduction"])


def test_a_real_but_tiny_variance_is_measured_not_rounded_away():
    """One citizen in 5 million apart: far above round-off, so it must count."""
    a = np.array([0.2, 0.2 + 1e-7])  # A varies too: a side that does not has no reduction at all
    b = a + np.array([0.1, 0.1 + 2e-7])
    row = _summary(a, b, a + np.array([0.1, 0.1 + 4e-7]))
    assert row["var_paired"] > 0 and row["ci_high"] > row["ci_low"]
    assert row["variance_reduction_status"] == "measured"
    assert row["variance_reduction"] == pytest.approx(4.0)


def _hand_built(replicates: int) -> Comparison:
    """A comparison without running anything: one metric with round-off, one with a huge ratio."""
    rows = [
        {"metric": "alcohol_rate", **_summary(ALCOHOL_A, ALCOHOL_B, np.array([141, 160]) / 5000)},
        {"metric": "score_mean", **_summary(np.array([1000.0, 1000.0 + 1e-9]),
                                            np.array([989.0, 989.0 + 2e-9]), np.array([987.0, 991.0]))},
        {"metric": "wallet_frozen_share", **_summary(np.zeros(2), np.full(2, 0.0004), np.full(2, 0.0004))},
    ]
    return Comparison(a="baseline", b="essay", replicates=replicates, seed=0, population=5000, days=120,
                      same_citizens=True, metrics=pl.DataFrame(rows), fates=fates_frame_empty(),
                      replicates_frame=pl.DataFrame(),
                      notes=[_rough_note(replicates)] if replicates < ROUGH_BELOW else [])


def test_json_tells_an_infinite_reduction_from_an_undefined_one():
    payload = json.loads(json.dumps(_hand_built(2).to_dict(), allow_nan=False))
    by = {m["metric"]: m for m in payload["metrics"]}
    assert by["alcohol_rate"]["variance_reduction"] is None
    assert by["alcohol_rate"]["variance_reduction_status"] == "infinite"
    assert by["wallet_frozen_share"]["variance_reduction"] is None
    assert by["wallet_frozen_share"]["variance_reduction_status"] == "both_constant"
    assert by["score_mean"]["variance_reduction_status"] == "measured"
    assert by["score_mean"]["variance_reduction"] > 1e15


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("replicates", [2, 5])
def test_table_keeps_numbers_whole_at_narrow_widths(monkeypatch, width: int, replicates: int):
    console = Console(width=width, record=True, file=io.StringIO())
    monkeypatch.setattr(cli_compare, "out", console)
    cli_compare.print_comparison(_hand_built(replicates))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    lines: dict[str, list[str]] = {}
    for line in text.splitlines():  # the table's rows: the first line to start with each word
        if line.strip():
            lines.setdefault(line.split()[0], line.split())
    # metric, A mean, B mean, B - A, 95% CI, variance reduction: each whole, each compact
    assert lines["alcohol_rate"] == ["alcohol_rate", "0.0304", "0.0284", "-0.002", "±0", "inf"]
    assert lines["score_mean"][1:4] == ["1,000.0", "989.0", "-11"]
    assert re.fullmatch(r"\d\.\de\+\d\dx", lines["score_mean"][5]), lines["score_mean"]  # e.g. 1.6e+19x
    assert lines["wallet_frozen_share"][5] == "-"
    flat = " ".join(text.split())
    assert "inf: the paired differences did not vary (up to round-off) while the independent did " \
           "(alcohol_rate)" in flat
    assert "-: neither the paired nor the independent differences varied (wallet_frozen_share)" in flat
    assert f"note: from {replicates} replicates the variance reductions are rough" in flat
    assert "no citizen's fate (blacklisted, wallet frozen, travel denied) on the last day differs" in flat


def test_compare_runs_both_policies_on_a_networkx_graph() -> None:
    """A society imported from networkx is compared like any other: both policies, same ties."""
    import networkx as nx

    import scorestate as ss

    graph = nx.les_miserables_graph()
    a = ss.load_scenario("baseline", days=20)
    b = ss.load_scenario("essay", days=20)
    result = ss.compare(a, b, replicates=2, graph=graph)
    assert result.population == graph.number_of_nodes()
    without = pytest.raises(ss.ScorestateError, match="graph=")
    with without:
        ss.compare(a.model_copy(update={"network": a.network.model_copy(update={"kind": "graph"})}),
                   b, replicates=2)


def test_cli_compare_says_what_makes_the_sides_differ():
    """`compare essay essay --set-b ...` would otherwise read as a policy against itself."""
    r = runner.invoke(app, ["compare", "essay", "essay", "-n", "300", "-d", "5", "-r", "2",
                            "--set-b", "policy.scoring.drift=0.1"])
    assert r.exit_code == 0, r.output
    assert "B (essay) with policy.scoring.drift=0.1" in " ".join(r.stdout.split())
    assert "A (essay) with" not in r.stdout


# ------------------------------------------------------------------ the scenario's own seed, the same people
def test_compare_starts_at_scenario_as_own_seed():
    """`load_scenario(..., seed=7)` then `compare(a, b)` used to run seeds 0 and 1 regardless."""
    a = ss.load_scenario("baseline", QUICK_LIST, population=300, days=20, seed=7)
    b = ss.load_scenario("essay", QUICK_LIST, population=300, days=20, seed=7)
    c = compare(a, b, replicates=2)
    assert c.seed == 7 and c.to_dict()["seeds"] == [7, 8]
    first = {r["metric"]: r["a"] for r in c.replicates_frame.filter(pl.col("replicate") == 0).to_dicts()}
    alone = ss.simulate(a).final  # replicate 0 under A is the run simulate(a) makes
    assert {k: None if math.isnan(v) else v for k, v in first.items()} == alone
    assert compare(a, b, replicates=2, seed=0).seed == 0  # an explicit seed still wins


@pytest.mark.parametrize(("change", "field"), [
    ({"population.traits.grievance.mean": 0.5}, "population.traits.grievance.mean (0.3 under A, 0.5 "),
    ({"population.traits.smart_home.mean": 0.6}, "population.traits.smart_home.mean (0.3 under A, 0.6 "),
    ({"network.mean_degree": 8}, "network.mean_degree (12.0 under A, 8.0 under B)"),
])
def test_compare_names_the_society_fields_that_differ(change, field):
    """Traits and smart-home adoption were missing from a hand-picked list of citizen columns."""
    a = ss.load_scenario("baseline", population=300, days=10)
    c = compare(a, ss.load_scenario("baseline", change, population=300, days=10), replicates=2)
    assert not c.same_citizens
    (note,) = [n for n in c.notes if "different citizens" in n]
    assert note.startswith("the two scenarios build different citizens or ties: they differ in ")
    assert field in note and note.endswith(". So the fates compare different people and the pairing "
                                           "gains less")


@pytest.mark.parametrize(("replicates", "spread", "ranges"), [
    (2, "648", "no range is shown: fewer than 5 replicates give a bootstrap too few distinct resamples"),
    # 5, the default, said nothing, yet a ratio from 4 degrees of freedom a side is off by up to 9.6x
    (5, "9.6", "the 95% ranges shown are a bootstrap over the 5 replicates, approximate and if anything "
               "too narrow"),
])
def test_compare_says_how_wide_a_reduction_from_few_replicates_is(replicates, spread, ranges):
    a = ss.load_scenario("essay", population=300, days=10)
    c = compare(a, a, replicates=replicates)
    assert c.same_citizens
    dof = replicates - 1
    degrees = "degree" if dof == 1 else "degrees"
    assert c.notes == [f"from {replicates} replicates the variance reductions are rough: each is a ratio "
                       f"of two variances with {dof} {degrees} of freedom, whose 95% range spans about "
                       f"×/÷{spread} (F({dof}, {dof}), were the two independent); {ranges}. It takes 35 "
                       f"replicates to narrow that to ×/÷2"]


def test_the_rough_note_stops_where_a_ratio_is_within_a_factor_of_two():
    assert ROUGH_BELOW == 35
    assert ratio_spread(ROUGH_BELOW) <= 2 < ratio_spread(ROUGH_BELOW - 1)
    assert ratio_spread(5) == pytest.approx(9.6, abs=0.01)


# ------------------------------------------------------------------ what the numbers rest on


def _printed(comparison: Comparison, width: int = 100) -> str:
    """What `print_comparison` writes, with its line breaks folded to single spaces."""
    console = Console(width=width, record=True, file=io.StringIO())
    cli_compare.out, saved = console, cli_compare.out
    try:
        cli_compare.print_comparison(comparison)
    finally:
        cli_compare.out = saved
    return " ".join(console.export_text().split())


def test_the_means_are_over_the_pairs_the_difference_uses():
    """A's mean was over A's finite replicates and B's over B's: with a NaN under A alone the two
    means no longer differed by B - A."""
    row = _summary(np.array([math.nan, 0.5, 0.7]), np.array([0.9, 0.6, 0.9]), np.array([0.8, 0.4, 0.9]))
    assert row["n"] == 2
    assert row["a_mean"] == pytest.approx(0.6) and row["b_mean"] == pytest.approx(0.75)
    assert row["difference"] == pytest.approx(row["b_mean"] - row["a_mean"])


def test_the_table_names_the_metrics_over_fewer_replicates():
    nan_under_a = _summary(np.array([math.nan, 0.5, 0.7]),
                           np.array([0.9, 0.6, 0.9]), np.array([0.8, 0.4, 0.9]))
    whole = _summary(np.array([0.5, 0.6, 0.7]), np.array([0.4, 0.6, 0.6]), np.array([0.3, 0.4, 0.9]))
    rows = [{"metric": "blacklisted_degree_ratio", **nan_under_a}, {"metric": "approval_mean", **whole}]
    c = Comparison(a="baseline", b="essay", replicates=3, seed=0, population=5000, days=120,
                   same_citizens=True, metrics=pl.DataFrame(rows), fates=fates_frame_empty(),
                   replicates_frame=pl.DataFrame())
    text = _printed(c)
    assert "t(0.975, n-1)" in text and "R-1" not in text
    assert "the means and B - A are over n of them: blacklisted_degree_ratio (n=2)" in text
    assert "approval_mean (n=" not in text


def test_a_comparison_prints_as_one_line():
    """The default repr printed all three frames, some thousands of characters."""
    c = _hand_built(5)
    text = repr(c)
    assert "\n" not in text and len(text) < 250, text
    assert text == ("Comparison(a='baseline', b='essay', replicates=5, seeds=0..4, population=5,000, "
                    f"days=120, same_citizens=True, metrics=3x{c.metrics.width}, fates=0x7, "
                    "replicates_frame=0x0, notes=1)")


def test_compare_says_when_it_ignored_bs_own_seed():
    """`compare(load(..., seed=1), load(..., seed=5))` ran B on A's seeds without a word."""
    a = ss.load_scenario("baseline", population=200, days=5, seed=1)
    c = compare(a, ss.load_scenario("essay", population=200, days=5, seed=5), replicates=2)
    assert c.seed == 1
    assert ("B's run.seed (5) differs from A's (1) and was ignored: both policies run on the same seeds, "
            "1 to 2 (from seed=, or A's run.seed without it)") in c.notes
    same = compare(a, ss.load_scenario("essay", population=200, days=5, seed=1), replicates=2)
    assert not [n for n in same.notes if "run.seed" in n]



# ------------------------------------------------------------------ a side that does not vary

# blacklist_share, baseline against essay, 5 replicates: A is 0 on every seed, so B - A is B and
# the "reduction" is var(B on other seeds) / var(B): noise around 1 (it read 5.0x).
LISTED = np.array([0.0004, 0.0006, 0.0011, 0.0003, 0.0006])
LISTED_ELSEWHERE = np.array([0.0012, 0.0002, 0.0009, 0.0013, 0.0001])


@pytest.mark.parametrize("constant_side", ["a", "b"])
def test_a_metric_constant_under_one_policy_gets_no_reduction(constant_side: str):
    zeros = np.zeros(5)
    a, b = (zeros, LISTED) if constant_side == "a" else (LISTED, zeros)
    row = _summary(a, b, LISTED_ELSEWHERE if constant_side == "a" else zeros + 1e-4 * np.arange(5))
    assert row["variance_reduction_status"] == "one_side_constant"
    assert math.isnan(row["variance_reduction"])
    assert "the true ratio is 1" in REDUCTION_STATUS["one_side_constant"]
    assert row["ci_high"] > row["ci_low"], "the difference itself is still estimated"


def test_a_metric_constant_under_one_policy_is_left_out_of_the_median():
    rows = [{"metric": "blacklist_share", **_summary(np.zeros(5), LISTED, LISTED_ELSEWHERE)},
            {"metric": "approval_mean", **_summary(np.array([0.80, 0.79, 0.81, 0.80, 0.78]),
                                                   np.array([0.71, 0.70, 0.71, 0.71, 0.69]),
                                                   np.array([0.70, 0.72, 0.69, 0.71, 0.70]))}]
    c = Comparison(a="baseline", b="essay", replicates=5, seed=0, population=2000, days=120,
                   same_citizens=True, metrics=pl.DataFrame(rows), fates=fates_frame_empty(),
                   replicates_frame=pl.DataFrame())
    assert c.median_variance_reduction == pytest.approx(c.metric("approval_mean")["variance_reduction"])
    assert "A or B did not vary, so pairing had nothing to cancel (the true ratio is 1); left out of the " \
           "median (blacklist_share)" in _printed(c)



# ------------------------------------------------------------------ how sure a reduction is

# Five replicates of a metric that varies under both: B moves with A (pairing helps), B on other
# seeds does not.
FIVE_A = np.array([0.797, 0.798, 0.797, 0.797, 0.798]) + np.array([0.0, 3e-4, -2e-4, 1e-4, 4e-4])
FIVE_B = FIVE_A - 0.09 + np.array([0.5e-4, 1e-4, -1e-4, 2e-4, 0.0])
FIVE_IND = np.array([0.706, 0.700, 0.712, 0.717, 0.716])


def _by_hand(a: np.ndarray, b: np.ndarray, b_ind: np.ndarray) -> np.ndarray:
    """The bootstrap spelled out: each resample draws whole replicates, A, B and independent B together."""
    out = []
    for rows in _resamples(a.size):
        if len(set(rows)) > 1:  # one replicate drawn R times varies under neither: no ratio
            paired, independent = (b - a)[rows], (b_ind - a)[rows]
            out.append(independent.var(ddof=1) / paired.var(ddof=1))
    return np.array(out)


def test_a_measured_reduction_gets_a_bootstrap_range_over_whole_replicates():
    row = _summary(FIVE_A, FIVE_B, FIVE_IND)
    assert row["variance_reduction_status"] == "measured"
    low, high = row["variance_reduction_low"], row["variance_reduction_high"]
    assert low < row["variance_reduction"] < high
    draws = _by_hand(FIVE_A, FIVE_B, FIVE_IND)
    assert (low, high) == tuple(np.quantile(draws, [0.025, 0.975], method="inverted_cdf"))
    assert _summary(FIVE_A, FIVE_B, FIVE_IND) == row, "a fixed seed: the same runs, the same range"


def test_no_range_below_five_replicates_nor_for_a_reduction_not_measured():
    """From 2 replicates every resample that varies is the sample itself: a range of zero width."""
    assert BOOTSTRAP_FROM == 5
    few = _summary(FIVE_A[:4], FIVE_B[:4], FIVE_IND[:4])
    assert few["variance_reduction_status"] == "measured"
    assert math.isnan(few["variance_reduction_low"]) and math.isnan(few["variance_reduction_high"])
    constant = _summary(np.zeros(5), LISTED, LISTED_ELSEWHERE)
    assert math.isnan(constant["variance_reduction_low"])
    holes = _summary(np.array([math.nan, *FIVE_A[1:4], math.nan]), FIVE_B, FIVE_IND)  # 3 of 5 with values
    assert holes["variance_reduction_status"] == "measured" and holes["n"] == 3
    assert math.isnan(holes["variance_reduction_low"]) and math.isnan(holes["variance_reduction_high"])


def _five_replicates() -> Comparison:
    arrays = {"approval_mean": {"a": FIVE_A, "b": FIVE_B, "b_independent": FIVE_IND},
              "dissent_rate": {"a": FIVE_A / 10, "b": FIVE_B / 10 + 0.004 * np.arange(5) % 3 / 1000,
                               "b_independent": FIVE_IND / 10},
              "blacklist_share": {"a": np.zeros(5), "b": LISTED, "b_independent": LISTED_ELSEWHERE}}
    rows = [{"metric": m, **_summary(x["a"], x["b"], x["b_independent"])} for m, x in arrays.items()]
    return Comparison(a="baseline", b="essay", replicates=5, seed=0, population=2000, days=120,
                      same_citizens=True, metrics=pl.DataFrame(rows), fates=fates_frame_empty(),
                      replicates_frame=pl.DataFrame(), notes=[_rough_note(5)],
                      median_variance_reduction_range=_median_range(arrays, list(arrays)[:2]))


def test_the_median_gets_a_range_and_the_ranges_reach_json_and_the_table():
    c = _five_replicates()
    low, high = c.median_variance_reduction_range
    assert low < c.median_variance_reduction < high
    payload = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert payload["median_variance_reduction_low"] == pytest.approx(low)
    assert payload["median_variance_reduction_high"] == pytest.approx(high)
    approval = c.metric("approval_mean")
    by = {m["metric"]: m for m in payload["metrics"]}
    assert by["approval_mean"]["variance_reduction_low"] == pytest.approx(approval["variance_reduction_low"])
    assert by["blacklist_share"]["variance_reduction_low"] is None
    text = _printed(c, width=80)
    assert "its 95% range" in text
    row = next(line for line in text.split(" approval_mean ")[1:2])
    assert re.match(r"\S+ \S+ \S+ \S+ \d\S*x \d\S*–\d\S*x", row), row
    assert re.search(r"median over the 2 measured: \S+x \(95% range \S+–\S+x\)", text), text



# ------------------------------------------------------------------ the fates: one seed


@pytest.mark.parametrize("differ", [False, True])
def test_the_fates_say_they_come_from_the_first_seed_alone(differ: bool):
    c = _hand_built(5)
    if differ:
        c.fates = pl.DataFrame([{"fate": fate, "grouping": "all", "group": "all", "population": 5000,
                                 "a_only": 0, "b_only": 3, "both": 1} for fate in FATES],
                               schema=fates_frame_empty().schema)
    text = _printed(c, width=100)
    assert ("fates on the last day, seed 0" in text) == differ
    assert (("fates from the first seed (0) alone, one run of each policy: counts from one draw, with no "
             "interval; another seed would pick other citizens") in text) == differ
    assert ("differs between A and B on the first seed (0), one run of each policy; another seed may "
            "differ" in text) != differ
