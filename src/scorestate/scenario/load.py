"""Loading scenarios: presets or files, dotted-path overrides, readable errors.

A scenario file is YAML read by a `yaml.SafeLoader` (no tags, no code) that also refuses a key
given twice, which PyYAML would otherwise settle silently by keeping the last, and reads `2e-5`
as the number it is (YAML 1.2; PyYAML's 1.1 rules read it as a string). Only a regular file of
at most MAX_SCENARIO_BYTES is read: a device, a FIFO or a directory is refused before it is
opened. Overrides are applied to the raw mapping before validation, so an override gets the same
checks and messages as a file. Conditions are compiled at load time, so a bad rule is reported
before any citizen is built.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import warnings
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from scorestate.errors import ConditionError, ScenarioError, ScorestateError
from scorestate.scenario.schema import Policy, Scenario, UnknownName

PRESET_PACKAGE = "scorestate.scenario.presets"
EXAMPLE = "`population: {size: 20000}`"  # the smallest useful scenario file, for messages
MAX_SCENARIO_BYTES = 10 * 2**20  # a scenario is a few kB of YAML; the presets are under 10 kB


class DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping that gives one key twice."""

    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=again)
        self.key, self.lines = key, (first.line + 1, again.line + 1)


class UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate keys: a second `size:` is a mistake, not an update."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` may be overridden key by key, as YAML intends
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise DuplicateKey(key, seen[key], key_node.start_mark)
                seen[key] = key_node.start_mark
            except TypeError:
                pass  # an unhashable key: the base constructor reports it
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 floats with an exponent and no dot or no exponent sign (`2e-5`, `1e6`, `1.5e3`), which
# YAML 1.1 reads as strings: the schema's types are strict, so the string would be refused.
UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"))


MAX_YAML_VALUES = 100_000  # a scenario or sweep holds hundreds of values; the presets under 1,000


class AliasTrouble(yaml.YAMLError):
    """Aliases that make the data endless (a list holding itself) or huge once expanded (a few
    hundred bytes of nested aliases can stand for 10^9 values): read on, they would exhaust the
    stack or the memory of whatever walks the data."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _bounded(data: Any) -> Any:
    """`data`, once seen to contain no value inside itself and at most MAX_YAML_VALUES values
    counted as expanded (an alias's value once per use)."""
    left, inside = MAX_YAML_VALUES, set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        item, leaving = stack.pop()
        if leaving:
            inside.discard(id(item))
            continue
        left -= 1
        if left < 0:
            raise AliasTrouble(f"its aliases (*name) expand to more than {MAX_YAML_VALUES:,} values; "
                               "expected plain values, an alias repeating a part a few times")
        if isinstance(item, dict | list):
            if id(item) in inside:
                raise AliasTrouble("an alias (*name) stands for a value that contains it, which has "
                                   "no end; expected an alias to repeat a value defined before it")
            inside.add(id(item))
            stack.append((item, True))
            stack.extend((child, False) for child in (
                [*item.keys(), *item.values()] if isinstance(item, dict) else item))
    return data


def _yaml(text: str) -> Any:
    """Plain YAML data, never objects or code: the SafeLoader's constructors, plus the refusal of
    duplicate keys (what `yaml.safe_load` does, with that one check added), and of aliases that
    make the data endless or huge."""
    loader = UniqueKeyLoader(text)
    try:
        return _bounded(loader.get_single_data())
    finally:
        loader.dispose()


def read_yaml(text: str, label: str, error: type[ScorestateError] = ScenarioError) -> Any:
    """`_yaml`, with a key given twice or malformed YAML as one `error` naming the line."""
    try:
        return _yaml(text)
    except DuplicateKey as e:
        first, again = e.lines
        raise error(f"{label} gives the key '{e.key}' twice (lines {first} and {again}); "
                    "expected each key once in a mapping") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{label} is not valid YAML{at}: {problem}") from None


def preset_names() -> list[str]:
    """Names of the presets shipped inside the package."""
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    return resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def _read_raw(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The raw mapping of a preset name, a YAML file or a mapping given whole (a copy), and a
    label for messages."""
    if isinstance(source, Mapping):
        return _checked_raw(copy.deepcopy(dict(source)), "scenario mapping")
    text: str
    src = str(source)
    if src in preset_names():
        if Path(src).exists() and not Path(src).is_dir():
            raise ScenarioError(
                f"'{src}' names both a preset and the file '{src}' in this folder; expected the "
                f"file written as ./{src} (a name with a '/' or ending in .yaml or .yml is always "
                f"a file), or the preset named from another folder")
        label, text = f"preset '{src}'", preset_text(src)
    else:
        path = Path(src)
        label = f"scenario file '{path}'"
        if not path.suffix and not path.exists():
            raise ScenarioError(
                f"'{src}' is neither a preset nor a scenario file; presets are: "
                f"{', '.join(preset_names())} (`scorestate scenarios` lists them)"
            )
        text = _read_file(path, label)
    return _checked_raw(read_yaml(text, label), label)


def _checked_raw(raw: Any, label: str) -> tuple[dict[str, Any], str]:
    """A scenario's raw mapping as read, once seen to be one that scorestate did not write."""
    if raw is None:
        raise ScenarioError(f"{label} is empty; expected a YAML mapping of sections, for example "
                            f"{EXAMPLE} (fields left out take the schema's defaults; to run a "
                            "preset, name it instead of a file)")
    if not isinstance(raw, dict):
        raise ScenarioError(f"{label} must be a mapping of sections (population, policy, ...); "
                            f"got a {type(raw).__name__}")
    if "overrides" in raw:
        raise ScenarioError(f"{label} gives 'overrides', which scorestate writes itself: the record of "
                            "the --set overrides a run was loaded with; expected the parameters' values "
                            "in the file, and changes to them given as --set PATH=VALUE")
    return raw, label


def _read_file(path: Path, label: str) -> str:
    """The text of a scenario file: a regular file of at most MAX_SCENARIO_BYTES, refused before
    it is opened otherwise (reading /dev/zero or a FIFO would never end, or never start)."""
    try:
        info = path.stat()
        _check_regular(info, label)
        # O_NONBLOCK: should the path become a FIFO after the check, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            _check_regular(os.fstat(f.fileno()), label)
            data = f.read(MAX_SCENARIO_BYTES + 1)
        if len(data) > MAX_SCENARIO_BYTES:
            _too_large(len(data), label, "more than ")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{label} does not exist; expected a YAML scenario file or a preset "
                            f"({', '.join(preset_names())})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{label} could not be read ({e.__class__.__name__}: {e}); "
                            "expected a readable UTF-8 YAML file") from None


FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
              (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
              (stat.S_ISSOCK, "a socket"))


def _check_regular(info: os.stat_result, label: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in FILE_KINDS if test(info.st_mode)), "not a regular file")
        raise ScenarioError(f"{label} is {kind}; expected a regular file holding a YAML scenario, "
                            f"or a preset ({', '.join(preset_names())})")
    if info.st_size > MAX_SCENARIO_BYTES:
        _too_large(info.st_size, label)


def _too_large(size: int, label: str, more: str = "") -> None:
    raise ScenarioError(f"{label} is {more}{size:,} bytes; expected a scenario file of at most "
                        f"{MAX_SCENARIO_BYTES:,} bytes ({MAX_SCENARIO_BYTES // 2**20} MiB; a scenario "
                        "is a few kB of YAML)")


def parse_override(text: str) -> tuple[str, Any]:
    """`path.to.field=value` -> (path, value); the value is read as YAML (numbers, lists, true)."""
    if "=" not in text:
        raise ScenarioError(f"override '{text}' has no '='; expected PATH=VALUE, "
                            "e.g. policy.scoring.points.alcohol=-10")
    path, _, value = text.partition("=")
    path = path.strip()
    try:
        parsed = _yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return path, parsed


def set_path(raw: dict[str, Any], path: str, value: Any, *, label: str) -> None:
    """Set a dotted path in a raw mapping, creating intermediate mappings as needed."""
    keys = path.split(".")
    if not path or any(not k for k in keys):
        raise ScenarioError(f"{label}: '{path}' is not a dotted path; expected e.g. policy.enabled")
    node: Any = raw
    for k in keys[:-1]:
        if isinstance(node, list):
            node = _list_item(node, k, path, label)
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"{label}: '{path}' goes inside '{k}', which is a value, not a section")
        node = node.setdefault(k, {})
    last = keys[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path, label)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"{label}: '{path}' goes inside a value, not a section")


def deep_merge(into: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Merge nested `changes` into `into`: mappings merge key by key, anything else replaces."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def nest(flat: Mapping[str, Any], *, label: str) -> dict[str, Any]:
    """`{"policy.a.b": 1, "policy.c": {...}}` -> `{"policy": {"a": {"b": 1}, "c": {...}}}`.

    A parameter given twice, through two spellings (`policy.a.b: 1` and `policy: {a: {b: 2}}`),
    is refused, as a key given twice in a file is: neither would be silently kept."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        keys = str(path).split(".")
        node = nested
        for depth, k in enumerate(keys[:-1]):
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ScenarioError(f"{label}: '{path}' goes inside '{'.'.join(keys[:depth + 1])}', "
                                    "which is given a value, not a section")
        _merge_once(node, keys[-1], value, ".".join(keys[:-1]), label)
    return nested


def _merge_once(node: dict[str, Any], key: str, value: Any, at: str, label: str) -> None:
    """Put `value` at `node[key]`, merging mappings key by key; a leaf given twice is refused."""
    path = f"{at}.{key}" if at else key
    if key not in node:
        node[key] = copy.deepcopy(value)
    elif isinstance(value, Mapping) and isinstance(node[key], dict):
        for k, v in value.items():
            _merge_once(node[key], str(k), v, path, label)
    else:
        raise ScenarioError(f"{label} gives '{path}' twice (as a dotted key and inside a section, or "
                            "as two dotted keys); expected each parameter once")


def _normalise_phases(raw: dict[str, Any], label: str) -> None:
    """Phase changes may be written with dotted keys; store them nested, so an override such as
    `timeline.phases.0.set.policy.association.penalty=0` reaches them."""
    timeline = raw.get("timeline")
    phases = timeline.get("phases") if isinstance(timeline, dict) else None
    if not isinstance(phases, list):
        return
    for k, phase in enumerate(phases):
        if isinstance(phase, dict) and isinstance(phase.get("set"), dict):
            phase["set"] = nest(phase["set"], label=f"{label}: timeline.phases.{k}.set")


def _list_index(node: list[Any], key: str, path: str, label: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ScenarioError(f"{label}: '{path}' indexes a list of {len(node)} items with '{key}'; "
                            f"expected an index from 0 to {len(node) - 1}")
    return int(key)


def _list_item(node: list[Any], key: str, path: str, label: str) -> Any:
    return node[_list_index(node, key, path, label)]


# Fields scorestate writes itself and refuses when given: not offered as what a file may hold.
SET_BY_SCORESTATE = {(Scenario, "overrides")}


def format_validation(e: ValidationError, label: str, root: type[BaseModel] = Scenario,
                       prefix: str = "") -> str:
    first = e.errors()[0]
    loc = prefix + ".".join(str(p) for p in first["loc"])
    given = first.get("input")
    if first["type"] == "extra_forbidden":
        parent = _model_at(root, first["loc"][:-1])
        known = (", ".join(f for f in parent.model_fields if (parent, f) not in SET_BY_SCORESTATE)
                 if parent else "see `scorestate scenarios --show essay`")
        msg = f"{label}: unknown field '{loc}'; expected one of: {known}"
    elif first["type"] == "finite_number":
        msg = f"{label}: '{loc}' expected a finite number; got {given}"
    elif isinstance(first.get("ctx", {}).get("error"), UnknownName):
        msg = f"{label}: '{loc or 'scenario'}' {first['ctx']['error']}"
    elif first["type"] in TYPE_ERRORS:  # strict types: say what was given, as well as its value
        text = first["msg"]
        msg = (f"{label}: '{loc or 'scenario'}' {text[0].lower()}{text[1:]}; got {_short(given)} "
               f"({_kind(given, first['type'])})")
    else:
        text = first["msg"]
        text = text.removeprefix("Value error, ")
        msg = f"{label}: '{loc or 'scenario'}' {text[0].lower()}{text[1:]}; got {_short(given)}"
    more = len(e.errors()) - 1
    return msg + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


# pydantic's errors for a value of the wrong type (the schema's types are strict: no conversion).
TYPE_ERRORS = {"int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type"}
_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a real number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"), (type(None), "null"))


def _kind(value: Any, expected: str) -> str:
    """What a wrongly typed value is, e.g. 'a boolean', with a hint where a slip is likely."""
    kind = next((name for t, name in _KINDS if isinstance(value, t)), type(value).__name__)
    if isinstance(value, str) and expected in ("int_type", "float_type", "bool_type"):
        kind += ": numbers and true/false are written without quotes"
    elif isinstance(value, float) and expected == "int_type":
        kind += ": an integer is written without a decimal point or an exponent"
    return kind


def _model_at(model: type[BaseModel], loc: Iterable[Any]) -> type[BaseModel] | None:
    """The model at a location; list indexes and dict keys (phases.0, gates.wallet) step into
    the item type."""
    node: Any = model
    for part in loc:
        if get_origin(node) in (list, dict):
            node = get_args(node)[-1]
        elif isinstance(node, type) and issubclass(node, BaseModel) and str(part) in node.model_fields:
            node = node.model_fields[str(part)].annotation
        else:
            return None
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _one_line(text: str) -> str:
    """A condition as one line of at most 120 characters, for a message."""
    shown = "".join(c if c.isprintable() else " " for c in text)
    return shown if len(shown) <= 120 else shown[:100] + "..."


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def plain(value: Any) -> Any:
    """`value` with numpy scalars as Python ones and tuples as lists, the types a YAML file gives:
    the schema's types are strict, and a sweep's `np.int64(1000)` or `(1, 0.5, 0)` is what it
    says it is. (A numpy boolean stays a boolean, and is refused where a number belongs.)"""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def validate(raw: Mapping[str, Any], label: str) -> Scenario:
    """Validate a raw mapping into a Scenario, phases and conditions included."""
    try:
        scenario = Scenario.model_validate(plain(raw))
    except ValidationError as e:
        raise ScenarioError(format_validation(e, label)) from None
    for _day, policy, where in phase_policies(scenario, label=label):
        _check_conditions(policy, scenario, where)
    return scenario


def phase_policies(scenario: Scenario, *, label: str = "scenario") -> list[tuple[int, Policy, str]]:
    """(first day, policy in force, label) for the base policy and after each phase."""
    out: list[tuple[int, Policy, str]] = [(0, scenario.policy, label)]
    raw = {"policy": scenario.policy.model_dump(mode="json")}
    for i, phase in enumerate(sorted(scenario.timeline.phases, key=lambda p: p.day)):
        where = f"{label}: timeline.phases[{i}] ('{phase.name}', day {phase.day})"
        deep_merge(raw, copy.deepcopy(phase.set))
        try:
            policy = Policy.model_validate(raw["policy"])
        except ValidationError as e:
            raise ScenarioError(format_validation(e, where, Policy, "policy.")) from None
        out.append((phase.day, policy, where))
    return out


def _check_conditions(policy: Policy, scenario: Scenario, where: str) -> None:
    from scorestate.columns import compile_policy_conditions

    compiled = compile_policy_conditions(policy, label=where)
    for condition in (*(c for _, c in compiled.entry), compiled.exit, compiled.exempt,
                      *(c for _, c in compiled.gates), *(c for _, c in compiled.rewards)):
        if condition.zero_divisor:
            raise ConditionError(f"{condition.where}: the condition '{_one_line(condition.text)}' divides "
                                 f"{condition.zero_divisor}, which is 0; expected a divisor other than 0 "
                                 "(a division by 0 gives no number, and the comparison no meaning)")


def load_scenario(source: str | Path | Mapping[str, Any] = "essay",
                  overrides: Mapping[str, Any] | Iterable[str] = (), *, population: int | None = None,
                  days: int | None = None, seed: int | None = None) -> Scenario:
    """A preset name, a YAML file or a mapping, with overrides by dotted path, validated.

    `source` may be a mapping holding what a scenario file would (`{"population": {"size":
    5000}, "policy": {...}}`): it is validated as a file is, with the same messages. `overrides`
    is a mapping {"policy.scoring.points.alcohol": -10}, strings "path=value", or one such
    string, each parameter given once: one that a later override would replace (the same path,
    or a section around it: `policy.scoring.drift` and then `policy: {scoring: {...}}`) is
    refused, as a key given twice in a file is; a section given whole may be followed by changes
    inside it. `population`, `days` and `seed` set population.size, run.days and run.seed.
    `ss.load_scenario` also warns (NotReachedWarning) of phases that its days do not reach.
    """
    raw, label = _read_raw(source)
    raw = copy.deepcopy(raw)
    _normalise_phases(raw, label)
    _edgelist_beside(raw, source)
    pairs = [(path, plain(value)) for path, value in _override_pairs(overrides)]
    _given_once(pairs)
    for path, value in pairs:
        if path == "overrides" or path.startswith("overrides."):
            raise ScenarioError("'overrides' is set by scorestate (the record of the overrides a "
                                "scenario was loaded with); expected a parameter's path")
        set_path(raw, path, value, label=f"override '{path}'")
    if pairs:  # the record `scorestate runs` shows: what a run changed from its preset or file
        raw["overrides"] = [*raw.get("overrides", []), *(_text(path, value) for path, value in pairs)]
    shortcuts = {"population": "population.size", "days": "run.days", "seed": "run.seed"}
    for key, value in (("population", population), ("days", days), ("seed", seed)):
        if value is None:
            continue
        for path, given in pairs:
            if _sets(path, given, shortcuts[key]):
                raise ScenarioError(
                    f"'{shortcuts[key]}' is given twice: by the override {path}={_short(given)} and by "
                    f"the setting {key}={value} (--{key} on the command line); expected it once")
        set_path(raw, shortcuts[key], value, label=f"setting '{key}'")
    _normalise_phases(raw, label)  # a phase's `set` given whole by an override may use dotted keys
    scenario = validate(raw, label)
    _check_degree(raw, scenario, label)
    return scenario


def _text(path: str, value: Any) -> str:
    """An override as `path=value`, as the record keeps it (a string as it is, else JSON)."""
    return f"{path}={value if isinstance(value, str) else json.dumps(value)}"


def _given_once(pairs: list[tuple[str, Any]]) -> None:
    """Refuse an override that a later one would replace without a word (the same path again,
    or a section around it given whole), as a key given twice in a file is refused. A section
    given whole and then changed inside (`policy.sharing={...}`, then `policy.sharing.health=true`)
    is a deliberate refinement, loaded as written."""
    for k, (path, value) in enumerate(pairs):
        for earlier, given in pairs[:k]:
            if replaces(path, earlier):
                raise ScenarioError(
                    f"the overrides give '{earlier}' twice ({_text(earlier, given)}, then "
                    f"{_text(path, value)}, which would replace it without a word); expected each "
                    "parameter once (a section given whole may be followed by changes inside it)")


def replaces(later: str, earlier: str) -> bool:
    """Whether an override of the path `later` replaces what one of `earlier` gave: the same
    path, or a section around it (set whole, it drops what was set inside)."""
    return earlier == later or earlier.startswith(later + ".")


def lay_over(base: Iterable[str], over: Iterable[str]) -> list[str]:
    """The overrides ("path=value") of `base` without those that one of `over` replaces, then
    those of `over`: what loading the two lists one after the other gave when the later value
    won, each parameter given once (compare's --set-b changes what --set gave both sides)."""
    over = list(over)
    later = [parse_override(text)[0] for text in over]
    kept = [text for text in base if not any(replaces(p, parse_override(text)[0]) for p in later)]
    return kept + over


def _check_degree(raw: Mapping[str, Any], scenario: Scenario, label: str) -> None:
    """A mean degree the population cannot hold (a citizen has at most size - 1 ties) is refused
    where the scenario chose it. The default degree of 12 is left to the generator, which gives a
    population of a few citizens what ties it can hold (`-n 1` runs a lone citizen)."""
    net = raw.get("network")
    if not isinstance(net, Mapping) or "mean_degree" not in net or scenario.network.kind != "homophilous":
        return
    n, degree = scenario.population.size, scenario.network.mean_degree
    if degree > n - 1:
        raise ScenarioError(
            f"{label}: 'network.mean_degree' is {degree:g} but population.size is {n:,}, where a "
            f"citizen can have at most {n - 1:,} ties; expected a mean degree of at most {n - 1:,}, "
            "or a larger population")


def _edgelist_beside(raw: dict[str, Any], source: str | Path) -> None:
    """A relative edge-list path written in a scenario file names a file beside it, wherever the
    command runs: a scenario handed out with its network must run that network. (A path given
    by an override is relative to where the command runs, like any path on a command line.)"""
    net = raw.get("network")
    if isinstance(source, Mapping) or str(source) in preset_names() or not isinstance(net, dict):
        return  # a mapping's path, like an override's, is relative to where the command runs
    edges = net.get("edgelist")
    if isinstance(edges, str) and edges and not Path(edges).is_absolute():
        net["edgelist"] = str(Path(source).resolve().parent / edges)


def _override_pairs(overrides: Any) -> list[tuple[str, Any]]:
    """(path, value) of each override. A lone string is one override: iterated, it would be read a
    character at a time, each refused for having no '='."""
    if isinstance(overrides, Mapping):
        return [(str(path), value) for path, value in overrides.items()]
    if isinstance(overrides, str):
        overrides = [overrides]
    items = list(overrides) if isinstance(overrides, Iterable) else [overrides]
    for x in items:
        if not isinstance(x, str):
            raise ScenarioError(f"overrides must be a mapping {{PATH: VALUE}} or a list of PATH=VALUE "
                                f"strings (e.g. [\"policy.scoring.drift=0.1\"]); got {_short(x)} "
                                f"({type(x).__name__})")
    return [parse_override(x) for x in items]


def _sets(path: str, value: Any, target: str) -> bool:
    """Whether the override `path: value` sets the dotted `target` (itself or inside a mapping),
    so that a shortcut setting the same field would silently discard it."""
    if path == target:
        return True
    if not target.startswith(path + "."):
        return False
    for key in target[len(path) + 1:].split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    return True


def scenario_from_dict(raw: Mapping[str, Any], label: str = "scenario") -> Scenario:
    """Validate an in-memory mapping (e.g. a stored run's resolved scenario)."""
    raw = copy.deepcopy(dict(raw))
    _normalise_phases(raw, label)
    return validate(raw, label)


def resolved_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as nested YAML (a parameter's dotted path is its keys joined).

    The overrides it was loaded with are shown as a comment at the end: their values are already in
    the fields, and a scenario file may not give `overrides` (scorestate writes that record), so the
    text runs as a file."""
    return scenario_yaml(scenario.model_dump(mode="json"))


def scenario_yaml(data: Mapping[str, Any]) -> str:
    """`resolved_yaml` of a scenario already dumped (a stored run's record)."""
    data = dict(data)
    done = data.pop("overrides", [])
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if done:
        record = yaml.safe_dump({"overrides": done}, sort_keys=False, allow_unicode=True, width=10_000)
        text += ("# loaded with these overrides (already in the values above; a scenario file does "
                 "not give them):\n" + "".join(f"# {line}\n" for line in record.splitlines()))
    return text


def after_the_end(scenario: Scenario) -> list[str]:
    """What a scenario schedules on or after its last day, so never happens in this run: a
    short run of a preset (`-d 20` of `essay`) otherwise looks like a policy with no effect."""
    days = scenario.run.days
    late = [f"phase '{p.name}' (day {p.day})" for p in scenario.timeline.phases if p.day >= days]
    dismantle = scenario.timeline.dismantle_day
    if dismantle is not None and dismantle >= days:
        late.append(f"the dismantling (day {dismantle})")
    return late


class NotReachedWarning(UserWarning):
    """A scenario schedules phases (or its dismantling) on or after its last day: the run never
    gets there, and would look like a policy without effect."""


def warn_not_reached(scenario: Scenario, stacklevel: int = 2) -> None:
    """Warn once, naming what `after_the_end` finds (the command line notes it in its own words)."""
    late = after_the_end(scenario)
    if late:
        days = scenario.run.days
        warnings.warn(f"{scenario.name}: {days} day{'' if days == 1 else 's'} "
                      f"{'does' if days == 1 else 'do'} not reach {', '.join(late)}; raise run.days "
                      "(days=) to see what they do", NotReachedWarning, stacklevel=stacklevel + 1)
