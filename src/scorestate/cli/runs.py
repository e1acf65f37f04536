"""`scorestate runs`: the runs in a store, oldest first."""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scorestate.cli import JsonOpt, StoreOpt, app, friendly, out, store_flag
from scorestate.errors import ScorestateError
from scorestate.store import CHECKPOINT, DEFAULT_STORE, READ_WAIT_S

DiscardOpt = Annotated[str | None, typer.Option(
    "--discard", metavar="RUN", help="Remove a run that stopped before it was stored (its "
    "checkpoint and the ledger it had written), so that it is no longer offered to resume; "
    "its id as --resume takes it.")]


def shown(text: object) -> str:
    """User text (a scenario's name, an override, a path) as it may reach a terminal: control and
    format characters (ESC, a bidi override, a newline) as visible escapes, as `repr` writes them,
    so that none moves the cursor, recolours the screen or reorders what is read."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in str(text))


def cell(text: object) -> Text:
    """A table cell of user text: shown plainly, its `[...]` never read as Rich markup."""
    return Text(shown(text))


@app.command()
@friendly
def runs(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False, discard: DiscardOpt = None) -> None:
    """List the runs in the store, oldest first, and those that stopped before they were stored."""
    from scorestate.store import Store

    if discard is not None:
        _discard(store, discard, as_json)
        return
    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        frame = catalogue.list_runs()
        stopped = {run_id: catalogue.stopped_folder(run_id) for run_id in catalogue.resumable()}
        running, unlisted = catalogue.running(), catalogue.unlisted()
    refused = {run_id: why for run_id, folder in stopped.items()
               if (why := _cannot_resume(folder, run_id)) is not None}  # the store closed: no lock
    resumable = [run_id for run_id in stopped if run_id not in refused]
    rows = frame.to_dicts()
    if as_json:
        for r in rows:
            r["created_at"] = r["created_at"].isoformat()
            r.update({k: None for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)})
        sys.stdout.write(json.dumps({
            "store": str(store), "runs": rows, "resumable": resumable,
            "cannot_resume": [{"run_id": k, "why": v} for k, v in refused.items()],
            "running": running, "unlisted": unlisted}, allow_nan=False, default=str) + "\n")
        return
    _print_unstored(store, resumable, refused, running, unlisted)
    if not rows:
        line(f"no runs in {store} yet; `scorestate run{store_flag(store)}` makes one")
        return
    table = Table(title=f"runs in {escape(shown(store))}, oldest first", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="changes: the --set overrides a run was made with, listed below "
                          "(- : not recorded); --json adds the ledger's rows and timings\n"
                          "scorestate explain RUN [CITIZEN] · scorestate report RUN")
    # the run id starts with its start time (UTC), so no time column is needed; the list is in
    # the order runs were stored, which for runs that overlapped differs from their ids' order
    for col in ("run", "scenario", "citizens", "days", "seed", "ledger", "changes"):
        table.add_column(col, no_wrap=col == "run",
                         justify="right" if col in ("citizens", "days", "seed", "changes") else "left")
    for r in rows:
        changes = r["changes"]
        table.add_row(cell(r["run_id"]), cell(r["scenario_name"]), f"{r['population']:,}",
                      str(r["days"]), str(r["seed"]), cell(r["ledger_retention"]),
                      "-" if changes is None else str(len(changes)) if changes else "none")
    out.print(table)
    # what each run changed from its preset, one line per run below the table: readable at any
    # terminal width, where a column of overrides would be squeezed to nothing
    for r in rows:
        if r["changes"]:
            out.print(shown(f"{r['run_id']}: " + "; ".join(r["changes"])), markup=False,
                      highlight=False, soft_wrap=True)


def line(text: str) -> None:
    """One line of user text (paths, ids, commands), shown plainly and never cut."""
    out.print(shown(text), markup=False, highlight=False, soft_wrap=True)


def _print_unstored(store: Path, resumable: list[str], refused: dict[str, str], running: list[str],
                    unlisted: list[str]) -> None:
    """What lies in the ledger folder besides the stored runs: runs that stopped (to resume or
    to discard), runs still going elsewhere, and folders the store file does not list."""
    where = store_flag(store)
    for run_id in resumable:
        line(f"stopped before it was stored: {run_id}; go on with `scorestate run --resume "
             f"{run_id}{where}` (or drop it: `scorestate runs --discard {run_id}{where}`)")
    for run_id, why in refused.items():
        drop = "" if "--discard" in why else (
            f"; drop it with `scorestate runs --discard {run_id}{where}`")
        line(f"stopped before it was stored, and cannot be resumed: {run_id}: {why}{drop}")
    for run_id in running:
        line(f"still running in another process, not stored yet: {run_id}")
    if unlisted:
        some = ", ".join(unlisted[:5]) + ", ..." * (len(unlisted) > 5)
        n = len(unlisted)
        them, are = ("them", "they are") if n > 1 else ("it", "it is")
        line(f"note: {n} ledger folder{'s' * (n > 1)} not in the catalogue ({some}): was the store "
             f"file put back from another copy? The copy that stored {them} lists {them}; "
             f"scorestate leaves {them} as {are}")


def _cannot_resume(folder: Path, run_id: str) -> str | None:
    """Why resuming a stopped run would be refused (its checkpoint written by other code or by
    another run, its ledger parts not all there), or None; read without loading its arrays."""
    from scorestate import checkpoint
    from scorestate.store import check_stopped_ledger

    try:
        note = checkpoint.note(folder / CHECKPOINT)
        parts, rows = note.get("parts"), note.get("rows")
        if note.get("run_id") != run_id or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (parts, rows)):
            return (f"'{folder / CHECKPOINT}' is not the checkpoint of run '{run_id}' (it says run "
                    f"{note.get('run_id')!r}, parts {parts!r}, rows {rows!r})")
        check_stopped_ledger(folder, run_id, parts, rows)
    except ScorestateError as e:
        return str(e)
    return None


def _discard(store: Path, given: str, as_json: bool) -> None:
    """Remove a stopped run, with the store open for writing (and so locked) meanwhile."""
    from scorestate.store import Store

    with Store(store, create=False, read_only=False) as catalogue:
        run_id = catalogue.discard(given)
    payload: dict[str, Any] = {"store": str(store), "discarded": run_id}
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    line(f"discarded run {run_id}, which stopped before it was stored: its checkpoint and the "
         f"ledger it had written are removed from {store}")
