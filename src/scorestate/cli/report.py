"""`scorestate report RUN`: one self-contained HTML file with the run's figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scorestate.cli import RunArg, StoreOpt, app, err, friendly, out
from scorestate.errors import ScorestateError, check_output_file, output_path
from scorestate.store import DEFAULT_STORE, READ_WAIT_S


@app.command()
@friendly(stopped="the report was not written")
def report(run_id: RunArg,
           compare: Annotated[str | None, typer.Option(
               "--compare", metavar="RUN2", help="A second run to overlay on every figure.")] = None,
           output: Annotated[str | None, typer.Option(
               "--output", "-o", help="The HTML file to write (default: report-RUN.html).")] = None,
           store: StoreOpt = DEFAULT_STORE) -> None:
    """Write a self-contained HTML report of a run (opens offline; no script, no CDN)."""
    from scorestate.report import write_report
    from scorestate.store import Store

    path = None
    if output is not None:  # before the store is opened (which may wait for it) or read
        path = output_path(output, "-o", "report-RUN.html")
        check_output_file(path, "-o", path / "report-RUN.html", protect=[store])
    with Store(store, create=False, wait_s=READ_WAIT_S) as catalogue:
        run = catalogue.load_run(run_id)
        other = catalogue.load_run(compare) if compare is not None else None
    if other is not None and other.record.run_id == run.record.run_id:
        raise ScorestateError(f"--compare: '{compare}' is run {run.record.run_id}, the run being reported "
                              "(every figure would show it twice); expected another run id (see "
                              "`scorestate runs`)")
    replaced = (path or Path(f"report-{run.record.run_id}.html")).is_file()
    with err.status("drawing the figures"):
        path = write_report(run, path, compare=other, protect=[store])
    out.print(f"report of run {run.record.run_id} written to {path}"
              + (" (it replaced the file there)" if replaced else ""), markup=False, highlight=False,
              soft_wrap=True)
