"""The dashboard: the real `scorestate dashboard` server, driven by Chromium, offline.

One server (small bounds) serves the browser tests of the page, and a second one (bounds that allow
runs of minutes) those of Stop, the queue and a closed tab; each test opens fresh pages, to which
Solara gives a session each. Numbers on the page are checked against the same run made directly
in Python, so the page is known to show the model's result and not something else.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlparse

import polars as pl
import pytest
from typer.testing import CliRunner

import scorestate as ss
from scorestate.analysis.experiments import Arm, resolve
from scorestate.cli import app
from scorestate.cli import dashboard as cli_dashboard
from scorestate.dashboard import knobs, limits, runs
from scorestate.errors import ScorestateError
from scorestate.vocabulary import EVENTS

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAX_POPULATION, MAX_DAYS = 2_000, 100
N, DAYS, SEED = 1_000, 40, 3
NO_DISSENT_PENALTY = tuple((f"policy.scoring.points.{e}", 0.0)
                           for e in ("dissent_online", "dissent_public", "dissent_home"))
# Long runs, for Stop, the queue and a closed tab: a run that is called off ends at its next day (a few
# milliseconds); LONG left going takes minutes, far past CALLED_OFF_MS, so a test that waits for a run
# to end only passes if it was called off. QUEUED and SHORT run to their end in seconds.
LONG_POPULATION, LONG_DAYS = 100_000, limits.MAX_DAYS
QUEUED_POPULATION, QUEUED_DAYS = 50_000, 1_000
SHORT_POPULATION, SHORT_DAYS = 2_000, 100
CALLED_OFF_MS = 60_000
# court-blacklist's eight years of warm-up count against the busy server's budget of citizen-days
# (LONG_POPULATION x LONG_DAYS): at WARM_DAYS days it allows WARM_MOST citizens, fewer than LONG_POPULATION
WARM_PRESET, WARM_UP_DAYS, WARM_DAYS = "court-blacklist", 2_920, 30_000
WARM_MOST = LONG_POPULATION * LONG_DAYS // (WARM_DAYS + WARM_UP_DAYS)
START_S = 240  # a first start after a change to the engine compiles its kernels (about a minute)
WAIT_MS = 120_000
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None,
                                    reason="Debian's chromium is not on the PATH (apt-get install chromium)")


def reference(overrides: tuple[tuple[str, object], ...] = ()) -> ss.RunResult:
    """The page's run made directly: the essay at this size and seed, overrides held in every phase."""
    return ss.simulate(resolve(Arm("essay", "essay", overrides), N, DAYS, SEED))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the server and the browser
def start_dashboard(tmp, max_population: int, max_days: int, **output) -> tuple[subprocess.Popen, str, int]:
    """`scorestate dashboard` on a free port with these bounds, its stores under `tmp`; up and answering."""
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "scorestate", "dashboard", "--port", str(port),
           "--max-population", str(max_population), "--max-days", str(max_days)]
    proc = subprocess.Popen(cmd, env=env, text=True, **output)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(proc, url)
    except BaseException:
        stop_dashboard(proc)
        raise
    return proc, url, port


def stop_dashboard(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("dashboard-tmp")
    proc, url, port = start_dashboard(tmp, MAX_POPULATION, MAX_DAYS,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield {"url": url, "port": port, "proc": proc, "tmp": tmp}
    finally:
        stop_dashboard(proc)


def _wait_until_up(proc: subprocess.Popen, url: str) -> None:
    import time

    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read() if proc.stderr else "(see its log)"
            pytest.fail(f"the dashboard exited with {proc.returncode}: {said}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer at {url} within {START_S} s")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (a session of its own) that records every request it makes."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    p.requests = []  # type: ignore[attr-defined]
    p.on("request", lambda r: p.requests.append(r.url))
    p.on("websocket", lambda ws: p.requests.append(ws.url))
    p.goto(server["url"])
    p.wait_for_selector(".run-button", timeout=WAIT_MS)
    yield p
    context.close()


def set_society(page, population: int = N, days: int = DAYS, seed: int = SEED) -> None:
    for label, value in (("Citizens", population), ("Days", days), ("Seed", seed)):
        field = page.get_by_label(label, exact=True)
        field.fill(str(value))
        field.press("Enter")


def run(page) -> None:
    page.locator(".run-button").click()
    page.wait_for_selector(".headline-approval_mean .headline-value", timeout=WAIT_MS)


def headline(page, column: str) -> str:
    return page.locator(f".headline-{column} .headline-value").inner_text()


def expect(locator):
    """Playwright's assertions, which wait for the page to get there (imported when first used)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def pick_preset(page, name: str) -> None:
    """Policy A's preset, from the sidebar's list (a menu the page opens over everything)."""
    page.locator(".controls .preset .v-field").click()
    page.locator(".v-select__content .v-list-item", has_text=name).click()
    expect(page.locator(".controls .preset .v-select__selection-text")).to_have_text(name, timeout=WAIT_MS)


def slide_to_max(page, scope: str, knob: str) -> None:
    thumb = page.locator(f"{scope} .knob-{knob} [role=slider]").first
    thumb.focus()
    thumb.press("End")
    page.wait_for_selector(f"{scope} .knob-{knob} .moved", timeout=WAIT_MS)


# ------------------------------------------------------------------ the page
@needs_chromium
def test_the_page_renders_offline(page, server):
    """Every request the page makes (files, websocket) goes to the server itself."""
    page.wait_for_selector(".preset-description", timeout=WAIT_MS)
    assert "vaccine passport" in page.locator(".preset-description").inner_text()
    assert page.locator(".controls .knob").count() == len(knobs.KNOBS)
    assert f"from {limits.MIN_POPULATION:,} to {MAX_POPULATION:,} citizens" in page.inner_text(".controls")
    fetched = [u for u in page.requests if not u.startswith("data:")]  # type: ignore[attr-defined]
    assert fetched  # the page's files and its websocket: a data: URL carries its content
    assert {urlparse(u.removeprefix("blob:")).netloc for u in fetched} == {f"127.0.0.1:{server['port']}"}


@needs_chromium
def test_a_run_shows_the_models_numbers(page):
    set_society(page)
    run(page)
    expected = reference().metrics
    assert percent(headline(page, "approval_mean")) == pytest.approx(expected["approval_mean"][-1], abs=5e-5)
    assert float(headline(page, "score_mean").replace(",", "")) == pytest.approx(
        expected["score_mean"][-1], abs=0.05)
    assert page.locator(".figure-scores img").count() == 1  # the report's figures, drawn
    assert page.locator(".figure-scores img").get_attribute("alt") == "Figure: Score distribution over time"
    assert page.locator(".main img:not([alt])").count() == 0
    shown = page.inner_text(".main")
    assert f"{N:,} citizens, {DAYS} days, seed {SEED}" in shown
    # labels, not the metrics' column names; code set as code, not Markdown's backticks; no file path
    card = page.locator(".headline-approval_mean").inner_text().split("\n")
    assert card == [headline(page, "approval_mean"), "approve of the system"]
    assert "approval_mean" not in shown and "`" not in shown and "docs/metrics.md" not in shown
    # and the tables under them: the denials' attempts and share refused, as the report has them
    tried = expected["denied_essentials"].sum() + expected["used_essentials"].sum()
    row = page.locator(".table-denials tbody tr").first.locator("td").all_inner_texts()
    assert row == ["essentials", f"{tried:,.0f}", f"{expected['denied_essentials'].sum() / tried:.2%}"]


def download(page, name: str):
    """Press a download button; the file the browser saved (its name and its path)."""
    with page.expect_download(timeout=WAIT_MS) as saved:
        page.get_by_role("button", name=name).click()
    return saved.value.suggested_filename, saved.value.path()


@needs_chromium
def test_the_downloads_are_the_runs_metrics_and_its_scenario(page):
    """The CSV is the run's daily metrics; `scorestate run FILE` with the YAML repeats the run."""
    set_society(page)
    run(page)
    name, path = download(page, "Daily metrics (CSV)")
    assert name.startswith("metrics-") and name.endswith(".csv")
    expected = reference().metrics
    got = pl.read_csv(path)
    assert got.columns == expected.columns and got.height == DAYS
    assert got["approval_mean"].to_list() == pytest.approx(expected["approval_mean"].to_list(), abs=1e-12)
    name, path = download(page, "The scenario (YAML)")
    assert name.startswith("scenario-") and name.endswith(".yaml")
    repeated = ss.simulate(ss.load_scenario(str(path)))
    assert repeated.metrics["approval_mean"].to_list() == expected["approval_mean"].to_list()
    name, _ = download(page, "Daily metrics (CSV)")  # a second press saves the file again
    assert name.endswith(".csv")


@needs_chromium
def test_a_society_field_that_is_not_a_number_keeps_run_off(page):
    """Text that is no whole number is said under its field (not a stale bound) and Run stays off;
    the page's own way of writing numbers, 1,000, is a number."""
    citizens = page.get_by_label("Citizens", exact=True)
    citizens.fill(f"{MAX_POPULATION + 1}")
    expect(page.locator(".bound-refused")).to_have_text(
        [f"Citizens: {MAX_POPULATION + 1:,} asked; this server simulates from 100 to {MAX_POPULATION:,} "
         "citizens a run."], timeout=WAIT_MS)
    for typed in ("abc", "2.5", ""):
        citizens.fill(typed)
        said = "nothing is typed" if not typed else f"'{typed}' is not a whole number"
        expect(page.locator(".bound-refused")).to_have_text(
            [f"Citizens: {said}; expected a whole number from 100 to {MAX_POPULATION:,}, in digits (1,000 "
             "and 1000 both work)."], timeout=WAIT_MS)
        assert page.locator(".run-button").is_disabled()
    set_society(page, days=DAYS, seed=SEED)
    citizens.fill(f"{N:,}")
    expect(page.locator(".bound-refused")).to_have_count(0, timeout=WAIT_MS)
    run(page)
    assert f"{N:,} citizens, {DAYS} days, seed {SEED}" in page.inner_text(".main")
    page.get_by_label("Seed", exact=True).fill("three")
    expect(page.locator(".run-button")).to_be_disabled(timeout=WAIT_MS)
    page.get_by_role("button", name="Compare two policies").click()
    assert page.locator(".compare-button").is_disabled()


@needs_chromium
def test_a_citizen_id_that_is_not_an_id_keeps_the_file_shut(page):
    """Text, a fraction, nothing or an id past the run's: Open the file stays off, a sentence under
    the field says why, and the field keeps its whole label."""
    set_society(page)
    run(page)
    page.get_by_role("button", name="A citizen").click()
    field = page.get_by_label(f"Citizen id (0 to {N - 1:,})", exact=True)
    for typed, said in (("abc", "'abc' is not a whole number"), ("2.5", "'2.5' is not a whole number"),
                        ("", "nothing is typed")):
        field.fill(typed)
        expect(page.locator(".citizen-refused")).to_have_text(
            [f"Citizen id: {said}; expected a whole number from 0 to {N - 1:,}, in digits (1,000 and 1000 "
             "both work)."], timeout=WAIT_MS)
        assert page.locator(".open-citizen").is_disabled()
    field.fill(f"{N:,}")
    expect(page.locator(".citizen-refused")).to_have_text(
        [f"Citizen id: {N:,} is not a citizen of this run; expected an id from 0 to {N - 1:,}."],
        timeout=WAIT_MS)
    assert page.locator(".open-citizen").is_disabled()
    assert page.locator(".citizen-title").count() == 0  # no file was opened, not citizen 0's either
    field.fill("5")
    expect(page.locator(".open-citizen")).to_be_enabled(timeout=WAIT_MS)
    assert page.locator(".citizen-refused").count() == 0
    page.locator(".open-citizen").click()
    page.wait_for_selector(".citizen-title:has-text('Citizen 5')", timeout=WAIT_MS)


@needs_chromium
def test_a_citizen_outside_the_panel_is_told_what_the_page_can_do(page):
    """A society larger than the ledger's panel: the file of a citizen it did not follow says so in
    the page's terms, and offers followed citizens, whose files are whole."""
    from scorestate.ledger import Ledger
    from scorestate.scenario.load import load_scenario

    panel_size = load_scenario("essay").ledger.panel_size
    assert panel_size < MAX_POPULATION
    followed = set(Ledger(MAX_POPULATION, "panel", panel_size, SEED, sink=lambda b: None,
                          flush_rows=1).index.tolist())
    outside = next(c for c in range(MAX_POPULATION) if c not in followed)
    set_society(page, population=MAX_POPULATION)
    run(page)
    page.get_by_role("button", name="A citizen").click()
    page.get_by_label("Citizen id", exact=False).fill(str(outside))
    page.locator(".open-citizen").click()
    page.wait_for_selector(f".citizen-title:has-text('Citizen {outside}')", timeout=WAIT_MS)
    note = page.locator(".not-followed").inner_text()
    assert f"Citizen {outside} is not among the {panel_size:,} citizens this run follows in full" in note
    assert "--set" not in note and "`" not in note and "rerun" not in note
    hint = "From the command line, scorestate run with --set ledger.retention=full keeps every citizen's file"
    assert hint in page.inner_text(".main")
    offered = page.locator(".followed").first
    who = int(offered.inner_text().split()[-1])
    assert who in followed
    offered.click()
    page.wait_for_selector(f".citizen-title:has-text('Citizen {who}')", timeout=WAIT_MS)
    assert page.locator(".not-followed").count() == 0
    assert page.get_by_label("Citizen id", exact=False).input_value() == str(who)


@needs_chromium
def test_a_knob_the_presets_sharing_leaves_without_effect_says_so(page):
    """rongcheng's centre hears no platform, the source of who is whose friend: guilt by
    association moved up there scores nobody, and the page says why rather than showing a knob
    that seems to do nothing."""
    pick_preset(page, "rongcheng")
    set_society(page, N, DAYS)
    slide_to_max(page, ".controls", "association")
    run(page)
    expect(page.locator(".note.unheard")).to_have_text(
        ["Guilt by association does nothing while policy.sharing.platform (the source of who is whose "
         "friend) is off (phase initial): the preset's data sharing decides what the centre knows."],
        timeout=WAIT_MS)
    page.get_by_role("button", name="Compare two policies").click()  # a comparison says it of A
    page.locator(".compare-button").click()
    expect(page.locator(".note.unheard", has_text="A: guilt by association does nothing")).to_have_count(
        1, timeout=WAIT_MS)
    page.get_by_role("button", name="The society").click()
    pick_preset(page, "western-soft")  # its platform shares from day 0
    slide_to_max(page, ".controls", "association")
    run(page)
    expect(page.locator(".note.unheard")).to_have_count(0, timeout=WAIT_MS)


@needs_chromium
def test_removing_the_dissent_penalty_ends_the_chilling(page):
    """Chilling is would-be dissent held back by the penalty: with no penalty there is none."""
    before, after = reference().metrics["chilling"][-1], reference(NO_DISSENT_PENALTY).metrics["chilling"][-1]
    assert before > 0 and after == 0  # the model's own direction, at this size and seed
    set_society(page)
    slide_to_max(page, ".controls", "dissent")  # the slider runs from -200 to 0
    run(page)
    assert "penalty for dissent (points): 0 (preset -50)" in page.locator(".run-title").inner_text()
    assert percent(headline(page, "chilling")) == 0


@needs_chromium
def test_compare_is_zero_for_one_policy_and_not_for_two(page):
    set_society(page)
    page.get_by_role("button", name="Compare two policies").click()
    page.locator(".compare-button").click()
    page.wait_for_selector(".compare-dissent_rate", timeout=WAIT_MS)
    assert page.locator(".identical").count() == 1
    diffs = page.locator(".diff").all_inner_texts()
    assert diffs and set(diffs) <= {"0", "-"}

    slide_to_max(page, ".policy-b", "dissent")
    seeds = page.locator(".v-input", has_text="Replicates (paired seeds)").locator("[role=slider]").first
    seeds.focus()
    for _ in range(5 - 3):  # from 5 seeds, each variance reduction gets a range
        seeds.press("ArrowRight")
    expect(page.locator(".v-input", has_text="confidence intervals: 5")).to_have_count(1, timeout=WAIT_MS)
    page.locator(".compare-button").click()
    page.wait_for_selector(".compare-b:has-text('penalty for dissent')", timeout=WAIT_MS)
    # the browser gets the new result's parts one by one: the heading can come before the table
    expect(page.locator(".compare-dissent_rate .diff")).not_to_have_text("0", timeout=WAIT_MS)
    a, b = reference(), reference(NO_DISSENT_PENALTY)
    expected = b.final["dissent_rate"] - a.final["dissent_rate"]
    assert expected > 0  # without the penalty, more citizens speak out
    shown = page.locator(".compare-dissent_rate .diff").inner_text()  # in percentage points, as "+1.20 pp"
    assert re.fullmatch(r"\+\d+\.\d\d pp", shown), shown
    assert float(shown.removesuffix(" pp")) / 100 == pytest.approx(expected, abs=5e-5)
    # labelled and printed as the society tab's numbers are: no column names, no 1e-06
    row = page.locator(".compare-dissent_rate td").all_inner_texts()
    assert row[0] == "voiced dissent on the last day"
    assert row[1:3] == [f"{100 * a.final['dissent_rate']:.2f}%", f"{100 * b.final['dissent_rate']:.2f}%"]
    table = page.locator(".compare-approval_mean").locator("xpath=ancestor::table").inner_text()
    assert "_" not in table and not re.search(r"\de[-+]\d", table)
    # the note on rough variance reductions (fewer than 5 seeds) speaks of a column the table has
    assert "variance reductions are rough" in page.inner_text(".main")
    assert "spans about ×/÷9.6" in page.inner_text(".main")
    assert page.locator("th", has_text="variance reduction").count() == 1
    assert page.locator(".reduction").count() == page.locator(".diff").count()
    reductions = page.locator("td.reduction").all_inner_texts()
    assert any(re.fullmatch(r"[\d,.]+× \([\d,.]+–([\d,.]+|∞)\)", r) for r in reductions), reductions
    # the citizens whose fate differs come from one seed's runs, and the page says so
    expect(page.locator(".fates-caveat")).to_contain_text("From the first seed alone", timeout=WAIT_MS)
    assert page.locator(".identical").count() == 0
    assert page.locator(".figure-difference img").count() == 1


@needs_chromium
def test_a_citizens_file_lists_their_events(page):
    ledger = reference().ledger.with_columns(pl.col("kind").cast(pl.String))
    events = ledger.filter(pl.col("kind").is_in(EVENTS)).group_by("citizen").len().sort(
        ["len", "citizen"], descending=[True, False])
    citizen, count = events.row(0)
    assert count > 0
    set_society(page)
    run(page)
    page.get_by_role("button", name="A citizen").click()
    field = page.get_by_label("Citizen id", exact=False)
    field.fill(str(citizen))
    field.press("Enter")
    page.locator(".open-citizen").click()
    page.wait_for_selector(f".citizen-title:has-text('Citizen {citizen}')", timeout=WAIT_MS)
    assert page.locator(".citizen-events").inner_text().startswith(f"{count:,} events")
    assert page.locator(".event-row").count() == count
    # the score's change, split as explain splits it: its parts add up to the whole
    line = page.locator(".citizen-score").inner_text()
    parts = re.search(r"\(([-+][\d.]+): events ([-+][\d.]+), appeals ([-+][\d.]+), guilt by association "
                      r"([-+][\d.]+), drift and clipping ([-+][\d.]+)\)", line)
    assert parts, line
    total, *split = (float(x) for x in parts.groups())
    assert sum(split) == pytest.approx(total, abs=0.25)
    assert page.locator(".notable").count() > 0  # citizens worth a look, from the ledger


@needs_chromium
def test_a_request_above_the_bounds_is_refused(page):
    set_society(page, population=MAX_POPULATION + 1, days=MAX_DAYS + 1)
    for what in ("citizens a run", "days a run"):  # each field's message, once the page has it
        page.wait_for_selector(f".bound-refused:has-text('{what}')", timeout=WAIT_MS)
    refusals = " ".join(page.locator(".bound-refused").all_inner_texts())
    assert f"to {MAX_POPULATION:,} citizens" in refusals and f"to {MAX_DAYS:,} days" in refusals
    assert page.locator(".run-button").is_disabled()
    page.get_by_role("button", name="Compare two policies").click()
    assert page.locator(".compare-button").is_disabled()
    assert page.locator(".progress").count() == 0 and page.locator(".headline").count() == 0


@needs_chromium
def test_ctrl_c_stops_the_server_and_removes_its_stores(server, page):
    set_society(page)
    run(page)  # a run lands in a store in the server's temporary folder
    assert list(server["tmp"].glob("scorestate-dashboard-*"))
    proc = server["proc"]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "dashboard stopped" in err and "Traceback" not in err
    assert f"127.0.0.1:{server['port']}" in out
    assert not list(server["tmp"].glob("scorestate-dashboard-*"))


# ------------------------------------------------------------------ long runs: Stop, the queue, a closed tab
@pytest.fixture(scope="module")
def busy_server(tmp_path_factory) -> Iterator[dict]:
    """A server of its own (one run at a time) that allows runs long enough to be caught mid-way;
    its log goes to a file, so that a test can read it (a pipe nobody reads would fill up)."""
    tmp = tmp_path_factory.mktemp("dashboard-busy-tmp")
    log = tmp.parent / f"{tmp.name}.log"
    with log.open("w") as sink:
        proc, url, port = start_dashboard(tmp, LONG_POPULATION, LONG_DAYS,
                                          stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield {"url": url, "port": port, "proc": proc, "tmp": tmp, "log": log}
        finally:
            stop_dashboard(proc)


@pytest.fixture
def open_page(browser, busy_server):
    """Pages on the busy server, each in a context of its own (a browser of its own: its own session).
    Left open at the end, a page is closed as a tab is, so that its session and its runs end
    there and do not hold the next test's turn."""
    opened = []

    def new_page():
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        p = context.new_page()
        opened.append((context, p))
        p.goto(busy_server["url"])
        p.wait_for_selector(".run-button", timeout=WAIT_MS)
        return p

    yield new_page
    for context, p in opened:
        if not p.is_closed():
            with p.expect_event("close"):
                p.close(run_before_unload=True)
        context.close()


def stores(server: dict) -> set:
    """The run folders on the server's disk, over all sessions (each holds one run's store)."""
    return {f for root in server["tmp"].glob("scorestate-dashboard-*") for f in root.iterdir()}


def wait_until(condition, what: str, timeout_ms: int = CALLED_OFF_MS) -> None:
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not so after {timeout_ms / 1000:.0f} s")
        time.sleep(0.1)


def start_long_run(page, server: dict):
    """Start a LONG run and wait until it is under way; its folder, with the store it is writing."""
    before = stores(server)
    set_society(page, LONG_POPULATION, LONG_DAYS)
    page.locator(".run-button").click()
    page.wait_for_selector(f".progress .status:has-text('of {LONG_DAYS:,}')", timeout=WAIT_MS)
    (folder,) = stores(server) - before
    assert (folder / "runs.duckdb").exists()
    return folder


WAITING = ".progress .status:has-text('waiting for another run to finish (this server runs 1 at a time)')"


@needs_chromium
def test_stop_ends_a_run_and_leaves_no_store(open_page, busy_server):
    page = open_page()
    before = stores(busy_server)
    folder = start_long_run(page, busy_server)
    # the bar fills to the fraction done, and the page no longer asks to press Run
    bar = page.locator(".progress [role=progressbar]")
    wait_until(lambda: float(bar.get_attribute("aria-valuenow") or 0) > 0, "the bar shows the fraction done")
    assert float(bar.get_attribute("aria-valuenow")) < 100
    assert "then press Run" not in page.inner_text(".main")
    page.locator(".progress").get_by_role("button", name="Stop").click()
    page.wait_for_selector(".note:has-text('The run was stopped.')", timeout=CALLED_OFF_MS)
    page.wait_for_selector(".progress", state="detached", timeout=CALLED_OFF_MS)
    assert page.locator(".headline").count() == 0
    wait_until(lambda: not folder.exists(), "the stopped run's folder is removed")
    assert not stores(busy_server) - before  # nothing half-written is left
    # the page is usable again and the server's turn was given back: the next run lands
    assert page.locator(".run-button").is_enabled()
    set_society(page, SHORT_POPULATION, SHORT_DAYS)
    run(page)
    expect(page.locator(".main")).to_contain_text(f"{SHORT_POPULATION:,} citizens, {SHORT_DAYS} days")
    expect(page.locator(".note", has_text="was stopped")).to_have_count(0)
    assert len(stores(busy_server) - before) == 1


@needs_chromium
def test_stop_while_the_figures_are_drawn_keeps_no_result(open_page, busy_server):
    """The last day is past, but the run is not on the page yet: Stop still calls it off."""
    page = open_page()
    before = stores(busy_server)
    set_society(page, SHORT_POPULATION, SHORT_DAYS)
    page.locator(".run-button").click()
    page.wait_for_selector(".progress .status:has-text('drawing the figures')", timeout=WAIT_MS)
    page.locator(".progress").get_by_role("button", name="Stop").click()
    page.wait_for_selector(".note:has-text('The run was stopped.')", timeout=CALLED_OFF_MS)
    page.wait_for_selector(".progress", state="detached", timeout=CALLED_OFF_MS)
    assert page.locator(".headline").count() == 0  # no result under "The run was stopped."
    wait_until(lambda: not stores(busy_server) - before, "the stopped run's folder is removed")


@needs_chromium
def test_a_second_browser_waits_its_turn_and_both_get_their_run(open_page, busy_server):
    first, second = open_page(), open_page()
    set_society(first, QUEUED_POPULATION, QUEUED_DAYS, seed=5)
    set_society(second, SHORT_POPULATION, SHORT_DAYS, seed=6)
    first.locator(".run-button").click()
    first.wait_for_selector(f".progress .status:has-text('of {QUEUED_DAYS:,}')", timeout=WAIT_MS)
    second.locator(".run-button").click()
    second.wait_for_selector(f"{WAITING}, .headline-approval_mean", timeout=WAIT_MS)  # whichever comes
    assert second.locator(WAITING).count() == 1, "the second run did not wait for the first"
    assert first.locator(".progress").count() == 1  # the first run is still going meanwhile
    for p in (first, second):
        p.wait_for_selector(".headline-approval_mean .headline-value", timeout=WAIT_MS)
        p.wait_for_selector(".progress", state="detached", timeout=WAIT_MS)
    # each page shows its own run, not the other's
    for p, society in ((first, f"{QUEUED_POPULATION:,} citizens, {QUEUED_DAYS:,} days, seed 5"),
                       (second, f"{SHORT_POPULATION:,} citizens, {SHORT_DAYS} days, seed 6")):
        expect(p.locator(".main")).to_contain_text(society)
    assert "seed 6" not in first.inner_text(".main") and "seed 5" not in second.inner_text(".main")
    for p in (first, second):
        assert p.locator(".note", has_text="stopped").count() == 0


@needs_chromium
def test_closing_a_tab_calls_its_run_off_and_removes_its_stores(open_page, busy_server):
    before = stores(busy_server)
    closing, staying = open_page(), open_page()
    set_society(closing, SHORT_POPULATION, SHORT_DAYS)
    run(closing)
    (finished,) = stores(busy_server) - before  # a run the closing page made and still shows
    running = start_long_run(closing, busy_server)
    set_society(staying, SHORT_POPULATION, SHORT_DAYS)
    staying.locator(".run-button").click()
    staying.wait_for_selector(WAITING, timeout=WAIT_MS)  # the long run holds the turn

    closing.close(run_before_unload=True)  # as a tab is closed
    # the long run is called off (left going, it would hold the turn for minutes), so the other
    # page's run gets the turn and lands
    staying.wait_for_selector(".headline-approval_mean .headline-value", timeout=CALLED_OFF_MS)
    wait_until(lambda: not finished.exists() and not running.exists(), "the closed page's stores are removed")
    (kept,) = stores(busy_server) - before  # the page still open keeps its run
    assert kept not in (finished, running)
    staying.wait_for_selector(".figure-scores img", timeout=WAIT_MS)
    assert "Traceback" not in busy_server["log"].read_text()  # the calling off was no failure


@needs_chromium
def test_a_presets_warm_up_counts_against_the_bounds(open_page, busy_server):
    """court-blacklist lives eight years before day 0: with them, citizens x days past the server's
    budget are refused with one sentence that says how many citizens fit, and nothing runs."""
    assert WARM_MOST < LONG_POPULATION  # without the warm-up, LONG_POPULATION x WARM_DAYS would run
    page = open_page()
    before = stores(busy_server)
    pick_preset(page, WARM_PRESET)
    set_society(page, LONG_POPULATION, WARM_DAYS)
    sentence = (f"{WARM_PRESET} lives {WARM_UP_DAYS:,} days of warm-up before day 0: with {WARM_DAYS:,} "
                f"days, this server simulates at most {WARM_MOST:,} of its citizens a run.")
    expect(page.locator(".bound-refused")).to_have_text([sentence], timeout=WAIT_MS)  # that one alone
    expect(page.locator(".bounds")).to_contain_text(  # the sidebar's caption says so too
        f"up to {WARM_MOST:,} of its citizens for {WARM_DAYS:,} days")
    assert page.locator(".run-button").is_disabled()
    page.get_by_role("button", name="Compare two policies").click()
    assert page.locator(".compare-button").is_disabled()
    assert page.locator(".progress").count() == 0 and page.locator(".headline").count() == 0
    assert not stores(busy_server) - before  # nothing ran
    # exactly the budget may run: the refusal goes and the button comes on (it is not pressed)
    page.get_by_role("button", name="The society").click()
    set_society(page, WARM_MOST, WARM_DAYS)
    expect(page.locator(".bound-refused")).to_have_count(0, timeout=WAIT_MS)
    assert page.locator(".run-button").is_enabled()



@needs_chromium
def test_a_preset_with_a_warm_up_runs_it_before_day_0(open_page):
    """court-blacklist on the page lives its eight years first: ten days later the list stands as
    a run made directly gives it (a list started empty would have nobody on it before the courts'
    delay of 120 days)."""
    page = open_page()
    pick_preset(page, WARM_PRESET)
    set_society(page, 2_000, 10)
    run(page)
    expected = ss.simulate(resolve(Arm(WARM_PRESET, WARM_PRESET, ()), 2_000, 10, SEED)).final
    assert expected["blacklist_share"] > 0
    assert percent(headline(page, "blacklist_share")) == pytest.approx(expected["blacklist_share"], abs=5e-5)


@needs_chromium
def test_stop_during_the_warm_up_ends_the_run_and_leaves_no_store(open_page, busy_server):
    """The warm-up's days are days of the run for Stop: pressed before day 0, it calls the run
    off at once (eight years of 100,000 citizens would hold the server's turn for a while)."""
    page = open_page()
    before = stores(busy_server)
    pick_preset(page, WARM_PRESET)
    set_society(page, LONG_POPULATION, 10)
    page.locator(".run-button").click()
    page.wait_for_selector(".progress .status:has-text('warming up')", timeout=WAIT_MS)
    assert "days before day 0" in page.inner_text(".progress .status")
    page.locator(".progress").get_by_role("button", name="Stop").click()
    page.wait_for_selector(".note:has-text('The run was stopped.')", timeout=CALLED_OFF_MS)
    page.wait_for_selector(".progress", state="detached", timeout=CALLED_OFF_MS)
    assert page.locator(".headline").count() == 0
    wait_until(lambda: not stores(busy_server) - before, "the stopped run's folder is removed")
    assert page.locator(".run-button").is_enabled()
    assert "Traceback" not in busy_server["log"].read_text()


# ------------------------------------------------------------------ the command line
runner = CliRunner()


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "0"], "--port is 0; expected a port number from 1 to 65,535"),
    (["--port", "70000"], "--port is 70000"),
    (["--max-population", "0"], "--max-population is 0; expected a whole number from 100"),
    (["--max-population", "-5"], "--max-population is -5"),
    (["--max-days", "0"], "--max-days is 0; expected a whole number from 1 to 32,767"),
    (["--max-runs", "9"], "--max-runs is 9; expected a whole number from 1 to 8"),
    (["--host", "192.0.2.1"], "--host 192.0.2.1 --port"),  # TEST-NET: no address of this machine
])
def test_bad_options_are_one_message(args, message):
    r = runner.invoke(app, ["dashboard", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert r.output.count("scorestate: error:") == 1


def test_a_port_in_use_is_one_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = runner.invoke(app, ["dashboard", "--port", str(port)])
    assert r.exit_code == 2, r.output
    assert f"--port {port}: the port is in use" in r.output and "Traceback" not in r.output


def test_the_commands_defaults_are_the_pages():
    assert cli_dashboard.DEFAULT_MAX_POPULATION == limits.DEFAULT_MAX_POPULATION
    assert cli_dashboard.DEFAULT_MAX_DAYS == limits.DEFAULT_MAX_DAYS
    assert cli_dashboard.DEFAULT_MAX_RUNS == limits.DEFAULT_MAX_RUNS


# ------------------------------------------------------------------ bounds, knobs, turns
def test_bounds_from_the_environment_are_checked():
    got = limits.from_environ({limits.ENV_MAX_POPULATION: "5_000", limits.ENV_MAX_DAYS: "60"})
    assert (got.max_population, got.max_days, got.max_runs) == (5_000, 60, limits.DEFAULT_MAX_RUNS)
    with pytest.raises(ScorestateError, match=f"{limits.ENV_MAX_DAYS} is 0; expected"):
        limits.from_environ({limits.ENV_MAX_DAYS: "0"})
    with pytest.raises(ScorestateError, match=f"{limits.ENV_MAX_RUNS} is 'two'; expected a whole number"):
        limits.from_environ({limits.ENV_MAX_RUNS: "two"})
    assert got.problems(5_000, 60, 0) == []
    assert len(got.problems(5_001, 61, -1)) == 3


def test_a_warm_up_counts_against_a_budget_of_citizen_days():
    """citizens x (days + warm-up days) at most max_population x max_days: exactly the budget runs,
    one citizen more is refused with one sentence; the number of citizens is rounded down."""
    bounds = limits.Limits()  # 100,000 citizens x 730 days: 73,000,000 citizen-days
    court = {"preset": "court-blacklist", "warm_up_days": 2_920}
    assert bounds.problems(20_000, 730, 0, **court) == []  # 20,000 x 3,650 = the budget
    assert bounds.problems(20_001, 730, 0, **court) == [
        "court-blacklist lives 2,920 days of warm-up before day 0: with 730 days, this server simulates "
        "at most 20,000 of its citizens a run."]
    assert bounds.problems(100_000, 730, 0) == []  # the same request without a warm-up
    with pytest.raises(ScorestateError, match="at most 20,000 of its citizens"):
        bounds.refuse(20_001, 730, 0, **court)
    uneven = limits.Limits(2_000, 100)  # 200,000 citizen-days; 130 days a run: 1,538.46 citizens
    assert uneven.problems(1_538, 100, 0, preset="p", warm_up_days=30) == []
    assert uneven.problems(1_539, 100, 0, preset="p", warm_up_days=30) == [
        "p lives 30 days of warm-up before day 0: with 100 days, this server simulates at most 1,538 of "
        "its citizens a run."]
    assert uneven.most_population(100, 30) == 1_538 and uneven.most_population(100) == 2_000


def test_without_a_warm_up_the_bounds_are_as_they_were():
    """No warm-up: the two bounds alone, each with its own message, as before there were warm-ups."""
    bounds = limits.Limits(2_000, 100)
    assert bounds.problems(2_000, 100, 0, preset="essay", warm_up_days=0) == []
    assert bounds.problems(2_000, 100, 0) == []
    assert bounds.problems(2_001, 100, 0, preset="essay", warm_up_days=0) == [
        "Citizens: 2,001 asked; this server simulates from 100 to 2,000 citizens a run."]
    assert bounds.problems(2_000, 101, 0, preset="essay", warm_up_days=0) == [
        "Days: 101 asked; this server simulates from 1 to 100 days a run."]


def test_a_warm_up_no_request_fits_says_so():
    court = {"preset": "court-blacklist", "warm_up_days": 2_920}
    # 300,000 citizen-days: 100 citizens fit 80 days after the warm-up, not 100
    assert limits.Limits(3_000, 100).problems(100, 100, 0, **court) == [
        "court-blacklist lives 2,920 days of warm-up before day 0: with 100 days, this server cannot "
        "simulate even 100 of its citizens; ask for at most 80 days."]
    assert limits.Limits(3_000, 100).problems(100, 80, 0, **court) == []
    # 200,000 citizen-days: not even the warm-up of 100 citizens fits
    assert limits.Limits(2_000, 100).problems(100, 1, 0, **court) == [
        "court-blacklist lives 2,920 days of warm-up before day 0: this server cannot simulate even 100 "
        "of its citizens for a day (at most 200,000 citizen-days a run, the warm-up's included)."]


def test_the_server_counts_a_presets_warm_up_in_run_and_compare(monkeypatch):
    """The warm-up is the preset's own; a run or either policy of a comparison past the budget is
    refused before anything is built, whatever the page sent."""
    from scorestate.scenario.load import load_scenario

    assert runs.warm_up_days("court-blacklist") == load_scenario("court-blacklist").run.warm_up_days == 2_920
    assert runs.warm_up_days("essay") == 0
    monkeypatch.setenv(limits.ENV_MAX_POPULATION, "100000")
    monkeypatch.setenv(limits.ENV_MAX_DAYS, "730")
    runs.limits.cache_clear()
    essay = runs.Policy.of("essay", knobs.preset_values("essay"))
    court = runs.Policy.of("court-blacklist", knobs.preset_values("court-blacklist"))
    too_many = runs.Society(20_001, 730, 0)
    try:
        runs.scenario_for(essay, too_many)  # no warm-up: far within the bounds
        assert runs.scenario_for(court, runs.Society(20_000, 730, 0)).run.warm_up_days == 2_920
        with pytest.raises(ScorestateError, match="court-blacklist lives 2,920 days of warm-up before day 0: "
                                                  "with 730 days, this server simulates at most 20,000"):
            runs.scenario_for(court, too_many)

        def never(*_):
            raise AssertionError("a refused request reached the gate")

        for a, b in ((court, essay), (essay, court)):
            with pytest.raises(ScorestateError, match="at most 20,000 of its citizens"):
                runs.compare(a, b, too_many, 2, never, never)
    finally:
        runs.limits.cache_clear()


def test_a_run_past_the_bounds_is_refused_before_anything_is_built(monkeypatch):
    monkeypatch.setenv(limits.ENV_MAX_POPULATION, "1000")
    runs.limits.cache_clear()
    try:
        with pytest.raises(ScorestateError, match="Citizens: 1,001 asked"):
            runs.scenario_for(runs.Policy.of("essay", knobs.preset_values("essay")),
                              runs.Society(1_001, 10, 0))
    finally:
        runs.limits.cache_clear()


def test_untouched_knobs_leave_every_preset_as_shipped():
    from scorestate.scenario.load import preset_names

    for preset in preset_names():
        assert knobs.overrides(preset, knobs.preset_values(preset)) == ()
    moved = {**knobs.preset_values("baseline"), "appeals": True}
    assert knobs.overrides("baseline", moved) == (("policy.blacklist.appeals.rate", knobs.ESSAY_APPEAL_RATE),)


def test_a_moved_knob_holds_through_the_phases():
    """The essay sets the alcohol penalty on day 30; a moved knob holds from day 0, after it too."""
    from scorestate.scenario.load import phase_policies

    values = {**knobs.preset_values("essay"), "alcohol": -12.0, "threshold": 800, "leniency": False}
    policy = runs.Policy.of("essay", values)
    scenario = resolve(Arm("essay", "essay", policy.overrides()), 200, 60, 0)
    for _, p, _ in phase_policies(scenario):
        assert p.scoring.points["alcohol"] == -12.0
        assert p.blacklist.entry["score"] == "score < 800" and "score >= 800" in p.blacklist.exit
        assert p.leniency.penalty_multiplier == [1.0, 1.0, 1.0] and p.blacklist.exempt == "false"


def test_a_waiting_request_is_told_and_can_be_called_off():
    gate = runs.Gate(1)
    said: list[str] = []
    with (gate.turn(lambda text, _: said.append(text), lambda: True), pytest.raises(runs.Stopped),
          gate.turn(lambda text, _: said.append(text), lambda: False)):
        pass
    assert said == ["waiting for another run to finish (this server runs 1 at a time)"]
    with gate.turn(lambda text, _: said.append(text), lambda: True):  # the slot was given back
        pass


def test_what_a_forged_message_could_send_is_refused_or_held_to_range():
    """The page's widgets offer only presets and in-range values; the server holds to that too."""
    with pytest.raises(ScorestateError, match="not one of the shipped presets"):
        runs.Policy.of("/etc/passwd", knobs.preset_values("essay"))
    with pytest.raises(ScorestateError, match="knob 'dissent' is 'lots'; expected a number from -200 to 0"):
        knobs.checked({"dissent": "lots"})
    with pytest.raises(ScorestateError, match="unknown knob"):
        knobs.checked({"policy.enabled": False})
    assert knobs.checked({"association": 1e9, "threshold": 612.4, "appeals": 0}) == {
        "association": 20.0, "threshold": 612, "appeals": False}


def test_a_failed_request_is_one_readable_message():
    import solara

    from scorestate.dashboard import state

    status = solara.reactive("day 3 of 40")

    message = "citizen 5,000 is out of range; expected an id from 0 to 999"

    def refused() -> None:
        raise ScorestateError(message)

    def bug() -> None:
        raise KeyError("tier_share_Z")

    assert state._guarded(refused, status).error == message
    assert state._guarded(bug, status).error == ("the request failed unexpectedly (KeyError); the "
                                                 "server's log has the details")
    assert status.value == ""  # the status line is cleared whatever happened
