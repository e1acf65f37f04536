"""The Python API for notebooks and scripts.

    import scorestate as ss
    scenario = ss.load_scenario("essay", {"policy.scoring.points.alcohol": -10}, population=20_000)
    result = ss.simulate(scenario)              # metrics as Polars frames, ledger in memory
    result = ss.run(scenario, store="runs.duckdb")   # the same, landed in a store
    stored = ss.open_run(result.run_id, store="runs.duckdb")

`run` opens the store before building any citizen, so a bad store fails fast and is left
untouched; a run that fails or is interrupted leaves no trace in the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scorestate import __version__
from scorestate.engine import RunResult, Simulation
from scorestate.scenario.schema import Scenario
from scorestate.store import DEFAULT_STORE, RunRecord, Store, StoredRun, new_run_id
from scorestate.vocabulary import LEDGER_KINDS, SOURCES


def run(scenario: Scenario, *, store: str | Path | None = DEFAULT_STORE, graph: object | None = None,
        progress: Callable[[int], None] | None = None) -> RunResult:
    """Simulate a resolved scenario; with a store, land the run there and set `run_id`."""
    if store is None:
        return Simulation(scenario, graph=graph).run(progress)
    with Store(store) as catalogue:
        run_id = new_run_id()
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
            catalogue.commit_run(record, result.metrics, result.group_metrics, writer)
        except BaseException:
            writer.abort()
            raise
    result.run_id = run_id
    return result


def open_run(run_id: str, store: str | Path = DEFAULT_STORE) -> StoredRun:
    """A stored run: its record, metrics, group metrics and ledger."""
    with Store(store, create=False) as catalogue:
        return catalogue.load_run(run_id)
