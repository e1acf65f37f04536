"""Files that appear whole or not at all: written beside their target, then renamed over it.

A report, a checkpoint, a sweep's table or a benchmark's JSON killed half-way must not leave a
truncated file that reads as a result, nor the temporary one behind it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path in `path`'s folder to write; renamed to `path` when the block ends
    normally, removed when it raises (the exception goes on). The file gets the permissions an
    ordinary new file would have, not mkstemp's private ones. Raises OSError as the system does;
    callers say which file could not be written."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
