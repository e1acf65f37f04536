"""Ctrl-C during a run, remembered, so that a run interrupted anywhere is never committed.

Python raises KeyboardInterrupt at the next bytecode after SIGINT. A signal that lands inside a
compiled kernel can instead surface as a SystemError ("returned a result with an exception set")
or be cleared by C code that swallows errors, and the run would go on to commit. The command
line runs inside `watching()`; `api.run` asks `requested()` before it commits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType


@dataclasses.dataclass
class _Watch:
    """What Ctrl-C has done since `watching()` began, and what the command asked of it."""

    requested: bool = False  # Ctrl-C came
    finish_once_stored: bool = False  # the command prints what it stored, whatever Ctrl-C says then
    after_store: bool = False  # a Ctrl-C came while, or after, the command's run was stored
    stored: bool = False  # the command's run is stored


_watch = _Watch()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _watch.requested = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """Remember every Ctrl-C while the block runs (raising KeyboardInterrupt, as Python does),
    then put back the handler that was there: a command run inside a program leaves it as it was."""
    global _watch
    _watch = _Watch()
    main = threading.current_thread() is threading.main_thread()  # signals reach the main one
    previous = signal.signal(signal.SIGINT, _on_sigint) if main else None
    try:
        yield
    finally:
        if main:  # the command that stored its run exits 0: Python's exit must not die of Ctrl-C
            done = _watch.finish_once_stored and _watch.stored and _the_command()
            signal.signal(signal.SIGINT, signal.SIG_IGN if done else previous)
        _watch.finish_once_stored = False  # a program that ran the command stores runs as ever


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


class Held:
    """Whether a Ctrl-C came while `storing()` held it back."""

    came = False

    def raise_if_came(self) -> None:
        """A Ctrl-C held back is Python's KeyboardInterrupt now that the run is stored (in a
        program; the command that finishes once stored has said it will go on)."""
        if self.came and not _watch.finish_once_stored:
            raise KeyboardInterrupt


@contextlib.contextmanager
def storing() -> Iterator[Held]:
    """Ctrl-C held back while a run is committed: cut there, the run was stored or not without a
    word, and the clean-up of a stopped run could remove the ledger of a stored one. After the
    block, `Held.raise_if_came()` raises it; for a command that asked to `finish_once_stored()`,
    Ctrl-C stays held back until the command ends (`watching()` puts the handler back)."""
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        held.came = _watch.after_store = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield held
        _watch.stored = True
    finally:
        if not _watch.finish_once_stored:
            signal.signal(signal.SIGINT, previous)


def finish_once_stored() -> None:
    """For `scorestate run`: once its run is stored, Ctrl-C no longer stops the command, which
    prints what it stored and exits 0, so that a script does not run it again."""
    _watch.finish_once_stored = True


def came_after_store() -> bool:
    """Whether a Ctrl-C came while the command's run was being stored, or after."""
    return _watch.after_store


def requested() -> bool:
    """Whether Ctrl-C came since `watching()` began."""
    return _watch.requested


def was_interrupt(error: BaseException) -> bool:
    """Whether an error is Ctrl-C in disguise: asked for, or a KeyboardInterrupt in its chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return _watch.requested
