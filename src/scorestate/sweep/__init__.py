"""Sweeps: a design of scenario variants run on a Dask cluster, and their sensitivity analysis.

    from scorestate.sweep import load_sweep, run_sweep
    sweep = load_sweep("examples/sweeps/alcohol-grid.yaml")   # checked whole, nothing run yet
    result = run_sweep(sweep, workers=2)        # or client=..., or scheduler="tcp://host:8786"
    result.runs          # Polars: one row per (point, seed): parameters and outputs
    result.points        # each point's mean over seeds, with a 95% t-interval
    result.sensitivity   # Sobol' S1/ST or Morris mu*/sigma per (output, parameter); None for a grid

Modules: `design` (the sweep file: schema, checks, points), `execute` (Dask), `sensitivity`
(means and SALib's indices), `result` (the tables and the Parquet file), `runner` (`run_sweep`).
"""

from scorestate.sweep.design import MAX_RUNS, Sweep, load_sweep
from scorestate.sweep.result import SweepResult
from scorestate.sweep.runner import run_sweep

__all__ = ["MAX_RUNS", "Sweep", "SweepResult", "load_sweep", "run_sweep"]
