"""The embedded store of simulation runs: a DuckDB catalogue with each run's ledger as Parquet.

The catalogue (``runs``, ``metrics``, ``group_metrics``) lives in one DuckDB file; the ledger of
run ``R`` lives in ``<dbfile>.ledger/R/part-*.parquet``. A run is written to ``R.partial/`` and
becomes visible only when ``commit_run`` renames the folder and inserts its row, in that order, so
a crash at any point leaves no half-run that ``list_runs`` or ``load_run`` would show.

DuckDB locks the catalogue file for as long as a connection is open, so a ``Store`` is meant to be
held briefly: to begin a run, to commit it, to read. A run simulates with no connection open, and
holds an advisory lock (``flock``) on its ``.partial`` folder instead, so that ``clean_partials``
in another process never removes the folder of a run that is still going; the kernel drops that
lock when the process dies, so a killed run's folder is removed once it is old.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import secrets
import shlex
import shutil
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from scorestate.errors import ScorestateError, StoreError

try:
    import fcntl
except ImportError:  # not POSIX: partial folders are then told apart by age alone
    fcntl = None  # type: ignore[assignment]

DEFAULT_STORE = Path("scorestate.duckdb")
SUFFIX = 6  # a run id's random end, by which a run can also be named
READ_WAIT_S = 10.0  # a reader waits this long for a run that is beginning or committing
OPEN_WAIT_S = 30.0  # any other open waits this long: runs started together each hold it briefly
SCHEMA_VERSION = 1
_MARKER = "scorestate"
_EXPECTED = "expected a DuckDB file written by scorestate"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_RETENTIONS = ("full", "sanctions", "panel")
_METRIC_IDS = ("day",)
_GROUP_IDS = ("day", "grouping", "group")
_DDL = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO meta VALUES ('format', '{_MARKER}'), ('schema_version', '{SCHEMA_VERSION}');
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, scenario_name VARCHAR NOT NULL,
    scenario VARCHAR NOT NULL, seed UBIGINT, population BIGINT, days INTEGER,
    package_version VARCHAR, elapsed_s DOUBLE, build_s DOUBLE, citizen_days_per_s DOUBLE,
    final VARCHAR, ledger_retention VARCHAR, ledger_rows BIGINT, kinds VARCHAR, sources VARCHAR,
    metrics_template BLOB, group_template BLOB);
CREATE TABLE metrics (run_id VARCHAR, seq BIGINT, day BIGINT, metric VARCHAR, value DOUBLE);
CREATE TABLE group_metrics (run_id VARCHAR, seq BIGINT, day BIGINT, grouping VARCHAR,
    grp VARCHAR, metric VARCHAR, value DOUBLE);
"""
_UNALIAS = {"__day": "day", "__grouping": "grouping", "__grp": "group"}


class StoreInUseError(StoreError):
    """The catalogue file is locked by another connection or process (DuckDB allows one writer)."""

    def __init__(self, message: str, *, here: bool = False) -> None:
        super().__init__(message)
        self.here = here  # held by a connection of this process: waiting would not free it


class NotRecordedWarning(UserWarning):
    """A citizen the run's ledger did not follow: their rows are missing, not absent."""


@dataclass(frozen=True)
class RunRecord:
    """What one complete run was: its inputs, its cost and its headline outcome."""

    run_id: str
    scenario_name: str
    scenario: dict  # the fully resolved scenario, JSON-able, so a run can be repeated exactly
    seed: int
    population: int
    days: int
    package_version: str
    created_at: datetime  # returned by the store as timezone-aware UTC
    elapsed_s: float
    build_s: float
    citizen_days_per_s: float
    final: dict[str, float | None]  # None where undefined, as in RunResult.final
    ledger_retention: str  # "full" | "sanctions" | "panel"
    ledger_rows: int = 0  # filled in by commit_run from the writer

    @property
    def warm_up_days(self) -> int:
        """The days the run lived before day 0, unrecorded (0 for runs stored before warm-ups)."""
        return int(self.scenario.get("run", {}).get("warm_up_days", 0))


_ISSUED: set[str] = set()  # this process's ids: 24 random bits collide within a second (~1 in
# 1,000 among 200 ids), so a process never hands out one twice


def new_run_id() -> str:
    """A short id that sorts by creation time (to the second) and is unique in practice: never
    repeated by this process, and 1 in 16 million between two processes in the same second."""
    while True:
        run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        if run_id not in _ISSUED:
            _ISSUED.add(run_id)
            return run_id


def _lock(folder: Path) -> int:
    """Take an exclusive ``flock`` on ``folder`` through a new descriptor and return it.

    Raises ``BlockingIOError`` while another descriptor (a live run's writer) holds it. Off POSIX
    there is no ``flock``: -1 is returned and age alone tells a live run's folder from a dead one's.
    """
    if fcntl is None:
        return -1
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


CHECKPOINT = "checkpoint.npz"  # a checkpointed run's last checkpoint, in its ledger folder
PANEL_DAY0 = "panel-day0.parquet"  # the day-0 part of each panel citizen's file, in the same folder
RESUMABLE_FOR_S = 7 * 24 * 3600.0  # how long a stopped run with a checkpoint is kept to resume


def ledger_dir(store: Path) -> Path:
    """The folder of a store's ledgers, ``<dbfile>.ledger`` beside it."""
    return store.with_name(store.name + ".ledger")


def unstored_checkpoint(store: Path, run_id: str) -> Path:
    """Where a run not yet stored keeps its last checkpoint (read without opening the store)."""
    return ledger_dir(store) / f"{run_id}.partial" / CHECKPOINT


def store_flag(store: Path) -> str:
    """` --store PATH` for a command a message suggests, quoted for the shell; nothing for the
    default store."""
    return "" if Path(store) == DEFAULT_STORE else f" --store {shlex.quote(str(store))}"


def _store_of(folder: Path) -> Path:
    """The store a run's ledger folder belongs to (``<dbfile>.ledger/<run>``)."""
    return folder.parent.with_name(folder.parent.name.removesuffix(".ledger"))


_PART = re.compile(r"part-(\d+)\.parquet")


def _numbered_parts(folder: Path) -> list[tuple[int, Path]]:
    """A ledger folder's parts with their numbers, in the order they were written."""
    found = ((_PART.fullmatch(p.name), p) for p in folder.glob("part-*.parquet"))
    return sorted((int(m.group(1)), p) for m, p in found if m)


def _check_parts(folder: Path, run_id: str, *, count: int | None, rows: int | None,
                 restore: str) -> list[Path]:
    """Parts 0 to ``count - 1`` of a run's ledger (``count`` None: up to the highest one there),
    refused where one is missing, unreadable, or (``rows`` known) they hold another number of
    rows than were written: a ledger read in part would pass for the whole run."""
    numbered = _numbered_parts(folder)
    total = (numbered[-1][0] + 1 if numbered else 0) if count is None else count
    have = {n: part for n, part in numbered if n < total}
    missing = [n for n in range(total) if n not in have]
    damaged = f"the ledger of run '{run_id}' is damaged"
    if missing:
        which = (f"part {missing[0]} of {total} is" if len(missing) == 1 else
                 f"parts {', '.join(map(str, missing[:5]))}{', ...' * (len(missing) > 5)} of "
                 f"{total} are")
        raise StoreError(f"{damaged}: {which} missing from '{folder}'; {restore}")
    parts = [have[n] for n in range(total)]
    if rows is None:
        return parts
    held = 0
    for part in parts:
        try:
            held += pq.read_metadata(part).num_rows
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"the ledger part '{part}' of run '{run_id}' is damaged "
                             f"({_first_line(e)}); expected Parquet files written by scorestate "
                             f"({restore})") from None
    if held != rows:
        raise StoreError(f"{damaged}: its {total} part{'s' * (total != 1)} in '{folder}' hold "
                         f"{held:,} rows where the run wrote {rows:,} (a part is missing or was "
                         f"replaced); {restore}")
    return parts


def check_stopped_ledger(folder: Path, run_id: str, parts: int, rows: int) -> None:
    """Refuse to go on with a stopped run unless the ledger parts its checkpoint was saved with
    are all there and whole: a resumed run would land with fewer rows than it says it holds."""
    _check_parts(folder, run_id, count=parts, rows=rows, restore=(
        "it cannot go on from its checkpoint: restore the folder from a copy, or drop the run "
        f"with `scorestate runs --discard {run_id}{store_flag(_store_of(folder))}` and start it "
        "again"))


class LedgerWriter:
    """Appends a run's ledger, one Parquet part per batch, into the run's ``.partial`` folder.

    While open it holds the folder's lock, which tells ``clean_partials`` (in any process) that
    the run is still going however old the folder looks; a writer dropped unclosed releases it.
    """

    def __init__(self, run_id: str, folder: Path, kinds: Sequence[str], sources: Sequence[str]):
        self.run_id, self.folder, self.rows = run_id, folder, 0
        self.kinds, self.sources = tuple(kinds), tuple(sources)
        self._kind_dict = pa.array(self.kinds, pa.string())
        self._source_dict = pa.array(self.sources, pa.string())
        self._parts, self.closed = 0, False
        self._release = weakref.finalize(self, _unlock, _lock(folder))

    def write(self, day: np.ndarray, citizen: np.ndarray, kind: np.ndarray, source: np.ndarray,
              points: np.ndarray, false_attribution: np.ndarray, actor: np.ndarray,
              value: np.ndarray) -> None:
        """Write one batch as one part; kind/source codes become dictionary columns, no strings."""
        if self.closed:
            raise StoreError(f"the ledger writer of run '{self.run_id}' is already closed")
        cols = [np.asarray(a, dtype=t) for a, t in zip(
            (day, citizen, kind, source, points, false_attribution, actor, value),
            (np.int32, np.int32, np.int16, np.int8, np.float32, np.bool_, np.int32, np.int32),
            strict=True)]
        n = len(cols[0])
        if any(c.ndim != 1 or len(c) != n for c in cols):
            raise ValueError("ledger columns must be 1-D arrays of one length")
        if n == 0:
            return
        k, s = cols[2], cols[3]
        if k.min() < 0 or k.max() >= len(self.kinds):
            raise ValueError(f"kind codes must lie in [0, {len(self.kinds)})")
        if s.min() < -1 or s.max() >= len(self.sources):
            raise ValueError(f"source codes must lie in [-1, {len(self.sources)}); -1 = none")
        no_source = s < 0
        source_idx = pa.array(np.where(no_source, 0, s).astype(np.int8), mask=no_source)
        table = pa.table({
            "day": cols[0], "citizen": cols[1],
            "kind": pa.DictionaryArray.from_arrays(pa.array(k), self._kind_dict),
            "source": pa.DictionaryArray.from_arrays(source_idx, self._source_dict),
            "points": cols[4], "false_attribution": cols[5], "actor": cols[6], "value": cols[7],
        })
        pq.write_table(table, self.folder / f"part-{self._parts:05d}.parquet", compression="zstd")
        self._parts += 1
        self.rows += n

    def write_panel_day0(self, table: pl.DataFrame) -> None:
        """Keep the day-0 part of the panel citizens' files (`explain.panel_day0`) with the run;
        written as the run starts, so a resumed run keeps the one its day 0 made."""
        if self.closed:
            raise StoreError(f"the ledger writer of run '{self.run_id}' is already closed")
        table.write_parquet(self.folder / PANEL_DAY0, compression="zstd")

    @property
    def parts(self) -> int:
        """Parts written so far (the next one is part-{parts:05d})."""
        return self._parts

    @property
    def checkpoint(self) -> Path:
        """Where a checkpointed run keeps its last checkpoint, beside the parts it goes with."""
        return self.folder / CHECKPOINT

    def truncate(self, parts: int, rows: int) -> None:
        """Go back to `parts` parts and `rows` rows (a checkpoint's): parts written after it are
        removed, since the resumed run writes them again, and so is a checkpoint left half
        written by a run killed while saving it. The parts the checkpoint goes with are checked
        first, so that a resumed run never lands with a ledger short of what it says it holds."""
        check_stopped_ledger(self.folder, self.run_id, parts, rows)
        for number, part in _numbered_parts(self.folder):
            if number >= parts:
                part.unlink()
        for unfinished in self.folder.glob(f".{CHECKPOINT}.*.tmp"):  # a save that was killed
            unfinished.unlink()
        self._parts, self.rows = parts, rows

    def close(self) -> None:
        """Stop writing and release the folder's lock; safe to call twice."""
        self.closed = True
        self._release()

    def abort(self) -> None:
        """Drop everything written so far; the run never appears in the store."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_UNREAD = object()  # StoredRun's panel record before it is first asked for


class PanelDay0:
    """Panel citizens' day-0 records by id, each read from its JSON when asked for."""

    def __init__(self, kept: dict[int, str]) -> None:
        self._kept = kept

    def __contains__(self, citizen: object) -> bool:
        return citizen in self._kept

    def __getitem__(self, citizen: int) -> dict[str, Any]:
        return json.loads(self._kept[citizen])

    @property
    def ids(self) -> np.ndarray:
        return np.array(sorted(self._kept), np.int64)


@dataclass
class StoredRun:
    """A complete run read back: its record, its metric frames and a lazy handle on its ledger."""

    record: RunRecord
    metrics: pl.DataFrame
    group_metrics: pl.DataFrame
    ledger_path: Path
    kinds: tuple[str, ...] = field(default=())
    sources: tuple[str, ...] = field(default=())
    _day0: Any = field(default=_UNREAD, init=False, repr=False, compare=False)
    _parts: list[Path] | None = field(default=None, init=False, repr=False, compare=False)

    def panel_day0(self) -> PanelDay0 | None:
        """The day-0 part of each panel citizen's file, as the run kept it (None for a run
        without a panel, or stored before scorestate kept it); read once, as a stored run does
        not change."""
        if self._day0 is _UNREAD:
            self._day0 = self._read_panel_day0()
        return self._day0

    def _read_panel_day0(self) -> PanelDay0 | None:
        path = self.ledger_path / PANEL_DAY0
        if not path.is_file():
            return None
        try:
            table = pl.read_parquet(path)
            return PanelDay0(dict(zip(table["citizen"].to_list(), table["day0"].to_list(), strict=True)))
        except Exception as e:  # whatever the damage: one message naming the file
            why = str(e).splitlines()[0] if str(e) else e.__class__.__name__
            raise StoreError(f"'{path}' of run '{self.record.run_id}' is damaged ({why}); expected "
                             "the Parquet file scorestate writes as a run starts (remove it to "
                             "rebuild the citizens' files from the scenario instead)") from None

    @property
    def run_id(self) -> str:
        """The run's id in its store (`record.run_id`), as `RunResult.run_id` names it."""
        return self.record.run_id

    @property
    def store_path(self) -> Path | None:
        """The store's DuckDB file the run was read from (its ledger lies in ``<file>.ledger/``),
        or None for a run whose ledger path is not laid out so."""
        folder = self.ledger_path.parent
        name = folder.name.removesuffix(".ledger")
        return folder.with_name(name) if name and name != folder.name else None

    def ledger(self, citizen: int | None = None, *, citizens: Sequence[int] | None = None,
               kinds: str | Sequence[str] | None = None) -> pl.DataFrame:
        """Ledger rows by day then citizen: those where ``citizen`` is subject or actor, or whose
        subject is one of ``citizens``, and of the given ``kinds`` (one kind may be given as a
        string; ``self.kinds`` lists them); one scan of the parts.

        An id outside the population is an error (-1 would match every row without an actor), and
        so is an unknown kind (a typo would return an empty table); a citizen outside a panel
        ledger gets a ``NotRecordedWarning``, as ``explain`` notes it.
        """
        asked = [*([] if citizen is None else [citizen]), *(() if citizens is None else citizens)]
        self._check_citizens(asked)
        kinds = None if kinds is None else self._check_kinds(kinds)
        enums = {"kind": pl.Enum(self.kinds), "source": pl.Enum(self.sources)}
        schema = {"day": pl.Int32, "citizen": pl.Int32, **enums, "points": pl.Float32,
                  "false_attribution": pl.Boolean, "actor": pl.Int32, "value": pl.Int32}
        parts = self._ledger_parts()
        if not parts:
            return pl.DataFrame(schema=schema)
        lf = pl.scan_parquet(parts)
        if citizen is not None:
            lf = lf.filter((pl.col("citizen") == citizen) | (pl.col("actor") == citizen))
        if citizens is not None:
            lf = lf.filter(pl.col("citizen").is_in(list(citizens)))
        lf = lf.with_columns(pl.col(c).cast(t) for c, t in enums.items())
        if kinds is not None:
            lf = lf.filter(pl.col("kind").cast(pl.String).is_in(list(kinds)))
        try:
            return lf.select(list(schema)).sort("day", "citizen", maintain_order=True).collect()
        except (pl.exceptions.PolarsError, OSError) as e:
            raise self._damaged(parts, e) from None

    def _ledger_parts(self) -> list[Path]:
        """The ledger's parts, checked once to be all there and to hold the rows the run wrote."""
        if self._parts is None:
            rid, rows = self.record.run_id, self.record.ledger_rows  # None: not recorded
            if rows and not any(self.ledger_path.glob("part-*.parquet")):
                raise StoreError(f"the ledger of run '{rid}' is missing from '{self.ledger_path}'; "
                                 "expected its Parquet parts there (restore the store's ledger "
                                 "folder from a copy)")
            self._parts = _check_parts(self.ledger_path, rid, count=None, rows=rows, restore=(
                "restore the store's ledger folder from a copy, or run the run again"))
        return self._parts

    def _check_kinds(self, kinds: object) -> list[str]:
        """The kinds asked for as a list: a lone string is one kind, not its letters."""
        if not isinstance(kinds, Iterable):
            raise ScorestateError(f"kinds must be a ledger kind or a list of them; got "
                                  f"{type(kinds).__name__} {kinds!r}; expected some of: "
                                  f"{', '.join(self.kinds)}")
        asked = [kinds] if isinstance(kinds, str) else list(kinds)
        unknown = [k for k in asked if k not in self.kinds]
        if unknown:
            raise ScorestateError(f"unknown ledger kind{'s' * (len(unknown) > 1)} "
                                  f"{', '.join(map(repr, unknown))} for run '{self.record.run_id}'; "
                                  f"expected some of: {', '.join(self.kinds)}")
        return asked

    def _check_citizens(self, ids: Sequence[Any]) -> None:
        """Refuse ids that are not citizens of the run; warn of those a panel did not follow."""
        rec, n = self.record, int(self.record.population)
        for c in ids:
            if isinstance(c, bool) or not isinstance(c, int | np.integer):
                raise ScorestateError(f"citizen must be an integer id; got {c!r}")
            if not 0 <= c < n:
                raise ScorestateError(f"citizen {c} is out of range for run '{rec.run_id}'; expected "
                                      f"an id from 0 to {n - 1} (the run has {n:,} citizens)")
        if rec.ledger_retention != "panel" or not ids:
            return
        panel = self.panel_ids()
        followed = set(panel.tolist())
        missing = [int(c) for c in ids if int(c) not in followed]
        if missing:
            some = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
            one = len(missing) == 1
            warnings.warn(
                f"citizen{'' if one else 's'} {some} {'is' if one else 'are'} not in the ledger of "
                f"run '{rec.run_id}': the run kept a panel (ledger retention 'panel') of "
                f"{panel.size:,} of {n:,} citizens, so their own events and decisions were "
                "not kept (only acts of theirs pinned on a panel citizen were); to keep every "
                "citizen's file, rerun with `--set ledger.retention=full` (in Python, "
                "`ss.load_scenario(..., {\"ledger.retention\": \"full\"})`)",
                NotRecordedWarning, stacklevel=3)

    def panel_ids(self) -> np.ndarray:
        """The ids a panel ledger followed, in id order: as the run kept them, or drawn again as it
        drew them (for a run stored before they were kept; at 50 million citizens, a second and
        400 MB). Only for a run with ledger retention 'panel'."""
        kept = self.panel_day0()
        if kept is not None:
            return kept.ids
        from scorestate.ledger import Ledger

        spec = self.record.scenario
        return Ledger(int(self.record.population), "panel", spec["ledger"]["panel_size"],
                      spec["run"]["seed"], sink=lambda batch: None, flush_rows=1).index

    def _damaged(self, parts: list[Path], e: Exception) -> StoreError:
        """Name the ledger part that cannot be read, or the folder if every footer is sound."""
        why = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        bad = next((p for p in parts if _unreadable(p)), None)
        where = f"the ledger part '{bad}'" if bad else f"the ledger in '{self.ledger_path}'"
        return StoreError(f"{where} of run '{self.record.run_id}' is damaged ({why}); expected "
                          "Parquet files written by scorestate (the run cannot be read; rerun it)")


def _live(folder: Path) -> bool:
    """Whether a live writer holds the folder's lock (never, off POSIX)."""
    try:
        fd = _lock(folder)
    except BlockingIOError:
        return True
    except OSError:  # removed meanwhile
        return False
    _unlock(fd)
    return False


def match_ids(ids: Sequence[str], given: str) -> list[str]:
    """The ids ``given`` names, as runs are named: in full, by a unique prefix, or by the last
    SUFFIX or more characters."""
    if given in ids or not given:
        return [given] if given else []
    return [i for i in ids if i.startswith(given) or (len(given) >= SUFFIX and i.endswith(given))]


def check_run_id(run_id: object) -> None:
    """Refuse a run id that is not a string (an int, a StoredRun) before it reaches SQL."""
    if isinstance(run_id, str):
        return
    got = ("a StoredRun, which is open already: use it as it is" if isinstance(run_id, StoredRun)
           else f"{type(run_id).__name__} {repr(run_id)[:60]}")
    raise ScorestateError(f"a run id must be a string, such as '20260101-120000-a1b2c3' or its last "
                          f"six characters, as `scorestate runs` lists them; got {got}")


def _final(stored: dict[str, float | None], metrics: pl.DataFrame) -> dict[str, float | None]:
    """A record's headline metrics, with the undefined ones as None: stores written before they
    were kept had dropped them, so each headline metric the run measured gets its key back."""
    from scorestate.metrics import HEADLINE  # the engine's module: not needed to open a store

    missing = {k: None for k in HEADLINE if k not in stored and k in metrics.columns}
    if not missing:
        return stored
    return {k: stored.get(k) for k in HEADLINE if k in stored or k in missing} | stored


def _in_use(e: duckdb.Error) -> bool:
    """DuckDB's lock is taken (another process), or this process has the file open otherwise.

    "lock" is matched as a word: DuckDB's message for a damaged file names the "block" whose
    checksum failed, and that is no reason to wait.
    """
    if _corrupt(e):
        return False
    return (isinstance(e, duckdb.ConnectionException)
            or re.search(r"\block", _first_line(e), re.IGNORECASE) is not None)


_CORRUPT = re.compile(r"(?:[A-Za-z ]*Error: )?(?:Corrupt database file|Could not read enough bytes)\b")


def _corrupt(e: duckdb.Error) -> bool:
    """DuckDB found the file damaged ("Corrupt database file: computed checksum ... does not
    match ...") or cut short ("Could not read enough bytes", a truncated copy): waiting will not
    help, and the file is no one else's lock. Matched at the start of the message, so that a
    path that happens to say "corrupt" in a lock's message does not."""
    return _CORRUPT.match(_first_line(e)) is not None


def _first_line(e: BaseException) -> str:
    text = str(e)
    return text.splitlines()[0] if text else e.__class__.__name__


def _damaged_error(path: Path, e: duckdb.Error) -> StoreError:
    return StoreError(f"the store file '{path}' is damaged ({_first_line(e)}), so its runs cannot "
                      f"be read; expected a sound DuckDB file written by scorestate (restore it from "
                      f"a copy, or use a new store and run the runs again)")


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn DuckDB's word that the file is damaged, met while reading, into a StoreError."""
    try:
        yield
    except duckdb.Error as e:
        if _corrupt(e):
            raise _damaged_error(path, e) from None
        raise


_F = TypeVar("_F", bound=Callable[..., Any])


def _reads(method: _F) -> _F:
    """A Store method that reads the catalogue: a damaged file is a StoreError naming it."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with _reading(self.path):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _in_use_error(path: Path, e: duckdb.Error) -> StoreInUseError:
    """DuckDB's ConnectionException is this process's own connection with another mode (the
    instance cache refuses it); a lock held by another process is an IO error."""
    if isinstance(e, duckdb.ConnectionException):
        return StoreInUseError(f"cannot open the store '{path}': it is in use by another connection "
                               f"in this process ({_first_line(e)}); expected it closed first (close "
                               "the open Store, or leave its `with` block)", here=True)
    return StoreInUseError(f"cannot open the store '{path}': it is in use by another connection "
                           f"or process ({_first_line(e)})")


def _unreadable(path: Path) -> bool:
    try:
        pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return True
    return False


def _long(frame: pl.DataFrame, ids: tuple[str, ...], what: str) -> tuple[pl.DataFrame, bytes]:
    """A wide metric frame as long rows (seq keeps row order) plus its empty frame as a template."""
    missing = [c for c in ids if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing}; expected {list(ids)} first")
    values = [c for c in frame.columns if c not in ids]
    bad = [c for c in values if not (frame.schema[c].is_numeric() or frame.schema[c] == pl.Boolean)]
    if bad:
        raise ValueError(f"{what} has non-numeric metric column(s) {bad}")
    buf = io.BytesIO()
    frame.clear().write_ipc(buf)
    keys = ["seq", "day", *(["grouping", "grp"] if "group" in ids else [])]
    cast = [pl.int_range(pl.len(), dtype=pl.Int64).alias("seq"), pl.col("day").cast(pl.Int64),
            *(pl.col(c).cast(pl.String).alias("grp" if c == "group" else c) for c in ids[1:]),
            *(pl.col(c).cast(pl.Float64) for c in values)]
    long = frame.select(cast).unpivot(values, index=keys, variable_name="metric",
                                      value_name="value")
    return long, buf.getvalue()


def _wide(long: pl.DataFrame, template: bytes) -> pl.DataFrame:
    """The inverse of ``_long``: pivot back and restore the original column order and dtypes."""
    empty = pl.read_ipc(io.BytesIO(template))
    if long.is_empty():
        return empty
    keys = [c for c in long.columns if c not in ("metric", "value")]
    ids = long.select(keys).unique("__seq", keep="first", maintain_order=True)
    wide = ids.join(long.pivot(on="metric", index="__seq", values="value"), on="__seq")
    wide = wide.rename({k: _UNALIAS[k] for k in keys if k in _UNALIAS})
    return wide.select(pl.col(c).cast(t) for c, t in empty.schema.items())


class Store:
    """One DuckDB catalogue file and its ledger folder; one connection per Store object.

    The connection holds DuckDB's lock on the file until ``close``, shutting every other process
    out (readers included), so open a Store for one task and close it. If another process holds
    the file, opening waits up to ``wait_s`` seconds for it (default OPEN_WAIT_S, since others
    hold it only to begin, commit or read a run; retrying with growing pauses of at most about
    1 s) before it raises ``StoreInUseError``; a connection of this process, or any other fault,
    is raised at once, as waiting would not end it.

    ``read_only`` (by default ``not create``: a store that must exist is opened to be read) opens
    the file with DuckDB's ``read_only=True``, so a store on a read-only file system or without
    write permission can still be listed and its runs read; such a Store changes nothing, and
    cannot begin or commit a run. A Store opened for writing first removes stale ``.partial``
    folders (``clean_partials``), before it takes the lock, so as not to hold it meanwhile.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, *, create: bool = True,
                 wait_s: float | None = None, read_only: bool | None = None) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self.read_only = (not create) if read_only is None else bool(read_only)
        if self.read_only and create:
            raise StoreError("a read-only Store cannot create a store; expected create=False "
                             "with read_only=True")
        if not isinstance(path, str | os.PathLike):
            raise StoreError(f"a store must be a path, such as 'runs.duckdb'; got "
                             f"{type(path).__name__} {repr(path)[:60]}")
        self.path = Path(path)
        if not self.path.name:  # "" (which Path reads as "."), ".", "/": no file is named
            given = "is empty" if os.fspath(path) in ("", ".") else f"'{path}' names no file"
            raise StoreError(f"the store path {given}; expected a store path such as runs.duckdb")
        self.ledger_dir = ledger_dir(self.path)
        if self.path.is_dir():
            raise StoreError(f"'{self.path}' is a directory, not a scorestate store; {_EXPECTED}"
                             f", such as '{self.path / DEFAULT_STORE}'")
        if os.path.lexists(self.ledger_dir) and not self.ledger_dir.is_dir():
            # before anything is created: a run would fail only once the store file was made
            raise StoreError(f"the ledger folder of the store '{self.path}', '{self.ledger_dir}', "
                             "is taken by a file that is not a folder; expected a folder there (or "
                             "nothing, for a new store): move that file away, or give --store "
                             "another path")
        self._tidied = self.read_only  # a reader removes nothing
        self._stored_checkpoints: list[Path] = []
        self._con = self._open_waiting(create, OPEN_WAIT_S if wait_s is None else wait_s)
        try:
            self._drop_stored_checkpoints()
        except BaseException:
            self.close()
            raise

    def _open_waiting(self, create: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
        """Open the catalogue, waiting up to ``wait_s`` for another process to let go of it.
        Pauses grow and are drawn at random, so that processes that met at the lock do not all
        come back to it at the same moment again."""
        deadline, pause = time.monotonic() + wait_s, 0.05
        while True:
            try:
                return self._open(create)
            except StoreInUseError as e:
                if e.here or time.monotonic() + pause > deadline:
                    if wait_s > 0 and not e.here:
                        raise StoreInUseError(f"{e}; waited {wait_s:g} s for it") from None
                    raise
                time.sleep(pause * (0.5 + secrets.randbelow(1000) / 1000))
                pause = min(2 * pause, 1.0)

    def _open(self, create: bool) -> duckdb.DuckDBPyConnection:
        if self.path.exists():
            self._check(self.path)  # read-only first, so a foreign file is never modified
            self._tidy()  # a scorestate store's folder: tidied before the lock is taken
            return self._connect()
        if not create:
            if not self.path.parent.is_dir():
                raise StoreError(f"no store at '{self.path}': the folder '{self.path.parent}' does "
                                 "not exist; expected the path of a store a run was stored in")
            raise StoreError(f"no store at '{self.path}'; a store is made by "
                             f"`scorestate run --store {shlex.quote(str(self.path))}`")
        return self._create()

    @staticmethod
    def _check(path: Path) -> None:
        def refuse(why: str) -> StoreError:
            return StoreError(f"'{path}' is not a scorestate store ({why}); {_EXPECTED}")
        try:
            with path.open("rb") as f:
                is_duckdb = f.read(12)[8:] == b"DUCK"  # DuckDB's magic bytes
        except OSError as e:
            raise StoreError(f"cannot read the store '{path}': {e}") from None
        if not is_duckdb:
            raise refuse("not a DuckDB database")
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as e:
            if _corrupt(e):
                raise _damaged_error(path, e) from None
            if _in_use(e):
                raise _in_use_error(path, e) from None
            raise refuse(str(e).splitlines()[0]) from None
        try:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()}
            if "meta" not in tables:
                raise refuse("a DuckDB database without the scorestate marker")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        except duckdb.Error as e:
            if _corrupt(e):
                raise _damaged_error(path, e) from None
            raise refuse(str(e).splitlines()[0]) from None
        finally:
            con.close()
        if meta.get("format") != _MARKER:
            raise refuse("a DuckDB database without the scorestate marker")
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StoreError(f"'{path}' has store schema version {meta.get('schema_version')}; "
                             f"this scorestate reads version {SCHEMA_VERSION}")

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as e:  # locked by a process that came in after _check, say
            if _corrupt(e):
                raise _damaged_error(self.path, e) from None
            if _in_use(e):
                raise _in_use_error(self.path, e) from None
            expected = ("expected a store file scorestate can read" if self.read_only else
                        "scorestate writes to the store file and its ledger folder to add a run, so "
                        "expected both writable (a store that cannot be written can still be read "
                        "by `scorestate runs`, `explain` and `report`)")
            raise StoreError(f"cannot open the store '{self.path}': {_first_line(e)}; {expected}"
                             ) from None

    def _create(self) -> duckdb.DuckDBPyConnection:
        # a typo in a folder's name must not start a new, empty store somewhere else
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot create the store '{self.path}': the folder "
                             f"'{self.path.parent}' does not exist; expected a store path in an "
                             "existing folder (create the folder first if it is meant to be new)")
        con = self._connect()
        if con.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]:
            con.close()  # another process made it since we looked: never unlink theirs below
            return self._open(create=False)
        try:
            con.execute(_DDL)
        except duckdb.Error as e:
            con.close()
            self.path.unlink(missing_ok=True)
            raise StoreError(f"cannot create the store '{self.path}': {e}") from None
        return con

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open DuckDB connection, for read-only SQL over the catalogue."""
        if self._con is None:
            raise StoreError(f"the store '{self.path}' is closed")
        return self._con

    def clean_partials(self, max_age_s: float = 3600.0) -> list[str]:
        """Remove the ``.partial`` folders of runs that never committed, once older than
        ``max_age_s`` (a run that stopped after a checkpoint: once older than a week,
        RESUMABLE_FOR_S); returns the names removed.

        Only ``.partial`` folders: a run's folder takes its final name only as the run is stored
        (``commit_run``), so a folder with its final name is never removed, even one that the
        catalogue does not list (a store file put back from an older copy: ``unlisted`` names
        them). The catalogue never lists a ``.partial`` folder, so this needs no connection. A
        folder whose lock a live writer holds is kept however old: its run is still going
        (perhaps in another process, with no connection to the store open while it simulates).
        A folder that cannot be removed (a read-only file system) is left, and not listed.
        """
        if not self.ledger_dir.is_dir():
            return []
        removed, now = [], time.time()
        for d in self.ledger_dir.glob("*.partial"):
            try:
                kept_s = max(max_age_s, RESUMABLE_FOR_S) if (d / CHECKPOINT).is_file() else max_age_s
                if not d.is_dir() or now - d.stat().st_mtime <= kept_s:
                    continue
                fd = _lock(d)
            except OSError:  # held by a live run, or removed meanwhile
                continue
            try:
                with contextlib.suppress(OSError):
                    shutil.rmtree(d, ignore_errors=True)
            finally:
                _unlock(fd)
            if not d.exists():
                removed.append(d.name)
        return removed

    def _tidy(self) -> None:
        """Once, for a Store opened for writing, before it takes the lock: remove stale
        ``.partial`` folders, and note the folders with a final name that hold a checkpoint
        (of a run killed once stored but before its checkpoint was removed, or while it was
        being stored), for ``_drop_stored_checkpoints`` to tell apart under the lock."""
        if self._tidied:
            return
        self._tidied = True
        self.clean_partials()  # best effort: where nothing can be removed, nothing is
        if self.ledger_dir.is_dir():
            self._stored_checkpoints = [c for c in self.ledger_dir.glob(f"*/{CHECKPOINT}")
                                        if not c.parent.name.endswith(".partial")]

    @_reads
    def _drop_stored_checkpoints(self) -> None:
        """Remove the checkpoints ``_tidy`` found in the folders of stored runs: the stored run
        is whole without it (a folder the catalogue does not list keeps its checkpoint, to be
        resumed)."""
        if not self._stored_checkpoints:
            return
        known = self._known()
        for path in self._stored_checkpoints:
            if path.parent.name in known:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        self._stored_checkpoints = []

    @_reads
    def _known(self) -> set[str]:
        """The ids of the runs the catalogue lists."""
        return {r[0] for r in self.con.execute("SELECT run_id FROM runs").fetchall()}

    def begin_run(self, run_id: str, *, kinds: Sequence[str], sources: Sequence[str]
                  ) -> LedgerWriter:
        """Start writing a run's ledger into ``<run_id>.partial/``; nothing is visible yet."""
        if not _RUN_ID.fullmatch(run_id) or run_id.endswith(".partial"):
            raise ValueError(f"run id {run_id!r} must be letters, digits, '_', '-' or '.'")
        self._writable("begin run '" + run_id + "'")
        folder = self.ledger_dir / f"{run_id}.partial"
        if self._exists(run_id) or folder.exists() or (self.ledger_dir / run_id).exists():
            raise StoreError(f"run '{run_id}' already exists in the store '{self.path}'")
        try:
            folder.mkdir(parents=True)
        except OSError as e:
            raise StoreError(f"cannot begin run '{run_id}' in the store '{self.path}': the ledger "
                             f"folder '{folder}' could not be made ({e.strerror}); expected a "
                             f"writable folder '{self.ledger_dir}' (or none)") from None
        return LedgerWriter(run_id, folder, kinds, sources)

    def reopen_run(self, run_id: str, *, kinds: Sequence[str], sources: Sequence[str]
                   ) -> LedgerWriter:
        """Take up again a run that stopped after a checkpoint: its folder, locked again (a run
        killed while committing, whose folder has its final name but no row, gets its
        ``.partial`` name back)."""
        if not _RUN_ID.fullmatch(run_id) or run_id.endswith(".partial"):
            raise StoreError(f"run id {run_id!r} is not one; expected the id of a stopped run, "
                             "as `scorestate runs` lists them")
        self._writable(f"resume run '{run_id}'")
        folder = self.ledger_dir / f"{run_id}.partial"
        if self._exists(run_id):
            raise StoreError(f"run '{run_id}' is already complete in the store '{self.path}'; "
                             "expected a run that stopped before it was stored")
        unstored = self.ledger_dir / run_id
        if not folder.exists() and (unstored / CHECKPOINT).is_file():
            try:
                unstored.rename(folder)
            except OSError as e:
                raise StoreError(f"cannot resume run '{run_id}': its folder '{unstored}' could "
                                 f"not be renamed ({e.strerror})") from None
        if not (folder / CHECKPOINT).is_file():
            live = match_ids(self.running(), run_id)
            if live:
                raise StoreError(f"run '{live[0]}' is still going in another process; expected it "
                                 "to have stopped")
            stopped = self.resumable()
            raise StoreError(f"run '{run_id}' has no checkpoint in the store '{self.path}'; "
                             "expected a run started with --checkpoint-every (checkpoint_every=) "
                             "that stopped before it was stored ("
                             + (f"those are: {', '.join(stopped[:8])}{', ...' * (len(stopped) > 8)})"
                                if stopped else "the store has none)"))
        try:
            return LedgerWriter(run_id, folder, kinds, sources)
        except BlockingIOError:
            raise StoreError(f"run '{run_id}' is still going in another process; expected it to "
                             "have stopped") from None

    def _unstored(self) -> dict[str, Path]:
        """The folders of runs not stored that hold a checkpoint, by run id: ``.partial`` ones,
        and those of runs killed while being stored (their folder has its final name and a
        checkpoint, and the catalogue has no row of them)."""
        if not self.ledger_dir.is_dir():
            return {}
        found = {c.parent.name.removesuffix(".partial"): c.parent
                 for c in self.ledger_dir.glob(f"*/{CHECKPOINT}")}
        if found:
            for run_id in self._known() & found.keys():
                del found[run_id]
        return found

    def resumable(self) -> list[str]:
        """Runs that stopped after a checkpoint and can be resumed, oldest first; one still going
        in another process (its folder's lock is held) is not among them: ``running`` lists it."""
        return sorted(run_id for run_id, d in self._unstored().items() if not _live(d))

    def running(self) -> list[str]:
        """Runs being written by a live process (their folder's lock is held), not stored yet,
        oldest first. Off POSIX, where there is no such lock, none is known."""
        if not self.ledger_dir.is_dir():
            return []
        return sorted(d.name.removesuffix(".partial") for d in self.ledger_dir.glob("*.partial")
                      if d.is_dir() and _live(d))

    @_reads
    def unlisted(self) -> list[str]:
        """Folders with a run's final name and no checkpoint that the catalogue does not list:
        runs stored by another copy of the store file than this one (this one put back from an
        older copy, say). Nothing removes them; putting that copy back lists them again."""
        if not self.ledger_dir.is_dir():
            return []
        named = {d.name for d in self.ledger_dir.iterdir()
                 if d.is_dir() and not d.name.endswith(".partial") and not (d / CHECKPOINT).exists()}
        return sorted(named - self._known()) if named else []

    def stopped_folder(self, run_id: str) -> Path:
        """The folder of a run that stopped before it was stored: ``.partial``, or with its final
        name if it was killed while being stored."""
        folder = self.ledger_dir / f"{run_id}.partial"
        return folder if folder.exists() else self.ledger_dir / run_id

    def discard(self, given: str) -> str:
        """Remove a run that stopped before it was stored, checkpoint and ledger, so that it is no
        longer offered to resume (a checkpoint that cannot be resumed would be for a week);
        ``given`` as ``--resume`` takes it. Returns the run's id."""
        self._writable(f"discard run '{given}'")
        run_id = self._stopped_id(given)
        folder = self.stopped_folder(run_id)
        try:
            fd = _lock(folder)
        except BlockingIOError:
            raise StoreError(f"run '{run_id}' is still going in another process; expected a run "
                             "that stopped before it was stored") from None
        try:
            shutil.rmtree(folder)
        except OSError as e:
            raise StoreError(f"cannot discard run '{run_id}': its folder '{folder}' could not be "
                             f"removed ({e.strerror}); expected a writable ledger folder") from None
        finally:
            _unlock(fd)
        return run_id

    def _stopped_id(self, given: str) -> str:
        """The one stopped run ``given`` names, or a StoreError saying which runs could be."""
        stopped = self.resumable()
        matched = match_ids(stopped, given)
        if len(matched) == 1:
            return matched[0]
        live = match_ids(self.running(), given)
        if live and not matched:
            raise StoreError(f"run '{live[0]}' is still going in another process; expected a run "
                             "that stopped before it was stored (stop that process first)")
        what = f"could be any of {', '.join(matched[:5])}" if matched else "is not a stopped run"
        listed = ", ".join(stopped[:8]) + ", ..." * (len(stopped) > 8)
        raise StoreError(f"run '{given}' {what} in the store '{self.path}'; expected the id of a run "
                         "that stopped before it was stored (in full, a unique prefix or its last "
                         "six characters): " + (f"those are {listed}" if stopped else "the store has none"))

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"cannot {what}: the store '{self.path}' was opened read-only; "
                             "expected a Store opened for writing (create=True or read_only=False)")

    @_reads
    def _exists(self, run_id: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM runs WHERE run_id = ?",
                                     [run_id]).fetchall()[0][0])

    def commit_run(self, record: RunRecord, metrics: pl.DataFrame, group_metrics: pl.DataFrame,
                   writer: LedgerWriter) -> None:
        """Publish a run: rename its ledger folder, then insert row and metrics in one transaction.

        On any failure the transaction is rolled back and the ledger folder removed, so the run
        is either wholly in the store or not at all; a folder holding a checkpoint gets its
        ``.partial`` name back instead, so that the run can be resumed.
        """
        if writer.closed or writer.run_id != record.run_id:
            raise ValueError(f"writer of run '{writer.run_id}' is closed or not the record's")
        self._writable(f"save run '{record.run_id}'")
        if record.ledger_retention not in _RETENTIONS:
            raise ValueError(f"ledger_retention {record.ledger_retention!r} not in {_RETENTIONS}")
        if not 0 <= record.seed < 2**64:
            raise ValueError(f"seed {record.seed} must lie in [0, 2**64)")
        record = replace(record, ledger_rows=writer.rows)
        m_long, m_tpl = _long(metrics, _METRIC_IDS, "metrics")
        g_long, g_tpl = _long(group_metrics, _GROUP_IDS, "group_metrics")
        ts = record.created_at if record.created_at.tzinfo else record.created_at.astimezone()
        row = asdict(record) | {
            "created_at": ts.astimezone(UTC).replace(tzinfo=None),
            "scenario": json.dumps(record.scenario), "final": json.dumps(record.final),
            "kinds": json.dumps(writer.kinds), "sources": json.dumps(writer.sources),
            "metrics_template": m_tpl, "group_template": g_tpl}
        final = self.ledger_dir / record.run_id
        if self._exists(record.run_id) or final.exists():
            raise StoreError(f"run '{record.run_id}' already exists in the store '{self.path}'")
        try:
            writer.folder.rename(final)
        except OSError as e:
            raise StoreError(f"could not save run '{record.run_id}' in '{self.path}': {e}"
                             ) from None
        writer.folder = final
        writer.close()  # this connection's lock now keeps other processes' cleaners out
        try:
            self.con.begin()
            self.con.execute(f"INSERT INTO runs ({', '.join(row)}) "
                             f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
            self._insert_metrics(record.run_id, m_long, g_long)
            self.con.commit()
        except BaseException as e:
            with contextlib.suppress(duckdb.Error):
                self.con.rollback()
            if (final / CHECKPOINT).is_file():  # a checkpointed run stays resumable
                with contextlib.suppress(OSError):
                    final.rename(final.with_name(f"{record.run_id}.partial"))
            else:
                shutil.rmtree(final, ignore_errors=True)
            if isinstance(e, duckdb.Error):
                raise StoreError(f"could not save run '{record.run_id}' in '{self.path}': {e}"
                                 ) from None
            raise

    def _insert_metrics(self, run_id: str, m_long: pl.DataFrame, g_long: pl.DataFrame) -> None:
        for table, long in (("metrics", m_long), ("group_metrics", g_long)):
            self.con.register("_long", long.to_arrow())
            try:
                self.con.execute(f"INSERT INTO {table} SELECT ?, * FROM _long", [run_id])
            finally:
                self.con.unregister("_long")

    @_reads
    def list_runs(self) -> pl.DataFrame:
        """One row per complete run, oldest first; runs still being written are not shown.

        `changes` lists the `PATH=VALUE` overrides each run's scenario was loaded with, as the
        scenario recorded them (null for a run stored before scenarios kept that record), so
        that runs of one preset or file with different overrides can be told apart.
        """
        frame = self.con.sql(
            "SELECT run_id, created_at, scenario_name, seed, population, days, elapsed_s, "
            "citizen_days_per_s, ledger_retention, ledger_rows, scenario FROM runs "
            "ORDER BY created_at, run_id"
        ).pl().with_columns(pl.col("created_at").dt.replace_time_zone("UTC"))
        changes = [json.loads(raw).get("overrides") for raw in frame["scenario"]]
        return frame.drop("scenario").with_columns(
            pl.Series("changes", changes, dtype=pl.List(pl.String)))

    @_reads
    def load_run(self, run_id: str) -> StoredRun:
        """Read a complete run by its id, a unique prefix of it, or its random suffix (the id
        starts with its creation time, so a prefix must be long to be unique)."""
        check_run_id(run_id)
        suffix = run_id if len(run_id) >= SUFFIX else None  # not a stray digit's match
        ids = [r[0] for r in self.con.execute(
            "SELECT run_id FROM runs WHERE starts_with(run_id, ?) OR ends_with(run_id, ?) "
            "ORDER BY run_id", [run_id, suffix]).fetchall()] if run_id else []
        if run_id in ids:
            ids = [run_id]
        if not ids:
            raise StoreError(f"no run '{run_id}' in the store '{self.path}'; "
                             f"`scorestate runs --store {shlex.quote(str(self.path))}` lists the runs")
        if len(ids) > 1:
            shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
            raise StoreError(f"run id '{run_id}' is ambiguous in '{self.path}': it matches "
                             f"{len(ids)} runs ({shown}); give more characters")
        rid = ids[0]
        cur = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [rid])
        names = [d[0] for d in cur.description]
        row: dict[str, Any] = dict(zip(names, cur.fetchall()[0], strict=True))
        m = self.con.sql('SELECT seq AS __seq, day AS __day, metric, value FROM metrics '
                         'WHERE run_id = $id ORDER BY seq', params={"id": rid}).pl()
        g = self.con.sql('SELECT seq AS __seq, day AS __day, grouping AS __grouping, '
                         'grp AS __grp, metric, value FROM group_metrics WHERE run_id = $id '
                         'ORDER BY seq', params={"id": rid}).pl()
        metrics = _wide(m, row["metrics_template"])
        record = RunRecord(**{f.name: row[f.name] for f in fields(RunRecord)} | {
            "scenario": json.loads(row["scenario"]),
            "final": _final(json.loads(row["final"]), metrics),
            "created_at": row["created_at"].replace(tzinfo=UTC)})
        return StoredRun(record, metrics, _wide(g, row["group_template"]), self.ledger_dir / rid,
                         tuple(json.loads(row["kinds"])), tuple(json.loads(row["sources"])))

    def close(self) -> None:
        """Release the DuckDB file (and its lock); safe to call twice."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
