"""The command line as a user meets it: output, JSON, and one clear message for bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.store import Store

runner = CliRunner()
FINAL_KEYS = {"blacklist_share", "approval_mean", "dissent_rate", "dissent_latent_rate",
              "alcohol_rate", "alcohol_latent_rate", "score_assortativity", "wallet_frozen_share",
              "denied_share", "false_attribution_share", "innocent_blacklisted_share"}


def cli(*args: str):
    return runner.invoke(app, list(args))


def test_run_json_is_one_object_and_lands_in_the_store(tmp_path: Path):
    store = tmp_path / "runs.duckdb"
    r = cli("run", "essay", "-n", "800", "-d", "40", "--seed", "3", "--store", str(store), "--json",
            "--set", "policy.scoring.points.alcohol=-10")
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert {"run_id", "scenario", "population", "days", "seed", "elapsed_s", "citizen_days_per_s",
            "final"} <= set(payload)
    assert set(payload["final"]) >= FINAL_KEYS
    assert (payload["population"], payload["days"], payload["seed"]) == (800, 40, 3)
    stored = ss.open_run(payload["run_id"], store=store)
    assert stored.record.scenario["policy"]["scoring"]["points"]["alcohol"] == -10
    assert stored.metrics.height == 40
    assert stored.ledger().height == stored.record.ledger_rows > 0


def test_run_prints_a_readable_summary(tmp_path: Path):
    r = cli("run", "-n", "600", "-d", "30", "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 0, r.output
    for text in ("blacklisted", "wallets frozen", "dissent expressed / latent", "by group",
                 "approval", "false attributions", "stored in"):
        assert text in r.stdout
    # and what to do next, with commands that work as printed
    run_id = ss.list_runs(store=tmp_path / "s.duckdb")["run_id"][0]
    said = " ".join(r.stdout.split())
    store = f"--store {tmp_path / 's.duckdb'}"
    assert f"next: scorestate report {run_id} {store}" in said
    assert f"scorestate explain {run_id} {store} (whose files to open)" in said
    listing = cli("explain", run_id, "--store", str(tmp_path / "s.duckdb"))
    assert listing.exit_code == 0 and "citizen" in listing.stdout


def test_scenarios_lists_and_shows(tmp_path: Path):
    r = cli("scenarios")
    assert r.exit_code == 0 and "essay" in r.stdout and "baseline" in r.stdout
    r = cli("scenarios", "--show", "essay", "--set", "run.days=12")
    assert r.exit_code == 0
    assert "the day's steps, in order: timeline, behaviour, surveillance" in r.stdout
    f = tmp_path / "shown.yaml"
    f.write_text(r.stdout)
    assert ss.load_scenario(str(f)).run.days == 12


BAD = [
    (["run", "essay", "--set", "population.sizee=5"], "unknown field 'population.sizee'"),
    (["run", "essay", "--set", "behaviour.deterrence=lots"],
     "'behaviour.deterrence' input should be a valid number"),
    (["run", "essay", "--population", "-5"], "'population.size' input should be greater than 0; got -5"),
    (["run", "essay", "--days", "0"], "'run.days' input should be greater than 0; got 0"),
    (["run", "essay", "--set", "policy.blacklist.exit=days_listed >= 90 and apologies > 2"],
     "unknown column 'apologies'"),
    (["run", "essay", "--set", "policy.gates.wallet.condition=__import__('os').system('id')"],
     "uses a function call"),
    (["run", "missing.yaml"], "does not exist"),
    (["run", "essay", "--set", "nonsense"], "has no '='"),
    (["run", "-n", "1000", "-d", "5", "--set", "policy.scoring.points.alcohol=.nan"],
     "'policy.scoring.points.alcohol' expected a finite number; got nan"),
    (["run", "-n", "1000", "-d", "5", "--set", "behaviour.alcohol.weight=.inf"],
     "'behaviour.alcohol.weight' expected a finite number; got inf"),
    (["run", "-n", "1000", "-d", "5", "--set", "policy.tiers.lower_bounds=[0,600,850,960,1030,.inf]"],
     "'policy.tiers.lower_bounds.5' expected a finite number; got inf"),
    (["run", "--set", "population.size=-3", "-n", "1000", "-d", "5"],
     "'population.size' is given twice: by the override population.size=-3 and by the setting "
     "population=1000 (--population on the command line)"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_gets_one_message_exit_2_and_no_store(tmp_path: Path, args, message):
    store = tmp_path / "never.duckdb"
    r = cli(*args, "--store", str(store))
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1 or r.stderr.count("error") == 1
    assert not store.exists()


def test_an_unreadable_store_is_named_and_left_untouched(tmp_path: Path):
    store = tmp_path / "notes.duckdb"
    store.write_text("these are my notes, not a database\n")
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    r = cli("run", "-n", "300", "-d", "5", "--store", str(store))
    assert r.exit_code == 2
    assert "not a scorestate store" in r.stderr and str(store) in r.stderr
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


def test_an_interrupted_run_leaves_no_run_in_the_store(tmp_path: Path):
    store = tmp_path / "s.duckdb"

    def interrupt(day: int) -> None:
        if day == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ss.run(ss.load_scenario("essay", population=500, days=20), store=store, progress=interrupt)
    with Store(store) as s:
        assert s.list_runs().height == 0
    ledgers = tmp_path / "s.duckdb.ledger"
    assert not ledgers.exists() or not any(ledgers.iterdir())


def test_a_killed_run_never_shows_as_complete(tmp_path: Path):
    """Kill the process mid-run: the store opens, and holds only complete runs."""
    store = tmp_path / "s.duckdb"
    done = ss.run(ss.load_scenario("essay", population=300, days=5), store=store)
    proc = subprocess.Popen([sys.executable, "-m", "scorestate", "run", "-n", "1000000", "-d",
                             "365", "--store", str(store)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ})
    time.sleep(6)
    assert proc.poll() is None, "the run should still be going when it is killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store(store) as s:
        runs = s.list_runs()
        assert done.run_id in runs["run_id"].to_list()
        for run_id in runs["run_id"]:
            stored = s.load_run(run_id)
            assert stored.metrics.height == stored.record.days


@pytest.mark.parametrize("after_s", [3.0, 8.0])  # while building or compiling; inside the kernels
def test_ctrl_c_stops_a_run_with_one_line_and_stores_nothing(tmp_path: Path, after_s: float):
    store = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "scorestate", "run", "-n", "1000000", "-d",
                             "365", "--store", str(store)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ})
    time.sleep(after_s)
    assert proc.poll() is None, "the run should still be going when it is interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    # a loaded machine may still be loading the modules at 3 s: the line says so then
    assert stderr.strip() in ("scorestate: interrupted; the run was not stored",
                              "scorestate: interrupted while starting; nothing was done"), stderr
    with Store(store) as s:
        assert s.list_runs().height == 0


def test_ctrl_c_while_the_command_starts_is_one_line():
    """The modules take a second or more to load; Ctrl-C then is not a traceback of the imports."""
    proc = subprocess.Popen([sys.executable, "-m", "scorestate", "scenarios"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ})
    time.sleep(0.6)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr == "scorestate: interrupted while starting; nothing was done\n"


def test_a_program_that_imports_scorestate_keeps_its_ctrl_c():
    code = "import signal, scorestate; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def test_ctrl_c_that_a_kernel_swallowed_still_stops_the_commit(tmp_path: Path, monkeypatch):
    """A SIGINT inside compiled code may never surface as KeyboardInterrupt; the flag the
    command line's handler sets keeps the run out of the store all the same."""
    from scorestate import interrupts

    store = tmp_path / "s.duckdb"
    monkeypatch.setattr(interrupts._watch, "requested", True)
    with pytest.raises(KeyboardInterrupt):
        ss.run(ss.load_scenario("essay", population=300, days=3), store=store)
    with Store(store) as s:
        assert s.list_runs().height == 0
    assert interrupts.was_interrupt(SystemError("returned a result with an exception set"))


def ctrl_c_in(monkeypatch, target: object, name: str, *, after: bool) -> None:
    """Ctrl-C (a real SIGINT to this process) just before or just after `target.name` runs."""
    original = getattr(target, name)

    def wrapped(*args, **kwargs):
        if not after:
            signal.raise_signal(signal.SIGINT)
        out = original(*args, **kwargs)
        if after:
            signal.raise_signal(signal.SIGINT)
        return out
    monkeypatch.setattr(target, name, wrapped)


@pytest.mark.parametrize("where", ["committing", "printing"])
def test_ctrl_c_once_the_run_is_stored_finishes_the_command(tmp_path: Path, monkeypatch, where: str):
    """A script must not take a stored run for a failed one and run it again: once stored, the
    command prints what it stored, says Ctrl-C came, and exits 0; the run is whole in the store."""
    from scorestate.cli import run as run_command

    if where == "committing":  # after the commit, before the command hears of it
        ctrl_c_in(monkeypatch, Store, "commit_run", after=True)
    else:
        ctrl_c_in(monkeypatch, run_command, "_print_result", after=False)
    store = tmp_path / "s.duckdb"
    r = cli("run", "essay", "-n", "300", "-d", "5", "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    run_id = json.loads(r.stdout)["run_id"]
    assert (f"scorestate: note: Ctrl-C came once run {run_id} was being stored in {store}; it is "
            "stored whole, so the command finished (exit status 0)") in " ".join(r.stderr.split())
    stored = ss.open_run(run_id, store=store)
    assert stored.ledger().height == stored.record.ledger_rows > 0


def test_the_command_that_stored_its_run_exits_without_dying_of_ctrl_c(tmp_path: Path, monkeypatch):
    """Python puts back the default SIGINT action as it exits, and Ctrl-C then ended a stored run's
    command with exit status 130 and no word; the command ignores it from then on."""
    from scorestate import interrupts

    monkeypatch.setattr(interrupts, "_the_command", lambda: True)
    before = signal.getsignal(signal.SIGINT)
    try:
        r = cli("run", "essay", "-n", "300", "-d", "3", "--store", str(tmp_path / "s.duckdb"))
        assert r.exit_code == 0, r.output
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_while_a_program_stores_a_run_waits_for_the_commit(tmp_path: Path, monkeypatch):
    """In Python, Ctrl-C is KeyboardInterrupt as ever, but it never leaves a stored run without
    its ledger (the clean-up of a stopped run would remove it)."""
    ctrl_c_in(monkeypatch, Store, "commit_run", after=True)
    store = tmp_path / "s.duckdb"
    with pytest.raises(KeyboardInterrupt):
        ss.run(ss.load_scenario("essay", population=300, days=5), store=store)
    (run_id,) = ss.list_runs(store)["run_id"].to_list()
    stored = ss.open_run(run_id, store=store)
    assert stored.ledger().height == stored.record.ledger_rows > 0


def test_a_command_puts_back_the_ctrl_c_handler_it_found(tmp_path: Path):
    before = signal.getsignal(signal.SIGINT)
    r = cli("run", "baseline", "-n", "200", "-d", "2", "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 0, r.output
    assert signal.getsignal(signal.SIGINT) is before


def test_a_scenario_file_with_nan_or_nothing_is_refused(tmp_path: Path):
    store = tmp_path / "never.duckdb"
    nan = tmp_path / "nan.yaml"
    nan.write_text("attitudes:\n  approval_base: .nan\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for f, message in ((nan, "'attitudes.approval_base' expected a finite number; got nan"),
                       (empty, f"scenario file '{empty}' is empty; expected a YAML mapping")):
        r = cli("run", str(f), "-n", "500", "-d", "5", "--store", str(store))
        assert r.exit_code == 2 and message in r.stderr, r.output
        assert "Traceback" not in r.output
    assert not store.exists()


def test_scenarios_set_without_show_is_refused():
    r = cli("scenarios", "--set", "policy.scoring.drift=0.1")
    assert r.exit_code == 2
    assert "--set policy.scoring.drift=0.1 needs --show NAME" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_findings_refuses_an_unwritable_output_before_simulating(tmp_path: Path, monkeypatch, where):
    import scorestate.analysis.findings as findings

    measured = []
    monkeypatch.setattr(findings, "measure", lambda *a, **k: measured.append(a))
    output = tmp_path if where == "folder" else tmp_path / "no-such-folder" / "f.md"
    r = cli("findings", "-o", str(output), "-n", "100", "-d", "60", "-r", "2")
    assert r.exit_code == 2, r.output
    expected = f"'{output}' is a directory" if where == "folder" else "does not exist"
    assert expected in r.stderr and "Traceback" not in r.output
    assert measured == []  # refused before the first run


def test_one_citizen_for_one_day_reads_in_the_singular(tmp_path: Path):
    r = cli("run", "-n", "1", "-d", "1", "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 0, r.output
    assert "essay: 1 citizen, 1 day, seed 0" in r.stdout


def test_runs_tells_apart_runs_of_one_preset_with_different_overrides(tmp_path: Path):
    store = tmp_path / "s.duckdb"
    base = ["run", "-n", "300", "-d", "3", "--store", str(store), "--json"]
    ids = [json.loads(cli(*base, *extra).stdout)["run_id"] for extra in (
        [], ["--set", "policy.blacklist.entry.score=score < 850"],
        ["--set", "timeline.phases.0.set.policy.scoring.points.alcohol=-10",
         "--set", "policy.scoring.drift=0.2"])]
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: essay\npopulation: {size: 300}\nrun: {days: 3}\n")  # a file, named as a preset
    ids.append(json.loads(cli("run", str(plain), "--store", str(store), "--json").stdout)["run_id"])
    ids.append(json.loads(cli("run", str(plain), "--store", str(store), "--json", "--set",
                              "policy.scoring.drift=0.1").stdout)["run_id"])
    listed = {r["run_id"]: r["changes"] for r in json.loads(cli("runs", "--store", str(store),
                                                                 "--json").stdout)["runs"]}
    assert listed[ids[0]] == []  # -n and -d are shown as columns, not as changes
    assert listed[ids[1]] == ["policy.blacklist.entry.score=score < 850"]
    assert listed[ids[2]] == ["timeline.phases.0.set.policy.scoring.points.alcohol=-10",
                              "policy.scoring.drift=0.2"]
    assert listed[ids[3]] == []  # the file's own values are not changes of anything
    assert listed[ids[4]] == ["policy.scoring.drift=0.1"]  # a file's overrides are shown too
    table = cli("runs", "--store", str(store)).stdout
    assert f"{ids[1]}: policy.blacklist.entry.score=score < 850" in table and "none" in table


def test_the_overrides_record_is_scorestates_own():
    with pytest.raises(ss.ScorestateError, match="'overrides' is set by scorestate"):
        ss.load_scenario("essay", ["overrides=[]"])
    from scorestate.scenario.load import scenario_from_dict

    again = ss.load_scenario("essay", ["policy.scoring.drift=0.1"])
    stored = scenario_from_dict(again.model_dump(mode="json"))  # as a stored run is read back
    assert stored.overrides == ["policy.scoring.drift=0.1"] and stored.policy.scoring.drift == 0.1


def test_a_run_is_found_by_the_random_end_of_its_id(tmp_path: Path):
    store = tmp_path / "s.duckdb"
    run_id = json.loads(cli("run", "-n", "300", "-d", "2", "--store", str(store), "--json").stdout)["run_id"]
    with Store(store) as s:
        assert s.load_run(run_id[-6:]).record.run_id == run_id


def test_a_run_too_short_for_its_phases_says_so(tmp_path: Path):
    store = str(tmp_path / "s.duckdb")
    short = cli("run", "-n", "300", "-d", "20", "--store", store, "--json")
    assert short.exit_code == 0
    assert "does not reach" not in short.stderr and "do not reach" in short.stderr
    assert "the score for everything' (day 30)" in short.stderr and "--days" in short.stderr
    json.loads(short.stdout)  # stdout still holds exactly the one JSON object
    long = cli("run", "-n", "300", "-d", "200", "--store", store, "--set", "timeline.phases.1.day=150",
               "--json")
    assert long.exit_code == 0 and "reach" not in long.stderr



def test_one_parameter_set_twice_is_refused(tmp_path: Path):
    """The later value would win without a word, as a key given twice in a file would."""
    store = tmp_path / "s.duckdb"
    r = cli("run", "-n", "300", "-d", "2", "--store", str(store),
            "--set", "policy.scoring.points.alcohol=-10", "--set", "policy.scoring.points.alcohol=-20")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("scorestate: error: --set gives 'policy.scoring.points.alcohol' twice "
                                "(policy.scoring.points.alcohol=-10 and policy.scoring.points.alcohol=-20); "
                                "expected each parameter once")
    assert not store.exists()
    shown = cli("scenarios", "--show", "essay", "--set", "run.days=3", "--set", "run.days=4")
    assert shown.exit_code == 2 and "--set gives 'run.days' twice" in shown.stderr
    # compare's --set-b changes what --set gave both sides: that is not the same option twice
    both = cli("compare", "essay", "essay", "-n", "300", "-d", "3", "-r", "2", "--json",
               "--set", "policy.scoring.drift=0.01", "--set-b", "policy.scoring.drift=0.02")
    assert both.exit_code == 0, both.output
    twice_b = cli("compare", "essay", "essay", "-n", "300", "-d", "3", "-r", "2",
                  "--set-b", "policy.scoring.drift=0.01", "--set-b", "policy.scoring.drift=0.02")
    assert twice_b.exit_code == 2 and "--set-b gives 'policy.scoring.drift' twice" in twice_b.stderr
