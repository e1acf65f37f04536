"""The Python API for notebooks and scripts.

    import scorestate as ss
    scenario = ss.load_scenario("essay", {"policy.blacklist.entry.score": "score < 850"},
                                population=20_000)
    result = ss.simulate(scenario)              # metrics as Polars frames, ledger in memory
    result = ss.run(scenario, store="runs.duckdb")   # the same, landed in a store
    stored = ss.open_run(result.run_id, store="runs.duckdb")

`run` opens the store before building any citizen, so a bad store fails fast and is left
untouched; a run that fails or is interrupted leaves no trace in the catalogue. It holds the
store's DuckDB lock only to begin the run and to commit it, not while it simulates, so other
processes can list, open and add runs meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scorestate import __version__
from scorestate.engine import RunResult, Simulation
from scorestate.scenario.schema import Scenario
from scorestate.store import (
    DEFAULT_STORE,
    READ_WAIT_S,
    RunRecord,
    Store,
    StoredRun,
    StoreInUseError,
    new_run_id,
)
from scorestate.vocabulary import LEDGER_KINDS, SOURCES

COMMIT_WAIT_S = 60.0
"""How long a finished run waits to commit while another process holds the store's lock."""


def run(scenario: Scenario, *, store: str | Path | None = DEFAULT_STORE, graph: object | None = None,
        progress: Callable[[int], None] | None = None,
        commit_wait_s: float = COMMIT_WAIT_S) -> RunResult:
    """Simulate a resolved scenario; with a store, land the run there and set `run_id`.

    A store in use fails at once at the start (nothing is lost yet), but at the end the run
    waits up to `commit_wait_s` for the lock, since another process holds it only briefly
    (listing, opening or committing runs); if it is still held, a `StoreInUseError` says so and
    nothing of the run is kept.
    """
    if store is None:
        return Simulation(scenario, graph=graph).run(progress)
    run_id = new_run_id()
    with Store(store) as catalogue:
        writer = catalogue.begin_run(run_id, kinds=LEDGER_KINDS, sources=SOURCES)
    try:
        sim = Simulation(scenario, graph=graph, ledger_sink=lambda batch: writer.write(**batch))
        result = sim.run(progress)
        record = RunRecord(
            run_id=run_id, scenario_name=scenario.name,
            scenario=sim.scenario.model_dump(mode="json"), seed=scenario.run.seed,
            population=sim.n, days=result.days, package_version=__version__,
            created_at=datetime.now(UTC), elapsed_s=result.elapsed_s, build_s=result.build_s,
            citizen_days_per_s=result.citizen_days_per_s,
            final={k: v for k, v in result.final.items() if v is not None},
            ledger_retention=scenario.ledger.retention,
        )
        try:
            catalogue = Store(store, wait_s=commit_wait_s)
        except StoreInUseError as e:
            raise StoreInUseError(f"run '{run_id}' finished but was not stored, and nothing of "
                                  f"it was kept: {e}; close that connection (an open Store in a "
                                  "notebook, say) and run it again") from None
        with catalogue:
            catalogue.commit_run(record, result.metrics, result.group_metrics, writer)
    except BaseException:
        writer.abort()
        raise
    result.run_id = run_id
    return result


def open_run(run_id: str, store: str | Path = DEFAULT_STORE) -> StoredRun:
    """A stored run: its record, metrics, group metrics and ledger (waiting up to READ_WAIT_S
    for a run that is beginning or committing in another process)."""
    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        return catalogue.load_run(run_id)
