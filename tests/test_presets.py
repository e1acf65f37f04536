"""The shipped presets: each loads, runs, keeps the shared society, and does what it is named for."""

from __future__ import annotations

import re
from collections import defaultdict
from importlib import resources

import numpy as np
import pytest

import scorestate as ss
from scorestate.engine import DAY, Simulation
from scorestate.scenario.load import preset_names
from scorestate.state import NEVER
from scorestate.vocabulary import EVENT_INDEX, SERVICE_INDEX, SERVICES

NEW_PRESETS = ("western-soft", "rongcheng", "court-blacklist", "health-code")
SOCIETY = ("population", "network", "behaviour", "attitudes")


def bits(*services: str) -> int:
    return sum(1 << SERVICE_INDEX[s] for s in services)


def sim_of(name: str, overrides: dict | None = None, *, population: int = 600, days: int = 30,
           seed: int = 2) -> Simulation:
    scenario = ss.load_scenario(name, {"run.check_invariants": True, **(overrides or {})},
                                population=population, days=days, seed=seed)
    return Simulation(scenario)


# ------------------------------------------------------------------ every preset


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_runs_a_few_days(name: str):
    scenario = ss.load_scenario(name, {"run.check_invariants": True}, population=300, days=6)
    assert scenario.name == name
    assert scenario.description and "\n" not in scenario.description
    result = ss.simulate(scenario)
    assert result.metrics.height == 6 and result.population == 300


def test_the_four_presets_ship_and_are_listed():
    assert set(NEW_PRESETS) <= set(preset_names())
    from typer.testing import CliRunner

    from scorestate.cli import app

    r = CliRunner().invoke(app, ["scenarios"])
    assert r.exit_code == 0
    for name in NEW_PRESETS:
        assert name in r.stdout


@pytest.mark.parametrize("name", NEW_PRESETS)
def test_presets_keep_the_society_of_baseline(name: str):
    """Two presets compare on the same citizens only if neither changes the society."""
    base = ss.load_scenario("baseline")
    scenario = ss.load_scenario(name)
    for section in SOCIETY:
        assert getattr(scenario, section) == getattr(base, section), f"{name} changes {section}"


@pytest.mark.parametrize("name", NEW_PRESETS)
def test_every_number_in_a_preset_carries_a_source(name: str):
    """A number in a preset has a comment on its line or in the comment block just above it."""
    text = resources.files("scorestate.scenario.presets").joinpath(f"{name}.yaml").read_text()
    lines = text.splitlines()
    for k, line in enumerate(lines):
        code = line.split("#", 1)[0]
        if line.lstrip().startswith(("#", "name:", "description:")):
            continue
        if not re.search(r"(?<![A-Za-z_])-?\d", code):
            continue
        above = lines[k - 1].lstrip() if k else ""
        note = line[len(code):] if "#" in line else above if above.startswith("#") else ""
        assert note, f"{name}.yaml line {k + 1} has a number without a source: {line.strip()}"


# ------------------------------------------------------------------ western-soft


def test_western_soft_refuses_flagged_alcohol_and_doubles_interest_for_low_tiers():
    # a spread of starting scores puts some citizens in the low tiers from day 0
    sim = sim_of("western-soft", {"policy.scoring.initial_spread": 300}, population=1500, days=25)
    refused_acts = 0
    for _ in range(25):
        sim.step()
        s = sim.state
        today = sim.day - 1
        # a refused purchase is not made: nobody denied alcohol today bought alcohol today
        refused = (s.denied_today & np.uint16(bits("alcohol"))) != 0
        refused_acts += int(refused.sum())
        assert not np.any(refused & ((s.acts >> EVENT_INDEX["alcohol"]) & 1).astype(bool))
        # flagged on day d (evening), the alcohol gate is shut on days d+1 to d+7: a week
        flagged = (s.alcohol_flagged != NEVER) & (today - s.alcohol_flagged < 7)
        closed = (s.denied & np.uint16(bits("alcohol"))) != 0
        np.testing.assert_array_equal(closed, flagged)
        low = s.tier <= sim.policy.spec.tiers.names.index("C")
        tickets = (s.denied & np.uint16(bits("rail", "flight"))) == bits("rail", "flight")
        np.testing.assert_array_equal(tickets, low)
        loan = sim.prices[SERVICE_INDEX["loan"]]
        np.testing.assert_array_equal(loan[low], 2.0)
        np.testing.assert_array_equal(loan[~low], 1.0)
        other = s.denied & ~np.uint16(bits("alcohol", "rail", "flight"))
        assert not other.any(), "western-soft closes only alcohol, rail and flight"
    assert low.sum() > 0 and refused_acts > 0
    assert not sim.state.blacklisted.any(), "western-soft has no blacklist"
    m = sim.result().metrics
    assert m["denied_alcohol"].sum() == refused_acts
    assert m["alcohol_rate"].sum() < m["alcohol_latent_rate"].sum()


# ------------------------------------------------------------------ court-blacklist


def test_court_blacklist_lists_only_unpaid_judgments_and_blocks_travel():
    # more defaults and a short court delay than the preset's, so judgments come within the
    # test, from an empty list
    sim = sim_of("court-blacklist", {"behaviour.debt_default": 0.003, "run.warm_up_days": 0,
                                     "policy.surveillance.court_delay_days": 5},
                 population=1000, days=60)
    listed_ever = 0
    for _ in range(60):
        sim.step()
        s = sim.state
        # listed exactly when a judgment stands: entry on judgment, removal on performance
        np.testing.assert_array_equal(s.blacklisted, s.judgment)
        assert set(np.unique(s.list_reason[s.blacklisted]).tolist()) <= {0}
        travel = bits("rail", "flight")
        np.testing.assert_array_equal(s.denied, np.where(s.blacklisted, travel, 0).astype(np.uint16))
        listed_ever = max(listed_ever, int(s.blacklisted.sum()))
    assert listed_ever > 0
    assert sim.result().metrics["blacklist_outflow"].sum() > 0, "paying a judgment removes the debtor"
    assert sim.citizens.age.min() >= 18, "minors cannot be listed: none is modelled"


def test_court_blacklist_term_is_two_years_and_extended_for_a_debtor_who_never_pays():
    sim = sim_of("court-blacklist", {"behaviour.debt_default": 0.05, "behaviour.debt_repay": 0.0,
                                     "run.warm_up_days": 0,  # from an empty list
                                     "policy.surveillance.court_delay_days": 1},
                 population=60, days=745)
    listings: dict[int, list[int]] = defaultdict(list)
    terms: dict[int, list[int]] = defaultdict(list)  # the days each term started
    for _ in range(745):
        before = sim.state.blacklisted.copy()
        sim.step()
        today, now = sim.day - 1, sim.state.blacklisted
        assert not (before & ~now).any(), "a debtor who never pays is never let go, not for a day"
        for i in np.flatnonzero(now & ~before):
            listings[int(i)].append(today)
        for i in np.flatnonzero(now):
            if not terms[int(i)] or terms[int(i)][-1] != sim.state.listed_since[i]:
                terms[int(i)].append(int(sim.state.listed_since[i]))
    extended = {i: t for i, t in terms.items() if len(t) > 1}
    assert extended, "someone listed in the first days must reach the end of the term"
    for i, starts in extended.items():
        assert starts[1] - starts[0] == 730, "the standard term is two years, then a new one"
        assert listings[i] == [starts[0]], "listed once: the extension is not a new entry"
    assert sim.result().metrics["blacklist_extended"].sum() == len(extended)
    assert len(terms) > len(extended), "debtors listed later are still within their term"


# ------------------------------------------------------------------ health-code


def test_health_code_gates_yellow_and_red_and_holds_red_for_its_term():
    sim = sim_of("health-code", population=2000, days=110)
    yellow_services, red_services = bits("rail", "flight", "public_services"), bits(
        "rail", "flight", "public_services", "retail", "alcohol", "tobacco", "flat", "car")
    seen = defaultdict(int)
    for _ in range(110):
        listed_since = sim.state.listed_since.copy()
        was_listed = sim.state.blacklisted.copy()
        sim.step()
        s, env = sim.state, sim.columns()
        red = s.blacklisted
        yellow = ~env["health_compliant"] & ~red
        green = ~red & ~yellow
        np.testing.assert_array_equal(s.denied[red], red_services)
        np.testing.assert_array_equal(s.denied[yellow], yellow_services)
        assert not s.denied[green].any(), "a green code opens every gate"
        left = was_listed & ~red
        assert np.all(sim.day - 1 - listed_since[left] >= 28), "red lasts 28 days at least"
        assert np.all(env["health_compliant"][left]), "red turns green only when compliant"
        seen["red"] += int(red.sum())
        seen["yellow"] += int(yellow.sum())
        seen["essentials denied"] += int((s.denied_today & np.uint16(bits("essentials"))).any())
    assert seen["red"] > 0 and seen["yellow"] > 0
    assert seen["essentials denied"] == 0, "the health code never shuts the wallet"
    assert set(np.unique(sim.state.list_reason[sim.state.blacklisted]).tolist()) <= {0}


# ------------------------------------------------------------------ rongcheng

# The published point table entries the model has events for (REFERENCES.md), and the preset's
# assumed +5 for routine volunteering (the table's +30 is for a rare heroic act).
RONGCHENG_TABLE = {"infraction": -5.0, "volunteer": 5.0, "court_judgment": -30.0}


def _scripted_day(sim: Simulation, script: dict[int, tuple[str, ...]]) -> None:
    """One day of the engine's step list, with the centre told exactly what it observed."""
    sim.state.clear_day()
    sim.tally = defaultdict(int)
    for name, mechanism in DAY:
        mechanism(sim)
        if name == "surveillance":
            for citizen, events in script.items():
                mask = sum(1 << EVENT_INDEX[e] for e in events)
                sim.state.observed[citizen] = mask
                sim.state.falsely[citizen] = 0
                sim.state.misattributed[citizen] = 0
    sim.day += 1


def test_rongcheng_moves_a_score_by_exactly_the_published_points():
    sim = sim_of("rongcheng", {"policy.surveillance.camera_misattribution": 0.0,
                               "policy.surveillance.camera_false_match": 0.0},
                 population=400, days=5)
    script = {1: ("infraction",), 2: ("volunteer",), 3: ("court_judgment",),
              4: ("infraction", "volunteer", "court_judgment"), 5: (),
              6: ("alcohol", "tobacco", "gaming", "dissent_online", "health_dose")}  # not in the table
    officials = np.flatnonzero(sim.citizens.rank > 0)
    assert officials.size, "the test needs an official: the table applies to them alike"
    script[int(officials[-1])] = ("infraction", "volunteer")
    for _ in range(3):
        before = sim.state.score.copy()
        _scripted_day(sim, script)
        for citizen, events in script.items():
            expected = sum(RONGCHENG_TABLE.get(e, 0.0) for e in events)
            assert sim.state.points_today[citizen] == expected
            assert sim.state.score[citizen] - before[citizen] == expected, (citizen, events)
    assert sim.state.score[4] == 1000 - 3 * 30
    assert sim.state.score[2] == 1015 and sim.policy.spec.tiers.names[sim.state.tier[2]] == "A"
    assert sim.state.score[3] == 910 and sim.policy.spec.tiers.names[sim.state.tier[3]] == "B"


def test_rongcheng_rewards_high_grades_and_prices_grade_d():
    sim = sim_of("rongcheng", {"policy.scoring.initial_spread": 450}, population=800, days=3)
    sim.step()
    names = sim.policy.spec.tiers.names
    loan = sim.prices[SERVICE_INDEX["loan"]]
    tier = sim.state.tier
    np.testing.assert_array_equal(loan[tier >= names.index("AA")], np.float32(0.9))
    np.testing.assert_array_equal(loan[tier == names.index("D")], np.float32(1.2))
    middle = (tier > names.index("D")) & (tier < names.index("AA"))
    np.testing.assert_array_equal(loan[middle], 1.0)
    assert middle.any() and (tier == 0).any() and (tier >= names.index("AA")).any()
    assert {SERVICES[k] for k in sim.prices} == {"loan"}
