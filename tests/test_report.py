"""The HTML report: one self-contained file that a browser renders offline, figures and all."""

from __future__ import annotations

import html
import io
import re
import shutil
from itertools import pairwise
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
import yaml
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from typer.testing import CliRunner

import scorestate as ss
from scorestate.cli import app
from scorestate.report import figures, render
from scorestate.report.figures import FIGURES
from scorestate.report.plotting import (
    COLORS,
    MIN_PCT_SPAN,
    STYLE,
    STYLES,
    RunData,
    TimelineLabels,
    min_span,
    new_figure,
    smooth,
)
from scorestate.vocabulary import SERVICES

runner = CliRunner()
N, DAYS, DISMANTLE, LATE_PHASE = 800, 60, 45, 55
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, str, str]:
    """A dismantled essay run and the baseline on the same citizens, in one store.

    The essay's second phase ("the smart home") is moved to near the last day, where its label
    meets the right edge of every timeline panel, and a score of 980 lists a citizen, so that a
    run this small has a blacklist (a few dozen people) to draw.
    """
    store = tmp_path_factory.mktemp("report") / "runs.duckdb"
    essay = ss.load_scenario("essay", {"timeline.dismantle_day": DISMANTLE,
                                       "timeline.phases.1.day": LATE_PHASE,
                                       "policy.blacklist.entry.score": "score < 980"},
                             population=N, days=DAYS, seed=2)
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
    first = cli("report", b, "-o", str(out), "--store", str(store))
    assert first.exit_code == 0 and "replaced" not in first.output
    text = out.read_text(encoding="utf-8")
    assert "never switched off" in text and "timeline.dismantle_day" in text
    again = cli("report", b, "-o", str(out), "--store", str(store))  # a report written over
    assert again.exit_code == 0 and "(it replaced the file there)" in again.output


def test_bad_input_is_one_message(runs, tmp_path):
    store, a, _ = runs
    for args, message in (
            (("report", "nope", "--store", str(store)), "no run 'nope'"),
            (("report", a, "--compare", "nope", "--store", str(store)), "no run 'nope'"),
            (("report", a, "--compare", a, "--store", str(store)), "the run being reported"),
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


def _section(text: str, panel: str) -> str:
    """One panel of a report page: its heading, figure and caption (its table: `_table`)."""
    start = text.index(f'<h2 id="{panel}">')
    return text[start:text.index("</figure>", start)]


def _run_data(store: Path, *run_ids: str) -> list[RunData]:
    return [RunData(key, ss.open_run(rid, store=store), COLORS[k], STYLES[k])
            for k, (key, rid) in enumerate(zip("AB", run_ids, strict=False))]


def _drawn(monkeypatch: pytest.MonkeyPatch, make, runs: list[RunData]) -> Figure | None:
    """The matplotlib figure `make` builds for the page, laid out and drawn as it is saved."""
    made: list[Figure] = []

    def keep(fig: Figure, prefix: str) -> str:
        made.append(fig)
        return "<svg></svg>"

    monkeypatch.setattr(figures, "to_svg", keep)
    with mpl.rc_context(STYLE):
        make(runs)
        for fig in made:
            FigureCanvasAgg(fig).draw()
    return made[0] if made else None


def test_smooth_keeps_the_length_of_any_series():
    for n in range(12):  # runs shorter than the 7-day window crashed the report (3 to 6 days)
        y = np.linspace(0.0, 1.0, n)
        y[n // 2:n // 2 + 1] = np.nan
        assert smooth(y).shape == (n,)


def test_smoothing_is_trailing_so_nothing_moves_before_its_cause():
    k = 30
    step = np.where(np.arange(60) >= k, 1.0, 0.0)
    s = smooth(step)
    assert np.all(s[:k] == 0)  # a centred mean would rise three days early
    assert s[k] == pytest.approx(1 / 7) and s[k + 6] == 1.0  # moves on the day itself
    rng = np.random.default_rng(0)
    y = rng.random(60)
    y[[3, 40]] = np.nan
    later = y.copy()
    later[k:] += 5.0
    assert np.array_equal(smooth(y)[:k], smooth(later)[:k], equal_nan=True)
    expect = [np.nanmean(y[max(0, d - 6):d + 1]) for d in range(60)]  # that day and the 6 before
    assert np.allclose(smooth(y), expect)


@pytest.mark.parametrize("days", range(1, 9))
def test_runs_of_any_length_render(days, tmp_path):
    over = {"timeline.dismantle_day": days - 1} if days > 1 else {}
    scenario = ss.load_scenario("essay", over, population=300, days=days, seed=1)
    store = tmp_path / "short.duckdb"
    page = render(ss.open_run(ss.run(scenario, store=store).run_id, store=store))
    found = re.findall(r"<figure>(.*?)</figure>", page, flags=re.S)
    notes = re.findall(r'</h2><p class="note">', page)  # a panel with nothing to draw says why
    assert len(found) + len(notes) == len(FIGURES)
    assert all(f.count("<svg") == 1 for f in found)


def test_flat_zero_panels_say_so(runs, monkeypatch):
    store, _, b = runs
    page = render(ss.open_run(b, store=store))  # the baseline: nobody listed, nobody shut out
    assert "none in this run" in _section(page, "network")
    assert "none in this run" in _section(page, "innocent")
    assert "nobody shut out in this run" in _section(page, "denials")
    fig = _drawn(monkeypatch, figures.network, _run_data(store, b))
    isolated = next(ax for ax in fig.axes if _title(ax).startswith("blacklisted with no tie"))
    assert isolated.get_ylim() == (0, 1)  # not matplotlib's 0-to-0.05% hairline


def test_the_denials_table_gives_each_denied_service_its_attempts_and_share_refused(runs):
    store, a, b = runs
    run = ss.open_run(a, store=store)
    m = run.metrics
    head, *rows = _table(render(run, ss.open_run(b, store=store)), "denials")
    denied = [s for s in SERVICES if m[f"denied_{s}"].sum() > 0]
    assert denied, "the fixture's essay run shuts someone out"
    assert head == ["service", "attempts (A)", "refused (A)", "attempts (B)", "refused (B)"]
    assert [row[0] for row in rows] == [s.replace("_", " ") for s in denied]
    for s, row in zip(denied, rows, strict=True):
        tried = m[f"denied_{s}"].sum() + m[f"used_{s}"].sum()
        assert row[1:3] == [f"{tried:,.0f}", f"{m[f'denied_{s}'].sum() / tried:.2%}"]
        assert row[4] == "0.00%"  # the baseline refuses nobody


def test_a_run_stored_before_uses_were_counted_has_no_denials_table(runs):
    store, a, _ = runs
    data = _run_data(store, a)[0]
    data.metrics = data.metrics.select([c for c in data.metrics.columns if not c.startswith("used_")])
    assert figures.denials([data]).table is None


def test_group_bars_show_how_many_people_they_rest_on(runs):
    store, a, _ = runs
    run = ss.open_run(a, store=store)
    page = render(run)
    bars = _section(page, "blacklist-groups")
    share = run.metrics["blacklist_share"].to_numpy()
    peak = int(run.metrics["day"][int(np.argmax(share))])
    rows = run.group_metrics.filter(run.group_metrics["day"] == peak)
    assert rows["blacklist_share"].sum() > 0
    for listed, size in zip(rows["blacklist_share"], rows["population"], strict=True):
        assert f"{round(listed * size):,} / {round(size):,}" in bars
    ratios = _section(page, "disparate")
    g = run.group_metrics
    rural = g.filter((g["grouping"] == "settlement") & (g["group"] == "rural"))
    most = int((rural["blacklist_share"] * rural["population"]).round().max())
    assert "noisy when few are listed" in ratios and f"run A: {most} rural" in ratios


def test_compare_marks_the_phases_of_both_runs(runs, tmp_path):
    store, a, b = runs
    out = tmp_path / "base-first.html"
    assert cli("report", b, "--compare", a, "-o", str(out), "--store", str(store)).exit_code == 0
    scores = _section(out.read_text(encoding="utf-8"), "scores")
    assert "the score for everything (B)" in scores  # run A, the baseline, has no phases
    assert "dismantled (B)" in scores
    alone = _section(render(ss.open_run(a, store=store)), "scores")
    assert "the score for everything" in alone and "the score for everything (" not in alone


def _title(ax: Axes) -> str:
    return ax.get_title(loc=STYLE["axes.titlelocation"])


def _title_box(ax: Axes, renderer: RendererBase) -> Bbox:
    """The drawn extent of a panel's title (the report sets titles flush left)."""
    title = next(t for t in ax.get_children() if isinstance(t, Text) and t.get_text()
                 and t.get_text() == _title(ax))
    return title.get_window_extent(renderer)


def _boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """What must not overlap in a drawn figure: each panel's plotting area, title, axes' tick
    labels and axis labels, and legend."""
    r = fig.canvas.get_renderer()
    out = []
    for k, ax in enumerate(fig.axes):
        out.append((f"{k} plot", ax.bbox))
        if _title(ax):
            out.append((f"{k} title", _title_box(ax, r)))
        for name, axis in (("x axis", ax.xaxis), ("y axis", ax.yaxis)):
            box = axis.get_tightbbox(r)
            if box is not None and box.width > 0:
                out.append((f"{k} {name}", box))
        if ax.get_legend() is not None:
            out.append((f"{k} legend", ax.get_legend().get_window_extent(r)))
    return out


def _overlap(a: Bbox, b: Bbox) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1


@pytest.mark.parametrize("order", ["essay", "essay-baseline", "baseline-essay"])
def test_labels_and_legends_stay_clear_of_the_data(order, runs, monkeypatch):
    store, a, b = runs
    ids = {"essay": (a,), "essay-baseline": (a, b), "baseline-essay": (b, a)}[order]
    data = _run_data(store, *ids)
    for make in FIGURES:
        fig = _drawn(monkeypatch, make, data)
        if fig is None:
            continue
        r = fig.canvas.get_renderer()
        labels = 0
        for ax in fig.axes:
            for names in (c for c in ax.get_children() if isinstance(c, TimelineLabels)):
                placed: list[Bbox] = []
                for t in names.texts:  # inside the frame: "the smart home", not "the smart ho"
                    box = t.get_window_extent(r)
                    assert ax.bbox.x0 - 1 <= box.x0 and box.x1 <= ax.bbox.x1 + 1, t.get_text()
                    assert ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1 + 1, t.get_text()
                    assert not any(_overlap(box, b) for b in placed), t.get_text()
                    placed.append(box)
                    labels += "the smart home" in t.get_text()
        if make in (figures.score_distribution, figures.tiers):
            assert labels == 1  # the late phase is labelled, once
        boxes = _boxes(fig)
        for i, (name, box) in enumerate(boxes):
            for other, box2 in boxes[i + 1:]:
                same = name.split()[0] == other.split()[0]
                if same and "legend" not in (name + other):
                    continue  # a panel's own title and axes frame its plotting area
                assert not _overlap(box, box2), f"{make.__name__}: {name} overlaps {other}"


def test_approval_grid_labels_every_panel(runs, monkeypatch):
    store, a, _ = runs
    fig = _drawn(monkeypatch, figures.approval, _run_data(store, a))
    assert [ax.get_xlabel() for ax in fig.axes] == ["day"] * 4
    assert all(ax.get_ylabel() for ax in fig.axes[::2])
    r = fig.canvas.get_renderer()
    top, bottom = fig.axes[0], fig.axes[2]
    below_top = min(top.get_tightbbox(r).y0, top.xaxis.get_tightbbox(r).y0)
    assert below_top - _title_box(bottom, r).y1 > 2  # a gap, not crowding


def test_percentage_levels_get_an_honest_span(runs, monkeypatch):
    _, (ax,) = new_figure()
    ax.plot(np.arange(30), np.linspace(80.1, 79.2, 30))  # a 0.9-point dip
    min_span(ax)
    lo, hi = ax.get_ylim()
    assert hi - lo == pytest.approx(MIN_PCT_SPAN) and lo <= 79.2 and hi >= 80.1
    ax.set_ylim(99.0, 99.9)
    min_span(ax)
    assert ax.get_ylim()[1] <= 100 and ax.get_ylim()[0] == pytest.approx(100 - MIN_PCT_SPAN)
    store, a, _ = runs
    for make in (figures.hysteresis, figures.approval):
        drawn = _drawn(monkeypatch, make, _run_data(store, a))
        for ax in drawn.axes:
            lo, hi = ax.get_ylim()
            assert hi - lo >= MIN_PCT_SPAN - 1e-9, (make.__name__, _title(ax))
            for line in ax.get_lines():
                if line.get_transform() != ax.transData:
                    continue  # phase lines span the axes whatever its limits
                y = np.asarray(line.get_ydata(), dtype=float)
                y = y[np.isfinite(y)]
                assert y.size == 0 or (lo <= y.min() and y.max() <= hi)


def test_scenario_is_described_as_what_is_shown(runs, tmp_path):
    store, a, _ = runs
    run = ss.open_run(a, store=store)
    page = render(run)
    section = page[page.index('<h2 id="scenario">'):]
    assert "nested YAML" in section and "every parameter at its dotted path" not in section
    shown = html.unescape(re.search(r"<pre>(.*?)</pre>", section, flags=re.S).group(1))
    record = run.record.scenario
    assert record["overrides"]  # the fixture's run was loaded with overrides...
    assert yaml.safe_load(shown) == {k: v for k, v in record.items() if k != "overrides"}
    assert f"# - {record['overrides'][0]}" in shown  # ...shown as comments, so the text runs
    saved = tmp_path / "scenario.yaml"
    saved.write_text(shown)
    again = ss.load_scenario(saved).model_dump(mode="json")
    assert again == {**record, "overrides": []}  # "save it as a file ... to repeat the run exactly"
    assert record["policy"]["enabled"] is not None  # the example path is real


def _table(text: str, panel: str) -> list[list[str]]:
    """The cells of the table under one panel's figure, header row first."""
    start = text.index("</figure>", text.index(f'<h2 id="{panel}">'))
    table = re.search(r"<table>(.*?)</table>", text[start:], flags=re.S).group(1)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(
        r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)]


def test_recovered_is_the_share_of_the_gap_to_the_run_without_the_system(compared, runs):
    store, a, b = runs
    head, *rows = _table(compared.read_text(encoding="utf-8"), "hysteresis")
    assert head[5] == "recovered" and head[6:] == [f"run B, same {figures.WINDOW} days before",
                                                   f"run B, same last {figures.WINDOW} days"]
    ra, rb = (ss.open_run(r, store=store).metrics for r in (a, b))
    w, k = figures.WINDOW, int(np.searchsorted(ra["day"].to_numpy(), DISMANTLE))
    for (metric, title, _), row in zip(figures.HYSTERESIS, rows, strict=True):
        y, yb = (m[metric].cast(float).to_numpy() for m in (ra, rb))
        before, after = np.nanmean(y[k - w:k]), np.nanmean(y[-w:])
        base_before, base_after = np.nanmean(yb[k - w:k]), np.nanmean(yb[-w:])
        assert row[:2] == ["A", title]
        assert row[6:] == [f"{100 * base_before:.1f}%", f"{100 * base_after:.1f}%"]
        share = 1 - (after - base_after) / (before - base_before)  # gaps over the same days
        assert row[5] == f"{100 * share:.0f}%", (title, row)
    # perceived detection decays without any system: that drift is not recovery
    assert figures.recovered(0.50, 0.30, 0.40, 0.20) == pytest.approx(0.0)


def test_recovered_needs_a_run_without_the_system(runs):
    store, a, _ = runs
    run = ss.open_run(a, store=store)
    alone = render(run)
    head, *rows = _table(alone, "hysteresis")
    assert len(head) == 6 and all(row[5] == "-" for row in rows)  # no percentage at all
    assert ("give a run without the system with <code>--compare</code> (e.g. a baseline run) "
            "to measure how much of the gap closed") in _section(alone, "hysteresis").lower()
    _, *rows = _table(render(run, run), "hysteresis")  # B has the system on too
    assert all(row[5] == "-" for row in rows)
    assert np.isnan(figures.recovered(0.40, 0.35, 0.40 - figures.MIN_GAP / 2, 0.30))  # no gap
    assert figures.recovered(0.40, 0.30, 0.20, 0.20) == pytest.approx(0.5)


def test_captions_do_not_invite_misreading(compared, runs, monkeypatch):
    text = compared.read_text(encoding="utf-8")
    network = _section(text, "network")
    assert "splitting by tier" in network and "association off" in network
    assert "falling means the network is splitting" not in network
    innocent = _section(text, "innocent")
    assert "already counted in the false attributions" in innocent
    assert "had done no act the rules name by that day" in innocent
    assert "momentarily innocent of the new ones" in innocent
    assert "never did an act" not in text
    assert "of which pinned on another citizen&#x27;s act" in text  # the summary row
    assert " pts<" not in text and " pp<" in text
    head = re.search(r"<tr><th>on the last day.*?</tr>", text).group(0)
    assert "B − A" in head and "pp: percentage points" in head
    assert not re.search(r"\bred\b", _section(text, "tiers").split("<figcaption>")[1])
    store, a, _ = runs
    fig = _drawn(monkeypatch, figures.blacklist, _run_data(store, a))
    assert fig.axes[1].get_ylabel() == "entries (cumulative)"


def test_innocent_bars_are_the_share_of_the_group_never_listed_for_an_act(tmp_path, monkeypatch):
    """The group metric is already a share of the group; the hatched bar must not be scaled by
    the blacklist share again (seeds are listed on day 0, before any act)."""
    store = tmp_path / "runs.duckdb"
    scenario = ss.load_scenario("health-code", {"policy.blacklist.seed_share": 0.05}, population=N,
                                days=20, seed=1)
    rid = ss.run(scenario, store=store).run_id
    data = _run_data(store, rid)
    fig = _drawn(monkeypatch, figures.blacklist_by_group, data)
    hatched = [p.get_width() for p in fig.axes[0].patches if p.get_hatch()]
    groups = data[0].groups
    rows = groups.filter(groups["day"] == figures._peak_day(data[0]))
    expected = (rows["innocent_blacklisted_share"].fill_nan(0) * 100).to_list()
    assert max(expected) > 0
    assert hatched == pytest.approx(expected)


def test_the_report_says_a_run_lived_a_warm_up(tmp_path):
    """A run that starts after a warm-up says so beside its days: its figures begin at day 0,
    with the list already standing."""
    store = tmp_path / "runs.duckdb"
    warm = ss.run(ss.load_scenario("court-blacklist", {"run.warm_up_days": 30}, population=N, days=10,
                                   seed=1), store=store).run_id
    cold = ss.run(ss.load_scenario("court-blacklist", {"run.warm_up_days": 0}, population=N, days=10,
                                   seed=1), store=store).run_id
    days = re.search(r"<tr><th>days</th>.*?</tr>",
                     render(ss.open_run(warm, store=store), ss.open_run(cold, store=store))).group(0)
    assert days == ("<tr><th>days</th><td>10 (with 30 days of warm-up before day 0, not recorded)</td>"
                    "<td>10</td></tr>")


def _rows(page: str) -> dict[str, list[str]]:
    """The summary tables' rows: {first cell's text: the other cells' texts}."""
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page[:page.index("</table>", page.index("on the last day"))],
                          flags=re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        out[cells[0]] = cells[1:]
    return out


def test_the_time_given_is_that_of_the_recorded_days_and_the_warm_up_is_timed_apart(tmp_path):
    """citizen-days/s divides the recorded days by their time; a warm-up's days (most of a
    court-blacklist run) are in the set-up time, and the page says which is which."""
    store = tmp_path / "runs.duckdb"
    rid = ss.run(ss.load_scenario("court-blacklist", {"run.warm_up_days": 30}, population=N, days=10,
                                  seed=1), store=store).run_id
    run = ss.open_run(rid, store=store)
    rows = _rows(render(run))
    record = run.record
    assert rows["simulated in"][0].startswith(f"{record.elapsed_s:.2g} s for the 10 recorded days (")
    assert f"({record.citizen_days_per_s:,.0f} citizen-days/s)" in rows["simulated in"][0]
    set_up = rows["set up in"][0]
    assert set_up.startswith(f"{record.build_s:.2g} s before day 0: ")
    assert "30 days of warm-up" in set_up


def test_the_last_day_table_says_it_is_one_day_not_smoothed(runs):
    store, a, _ = runs
    page = render(ss.open_run(a, store=store))
    head = next(k for k in _rows(page) if k.startswith("on the last day"))
    assert head.startswith(f"on the last day (day {DAYS - 1})")
    assert "that one day, not smoothed" in head


def test_a_share_of_nobody_is_a_dash_with_its_reason(runs):
    """The run stores 0, not NaN, for the innocent share of an empty list and for false
    attributions among no penalty; the page shows "-" and why, as for other undefined shares."""
    store, a, b = runs
    base = ss.open_run(b, store=store)
    assert base.metrics["innocent_blacklisted_share"][-1] == 0  # stored as 0...
    rows = _rows(render(base))
    assert rows["of them had done no act the rules name by that day"] == ["- (nobody is listed)"]
    assert rows["false attributions among penalties"] == ["- (no penalty recorded that day)"]
    assert rows["ties of the blacklisted / mean ties"] == ["- (nobody is listed)"]
    both = _rows(render(ss.open_run(a, store=store), base))
    assert both["of them had done no act the rules name by that day"][1:] == ["- (nobody is listed)", "-"]


def test_a_run_where_nobody_was_ever_listed_says_so_instead_of_drawing_empty_bars(runs):
    store, _, b = runs
    page = render(ss.open_run(b, store=store))
    start = page.index('<h2 id="blacklist-groups">')
    section = page[start:page.index("<h2", start + 1)]
    assert "<svg" not in section and "(never)" not in section
    assert "Nobody was on the blacklist on any day of this run" in section


def test_the_summary_counts_ties_made_as_well_as_dropped(runs):
    store, a, _ = runs
    run = ss.open_run(a, store=store)
    rows = _rows(render(run))
    assert rows["ties made"] == [f"{run.metrics['ties_made'].sum():,.0f}"]
    assert rows["ties dropped"] == [f"{run.metrics['ties_dropped'].sum():,.0f}"]


ASSOCIATION_OFF = {f"timeline.phases.0.set.policy.association.{k}": 0
                   for k in ("penalty", "drop_rate", "seek_rate")}


def test_a_compare_of_one_scenario_says_what_b_changed_in_full(tmp_path):
    """essay vs essay with the guide's three --set-b: the top of the page lists B's overrides,
    the labels tell the runs apart, and the difference table gives each changed leaf in full."""
    store = tmp_path / "runs.duckdb"
    a = ss.run(ss.load_scenario("essay", population=300, days=40, seed=1), store=store).run_id
    b = ss.run(ss.load_scenario("essay", ASSOCIATION_OFF, population=300, days=40, seed=1),
               store=store).run_id
    page = render(ss.open_run(a, store=store), ss.open_run(b, store=store))
    top = page[:page.index('<h2 id="summary">')]
    assert "<h1>scorestate report: essay vs essay (3 changes)</h1>" in top
    for path in ASSOCIATION_OFF:
        assert f"<li><code>{path}=0</code></li>" in top
    assert "B: essay (3 changes)" in page  # the legends
    assert "Where run B's scenario differs (3 parameters)" in page
    rows = page[page.index('id="differences"'):]
    found = re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td><td>(.*?)</td></tr>", rows)
    scenario = ss.load_scenario("essay").model_dump(mode="json")
    association = scenario["timeline"]["phases"][0]["set"]["policy"]["association"]
    assert found == [(path, str(float(association[path.rsplit(".", 1)[1]])), "0")
                     for path in ASSOCIATION_OFF]


def _drawn_labels(ax: Axes, axis: str = "x") -> list[Text]:
    return [t for t in (ax.xaxis if axis == "x" else ax.yaxis).get_ticklabels()
            if t.get_visible() and t.get_text()]


@pytest.fixture(scope="module")
def long_run(tmp_path_factory) -> list[RunData]:
    """The essay over 200 days, dismantled on day 150: three-digit days in the report's
    narrowest panels (rows of three)."""
    store = tmp_path_factory.mktemp("long") / "runs.duckdb"
    rid = ss.run(ss.load_scenario("essay", {"timeline.dismantle_day": 150}, population=2_000,
                                  days=200, seed=1), store=store).run_id
    return _run_data(store, rid)


@pytest.mark.parametrize("make", [figures.network, figures.false_attributions, figures.hysteresis])
def test_day_labels_do_not_run_together_in_narrow_panels(make, long_run, monkeypatch):
    fig = _drawn(monkeypatch, make, long_run)
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(r) for t in _drawn_labels(ax)
                 if ax.get_xlim()[0] <= t.get_position()[0] <= ax.get_xlim()[1]]
        assert len(boxes) >= 3, _title(ax)
        gaps = [right.x0 - left.x1 for left, right in pairwise(boxes)]
        assert min(gaps) > 4, (_title(ax), [t.get_text() for t in _drawn_labels(ax)])


def test_counts_carry_thousands_separators(long_run, monkeypatch):
    fig = _drawn(monkeypatch, figures.network, long_run)
    ties = next(ax for ax in fig.axes if _title(ax).startswith("ties dropped and made"))
    labels = [t.get_text() for t in _drawn_labels(ties, "y")]
    assert any(v.replace(",", "").isdigit() and int(v.replace(",", "")) >= 1000 for v in labels)
    for text, loc in zip((t.get_text() for t in ties.yaxis.get_ticklabels()), ties.get_yticks(),
                         strict=True):
        assert not text or text == f"{loc:,.0f}", labels  # "25,000", never "25000"


def test_a_run_whose_scores_never_vary_says_so_instead_of_flat_figures(tmp_path, monkeypatch):
    """court-blacklist keeps no score: a flat 1,000 and one tier at 100% are notes, not figures."""
    store = tmp_path / "runs.duckdb"
    rid = ss.run(ss.load_scenario("court-blacklist", {"run.warm_up_days": 0}, population=N, days=10,
                                  seed=1), store=store).run_id
    page = render(ss.open_run(rid, store=store))
    for panel, says in (("scores", "Scores never varied in this run (every citizen held a score "
                                   "of 1,000 from the first day to the last)"),
                        ("tiers", "Every citizen stayed in tier A from the first day to the last")):
        start = page.index(f'<h2 id="{panel}">')
        section = page[start:page.index("<h2", start + 1)]
        assert "<svg" not in section and says in section, section
    fig = _drawn(monkeypatch, figures.network, _run_data(store, rid))
    components = next(ax for ax in fig.axes if _title(ax) == "connected components")
    ticks = [v for v in components.get_yticks() if components.get_ylim()[0] <= v <= components.get_ylim()[1]]
    assert ticks and all(float(v).is_integer() for v in ticks)  # 1 component, not 0.2, 0.4, ...


def test_a_line_starting_from_zero_has_headroom_above_it(runs, monkeypatch):
    store, a, _ = runs
    fig = _drawn(monkeypatch, figures.blacklist, _run_data(store, a))
    size = fig.axes[0]
    top = float(np.nanmax(ss.open_run(a, store=store).metrics["blacklist_share"].to_numpy())) * 100
    assert size.get_ylim()[0] == 0 and size.get_ylim()[1] >= top * (1 + 0.07)
