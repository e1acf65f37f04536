"""Errors a user can cause and fix.

Every message follows one template: what was wrong (the field or file, and the value given),
then what was expected. The CLI prints the message alone and exits with code 2; the Python
API raises the exception so a notebook shows the same text.
"""

from __future__ import annotations


class ScorestateError(Exception):
    """A usage error: bad scenario, bad option, missing file, unreadable store."""


class ScenarioError(ScorestateError):
    """A scenario file or override that does not fit the schema."""


class ConditionError(ScenarioError):
    """A condition string that is malformed, hostile or names an unknown column."""


class StoreError(ScorestateError):
    """A store that is missing, unreadable, corrupt or lacks the asked-for run."""
