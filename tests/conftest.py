"""Shared helpers: small runs, cached per test session so several tests can read one run."""

from __future__ import annotations

import functools
import json

import pytest

import scorestate as ss
from scorestate.engine import RunResult


def pytest_configure(config: pytest.Config) -> None:
    # Tests run the presets for a few days on purpose: that their later phases are not reached
    # is no news here (tests of the warning itself catch it with pytest.warns).
    config.addinivalue_line("filterwarnings", "ignore::scorestate.NotReachedWarning")


@functools.lru_cache(maxsize=32)
def _cached(source: str, overrides_json: str, population: int, days: int, seed: int) -> RunResult:
    overrides = json.loads(overrides_json)
    scenario = ss.load_scenario(source, overrides, population=population, days=days, seed=seed)
    return ss.simulate(scenario)


def small_run(source: str = "essay", overrides: dict | None = None, *, population: int = 3000,
              days: int = 120, seed: int = 1) -> RunResult:
    """A small run; identical calls in one session share the result (treat it as read-only)."""
    return _cached(source, json.dumps(overrides or {}, sort_keys=True), population, days, seed)


@pytest.fixture
def run_small():
    return small_run
