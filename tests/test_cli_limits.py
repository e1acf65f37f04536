"""Sizes no one means: replicates that would take hours or years are refused before any run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis import compare as compare_module
from scorestate.analysis import findings as findings_module
from scorestate.cli import app
from scorestate.errors import ScorestateError

runner = CliRunner()


@pytest.fixture
def no_runs(monkeypatch):
    """Fail the test if any simulation starts: the refusal must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(compare_module, "_run", refuse)
    monkeypatch.setattr(findings_module.Lab, "outcomes", refuse)


def test_compare_refuses_replicates_beyond_its_cap(no_runs):
    result = runner.invoke(app, ["compare", "baseline", "essay", "-r", "100000000", "-n", "1000"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "at most 1,000" in text and "got 100,000,000" in text
    assert "fixed limit" in text and "3 runs of 1,000 citizens" in text
    assert "would take about 634 days" in text


def test_findings_refuses_replicates_beyond_its_cap(no_runs, tmp_path):
    out = tmp_path / "f.md"
    result = runner.invoke(app, ["findings", "-r", "1000000000", "-o", str(out)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"at most {findings_module.MAX_REPLICATES}" in text and "got 1,000,000,000" in text
    assert "would take about" in text and not out.exists()


def test_the_caps_themselves_are_allowed():
    a = ss.load_scenario("baseline", population=100, days=10)
    b = ss.load_scenario("essay", population=100, days=10)
    compare_module.check(a, b, compare_module.MAX_REPLICATES)
    findings_module.check_sizes(100, findings_module.MIN_DAYS, findings_module.MAX_REPLICATES)
    with pytest.raises(ScorestateError, match="at most"):
        findings_module.check_sizes(100, findings_module.MIN_DAYS, findings_module.MAX_REPLICATES + 1)


def test_the_api_compare_refuses_the_same(no_runs):
    a = ss.load_scenario("baseline", population=100, days=10)
    b = ss.load_scenario("essay", population=100, days=10)
    with pytest.raises(ScorestateError, match=r"replicates must be at most 1,000; got 1,001\. The cap is a "
                       "fixed limit"):
        ss.compare(a, b, replicates=1001)


def test_a_cap_that_refuses_seconds_of_runs_says_it_is_fixed_and_quotes_no_time(no_runs):
    """Refused 'on time grounds' while quoting 2 s read as a contradiction: the cap is fixed."""
    result = runner.invoke(app, ["compare", "essay", "essay", "-n", "200", "-d", "5", "-r", "1001"])
    assert result.exit_code == 2, result.output
    assert " ".join(result.stderr.split()) == (
        "scorestate: error: replicates must be at most 1,000; got 1,001. The cap is a fixed limit, "
        "whatever the size of the runs: beyond it an interval narrows by little; expected from 2 to 1,000")


def test_rough_durations_read_as_words():
    assert compare_module.rough_duration(0.2) == "under a second"
    assert compare_module.rough_duration(55) == "about 55 s"
    assert compare_module.rough_duration(3 * 3600) == "about 3 h"
    assert compare_module.rough_duration(40 * 365.25 * 86400) == "about 40 years"
