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
import zipfile
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scorestate import __version__, kernel_cache
from scorestate.atomic import replacing
from scorestate.errors import ScenarioError, ScorestateError
from scorestate.ledger import COLUMNS, DTYPES
from scorestate.mechanisms.blacklist import REASON_SEED
from scorestate.network import Graph, used_slots
from scorestate.policy import policy_on
from scorestate.population import TRAITS, build_citizens, group_index
from scorestate.state import Citizens, State
from scorestate.vocabulary import LEDGER_KINDS, SOURCES

if TYPE_CHECKING:
    from collections.abc import Callable

    from scorestate.engine import Simulation
    from scorestate.ledger import Batch

    Fault = Callable[[str], ScorestateError]
    """Makes the error for what a check found wrong: a checkpoint refused on load or on save, or
    a rule of the model broken in a run (`run.check_invariants`)."""

FORMAT = 1


def save(sim: Simulation, path: str | Path, note: dict[str, Any] | None = None) -> Path:
    """Write `sim` as it stands between days to `path` (a `.npz` file); returns the path.
    `note`: what the caller needs to go on with it (plain JSON values), read by `note()`.

    Arrays that `load` would refuse (written between days: a NaN score, a reason of the list
    that no rule has) are refused here, before anything is written."""
    path = _path(path, "the checkpoint's path")
    check_arrays(sim, partial(_unsaved, path))
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
        "format": FORMAT, "version": __version__, "code": kernel_cache.loaded(),
        "scenario": sim.scenario.model_dump(mode="json"), "day": sim.day,
        "build_s": sim.build_s, "step_s": sim.step_s, "metric_names": names,
        "components": list(rec._components), "ledger_rows": sim.ledger.rows,
        "memory_batches": [len(b["day"]) for b in kept], "keeps_ledger": sim.keeps_ledger,
        "note": note or {},
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
    try:
        with replacing(path) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # a checkpoint is what survives a crash: on disk before the rename
    except OSError as e:
        raise ScorestateError(f"cannot write the checkpoint '{path}': {e.strerror or e}") from None


def load(path: str | Path, *, ledger_sink: Callable[[Batch], None] | None = None) -> Simulation:
    """The run a checkpoint holds, ready to step on from its day (see `Simulation.resume`)."""
    from scorestate.engine import Simulation
    from scorestate.scenario.load import scenario_from_dict

    path = _path(path, "the checkpoint's path")
    bad = partial(_bad, path)
    data = _read(path)
    meta = _meta(path, data)
    if not isinstance(meta.get("scenario"), dict):
        raise _bad(path, "it holds no scenario")
    try:
        scenario = scenario_from_dict(meta["scenario"], label=f"the scenario in '{path}'")
    except ScenarioError as e:
        raise _bad(path, f"its scenario is not valid here ({e})") from None
    day = _count(path, meta, "day", scenario.run.days)
    if not 0 <= day <= scenario.run.days:
        raise _bad(path, f"its day {day} lies outside the run's 0 to {scenario.run.days}")
    citizens = Citizens(**_group(path, data, "citizens", Citizens))
    graph = Graph(**_group(path, data, "graph", Graph))
    n = citizens.n
    _check_citizens(bad, citizens, scenario)
    _check_graph(bad, graph, n)
    reference = State.allocate(0, graph.widest_row())
    state = State.allocate(n, graph.widest_row())
    for name, column in _group(path, data, "state", State).items():
        _like(bad, f"state.{name}", column, getattr(reference, name).dtype, (n,))
        _check_bools(bad, f"state.{name}", column)
        getattr(state, name)[:] = column

    sim = Simulation.__new__(Simulation)
    sim._take(scenario, citizens, graph)
    sim._finish(state, ledger_sink)
    sim.day = day
    if day > 0:  # as day 0 left them: the policy in force yesterday, the last one enforced
        sim.policy = policy_on(sim.timeline, day - 1)
        sim.believed = None
        for first, policy in sim.timeline:
            if first <= day - 1 and policy.enabled:
                sim.believed = policy
    _check_state(bad, sim)
    sim.build_s, sim.step_s = _seconds(path, meta, "build_s"), _seconds(path, meta, "step_s")

    book = sim.prices
    rules = _array(path, data, "prices.rules")
    _like(bad, "prices.rules", rules, book.rules.dtype, book.rules.shape)
    factors = _array(path, data, "prices.factors")
    bits = np.iinfo(book.rules.dtype).bits
    if (factors.dtype != np.float32 or factors.ndim != 2 or factors.shape[1] != len(book.services)
            or factors.shape[0] > bits):
        raise _bad(path, "its price table does not match the scenario's priced services")
    if factors.shape[0] < bits and rules.size and int(rules.max()) >> factors.shape[0]:
        raise _bad(path, "its price rules name rules its price table does not have")
    book.rules[:] = rules
    book.factors = np.ascontiguousarray(factors)

    rec = sim.recorder
    if meta.get("metric_names") != list(rec.daily):
        raise _bad(path, "its metric columns are not the ones this scenario records")
    metrics = _array(path, data, "metrics")
    _like(bad, "metrics", metrics, np.float64, (len(rec.daily), rec.days))
    for k, name in enumerate(rec.daily):
        rec.daily[name][:] = metrics[k]
    groups = _array(path, data, "group_metrics")
    _like(bad, "group_metrics", groups, np.float64, rec.group_values.shape)
    rec.group_values[:] = groups
    components = meta.get("components")
    if (not isinstance(components, list) or len(components) != 2
            or not all(_number(x) for x in components)):
        raise _bad(path, "its network components are not two numbers")
    rec._components = tuple(float(x) for x in components)

    rows = _count(path, meta, "ledger_rows")
    if ledger_sink is None and meta.get("keeps_ledger") is False and rows:
        raise ScorestateError(
            f"the checkpoint '{path}' is of a run whose ledger went to a store: {rows:,} of its "
            "rows are there, not in the checkpoint, so resumed alone its ledger would lack them; "
            "expected `scorestate run --resume RUN --store PATH` (ss.resume_run), or "
            "Simulation.resume(path, ledger_sink=...) to take the rows from here on")
    sim.ledger.restore(_ledger_rows(path, data, "pending", n, day), rows)
    if ledger_sink is None:
        memory = _ledger_rows(path, data, "memory", n, day)
        batches = meta.get("memory_batches")
        if (not isinstance(batches, list) or not all(_whole(m) and m >= 0 for m in batches)
                or sum(batches) != len(memory["day"])):
            raise _bad(path, "its ledger kept in memory does not add up to its batches")
        at = 0
        for m in batches:
            sim._memory.append({name: column[at:at + m] for name, column in memory.items()})
            at += m
    return sim


def note(path: str | Path) -> dict[str, Any]:
    """The note saved with a checkpoint, read without loading its arrays."""
    path = _path(path, "the checkpoint's path")
    data = _read(path, only="meta")
    return dict(_meta(path, data).get("note") or {})


def _path(path: object, what: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise ScorestateError(f"{what} must be a file path, such as 'run.ckpt.npz'; got "
                              f"{type(path).__name__} {repr(path)[:60]}")
    return Path(path)


def _read(path: Path, only: str | None = None) -> Any:
    if not path.exists():
        raise ScorestateError(f"no checkpoint at '{path}'; expected a file written by "
                              "Simulation.save or `scorestate run --checkpoint-every`")
    if not path.is_file():
        raise ScorestateError(f"'{path}' is not a file; expected a checkpoint (.npz) file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise _bad(path, "it holds one array (.npy); expected the arrays of a run (.npz)")
        with loaded as npz:
            data = {name: npz[name] for name in npz.files if only is None or name == only}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise _unreadable(path, e) from None
    odd = next((name for name, a in data.items() if not isinstance(a, np.ndarray)), None)
    if odd is not None:  # a member that is not a NumPy array comes back as its bytes
        raise _bad(path, f"'{odd}' is not a NumPy array")
    return data


def _meta(path: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        raw = data["meta"]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise TypeError
        meta = json.loads(raw.tobytes().decode("utf-8"))
        fmt, code = meta["format"], meta["code"]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        raise _bad(path, "it has no readable description") from None
    if fmt != FORMAT:
        raise _bad(path, f"it is in format {fmt}; this version reads format {FORMAT}")
    if code != kernel_cache.loaded():
        raise ScorestateError(
            f"the checkpoint '{path}' was written by other code (scorestate "
            f"{meta.get('version', '?')}, code {code}; this is code {kernel_cache.loaded()}): resuming "
            "would not continue the same run bit for bit; expected the version that wrote it")
    return meta


def _group(path: Path, data: dict[str, np.ndarray], prefix: str, cls: type) -> dict[str, np.ndarray]:
    return {f.name: np.ascontiguousarray(_array(path, data, f"{prefix}.{f.name}"))
            for f in fields(cls)}


def _array(path: Path, data: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in data:
        raise _bad(path, f"'{key}' is missing")
    return data[key]


def _ledger_rows(path: Path, data: dict[str, np.ndarray], prefix: str, n: int,
                 day: int) -> dict[str, np.ndarray]:
    """Ledger columns of one length, with codes that name kinds, sources and citizens."""
    bad = partial(_bad, path)
    columns = {}
    for name, dt in zip(COLUMNS, DTYPES, strict=True):
        column = _array(path, data, f"{prefix}.{name}")
        _like(bad, f"{prefix}.{name}", column, dt, (len(data.get(f"{prefix}.day", ())),))
        _check_bools(bad, f"{prefix}.{name}", column, "row")
        columns[name] = column
    if columns["day"].size:
        for name, lo, hi in (("day", 0, day - 1), ("citizen", 0, n - 1), ("actor", -1, n - 1),
                             ("kind", 0, len(LEDGER_KINDS) - 1), ("source", -1, len(SOURCES) - 1)):
            _within(bad, f"{prefix}.{name}", columns[name], lo, hi, "row")
    return columns


def _whole(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _count(path: Path, meta: dict[str, Any], key: str, top: int | None = None) -> int:
    value = meta.get(key)
    if key not in meta:
        raise _bad(path, f"its {key} is missing")
    if not _whole(value) or (top is None and value < 0):
        raise _bad(path, f"its {key} is {value!r}; expected a whole number"
                   f"{'' if top is not None else ', 0 or more'}")
    return int(value)


def _seconds(path: Path, meta: dict[str, Any], key: str) -> float:
    value = meta.get(key)
    if not _number(value) or not 0 <= value < float("inf"):
        raise _bad(path, f"its {key} is {value!r}; expected seconds, 0 or more")
    return float(value)


def check_arrays(sim: Simulation, bad: Fault) -> None:
    """Refuse arrays that compiled kernels would read outside a table with (they do not check
    bounds), and numbers the model never makes (NaN, an infinity, a share above 1): what `load`
    refuses in a checkpoint, `save` refuses to write and `run.check_invariants` refuses in a run,
    whether a bug or a write between days made them. `bad(why)` makes the error."""
    _check_citizens(bad, sim.citizens, sim.scenario)
    _check_graph(bad, sim.graph, sim.n)
    _check_state(bad, sim)


def _check_bools(bad: Fault, key: str, a: np.ndarray, item: str = "citizen") -> None:
    """A bool array read from a file (or written through a byte view) may hold any byte: kernels
    index with it as 0 or 1."""
    if a.dtype == np.bool_ and a.size:
        raw = a.view(np.uint8)
        if int(raw.max()) > 1:
            k = int((raw > 1).argmax())
            raise bad(f"'{key}' has values that are neither true nor false: byte {raw[k]} for {item} {k}")


def _like(bad: Fault, key: str, a: np.ndarray, dtype: Any, shape: tuple[int, ...]) -> None:
    if a.dtype != np.dtype(dtype) or a.shape != shape:
        raise bad(f"'{key}' is {a.dtype}{list(a.shape)}, expected {np.dtype(dtype)}{list(shape)}")


def _check_citizens(bad: Fault, c: Citizens, scenario: Any) -> None:
    """Citizens as this code builds them: kernels index small tables with their columns, and
    regions with `region_start`, without checking bounds; their traits are shares."""
    pop = scenario.population
    ref, _, _ = build_citizens(pop, scenario.behaviour, scenario.attitudes, scenario.run.seed, n=1)
    n = c.n
    for f in fields(Citizens):
        if f.name != "region_start":
            column = getattr(c, f.name)
            _like(bad, f"citizens.{f.name}", column, getattr(ref, f.name).dtype, (n,))
            _check_bools(bad, f"citizens.{f.name}", column)
    starts = c.region_start
    _like(bad, "citizens.region_start", starts, np.int64, (pop.regions + 1,))
    sizes = np.diff(starts)
    if starts[0] != 0 or starts[-1] != n or (sizes < 0).any():
        raise bad(f"'citizens.region_start' does not split its {n:,} citizens into regions")
    if not np.array_equal(c.region, np.repeat(np.arange(pop.regions), sizes)):
        raise bad("'citizens.region' does not match 'citizens.region_start'")
    for what, column, lo, hi in (("rank", c.rank, 0, 2), ("education", c.education, 0, 3),
                                 ("quintile", c.quintile, 1, 5)):
        _within(bad, f"citizens.{what}", column, lo, hi)
    if not np.array_equal(c.group, group_index(c.urban, c.education, c.quintile, c.rank)):
        raise bad("'citizens.group' does not match the citizens' settlement, education, income "
                  "quintile and rank")
    for name in TRAITS:
        if name != "grievance":  # the one trait that is state
            _finite(bad, f"citizens.{name}", getattr(c, name), 0.0, 1.0)
    _finite(bad, "citizens.income", c.income, 0.0)
    _finite(bad, "citizens.approval0", c.approval0)


def _check_graph(bad: Fault, g: Graph, n: int) -> None:
    """The ties index arrays inside compiled kernels, which do not check bounds: refuse any
    that would read outside them."""
    start, degree, nbrs = g.start, g.degree, g.nbrs
    if start.shape != (n + 1,) or degree.shape != (n,) or nbrs.ndim != 1:
        raise bad(f"the ties do not fit the {n:,} citizens ('graph.start' {list(start.shape)}, "
                  f"'graph.degree' {list(degree.shape)}, 'graph.nbrs' {list(nbrs.shape)}; expected "
                  f"[{n + 1}], [{n}] and one dimension)")
    for key, a, kinds in (("graph.start", start, (np.int32, np.int64)),
                          ("graph.degree", degree, (np.uint16, np.int32)),
                          ("graph.nbrs", nbrs, (np.int32,))):
        if a.dtype not in [np.dtype(k) for k in kinds]:
            raise bad(f"'{key}' is {a.dtype}, expected {' or '.join(str(np.dtype(k)) for k in kinds)}")
    rows = np.diff(start.astype(np.int64))
    held = degree.astype(np.int64)
    if start[0] != 0 or start[-1] > nbrs.shape[0]:
        raise bad(f"the rows of ties are out of order: 'graph.start' runs from {start[0]} to "
                  f"{start[-1]}; expected from 0 to at most the {nbrs.shape[0]:,} slots of 'graph.nbrs'")
    wrong = (rows < 0) | (held < 0) | (held > rows)
    if wrong.any():
        k = int(wrong.argmax())
        raise bad(f"the rows of ties are out of order: citizen {k} holds {held[k]} ties ('graph.degree') "
                  f"in a row of {rows[k]} slots ('graph.start')")
    used = used_slots(start, degree, nbrs.shape[0])
    wrong = used & ((nbrs < 0) | (nbrs >= n))
    if wrong.any():
        slot = int(wrong.argmax())
        i = int(np.searchsorted(start, slot, side="right")) - 1
        raise bad(f"'graph.nbrs' has ties to citizens that do not exist: citizen {i} to {nbrs[slot]} "
                  f"(slot {slot}); expected ids from 0 to {n - 1}")


STATE_RANGES = {"perceived": (0.0, 1.0), "grievance": (0.0, 1.0), "nbr_penalised": (0.0, 1.0)}
"""The shares among the state's numbers (the score's range is the policy's); any other number
of the state must be finite."""
SCORE_SLACK = 1e-3  # a float32 score clipped to its bounds may round just past them


def _check_state(bad: Fault, sim: Simulation) -> None:
    """The state's flags, codes and numbers as the mechanisms leave them."""
    s = sim.state
    for f in fields(State):
        column = getattr(s, f.name)
        _check_bools(bad, f"state.{f.name}", column)
        if column.dtype.kind == "f" and f.name != "score":
            _finite(bad, f"state.{f.name}", column, *STATE_RANGES.get(f.name, (None, None)))
    sc = sim.policy.spec.scoring
    _finite(bad, "state.score", s.score, sc.minimum, sc.maximum, SCORE_SLACK)
    _within(bad, "state.tier", s.tier, 0, len(sim.policy.spec.tiers.names) - 1)
    reasons = max(len(p.conditions.entry) for _, p in sim.timeline)
    reason = s.list_reason.astype(np.int16)
    wrong = (reason < -1) | ((reason >= reasons) & (reason != REASON_SEED))
    if wrong.any():
        k = int(wrong.argmax())
        raise bad(f"'state.list_reason' has values outside -1 to {reasons - 1} (or {REASON_SEED}, "
                  f"listed at the start): {reason[k]} for citizen {k}")


def _within(bad: Fault, key: str, column: np.ndarray, lo: int, hi: int, item: str = "citizen") -> None:
    """Refuse a column with a value outside [lo, hi] (one that indexes a table of that size)."""
    if column.size and (int(column.min()) < lo or int(column.max()) > hi):
        wide = column.astype(np.int64)
        k = int(((wide < lo) | (wide > hi)).argmax())
        raise bad(f"'{key}' has values outside {lo} to {hi}: {wide[k]} for {item} {k}")


def _finite(bad: Fault, key: str, column: np.ndarray, lo: float | None = None,
            hi: float | None = None, slack: float = 0.0) -> None:
    """Refuse NaN, an infinity, or a number outside [lo, hi] (give or take `slack`), naming the
    first citizen with one. A NaN spreads: compared, it is neither low nor high."""
    if not column.size:
        return
    low, high = column.min(), column.max()  # NaN if any is
    if (np.isfinite(low) and np.isfinite(high) and (lo is None or low >= lo - slack)
            and (hi is None or high <= hi + slack)):
        return
    wrong = ~np.isfinite(column)
    if lo is not None:
        wrong |= column < lo - slack
    if hi is not None:
        wrong |= column > hi + slack
    k = int(wrong.argmax())
    bounds = (f" from {lo:g} to {hi:g}" if lo is not None and hi is not None
              else f", {lo:g} or more" if lo is not None else "")
    raise bad(f"'{key}' is {column[k]} for citizen {k}; expected a finite number{bounds}")


def _unsaved(path: Path, why: str) -> ScorestateError:
    """The error of a checkpoint that `load` would refuse, refused before it is written."""
    return ScorestateError(f"cannot save the checkpoint '{path}': {why}; Simulation.resume would "
                           "refuse it (expected the arrays as the mechanisms leave them, or as "
                           "written by the rules of the guide's section 6)")


def _unreadable(path: Path, e: Exception) -> ScorestateError:
    """A file NumPy cannot read as arrays. NumPy takes whatever is neither .npz nor .npy for
    pickled objects and advises loading it unsafely; a checkpoint never holds any, so say that."""
    if isinstance(e, ValueError) and "pickle" in str(e):
        why = ("it is not a checkpoint scorestate wrote: NumPy reads it as Python objects "
               "(pickled data), which a checkpoint never holds")
    else:
        why = f"it cannot be read as one ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return _bad(path, f"{why}; expected the .npz of NumPy arrays that Simulation.save or "
                "`scorestate run --checkpoint-every` writes")


def _bad(path: Path, why: str) -> ScorestateError:
    return ScorestateError(f"'{path}' is not a usable scorestate checkpoint: {why}")
