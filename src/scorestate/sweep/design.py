"""A sweep file: its schema, its checks, and the design points it stands for.

A sweep file is YAML read as a scenario file is (a safe loader that refuses a key given twice),
validated strictly (unknown fields, wrong types and impossible sizes are refused with one
message naming the field), and turned into a `Sweep`: the scenario of every design point,
resolved and validated before any cluster starts, so that a bad value is reported at once, not
by a worker an hour in. Parameters are dotted scenario paths, as `scorestate run --set` takes
them; a `policy.` parameter is carried into every timeline phase that sets the same path
(`analysis.experiments.resolve`), so that it holds for the whole run.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import shlex
import stat
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scorestate.analysis.experiments import Arm, leaves, resolve
from scorestate.errors import ScorestateError
from scorestate.scenario.load import format_validation, plain, preset_names, read_yaml
from scorestate.scenario.schema import MAX_POPULATION, Phase, Scenario

MAX_RUNS = 10_000
"""Runs one sweep may ask for: a typo in `samples` or a long grid should not start a week's work."""
MAX_SWEEP_BYTES = 1 * 2**20  # a sweep file is a few hundred bytes of YAML
MAX_DAYS = 32_767  # the schema's run.days limit: day stamps are 16-bit
DEFAULT_LEVELS = 4  # Morris grid levels, SALib's default
SETTINGS = {"population.size": "population", "run.days": "days", "run.seed": "seed"}
"""Scenario paths that the sweep sets through its own fields, once for every point."""
Kind = Literal["grid", "sobol", "morris"]


class SweepFile(BaseModel):
    """The fields of a sweep file, as written (see docs/sweeps.md)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    scenario: str = Field("essay", description="a preset name or a scenario file (relative to this file)")
    population: int | None = Field(None, gt=0, le=MAX_POPULATION, description="citizens per run")
    days: int | None = Field(None, gt=0, le=MAX_DAYS, description="days per run")
    seeds: int = Field(1, ge=1, description="replicates per point: the same seeds at every point")
    seed: int = Field(0, ge=0, lt=2**63, description="the first seed")
    design: Kind = Field("grid", description="grid, sobol or morris")
    samples: int | None = Field(None, gt=0, description="sobol: base sample count N; morris: trajectories")
    levels: int | None = Field(None, ge=2, description="morris: levels of each parameter's grid")
    parameters: dict[str, Any] = Field(min_length=1, description="dotted path -> values or {low, high}")
    set: dict[str, Any] = Field({}, description="dotted path -> value, the same at every point")
    outputs: list[str] = Field(min_length=1, description="daily metrics to summarise")
    window: int | None = Field(None, gt=0, description="days at the end of a run its outputs average")


@dataclass(frozen=True)
class Parameter:
    """One swept parameter: its path, and its values (grid) or its range (sobol, morris)."""

    path: str
    values: tuple[Any, ...] = ()
    low: float = math.nan
    high: float = math.nan
    integer: bool = False  # the scenario holds a whole number here: sampled values are rounded


@dataclass
class Sweep:
    """A checked sweep: every point's scenario is resolved and valid, the outputs exist.

    `points[k]` holds the parameter values of point k, in the order of `parameters`;
    `samples` is the sampler's matrix (sobol, morris; None for a grid), which the analysis
    reads, the values given to the scenario being those of `points` (whole numbers rounded)."""

    label: str
    name: str
    source: str
    kind: Kind
    parameters: list[Parameter]
    fixed: dict[str, Any]
    outputs: list[str]
    population: int | None  # None: an imported network's, read by each run
    days: int
    seeds: list[int]
    window: int
    n_samples: int | None
    levels: int | None
    points: list[tuple[Any, ...]]
    scenarios: list[Scenario] = field(repr=False)
    samples: np.ndarray | None = field(default=None, repr=False)
    text: str = field(default="", repr=False)  # the file as written, kept with the results

    @property
    def runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def problem(self) -> dict[str, Any]:
        """SALib's description of the parameter space."""
        return {"num_vars": len(self.parameters), "names": [p.path for p in self.parameters],
                "bounds": [[p.low, p.high] for p in self.parameters]}

    def scenario(self, point: int, seed: int) -> Scenario:
        """Point `point`'s scenario with run.seed = seed (every seed meets the same values)."""
        base = self.scenarios[point]
        return base.model_copy(update={"run": base.run.model_copy(update={"seed": seed})})


def load_sweep(source: str | os.PathLike[str] | Mapping[str, Any], *,
               when_slow: Callable[[], None] | None = None) -> Sweep:
    """A sweep file (or its mapping, for notebooks: paths in it are then relative to the
    working directory), checked whole: fields, every point's scenario, the output metrics.

    Checking the outputs builds a few citizens, so the kernels are compiled (or loaded from the
    cache) here; `when_slow` is called if that takes long (see `engine.compile_kernels`)."""
    if not isinstance(source, Mapping | str | os.PathLike):
        raise ScorestateError(f"expected a sweep file's path or its mapping of fields; got "
                              f"{type(source).__name__} {_short(source)}")
    if isinstance(source, Mapping):
        raw, label, folder, text = dict(source), "sweep", Path.cwd(), yaml.safe_dump(plain(dict(source)))
    else:
        path = Path(source)
        label, folder = f"sweep file '{path}'", path.resolve().parent
        text = _read_text(path, label)
        raw = _parse(text, label)
    _not_a_scenario(raw, label, None if isinstance(source, Mapping) else Path(source))
    try:
        given = SweepFile.model_validate(plain(raw))
    except ValidationError as e:
        raise ScorestateError(_validation_message(e, label)) from None
    name = Path(source).stem if not isinstance(source, Mapping) else "sweep"
    return _check(given, label, name, folder, text, when_slow)


# ---------------------------------------------------------------- reading


def _read_text(path: Path, label: str) -> str:
    """The file's text: a regular file of at most MAX_SWEEP_BYTES, refused before it is opened
    otherwise (a FIFO or a device would never end)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ScorestateError(f"{label} is a directory; expected a YAML sweep file such as "
                                  "examples/sweeps/alcohol-grid.yaml")
        if not stat.S_ISREG(info.st_mode):
            raise ScorestateError(f"{label} is not a regular file; expected a YAML sweep file")
        if info.st_size > MAX_SWEEP_BYTES:
            raise ScorestateError(f"{label} is {info.st_size:,} bytes; expected a sweep file of at "
                                  f"most {MAX_SWEEP_BYTES:,} bytes (a sweep is a few lines of YAML)")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScorestateError(f"{label} does not exist; expected a YAML sweep file (docs/sweeps.md; "
                              "examples in examples/sweeps/)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScorestateError(f"{label} could not be read ({e.__class__.__name__}: {e}); expected a "
                              "readable UTF-8 YAML file") from None


def _parse(text: str, label: str) -> dict[str, Any]:
    raw = read_yaml(text, label, ScorestateError)
    if not isinstance(raw, dict):
        got = "nothing" if raw is None else f"a {type(raw).__name__}"
        raise ScorestateError(f"{label} must be a mapping of fields (scenario, parameters, outputs, "
                              f"...); got {got}; see docs/sweeps.md")
    return raw


def _not_a_scenario(raw: Mapping[str, Any], label: str, path: Path | None) -> None:
    """Refuse a scenario file given as a sweep file by what it is: field by field, its
    `population: {size: ...}` reads as a wrong type for the sweep's `population`."""
    if "scenario" in raw or "parameters" in raw:
        return
    theirs = set(Scenario.model_fields) - set(SweepFile.model_fields)
    fields = [k for k in raw if k in theirs or (k == "population" and isinstance(raw[k], Mapping))]
    if not fields:
        return
    raise ScorestateError(
        f"{label} looks like a scenario file (it has {', '.join(map(repr, fields))} and no 'scenario' "
        "or 'parameters'); expected a sweep file, with scenario, parameters and outputs "
        "(docs/sweeps.md): name this scenario in one (scenario: its path), or run it with "
        f"`scorestate run {shlex.quote(str(path)) if path else 'FILE'}`")


def _validation_message(e: ValidationError, label: str) -> str:
    """The scenario loader's message for a field's error; a missing field says what it holds."""
    first = e.errors()[0]
    if first["type"] == "missing":
        name = str(first["loc"][0])
        return (f"{label} lacks '{name}'; expected {name}: {SweepFile.model_fields[name].description} "
                "(docs/sweeps.md)")
    return format_validation(e, label, SweepFile)


# ---------------------------------------------------------------- checks


def _check(given: SweepFile, label: str, name: str, folder: Path, text: str,
           when_slow: Callable[[], None] | None) -> Sweep:
    source = _source(given.scenario, folder, label)
    _check_paths(given, label)
    _check_options(given, label)
    base = _resolved(source, given.set, given, given.seed, f"{label}: scenario '{given.scenario}'")
    # an imported network sets its own number of citizens, as each run reads it
    population = base.population.size if base.network.kind == "homophilous" else None
    days = base.run.days
    window = given.window if given.window is not None else max(1, days // 4)
    if window > days:
        raise ScorestateError(f"{label}: 'window' is {window} but a run has {days} days; expected a "
                              f"window of 1 to {days} days (the last days of each run that its "
                              "outputs average)")
    last_seed = given.seed + given.seeds - 1
    if last_seed >= 2**63:
        raise ScorestateError(f"{label}: seeds {given.seed} to {last_seed} go past the largest seed, "
                              "2^63 - 1; expected a smaller 'seed' or fewer 'seeds'")
    parameters = [_parameter(path, value, given, base, label) for path, value in given.parameters.items()]
    count = _count_points(given, parameters)
    if count * given.seeds > MAX_RUNS:  # before sampling: a huge N would take the memory first
        raise ScorestateError(f"{label}: the design has {count:,} points x {given.seeds} "
                              f"seed{'s' if given.seeds > 1 else ''} = {count * given.seeds:,} runs; "
                              f"expected at most {MAX_RUNS:,} runs (fewer values, samples or seeds)")
    points, samples = _points(given, parameters)
    _check_each_value(source, given, parameters, label)
    scenarios = _pin_edgelists([_point_scenario(source, given, parameters, values, k, label)
                                for k, values in enumerate(points)], label)
    outputs = _check_outputs(given.outputs, scenarios[0], label, when_slow)
    return Sweep(label=label, name=name, source=source, kind=given.design, parameters=parameters,
                 fixed=dict(given.set), outputs=outputs, population=population, days=days,
                 seeds=list(range(given.seed, last_seed + 1)), window=window,
                 n_samples=given.samples, levels=_levels(given), points=points,
                 scenarios=scenarios, samples=samples, text=text)


def _source(scenario: str, folder: Path, label: str) -> str:
    """A preset's name as it is; a scenario file as an absolute path, relative to the sweep file."""
    if scenario in preset_names() and not ("/" in scenario or scenario.endswith((".yaml", ".yml"))):
        return scenario
    path = Path(scenario).expanduser()
    path = path if path.is_absolute() else folder / path
    if not path.exists():
        raise ScorestateError(f"{label}: 'scenario' is '{scenario}', which is neither a preset nor a "
                              f"file (looked for '{path}'); expected a preset "
                              f"({', '.join(preset_names())}) or a scenario file, a relative path "
                              "being relative to the sweep file")
    return str(path)


def _check_paths(given: SweepFile, label: str) -> None:
    """Parameter and `set` paths: dotted, distinct, not the sweep's own settings, not nested in
    one another (one would silently overwrite the other)."""
    named = [(f"parameters.{p}", p) for p in given.parameters] + [(f"set.{p}", p) for p in given.set]
    for where, path in named:
        keys = path.split(".")
        if not path or any(not k or k != k.strip() for k in keys):
            raise ScorestateError(f"{label}: '{where}' is not a dotted path; expected a scenario "
                                  "parameter's path such as policy.scoring.points.alcohol")
        for target, setting in SETTINGS.items():
            if path == target or target.startswith(path + "."):
                raise ScorestateError(
                    f"{label}: '{where}' sets {target}, which the sweep sets with its field "
                    f"'{setting}'; expected '{setting}: VALUE' in the sweep file (one value for "
                    "every point)")
    for (wa, a), (wb, b) in itertools.combinations(named, 2):
        if a == b or a.startswith(b + ".") or b.startswith(a + "."):
            what = "twice" if a == b else "inside one another"
            raise ScorestateError(f"{label}: '{wa}' and '{wb}' set one parameter {what}; expected "
                                  "each parameter once, in parameters or in set")


def _check_options(given: SweepFile, label: str) -> None:
    """The options each design takes."""
    n = given.samples
    if given.design == "grid":
        for option in ("samples", "levels"):
            if getattr(given, option) is not None:
                raise ScorestateError(f"{label}: '{option}' is for the sobol and morris designs; a "
                                      "grid runs every combination of the listed values; expected "
                                      f"no '{option}' with design: grid")
        return
    if n is None:
        what = ("the base sample count N, a power of 2 (the design has N x (parameters + 2) "
                "points)" if given.design == "sobol" else
                "the number of trajectories (the design has trajectories x (parameters + 1) points)")
        raise ScorestateError(f"{label}: design {given.design} needs 'samples': {what}")
    if given.design == "sobol":
        if given.levels is not None:
            raise ScorestateError(f"{label}: 'levels' is for the morris design; expected no 'levels' "
                                  "with design: sobol")
        if n < 2 or n & (n - 1):
            raise ScorestateError(f"{label}: 'samples' is {n}; expected a power of 2 of at least 2 "
                                  "(Sobol' sequences are balanced at powers of 2), such as 8, 16 or 64")
    elif n < 2:
        raise ScorestateError(f"{label}: 'samples' is {n}; expected at least 2 Morris trajectories")
    if given.levels is not None and given.levels % 2:
        raise ScorestateError(f"{label}: 'levels' is {given.levels}; expected an even number of "
                              "levels (Morris's design needs one), such as 4 or 6")


def _levels(given: SweepFile) -> int | None:
    return (given.levels or DEFAULT_LEVELS) if given.design == "morris" else None


def _parameter(path: str, value: Any, given: SweepFile, base: Scenario, label: str) -> Parameter:
    where = f"{label}: 'parameters.{path}'"
    if given.design == "grid":
        if isinstance(value, Mapping):
            raise ScorestateError(f"{where} is a range {_short(value)}; a grid runs listed values; "
                                  "expected a list such as [0.0, 0.5, 1.0] (ranges are for design: "
                                  "sobol or morris)")
        if not isinstance(value, list) or not value:
            raise ScorestateError(f"{where} is {_short(value)}; expected a non-empty list of values "
                                  "such as [0.0, 0.5, 1.0]")
        kinds = {_kind(v) for v in value} - {"null"}
        if kinds & {"a list", "a mapping"}:
            raise ScorestateError(f"{where} lists {_short(value)}; expected single values (numbers, "
                                  "true/false, text or null), one per grid point")
        if len(kinds) > 1 and kinds != {"an integer", "a real number"}:
            raise ScorestateError(f"{where} lists values of different kinds ({', '.join(sorted(kinds))}); "
                                  "expected values of one kind, so that its column has one type")
        seen: list[Any] = []
        for v in value:
            if any(_same(v, s) for s in seen):
                raise ScorestateError(f"{where} lists {_short(v)} twice; expected each value once "
                                      "(replicates come from 'seeds')")
            seen.append(v)
        return Parameter(path, tuple(value))
    if not isinstance(value, Mapping):
        raise ScorestateError(f"{where} is {_short(value)}; design {given.design} samples a range: "
                              "expected {low: NUMBER, high: NUMBER} (lists of values are for "
                              "design: grid)")
    extra = set(map(str, value)) - {"low", "high"}
    missing = {"low", "high"} - set(map(str, value))
    if extra or missing:
        wrong = f"gives {', '.join(sorted(extra))}" if extra else f"lacks {', '.join(sorted(missing))}"
        raise ScorestateError(f"{where} {wrong}; expected a range {{low: NUMBER, high: NUMBER}}")
    low, high = value["low"], value["high"]
    for end, x in (("low", low), ("high", high)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise ScorestateError(f"{label}: 'parameters.{path}.{end}' is {_short(x)} ({_kind(x)}); "
                                  "expected a finite number")
    if not low < high:
        raise ScorestateError(f"{where} has low {low} and high {high}; expected low < high")
    kind = _schema_type(path)
    if kind is None:  # a path the schema types loosely: the kind of the value held there
        held = _value_at(base.model_dump(mode="json"), path)
        kind = type(held) if held is not None else float
    if kind not in (int, float):
        raise ScorestateError(f"{where}: the scenario holds {_KIND_OF.get(kind, kind.__name__)} there; "
                              "a range needs a numeric parameter; expected a grid of its values instead")
    if kind is int and not (isinstance(low, int) and isinstance(high, int)):
        raise ScorestateError(f"{where} is {_short(dict(value))}; the parameter is a whole number; "
                              "expected whole-number ends (sampled values are rounded to whole numbers)")
    return Parameter(path, low=float(low), high=float(high), integer=kind is int)


_KIND_OF = {bool: "a boolean", str: "text", list: "a list", dict: "a mapping"}


def _schema_type(path: str) -> type | None:
    """The type the scenario schema gives the field at a dotted path (a phase's `set` reads its
    keys as scenario paths), None where it does not say (a loosely typed field, an unknown path)."""
    node: Any = Scenario
    for key in path.split("."):
        node = _without_none(node)
        if get_origin(node) in (list, dict):
            node = get_args(node)[-1]
        elif isinstance(node, type) and issubclass(node, BaseModel) and key in node.model_fields:
            node = Scenario if (node is Phase and key == "set") else node.model_fields[key].annotation
        else:
            return None
    node = _without_none(node)
    return node if isinstance(node, type) and not issubclass(node, BaseModel) else None


def _without_none(node: Any) -> Any:
    if isinstance(node, types.UnionType):
        args = [a for a in get_args(node) if a is not type(None)]
        return args[0] if len(args) == 1 else node
    return node


def _same(a: Any, b: Any) -> bool:
    """Whether two grid values are one: 1 and 1.0 are, true and 1 are not."""
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    return a == b and (numbers or type(a) is type(b))


def _value_at(data: Any, path: str) -> Any:
    """The value at a dotted path of a dumped scenario; None where it is absent."""
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def _count_points(given: SweepFile, parameters: list[Parameter]) -> int:
    """The design's points: the grid's product, N x (D + 2) for Sobol' (no second-order terms),
    trajectories x (D + 1) for Morris."""
    if given.design == "grid":
        return math.prod(len(p.values) for p in parameters)
    return given.samples * (len(parameters) + (2 if given.design == "sobol" else 1))


def _points(given: SweepFile, parameters: list[Parameter]) -> tuple[list[tuple[Any, ...]], np.ndarray | None]:
    """The design's points (values given to the scenario) and the sampler's matrix."""
    if given.design == "grid":
        return list(itertools.product(*(p.values for p in parameters))), None
    problem = {"num_vars": len(parameters), "names": [p.path for p in parameters],
               "bounds": [[p.low, p.high] for p in parameters]}
    if given.design == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(problem, given.samples, calc_second_order=False, seed=given.seed)
    else:
        from SALib.sample import morris

        x = morris.sample(problem, given.samples, num_levels=_levels(given), seed=given.seed)
    points = [tuple(round(float(v)) if p.integer else float(v) for p, v in zip(parameters, row, strict=True))
              for row in x]
    return points, x


def _resolved(source: str, overrides: Mapping[str, Any], given: SweepFile, seed: int,
              where: str) -> Scenario:
    """The scenario with these overrides, policy ones carried into the phases that set them."""
    try:
        return resolve(Arm("sweep", source, tuple(overrides.items())), given.population, given.days, seed)
    except ScorestateError as e:
        raise ScorestateError(f"{where}: {e}") from None


def _check_each_value(source: str, given: SweepFile, parameters: list[Parameter], label: str) -> None:
    """Each parameter alone at each of its values (or its two ends), so that a bad path or value
    is named by itself before the points, which mix them, are resolved."""
    _check_phases_untouched(source, given, label)
    for p in parameters:
        ends = p.values if given.design == "grid" else (
            (round(p.low), round(p.high)) if p.integer else (p.low, p.high))
        for value in ends:
            _resolved(source, {**given.set, p.path: value}, given, given.seed,
                      f"{label}: 'parameters.{p.path}' at {_short(value)}")


def _check_phases_untouched(source: str, given: SweepFile, label: str) -> None:
    """A `timeline.phases` path alongside a policy parameter that phases set would be lost: the
    policy parameter is carried into the preset's phases as written, which replace them whole."""
    paths = [*given.parameters, *given.set]
    phase_paths = [p for p in paths
                   if p in ("timeline", "timeline.phases") or p.startswith("timeline.phases.")]
    if not phase_paths:
        return
    base = _resolved(source, {}, given, given.seed, f"{label}: scenario '{given.scenario}'")
    touched = [leaf for phase in base.timeline.phases for leaf in leaves(phase.set)]
    for path in paths:
        if path.startswith("policy.") and any(
                path == t or t.startswith(path + ".") or path.startswith(t + ".") for t in touched):
            raise ScorestateError(
                f"{label}: '{path}' is carried into the timeline's phases that set it, which would "
                f"undo '{phase_paths[0]}'; expected either the phase's own path "
                f"(timeline.phases.N.set.{path}) or no timeline.phases parameter")


def _point_scenario(source: str, given: SweepFile, parameters: list[Parameter], values: tuple[Any, ...],
                    k: int, label: str) -> Scenario:
    overrides = {**given.set, **{p.path: v for p, v in zip(parameters, values, strict=True)}}
    shown = ", ".join(f"{p.path}={_short(v)}" for p, v in zip(parameters, values, strict=True))
    return _resolved(source, overrides, given, given.seed, f"{label}: point {k} ({shown})")


def _pin_edgelists(scenarios: list[Scenario], label: str) -> list[Scenario]:
    """Each imported edge list named by its absolute path and the sha256 of its bytes now, the
    file checked whole once: every run, on whatever worker, then reads this very file or refuses
    to run, so that a file changed (or a relative path read elsewhere) during the sweep cannot
    mix two networks in one table."""
    from scorestate.engine import given_size
    from scorestate.network import import_edgelist

    pinned: dict[tuple[Any, ...], Any] = {}
    out = []
    for k, scenario in enumerate(scenarios):
        net = scenario.network
        if net.kind != "edgelist":
            out.append(scenario)
            continue
        key = (net.edgelist, net.edgelist_sha256, given_size(scenario))
        if key not in pinned:
            try:
                pinned[key] = import_edgelist(net, key[2])[0]
            except ScorestateError as e:
                raise ScorestateError(f"{label}: point {k}: {e}") from None
        out.append(scenario.model_copy(update={"network": pinned[key]}))
    return out


def _check_outputs(outputs: list[str], scenario: Scenario, label: str,
                   when_slow: Callable[[], None] | None) -> list[str]:
    """Each output is a daily metric this scenario records: read from a day of a few citizens."""
    known = [c for c in metric_columns(scenario, when_slow) if c != "day"]
    for k, name in enumerate(outputs):
        if name in outputs[:k]:
            raise ScorestateError(f"{label}: 'outputs' lists '{name}' twice; expected each metric once")
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ScorestateError(f"{label}: 'outputs' names '{name}', which is not a daily metric of "
                                  f"this scenario{hint}; expected some of: {', '.join(known)} "
                                  "(docs/metrics.md says what each measures)")
    return list(outputs)


def metric_columns(scenario: Scenario, when_slow: Callable[[], None] | None = None) -> list[str]:
    """The columns of a run's daily metrics under this scenario (they depend on its tiers, its
    blacklist reasons and the services it prices), read from one day of a few citizens."""
    from scorestate.engine import Simulation, compile_kernels
    from scorestate.ledger import discard

    compile_kernels(when_slow)
    update: dict[str, Any] = {"run": scenario.run.model_copy(update={"days": 1})}
    if scenario.network.kind == "homophilous":  # an imported network sets its own size
        update["population"] = scenario.population.model_copy(
            update={"size": min(scenario.population.size, 64)})
    tiny = scenario.model_copy(update=update)
    return Simulation(tiny, ledger_sink=discard).run().metrics.columns





_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a real number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"), (type(None), "null"))


def _kind(value: Any) -> str:
    return next((name for t, name in _KINDS if isinstance(value, t)), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else yaml.safe_dump(
        plain(value), default_flow_style=True, sort_keys=False, width=10_000).strip()
    return text if len(text) <= 80 else text[:77] + "..."
