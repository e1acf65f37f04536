"""Files written whole or not at all: a failure half-way leaves the old file and no stray one."""

from __future__ import annotations

import os
import stat

import pytest

from scorestate.atomic import replacing


def test_a_file_appears_whole_with_ordinary_permissions(tmp_path):
    target = tmp_path / "out.json"
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and not target.exists()
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_half_way_keeps_the_old_file_and_leaves_nothing_else(tmp_path, error):
    target = tmp_path / "report.html"
    target.write_text("the old report")
    with pytest.raises(type(error)), replacing(target) as tmp:
        tmp.write_text("half a new re")
        raise error
    assert target.read_text() == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
