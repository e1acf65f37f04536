"""The page's state and its background work, one copy per browser session.

Solara keeps a separate value of each module-level `reactive` and `task` for every session (its
"virtual kernel"), so one visitor's choices and runs are never another's. The tasks run in
threads, so the page stays responsive while a run goes on; each reports its progress through
a status line and stops at its next day when called off (Stop, a newer request, a closed page,
the server stopping). An error reaches the page as one readable message, never a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solara
import solara.lab

from scorestate.dashboard import knobs, runs
from scorestate.dashboard.limits import not_whole, read_whole
from scorestate.errors import ScorestateError
from scorestate.scenario.load import preset_names

log = logging.getLogger("scorestate.dashboard")

LIMITS = runs.limits()
DEFAULT_PRESET = "essay"
DEFAULT_POPULATION = 10_000  # a society big enough for smooth lines, run in well under a second
DEFAULT_DAYS = 365  # the essay's year: both its phases (days 30 and 180) and time after them
DEFAULT_REPLICATES = 3

preset = solara.reactive(DEFAULT_PRESET)
# The society's fields: what is typed in each, and the whole number it holds (None where it holds none)
population_text = solara.reactive(f"{min(DEFAULT_POPULATION, LIMITS.max_population):,}")
days_text = solara.reactive(f"{min(DEFAULT_DAYS, LIMITS.max_days):,}")
seed_text = solara.reactive("0")
population: solara.Reactive[int | None] = solara.reactive(min(DEFAULT_POPULATION, LIMITS.max_population))
days: solara.Reactive[int | None] = solara.reactive(min(DEFAULT_DAYS, LIMITS.max_days))
seed: solara.Reactive[int | None] = solara.reactive(0)
FIELDS = {"Citizens": (population_text, population), "Days": (days_text, days), "Seed": (seed_text, seed)}
knobs_a = solara.reactive(knobs.preset_values(DEFAULT_PRESET))
preset_b = solara.reactive(DEFAULT_PRESET)
knobs_b = solara.reactive(knobs.preset_values(DEFAULT_PRESET))
replicates = solara.reactive(DEFAULT_REPLICATES)
citizen_text = solara.reactive("0")
citizen: solara.Reactive[int | None] = solara.reactive(0)
citizen_run = solara.reactive("the run")

last_run: solara.Reactive[runs.RunOutcome | None] = solara.reactive(None)
last_compare: solara.Reactive[runs.CompareOutcome | None] = solara.reactive(None)
run_status = solara.reactive("")
compare_status = solara.reactive("")
citizen_status = solara.reactive("")


@dataclass(eq=False)
class Done:
    """What a task hands the page: a value, or one readable message saying why there is none."""

    value: Any = None
    error: str | None = None


def problems(*presets: str) -> list[str]:
    """Why the society asked for cannot run on this server under these presets (by default policy
    A's), each preset's warm-up counted (empty: it can)."""
    return [problem for field in field_problems(*presets).values() for problem in field]


def field_problems(*presets: str) -> dict[str, list[str]]:
    """`problems` by the sidebar's field each concerns. A field whose text is not a whole number
    gets that said, not the bounds of a number it does not hold."""
    out: dict[str, list[str]] = {name: [] for name in FIELDS}
    for name in presets or (preset.value,):
        found = LIMITS.by_field(population.value, days.value, seed.value, preset=name,
                                warm_up_days=runs.warm_up_days(name))
        for field, said in found.items():
            # the citizens', days' and seed's are the same for every preset
            out[field] += [problem for problem in said if problem not in out[field]]
    for field, (text, value) in FIELDS.items():
        if value.value is None:
            out[field] = [not_whole(field, text.value, *LIMITS.field_range(field))]
    return out


def type_number(field: str, text: str | None) -> None:
    """A society field's new text, and the whole number it holds (None where it holds none)."""
    typed, value = FIELDS[field]
    typed.set(text or "")
    value.set(read_whole(text))


def type_citizen(text: str | None) -> None:
    """The citizen id field's new text, and the id it holds (None where it holds none)."""
    citizen_text.set(text or "")
    citizen.set(read_whole(text))


def pick_citizen(who: int) -> None:
    """A citizen chosen by a button: the id field shows them."""
    citizen_text.set(str(who))
    citizen.set(who)


def warm_up_room(name: str) -> tuple[int, int]:
    """(days, citizens): the most citizens a run of preset `name` may have on this server for the
    days asked (the most days where those are out of bounds), its warm-up counted."""
    asked = days.value if days.value is not None and 1 <= days.value <= LIMITS.max_days else LIMITS.max_days
    return asked, LIMITS.most_population(asked, runs.warm_up_days(name))


def society() -> runs.Society:
    LIMITS.refuse(population.value, days.value, seed.value)
    return runs.Society(int(population.value), int(days.value), int(seed.value))


def choose_preset(name: str) -> None:
    """A new preset for policy A: its knobs start where the preset has them. A name that is not a
    shipped preset (only a forged message could send one) changes nothing."""
    if name in preset_names():
        preset.set(name)
        knobs_a.set(knobs.preset_values(name))


def choose_preset_b(name: str) -> None:
    if name in preset_names():
        preset_b.set(name)
        knobs_b.set(knobs.preset_values(name))


def set_knob(values: solara.Reactive[dict[str, knobs.Value]], key: str, value: object) -> None:
    """One knob moved; a value no widget could send (a forged message) is ignored."""
    try:
        values.set({**values.value, **knobs.checked({key: value})})
    except ScorestateError:
        log.warning("ignored knob %r = %r", key, value)


# ------------------------------------------------------------------ the session's folders
_FOLDERS: dict[str, set[Path]] = {}
_ENDED: set[str] = set()  # sessions whose folders were removed: a run landing late keeps none
_FOLDERS_LOCK = threading.Lock()


def _session() -> str:
    from solara.server import kernel_context

    try:
        return kernel_context.get_current_context().id
    except Exception:  # outside a server (a test calling a task's function): one shared session
        return "-"


def _keep(folder: Path, closed: threading.Event) -> None:
    """Track a new run's folder for its session; a session that ended meanwhile gets none."""
    session = _session()
    with _FOLDERS_LOCK:
        if not closed.is_set() and session not in _ENDED:
            _FOLDERS.setdefault(session, set()).add(folder)
            return
    runs.discard(folder)
    raise runs.Stopped


def _replace(held: Any, outcome: Any, closed: threading.Event) -> Any:
    """Show a new result in place of the one `held` has, whose folder then goes."""
    _keep(outcome.folder, closed)
    previous = held.value
    held.set(outcome)
    _retire(previous.folder if previous else None)
    return outcome


def _retire(folder: Path | None) -> None:
    if folder is None:
        return
    with _FOLDERS_LOCK:
        _FOLDERS.get(_session(), set()).discard(folder)
    runs.discard(folder)


def _on_session_start() -> Callable[[], None]:
    """When a session ends (its tab closed and not reopened), its stores go with it."""
    session = _session()
    with _FOLDERS_LOCK:
        _ENDED.discard(session)  # a session restarted under its id keeps its runs again

    def close() -> None:
        with _FOLDERS_LOCK:  # from here on, _keep keeps nothing more for this session
            _ENDED.add(session)
            folders = _FOLDERS.pop(session, set())
        for folder in folders:
            runs.discard(folder)

    return close


solara.lab.on_kernel_start(_on_session_start)


def _closed() -> threading.Event:
    from solara.server import kernel_context

    try:
        return kernel_context.get_current_context().closed_event
    except Exception:
        return threading.Event()


def _guarded(work: Callable[[], Any], status: solara.Reactive[str]) -> Done:
    """Run `work`, turning every failure into one message for the page."""
    try:
        return Done(work())
    except runs.Stopped:
        return Done(error="stopped")
    except ScorestateError as e:
        return Done(error=str(e))
    except MemoryError:
        return Done(error="the server ran out of memory for this request; ask for fewer citizens "
                          "or fewer days")
    except Exception as e:  # a bug: the details go to the server's log, not to the visitor
        log.exception("dashboard request failed")
        return Done(error=f"the request failed unexpectedly ({type(e).__name__}); the server's log "
                          "has the details")
    finally:
        status.set("")


def _reporter(task: Any, status: solara.Reactive[str]) -> runs.Report:
    def report(text: str, fraction: float) -> None:
        status.set(text)
        task.progress = round(100 * fraction, 1)

    return report


@solara.lab.task
def run_task(policy: runs.Policy, who: runs.Society) -> Done:
    closed = _closed()

    def keep_going() -> bool:
        return run_task.is_current() and not closed.is_set()

    def work() -> runs.RunOutcome:
        return _replace(last_run, runs.simulate(policy, who, _reporter(run_task, run_status),
                                                keep_going), closed)

    return _guarded(work, run_status)


@solara.lab.task
def compare_task(a: runs.Policy, b: runs.Policy, who: runs.Society, seeds: int) -> Done:
    closed = _closed()

    def keep_going() -> bool:
        return compare_task.is_current() and not closed.is_set()

    def work() -> runs.CompareOutcome:
        return _replace(last_compare, runs.compare(a, b, who, seeds, _reporter(compare_task, compare_status),
                                                   keep_going), closed)

    return _guarded(work, compare_status)


@solara.lab.task
def citizen_task(run: runs.Landed, who: int) -> Done:
    closed = _closed()

    def keep_going() -> bool:
        return citizen_task.is_current() and not closed.is_set()

    return _guarded(lambda: runs.citizen_file(run, who, _reporter(citizen_task, citizen_status),
                                              keep_going), citizen_status)


def open_runs() -> dict[str, runs.Landed]:
    """The runs a citizen can be looked up in, by the name the page gives them."""
    out: dict[str, runs.Landed] = {}
    if last_run.value is not None:
        out["the run"] = last_run.value.run
    if last_compare.value is not None:
        out["compare: policy A"] = last_compare.value.a
        out["compare: policy B"] = last_compare.value.b
    return out
