"""`scorestate findings`: measure the essay's claims and write the findings page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TextColumn

from scorestate.cli import app, friendly, out, progress
from scorestate.errors import ScorestateError, check_output_file, output_path
from scorestate.store import DEFAULT_STORE

# Kept equal to scorestate.analysis.findings (tests check it); not imported, so that the CLI starts fast.
DEFAULT_OUTPUT = Path("docs/findings.md")
DEFAULT_POPULATION = 3_000
DEFAULT_DAYS = 365  # the essay's own year: its listing wave comes late in it
DEFAULT_REPLICATES = 4


@app.command()
@friendly(stopped="the page was not written")
def findings(
    output: Annotated[str, typer.Option(
        "--output", "-o", metavar="FILE",
        help=f"Markdown file to write. The default, {DEFAULT_OUTPUT}, is the project's findings "
             "page: run from the repository root, it overwrites that page.")] = str(DEFAULT_OUTPUT),
    population: Annotated[int, typer.Option(
        "--population", "-n", metavar="N", help="Citizens per run.")] = DEFAULT_POPULATION,
    days: Annotated[int, typer.Option(
        "--days", "-d", metavar="DAYS",
        help="Days per run (default: the essay's year; its blacklisting comes late in it).")] = DEFAULT_DAYS,
    replicates: Annotated[int, typer.Option(
        "--replicates", "-r", metavar="R",
        help="Seeds per arm (the same seeds in every arm); 2 to 100.")] = DEFAULT_REPLICATES,
    seed: Annotated[int, typer.Option(
        "--seed", "-s", metavar="SEED", help="First seed; replicates use seed, seed+1, ...")] = 0,
) -> None:
    """Test each of the essay's claims (essay vs reference policies, same seeds) and write the page."""
    from scorestate.analysis.findings import check_sizes, measure

    check_sizes(population, days, replicates)
    if seed < 0:
        raise ScorestateError(f"--seed must be zero or more; got {seed}")
    # findings keeps no store, but the default one (where `scorestate run` lands runs) may sit here
    page = output_path(output, "--output", "my-findings.md")
    check_output_file(page, "--output", page / DEFAULT_OUTPUT.name, protect=[DEFAULT_STORE])
    t0 = time.perf_counter()
    with progress("runs", TextColumn("{task.fields[step]}")) as bar:
        task = bar.add_task("findings", total=None, step="")
        result = measure(population, days, replicates, seed,
                         progress=lambda label: bar.update(task, advance=1, step=label),
                         on_plan=lambda total: bar.update(task, total=total), output=str(page))
    try:
        page.write_text(result.markdown(), encoding="utf-8")
    except OSError as e:
        raise ScorestateError(f"--output: '{page}' could not be written ({e.strerror}); expected a "
                              "writable file path") from None
    out.print(f"wrote {page}: {len(result.sections)} claims, {result.runs} runs "
              f"({time.perf_counter() - t0:.0f} s)")
    for s in result.sections:
        out.print(f"  {s.number}. {s.title}: {s.verdict}", markup=False, highlight=False, soft_wrap=True)
