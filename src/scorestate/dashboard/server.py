"""Serving the page: Solara's Starlette app under uvicorn, in this process, with no outside calls.

In-process rather than `solara run`, so that the command owns the listening socket (a port in
use is one message, before anything starts), the kernels compiled before serving stay compiled,
and nothing is fetched at start (`solara run` asks PyPI for a newer version). Solara's usage
telemetry is switched off; its front-end files come from `solara-assets`, installed with the
`dashboard` extra, so the page loads with no internet connection.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import warnings
from types import FrameType

from scorestate.dashboard import runs
from scorestate.dashboard.limits import Limits
from scorestate.errors import ScorestateError

APP = "scorestate.dashboard.app"
GRACE_S = 3  # seconds open pages get to close when the server stops
# A session whose page lost its connection (a laptop put to sleep) is kept this long for it to
# come back; Solara's default, a day, would keep every abandoned session's runs in memory.
CULL_TIMEOUT = "15m"


class Terminated(Exception):
    """SIGTERM, turned into an exception so that the server stops as on Ctrl-C and cleans up."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or one message saying why it cannot be."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65_535:
        raise ScorestateError(f"--port is {port!r}; expected a port number from 1 to 65,535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise ScorestateError(f"--host {host!r} is not an address this machine can listen on; "
                              "expected 127.0.0.1 (this machine only) or 0.0.0.0 (every network "
                              "it is on, for a classroom)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ScorestateError(f"--port {port}: the port is in use on {host} (by another "
                                  f"dashboard or program); expected a free port, e.g. --port "
                                  f"{port + 1 if port < 65_535 else port - 1}") from None
        raise ScorestateError(f"--host {host} --port {port}: cannot listen there ({e.strerror}); "
                              "expected an address of this machine and a port above 1023") from None
    return sock


def url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "localhost", "::": "localhost", "": "localhost"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def prepare(host: str, port: int, limits: Limits) -> None:
    """Hand the bounds to the page and set Solara up for serving offline, in production mode.
    Must run before Solara's server modules are imported: they read these at import."""
    os.environ.update(limits.environ())
    os.environ["SOLARA_APP"] = APP
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_PROXY"] = "True"  # front-end files from this server, not a CDN
    os.environ["SOLARA_THEME_SHOW_BANNER"] = "False"
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.theme.show_banner = False
    settings.kernel.cull_timeout = os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT)
    # said on every page load over plain http to an address other than localhost; the session
    # cookie then falls back to samesite=lax, which suits a page that is not embedded elsewhere
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    runs.limits.cache_clear()
    runs.gate.cache_clear()


def serve(sock: socket.socket, host: str, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM; then stop the runs under way and remove their stores."""
    import uvicorn

    config = uvicorn.Config("solara.server.starlette:app", host=host, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=GRACE_S, lifespan="on")
    server = uvicorn.Server(config)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)  # uvicorn restores it, then re-raises SIGTERM
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        runs.STOP.set()
        sock.close()
        runs.remove_all()
