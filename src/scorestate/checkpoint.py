"""Checkpoints: a run saved between two days and resumed later, bit for bit.

A draw is a pure function of (seed, day, stream, citizen), so the random generator holds no
state. What a run carries from one day to the next is its arrays (citizens, ties, state,
prices), the metrics recorded so far, the ledger rows not yet handed on, and the day; the
policy in force and the one citizens believe in follow from the timeline and the day. A
checkpoint holds exactly those, in one NumPy `.npz` file read without pickle (a checkpoint
never executes code), with the resolved scenario and a digest of the code that wrote it:
other code would not go on with the same run, so resuming under it is refused.

The file is written beside its final name and then renamed, so a run killed while saving
leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scorestate import __version__, kernel_cache
from scorestate.errors import ScenarioError, ScorestateError
from scorestate.ledger import COLUMNS, DTYPES
from scorestate.network import Graph, used_slots
from scorestate.policy import policy_on
from scorestate.population import N_GROUPS
from scorestate.state import Citizens, State

if TYPE_CHECKING:
    from collections.abc import Callable

    from scorestate.engine import Simulation
    from scorestate.ledger import Batch

FORMAT = 1
_PACKAGE = Path(__file__).parent


def code_digest() -> str:
    """The digest of the code a run computes with (the one that names the kernel cache)."""
    return kernel_cache.digest(_PACKAGE)


def save(sim: Simulation, path: str | Path, note: dict[str, Any] | None = None) -> Path:
    """Write `sim` as it stands between days to `path` (a `.npz` file); returns the path.
    `note`: what the caller needs to go on with it (plain JSON values), read by `note()`."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for prefix, holder in (("citizens", sim.citizens), ("state", sim.state), ("graph", sim.graph)):
        for f in fields(holder):
            arrays[f"{prefix}.{f.name}"] = getattr(holder, f.name)
    arrays["prices.rules"] = sim.prices.rules
    arrays["prices.factors"] = sim.prices.factors
    rec = sim.recorder
    names = list(rec.daily)
    arrays["metrics"] = np.stack([rec.daily[name] for name in names]) if names else np.empty((0, 0))
    arrays["group_metrics"] = rec.group_values
    for name, column in sim.ledger.pending().items():
        arrays[f"pending.{name}"] = column
    kept = sim._memory if sim.keeps_ledger else []
    for name in COLUMNS:
        arrays[f"memory.{name}"] = (np.concatenate([b[name] for b in kept]) if kept
                                    else np.empty(0, dict(zip(COLUMNS, DTYPES, strict=True))[name]))
    meta = {
        "format": FORMAT, "version": __version__, "code": code_digest(),
        "scenario": sim.scenario.model_dump(mode="json"), "day": sim.day,
        "build_s": sim.build_s, "step_s": sim.step_s, "metric_names": names,
        "components": list(rec._components), "ledger_rows": sim.ledger.rows,
        "memory_batches": [len(b["day"]) for b in kept], "note": note or {},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
    _write_whole(path, arrays)
    return path


def _write_whole(path: Path, arrays: dict[str, np.ndarray]) -> None:
    if path.is_dir():
        raise ScorestateError(f"cannot write the checkpoint '{path}': it is a folder; expected "
                              "a file name such as run.ckpt.npz")
    if not path.parent.is_dir():
        raise ScorestateError(f"cannot write the checkpoint '{path}': the folder '{path.parent}' "
                              "does not exist; expected a file in an existing folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ScorestateError(f"cannot write the checkpoint '{path}': {e.strerror or e}") from None
        raise


def load(path: str | Path, *, ledger_sink: Callable[[Batch], None] | None = None) -> Simulation:
    """The run a checkpoint holds, ready to step on from its day (see `Simulation.resume`)."""
    from scorestate.engine import Simulation
    from scorestate.scenario.load import scenario_from_dict

    path = Path(path)
    data = _read(path)
    meta = _meta(path, data)
    try:
        scenario = scenario_from_dict(meta["scenario"], label=f"the scenario in '{path}'")
    except ScenarioError as e:
        raise _bad(path, f"its scenario is not valid here ({e})") from None
    citizens = Citizens(**_group(path, data, "citizens", Citizens))
    graph = Graph(**_group(path, data, "graph", Graph))
    n = citizens.n
    _check_graph(path, graph, n)
    reference = State.allocate(0, graph.widest_row())
    state = State.allocate(n, graph.widest_row())
    for name, column in _group(path, data, "state", State).items():
        _like(path, f"state.{name}", column, getattr(reference, name).dtype, (n,))
        getattr(state, name)[:] = column
    for name, column in citizens.__dict__.items():
        if name != "region_start":
            _like(path, f"citizens.{name}", column, column.dtype, (n,))

    sim = Simulation.__new__(Simulation)
    sim._take(scenario, citizens, graph)
    sim._finish(state, ledger_sink)
    day = int(meta["day"])
    if not 0 <= day <= scenario.run.days:
        raise _bad(path, f"its day {day} lies outside the run's 0 to {scenario.run.days}")
    sim.day = day
    if day > 0:  # as day 0 left them: the policy in force yesterday, the last one enforced
        sim.policy = policy_on(sim.timeline, day - 1)
        sim.believed = None
        for first, policy in sim.timeline:
            if first <= day - 1 and policy.enabled:
                sim.believed = policy
    _check_domains(path, sim)
    sim.build_s, sim.step_s = float(meta["build_s"]), float(meta["step_s"])

    book = sim.prices
    _like(path, "prices.rules", data["prices.rules"], book.rules.dtype, book.rules.shape)
    book.rules[:] = data["prices.rules"]
    book.factors = np.ascontiguousarray(data["prices.factors"], np.float32)
    if book.factors.ndim != 2 or book.factors.shape[1] != len(book.services):
        raise _bad(path, "its price table does not match the scenario's priced services")

    rec = sim.recorder
    if list(meta["metric_names"]) != list(rec.daily):
        raise _bad(path, "its metric columns are not the ones this scenario records")
    metrics = data["metrics"]
    _like(path, "metrics", metrics, np.float64, (len(rec.daily), rec.days))
    for k, name in enumerate(rec.daily):
        rec.daily[name][:] = metrics[k]
    _like(path, "group_metrics", data["group_metrics"], np.float64, rec.group_values.shape)
    rec.group_values[:] = data["group_metrics"]
    rec._components = tuple(float(x) for x in meta["components"])

    pending = {name: _column(path, data, f"pending.{name}", dt)
               for name, dt in zip(COLUMNS, DTYPES, strict=True)}
    sim.ledger.restore(pending, int(meta["ledger_rows"]))
    if ledger_sink is None:
        memory = {name: _column(path, data, f"memory.{name}", dt)
                  for name, dt in zip(COLUMNS, DTYPES, strict=True)}
        at = 0
        for m in meta["memory_batches"]:
            sim._memory.append({name: column[at:at + m] for name, column in memory.items()})
            at += m
    return sim


def note(path: str | Path) -> dict[str, Any]:
    """The note saved with a checkpoint, read without loading its arrays."""
    path = Path(path)
    data = _read(path, only="meta")
    return dict(_meta(path, data).get("note") or {})


def _read(path: Path, only: str | None = None) -> Any:
    if not path.exists():
        raise ScorestateError(f"no checkpoint at '{path}'; expected a file written by "
                              "Simulation.save or `scorestate run --checkpoint-every`")
    if not path.is_file():
        raise ScorestateError(f"'{path}' is not a file; expected a checkpoint (.npz) file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files if only is None or name == only}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise _bad(path, f"it cannot be read as one ({type(e).__name__}: {e})") from None


def _meta(path: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        fmt, code = meta["format"], meta["code"]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        raise _bad(path, "it has no readable description") from None
    if fmt != FORMAT:
        raise _bad(path, f"it is in format {fmt}; this version reads format {FORMAT}")
    if code != code_digest():
        raise ScorestateError(
            f"the checkpoint '{path}' was written by other code (scorestate "
            f"{meta.get('version', '?')}, code {code}; this is code {code_digest()}): resuming "
            "would not continue the same run bit for bit; expected the version that wrote it")
    return meta


def _group(path: Path, data: dict[str, np.ndarray], prefix: str, cls: type) -> dict[str, np.ndarray]:
    out = {}
    for f in fields(cls):
        key = f"{prefix}.{f.name}"
        if key not in data:
            raise _bad(path, f"'{key}' is missing")
        out[f.name] = np.ascontiguousarray(data[key])
    return out


def _column(path: Path, data: dict[str, np.ndarray], key: str, dtype: Any) -> np.ndarray:
    if key not in data:
        raise _bad(path, f"'{key}' is missing")
    column = data[key]
    _like(path, key, column, dtype, column.shape if column.ndim == 1 else (-1,))
    return column


def _like(path: Path, key: str, a: np.ndarray, dtype: Any, shape: tuple[int, ...]) -> None:
    if a.dtype != np.dtype(dtype) or a.shape != shape:
        raise _bad(path, f"'{key}' is {a.dtype}{list(a.shape)}, expected {np.dtype(dtype)}{list(shape)}")


def _check_graph(path: Path, g: Graph, n: int) -> None:
    """The ties index arrays inside compiled kernels, which do not check bounds: refuse any
    that would read outside them."""
    start, degree, nbrs = g.start, g.degree, g.nbrs
    if start.shape != (n + 1,) or degree.shape != (n,) or nbrs.ndim != 1:
        raise _bad(path, f"its ties do not fit its {n:,} citizens")
    rows = np.diff(start.astype(np.int64))
    if start[0] != 0 or (rows < 0).any() or start[-1] > nbrs.shape[0] or (degree > rows).any():
        raise _bad(path, "its rows of ties are out of order")
    used = nbrs[used_slots(start, degree, nbrs.shape[0])]
    if used.size and (used.min() < 0 or used.max() >= n):
        raise _bad(path, "it has ties to citizens that do not exist")


def _check_domains(path: Path, sim: Simulation) -> None:
    """Columns that kernels use as indices into small tables must lie inside them."""
    c, s = sim.citizens, sim.state
    tiers = len(sim.policy.spec.tiers.names)
    regions = c.region_start.shape[0] - 1
    for what, column, top in (("citizens.rank", c.rank, 2), ("citizens.education", c.education, 3),
                              ("citizens.quintile", c.quintile, 5), ("state.tier", s.tier, tiers - 1),
                              ("citizens.region", c.region, regions - 1),
                              ("citizens.group", c.group, N_GROUPS - 1)):
        if column.size and (int(column.min()) < 0 or int(column.max()) > top):
            raise _bad(path, f"'{what}' has values outside 0 to {top}")


def _bad(path: Path, why: str) -> ScorestateError:
    return ScorestateError(f"'{path}' is not a usable scorestate checkpoint: {why}")
