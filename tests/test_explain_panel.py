"""A run keeps the day-0 part of its panel citizens' files, so that `explain` need not rebuild
the whole society for them (at 50 million citizens: two minutes and 8 GB for one file).

The kept record must give exactly the file the rebuild gives, for every panel citizen (officials
under leniency, the listed from day 0, and every neighbour); reading it must build no society;
only citizens outside the panel, and runs stored before the record was kept, are rebuilt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate import engine
from scorestate.analysis.explain import explain
from scorestate.cli import app
from scorestate.errors import StoreError
from scorestate.store import PANEL_DAY0, StoredRun

N, DAYS = 600, 40
PANEL = {"ledger.retention": "panel", "ledger.panel_size": 150, "policy.scoring.initial_spread": 20,
         "policy.blacklist.seed_share": 0.05}
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("panel") / "runs.duckdb"


@pytest.fixture(scope="module")
def stored(store) -> StoredRun:
    scenario = ss.load_scenario("essay", PANEL, population=N, days=DAYS, seed=4)
    return ss.open_run(ss.run(scenario, store=store).run_id, store=store)


def rebuilt(stored: StoredRun, citizen: int, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The file as a run stored without the kept record gives it: rebuilt from the scenario."""
    with monkeypatch.context() as m:
        m.setattr(StoredRun, "panel_day0", lambda self: None)
        return explain(stored, citizen).to_dict()


def no_society(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the society was rebuilt")
    monkeypatch.setattr(engine.Simulation, "__init__", refuse)


def test_every_panel_citizens_file_is_the_rebuilt_one(stored, monkeypatch):
    kept = stored.panel_day0()
    assert kept is not None
    ids = kept.ids.tolist()
    assert len(ids) == 150
    files = {c: rebuilt(stored, c, monkeypatch) for c in ids}
    no_society(monkeypatch)
    for c in ids:
        assert explain(stored, c).to_dict() == files[c], c
    # the record covers what the rebuild has to get right: officials, the listed from day 0
    assert any(f["demographics"]["official_rank"] != "none" for f in files.values())
    assert any(any("leniency" in n for n in f["notes"]) for f in files.values())
    assert any(f["start"]["blacklisted"] for f in files.values())
    assert sum(bool(f["neighbours"]) for f in files.values()) > 0.9 * len(files)


def test_outside_the_panel_the_society_is_rebuilt(stored, monkeypatch):
    kept = stored.panel_day0()
    outside = next(c for c in range(N) if c not in kept)
    no_society(monkeypatch)
    with pytest.raises(AssertionError, match="rebuilt"):
        explain(stored, outside)


def test_the_command_warns_of_a_rebuild_only_where_there_is_one(stored, store, monkeypatch):
    from scorestate.cli import explain as explain_command

    monkeypatch.setattr(explain_command, "SLOW_REBUILD_S", 0.0)
    kept = stored.panel_day0()
    inside, outside = int(kept.ids[0]), next(c for c in range(N) if c not in kept)
    run_id = stored.record.run_id
    quick = runner.invoke(app, ["explain", run_id, str(inside), "--store", str(store), "--json"])
    assert quick.exit_code == 0 and "rebuilding" not in quick.stderr
    assert json.loads(quick.stdout)["citizen"] == inside
    slow = runner.invoke(app, ["explain", run_id, str(outside), "--store", str(store), "--json"])
    assert slow.exit_code == 0 and f"rebuilding the {N} citizens" in slow.stderr


def test_a_run_given_a_graph_keeps_its_panels_neighbours(tmp_path, monkeypatch):
    """Such a run's network is not in the store: a rebuild without the graph cannot name the
    neighbours, the kept record can."""
    g = nx.watts_strogatz_graph(400, 6, 0.1, seed=2)
    scenario = ss.load_scenario("essay", {"ledger.retention": "panel", "ledger.panel_size": 20},
                                days=5, seed=1)
    store = tmp_path / "runs.duckdb"
    stored = ss.open_run(ss.run(scenario, store=store, graph=g).run_id, store=store)
    citizen = int(stored.panel_day0().ids[0])
    f = explain(stored, citizen)
    assert [nb["citizen"] for nb in f.neighbours] == sorted(g.neighbors(citizen))
    assert not any("network" in n for n in f.notes)
    assert rebuilt(stored, citizen, monkeypatch)["neighbours"] == []  # without the record


def test_a_panel_too_large_to_keep_is_rebuilt(tmp_path, monkeypatch):
    from scorestate.analysis import explain as module

    monkeypatch.setattr(module, "MAX_PANEL_DAY0", 99)
    scenario = ss.load_scenario("essay", {"ledger.retention": "panel", "ledger.panel_size": 100},
                                population=300, days=3, seed=1)
    store = tmp_path / "runs.duckdb"
    stored = ss.open_run(ss.run(scenario, store=store).run_id, store=store)
    assert stored.panel_day0() is None and not (stored.ledger_path / PANEL_DAY0).exists()
    panel = ss.Simulation(scenario).ledger.index
    f = explain(stored, int(panel[0]))  # rebuilt, as for a run stored before the records
    assert f.events_recorded and f.neighbours


def test_a_damaged_record_is_one_message(stored, tmp_path):
    copy = tmp_path / "copy.ledger" / stored.record.run_id
    shutil.copytree(stored.ledger_path, copy)
    (copy / PANEL_DAY0).write_bytes(b"not parquet")
    damaged = StoredRun(stored.record, stored.metrics, stored.group_metrics, copy,
                        stored.kinds, stored.sources)
    with pytest.raises(StoreError, match=f"{PANEL_DAY0}' of run .* is damaged"):
        explain(damaged, 0)


def test_every_suggested_citizens_file_shows_why_they_were_suggested(tmp_path):
    """A panel keeps a panel citizen's act pinned on someone outside it; that victim's file has no
    events, so `explain RUN` must not offer them as "penalised for acts they did not do"."""
    overrides = {"ledger.retention": "panel", "ledger.panel_size": 200,
                 "policy.surveillance.camera_misattribution": 0.5}
    scenario = ss.load_scenario("essay", overrides, population=2000, days=60, seed=4)
    store = tmp_path / "runs.duckdb"
    stored = ss.open_run(ss.run(scenario, store=store).run_id, store=store)
    panel = set(stored.panel_ids().tolist())
    framed = stored.ledger(kinds="infraction").filter(pl.col("false_attribution"))
    assert not set(framed["citizen"].to_list()) <= panel  # the case: victims outside the panel

    run_id = stored.record.run_id
    listing = runner.invoke(app, ["explain", run_id, "--store", str(store), "--json"])
    assert listing.exit_code == 0, listing.output
    suggested = json.loads(listing.stdout)["notable"]
    assert any("did not do" in s["why"] for s in suggested)
    for s in suggested:
        shown = runner.invoke(app, ["explain", run_id, str(s["citizen"]), "--store", str(store), "--json"])
        f = json.loads(shown.stdout)
        assert f["events_recorded"] and not any("not in the ledger" in n for n in f["notes"]), s
        framed_here = [e for e in f["events"] if e["false_attribution"] and e["points"] < 0]
        lost = -sum(e["points"] for e in f["events"] if e["points"] < 0)
        if "did not do" in s["why"]:
            assert f"penalised {len(framed_here)} time" in s["why"], s
        if s["why"].startswith("lost"):
            assert s["why"] == f"lost {lost:,.0f} points to penalties", s
