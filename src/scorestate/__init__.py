"""scorestate: a research simulator of algorithmic social-scoring regimes, on synthetic citizens.

    import scorestate as ss
    scenario = ss.load_scenario("essay", {"policy.blacklist.entry.score": "score < 850"},
                                population=20_000)
    result = ss.simulate(scenario)
    result.metrics            # Polars frame, one row per day
    result.group_metrics      # by settlement, education, income quintile, official rank
    ss.compare(ss.load_scenario("baseline", population=20_000), scenario, replicates=5)
"""

__version__ = "0.1.0"

from scorestate.analysis.compare import Comparison, compare
from scorestate.api import open_run, run
from scorestate.engine import RunResult, Simulation, simulate
from scorestate.errors import ScorestateError
from scorestate.scenario.load import load_scenario, preset_names, resolved_yaml
from scorestate.store import NotRecordedWarning, Store

__all__ = ["Comparison", "NotRecordedWarning", "RunResult", "ScorestateError", "Simulation", "Store",
           "__version__", "compare", "load_scenario", "open_run", "preset_names", "resolved_yaml", "run",
           "simulate"]
