"""Errors a user can cause and fix.

Every message follows one template: what was wrong (the field or file, and the value given),
then what was expected. The CLI prints the message alone and exits with code 2; the Python
API raises the exception so a notebook shows the same text.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


class ScorestateError(Exception):
    """A usage error: bad scenario, bad option, missing file, unreadable store."""


class ScenarioError(ScorestateError):
    """A scenario file or override that does not fit the schema."""


class ConditionError(ScenarioError):
    """A condition string that is malformed, hostile or names an unknown column."""


class StoreError(ScorestateError):
    """A store that is missing, unreadable, corrupt or lacks the asked-for run."""


class RebindError(ScorestateError, AttributeError):
    """A state array rebound instead of written into (an AttributeError too, as it always was)."""


class InvariantError(ScorestateError, RuntimeError):
    """The state broke a rule of the model (checked with `run.check_invariants: true`): a bug, or
    a write between days that left arrays that go together disagreeing (the guide lists them).

    A ScorestateError, so `except ss.ScorestateError` catches it too; still a RuntimeError, as it
    was, so code written against that keeps working.
    """


def not_a_scenario(value: object, example: str) -> ScorestateError:
    """The error for a value given where a loaded Scenario belongs; a preset's name is the usual
    slip, so `example` (a format string with `{name!r}`) shows how to load it first."""
    message = f"expected a Scenario from ss.load_scenario(...); got {type(value).__name__} {_short(value)}"
    if isinstance(value, str):
        message += f" (to run a preset or file by name: {example.format(name=value)})"
    return ScorestateError(message)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def output_path(text: str, option: str, example: str) -> Path:
    """An output option's text as a path. An empty one is refused as empty: as a Path it is '.',
    which the checks below would call a directory."""
    if not text.strip():
        raise ScorestateError(f"{option}: the path is empty; expected a file path, such as '{example}'")
    return Path(text)


def check_output_file(path: Path, option: str, example: Path,
                      protect: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse an output path that cannot be written, before any work: a folder, a file in a
    folder that does not exist, a file that may not be written, something that is not a regular
    file (a symbolic link, a FIFO, a device, a socket: writing would replace it or block on it).
    `example` names a good path. `protect` lists stores (their DuckDB files) that the output must
    not overwrite: the file, its `.wal` and anything in its `.ledger` folder."""
    path = Path(path)
    try:
        mode = path.lstat().st_mode
    except OSError:
        mode = None  # absent (or unreadable: the checks below say which)
    if mode is not None and stat.S_ISLNK(mode):
        raise ScorestateError(f"{option}: '{path}' is a symbolic link (to '{os.readlink(path)}'); "
                              f"expected a regular file path, such as '{example.name}' (writing "
                              "would replace the link)")
    if path.is_dir():
        raise ScorestateError(f"{option}: '{path}' is a directory; expected a file path, such as "
                              f"'{example}'")
    if mode is not None and not stat.S_ISREG(mode):
        raise ScorestateError(f"{option}: '{path}' is {_special(mode)}, not a regular file; expected "
                              f"a regular file path, such as '{example.name}'")
    if not path.parent.is_dir():
        raise ScorestateError(f"{option}: the folder '{path.parent}' does not exist; expected a "
                              "file path in an existing folder")
    for store in (*map(Path, protect), *_stores_around(path)):
        _check_not_in_store(path, store, option, example)
    if mode is not None and _is_duckdb(path):
        raise ScorestateError(f"{option}: '{path}' is a DuckDB database (a store's runs, perhaps); "
                              f"writing it would lose them; expected another file path, such as "
                              f"'{example.name}'")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ScorestateError(f"{option}: '{path}' is not writable (permission denied); expected a "
                              "writable file path")


def _stores_around(path: Path) -> list[Path]:
    """The stores an output path would write into whether or not the command names them (findings
    has no --store): a `.wal`'s database, and the database beside any `.ledger` folder above it."""
    stores = [path.with_name(path.name[:-4])] if path.name.endswith(".wal") else []
    return stores + [f.with_name(f.name[:-7]) for f in path.parents if f.name.endswith(".ledger")]


def _is_duckdb(path: Path) -> bool:
    """Whether a file is a DuckDB database (its header says DUCK at byte 8): any store, not only
    those the command knows of, is kept from being overwritten by a report or a page."""
    try:
        with path.open("rb") as f:
            return f.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def _special(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "a special file"


def _check_not_in_store(path: Path, store: Path, option: str, example: Path) -> None:
    """Refuse an output that is `store`'s file or write-ahead log, or lies in its ledger folder,
    comparing resolved paths (a second name of the same file counts too)."""
    if not store.name:  # no store file named (an empty --store): the store refuses it itself
        return
    wal, ledger = store.with_name(store.name + ".wal"), store.with_name(store.name + ".ledger")
    if not os.path.lexists(store) and not os.path.lexists(ledger):
        return  # no store there yet: nothing to lose
    where = _resolved(path)
    for part, what in ((store, "the store"), (wal, "the write-ahead log of the store")):
        if where == _resolved(part) or _same_file(path, part):
            raise ScorestateError(f"{option}: '{path}' is {what} '{store}' (writing it would lose "
                                  f"the store's runs); expected a file path outside the store, such "
                                  f"as '{example.name}'")
    if where.is_relative_to(_resolved(ledger)):
        raise ScorestateError(f"{option}: '{path}' lies in '{ledger}', a store's ledger folder (the "
                              f"ledger folder of the store '{store}': writing there would damage its "
                              f"runs); expected a file path outside the store, such as "
                              f"'{example.name}'")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links: compare as written
        return path.absolute()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is absent
        return False
