"""A warm-up (`run.warm_up_days`): the society lives days before day 0, unrecorded, so that a
standing regime starts the run at its own level. The court list, which fills over years from
empty, is the case that needs it.

What a user relies on: nothing of the warm-up is recorded; the list and the debts it leaves are
there on day 0, stamped with the days before 0 on which they began, and they end as the rules
say (a two-year term counted from its negative day); the warm-up lives under the scenario's
`policy` and the timeline's phases, even one of day 0, keep their days; a run with a warm-up is
reproducible, independent of the thread count, resumable from a checkpoint, and its citizens'
files tell the listings it made.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.explain import explain
from scorestate.cli import app
from scorestate.engine import Simulation
from scorestate.state import NEVER
from scorestate.store import StoredRun

N, WARM, DAYS = 20_000, 900, 30
runner = CliRunner()


def court(warm: int = WARM, days: int = DAYS, **overrides) -> ss.Scenario:
    return ss.load_scenario("court-blacklist", {"run.warm_up_days": warm, **overrides},
                            population=N, days=days, seed=2)


@pytest.fixture(scope="module")
def warmed() -> Simulation:
    return Simulation(court())


def test_the_list_and_the_debts_stand_on_day_0_with_the_days_they_began(warmed):
    s = warmed.state
    assert warmed.day == 0
    listed = s.blacklisted
    assert listed.sum() > 0.002 * N  # a cold start has nobody listed (below)
    since = s.listed_since[listed].astype(int)
    assert np.all(since < 0) and since.min() >= -WARM
    assert since.min() < -365  # listings of different years, not one day's
    assert np.array_equal(s.listed_since != NEVER, listed)
    debtors = s.debt_since != NEVER
    assert debtors.any() and np.all(s.debt_since[debtors] < 0)
    assert np.all(debtors[listed])  # the court lists only debtors still unpaid
    cold = Simulation(court(warm=0))
    assert not cold.state.blacklisted.any() and not (cold.state.debt_since != NEVER).any()


def test_nothing_of_the_warm_up_is_recorded():
    scenario = court(**{"ledger.retention": "full"})
    run = ss.simulate(scenario)
    assert run.metrics["day"].to_list() == list(range(DAYS))
    assert run.ledger["day"].min() >= 0
    assert run.metrics["blacklist_share"][0] > 0.002
    assert run.extra["ledger_rows"] == run.ledger.height


def test_a_term_counts_from_its_day_before_0():
    """`days_listed >= 730` ends the terms begun in the warm-up on their 730th day."""
    sim = Simulation(court(warm=1100, days=80))
    s = sim.state
    since = s.listed_since.copy()
    listed = np.flatnonzero(s.blacklisted)
    due = listed[since[listed] <= 79 - 730]  # their term ends within the run
    assert due.size > 0
    ended_on = {}
    while sim.day < 80:
        sim.step()
        for i in due:
            if i not in ended_on and s.listed_since[i] != since[i]:
                ended_on[int(i)] = sim.day - 1
    # each ended by its 730th day (repaid before, or on it: released, or listed for a new term)
    assert sorted(ended_on) == sorted(int(i) for i in due)
    assert all(day <= since[i] + 730 for i, day in ended_on.items())
    assert sum(day == since[i] + 730 for i, day in ended_on.items()) > 0.5 * len(ended_on)


def test_the_warm_up_keeps_the_scenarios_policy_and_the_phases_their_days():
    """The essay's second phase starts on day 30 with or without 60 days of warm-up before day
    0, and the warm-up lives under the first phase's rules, changing the society."""
    scenario = ss.load_scenario("essay", {"run.warm_up_days": 60}, population=3000, days=40, seed=1)
    warm = Simulation(scenario)
    cold = Simulation(scenario.model_copy(update={"run": scenario.run.model_copy(
        update={"warm_up_days": 0})}))
    second_day = warm.timeline[1][0]
    assert second_day == 30 and warm.policy is warm.timeline[0][1]
    assert not np.array_equal(warm.state.score, cold.state.score)  # it lived
    for sim in (warm, cold):
        while sim.day < second_day:
            sim.step()
            assert sim.policy is sim.timeline[0][1]
        sim.step()
        assert sim.policy is sim.timeline[1][1]


def test_a_rule_a_day_0_phase_brings_meets_the_backlog_on_day_0():
    """A list introduced on day 0 by a phase, after years of courts judging: the warm-up lives
    without it, and day 0 lists every unpaid judgment at once."""
    phased = ss.load_scenario(
        "court-blacklist", {"run.warm_up_days": WARM, "policy.blacklist.entry.court": "false",
                            "timeline.phases": [{"day": 0, "name": "the list", "set": {
                                "policy.blacklist.entry.court": "court_judgment_unpaid"}}]},
        population=N, days=DAYS, seed=2)
    sim = Simulation(phased)
    assert not sim.state.blacklisted.any() and sim.state.judgment.any()  # the backlog, unlisted
    judged = int(sim.state.judgment.sum())
    sim.step()
    assert int(sim.state.blacklisted.sum()) >= judged * 0.9  # all but those who paid that day
    assert (sim.state.listed_since[sim.state.blacklisted] == 0).all()


def test_seeded_listings_are_made_on_day_0_after_the_warm_up():
    sim = Simulation(ss.load_scenario("essay", {"run.warm_up_days": 20, "policy.blacklist.seed_share": 0.1},
                                      population=2000, days=10, seed=1))
    listed = sim.state.blacklisted
    assert listed.sum() > 100 and np.all(sim.state.listed_since[listed] == 0)


def test_a_warm_up_run_is_the_same_twice_on_one_thread_and_on_two():
    script = (
        "import hashlib, numba, scorestate as ss\n"
        "sc = ss.load_scenario('court-blacklist', {'run.warm_up_days': 400}, population=20000, "
        "days=20, seed=5)\n"
        "r = ss.simulate(sc)\n"
        "print(numba.get_num_threads(), hashlib.sha256(r.metrics.write_csv().encode()).hexdigest())\n")
    ss.simulate(ss.load_scenario("court-blacklist", {"run.warm_up_days": 2}, population=300, days=2))
    out = [subprocess.run([sys.executable, "-c", script], env={**os.environ, "NUMBA_NUM_THREADS": t},
                          capture_output=True, text=True, check=True).stdout.split()
           for t in ("1", "2", "2")]
    assert [o[0] for o in out] == ["1", "2", "2"]
    assert out[0][1] == out[1][1] == out[2][1]


def test_a_resumed_warm_up_run_is_the_run_that_was_not_interrupted(tmp_path):
    scenario = court(warm=400, days=20)
    straight = ss.simulate(scenario).metrics
    sim = Simulation(scenario)
    for _ in range(7):
        sim.step()
    sim.save(tmp_path / "cut.ckpt")
    resumed = Simulation.resume(tmp_path / "cut.ckpt").run().metrics
    assert resumed.equals(straight)


def test_a_citizen_listed_in_the_warm_up_has_it_in_their_file(tmp_path, monkeypatch):
    """The listing's day (before 0) and reason, alike from the panel's kept record and from a
    rebuilt society."""
    store = tmp_path / "runs.duckdb"
    scenario = court(**{"ledger.panel_size": 5000})
    run_id = ss.run(scenario, store=store).run_id
    stored = ss.open_run(run_id, store=store)
    kept = stored.panel_day0()
    listed = [c for c in kept.ids.tolist() if kept[c]["start"]["blacklisted"]]
    assert listed
    for c in listed[:3]:
        kept_file = explain(stored, c).to_dict()
        with monkeypatch.context() as m:
            m.setattr(StoredRun, "panel_day0", lambda self: None)
            assert explain(stored, c).to_dict() == kept_file
        first = kept_file["blacklist"][0]
        assert first["what"] == "entry" and -WARM <= first["day"] < 0
        assert first["reason"] == "court (before day 0, in the warm-up)"
    r = runner.invoke(app, ["explain", run_id, str(listed[0]), "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "before day 0, in the warm-up" in r.stdout


def test_a_rebuild_says_it_lives_the_warm_up_again(tmp_path, monkeypatch):
    """A citizen outside the panel is rebuilt with the warm-up's days: long enough, at 20,000
    citizens and 900 days, for the command to say so first."""
    from scorestate.cli import explain as explain_command

    store = tmp_path / "runs.duckdb"
    run_id = ss.run(court(**{"ledger.panel_size": 10}), store=store).run_id
    outside = next(c for c in range(N) if c not in ss.open_run(run_id, store=store).panel_day0())
    monkeypatch.setattr(explain_command, "SLOW_REBUILD_S", 0.5)  # 20,000 x 900 days: about 0.7 s
    r = runner.invoke(app, ["explain", run_id, str(outside), "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    assert f"rebuilding the 20,000 citizens of run {run_id} and their ties, with their 900 days of " \
           "warm-up, to read one file" in " ".join(r.stderr.split())


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "'run.warm_up_days' input should be greater than or equal to 0; got -1"),
    ("40000", "'run.warm_up_days' input should be less than or equal to 32767; got 40000"),
    ("'ten'", "'run.warm_up_days' input should be a valid integer"),
])
def test_a_bad_warm_up_is_one_message(tmp_path, value, message):
    store = tmp_path / "runs.duckdb"
    r = runner.invoke(app, ["run", "court-blacklist", "-n", "500", "-d", "5", "--set",
                            f"run.warm_up_days={value}", "--store", str(store)])
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.output
    assert not store.exists()


def test_the_run_summary_says_the_warm_up_was_lived(tmp_path):
    r = runner.invoke(app, ["run", "court-blacklist", "-n", "2000", "-d", "5", "--set",
                            "run.warm_up_days=30", "--store", str(tmp_path / "runs.duckdb")])
    assert r.exit_code == 0, r.output
    assert "5 days (with 30 days of warm-up before day 0)" in " ".join(r.stdout.split())
