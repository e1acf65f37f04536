"""The findings page: every claim measured with numbers, verdicts computed, overrides reaching phases."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from scorestate.analysis import findings as f
from scorestate.cli import app
from scorestate.scenario.load import phase_policies

runner = CliRunner()
NUMBER = re.compile(r"[+-]?\d+\.\d+")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The page written by the command at a tiny size (the smallest it accepts in days)."""
    out = tmp_path_factory.mktemp("findings") / "findings.md"
    result = runner.invoke(app, ["findings", "-o", str(out), "--population", "300", "--days", "60",
                                 "--replicates", "2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _section(page: str, claim: f.Claim) -> str:
    start = page.index(f"## {claim.number}. {claim.title}")
    end = page.find("\n## ", start + 1)
    return page[start:end]


@pytest.mark.parametrize("claim", f.CLAIMS, ids=lambda c: type(c).__name__)
def test_each_claim_has_a_table_of_numbers_a_sweep_and_a_computed_verdict(page: str, claim: f.Claim) -> None:
    section = _section(page, claim)
    table_rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    numeric = [row for row in table_rows if NUMBER.search(row)]
    assert len(numeric) >= 4, f"claim {claim.number} has too few numeric rows:\n{section}"
    assert "Where it holds (sweep of" in section
    verdict = re.search(r"\*\*Verdict: (.+?)\.\*\* (.+)", section)
    assert verdict is not None, section
    assert any(word in verdict.group(1) for word in ("supported", "contradicted")), verdict.group(1)
    assert NUMBER.search(verdict.group(2)), "the verdict paragraph must quote the measured numbers"


def test_the_page_names_its_size_and_how_to_reproduce_it(page: str) -> None:
    assert "300 synthetic citizens, 60 days, seeds 5 to 6" in page
    assert ("scorestate findings -o docs/findings.md --population 300 --days 60 --replicates 2 "
            "--seed 5") in page
    summary = page[page.index("| # | claim | verdict |"):].split("\n\n")[0]
    assert len(summary.splitlines()) == 2 + len(f.CLAIMS)


def test_chilling_emerges_under_essay_and_vanishes_without_deterrence() -> None:
    """Directional: the essay's incentives silence dissent that citizens would otherwise voice;
    with deterrence 0 the same draws give exactly the latent behaviour."""
    lab = f.Lab(population=1500, days=90, replicates=2, seed=3)
    chilling = lab.values(f.ESSAY, "chilling")
    assert np.all(chilling > 0.1), chilling
    assert np.all(lab.values(f.ESSAY, "dissent") < lab.values(f.BASELINE, "dissent"))
    no_deterrence = f.ESSAY.but("essay, deterrence 0", behaviour__deterrence=0.0)
    assert np.all(lab.values(no_deterrence, "chilling") == 0)
    assert np.all(lab.values(f.BASELINE, "chilling") == 0)


def test_policy_overrides_reach_every_phase_that_sets_them() -> None:
    essay_penalty = phase_policies(f.resolve(f.ESSAY, 100, 60, 0))[-1][1].association.penalty
    assert essay_penalty > 0
    off = phase_policies(f.resolve(f.Association.OFF, 100, 60, 0))
    assert all(p.association.penalty == 0 and p.association.drop_rate == 0 for _, p, _ in off)
    # a parameter no phase touches is set once, at the base
    lenient = f.resolve(f.Officials.NO_LENIENCY, 100, 60, 0)
    assert lenient.policy.leniency.penalty_multiplier == [1.0, 1.0, 1.0]
    assert lenient.population.size == 100 and lenient.run.days == 60


def test_paired_effect_is_the_mean_difference_with_a_t_interval() -> None:
    e = f.paired([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])  # differences 2, 3, 4
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (e.a, e.b, e.diff, e.n) == (5.0, 2.0, 3.0, 3)
    assert e.lo == pytest.approx(3.0 - half) and e.hi == pytest.approx(3.0 + half)
    assert e.status(+1) == "holds" and e.status(-1) == "reversed" and e.status(0) == ""
    assert f.paired([1.0, -1.0], [0.0, 0.0]).status(+1) == "not shown"
    assert f.paired([1.0], [0.0]).status(+1) == "undetermined"
    assert f.paired([1.0, float("nan"), 2.0], [0.0, 0.0, 0.0]).n == 2  # undefined seeds left out


def test_verdicts_follow_the_tests() -> None:
    assert f.overall(["holds", "holds"]) == "supported"
    assert f.overall(["holds", "not shown"]) == "partly supported"
    assert f.overall(["reversed", "not shown"]) == "contradicted"
    assert f.overall(["not shown"]) == "not supported at this size"
    assert f.where(["1", "2"], []) == "at every value tried (1 and 2)"
    assert f.where([], ["0"]) == "at none of the values tried (0)"
    assert f.where(["2"], ["0"]) == "at 2 but not at 0"


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "30"], "--days must be at least 60"),
    (["--replicates", "1"], "--replicates must be at least 2"),
    (["--population", "10"], "--population must be at least 100"),
    (["-o", "no/such/folder/findings.md"], "the folder 'no/such/folder' does not exist"),
])
def test_bad_sizes_get_one_message_and_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["findings", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
