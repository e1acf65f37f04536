"""Ctrl-C during a run, remembered, so that a run interrupted anywhere is never committed.

Python raises KeyboardInterrupt at the next bytecode after SIGINT. A signal that lands inside a
compiled kernel can instead surface as a SystemError ("returned a result with an exception set")
or be cleared by C code that swallows errors, and the run would go on to commit. The command
line calls `watch()`; `api.run` asks `requested()` before it commits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_requested = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def watch() -> None:
    """Remember every Ctrl-C from now on (and raise KeyboardInterrupt, as Python does)."""
    global _requested
    _requested = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def requested() -> bool:
    """Whether Ctrl-C came since `watch()`."""
    return _requested


def was_interrupt(error: BaseException) -> bool:
    """Whether an error is Ctrl-C in disguise: asked for, or a KeyboardInterrupt in its chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return _requested
