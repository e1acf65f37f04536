"""Golden baselines: small stored runs that the engine must reproduce bit for bit.

Why: the kernels are rewritten for speed (fused loops, compact dtypes, threads); every such
change must leave the model's numbers exactly where they were. The scenarios are stored fully
resolved (tests/data/*_scenario.json), so a later change to a preset or a schema default does
not move the baseline; only a change to the engine can.

A deliberate model change regenerates the results with `python tests/test_golden.py
--regenerate` and says so in its commit message. That reruns the stored scenarios as they are
(a new schema field takes its default); `--from-presets` also re-resolves them from today's
presets, which moves the baseline's inputs as well, so it is for a deliberate change of those.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numba
import numpy as np
import polars as pl
import pytest

from scorestate import engine
from scorestate.engine import RunResult, simulate
from scorestate.scenario.load import load_scenario, scenario_from_dict
from scorestate.scenario.schema import Scenario

DATA = Path(__file__).parent / "data"

# name -> how the stored scenario was first resolved (used only when regenerating)
CASES: dict[str, tuple[dict[str, object], dict[str, int]]] = {
    # every mechanism of the first two phases, every ledger row kept
    "golden": ({"ledger.retention": "full"}, {"population": 3000, "days": 120, "seed": 7}),
    # the smart-home phase, dismantling and the panel ledger
    "golden_long": ({"ledger.retention": "panel", "ledger.panel_size": 200,
                     "timeline.dismantle_day": 220},
                    {"population": 1500, "days": 260, "seed": 11}),
}


def stored_scenario(name: str) -> Scenario:
    raw = json.loads((DATA / f"{name}_scenario.json").read_text(encoding="utf-8"))
    return scenario_from_dict(raw, label=f"tests/data/{name}_scenario.json")


def ledger_digest(result: RunResult) -> str:
    """A digest of the ledger's rows, independent of the order of rows within a day."""
    assert result.ledger is not None
    frame = result.ledger.with_columns(pl.col("kind").to_physical(), pl.col("source").to_physical())
    frame = frame.sort(frame.columns)
    h = hashlib.sha256()
    for name in frame.columns:
        h.update(name.encode())
        h.update(np.ascontiguousarray(frame[name].fill_null(-1).to_numpy()).tobytes())
    return h.hexdigest()


def assert_frames_identical(got: pl.DataFrame, want: pl.DataFrame, what: str) -> None:
    """Same columns, same dtypes, same values bit for bit (NaN equal to NaN)."""
    assert got.columns == want.columns, f"{what}: columns differ"
    assert got.height == want.height, f"{what}: {got.height} rows, expected {want.height}"
    for name in want.columns:
        a, b = got[name], want[name]
        assert a.dtype == b.dtype, f"{what}.{name}: dtype {a.dtype}, expected {b.dtype}"
        if a.dtype.is_float():
            x, y = a.to_numpy(), b.to_numpy()
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                day = int(np.flatnonzero(~same)[0])
                pytest.fail(f"{what}.{name} differs first at row {day}: {x[day]!r} != {y[day]!r}")
        else:
            assert a.to_list() == b.to_list(), f"{what}.{name} differs"


@pytest.fixture(scope="module", params=sorted(CASES))
def golden(request: pytest.FixtureRequest) -> tuple[str, RunResult, dict[str, object]]:
    name = request.param
    expected = json.loads((DATA / f"{name}_expected.json").read_text(encoding="utf-8"))
    return name, simulate(stored_scenario(name)), expected


def test_daily_metrics_bit_identical(golden: tuple[str, RunResult, dict[str, object]]) -> None:
    name, result, _ = golden
    want = pl.read_parquet(DATA / f"{name}_metrics.parquet")
    assert_frames_identical(result.metrics, want, f"{name} metrics")


def test_group_metrics_bit_identical(golden: tuple[str, RunResult, dict[str, object]]) -> None:
    name, result, _ = golden
    want = pl.read_parquet(DATA / f"{name}_group_metrics.parquet")
    assert_frames_identical(result.group_metrics, want, f"{name} group metrics")


def test_ledger_rows_and_digest(golden: tuple[str, RunResult, dict[str, object]]) -> None:
    _, result, expected = golden
    assert result.ledger is not None
    assert result.ledger.height == expected["ledger_rows"]
    assert result.extra["ledger_rows"] == expected["ledger_rows"]
    assert ledger_digest(result) == expected["ledger_digest"]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba was started with one thread")
def test_small_runs_shared_between_threads_give_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small populations run their day on one thread; forced onto all threads, they must not move."""
    monkeypatch.setattr(engine, "SERIAL_UP_TO", 0)
    result = simulate(stored_scenario("golden"))
    assert_frames_identical(result.metrics, pl.read_parquet(DATA / "golden_metrics.parquet"),
                            "golden metrics on every thread")


def test_stored_scenario_is_independent_of_presets() -> None:
    """The stored file, not today's preset, defines the baseline: it must load on its own."""
    sc = stored_scenario("golden")
    assert sc.population.size == 3000 and sc.run.days == 120 and sc.run.seed == 7
    assert sc.ledger.retention == "full"


def regenerate(from_presets: bool = False) -> None:
    """Rewrite the golden results from the current engine (deliberate changes only): of the
    stored scenarios, or, `from_presets`, of scenarios resolved anew from today's presets."""
    DATA.mkdir(exist_ok=True)
    for name, (overrides, settings) in CASES.items():
        path = DATA / f"{name}_scenario.json"
        if from_presets or not path.exists():
            sc = load_scenario("essay", overrides, **settings)
            path.write_text(json.dumps(sc.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
        result = simulate(stored_scenario(name))
        result.metrics.write_parquet(DATA / f"{name}_metrics.parquet")
        result.group_metrics.write_parquet(DATA / f"{name}_group_metrics.parquet")
        assert result.ledger is not None
        expected = {"ledger_rows": result.ledger.height, "ledger_digest": ledger_digest(result)}
        (DATA / f"{name}_expected.json").write_text(json.dumps(expected, indent=1) + "\n",
                                                    encoding="utf-8")
        print(f"wrote {name}: {result.metrics.height} days, {expected['ledger_rows']} ledger rows")


if __name__ == "__main__":
    if sys.argv[1:] not in (["--regenerate"], ["--regenerate", "--from-presets"]):
        sys.exit("usage: python tests/test_golden.py --regenerate [--from-presets]")
    regenerate(from_presets="--from-presets" in sys.argv)
