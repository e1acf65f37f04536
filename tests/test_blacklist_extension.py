"""A term served while an entry reason still holds is extended, not an exit and an entry.

The court list keeps a debtor whose judgment is still unpaid when the term ends. Released for a
day and listed again the next, the debtor would have had a day with the gates open, and the
list's flows would count an exit and an entry that did not happen.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import scorestate as ss
from scorestate.engine import Simulation
from scorestate.state import NEVER

DAYS = 150
# The court list with a short term and a short court delay, and debts that default often, so
# that terms end with judgments unpaid (and some paid) within a short run, from an empty list.
OVERRIDES = {"ledger.retention": "full", "behaviour.debt_default": 0.003, "run.warm_up_days": 0,
             "policy.surveillance.court_delay_days": 20,
             "policy.blacklist.exit": "days_listed >= 40 or not court_judgment_unpaid"}


def test_a_term_that_ends_unpaid_is_extended_without_a_day_off_the_list():
    scenario = ss.load_scenario("court-blacklist", OVERRIDES, population=3000, days=DAYS, seed=2)
    sim = Simulation(scenario)
    extended_today: list[np.ndarray] = []
    while sim.day < DAYS:
        before = sim.state.listed_since.copy()
        sim.step()
        s = sim.state
        # extended today: still listed, with a term that starts today though it started earlier
        again = np.flatnonzero(s.blacklisted & (s.listed_since == sim.day - 1) & (before != NEVER)
                               & (before < sim.day - 1))
        assert s.judgment[again].all(), "only a reason that still holds extends a term"
        assert (sim.day - 1 - before[again] >= 40).all(), "only a term served is extended"
        extended_today.append(again)
    result = sim.result()
    metrics, ledger = result.metrics, result.ledger
    counted = metrics["blacklist_extended"].to_numpy()
    assert counted.sum() > 20, "the run must extend terms, or the test proves nothing"
    np.testing.assert_array_equal(counted, [a.shape[0] for a in extended_today])
    assert metrics["blacklist_outflow"].sum() > 0, "paid judgments still end terms early"

    kinds = ledger["kind"].cast(str)
    ext = ledger.filter(kinds == "blacklist_extension")
    assert ext.height == counted.sum()
    exits = ledger.filter(kinds == "blacklist_exit").select("day", "citizen")
    entries = ledger.filter(kinds == "blacklist_entry").select(pl.col("day") - 1, "citizen")
    assert exits.join(entries, on=["day", "citizen"]).height == 0, \
        "nobody leaves the list one day to be listed again the next"


def test_an_extension_is_neither_an_exit_nor_an_entry_in_a_citizens_file(tmp_path):
    scenario = ss.load_scenario("court-blacklist", OVERRIDES, population=3000, days=DAYS, seed=2)
    stored = ss.open_run(ss.run(scenario, store=tmp_path / "runs.duckdb").run_id,
                         store=tmp_path / "runs.duckdb")
    ext = stored.ledger(kinds="blacklist_extension")
    citizen = int(ext["citizen"][0])
    f = ss.explain(stored, citizen)
    whats = [x["what"] for x in f.blacklist]
    assert "extension" in whats and whats[0] == "entry"
    assert f.blacklist[whats.index("extension")]["reason"] == "court"
