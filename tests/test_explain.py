"""A citizen's file: rebuilt from the scenario and the ledger, it must tell the citizen's true story.

The truth is the simulation itself: the same scenario run again day by day in memory, with
every citizen's score read after each day. The file built from the store must reproduce it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.experiments import Arm, resolve
from scorestate.analysis.explain import explain, notable
from scorestate.cli import app
from scorestate.engine import Simulation
from scorestate.errors import ScorestateError
from scorestate.store import Store
from scorestate.vocabulary import EVENTS, SERVICES

runner = CliRunner()
N, DAYS = 600, 90
# A list that fills quickly (score below 985) and a spread of starting scores, so the file must
# rebuild each citizen's own starting score rather than assume the preset's 1000.
FULL = {"ledger.retention": "full", "policy.scoring.initial_spread": 20,
        "policy.blacklist.entry.score": "score < 985"}
BLACKLIST_ONLY = {"rail", "flight", "flat", "car", "welfare", "pension", "public_services"}


class Truth:
    """A run stored, and the same run replayed in memory with each day's scores kept."""

    def __init__(self, store: Path, overrides: dict) -> None:
        self.scenario = ss.load_scenario("essay", overrides, population=N, days=DAYS, seed=5)
        self.run_id = ss.run(self.scenario, store=store).run_id
        self.stored = ss.open_run(self.run_id, store=store)
        sim = Simulation(self.scenario)
        self.start = sim.state.score.astype(np.float64).copy()
        self.neighbours = {i: sorted(sim.graph.nbrs[sim.graph.start[i]:
                                                    sim.graph.start[i] + sim.graph.degree[i]].tolist())
                           for i in range(3)}
        daily = []
        while sim.day < DAYS:
            sim.step()
            daily.append(sim.state.score.astype(np.float64).copy())
        self.scores = np.array(daily)  # (days, citizens)
        self.sim = sim
        self.panel = np.flatnonzero(Simulation(self.scenario).ledger.recorded)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("explain") / "runs.duckdb"


@pytest.fixture(scope="module")
def full(store) -> Truth:
    return Truth(store, FULL)


@pytest.fixture(scope="module")
def panel(store) -> Truth:
    return Truth(store, {"ledger.retention": "panel", "ledger.panel_size": 25})


def interesting(t: Truth) -> list[int]:
    """Citizens whose files have the most to reconcile: the biggest moves, the listed, the
    falsely accused."""
    change = np.abs(t.scores[-1] - t.start)
    picks = list(np.argsort(change)[-3:])
    picks += list(np.flatnonzero(t.sim.state.blacklisted)[:2])
    ledger = t.stored.ledger()
    picks += ledger.filter(ledger["false_attribution"])["citizen"].unique().sort().to_list()[:2]
    return sorted({int(c) for c in picks})


def test_events_sum_exactly_to_the_score_change(full):
    assert full.start.std() > 0  # the spread is on: starting scores differ
    for c in interesting(full):
        f = explain(full.stored, c)
        assert f.events_recorded and f.decisions_recorded and not f.notes
        assert f.start["score"] == pytest.approx(full.start[c], abs=1e-4)
        total = sum(f.change[k] for k in ("events", "appeals", "association", "adjustments"))
        assert total == pytest.approx(full.scores[-1, c] - full.start[c], abs=1e-3)
        assert f.end["score"] == pytest.approx(full.scores[-1, c], abs=1e-3)
        # the whole path, not only its end
        np.testing.assert_allclose(f.score_by_day, full.scores[:, c], atol=1e-3)


def test_association_is_told_apart_from_drift(store):
    """A citizen's file splits what guilt by association cost from drift: the ledger's
    `adjustment` rows are exactly the drift, and the association has rows of its own from the day
    the essay starts scoring it (here with B as the low tier, so that it bites within weeks)."""
    arm = Arm("b-is-low", "essay", (("policy.association.low_tier", "B"), ("ledger.retention", "full")))
    scenario = resolve(arm, population=N, days=60, seed=5)
    run_id = ss.run(scenario, store=store).run_id
    stored = ss.open_run(run_id, store=store)
    sim = Simulation(scenario)
    scores = [sim.state.score.astype(np.float64).copy()]
    while sim.day < 60:
        sim.step()
        scores.append(sim.state.score.astype(np.float64).copy())
    sc, a = scenario.policy.scoring, scenario.timeline.phases[0].set["policy"]["association"]
    assert sc.drift > 0 and a["averaging"] == 0 and a["low_tier"] == "B"

    ledger = stored.ledger()
    kinds = ledger["kind"].cast(str)
    assoc = ledger.filter(kinds == "association")
    assert assoc.height > 100 and assoc["day"].min() >= 30  # the essay's phase turns it on
    # -penalty x the share of low-tier neighbours (and the new score's float32 rounding)
    assert ((assoc["points"] < 1e-4) & (assoc["points"] >= -a["penalty"] - 1e-4)).all()
    adjust = ledger.filter(kinds == "adjustment")
    day, who = adjust["day"].to_numpy(), adjust["citizen"].to_numpy()
    before = np.array(scores)[day, who]
    assert np.all((before > sc.minimum + 50) & (before < sc.maximum - 50))  # no clipping
    np.testing.assert_allclose(adjust["points"].to_numpy(), sc.drift * (sc.initial - before), atol=1e-4)

    hit = assoc.group_by("citizen").agg(pl.col("points").sum()).sort("points")["citizen"][0]
    f = explain(stored, int(hit))
    assert f.change["association"] < 0 and len(f.association) > 0
    total = sum(f.change[k] for k in ("events", "appeals", "association", "adjustments"))
    assert total == pytest.approx(scores[-1][hit] - scores[0][hit], abs=1e-3)
    shown = runner.invoke(app, ["explain", run_id, str(hit), "--store", str(store)])
    assert shown.exit_code == 0 and f"association {f.change['association']:+.1f}" in shown.output


def test_tiers_blacklist_and_gates_follow_the_run(full):
    scenario_reasons = set(full.scenario.policy.blacklist.entry)
    listed = [int(c) for c in np.flatnonzero(full.sim.state.blacklisted)]
    assert listed, "the test scenario must blacklist someone"
    seen_denial = False
    for c in interesting(full) + listed[:10]:
        f = explain(full.stored, c)
        names = full.scenario.policy.tiers.names
        assert f.end["tier"] == names[int(full.sim.state.tier[c])]
        assert f.end["blacklisted"] == bool(full.sim.state.blacklisted[c])
        entries = [b for b in f.blacklist if b["what"] == "entry"]
        assert all(b["reason"] in scenario_reasons for b in entries)
        for d in f.denials:
            assert d["service"] in SERVICES
            if d["service"] in BLACKLIST_ONLY:  # gates close the day after the listing
                seen_denial = True
                assert entries and d["day"] > entries[0]["day"]
        for e in f.events:
            assert e["event"] in EVENTS
            assert e["false_attribution"] == (e["actor"] != c)
    assert seen_denial  # ten listed citizens over weeks: someone met a closed gate


def test_neighbours_are_the_day_zero_ties(full):
    for c, nbrs in full.neighbours.items():
        f = explain(full.stored, c)
        assert [nb["citizen"] for nb in f.neighbours] == nbrs
        assert all(nb["last_tier"] is not None for nb in f.neighbours)  # full: all known
        assert "not recorded per citizen" in f.neighbours_note


@pytest.mark.filterwarnings("error::scorestate.store.NotRecordedWarning")  # a note, not a warning
def test_a_citizen_outside_the_panel_is_told_so(panel):
    outside = next(i for i in range(N) if i not in set(panel.panel.tolist()))
    f = explain(panel.stored, outside)
    assert not f.events_recorded and not f.decisions_recorded
    assert f.score_by_day == [] and f.events == [] and f.change is None
    text = " ".join(f.notes)
    assert f"citizen {outside} is not in the ledger" in text
    assert "ledger.retention=full" in text and "panel_size" in text
    assert f.demographics["age"] >= 18  # what can be rebuilt still is
    inside = int(panel.panel[0])
    g = explain(panel.stored, inside)
    assert g.events_recorded and not g.notes
    assert g.end["score"] == pytest.approx(panel.scores[-1, inside], abs=1e-3)


def test_file_is_json_without_nan(full):
    f = explain(full.stored, interesting(full)[0])
    text = json.dumps(f.to_dict(), allow_nan=False)
    assert json.loads(text)["citizen"] == f.citizen


def test_citizen_out_of_range_names_the_valid_range(full):
    with pytest.raises(ScorestateError, match=f"expected an id from 0 to {N - 1}"):
        explain(full.stored, N)
    with pytest.raises(ScorestateError, match="out of range"):
        explain(full.stored, -1)


# ------------------------------------------------------------------ the command line
def cli(*args: str):
    return runner.invoke(app, list(args))


def one_error(r, text: str) -> None:
    assert r.exit_code == 2, r.output
    assert text in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_explain_json_and_text(full, store):
    c = interesting(full)[-1]
    r = cli("explain", full.run_id, str(c), "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["citizen"] == c and payload["run_id"] == full.run_id
    assert payload["end"]["score"] == pytest.approx(full.scores[-1, c], abs=1e-3)
    ids = [row["run_id"] for row in json.loads(cli("runs", "--store", str(store), "--json").stdout)["runs"]]
    # the shortest prefix that no other stored run shares (runs started in one second share 15)
    prefix = next(full.run_id[:k] for k in range(1, len(full.run_id) + 1)
                  if sum(i.startswith(full.run_id[:k]) for i in ids) == 1)
    r = cli("explain", prefix, str(c), "--store", str(store))
    assert r.exit_code == 0, r.output
    assert f"citizen {c}" in r.stdout and "neighbours on day 0" in r.stdout


def test_cli_explain_bad_input(full, store, tmp_path):
    one_error(cli("explain", "no-such-run", "3", "--store", str(store)), "no run 'no-such-run'")
    one_error(cli("explain", full.run_id, str(N), "--store", str(store)),
              f"expected an id from 0 to {N - 1}")
    empty = tmp_path / "empty.duckdb"
    Store(empty).close()
    one_error(cli("explain", full.run_id, "3", "--store", str(empty)), f"no run '{full.run_id}'")
    missing = tmp_path / "missing.duckdb"
    one_error(cli("explain", full.run_id, "3", "--store", str(missing)), "no store at")
    assert not missing.exists()


def test_cli_marks_false_attributions_yes(full, store):
    """The column asks "false attribution?": a falsely attributed row must answer yes."""
    ledger = full.stored.ledger()
    c = int(ledger.filter(ledger["false_attribution"])["citizen"][0])
    falsely = sum(e["false_attribution"] for e in explain(full.stored, c).events)
    r = cli("explain", full.run_id, str(c), "--store", str(store))
    assert r.exit_code == 0, r.output
    rows = [cells for line in r.stdout.splitlines() if line.startswith("│")
            for cells in [[x.strip() for x in line.split("│")[1:-1]]] if len(cells) == 6 and cells[0]]
    column = [cells[4] for cells in rows]  # day, event, source, points, false attribution, actor
    assert falsely > 0 and column.count("yes") == falsely
    assert set(column) == {"yes", ""} and "FALSE" not in r.stdout


def test_cli_explain_reads_a_negative_citizen_as_an_id(full, store):
    one_error(cli("explain", full.run_id, "-1", "--store", str(store)),
              f"citizen -1 is out of range for run '{full.run_id}'; expected an id from 0 to {N - 1}")


def test_cli_explain_outside_the_panel_prints_no_python_warning(panel, store):
    outside = next(i for i in range(N) if i not in set(panel.panel.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escaped would fail the command
        r = cli("explain", panel.run_id, str(outside), "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    assert "not in the ledger" in " ".join(json.loads(r.stdout)["notes"])


def test_cli_runs_lists_the_store(full, panel, store, tmp_path):
    r = cli("runs", "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    ids = [row["run_id"] for row in json.loads(r.stdout)["runs"]]
    assert full.run_id in ids and panel.run_id in ids
    r = cli("runs", "--store", str(store))
    assert r.exit_code == 0 and full.run_id in r.stdout
    empty = tmp_path / "empty.duckdb"
    Store(empty).close()
    r = cli("runs", "--store", str(empty), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["runs"] == []
    one_error(cli("runs", "--store", str(tmp_path / "none.duckdb")), "no store at")


def test_an_officials_file_says_how_the_rules_treated_their_rank(full):
    """The ledger records points as applied; without a note a softened penalty reads as the rule."""
    rank = full.sim.citizens.rank
    policy = full.scenario.policy
    present = [(r, title) for r, title in ((1, "local cadre"), (2, "senior official")) if (rank == r).any()]
    assert present, "the run needs an official"
    for r, title in present:
        official = int(np.flatnonzero(rank == r)[0])
        notes = " ".join(explain(full.stored, official).notes)
        multiplier = policy.leniency.penalty_multiplier[r]
        assert f"as a {title} this citizen's penalties were multiplied by {multiplier:g}" in notes
    ordinary = int(np.flatnonzero(rank == 0)[0])
    assert not any("leniency" in n for n in explain(full.stored, ordinary).notes)


def test_a_large_runs_file_says_first_that_it_rebuilds_the_society(full, store, monkeypatch):
    """At country scale a file takes minutes to rebuild: the command says so before it starts,
    on stderr, and the file itself is unchanged on stdout."""
    from scorestate.cli import explain as explain_command

    quiet = cli("explain", full.run_id, "0", "--store", str(store), "--json")
    assert quiet.exit_code == 0 and "rebuilding" not in quiet.stderr
    monkeypatch.setattr(explain_command, "SLOW_REBUILD_S", 0.0)
    r = cli("explain", full.run_id, "0", "--store", str(store), "--json")
    assert r.exit_code == 0
    assert f"rebuilding the {N} citizens of run {full.run_id}" in r.stderr
    assert json.loads(r.stdout) == json.loads(quiet.stdout)
    out_of_range = cli("explain", full.run_id, str(N), "--store", str(store))
    assert "rebuilding" not in out_of_range.stderr  # refused at once, with one message


def test_notable_citizens_come_from_the_ledger(tmp_path):
    """`scorestate explain RUN` without a citizen, and the dashboard, offer these files to open."""
    scenario = resolve(Arm("essay", "essay", (("policy.blacklist.entry.score", "score < 990"),)), 300, 45, 1)
    store = tmp_path / "runs.duckdb"
    stored = ss.open_run(ss.run(scenario, store=store).run_id, store=store)
    found = notable(stored)
    entries = stored.ledger(kinds="blacklist_entry")
    assert entries.height > 0  # a score of 990 lists someone in 45 days
    listed = [(c, why) for c, why in found if why.startswith("listed on day")]
    assert listed
    for citizen, why in listed:
        assert int(why.rsplit(" ", 1)[1]) == entries.filter(pl.col("citizen") == citizen)["day"].min()
    framed = [c for c, why in found if "acts they did not do" in why]
    falsely = stored.ledger(kinds=list(EVENTS)).filter(pl.col("false_attribution") & (pl.col("points") < 0))
    assert set(framed) <= set(falsely["citizen"].to_list())

    assert ss.notable_citizens(stored.record.run_id, store=store) == found  # the Python API's
    r = cli("explain", stored.record.run_id, "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    assert [(x["citizen"], x["why"]) for x in json.loads(r.stdout)["notable"]] == found
    text = cli("explain", stored.record.run_id, "--store", str(store))
    assert text.exit_code == 0
    assert f"open one with: scorestate explain {stored.record.run_id} CITIZEN --store {store}" in " ".join(
        text.stdout.split())
    for citizen, why in found:
        assert any(line.split()[:1] == [str(citizen)] and why in line for line in text.stdout.splitlines())


def test_the_listing_names_the_store_only_where_it_is_not_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default store, ./scorestate.duckdb
    scenario = ss.load_scenario("essay", {"policy.blacklist.entry.score": "score < 990"},
                                population=300, days=45, seed=1)
    run_id = ss.run(scenario, store="scorestate.duckdb").run_id
    said = " ".join(cli("explain", run_id).stdout.split())
    assert f"open one with: scorestate explain {run_id} CITIZEN " in said and "--store" not in said


def test_a_run_with_nothing_notable_says_so(tmp_path):
    store = tmp_path / "runs.duckdb"
    run_id = ss.run(ss.load_scenario("baseline", population=300, days=10, seed=1), store=store).run_id
    r = cli("explain", run_id, "--store", str(store))
    said = " ".join(r.stdout.split())  # as the terminal wrapped it
    assert r.exit_code == 0 and "nobody in its ledger was listed, falsely accused or penalised" in said


def test_a_run_stored_with_control_characters_in_its_name_still_opens(tmp_path):
    """Scenario names were not always held to one printable line: a store kept from then (here
    edited to hold one) still gives its citizens' files, rebuilt, and its listing."""
    import duckdb

    store = tmp_path / "runs.duckdb"
    scenario = ss.load_scenario("essay", {"ledger.panel_size": 5}, population=300, days=5, seed=1)
    run_id = ss.run(scenario, store=store).run_id
    with duckdb.connect(str(store)) as con:
        raw = json.loads(con.execute("SELECT scenario FROM runs WHERE run_id = ?", [run_id]).fetchone()[0])
        raw["name"], raw["description"] = "town\x1b[31m\nred", "x" * 600
        con.execute("UPDATE runs SET scenario = ?, scenario_name = ? WHERE run_id = ?",
                    [json.dumps(raw), raw["name"], run_id])
    stored = ss.open_run(run_id, store=store)
    outside = next(c for c in range(300) if c not in stored.panel_day0())
    assert explain(stored, outside).citizen == outside
    r = cli("explain", run_id, str(outside), "--store", str(store))
    assert r.exit_code == 0, r.output
