"""A finished sweep: its runs as a table, each point's means, the sensitivity, and the file.

The runs table has one row per (point, seed), in that order, whatever the number of workers or
the order in which runs finished: `point`, `seed`, each parameter's value (its dotted path as
the column name) and each output. The Parquet file is written beside its target and renamed
over it, so that it is whole or absent; its metadata keeps the sweep file as written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scorestate import __version__
from scorestate.atomic import replacing
from scorestate.errors import ScorestateError
from scorestate.sweep.design import Sweep


@dataclass
class SweepResult:
    """`runs`: one row per (point, seed); `points`: one row per (point, output), the mean over
    seeds with its 95% t-interval; `sensitivity`: one row per (output, parameter), S1/ST (sobol)
    or mu*/sigma (morris), None for a grid; `workers`: the Dask workers that ran it."""

    sweep: Sweep
    runs: pl.DataFrame
    points: pl.DataFrame
    sensitivity: pl.DataFrame | None
    elapsed_s: float
    workers: int

    def __repr__(self) -> str:
        return (f"SweepResult({self.sweep.name!r}, design={self.sweep.kind!r}, "
                f"points={len(self.sweep.points):,}, seeds={len(self.sweep.seeds)}, "
                f"runs={self.runs.height:,}, outputs={self.sweep.outputs}, workers={self.workers})")

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON values (NaN as null): what `scorestate sweep --json` prints."""
        s = self.sweep
        return {
            "sweep": s.name, "scenario": s.source, "design": s.kind, "population": s.population,
            "days": s.days, "seeds": s.seeds, "window": s.window, "outputs": s.outputs,
            "parameters": [_describe(p) for p in s.parameters], "set": s.fixed,
            "samples": s.n_samples, "levels": s.levels, "runs_count": self.runs.height,
            "workers": self.workers, "elapsed_s": round(self.elapsed_s, 3),
            "runs": _records(self.runs), "points": _records(self.points),
            "sensitivity": None if self.sensitivity is None else _records(self.sensitivity),
        }

    def write_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write the runs table, whole or not at all: beside `path`, then renamed over it.
        `TableNotWritten` says why it could not be (a folder gone, a full disk)."""
        path = Path(path)
        metadata = {"scorestate.version": __version__, "scorestate.sweep": self.sweep.text,
                    "scorestate.design": self.sweep.kind}
        try:
            with replacing(path) as tmp:
                self.runs.write_parquet(tmp, metadata=metadata)
        except (OSError, pl.exceptions.PolarsError) as e:  # polars reports a full disk as its own
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).partition("\n")[0]
            raise TableNotWritten(path, why or type(e).__name__) from None
        return path

    def write_elsewhere(self, like: Path) -> Path:
        """Write the runs table to a new file named after `like` in the system's temporary folder:
        where runs that took hours go when their own file could not be written."""
        folder = Path(tempfile.gettempdir())
        return self.write_parquet(folder / f"{like.stem}-{uuid.uuid4().hex[:8]}{like.suffix or '.parquet'}")


class TableNotWritten(ScorestateError):
    """The runs table could not be written where asked (`why`): the runs themselves are there."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"--output: '{path}' could not be written ({why}); expected a writable file path")
        self.why = why


def runs_frame(sweep: Sweep, outputs: dict[tuple[int, int], dict[str, float]]) -> pl.DataFrame:
    """The runs table, ordered by (point, seed)."""
    keys = [(k, seed) for k in range(len(sweep.points)) for seed in sweep.seeds]
    columns: list[pl.Series] = [pl.Series("point", [k for k, _ in keys], pl.Int64),
                                pl.Series("seed", [s for _, s in keys], pl.UInt64)]
    for i, p in enumerate(sweep.parameters):
        columns.append(pl.Series(p.path, [sweep.points[k][i] for k, _ in keys], strict=False))
    for name in sweep.outputs:
        columns.append(pl.Series(name, [outputs[key][name] for key in keys], pl.Float64))
    return pl.DataFrame(columns)


def _describe(p: Any) -> dict[str, Any]:
    if p.values:
        return {"path": p.path, "values": list(p.values)}
    return {"path": p.path, "low": p.low, "high": p.high, "integer": p.integer}


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(result: SweepResult) -> str:
    return json.dumps(result.to_dict(), allow_nan=False)
