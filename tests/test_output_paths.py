"""Where `report -o` and `findings -o` may write: never over a link, a pipe or a device, and never
over the store the runs came from (its file, its write-ahead log, its ledger folder).

No test here names a real device file (/dev/null, /dev/full): run as root, the bug these tests
guard against would replace it. A FIFO or a symbolic link inside tmp_path stands in for one.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.errors import ScorestateError, check_output_file

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, str]:
    """A store with one tiny run in it."""
    store = tmp_path_factory.mktemp("paths") / "cp.duckdb"
    r = cli("run", "-n", "300", "-d", "3", "--store", str(store), "--json")
    assert r.exit_code == 0, r.output
    return store, json.loads(r.stdout)["run_id"]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | str | None]]:
    """Every entry under `folder` (not followed through links): its kind and its contents."""
    seen = {}
    for p in sorted(folder.rglob("*")):
        mode = p.lstat().st_mode
        content = (os.readlink(p) if stat.S_ISLNK(mode) else p.read_bytes() if stat.S_ISREG(mode)
                   else None)
        seen[str(p.relative_to(folder))] = (stat.S_IFMT(mode), content)
    return seen


def refused(result, *texts: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in texts:
        assert text in result.stderr, result.stderr


# 1. a path that exists and is not a regular file

@pytest.mark.parametrize("kind", ["fifo", "symlink", "dangling-symlink", "symlink-to-folder"])
def test_report_refuses_an_output_that_is_not_a_regular_file(stored, tmp_path: Path, kind: str):
    store, run_id = stored
    target, out = tmp_path / "target.html", tmp_path / "out.html"
    if kind == "fifo":
        os.mkfifo(out)
        expected = f"-o: '{out}' is a FIFO (named pipe), not a regular file; expected a regular file"
    else:
        if kind == "symlink":
            target.write_text("keep me")
        elif kind == "symlink-to-folder":
            target.mkdir()
        out.symlink_to(target)
        expected = f"-o: '{out}' is a symbolic link (to '{target}'); expected a regular file path"
    before = snapshot(tmp_path)
    refused(cli("report", run_id, "--store", str(store), "-o", str(out)), expected)
    assert snapshot(tmp_path) == before  # the link or pipe is still there, and nothing else is


def test_the_python_api_refuses_a_link_too(stored, tmp_path: Path):
    store, run_id = stored
    out = tmp_path / "out.html"
    out.symlink_to(tmp_path / "elsewhere.html")
    with pytest.raises(ScorestateError, match="is a symbolic link"):
        ss.write_report(run_id, out, store=store)
    assert out.is_symlink() and list(tmp_path.iterdir()) == [out]


def test_findings_refuses_a_link_or_a_fifo_before_simulating(tmp_path: Path, monkeypatch):
    import scorestate.analysis.findings as findings

    measured: list[object] = []
    monkeypatch.setattr(findings, "measure", lambda *a, **k: measured.append(a))
    link = tmp_path / "findings.md"
    link.symlink_to(tmp_path / "page.md")
    refused(cli("findings", "-o", str(link), "-n", "100", "-d", "60", "-r", "2"),
            f"--output: '{link}' is a symbolic link")
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)  # writing one would block until something reads it
    refused(cli("findings", "-o", str(fifo), "-n", "100", "-d", "60", "-r", "2"),
            f"--output: '{fifo}' is a FIFO (named pipe), not a regular file")
    assert measured == [] and link.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_regular_file_may_still_be_overwritten(stored, tmp_path: Path):
    store, run_id = stored
    out = tmp_path / "old.html"
    out.write_text("an old report")
    r = cli("report", run_id, "--store", str(store), "-o", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("<!DOCTYPE html>") and not out.is_symlink()


# 2. the store the run is read from

def store_parts(store: Path, run_id: str) -> dict[str, Path]:
    part = sorted((store.parent / f"{store.name}.ledger" / run_id).glob("part-*.parquet"))[0]
    return {"store": store, "wal": store.with_name(store.name + ".wal"), "ledger-part": part,
            "ledger-new-file": part.with_name("report.html"),
            "store-by-another-name": store.parent / f"{store.name}.ledger" / ".." / store.name}


@pytest.mark.parametrize("which", ["store", "wal", "ledger-part", "ledger-new-file",
                                   "store-by-another-name"])
def test_report_refuses_to_write_over_its_store(stored, which: str):
    store, run_id = stored
    out = store_parts(store, run_id)[which]
    before = snapshot(store.parent)
    expected = ("the ledger folder of the store" if which.startswith("ledger")
                else "the write-ahead log of the store" if which == "wal" else "is the store")
    refused(cli("report", run_id, "--store", str(store), "-o", str(out)),
            f"-o: '{out}'", expected, f"'{store}'", "expected a file path outside the store")
    assert snapshot(store.parent) == before
    again = ss.open_run(run_id, store=store)  # the store still reads, ledger and all
    assert again.ledger().height == again.record.ledger_rows


def test_a_hard_link_to_the_store_is_the_store(stored, tmp_path: Path):
    store, run_id = stored
    twin = store.parent / "twin.duckdb"
    os.link(store, twin)
    try:
        refused(cli("report", run_id, "--store", str(store), "-o", str(twin)), "is the store")
    finally:
        twin.unlink()


def test_the_python_api_protects_the_store_the_run_came_from(stored):
    store, run_id = stored
    before = snapshot(store.parent)
    run = ss.open_run(run_id, store=store)
    for out in (store, store_parts(store, run_id)["ledger-part"]):
        with pytest.raises(ScorestateError, match="expected a file path outside the store"):
            ss.write_report(run, out)  # a StoredRun: its store is known from its ledger
        with pytest.raises(ScorestateError, match="expected a file path outside the store"):
            ss.write_report(run_id, out, store=store)
    assert snapshot(store.parent) == before


def test_findings_refuses_to_write_over_the_default_store(stored, tmp_path: Path, monkeypatch):
    import scorestate.analysis.findings as findings

    measured: list[object] = []
    monkeypatch.setattr(findings, "measure", lambda *a, **k: measured.append(a))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scorestate.duckdb").write_bytes(stored[0].read_bytes())  # the default store
    before = snapshot(tmp_path)
    refused(cli("findings", "-o", "scorestate.duckdb", "-n", "100", "-d", "60", "-r", "2"),
            "--output: 'scorestate.duckdb' is the store 'scorestate.duckdb'")
    assert measured == [] and snapshot(tmp_path) == before


def test_check_output_file_protects_only_what_it_is_given(tmp_path: Path):
    store = tmp_path / "s.duckdb"
    store.write_bytes(b"x")
    (tmp_path / "s.duckdb.ledger").mkdir()
    check_output_file(store, "-o", tmp_path / "r.html")  # no store named: an ordinary file
    check_output_file(tmp_path / "s.html", "-o", tmp_path / "r.html", protect=[store])
    check_output_file(tmp_path / "t.duckdb", "-o", tmp_path / "r.html",
                      protect=[tmp_path / "t.duckdb"])  # no store there yet: nothing to lose
    check_output_file(tmp_path / "r.html", "-o", tmp_path / "r.html", protect=[""])
    for out in (store, tmp_path / "s.duckdb.wal", tmp_path / "s.duckdb.ledger" / "a.html"):
        with pytest.raises(ScorestateError, match="outside the store"):
            check_output_file(out, "-o", tmp_path / "r.html", protect=[store])


def test_any_duckdb_file_or_ledger_folder_is_kept_from_being_overwritten(tmp_path, monkeypatch):
    """findings has no --store: a store other than the default one must still not be lost."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "tutorial.duckdb"
    ss.run(ss.load_scenario("baseline", population=200, days=2), store=store)
    before = store.read_bytes()
    ledger_file = tmp_path / "tutorial.duckdb.ledger" / "findings.md"
    assert ledger_file.parent.is_dir()
    for target, message in ((store, "is a DuckDB database"), (ledger_file, "a store's ledger folder")):
        r = runner.invoke(app, ["findings", "-o", str(target), "-n", "1000", "-d", "60", "-r", "2"])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    assert store.read_bytes() == before


def test_an_empty_output_path_is_called_empty_not_a_directory(stored, tmp_path: Path, monkeypatch):
    """`-o ''` read as '.', and the message said "'.' is a directory"."""
    import scorestate.analysis.findings as findings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(findings, "measure", lambda *a, **k: pytest.fail("it simulated"))
    store, run_id = stored
    r = cli("report", run_id, "--store", str(store), "-o", "")
    refused(r, "scorestate: error: -o: the path is empty; expected a file path, such as 'report-RUN.html'")
    assert "directory" not in r.stderr
    refused(cli("findings", "-o", " ", "-n", "100", "-d", "60", "-r", "2"),
            "--output: the path is empty; expected a file path, such as 'my-findings.md'")
    assert list(tmp_path.iterdir()) == []
