"""Compiled kernels are cached per version of the code they are compiled from.

numba keys a cached kernel on its own file only; kernels inline helpers and tables from other
modules, so without this a change to, say, the random streams' tables would leave stale kernels
computing with the old code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scorestate
from scorestate import kernel_cache

PACKAGE = Path(scorestate.__file__).parent


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "scorestate"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.mark.parametrize(("module", "changes_digest"), [
    ("rng.py", True),  # a helper that kernels inline
    ("vocabulary.py", True),  # event codes: no kernel is defined there, but kernels compile them in
    ("cli/__init__.py", False),  # the command line only: no recompilation
    ("dashboard/__init__.py", False),  # a front end
    ("sweep/__init__.py", False),  # a front end
])
def test_the_digest_follows_what_kernels_are_built_from(tmp_path, module, changes_digest):
    copy = _copy(tmp_path)
    before = kernel_cache.digest(copy)
    assert before == kernel_cache.digest(PACKAGE)
    path = copy / module
    path.write_text(path.read_text() + "\n# a change\n")
    assert (kernel_cache.digest(copy) != before) == changes_digest


PUBLIC_SURFACE = ("__main__.py", "__init__.py", "api.py")  # define no kernel; no kernel module imports them


def test_no_module_but_the_front_ends_and_the_entry_point_imports_a_front_end():
    """Why leaving the front ends out of the digest is safe: no kernel can read from them."""
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(kernel_cache.FRONT_ENDS) or rel in PUBLIC_SURFACE:
            continue
        text = path.read_text()
        for front in kernel_cache.FRONT_ENDS:
            name = front.rstrip("/")
            assert f"scorestate.{name}" not in text and f"from scorestate import {name}" not in text, rel


def test_the_folder_is_under_the_users_numba_cache_dir_and_a_parents_choice_is_kept(tmp_path):
    code = kernel_cache.digest(PACKAGE)
    name = kernel_cache.PREFIX + code
    assert kernel_cache.folder(code, {"NUMBA_CACHE_DIR": str(tmp_path)}) == tmp_path / name
    chosen = tmp_path / name
    assert kernel_cache.folder(code, {"NUMBA_CACHE_DIR": str(chosen)}) == chosen
    other_version = tmp_path / (kernel_cache.PREFIX + "0" * 16)
    assert kernel_cache.folder(code, {"NUMBA_CACHE_DIR": str(other_version)}) == chosen


def test_only_the_newest_versions_are_kept(tmp_path):
    for k in range(kernel_cache.KEEP + 3):
        d = tmp_path / f"{kernel_cache.PREFIX}{k:016d}"
        d.mkdir()
        os.utime(d, (1_000_000 + k, 1_000_000 + k))
    (tmp_path / "unrelated").mkdir()
    kernel_cache.prune(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"{kernel_cache.PREFIX}{k:016d}"
                           for k in range(3, kernel_cache.KEEP + 3)] + ["unrelated"])


def test_kernels_compiled_by_a_run_land_in_the_versioned_folder(tmp_path):
    code = ("import numpy as np, numba, scorestate\n"
            "from scorestate import rng\n"
            "rng.uniforms(1, 2, 3, np.arange(5))\n"
            "print(numba.config.CACHE_DIR)\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    folder = tmp_path / (kernel_cache.PREFIX + kernel_cache.digest(PACKAGE))
    assert out.stdout.strip() == str(folder)
    assert any(p.name.startswith("rng.uniforms") and p.suffix == ".nbi" for p in folder.rglob("*"))


def test_an_unwritable_cache_home_leaves_numba_its_own_default(tmp_path):
    """A home or cache folder that cannot be written (a locked-down account, a read-only
    container) must not stop scorestate from importing and running."""
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")  # a file where the cache root's parent should be: mkdir fails
    code = "import numba, scorestate\nprint(repr(numba.config.CACHE_DIR))\n"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(blocked)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "''"
