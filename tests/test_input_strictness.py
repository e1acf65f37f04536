"""Bad input is refused with one message that names it: wrong types, zero divisors, names that
would rewrite a terminal, scenario sources that are not files, runs larger than memory, a seed
given to one side of a comparison."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import annotated_types
import numpy as np
import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

import scorestate as ss
import scorestate.analysis.compare as analysis_compare
import scorestate.engine as engine
from scorestate.cli import app
from scorestate.errors import ScenarioError, ScorestateError
from scorestate.scenario.load import (
    MAX_SCENARIO_BYTES,
    load_scenario,
    phase_policies,
    preset_names,
    scenario_from_dict,
    set_path,
)
from scorestate.scenario.schema import MAX_DESCRIPTION, MAX_NAME, Population, Scenario
from scorestate.state import NEVER

runner = CliRunner()
DATA = Path(__file__).parent / "data"
QUOTES = "numbers and true/false are written without quotes"


# ---------------------------------------------------------------- 1. wrong types


@pytest.mark.parametrize(("override", "expected"), [
    ("population.size=true", "'population.size' input should be a valid integer; got true (a boolean)"),
    ("policy.scoring.points.alcohol=true",
     "'policy.scoring.points.alcohol' input should be a valid number; got true (a boolean)"),
    ("policy.enabled='off'",
     f"'policy.enabled' input should be a valid boolean; got 'off' (a string: {QUOTES})"),
    ("policy.sharing.camera=1",
     "'policy.sharing.camera' input should be a valid boolean; got 1 (an integer)"),
    ("run.days='5'", f"'run.days' input should be a valid integer; got '5' (a string: {QUOTES})"),
    ("run.seed=3.0", "'run.seed' input should be a valid integer; got 3.0 (a real number: an integer is "
                     "written without a decimal point or an exponent)"),
    ("behaviour.deterrence=false",
     "'behaviour.deterrence' input should be a valid number; got false (a boolean)"),
    ("policy.leniency.penalty_multiplier=[1, true, 0]",
     "'policy.leniency.penalty_multiplier.1' input should be a valid number; got true (a boolean)"),
    ("policy.tiers.names=[D, C, B, A, AA, 7]",
     "'policy.tiers.names.5' input should be a valid string; got 7 (an integer)"),
])
def test_a_value_of_the_wrong_type_is_refused_with_its_path_value_and_type(override, expected):
    with pytest.raises(ScenarioError) as e:
        load_scenario("baseline", [override])
    assert str(e.value) == f"preset 'baseline': {expected}"


def test_wrong_types_in_a_file_are_refused(tmp_path: Path):
    for text, expected in (("population: {size: true}", "'population.size' input should be a valid integer; "
                                                        "got true (a boolean)"),
                           ('run: {days: "5"}', "'run.days' input should be a valid integer; got '5'")):
        f = tmp_path / "bad.yaml"
        f.write_text(text)
        with pytest.raises(ScenarioError, match=r"^scenario file") as e:
            load_scenario(str(f))
        assert expected in str(e.value)


def test_wrong_types_in_a_phase_are_refused():
    with pytest.raises(ScenarioError) as e:
        load_scenario("essay", ["timeline.phases.0.set.policy.scoring.points.alcohol=true"])
    assert "timeline.phases" in str(e.value)
    assert ("'policy.scoring.points.alcohol' input should be a valid number; got true (a boolean)"
            in str(e.value))


def test_the_cli_refuses_a_wrong_type_with_exit_code_2():
    r = runner.invoke(app, ["scenarios", "--show", "essay", "--set", "population.size=true"])
    assert r.exit_code == 2
    assert "'population.size' input should be a valid integer; got true (a boolean)" in r.output
    assert "Traceback" not in r.output


def test_models_built_in_python_are_strict_too():
    with pytest.raises(ValidationError):
        Population(size=True)
    scenario = load_scenario("baseline")
    with pytest.raises(ValidationError):
        scenario.run.days = "5"


def test_an_integer_for_a_real_number_and_exponents_without_a_dot_are_numbers(tmp_path: Path):
    s = load_scenario("baseline", ["policy.scoring.drift=0", "network.mean_degree=10",
                                   "policy.surveillance.camera_false_match=2e-5",
                                   "behaviour.debt_repay=1E-3"])
    assert s.policy.scoring.drift == 0.0 and isinstance(s.policy.scoring.drift, float)
    assert s.network.mean_degree == 10.0 and isinstance(s.network.mean_degree, float)
    assert s.policy.surveillance.camera_false_match == 2e-5 and s.behaviour.debt_repay == 1e-3
    f = tmp_path / "exp.yaml"
    f.write_text("behaviour: {debt_default: 3e-5, deterrence: 8}\nname: '1e3'\n")
    s = load_scenario(str(f))
    assert s.behaviour.debt_default == 3e-5 and s.behaviour.deterrence == 8.0 and s.name == "1e3"


def test_numpy_scalars_and_tuples_from_python_keep_their_meaning():
    s = load_scenario("baseline", {"policy.leniency.penalty_multiplier": (1, np.float32(0.5), 0),
                                   "policy.enabled": np.bool_(False)},
                      population=np.int64(300), days=np.int32(5))
    assert s.population.size == 300 and s.run.days == 5 and s.policy.enabled is False
    assert s.policy.leniency.penalty_multiplier == [1.0, 0.5, 0.0]
    assert s.overrides == ["policy.leniency.penalty_multiplier=[1, 0.5, 0]", "policy.enabled=false"]
    with pytest.raises(ScenarioError, match=r"'population\.size' input should be a valid integer; got true"):
        load_scenario("baseline", {"population.size": np.bool_(True)})


def test_every_preset_and_stored_golden_scenario_still_loads():
    for name in preset_names():
        phase_policies(load_scenario(name))
    for path in sorted(DATA.glob("*_scenario.json")):
        scenario_from_dict(json.loads(path.read_text()), label=path.name)


# ---------------------------------------------------------------- 2. zero as a divisor


def test_a_debt_income_factor_of_0_leaves_defaults_to_the_lowest_quintile():
    s = load_scenario("baseline", {"behaviour.debt_default": 0.5, "behaviour.debt_default_income_factor": 0},
                      population=400, days=4)
    sim = engine.Simulation(s)
    sim.run()
    debtors = sim.state.debt_since != NEVER
    assert debtors.any()
    assert set(np.unique(sim.citizens.quintile[debtors]).tolist()) == {1}


def _ge0_paths(model: type[BaseModel], prefix: str = ""):
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            yield from _ge0_paths(info.annotation, f"{prefix}{name}.")
        elif any(isinstance(m, annotated_types.Ge) and m.ge == 0 for m in info.metadata):
            yield prefix + name


def test_every_parameter_allowed_to_be_0_runs_at_0():
    """Each `ge=0` parameter at 0, with every mechanism of the essay switched on from day 0 and
    a dismantling: none may end in a ZeroDivisionError (or anything else)."""
    essay = load_scenario("essay", population=200, days=8)
    raw = essay.model_dump(mode="json")
    raw["policy"] = phase_policies(essay)[-1][1].model_dump(mode="json")
    raw["timeline"] = {"phases": [], "dismantle_day": 6}
    paths = list(_ge0_paths(Scenario))
    assert "behaviour.debt_default_income_factor" in paths and len(paths) > 50
    for path in paths:
        r = copy.deepcopy(raw)
        set_path(r, path, 0, label="test")
        ss.simulate(scenario_from_dict(r, label=path))


# ---------------------------------------------------------------- 3. names


@pytest.mark.parametrize(("name", "what"), [
    ("red\x1b[31m", "ESC"), ("two\nlines", "a newline"), ("tab\there", "a tab"), ("nul\x00", "NUL"),
    ("csi\x9b", "U+009B"), ("bidi\u202eevil", "U+202E"),
])
def test_control_characters_in_names_are_refused(name, what):
    for path in ("name", "description", "timeline.phases.0.name"):
        with pytest.raises(ScenarioError) as e:
            load_scenario("essay", {path: name})
        message = str(e.value)
        assert f"'{path}' contains a control character ({what})" in message
        assert "expected one line of printable text" in message
        assert "\x1b" not in message and "\n" not in message  # shown escaped, never raw


def test_names_are_capped_in_length():
    load_scenario("baseline", {"name": "n" * MAX_NAME, "description": "d" * MAX_DESCRIPTION})
    with pytest.raises(ScenarioError,
                       match=f"'name' is {MAX_NAME + 1} characters long; expected at most {MAX_NAME}"):
        load_scenario("baseline", {"name": "n" * (MAX_NAME + 1)})
    with pytest.raises(ScenarioError, match=f"'description' is {MAX_DESCRIPTION + 1:,} characters long"):
        load_scenario("baseline", {"description": "d" * (MAX_DESCRIPTION + 1)})


def test_printable_unicode_names_are_welcome():
    s = load_scenario("baseline", {"name": "社会信用 — Rongcheng, 2014 ✓", "description": "Ünïcode, façade"})
    assert s.name == "社会信用 — Rongcheng, 2014 ✓"


# ---------------------------------------------------------------- 4. reading files


def _in_thread(fifo: Path, call: Callable[[], object]) -> object:
    """`call()`'s result or exception; a call that blocks on opening `fifo` fails the test instead
    of hanging it (the write end is opened to release it)."""
    caught: list[object] = [None]

    def target() -> None:
        try:
            caught[0] = call()
        except BaseException as e:  # handed to the test
            caught[0] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # it opened the FIFO and waits for a writer: give it one, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(10)
        pytest.fail(f"reading {fifo} blocked")
    return caught[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_being_opened(tmp_path: Path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    link = tmp_path / "link.yaml"
    link.symlink_to(fifo)
    for source in (fifo, link):
        error = _in_thread(fifo, lambda source=source: load_scenario(str(source)))
        assert isinstance(error, ScenarioError)
        assert str(error).startswith(f"scenario file '{source}' is a FIFO (named pipe); "
                                     "expected a regular file")


def test_a_directory_and_a_device_are_refused(tmp_path: Path):
    folder = tmp_path / "scenarios.d"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="is a directory; expected a regular file holding a YAML"):
        load_scenario(str(folder))
    if Path("/dev/null").exists():  # a character device that is safe to read, were it read
        with pytest.raises(ScenarioError, match="'/dev/null' is a character device; expected a regular file"):
            load_scenario("/dev/null")


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path: Path, monkeypatch):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: no disk, no memory
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(big))
    assert str(e.value).startswith(f"scenario file '{big}' is {MAX_SCENARIO_BYTES + 1:,} bytes; expected a "
                                   f"scenario file of at most {MAX_SCENARIO_BYTES:,} bytes")
    assert not opened
    at_cap = tmp_path / "ok.yaml"
    at_cap.write_text("population: {size: 300}\n" + "#" * (MAX_SCENARIO_BYTES - 100) + "\n")
    assert load_scenario(str(at_cap)).population.size == 300


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_scenarios_show_refuses_a_fifo_with_exit_code_2(tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = _in_thread(fifo, lambda: runner.invoke(app, ["scenarios", "--show", str(fifo)]))
    assert r.exit_code == 2 and "is a FIFO (named pipe)" in r.output


# ---------------------------------------------------------------- 5. memory


def test_a_population_larger_than_the_memory_available_is_refused(monkeypatch):
    engine.compile_kernels()
    monkeypatch.setattr(engine, "available_memory", lambda: 50_000)
    scenario = load_scenario("baseline", population=500, days=1)
    built: list[object] = []
    monkeypatch.setattr(engine, "build_citizens", lambda *a, **k: built.append(a))
    with pytest.raises(ScorestateError) as e:
        engine.Simulation(scenario)
    per = engine.BYTES_PER_CITIZEN + engine.BYTES_PER_TIE * 12
    assert str(e.value) == (
        f"a population of 500 citizens at a mean degree of 12 needs about {500 * per / 1024:.1f} KiB "
        "of memory at its peak (120 bytes a citizen + 8 a tie, docs/performance.md), but 48.8 KiB is "
        f"available; expected at most {50_000 // per:,} citizens at this mean degree (population.size, "
        "-n on the command line), or a machine with more memory free")
    assert not built


def test_an_imported_network_larger_than_the_memory_available_is_refused(monkeypatch):
    nx = pytest.importorskip("networkx")
    engine.compile_kernels()
    monkeypatch.setattr(engine, "available_memory", lambda: 10_000)
    with pytest.raises(ScorestateError, match=r"the imported network of 300 citizens .* but 9\.8 KiB is "
                                              r"available; expected a network of at most"):
        ss.simulate(load_scenario("baseline", days=1), graph=nx.cycle_graph(300))


def test_the_memory_check_is_skipped_where_the_memory_cannot_be_read(monkeypatch):
    monkeypatch.setattr(engine, "available_memory", lambda: None)
    assert ss.simulate(load_scenario("baseline", population=300, days=2)).population == 300


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="Linux only")
def test_the_memory_available_is_read_on_linux():
    have = engine.available_memory()
    assert isinstance(have, int) and have > 0


def test_the_cli_refuses_a_run_larger_than_memory(tmp_path: Path, monkeypatch):
    engine.compile_kernels()
    monkeypatch.setattr(engine, "available_memory", lambda: 2**30)
    r = runner.invoke(app, ["run", "-n", "2000000000", "-d", "1", "--store", str(tmp_path / "store")])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    assert "a population of 2,000,000,000 citizens at a mean degree of 12 needs about 402.3 GiB" in out
    assert "but 1.0 GiB is available; expected at most 4,971,026 citizens" in out
    assert "Traceback" not in r.output and "MemoryError" not in r.output


# ---------------------------------------------------------------- 6. compare's seeds


def test_compare_refuses_a_seed_given_to_one_side_only():
    r = runner.invoke(app, ["compare", "baseline", "essay", "-n", "300", "-d", "10", "-r", "2",
                            "--set-b", "run.seed=5"])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    assert "given twice" not in out and "--seed on the command line" not in out
    assert ("B (essay) sets run.seed=5, but compare runs A and B on the same seeds (A's run.seed, here 0, or "
            "--seed); expected one seed for both") in out


@pytest.mark.parametrize(("args", "seed"), [
    (["--set", "run.seed=5"], 5),  # both sides
    (["--set-a", "run.seed=7"], 7),  # A's run.seed is the default seed of both
    (["--seed", "3"], 3),
    ([], 0),
])
def test_compare_runs_both_sides_on_the_same_seeds(args, seed, monkeypatch):
    seen = {}

    class Fake:
        def to_dict(self):
            return {}

    def fake_compare(a, b, *, replicates, seed, progress=None):
        seen.update(a=a.run.seed, b=b.run.seed, seed=seed)
        return Fake()

    monkeypatch.setattr(analysis_compare, "compare", fake_compare)
    r = runner.invoke(app, ["compare", "baseline", "essay", "-n", "300", "-d", "10", "-r", "2", "--json",
                            *args])
    assert r.exit_code == 0, r.output
    assert seen == {"a": seed, "b": seed, "seed": seed}


def test_a_containers_memory_limit_bounds_the_memory_available(tmp_path: Path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    host = 20_000_000 * 1024
    assert engine.available_memory(str(meminfo), str(cgroup)) == host  # no cgroup files: the host's
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("1000\n")
    assert engine.available_memory(str(meminfo), str(cgroup)) == host  # no limit
    (cgroup / "memory.max").write_text(f"{4 * 2**30}\n")
    (cgroup / "memory.current").write_text(f"{2**30}\n")
    assert engine.available_memory(str(meminfo), str(cgroup)) == 3 * 2**30  # the limit's room
    assert engine.available_memory(str(tmp_path / "none"), str(cgroup)) == 3 * 2**30
