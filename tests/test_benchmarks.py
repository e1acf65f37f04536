"""The benchmark harness runs end to end: `python -m benchmarks` is how anyone checks the
performance claims, so it must keep working as the engine changes. Tiny sizes, and no timing
is asserted: only that every measurement is made, side by side, and reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import __main__ as bench

from scorestate import engine
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
    # three days reach none of the essay's phases: the table says their times are not a year's
    assert "note: 3 days end before the phases of days 30 and 180 begin" in run.stdout
    assert tp["rss_peak"] >= tp["rss_built"], "a peak below a level the run was seen at"


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    for args, word in ((("--sizes", "5"), "--sizes"), (("--mesa", "2000by30"), "--mesa"),
                       (("--mesa", "0x5"), "--mesa"), (("--days", "0"), "--days"),
                       (("--repeat", "0"), "--repeat"),
                       (("--before", str(tmp_path)), "--before")):
        run = _bench(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert word in run.stderr and "Traceback" not in run.stderr


# ------------------------------------------------ bad input: one line, exit 2, nothing written

BAD = [
    (["--sizes", "abc"], "--sizes"), (["--sizes", "-5"], "--sizes"), (["--sizes", "0"], "--sizes"),
    (["--sizes", "inf"], "--sizes"), (["--sizes", "1e30"], "--sizes"),
    (["--sizes", "1500.5"], "--sizes"), (["--sizes", ","], "--sizes"),
    (["--sizes", "1000,1e3"], "--sizes"), (["--days", "0"], "--days"),
    (["--days", "40000"], "--days"), (["--days", "x"], "--days"), (["--mesa", "2000"], "--mesa"),
    (["--mesa", "x"], "--mesa"), (["--mesa", ""], "--mesa"), (["--mesa", "2000x0"], "--mesa"),
    (["--mesa", "2000x30,1e3"], "--mesa"), (["--repeat", "0"], "--repeat"),
    (["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"), (["--bogus"], "--bogus"),
    (["--before", "/nonexistent"], "--before"),
]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """main() on bad input: exit 2, one line on stderr, nothing on stdout; returns the line."""
    with pytest.raises(SystemExit) as e:
        bench.main(argv)
    assert e.value.code == 2, argv
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("python -m benchmarks: error: ")
    return line


@pytest.mark.parametrize(("argv", "word"), BAD)
def test_each_bad_option_is_one_line_naming_it(argv: list[str], word: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert word in _refused(argv, capsys)


def test_before_and_json_paths_are_checked_before_any_work(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "f.txt"
    a_file.write_text("x", encoding="utf-8")
    assert "holds no scorestate/engine.py" in _refused(["--before", str(tmp_path)], capsys)
    assert "is not a directory" in _refused(["--before", str(a_file)], capsys)
    missing = tmp_path / "missing" / "out.json"
    assert "does not exist" in _refused(["--json", str(missing)], capsys)
    assert "is a directory" in _refused(["--json", str(tmp_path)], capsys)
    assert not missing.parent.exists()


def test_a_size_too_large_for_the_memory_free_is_refused_before_any_measurement(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(engine, "available_memory", lambda: 100 * 2**20)
    monkeypatch.setattr(bench, "run_task", lambda *a, **k: pytest.fail("measured before refusing"))
    line = _refused(["--sizes", "2000,2000000000", "--mesa", "none"], capsys)
    assert "--sizes 2,000,000,000" in line and "100.0 MiB" not in line and "expected at most" in line


def test_ctrl_c_is_one_line_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "run_task", interrupted)
    out = tmp_path / "out.json"
    with pytest.raises(SystemExit) as e:
        bench.main(["--sizes", "2000", "--days", "3", "--mesa", "none", "--json", str(out)])
    assert e.value.code == 130
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == "python -m benchmarks: interrupted; nothing was written"
    assert not out.exists()


def test_the_json_file_is_whole_or_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.json"
    bench._write_json(out, {"a": 1})
    assert json.loads(out.read_text(encoding="utf-8")) == {"a": 1}

    def no_rename(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bench.os, "replace", no_rename)
    with pytest.raises(bench.BenchError, match=r"could not write .*No space left on device"):
        bench._write_json(tmp_path / "new.json", {"a": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"], "no temporary file left behind"


# ------------------------------------------- a measurement that breaks: one line naming the size

def _broken_package(tmp_path: Path, body: str) -> Path:
    """A 'version' whose package does `body` when imported: it passes the --before check."""
    pkg = tmp_path / "scorestate"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(body, encoding="utf-8")
    (pkg / "engine.py").write_text("", encoding="utf-8")
    return tmp_path


def test_a_crashing_measurement_is_one_line_naming_the_size(tmp_path: Path) -> None:
    old = _broken_package(tmp_path / "old", "raise RuntimeError('boom in the old version')\n")
    out = tmp_path / "out.json"
    run = _bench("--sizes", "2000", "--days", "3", "--mesa", "none", "--before", str(old),
                 "--json", str(out))
    assert run.returncode == 1 and "Traceback" not in run.stderr and run.stdout == ""
    last = run.stderr.splitlines()[-1]
    assert last.startswith("python -m benchmarks: error: the throughput measurement at 2,000 "
                           "citizens x 3 days of the package under")
    assert "RuntimeError: boom in the old version" in last and "benchmarks.measure" in last
    assert not out.exists()


@pytest.mark.parametrize(("body", "says"), [
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "was killed by SIGKILL"),
    ("import os\nos._exit(0)\n", "printed no result"),
])
def test_a_killed_or_silent_measurement_is_one_line_naming_the_size(tmp_path: Path, body: str,
                                                                    says: str) -> None:
    with pytest.raises(bench.BenchError) as e:
        bench.run_task("throughput", 2000, 3, 1, _broken_package(tmp_path, body))
    assert e.value.code == 1 and "\n" not in str(e.value)
    assert str(e.value).startswith("the throughput measurement at 2,000 citizens x 3 days")
    assert says in str(e.value)


def test_input_the_measured_engine_refuses_is_exit_2_with_its_message() -> None:
    # the measurement itself refuses a negative seed (ScorestateError): one line, exit 2
    with pytest.raises(bench.BenchError) as e:
        bench.run_task("throughput", 2000, 3, -1)
    assert e.value.code == 2 and "\n" not in str(e.value)
    assert "at 2,000 citizens x 3 days failed:" in str(e.value) and "run.seed" in str(e.value)
