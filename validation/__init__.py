"""Validation: the engine reproduces results known from the literature, checked against theory.

Each experiment configures the engine's own mechanisms through a scenario file in
`validation/scenarios/` and compares what the engine does with what theory predicts
(`validation.theory`, computed independently of the engine):

- `watts`       - Watts (2002) global cascades: guilt by association as a threshold rule
- `degroot`     - DeGroot (1974) averaging: association scoring converges to pi . x(0)
- `granovetter` - Granovetter (1978) riot thresholds 0..99
- `rngcheck`    - statistics of the counter-based random streams
- `crn`         - the variance that common random numbers save in a comparison
- `calibration` - the court list preset against its published flows, size and blocked tickets

`python -m validation` runs them at full size (minutes); `python -m validation --plots` also
writes the figures of docs/validation.md to docs/img/. Small versions run in CI
(tests/test_validation.py, tests/test_rng.py).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numba
import yaml

from scorestate.scenario.load import set_path, validate
from scorestate.scenario.schema import Scenario

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
ROOT = SCENARIOS.parent.parent
IMG = ROOT / "docs" / "img"


SHORTCUTS = {"population": "population.size", "days": "run.days", "seed": "run.seed"}


@functools.lru_cache(maxsize=8)
def _raw(name: str) -> dict[str, Any]:
    """The scenario file's mapping, read once: sweeps build thousands of variants of it."""
    with (SCENARIOS / f"{name}.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def scenario(name: str, overrides: Mapping[str, Any] | None = None, **settings: Any) -> Scenario:
    """A validation scenario by name (`watts`, `degroot`, `granovetter`) with dotted-path
    overrides and the shortcuts population=, days=, seed= (None leaves the file's value)."""
    raw = copy.deepcopy(_raw(name))
    label = f"validation scenario '{name}'"
    for path, value in (overrides or {}).items():
        set_path(raw, path, value, label=label)
    for key, value in settings.items():
        if value is not None:
            set_path(raw, SHORTCUTS[key], value, label=label)
    return validate(raw, label)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run numba kernels on one thread: for thousands of small runs, waking threads costs more
    than it saves. Results do not depend on the thread count (tests/test_rng.py checks it)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


__all__ = ["IMG", "ROOT", "SCENARIOS", "one_thread", "scenario"]
