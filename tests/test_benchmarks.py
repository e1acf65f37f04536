"""The benchmark harness runs end to end: `python -m benchmarks` is how anyone checks the
performance claims, so it must keep working as the engine changes. Tiny sizes, and no timing
is asserted: only that every measurement is made, side by side, and reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scorestate.engine import Simulation

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600)


def test_the_harness_measures_every_figure_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = _bench("--sizes", "1500", "--days", "3", "--mesa", "200x2", "--before", str(ROOT / "src"),
                 "--repeat", "2", "--json", str(out))
    assert run.returncode == 0, run.stderr
    raw = json.loads(out.read_text(encoding="utf-8"))
    (tp,) = raw["throughput"]
    assert tp["population"] == 1500 and tp["days"] == 3
    assert tp["citizen_days_per_s"] > 0 and tp["directed_edges"] > 0
    assert tp["directed_edges_built"] > 0, "the peak's budget counts the ties the run starts with"
    assert set(tp["profile_s"]) == set(Simulation.plan()), "every mechanism is profiled"
    assert tp["held_bytes"] and tp["rss_peak"] > 0 and tp["floor"]
    (mesa,) = raw["mesa"]
    assert mesa["population"] == 200 and mesa["ratio"] > 0
    (before,) = raw["before"]
    assert before["population"] == 1500 and before["citizen_days_per_s"] > 0
    # repeats: every run kept, the fastest of each version reported
    (runs,), (before_runs,) = raw["throughput_runs"], raw["before_runs"]
    assert len(runs) == len(before_runs) == 2
    assert tp["step_s"] == min(r["step_s"] for r in runs)
    assert before["step_s"] == min(r["step_s"] for r in before_runs)
    for heading in ("Profile at", "Against plain Mesa", "Before and after"):
        assert heading in run.stdout


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    for args, word in ((("--sizes", "5"), "--sizes"), (("--mesa", "2000by30"), "--mesa"),
                       (("--mesa", "0x5"), "--mesa"), (("--days", "0"), "--days"),
                       (("--repeat", "0"), "--repeat"),
                       (("--before", str(tmp_path)), "--before")):
        run = _bench(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert word in run.stderr and "Traceback" not in run.stderr
