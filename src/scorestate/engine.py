"""The engine: one society, one policy timeline, and the day loop.

A day is the list `DAY` below, in MODEL.md's order:

 1. timeline     - the phase in force; dismantling empties the list and opens every gate
 2. behaviour    - what each citizen does (and would have done without incentives)
 3. surveillance - which sources see which acts; misattribution and false matches
 4. centre       - observed events become points and ledger rows
 5. neighbours   - the day's pass over the network (association, learning, metrics)
    appeals      - false attributions reversed (heard before scoring, so a reversal counts today)
    scoring      - score += points - association + drift, clipped; tiers
 6. blacklist    - exits after term and correction, entries by rule
 7. gates        - today's priced uses settled; tomorrow's denials and prices
 8. ties         - ties dropped and sought by tier; churn
 9. attitudes    - perceived detection, approval, grievance
10. measurement  - daily metrics, overall and by group

A run is a pure function of (resolved scenario, seed): `simulate(scenario)` can be shipped to
another process, started by 'spawn' or 'forkserver' (a process forked after the parallel kernels
ran is refused: their OpenMP runtime cannot run there). `Simulation.step()` advances one day and
leaves every state array readable, which is how a dashboard drives it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import polars as pl

from scorestate import __version__, checkpoint
from scorestate.columns import ColumnEnv
from scorestate.errors import InvariantError, ScorestateError, not_a_scenario
from scorestate.ledger import Batch, Ledger, discard
from scorestate.mechanisms import (
    appeals,
    attitudes,
    behaviour,
    blacklist,
    centre,
    gates,
    neighbours,
    scoring,
    surveillance,
    ties,
)
from scorestate.metrics import Recorder, final
from scorestate.network import Graph, from_edges, from_networkx, homophilous, import_edgelist
from scorestate.policy import CompiledPolicy, compile_timeline, policy_on, price_services
from scorestate.population import build_citizens, care_weights
from scorestate.pricebook import PriceBook
from scorestate.scenario.schema import Scenario
from scorestate.state import NEVER, Citizens, State
from scorestate.vocabulary import LEDGER_KINDS, SOURCES

# Kernels run on OpenMP threads. Idle threads that spin (OpenMP's default) stall every parallel
# loop for a whole time slice when other processes share the cores; sleeping threads do not.
# Set before the first parallel kernel starts the thread pool; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# A population that fits in one chunk of the chunked kernels runs its day on one thread: waking a
# second one costs more than it saves there (on 2 cores the break-even is near 25,000 citizens).
SERIAL_UP_TO = neighbours.CHUNK
# What a run needs at its peak, while the network is built (docs/performance.md, "Memory"): about
# 120 bytes a citizen plus 8 a directed tie, measured at 87% to 96% of this at 10^6 to 5 x 10^7.
BYTES_PER_CITIZEN = 120
BYTES_PER_TIE = 8
NOBODY = np.empty(0, np.int64)
NOBODY.flags.writeable = False


def timeline_step(sim: Simulation) -> None:
    """Put the day's phase in force; on dismantling, release everyone and open the gates.

    Reads: the compiled timeline, the day. Writes: `sim.policy`, `sim.believed`; on dismantling
    `blacklisted`, `listed_since`, `list_reason`, `denied` and the price book.
    """
    new = policy_on(sim.timeline, sim.day)
    if new is sim.policy:
        return
    if sim.policy.enabled and not new.enabled:
        blacklist.release(sim, np.flatnonzero(sim.state.blacklisted), blacklist.EXIT_DISMANTLED)
        sim.state.denied[:] = 0
        sim.prices.clear()
    sim.policy = new
    if new.enabled:
        sim.believed = new


def measurement_step(sim: Simulation) -> None:
    """Record the day's metrics and the recorded citizens' denials; flush the ledger in batches.

    Reads: every state array and the day's tallies. Writes: the metric slots of the day, ledger.
    """
    sim.ledger.denials(sim)
    sim.recorder.record(sim)
    sim.ledger.end_day()


DAY: tuple[tuple[str, Callable[[Simulation], None]], ...] = (
    ("timeline", timeline_step),
    ("behaviour", behaviour.step),
    ("surveillance", surveillance.step),
    ("centre", centre.step),
    ("neighbours", neighbours.step),
    ("appeals", appeals.step),
    ("scoring", scoring.step),
    ("blacklist", blacklist.step),
    ("gates", gates.step),
    ("ties", ties.step),
    ("attitudes", attitudes.step),
    ("measurement", measurement_step),
)
WARM_UP = tuple((name, mechanism) for name, mechanism in DAY if name != "measurement")
"""The days of `run.warm_up_days`: every mechanism, nothing measured."""


@dataclass
class RunResult:
    """What a run returns: its metrics as Polars frames, the ledger when kept in memory, timings.

    - `scenario`: the scenario as run (an imported network's size and file filled in), so that
      `simulate(result.scenario)` repeats the run (given `graph=` again if it had one); `seed`: its
      `run.seed`, the seed of every random stream;
    - `metrics`: one row per day, one column per metric; `group_metrics`: one row per day, grouping
      (settlement, education, income quintile, official rank) and group;
    - `ledger`: events and decisions (as `ledger.retention` kept them) when the run was simulated in
      memory (`ss.simulate`); None when it went to a store (`ss.run(..., store=...)`), which keeps
      it on disk: read it with `ss.open_run(result.run_id, store=...).ledger(...)`;
    - `elapsed_s`: seconds spent simulating days; `build_s`: seconds building the citizens and
      their network (and loading the kernels, for a process's first run);
    - `final`: the last day's headline metrics, None where undefined (a share of nobody);
    - `run_id`: the run's id in its store, None for a run kept in memory;
    - `extra`: what a run record adds: the package `version` and the `ledger_rows` written.
    """

    scenario: Scenario
    seed: int
    metrics: pl.DataFrame
    group_metrics: pl.DataFrame
    ledger: pl.DataFrame | None
    elapsed_s: float
    build_s: float
    final: dict[str, float | None]
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line: printing every frame (the default repr) gave some 9,000 characters."""
        return (f"RunResult(scenario={self.scenario.name!r}, population={self.population:,}, "
                f"days={self.days}, seed={self.seed}, run_id={self.run_id!r}, "
                f"metrics={frame_shape(self.metrics)}, group_metrics={frame_shape(self.group_metrics)}, "
                f"ledger={frame_shape(self.ledger)})")

    @property
    def population(self) -> int:
        """Citizens in the run: day 0's count (an imported network's, not the scenario's default);
        before any day is measured, the size in `scenario` (which a run fills in from its network)."""
        if self.group_metrics.height == 0:
            return self.scenario.population.size
        return int(self.group_metrics.filter(pl.col("grouping") == "settlement")
                   .filter(pl.col("day") == 0)["population"].sum())

    @property
    def days(self) -> int:
        """Days simulated: one row of `metrics` per day (fewer than `run.days` for a partial run)."""
        return self.metrics.height

    @property
    def citizen_days_per_s(self) -> float:
        """Speed: population x days / `elapsed_s`, building excluded (NaN for a run of no time)."""
        return self.population * self.days / self.elapsed_s if self.elapsed_s > 0 else float("nan")


def frame_shape(frame: pl.DataFrame | None) -> str:
    """A frame as `rows x columns`, for a repr (a frame of a million rows prints in one line)."""
    return "None" if frame is None else f"{frame.height:,}x{frame.width}"


_KERNELS_READY = False
_READY_IN_PID: int | None = None  # the process whose parallel runtime the warm-up started
SLOW_COMPILE_S = 3.0  # longer than loading the kernels from numba's cache takes
FORKED = ("this process was forked from one that had already run scorestate's parallel kernels, "
          "and their OpenMP runtime cannot run after a fork; start worker processes with the "
          "'spawn' or 'forkserver' method (e.g. ProcessPoolExecutor(mp_context="
          "multiprocessing.get_context('spawn'))), or run nothing in the parent first")


def compile_kernels(when_slow: Callable[[], None] | None = None) -> None:
    """Compile, or load from numba's cache, every kernel once per process.

    A tiny run with every mechanism on (and a dismantling) goes first, so that a run's clock
    (`elapsed_s`, citizen-days per second) measures simulation rather than compilation; the
    cost lands in `build_s` of the first run in a process. Loading from the cache takes about
    a second; compiling, on a machine's first run, about a minute: `when_slow` is called if it
    takes more than SLOW_COMPILE_S, so a command can say why nothing seems to happen.
    """
    global _KERNELS_READY, _READY_IN_PID
    if _READY_IN_PID is not None and os.getpid() != _READY_IN_PID:
        # GNU OpenMP would terminate the whole process at the first parallel loop
        raise ScorestateError(FORKED)
    if _KERNELS_READY:
        return
    _KERNELS_READY = True
    _READY_IN_PID = os.getpid()
    from scorestate.scenario.load import load_scenario, phase_policies

    timer = threading.Timer(SLOW_COMPILE_S, when_slow) if when_slow is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        essay = load_scenario("essay", {"ledger.retention": "full"}, population=64, days=3)
        everything = phase_policies(essay)[-1][1]
        timeline = essay.timeline.model_copy(update={"phases": [], "dismantle_day": 2})
        Simulation(essay.model_copy(update={"policy": everything, "timeline": timeline})).run()
    finally:
        if timer is not None:
            timer.cancel()
            timer.join()  # a notice already under way ends before the run's own output


class Simulation:
    """One run, advanced a day at a time with `step()`, its arrays readable between days.

    Public attributes: `state` (the arrays a day changes: score, tier, blacklisted, ...; write
    into them, never rebind them), `citizens` (demographics, read-only, and traits, which may be
    written), `graph` (the ties, in CSR form: `start`, `degree`, `nbrs`; the ties mechanism
    changes them in place), `day` (the next day to run: 0 before the first `step()`, `run.days`
    once all are done), `n` (the number of citizens), `scenario` (as run: an imported network's
    size filled in) and `seed`. Kernels index arrays without checking bounds: with
    `run.check_invariants`, what was written between days is checked before the day runs.

    `graph=` runs on a networkx graph instead of the scenario's network; it sets the number of
    citizens, and a population size the scenario sets explicitly must agree with it, as with an
    edge list. `ledger_sink` receives each ledger batch instead of keeping it in memory.
    With `run.warm_up_days`, the society lives those days as it is built, and `progress(day)`
    follows them (days up to 0).
    """

    def __init__(self, scenario: Scenario, *, graph: object | None = None,
                 ledger_sink: Callable[[Batch], None] | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        t0 = time.perf_counter()
        if not isinstance(scenario, Scenario):  # a preset's name, say: fail here, not deep inside
            raise not_a_scenario(scenario, "ss.simulate(ss.load_scenario({name!r}))")
        if graph is None and scenario.network.kind == "homophilous":  # before any work
            check_memory(scenario.population.size, scenario.network.mean_degree)
        compile_kernels()
        if graph is not None and scenario.network.kind != "graph":
            # the run's record must say that its ties came from outside the scenario
            network = scenario.network.model_copy(
                update={"kind": "graph", "edgelist": None, "edgelist_sha256": None})
            scenario = scenario.model_copy(update={"network": network})
        elif graph is None and scenario.network.kind == "graph":
            raise ScorestateError("network.kind is 'graph': this scenario's ties came from a networkx "
                                  "graph given from Python; pass it again with graph=")
        net = scenario.network
        edges: np.ndarray | None = None
        n: int | None = None
        if graph is not None:
            n, edges = from_networkx(graph)
            check_graph_size(given_size(scenario), n)
        elif net.kind == "edgelist":
            net, n, edges = import_edgelist(net, given_size(scenario))
        if n is not None:
            if n < 2:
                raise ScorestateError("the imported network has fewer than 2 citizens; "
                                      "expected a graph with ties")
            check_memory(n, edges.size / n, imported=True)  # its ties: 2 ids per undirected one
            # the record names the citizens the run had and the file it read, not the defaults
            population = scenario.population.model_copy(update={"size": n})
            scenario = scenario.model_copy(update={"network": net, "population": population})
        seed = scenario.run.seed
        c, grievance, days_since_dose = build_citizens(
            scenario.population, scenario.behaviour, scenario.attitudes, seed, n=n,
            keep_order=edges is not None)
        if edges is not None:
            graph = from_edges(c.n, edges, net.slack)
        else:
            wide = np.int32 if c.region_start.shape[0] < 2**28 else np.int64  # 4 bytes spared
            stratum = (c.region.astype(wide) * 2 + c.urban) * 4 + c.education
            graph = homophilous(net, c.region_start, stratum, seed)
            del stratum
        self._take(scenario, c, graph)
        s = State.allocate(self.n, graph.widest_row())
        sc = self.policy.spec.scoring
        start = np.random.Generator(np.random.Philox(np.random.SeedSequence([self.seed, 4])))
        s.score[:] = np.clip(sc.initial + sc.initial_spread * start.uniform(-1, 1, self.n),
                             sc.minimum, sc.maximum)
        s.tier[:] = scoring.initial_tiers(s.score, self.policy.tier_bounds)
        s.perceived[:] = scenario.attitudes.perceived_initial
        s.approval[:] = c.approval0
        s.grievance[:] = grievance
        s.days_since_dose[:] = days_since_dose
        seeds = start.random(self.n) < self.policy.spec.blacklist.seed_share
        self._finish(s, ledger_sink)
        self._warm_up(scenario.run.warm_up_days, progress)
        s.blacklisted[seeds] = True  # on day 0, after any warm-up
        s.listed_since[seeds] = 0
        s.list_reason[seeds] = blacklist.REASON_SEED
        self.build_s = time.perf_counter() - t0

    def _take(self, scenario: Scenario, citizens: Citizens, graph: Graph) -> None:
        """The run's inputs and its compiled timeline, as of day 0 (building and resuming)."""
        self.scenario = scenario
        self.seed = scenario.run.seed
        citizens.freeze()
        graph.freeze()
        self.citizens = citizens
        self.n = citizens.n
        self.care_weights = care_weights(scenario.behaviour)  # see population.care
        self.graph = graph
        self.timeline: list[tuple[int, CompiledPolicy]] = compile_timeline(scenario)
        self.policy = self.timeline[0][1]
        # the policy whose stakes citizens believe in: the last one enforced (None: never any)
        self.believed: CompiledPolicy | None = self.policy if self.policy.enabled else None

    def _finish(self, state: State, ledger_sink: Callable[[Batch], None] | None) -> None:
        """Everything a day reads besides the inputs, empty as on day 0 (building and resuming)."""
        self.state = state
        self.prices = PriceBook(self.n, price_services(self.timeline),
                                max(len(p.price_gates) + len(p.rewards) for _, p in self.timeline))
        self.officials = np.flatnonzero(self.citizens.rank > 0)
        self.behaviour_params, self.service_demand = behaviour.parameters(self)
        self._memory: list[Batch] = []
        retention = self.scenario.ledger
        self.ledger = Ledger(self.n, retention.retention, retention.panel_size, self.seed,
                             ledger_sink or self._memory.append, retention.flush_rows)
        self.keeps_ledger = ledger_sink is None
        self.recorder = Recorder(self)
        self.day = 0
        self.tally: defaultdict[str, Any] = defaultdict(int)
        self.upheld_today = NOBODY  # citizens whose appeal was upheld today (appeals -> blacklist)
        self.scratch: dict[str, np.ndarray] = {}  # mechanisms' reusable buffers (not state)
        self.build_s = 0.0
        self.step_s = 0.0

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint of the run as it stands between days; `Simulation.resume(path)`
        goes on from it to the same results, bit for bit (see `scorestate.checkpoint`)."""
        from scorestate import checkpoint

        return checkpoint.save(self, path)

    @classmethod
    def resume(cls, path: str | Path, *,
               ledger_sink: Callable[[Batch], None] | None = None) -> Simulation:
        """The run a checkpoint holds, ready to step on from its day. The ledger rows it had
        kept in memory come back with it; with `ledger_sink`, the rows not yet handed on go
        there instead."""
        from scorestate import checkpoint

        return checkpoint.load(path, ledger_sink=ledger_sink)

    def buffer(self, key: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """A reusable scratch array (not state: a step overwrites what it uses before reading).

        Steps that need one byte per citizen share the key `neighbours.CITIZEN_BYTES`, so a day
        holds one such array however many steps use it.
        """
        buf = self.scratch.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self.scratch[key] = np.empty(shape, dtype)
        return buf

    # ------------------------------------------------------------ the loop
    def columns(self) -> ColumnEnv:
        """The citizen columns that conditions read, as of now."""
        return ColumnEnv(self.citizens, self.state, self.graph.degree, self.day,
                         self.scenario.behaviour, self.policy.known_facts)

    def step(self, timings: dict[str, float] | None = None) -> None:
        """Advance one day through every mechanism, in order.

        With `timings`, each mechanism's seconds are added under its name (the profile that
        `python -m benchmarks` prints); the clock adds well under a microsecond per mechanism.
        """
        if self.day >= self.scenario.run.days:
            raise ScorestateError(f"the run has reached its last day ({self.scenario.run.days}); "
                                  "set run.days higher to go on")
        self._advance(DAY, timings)

    def _warm_up(self, days: int, progress: Callable[[int], None] | None) -> None:
        """Live `days` days before day 0 (numbered -days to -1) under the scenario's `policy`
        (phases, even one of day 0, start on their day), recording nothing: no metrics, no
        ledger row. A regime that has stood for years (a court list whose debtors come and go)
        then starts the run at its own level instead of empty, and the day stamps it leaves
        (listed since, unpaid since) are negative days. `progress(day)` follows it, from
        -days + 1 to 0."""
        if days == 0:
            return
        kept = self.ledger
        self.ledger = Ledger(self.n, "panel", 0, self.seed, discard, 1)  # follows nobody
        self.day = -days
        while self.day < 0:
            self._advance(WARM_UP)
            if progress is not None:
                progress(self.day)
        self.ledger = kept
        self.step_s = 0.0

    def _advance(self, steps: tuple[tuple[str, Callable[[Simulation], None]], ...],
                 timings: dict[str, float] | None = None) -> None:
        """Run `steps` for today and move to the next day, checking the arrays before (what was
        written since the last day) and after (what the day did) with `run.check_invariants`."""
        t0 = time.perf_counter()
        checking = self.scenario.run.check_invariants
        if checking:
            check_invariants(self, between_days=True)
        threads = numba.get_num_threads()
        if self.n <= SERIAL_UP_TO and threads > 1:  # results do not depend on the thread count
            numba.set_num_threads(1)
        try:
            self.tally = defaultdict(int)
            self.upheld_today = NOBODY
            if timings is None:
                for _name, mechanism in steps:
                    mechanism(self)
            else:
                for name, mechanism in steps:
                    t1 = time.perf_counter()
                    mechanism(self)
                    timings[name] = timings.get(name, 0.0) + time.perf_counter() - t1
        finally:
            numba.set_num_threads(threads)
        if checking:
            check_invariants(self)
        self.day += 1
        self.step_s += time.perf_counter() - t0

    def run(self, progress: Callable[[int], None] | None = None) -> RunResult:
        """Run the remaining days and return the result."""
        while self.day < self.scenario.run.days:
            self.step()
            if progress is not None:
                progress(self.day)
        return self.result()

    def result(self) -> RunResult:
        """The run so far as a RunResult, without running a day: the metrics of the days run
        (all of them after `run()`, which returns this) and the ledger kept in memory, so that a
        run stepped by hand can be read between days and stepped on afterwards. Before the first
        day (a warm-up included) its frames have no rows and `final` is None throughout."""
        self.ledger.flush()
        metrics, groups = self.recorder.frames(self.day)
        ledger = ledger_frame(self._memory) if self.keeps_ledger else None
        return RunResult(scenario=self.scenario, seed=self.seed, metrics=metrics,
                         group_metrics=groups, ledger=ledger, elapsed_s=self.step_s,
                         build_s=self.build_s, final=final(metrics),
                         extra={"version": __version__, "ledger_rows": self.ledger.rows})

    @staticmethod
    def plan() -> list[str]:
        """The day's steps in order (printable)."""
        return [name for name, _ in DAY]


def available_memory(meminfo: str = "/proc/meminfo",
                     cgroup: str = "/sys/fs/cgroup") -> int | None:
    """Bytes of memory available to a new run, or None where that cannot be read (another
    system): the memory check is then skipped. On Linux, MemAvailable, and inside a container
    also what its memory limit leaves (cgroup v2 `memory.max` - `memory.current`): a container
    sees the host's MemAvailable but is killed at its own limit."""
    have = None
    try:
        with open(meminfo, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    have = int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path(cgroup, "memory.max").read_text().strip()
        if limit != "max":
            left = max(int(limit) - int(Path(cgroup, "memory.current").read_text()), 0)
            have = left if have is None else min(have, left)
    except (OSError, ValueError):
        pass
    return have


def memory_needed(n: int, mean_degree: float) -> int:
    """Estimated peak bytes of a run of `n` citizens at this mean degree (ties counted both ways)."""
    return int(n * (BYTES_PER_CITIZEN + BYTES_PER_TIE * mean_degree))


def check_memory(n: int, mean_degree: float, *, imported: bool = False) -> None:
    """Refuse, before allocating anything, a run that would not fit in the memory available: it
    would end in a MemoryError or the kernel's OOM killer, after minutes of building."""
    need = memory_needed(n, mean_degree)
    have = available_memory()
    if have is None or need <= have:
        return
    fits = int(have // (BYTES_PER_CITIZEN + BYTES_PER_TIE * mean_degree))
    what = (f"the imported network of {n:,} citizens (mean degree {mean_degree:.3g})" if imported
            else f"a population of {n:,} citizens at a mean degree of {mean_degree:g}")
    fix = (f"a network of at most {fits:,} citizens at this mean degree" if imported
           else f"at most {fits:,} citizens at this mean degree (population.size, -n on the command line)")
    raise ScorestateError(
        f"{what} needs about {_bytes(need)} of memory at its peak ({BYTES_PER_CITIZEN} bytes a citizen "
        f"+ {BYTES_PER_TIE} a tie, docs/performance.md), but {_bytes(have)} is available; expected "
        f"{fix}, or a machine with more memory free")


def _bytes(b: float) -> str:
    """Bytes in binary units: 14.9 GiB, 210.9 KiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{int(b)} bytes"


def given_size(scenario: Scenario) -> int | None:
    """The population size the user set (in a file, an override or `population=`), or None for
    the schema's default: an imported network sets the size, so a given one must agree with it
    and a default is replaced. The one place that decides, for edge lists and graphs alike."""
    population = scenario.population
    return population.size if "size" in population.model_fields_set else None


def check_graph_size(size: int | None, n: int) -> None:
    """Refuse a given population size that is not the graph's: replacing it silently would
    run, and record, a society other than the one asked for."""
    if size is not None and size != n:
        raise ScorestateError(
            f"population.size is {size:,}, but the networkx graph given with graph= sets {n:,} "
            f"citizens; expected a graph of {size:,} citizens, or no population size (leave out "
            "population= and population.size): the graph then sets the population")


def ledger_frame(batches: list[Batch]) -> pl.DataFrame:
    """Ledger batches as one frame with named kinds and sources."""
    from scorestate.ledger import COLUMNS, DTYPES

    if batches:
        data = {k: np.concatenate([b[k] for b in batches]) for k in COLUMNS}
    else:
        data = {k: np.empty(0, dt) for k, dt in zip(COLUMNS, DTYPES, strict=True)}
    frame = pl.DataFrame(data)
    return frame.with_columns(
        pl.col("kind").cast(pl.Int64).map_elements(lambda k: LEDGER_KINDS[k], return_dtype=pl.String)
        .cast(pl.Enum(list(LEDGER_KINDS))),
        pl.when(pl.col("source") >= 0).then(pl.col("source").cast(pl.Int64))
        .otherwise(None).map_elements(lambda s: SOURCES[s], return_dtype=pl.String)
        .cast(pl.Enum(list(SOURCES))),
    ).sort(["day", "citizen"], maintain_order=True)


def check_invariants(sim: Simulation, *, between_days: bool = False) -> None:
    """Rules the state must keep; raised as exceptions (not asserts) so `python -O` keeps them.

    First what a checkpoint must hold (`checkpoint.check_arrays`: indices inside their tables,
    numbers finite and in range), then the arrays that go together. `between_days`: checked
    before a day, so what fails was written since the last one (or by building or resuming);
    a tier is then not held to its score, which a written score moves at the next scoring step.
    """
    where = f"before day {sim.day} (written between days)" if between_days else f"day {sim.day}"

    def bad(why: str) -> InvariantError:
        return InvariantError(f"{where}: {why}")

    checkpoint.check_arrays(sim, bad)
    s, p = sim.state, sim.policy
    if not between_days and p.enabled:
        wrong = s.tier != scoring.initial_tiers(s.score, p.tier_bounds)
        if wrong.any():
            k = int(wrong.argmax())
            raise bad(f"a tier disagrees with its score: citizen {k} has tier {s.tier[k]} at score "
                      f"{s.score[k]}")
    if not np.array_equal(s.blacklisted, s.listed_since != NEVER):
        k = int((s.blacklisted != (s.listed_since != NEVER)).argmax())
        raise bad(f"blacklisted and listed_since disagree: citizen {k} is "
                  f"{'' if s.blacklisted[k] else 'not '}blacklisted, listed since {s.listed_since[k]} "
                  f"(NEVER is {NEVER}); expected both written together")
    fault = sim.graph.tie_fault()
    if fault is not None:
        raise bad(fault)


def simulate(scenario: Scenario, *, graph: object | None = None,
             progress: Callable[[int], None] | None = None) -> RunResult:
    """Run a loaded scenario to its last day, keeping the ledger in memory: a pure function of
    (scenario, its seed). `graph=`: a networkx graph as the citizens' ties (it sets their number);
    `progress(day)` is called after each day (with days up to 0 in a warm-up). To keep the run,
    use `ss.run(..., store=...)`."""
    return Simulation(scenario, graph=graph, progress=progress).run(progress)


__all__ = ["DAY", "RunResult", "Simulation", "simulate"]
