"""`scorestate dashboard`: serve the dashboard's web page."""

from __future__ import annotations

from typing import Annotated

import typer

from scorestate.cli import app, err, friendly, out
from scorestate.errors import ScorestateError

# Kept equal to scorestate.dashboard.limits (tests check it); not imported, so that the CLI starts fast.
DEFAULT_MAX_POPULATION = 100_000
DEFAULT_MAX_DAYS = 730
DEFAULT_MAX_RUNS = 1


@app.command()
@friendly
def dashboard(
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Address to listen on: 127.0.0.1 for this machine only, "
        "0.0.0.0 for every network it is on (a classroom).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", metavar="PORT", help="Port to listen on.")] = 8765,
    max_population: Annotated[int, typer.Option(
        "--max-population", metavar="N", help="The most citizens one request may simulate; fewer for a "
        "preset with a warm-up, whose days count too: citizens x (days + warm-up days) <= N x DAYS.")
    ] = DEFAULT_MAX_POPULATION,
    max_days: Annotated[int, typer.Option(
        "--max-days", metavar="DAYS", help="The most days one request may simulate.")] = DEFAULT_MAX_DAYS,
    max_runs: Annotated[int, typer.Option(
        "--max-runs", metavar="R", help="Simulations at once over all visitors; the others wait "
        "their turn (1 to 8).")] = DEFAULT_MAX_RUNS,
) -> None:
    """Serve the dashboard: pick a preset, move the policy's knobs, watch the society change,
    open a citizen's file, compare two policies. Works offline; Ctrl-C stops it."""
    try:
        import solara  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ScorestateError("the dashboard needs Solara, which is not installed; expected the "
                              "'dashboard' extra: pip install -e '.[dashboard]'") from None
    from scorestate.dashboard import server
    from scorestate.dashboard.limits import Limits
    from scorestate.engine import compile_kernels

    limits = Limits(max_population, max_days, max_runs)
    sock = server.listen_socket(host, port)
    try:
        compile_kernels(lambda: err.print("scorestate: compiling the simulation's kernels before "
                                          "serving; the first start of a version takes about a "
                                          "minute, later ones load them from the cache",
                                          markup=False, highlight=False))
        server.prepare(host, port, limits)
    except BaseException:
        sock.close()
        raise
    out.print(f"scorestate dashboard: {server.url(host, port)}  (up to {limits.max_population:,} "
              f"citizens and {limits.max_days:,} days a run, {limits.max_runs} at a time; Ctrl-C "
              "stops it)", markup=False, highlight=False, soft_wrap=True)
    server.serve(sock, host, port)
    err.print("scorestate: dashboard stopped", markup=False, highlight=False)
