"""Ctrl-C during a run, remembered, so that a run interrupted anywhere is never committed.

Python raises KeyboardInterrupt at the next bytecode after SIGINT. A signal that lands inside a
compiled kernel can instead surface as a SystemError ("returned a result with an exception set")
or be cleared by C code that swallows errors, and the run would go on to commit. The command
line runs inside `watching()`; `api.run` asks `requested()` before it commits.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

_requested = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """Remember every Ctrl-C while the block runs (raising KeyboardInterrupt, as Python does),
    then put back the handler that was there: a command run inside a program leaves it as it was."""
    global _requested
    _requested = False
    if threading.current_thread() is not threading.main_thread():  # signals reach the main one
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _the_command() -> bool:
    """Whether this process is the `scorestate` command (its script, or `python -m scorestate`),
    not a program that imports the package, nor a worker process it spawned (which inherits its
    arguments: a sweep's Dask workers)."""
    if multiprocessing.current_process().name != "MainProcess":  # set before a spawned child
        return False  # imports its parent's main module, unlike parent_process()
    if os.path.basename(sys.argv[0]) == "scorestate":
        return True
    argv = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b == "scorestate" for a, b in itertools.pairwise(argv))


def _on_sigint_while_starting(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"scorestate: interrupted while starting; nothing was done\n")
    os._exit(130)  # mid-import: nothing to clean up, and no traceback of the imports


def quiet_start() -> None:
    """For the command alone: Ctrl-C while its modules load (a second or more) ends it with one
    line and exit code 130, as Ctrl-C does later, not a traceback of the imports. `main` puts
    Python's own handler back once they are loaded."""
    if _the_command() and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint_while_starting)


def started() -> None:
    """The command's modules are loaded: Ctrl-C is Python's KeyboardInterrupt again."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def ignoring() -> Iterator[None]:
    """Ctrl-C ignored while the block runs: the message about the first one is being written
    (a second would cut it short and end the process by the signal, not with exit code 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def requested() -> bool:
    """Whether Ctrl-C came since `watching()` began."""
    return _requested


def was_interrupt(error: BaseException) -> bool:
    """Whether an error is Ctrl-C in disguise: asked for, or a KeyboardInterrupt in its chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return _requested
