"""scorestate: a research simulator of algorithmic social-scoring regimes, on synthetic citizens.

    import scorestate as ss
    scenario = ss.load_scenario("essay", {"policy.blacklist.entry.score": "score < 850"},
                                population=20_000)
    result = ss.simulate(scenario)
    result.metrics            # Polars frame, one row per day
    result.group_metrics      # by settlement, education, income quintile, official rank
    ss.compare(ss.load_scenario("baseline", population=20_000), scenario, replicates=5)
    ss.run_sweep(ss.load_sweep("examples/sweeps/alcohol-grid.yaml"), workers=2)   # on Dask

Every error a user can cause is a `ss.ScorestateError` (ScenarioError, StoreError, ...), with
one message that says what was wrong and what was expected. Warnings are UserWarnings:
`ss.NotReachedWarning` (a scenario's phases fall after its last day), `ss.NotRecordedWarning` (a
citizen the ledger did not follow).
"""

__version__ = "0.1.0"

# Ctrl-C while the command loads its modules: one line, not a traceback (see interrupts).
from scorestate.interrupts import quiet_start

quiet_start()

# Before any module that defines a kernel is imported: numba decides where a kernel is cached
# when it is decorated (see kernel_cache for why the folder follows the source).
from scorestate.kernel_cache import use_versioned_cache

use_versioned_cache()

from scorestate import metric_docs
from scorestate.analysis.compare import Comparison, compare
from scorestate.analysis.explain import CitizenFile
from scorestate.api import (
    explain,
    list_runs,
    load_scenario,
    notable_citizens,
    open_run,
    resumable_runs,
    resume_run,
    run,
    write_report,
)
from scorestate.engine import RunResult, Simulation, simulate
from scorestate.errors import InvariantError, ScenarioError, ScorestateError, StoreError
from scorestate.scenario.load import NotReachedWarning, preset_names, resolved_yaml
from scorestate.scenario.schema import Scenario
from scorestate.store import NotRecordedWarning, Store, StoredRun, StoreInUseError
from scorestate.sweep import Sweep, SweepResult, load_sweep, run_sweep

__all__ = ["CitizenFile", "Comparison", "InvariantError", "NotReachedWarning", "NotRecordedWarning",
           "RunResult", "Scenario", "ScenarioError", "ScorestateError", "Simulation", "Store", "StoreError",
           "StoreInUseError", "StoredRun", "Sweep", "SweepResult", "__version__", "compare", "explain",
           "list_runs", "load_scenario", "load_sweep", "metric_docs", "notable_citizens", "open_run",
           "preset_names", "resolved_yaml", "resumable_runs", "resume_run", "run", "run_sweep", "simulate",
           "write_report"]
