"""The Python API for notebooks and scripts: what each command does, as a function.

    import scorestate as ss
    scenario = ss.load_scenario("essay", {"policy.blacklist.entry.score": "score < 850"},
                                population=20_000)
    result = ss.simulate(scenario)              # metrics as Polars frames, ledger in memory
    result = ss.run(scenario, store="runs.duckdb")   # the same, landed in a store
    ss.list_runs(store="runs.duckdb")           # scorestate runs
    stored = ss.open_run(result.run_id, store="runs.duckdb")
    ss.explain(stored, 17).to_dict()            # scorestate explain RUN 17 --json
    ss.write_report(stored, "report.html")      # scorestate report RUN -o report.html
    ss.run(scenario, store="runs.duckdb", checkpoint_every=30)  # --checkpoint-every 30
    ss.resume_run(run_id, store="runs.duckdb")  # scorestate run --resume RUN

`run` opens a store that exists before building any citizen, so a bad or busy store fails fast
and is left untouched; a new store is made once the citizens are built, so a run refused on the
way (too large for the memory, a bad edge list) leaves nothing behind. A run that fails or is
interrupted leaves no trace in the catalogue. It holds the store's DuckDB lock only to begin the
run and to commit it, not while it simulates, so other processes can list, open and add runs
meanwhile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from scorestate import __version__, checkpoint, interrupts
from scorestate.analysis.explain import CitizenFile, notable, panel_day0
from scorestate.analysis.explain import explain as citizen_file
from scorestate.engine import RunResult, Simulation
from scorestate.errors import ScorestateError, not_a_scenario
from scorestate.scenario import load
from scorestate.scenario.schema import Scenario
from scorestate.store import (
    DEFAULT_STORE,
    READ_WAIT_S,
    LedgerWriter,
    RunRecord,
    Store,
    StoredRun,
    StoreInUseError,
    check_run_id,
    ledger_dir,
    match_ids,
    new_run_id,
    store_flag,
)
from scorestate.vocabulary import LEDGER_KINDS, SOURCES

COMMIT_WAIT_S = 60.0
"""How long a finished run waits to commit while another process holds the store's lock."""


def run(scenario: Scenario, *, store: str | Path | None = DEFAULT_STORE, graph: object | None = None,
        progress: Callable[[int], None] | None = None,
        commit_wait_s: float = COMMIT_WAIT_S, checkpoint_every: int | None = None,
        run_id: str | None = None) -> RunResult:
    """Simulate a loaded scenario; with a store, land the run there and set `run_id`.
    `progress(day)` is called after each day, and after each day of a warm-up (days up to 0).

    The stored run keeps its ledger on disk, so `result.ledger` is then None: read it with
    `open_run(result.run_id, store=...).ledger(...)`. A store in use is waited for at the start
    for up to `store.OPEN_WAIT_S` and then refused (nothing is lost yet); at the end the run
    waits up to `commit_wait_s` for the lock, since another process holds it only briefly
    (listing, opening or committing runs); if it is still held, a `StoreInUseError` says so and
    nothing of the run is kept.

    With `checkpoint_every=D` (days), the run saves a checkpoint in its ledger folder every D
    days; if it then stops before it is stored (killed, interrupted, an error),
    `resume_run(run_id)` goes on from the last checkpoint to the same results, bit for bit.
    `run_id` chooses the id (default: a new one).
    """
    if not isinstance(scenario, Scenario):  # before the store is touched
        raise not_a_scenario(scenario, "ss.run(ss.load_scenario({name!r}), store=...)")
    every = _check_every(checkpoint_every, scenario.run.days)
    if store is None:
        if every is not None:
            raise ScorestateError("checkpoint_every needs a store (the checkpoint is kept with "
                                  "the run's ledger); expected store=PATH, or Simulation.save")
        return Simulation(scenario, graph=graph, progress=progress).run(progress)
    if run_id is None:
        run_id = new_run_id()
    check_run_id(run_id)
    writer = _begin(store, run_id) if _open_first(store) else None
    try:
        # the sink is called from the first day on, once a new store has been made
        sim = Simulation(scenario, graph=graph, ledger_sink=lambda batch: writer.write(**batch),
                         progress=progress)
        if writer is None:
            writer = _begin(store, run_id)
        kept = panel_day0(sim)
        if kept is not None:
            writer.write_panel_day0(kept)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return _land(sim, writer, store, progress, commit_wait_s, every)


def _open_first(store: object) -> bool:
    """Whether `run` opens the store before building the citizens: always, but for a new store
    in a folder it may write (where nothing of a store is yet), which is made only once they are
    built, so that a run refused while building leaves no empty store behind. A path where no
    store can be made (a missing folder, a folder itself) is refused at once by Store, which then
    creates nothing."""
    if not isinstance(store, str | os.PathLike):
        return True
    path = Path(store)
    return (not path.name or os.path.lexists(path) or os.path.lexists(ledger_dir(path))
            or not path.parent.is_dir() or not os.access(path.parent, os.W_OK))


def check_store(store: str | Path) -> None:
    """Fail fast on a bad or busy store, before any citizen is built (as `run` does), without
    making a new one: that is made once the citizens are built."""
    if _open_first(store):
        Store(store).close()


def _begin(store: str | Path, run_id: str) -> LedgerWriter:
    """Open (or make) the store and begin the run's ledger folder."""
    with Store(store) as catalogue:
        try:
            return catalogue.begin_run(run_id, kinds=LEDGER_KINDS, sources=SOURCES)
        except ValueError as e:  # an id with characters a folder name should not have
            raise ScorestateError(str(e)) from None


def load_scenario(source: str | Path | Mapping[str, Any] = "essay",
                  overrides: Mapping[str, Any] | Iterable[str] = (), *, population: int | None = None,
                  days: int | None = None, seed: int | None = None) -> Scenario:
    scenario = load.load_scenario(source, overrides, population=population, days=days, seed=seed)
    load.warn_not_reached(scenario)  # the command line, which loads through `load`, notes it itself
    return scenario


load_scenario.__doc__ = load.load_scenario.__doc__


def resume_run(run_id: str, *, store: str | Path = DEFAULT_STORE,
           progress: Callable[[int], None] | None = None,
           commit_wait_s: float = COMMIT_WAIT_S) -> RunResult:
    """Go on with a stored-to-be run that stopped after a checkpoint (`run(...,
    checkpoint_every=D)`), from its last checkpoint, checkpointing as before, and land it in
    the store: its metrics and ledger are those of the run had it never stopped."""
    check_run_id(run_id)
    with Store(store) as catalogue:
        run_id = stopped_run_id(catalogue, run_id)
        writer = catalogue.reopen_run(run_id, kinds=LEDGER_KINDS, sources=SOURCES)
    try:
        try:
            note = _resume_note(writer)
            # read and checked whole before any part is removed: a refused checkpoint changes nothing
            sim = Simulation.resume(writer.checkpoint, ledger_sink=lambda batch: writer.write(**batch))
        except ScorestateError as e:
            raise ScorestateError(f"{e}; run '{run_id}' cannot go on from it: start the run again "
                                  "(it was not stored, so nothing of it is in the store)") from None
        writer.truncate(note["parts"], note["rows"])
    except BaseException:
        writer.close()  # the checkpoint stays, to try again
        raise
    if progress is not None:
        progress(sim.day)
    return _land(sim, writer, store, progress, commit_wait_s, note["every"])


def stopped_run_id(catalogue: Store, given: str) -> str:
    """The stopped run that `given` names: its id, a unique prefix of it, or its last six
    characters (as `scorestate runs` names runs); `given` itself if none, for `reopen_run` to
    say why."""
    found = match_ids(catalogue.resumable(), given)
    if len(found) > 1:
        raise ScorestateError(f"run '{given}' could be any of {len(found)} stopped runs ("
                              f"{', '.join(found[:5])}{', ...' if len(found) > 5 else ''}); "
                              "expected more of its id")
    return found[0] if found else given


def _resume_note(writer: LedgerWriter) -> dict[str, int]:
    """What the checkpoint says of the run's ledger folder, checked before anything is removed."""
    note = checkpoint.note(writer.checkpoint)
    wants = {"parts": 0, "rows": 0, "every": 1}
    if note.get("run_id") != writer.run_id or not all(
            isinstance(note.get(k), int) and not isinstance(note.get(k), bool) and note[k] >= lo
            for k, lo in wants.items()):
        raise ScorestateError(f"'{writer.checkpoint}' is not the checkpoint of run "
                              f"'{writer.run_id}' (it says run {note.get('run_id')!r}, parts "
                              f"{note.get('parts')!r}, rows {note.get('rows')!r}, every "
                              f"{note.get('every')!r}); expected one written by that run")
    return {k: int(note[k]) for k in wants}


def resumable_runs(store: str | Path = DEFAULT_STORE) -> list[str]:
    """The ids of runs that stopped after a checkpoint and can be resumed."""
    with Store(store, create=False, read_only=True) as catalogue:
        return catalogue.resumable()


def _check_every(every: object, days: int) -> int | None:
    if every is None:
        return None
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ScorestateError(f"checkpoint_every is {every!r}; expected a whole number of days, "
                              "1 or more")
    return every


def _land(sim: Simulation, writer: LedgerWriter, store: str | Path,
          progress: Callable[[int], None] | None, commit_wait_s: float,
          every: int | None) -> RunResult:
    """Run the remaining days (checkpointing every `every`), then commit the run. A run that
    stops on the way leaves nothing in the catalogue; its folder is kept only if it holds a
    checkpoint to resume from."""
    scenario, run_id = sim.scenario, writer.run_id
    days = scenario.run.days

    def keep() -> None:
        checkpoint.save(sim, writer.checkpoint, note={
            "run_id": run_id, "parts": writer.parts, "rows": writer.rows, "every": every,
            "days": days})

    def after(day: int) -> None:  # each day's end: the caller's progress, then a checkpoint
        if progress is not None:
            progress(day)
        if every is not None and day % every == 0 and day < days:
            keep()

    try:
        if every is not None and sim.day == 0 and scenario.run.warm_up_days:
            keep()  # the warm-up, lived once: a run stopped from here on does not live it again
        result = sim.run(after)
        record = RunRecord(
            run_id=run_id, scenario_name=scenario.name,
            scenario=sim.scenario.model_dump(mode="json"), seed=scenario.run.seed,
            population=sim.n, days=result.days, package_version=__version__,
            created_at=datetime.now(UTC), elapsed_s=result.elapsed_s, build_s=result.build_s,
            citizen_days_per_s=result.citizen_days_per_s,
            final=dict(result.final),  # undefined metrics kept as None, as in result.final
            ledger_retention=scenario.ledger.retention,
        )
        try:
            catalogue = Store(store, wait_s=commit_wait_s)
        except StoreInUseError as e:
            kept = (f"; it can be resumed from its last checkpoint: scorestate run --resume "
                    f"{run_id}{store_flag(Path(store))}" if writer.checkpoint.is_file()
                    else ", and nothing of it was kept")
            raise StoreInUseError(f"run '{run_id}' finished but was not stored{kept}: {e}; close "
                                  "that connection (an open Store in a notebook, say) and run it "
                                  "again") from None
        with interrupts.storing() as held, catalogue:  # Ctrl-C waits until the run is stored
            if interrupts.requested():  # Ctrl-C that a compiled kernel swallowed: not committed
                raise KeyboardInterrupt
            # the checkpoint goes with the folder and is removed once the run is stored: a run
            # killed while committing stays resumable (Store.reopen_run takes up its folder)
            catalogue.commit_run(record, result.metrics, result.group_metrics, writer)
    except BaseException:
        if writer.checkpoint.is_file():
            writer.close()  # kept for `resume_run`; cleaned after a week
        else:
            writer.abort()
        raise
    with contextlib.suppress(OSError):  # stored: the run is whole without it (else the cleaner's)
        writer.checkpoint.unlink(missing_ok=True)
    result.run_id = run_id
    held.raise_if_came()
    return result


def open_run(run_id: str, store: str | Path = DEFAULT_STORE) -> StoredRun:
    """A stored run by its id, a unique prefix of it or its last six characters: its record,
    metrics, group metrics and ledger. A run that another process is beginning or committing
    holds the store's lock briefly, so this waits up to READ_WAIT_S (10 s) for it."""
    check_run_id(run_id)  # before the store is opened: an int id is the caller's slip
    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        return catalogue.load_run(run_id)


def list_runs(store: str | Path = DEFAULT_STORE) -> pl.DataFrame:
    """The complete runs in a store, oldest first, as `scorestate runs` lists them: one row per
    run (`run_id`, `created_at`, `scenario_name`, `seed`, `population`, `days`, timings, ledger
    retention and rows, and `changes`, the overrides each was loaded with). Waits up to
    READ_WAIT_S (10 s) for a store that another process holds."""
    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        return catalogue.list_runs()


def explain(run: str | StoredRun, citizen: int, *, store: str | Path = DEFAULT_STORE,
            graph: object | None = None) -> CitizenFile:
    """One citizen's file: who they are, what moved their score, what the system did to them.

    `run` is a run id (as `open_run` takes it, read from `store`) or a StoredRun (`store` is then
    not read). `to_dict()` of the result is what `scorestate explain RUN CITIZEN --json` prints.
    `graph`: the networkx graph a run was given, to rebuild its citizens' neighbours.
    """
    return citizen_file(_stored(run, store, "run"), citizen, graph=graph)


def notable_citizens(run: str | StoredRun, *, store: str | Path = DEFAULT_STORE,
                     each: int = 2) -> list[tuple[int, str]]:
    """A few citizens whose files are worth opening with `explain`, as (id, why): the first
    listed, the most often penalised for acts they did not do, the ones who lost most points
    (`each` of each kind), from what the run's ledger kept; what `scorestate explain RUN` lists."""
    return notable(_stored(run, store, "run"), each)


def write_report(run: str | StoredRun, path: str | Path | None = None,
                 compare: str | StoredRun | None = None, *, store: str | Path = DEFAULT_STORE) -> Path:
    """Write the self-contained HTML report of a run, as `scorestate report` does, and return its
    path (default `report-<run_id>.html`). `run` and `compare` (a second run overlaid on every
    figure) are run ids read from `store`, or StoredRuns."""
    from scorestate.report import page  # matplotlib: only when a report is drawn

    _check_run(run, "run")
    if compare is not None:
        _check_run(compare, "compare")
    other = None if compare is None else _stored(compare, store, "compare")
    return page.write_report(_stored(run, store, "run"), path, compare=other)


def _stored(run: object, store: str | Path, what: str) -> StoredRun:
    """A StoredRun as given, or opened from its id."""
    _check_run(run, what)
    return run if isinstance(run, StoredRun) else open_run(str(run), store=store)


def _check_run(run: object, what: str) -> None:
    """Refuse, by name, what is neither a run id nor a StoredRun."""
    if not isinstance(run, str | StoredRun):
        raise ScorestateError(f"{what} must be a run id (a string, as ss.list_runs() shows) or a "
                              f"StoredRun from ss.open_run(...); got {type(run).__name__} {repr(run)[:60]}")
