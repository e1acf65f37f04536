"""Errors a user can cause and fix.

Every message follows one template: what was wrong (the field or file, and the value given),
then what was expected. The CLI prints the message alone and exits with code 2; the Python
API raises the exception so a notebook shows the same text.
"""

from __future__ import annotations

import os
from pathlib import Path


class ScorestateError(Exception):
    """A usage error: bad scenario, bad option, missing file, unreadable store."""


class ScenarioError(ScorestateError):
    """A scenario file or override that does not fit the schema."""


class ConditionError(ScenarioError):
    """A condition string that is malformed, hostile or names an unknown column."""


class StoreError(ScorestateError):
    """A store that is missing, unreadable, corrupt or lacks the asked-for run."""


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


def check_output_file(path: Path, option: str, example: Path) -> None:
    """Refuse an output path that cannot be written, before any work: a folder, a file in a
    folder that does not exist, a file that may not be written. `example` names a good path."""
    if path.is_dir():
        raise ScorestateError(f"{option}: '{path}' is a directory; expected a file path, such as "
                              f"'{example}'")
    if not path.parent.is_dir():
        raise ScorestateError(f"{option}: the folder '{path.parent}' does not exist; expected a "
                              "file path in an existing folder")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ScorestateError(f"{option}: '{path}' is not writable (permission denied); expected a "
                              "writable file path")
