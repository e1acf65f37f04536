"""`scorestate runs`: the runs in a store, oldest first."""

from __future__ import annotations

import json
import math
import sys
import unicodedata

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scorestate.cli import JsonOpt, StoreOpt, app, friendly, out
from scorestate.store import DEFAULT_STORE, READ_WAIT_S


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
def runs(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """List the runs in the store, oldest first."""
    from scorestate.store import Store

    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        frame = catalogue.list_runs()
        stopped = catalogue.resumable()
    rows = frame.to_dicts()
    if as_json:
        for r in rows:
            r["created_at"] = r["created_at"].isoformat()
            r.update({k: None for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)})
        sys.stdout.write(json.dumps({"store": str(store), "runs": rows, "resumable": stopped},
                                    allow_nan=False, default=str) + "\n")
        return
    for run_id in stopped:  # checkpointed runs that stopped before they were stored
        out.print(shown(f"stopped before it was stored: {run_id}; go on with `scorestate run "
                        f"--resume {run_id} --store {store}`"), markup=False, highlight=False,
                  soft_wrap=True)
    if not rows:
        out.print(f"no runs in {shown(store)} yet; `scorestate run --store {shown(store)}` makes one",
                  markup=False, highlight=False)
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
