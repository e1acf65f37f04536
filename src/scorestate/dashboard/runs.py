"""Running simulations for the page: one request at a time per turn, bounded, cancellable.

Every simulation the page starts goes through `GATE`, a semaphore over all sessions of the
server (`--max-runs`, 1 by default), so a class clicking "Run" at once queues instead of
splitting the cores thirty ways; a queued session is told it is waiting. Requests are checked
against the server's `Limits` here, whatever the page's widgets allowed, since a page's
messages can be forged.

A run lands in a store of its own, in a temporary folder of the session, so that
`scorestate.api.explain` (which reads a stored run's ledger) opens a citizen's file exactly as
`scorestate explain` does. The page removes a folder when its result is replaced or the session
ends; the server removes what is left when it stops.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from scorestate import api
from scorestate.analysis import compare as paired
from scorestate.analysis.experiments import Arm, resolve
from scorestate.analysis.explain import CitizenFile, notable
from scorestate.dashboard import knobs, plots
from scorestate.dashboard.limits import MAX_REPLICATES, MIN_REPLICATES, Limits, check_bound, from_environ
from scorestate.policy import unheard
from scorestate.report.figures import Panel
from scorestate.scenario.load import after_the_end, load_scenario
from scorestate.scenario.schema import Scenario
from scorestate.store import StoredRun

REPORT_EVERY_S = 0.25  # progress messages at most this often: the page need not redraw every day
STOP = threading.Event()  # set when the server stops: runs under way end at their next day

Report = Callable[[str, float], None]  # (what is happening, fraction done)
KeepGoing = Callable[[], bool]


class Stopped(Exception):
    """A run called off: a newer request, a closed page, or the server stopping."""


@functools.cache
def limits() -> Limits:
    """The server's bounds, as the command line set them (read once, when first asked)."""
    return from_environ()


class Gate:
    """At most `slots` simulations at once in this process, whoever asks."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def turn(self, report: Report, keep_going: KeepGoing) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            others = "another run" if self.slots == 1 else f"one of {self.slots} runs"
            report(f"waiting for {others} to finish (this server runs {self.slots} at a time)", 0.0)
            while not self._free.acquire(timeout=0.2):
                if not keep_going():
                    raise Stopped
        try:
            yield
        finally:
            self._free.release()


@functools.cache
def gate() -> Gate:
    return Gate(limits().max_runs)


# ------------------------------------------------------------------ what is asked
@dataclass(frozen=True)
class Society:
    """Who is simulated, for how long, with which luck."""

    population: int
    days: int
    seed: int

    def describe(self) -> str:
        return f"{self.population:,} citizens, {self.days:,} days, seed {self.seed}"


@dataclass(frozen=True)
class Policy:
    """A preset and the page's knob values (only the moved ones change the preset)."""

    preset: str
    values: tuple[tuple[str, knobs.Value], ...]

    @classmethod
    def of(cls, preset: str, values: dict[str, knobs.Value]) -> Policy:
        """The policy the page asks for, checked: a shipped preset, knobs within their ranges."""
        return cls(knobs.check_preset(preset), tuple(sorted(knobs.checked(values).items())))

    def overrides(self) -> tuple[tuple[str, Any], ...]:
        return knobs.overrides(self.preset, dict(self.values))

    def describe(self) -> str:
        """The preset and each moved knob with the preset's own value, for a result's title."""
        shipped = knobs.preset_values(self.preset)
        moved = knobs.moved(self.preset, dict(self.values))
        if not moved:
            return f"{self.preset} as shipped"
        changes = "; ".join(f"{knobs.BY_KEY[k].label.lower()}: {knobs.BY_KEY[k].show(v)} "
                            f"(preset {knobs.BY_KEY[k].show(shipped[k])})" for k, v in moved.items())
        return f"{self.preset} with {changes}"


@functools.cache
def warm_up_days(preset: str) -> int:
    """The days a shipped preset lives before day 0 (`run.warm_up_days`; the knobs leave them)."""
    return load_scenario(knobs.check_preset(preset)).run.warm_up_days


def refuse(preset: str, society: Society) -> None:
    """Refuse a society the server's bounds do not allow under this preset, its warm-up counted."""
    limits().refuse(society.population, society.days, society.seed, preset=preset,
                    warm_up_days=warm_up_days(preset))


def scenario_for(policy: Policy, society: Society) -> Scenario:
    """The resolved scenario: the preset at this size and seed, moved knobs held in every phase."""
    refuse(policy.preset, society)
    return resolve(Arm(policy.preset, policy.preset, policy.overrides()), society.population,
                   society.days, society.seed)


# ------------------------------------------------------------------ folders
_ROOT: list[Path] = []
_ROOT_LOCK = threading.Lock()


def _root() -> Path:
    with _ROOT_LOCK:
        if not _ROOT:
            _ROOT.append(Path(tempfile.mkdtemp(prefix="scorestate-dashboard-")))
            atexit.register(remove_all)
        return _ROOT[0]


def new_folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_root()))


def discard(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def remove_all() -> None:
    """Remove every session's stores (the server is stopping)."""
    with _ROOT_LOCK:
        for root in _ROOT:
            shutil.rmtree(root, ignore_errors=True)
        _ROOT.clear()


# ------------------------------------------------------------------ results
@dataclass(eq=False)  # compared by identity: frames have no truth value
class Landed:
    """One run as the page shows it: its scenario, its stored record and a few citizens to open."""

    label: str  # "the run", "A", "B"
    policy: Policy
    scenario: Scenario
    stored: StoredRun
    notable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def metrics(self) -> pl.DataFrame:
        return self.stored.metrics

    @property
    def run_id(self) -> str:
        return self.stored.record.run_id

    def late(self) -> list[str]:
        """Phases the run's days do not reach (a 40-day essay never gets its smart home)."""
        return after_the_end(self.scenario)

    @functools.cached_property
    def unheard(self) -> list[str]:
        """Rules that read what no shared source tells the centre, with their phases: the
        guilt-by-association knob moved on a preset whose platform never feeds the centre.
        Found once (it compiles the timeline), not at every drawing of the page."""
        return unheard(self.scenario)


@dataclass(eq=False)  # compared by identity: frames have no truth value
class RunOutcome:
    society: Society
    run: Landed
    folder: Path
    panels: list[Panel]


@dataclass(eq=False)  # compared by identity: frames have no truth value
class CompareOutcome:
    society: Society
    a: Landed
    b: Landed
    comparison: paired.Comparison
    folder: Path
    panels: list[Panel]  # the difference B - A, then the report's figures with B over A

    @property
    def identical(self) -> bool:
        return self.a.scenario.model_dump(exclude={"name", "description", "overrides"}) == \
            self.b.scenario.model_dump(exclude={"name", "description", "overrides"})


def _go_on(keep_going: KeepGoing) -> None:
    """Raise Stopped if the request was called off meanwhile or the server is stopping."""
    if not keep_going() or STOP.is_set():
        raise Stopped


def _days(report: Report, keep_going: KeepGoing, days: int, what: str,
          start: float, span: float) -> Callable[[int], None]:
    """A run's day-by-day progress as page messages, at most every REPORT_EVERY_S."""
    last = [0.0]

    def on_day(day: int) -> None:
        _go_on(keep_going)
        now = time.monotonic()
        if now - last[0] >= REPORT_EVERY_S or day == days:
            last[0] = now
            if day <= 0:  # a warm-up's days, before day 0 (court-blacklist lives eight years)
                report(f"{what}warming up: {-day:,} days before day 0", start)
            else:
                report(f"{what}day {day:,} of {days:,}", start + span * day / days)

    return on_day


def _land(label: str, policy: Policy, scenario: Scenario, store: Path,
          on_day: Callable[[int], None]) -> Landed:
    result = api.run(scenario, store=store, progress=on_day)
    stored = api.open_run(str(result.run_id), store=store)
    return Landed(label, policy, scenario, stored, notable(stored))


def simulate(policy: Policy, society: Society, report: Report, keep_going: KeepGoing) -> RunOutcome:
    """Run one policy on one society, after waiting for a turn; the run lands in a new folder."""
    scenario = scenario_for(policy, society)
    with gate().turn(report, keep_going):
        folder = new_folder()
        try:
            on_day = _days(report, keep_going, society.days, "", 0.0, 1.0)
            landed = _land("the run", policy, scenario, folder / "runs.duckdb", on_day)
            report("drawing the figures", 1.0)
            panels = plots.run_panels(landed.stored)
            _go_on(keep_going)  # Stop pressed while the figures were drawn: the run is not shown
        except BaseException:
            discard(folder)
            raise
    return RunOutcome(society, landed, folder, panels)


def compare(a: Policy, b: Policy, society: Society, replicates: int, report: Report,
            keep_going: KeepGoing) -> CompareOutcome:
    """Policies A and B on the same citizens and the same luck (the same seed), both stored for
    their series and citizens' files; then `scorestate.analysis.compare` over `replicates` paired
    seeds for confidence intervals and the citizens whose fate differs."""
    check_bound("replicates", replicates, MIN_REPLICATES, MAX_REPLICATES)
    scen_a, scen_b = scenario_for(a, society), scenario_for(b, society)
    paired.check(scen_a, scen_b, replicates, society.seed)
    runs = 2 + 3 * replicates
    with gate().turn(report, keep_going):
        folder = new_folder()
        try:
            store = folder / "runs.duckdb"
            land_a = _land("A", a, scen_a, store,
                           _days(report, keep_going, society.days, "policy A: ", 0.0, 1 / runs))
            land_b = _land("B", b, scen_b, store,
                           _days(report, keep_going, society.days, "policy B: ", 1 / runs, 1 / runs))

            def replicate(done: int, total: int) -> None:
                _go_on(keep_going)
                report(f"confidence intervals: run {done} of {total} (seeds {society.seed} to "
                       f"{society.seed + replicates - 1}, and independent ones)", (2 + done) / runs)

            report(f"confidence intervals: run 0 of {3 * replicates}", 2 / runs)
            comparison = paired.compare(scen_a, scen_b, replicates=replicates, seed=society.seed,
                                        progress=replicate)
            report("drawing the figures", 1.0)
            panels = [plots.difference_panel(land_a.metrics, land_b.metrics),
                      *plots.run_panels(land_a.stored, land_b.stored)]
            _go_on(keep_going)
        except BaseException:
            discard(folder)
            raise
    return CompareOutcome(society, land_a, land_b, comparison, folder, panels)


def citizen_file(run: Landed, citizen: int, report: Report, keep_going: KeepGoing) -> CitizenFile:
    """One citizen's file, as `scorestate explain` reads it (rebuilding the society: a turn)."""
    with gate().turn(report, keep_going):
        return api.explain(run.stored, citizen)
