"""Where compiled kernels are kept: one folder per version of the code they are compiled from.

numba keys a cached kernel on the time stamp and size of the file that defines it, and nothing
else. Kernels inline helpers and constant tables from other modules (the random streams' tables,
`population.care`, `expf`, ...), so a change to one of those would leave every kernel that uses
it stale in the cache, and runs would silently go on computing with the old code. Caching under
a digest of the package's source makes any such change a miss instead: the kernels are compiled
afresh (about 45 s) and the results follow the source. Only the front ends (`FRONT_ENDS`: the
command line, the dashboard and the sweeps, which no other module imports) are left out of the
digest, so that editing them costs no recompilation.

The folder is `$NUMBA_CACHE_DIR/scorestate-kernels-DIGEST` when the user set that variable,
else `$XDG_CACHE_HOME/scorestate/` (`~/.cache/scorestate/`). The newest `KEEP` versions are
kept, so that two versions side by side (`python -m benchmarks --before`) do not evict each
other.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

PREFIX = "scorestate-kernels-"
KEEP = 8
FRONT_ENDS = ("cli/", "dashboard/", "sweep/")
"""Folders of the package that only drive the engine: no kernel can be built from them."""


def digest(package: Path) -> str:
    """A digest of the package's modules but the front ends: what kernels can be built from
    (helpers they inline, constants they freeze, such as the event codes)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if not rel.startswith(FRONT_ENDS):
            h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.cache
def loaded() -> str:
    """The digest of this package as it was imported: the code this process runs (files edited
    since do not change it)."""
    return digest(Path(__file__).parent)


def _default_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scorestate"


def folder(code: str, environ: Mapping[str, str]) -> Path:
    """The cache folder for the code of digest `code`; a parent process's choice is taken as
    it is."""
    name = PREFIX + code
    given = environ.get("NUMBA_CACHE_DIR", "")
    if given:
        given_path = Path(given)
        if given_path.name.startswith(PREFIX):  # chosen by a parent process (or another version)
            given_path = given_path.parent
        return given_path / name
    return _default_root() / name


def prune(root: Path, keep: int = KEEP) -> None:
    """Remove all but the `keep` most recently used kernel folders under `root`."""
    try:
        found = [p for p in root.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
        found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in found[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def use_versioned_cache() -> None:
    """Point numba's cache at this version's folder; left as numba has it if none can be made."""
    import numba

    target = folder(loaded(), os.environ)
    try:
        target.mkdir(parents=True, exist_ok=True)
        os.utime(target)  # most recently used: the last to be pruned
    except OSError:
        return  # numba keeps its own default (beside the source, or per user)
    os.environ["NUMBA_CACHE_DIR"] = str(target)  # workers started from here use it too
    numba.config.CACHE_DIR = str(target)  # read when each kernel is decorated
    prune(target.parent)
