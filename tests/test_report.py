"""The HTML report: one self-contained file that a browser renders offline, figures and all."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.report.figures import FIGURES

runner = CliRunner()
N, DAYS, DISMANTLE = 800, 60, 45
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, str, str]:
    """A dismantled essay run and the baseline on the same citizens, in one store."""
    store = tmp_path_factory.mktemp("report") / "runs.duckdb"
    essay = ss.load_scenario("essay", {"timeline.dismantle_day": DISMANTLE}, population=N,
                             days=DAYS, seed=2)
    base = ss.load_scenario("baseline", population=N, days=DAYS, seed=2)
    return store, ss.run(essay, store=store).run_id, ss.run(base, store=store).run_id


@pytest.fixture(scope="module")
def compared(runs, tmp_path_factory) -> Path:
    store, a, b = runs
    path = tmp_path_factory.mktemp("html") / "compare.html"
    r = cli("report", a, "--compare", b, "-o", str(path), "--store", str(store))
    assert r.exit_code == 0, r.output
    return path


def test_default_name_and_one_figure_per_question(runs, tmp_path, monkeypatch):
    store, a, _ = runs
    monkeypatch.chdir(tmp_path)
    r = cli("report", a, "--store", str(store))
    assert r.exit_code == 0, r.output
    path = tmp_path / f"report-{a}.html"
    text = path.read_text(encoding="utf-8")
    figures = re.findall(r"<figure>(.*?)</figure>", text, flags=re.S)
    assert len(figures) == len(FIGURES)  # this run was dismantled: every figure is drawn
    for fig in figures:
        assert fig.count("<svg") == 1 and "<figcaption>" in fig
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)  # nothing to fetch
    for title in ("Score distribution over time", "Tier shares", "Who is on the blacklist",
                  "Gates that closed", "Dissent expressed and dissent held back",
                  "Approval of the system, by group", "Disparate impact",
                  "After dismantling: does the damage undo itself?"):
        assert f">{title}</h2>" in text
    assert f"run A: day {DISMANTLE}" in text  # the dismantling day found from policy_enabled
    assert "<pre>name: essay" in text  # the resolved scenario


def test_compare_overlays_the_second_run_and_lists_what_differs(compared, runs):
    _, a, b = runs
    text = compared.read_text(encoding="utf-8")
    assert a in text and b in text
    assert "B: baseline" in text  # a legend entry of the overlaid run
    assert "<code>policy.enabled</code>" in text  # the scenario difference table


def test_a_run_never_dismantled_says_how_to_test_it(runs, tmp_path):
    store, _, b = runs
    out = tmp_path / "b.html"
    assert cli("report", b, "-o", str(out), "--store", str(store)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "never switched off" in text and "timeline.dismantle_day" in text


def test_bad_input_is_one_message(runs, tmp_path):
    store, a, _ = runs
    for args, message in (
            (("report", "nope", "--store", str(store)), "no run 'nope'"),
            (("report", a, "--compare", "nope", "--store", str(store)), "no run 'nope'"),
            (("report", a, "--store", str(tmp_path / "none.duckdb")), "no store at"),
            (("report", a, "-o", str(tmp_path / "no" / "r.html"), "--store", str(store)),
             "does not exist")):
        r = cli(*args)
        assert r.exit_code == 2, r.output
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def _png(data: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(data), format="png")


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not on the PATH (apt-get install chromium)")
def test_report_renders_offline_in_chromium(compared):
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(compared.as_uri(), wait_until="load")
            figures = page.locator("figure")
            assert figures.count() == len(FIGURES)
            assert page.locator("figure svg").count() == len(FIGURES)
            for k in range(figures.count()):
                box = figures.nth(k).locator("svg").bounding_box()
                assert box is not None and box["width"] > 500 and box["height"] > 150
            shot = _png(page.screenshot(full_page=True))
            first = _png(figures.nth(0).screenshot())
        finally:
            browser.close()
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests
    assert requests[0] == compared.as_uri()
    for img in (shot, first):
        rgb = (img[..., :3] * 255).astype(np.int32)
        assert rgb.std() > 10  # not a blank page
        colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        assert colours.size > 50  # lines, fills and text, not a flat background
    assert shot.shape[0] > 5000  # the whole report, not the first screen
