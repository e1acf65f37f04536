"""The data dictionary cannot drift: every column and ledger kind that a run produces is described
in `metric_docs`, the table names nothing that no run produces, what it says about NaN and codes
holds in the data, and docs/metrics.md is what the generator makes from the table now."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import scorestate as ss
from conftest import small_run
from scorestate import docs_gen, metric_docs
from scorestate.engine import RunResult
from scorestate.mechanisms.blacklist import EXIT_APPEAL, EXIT_DISMANTLED, EXIT_SERVED
from scorestate.metrics import GROUP_METRICS, RATE_EVENTS
from scorestate.scenario.load import phase_policies, preset_names
from scorestate.vocabulary import DECISIONS, EVENTS, LEDGER_KINDS, SERVICES

# Every preset, small, with the whole ledger kept. Some columns and kinds appear only in some of
# them: `dose_refused` rows, `blacklist_exit` with value 0 (served) and `blacklist_inflow_red_code`
# in health-code; `dissent_home` rows in essay from day 180 (the smart home). The essay run is
# dismantled on day 190 for `blacklist_exit` with value 1 and `policy_enabled` = 0; it lists by a
# higher score and its appeals are frequent and always upheld, for value 2 (cleared on appeal),
# which a 2,000-citizen essay as shipped does not produce in 200 days; health-code
# seeds the list on day 0 (the seeds stay at least 28 days) so that the innocent shares have
# innocents to count.
RUNS: dict[str, dict[str, object]] = {
    "essay": {"timeline.dismantle_day": 190, "policy.blacklist.entry.score": "score < 900",
              "policy.blacklist.appeals": {"rate": 0.2, "success": 1.0}},
    "health-code": {"policy.blacklist.seed_share": 0.01},
    "court-blacklist": {},
    "western-soft": {},
    "rongcheng": {},
    "baseline": {},
}
POPULATION, DAYS, SEED = 2000, 200, 1

# Entries that no run above produces, each with the reason it cannot be produced cheaply. Empty:
# every column, family and ledger kind of the table appears in these runs.
EXEMPT: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    return {name: small_run(name, {"ledger.retention": "full", **overrides}, population=POPULATION,
                          days=DAYS, seed=SEED)
            for name, overrides in RUNS.items()}


def test_the_runs_cover_every_preset() -> None:
    assert set(RUNS) == set(preset_names())


def _columns(result: RunResult) -> dict[str, list[str]]:
    assert result.ledger is not None
    return {"metrics": result.metrics.columns, "group_metrics": result.group_metrics.columns,
            "ledger": result.ledger.columns}


# ---------------------------------------------------------------- both ways


def test_every_column_of_every_run_is_described_once(runs: dict[str, RunResult]) -> None:
    for name, result in runs.items():
        for table, columns in _columns(result).items():
            for column in columns:
                found = metric_docs.lookup(column, table)  # type: ignore[arg-type]
                assert len(found) == 1, f"{name}: {table} column {column!r} is described by " \
                                        f"{[e.name for e in found]}; add it to metric_docs"
                # a plain name is never also caught by a family of the same table
                families = [e for e in metric_docs.ENTRIES
                            if e.table == table and "<" in e.name and metric_docs.matches(e, column)]
                assert len(families) <= 1 and (not families or found == families), (table, column)


def test_every_ledger_kind_is_described() -> None:
    described = {e.name for e in metric_docs.ENTRIES if e.table == "ledger_kind"}
    assert described == set(LEDGER_KINDS)


def test_every_kind_that_a_run_records_is_described(runs: dict[str, RunResult]) -> None:
    described = {e.name for e in metric_docs.ENTRIES if e.table == "ledger_kind"}
    for name, result in runs.items():
        assert result.ledger is not None
        kinds = set(result.ledger["kind"].cast(pl.String).unique())
        assert kinds <= described, f"{name}: undescribed ledger kinds {kinds - described}"


def test_the_table_names_nothing_that_no_run_produces(runs: dict[str, RunResult]) -> None:
    produced: dict[str, set[str]] = {"metrics": set(), "group_metrics": set(), "ledger": set(),
                                     "ledger_kind": set()}
    for result in runs.values():
        for table, columns in _columns(result).items():
            produced[table] |= set(columns)
        assert result.ledger is not None
        produced["ledger_kind"] |= set(result.ledger["kind"].cast(pl.String).unique())
    unused = [(e.table, e.name) for e in metric_docs.ENTRIES
              if (e.table, e.name) not in EXEMPT
              and not any(metric_docs.matches(e, c) for c in produced[e.table])]
    assert unused == [], "the data dictionary describes what no run produces"
    assert all(any(e.table == t and e.name == n for e in metric_docs.ENTRIES) for t, n in EXEMPT)


def test_the_families_with_a_fixed_domain_are_the_codes(runs: dict[str, RunResult]) -> None:
    assert metric_docs.PLACEHOLDERS["<service>"] == SERVICES
    assert metric_docs.PLACEHOLDERS["<event>"] == RATE_EVENTS
    columns = runs["essay"].metrics.columns
    assert all(f"denied_{s}" in columns for s in SERVICES)
    assert all(f"{e}_rate" in columns and f"{e}_latent_rate" in columns for e in RATE_EVENTS)
    group = [e.name for e in metric_docs.ENTRIES if e.table == "group_metrics"]
    assert group == ["day", "grouping", "group", *GROUP_METRICS]


# ---------------------------------------------------------------- what the table says holds


def _never_nan(table: str) -> list[str]:
    return [e.name for e in metric_docs.ENTRIES if e.table == table and e.undefined.startswith("never")]


def test_columns_said_never_to_be_nan_are_never_nan(runs: dict[str, RunResult]) -> None:
    for name, result in runs.items():
        for table, frame in (("metrics", result.metrics), ("group_metrics", result.group_metrics)):
            for column in frame.columns:
                (entry,) = metric_docs.lookup(column, table)  # type: ignore[arg-type]
                if entry.name in _never_nan(table) and frame.schema[column].is_float():
                    assert not frame[column].is_nan().any(), f"{name}: {table}.{column} has NaN"


def test_the_nan_conditions_hold(runs: dict[str, RunResult]) -> None:
    for name, result in runs.items():
        m, g = result.metrics, result.group_metrics
        listed = m["blacklist_share"] == 0
        assert (m["chilling"].is_nan() == (m["dissent_latent_rate"] == 0)).all(), name
        assert (m["blacklisted_degree_ratio"].is_nan() == listed).all(), name
        assert (m.filter(listed)["innocent_blacklisted_share"] == 0).all(), name
        assert (m.filter(listed)["blacklisted_isolated_share"] == 0).all(), name
        for tier in (c.removeprefix("tier_share_") for c in m.columns if c.startswith("tier_share_")):
            assert (m[f"mean_degree_{tier}"].is_nan() == (m[f"tier_share_{tier}"] == 0)).all(), name
        for group, column in (("urban", "disparate_impact_rural_urban"), ("q5", "disparate_impact_q1_q5")):
            share = g.filter(pl.col("group") == group).sort("day")["blacklist_share"]
            assert (m[column].is_nan() == (share == 0)).all(), (name, column)
        # a group's metrics are NaN only for an empty group
        values = [c for c in GROUP_METRICS if c != "population"]
        empty = g.filter(pl.any_horizontal(pl.col(values).is_nan()))
        assert (empty["population"] == 0).all(), name


def test_the_prices_are_one_without_a_rule_and_nan_without_a_user(runs: dict[str, RunResult]) -> None:
    essay = runs["essay"].metrics  # loan, flat and car are priced from day 30 and until day 190
    for service in ("loan", "flat", "car"):
        before = essay.filter(pl.col("day") < 30)[f"price_{service}"]
        assert ((before == 1) | before.is_nan()).all() and (before == 1).any(), service
        after = essay.filter(pl.col("day") >= 190)[f"price_{service}"]
        assert ((after == 1) | after.is_nan()).all(), service
    assert essay["price_loan"].is_nan().any()


def test_the_group_innocent_share_is_a_share_of_the_group(runs: dict[str, RunResult]) -> None:
    """The daily innocent share is of the listed; the group metric of that name is of the group."""
    result = runs["health-code"]
    m = result.metrics.filter(pl.col("innocent_blacklisted_share") > 0)
    assert m.height > 0, "the seeded run should list innocents"
    g = result.group_metrics.filter(pl.col("grouping") == "settlement")
    innocents = (g.group_by("day").agg((pl.col("innocent_blacklisted_share") * pl.col("population"))
                                       .sum().alias("innocents")))
    both = m.join(innocents, on="day")
    expected = both["innocent_blacklisted_share"] * both["blacklist_share"] * POPULATION
    assert ((both["innocents"] - expected).abs() < 1e-6).all()


def test_the_ledger_codes_are_the_ones_the_table_decodes(runs: dict[str, RunResult]) -> None:
    seen: dict[str, set[int]] = {}
    for name, result in runs.items():
        led = result.ledger
        assert led is not None
        led = led.with_columns(pl.col("kind").cast(pl.String))
        scenario = result.scenario
        reasons = max(len(p.blacklist.entry) for _, p, _ in phase_policies(scenario))
        tiers = len(scenario.policy.tiers.names)
        for kind, rows in led.group_by("kind"):
            (kind,) = kind
            values = set(rows["value"].unique())
            seen.setdefault(kind, set()).update(values)
            decision = kind in DECISIONS
            assert rows["source"].is_null().all() == decision, (name, kind)
            if decision:
                assert (rows["actor"] == -1).all() and not rows["false_attribution"].any(), (name, kind)
            else:
                assert values == {-1}, (name, kind)
                true = rows.filter(~pl.col("false_attribution"))
                assert (true["actor"] == true["citizen"]).all(), (name, kind)
                false = rows.filter(pl.col("false_attribution"))
                assert (false["actor"] != false["citizen"]).all(), (name, kind)
                assert set(false["source"].cast(pl.String)) <= {"camera", "platform"}, (name, kind)
            if kind == "tier_change":
                assert values <= set(range(tiers)), name
            elif kind in ("blacklist_entry", "blacklist_extension"):
                assert values <= set(range(reasons)), name
            elif kind == "blacklist_exit":
                assert values <= {EXIT_SERVED, EXIT_DISMANTLED, EXIT_APPEAL}, name
            elif kind == "denied":
                assert values <= set(range(len(SERVICES))), name
            elif decision:
                assert values == {-1}, (name, kind)
            if kind == "appeal_upheld":
                assert (rows["points"] > 0).all(), name
    assert seen["blacklist_exit"] == {EXIT_SERVED, EXIT_DISMANTLED, EXIT_APPEAL}
    assert set(seen) == set(LEDGER_KINDS)
    assert set(EVENTS) <= set(seen)


def test_a_stored_runs_columns_are_described(tmp_path: Path) -> None:
    scenario = ss.load_scenario("essay", {"ledger.retention": "full"}, population=400, days=40, seed=2)
    stored = ss.open_run(ss.run(scenario, store=tmp_path / "runs.duckdb").run_id,
                         store=tmp_path / "runs.duckdb")
    for table, columns in (("metrics", stored.metrics.columns),
                           ("group_metrics", stored.group_metrics.columns),
                           ("ledger", stored.ledger().columns)):
        assert all(len(metric_docs.lookup(c, table)) == 1 for c in columns), table  # type: ignore[arg-type]


# ---------------------------------------------------------------- the look-ups


def test_describe_fills_in_a_family_and_names_every_table() -> None:
    text = metric_docs.describe("denied_flight")
    assert "family denied_<service>" in text and "attempted flight today" in text
    assert "count of citizens per day" in text and "NaN: never" in text
    assert metric_docs.describe("day").count("day [") == 3  # metrics, group metrics, ledger
    assert "group_metrics" not in metric_docs.describe("blacklist_share", "metrics")
    assert "value: 0 served" in metric_docs.describe("blacklist_exit")
    assert "0 essentials" in metric_docs.describe("value")
    with pytest.raises(KeyError, match="not a column"):
        metric_docs.describe("no_such_column")
    with pytest.raises(ValueError, match="unknown table"):
        metric_docs.lookup("day", "metricz")  # type: ignore[arg-type]


def test_the_table_as_a_frame() -> None:
    frame = metric_docs.frame()
    assert frame.columns == ["table", "name", "kind", "meaning", "undefined", "codes"]
    assert frame.height == len(metric_docs.ENTRIES)
    assert frame.select("table", "name").is_unique().all()
    assert (frame["meaning"].str.len_chars() > 20).all() and (frame["undefined"] != "").all()
    assert metric_docs.frame("ledger_kind").height == len(LEDGER_KINDS)


# ---------------------------------------------------------------- docs/metrics.md


def test_metrics_md_is_what_the_generator_makes_now() -> None:
    expected = docs_gen.metrics_markdown()
    actual = docs_gen.METRICS_OUTPUT.read_text(encoding="utf-8")
    assert actual == expected, ("docs/metrics.md differs from the table in metric_docs.py; run "
                                "`python -m scorestate.docs_gen` and commit the result")


def test_metrics_md_names_every_entry() -> None:
    text = docs_gen.METRICS_OUTPUT.read_text(encoding="utf-8")
    assert all(f"| `{e.name}` |" in text for e in metric_docs.ENTRIES)
    assert "python -m scorestate.docs_gen" in text.splitlines()[0]


def test_a_stale_metrics_md_is_detected_and_regenerated(tmp_path: Path) -> None:
    template = tmp_path / "ODD.template.md"
    template.write_text("# ODD\n\n" + "\n\n".join(docs_gen.MARKERS) + "\n", encoding="utf-8")
    output, metrics = tmp_path / "ODD.md", tmp_path / "dictionary.md"
    args = ["--template", str(template), "--output", str(output), "--metrics-output", str(metrics)]
    assert docs_gen.main(args) == 0
    assert docs_gen.main([*args, "--check"]) == 0
    metrics.write_text("stale\n", encoding="utf-8")
    assert docs_gen.main([*args, "--check"]) == 1
    assert metrics.read_text(encoding="utf-8") == "stale\n"  # --check writes nothing
    assert docs_gen.main(args) == 0
    assert metrics.read_text(encoding="utf-8") == docs_gen.metrics_markdown()
    assert not (tmp_path / docs_gen.METRICS_NAME).exists()  # only where it was asked to go
