"""Each mechanism on its own: small scenarios that switch on one rule and check what it does."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import scorestate as ss
from scorestate.mechanisms import appeals
from scorestate.mechanisms.neighbours import share
from scorestate.vocabulary import SV_ESSENTIALS, SV_LOAN

QUIET = {  # a system that observes nothing and scores nothing unless a test switches it on
    "policy.sharing": {s: False for s in ("payment", "health", "camera", "platform", "court",
                                          "smart_home", "registry")},
}


# the sources whose facts a rule reads: doses (health records), friendships (the platform)
KNOWS_DOSES = {"policy.sharing.health": True}
KNOWS_FRIENDS = {"policy.sharing.platform": True}


def scenario(overrides: dict, population: int = 2000, days: int = 60, seed: int = 3):
    return ss.load_scenario("baseline", {"policy.enabled": True, **QUIET, **overrides},
                            population=population, days=days, seed=seed)


def test_health_gate_on_the_wallet_raises_compliance_with_due_doses():
    reluctant = {"population.traits.health": {"mean": 0.3, "concentration": 4},
                 "behaviour.dose_interval_days": 20, "behaviour.dose_grace_days": 5}
    gate = {**KNOWS_DOSES, "policy.gates.wallet": {"services": ["essentials", "retail"],
                                                   "condition": "not health_compliant"}}
    without = ss.simulate(scenario(reluctant, days=80))
    with_gate = ss.simulate(scenario({**reluctant, **gate}, days=80))
    late = slice(40, None)
    assert with_gate.metrics["wallet_frozen_share"].max() > 0
    assert (with_gate.metrics["health_compliance_rate"][late].mean()
            > without.metrics["health_compliance_rate"][late].mean() + 0.05)
    assert with_gate.metrics["health_dose_rate"].sum() > without.metrics["health_dose_rate"].sum()
    # the push is the gate's, not a preference: the latent dose rate is the same logit without it
    assert with_gate.metrics["health_dose_latent_rate"][late].mean() <= \
        with_gate.metrics["health_dose_rate"][late].mean()


def test_a_frozen_wallet_denies_essentials_until_the_dose_is_taken():
    sim = ss.Simulation(scenario({
        **KNOWS_DOSES, "behaviour.dose_interval_days": 10, "behaviour.dose_grace_days": 0,
        "behaviour.health_dose": {"base": -6.0, "weight": 0.0}, "behaviour.wallet_pressure": 0.0,
        "policy.gates.wallet": {"services": ["essentials"], "condition": "not health_compliant"}},
        days=30))
    for _ in range(25):
        sim.step()
    frozen = (sim.state.denied & (1 << SV_ESSENTIALS)) != 0
    overdue = sim.state.days_since_dose.astype(int) - 10 > 0
    assert frozen.any()
    assert np.array_equal(frozen, overdue)


def test_camera_misattribution_happens_at_about_the_configured_rate():
    rate = 0.2
    s = scenario({"policy.sharing.camera": True, "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0},
                  "policy.surveillance.camera_misattribution": rate,
                  "policy.surveillance.camera_false_match": 0.0,
                  "behaviour.infraction": {"base": -2.0, "weight": -3.0},
                  "policy.scoring.points.infraction": -5, "ledger.retention": "full"}, days=40)
    ledger = ss.simulate(s).ledger.filter(pl.col("kind") == "infraction")
    pinned = ledger.filter(pl.col("false_attribution")).height
    true = ledger.filter(~pl.col("false_attribution")).height
    share = pinned / (pinned + true)
    se = (rate * (1 - rate) / (pinned + true)) ** 0.5
    assert abs(share - rate) < 4 * se
    wrong = ledger.filter(pl.col("false_attribution"))
    assert (wrong["actor"] != wrong["citizen"]).all() and (wrong["actor"] >= 0).all()


def test_camera_false_matches_grow_with_coverage_and_hit_people_who_did_nothing():
    base = {"policy.sharing.camera": True, "policy.surveillance.camera_misattribution": 0.0,
            "policy.surveillance.camera_false_match": 1e-3, "behaviour.infraction": {"base": -30.0},
            "policy.scoring.points.infraction": -5}
    low = ss.simulate(scenario({**base, "policy.surveillance.camera": {"urban": 0.1, "rural": 0.1}}))
    high = ss.simulate(scenario({**base, "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0}}))
    assert high.metrics["false_attributions"].sum() > 3 * low.metrics["false_attributions"].sum()
    assert high.metrics["infraction_rate"].sum() == 0  # nobody committed one
    assert high.metrics["innocent_penalised"].sum() == high.metrics["false_attributions"].sum()


def test_false_matches_and_false_positives_fall_only_on_citizens_who_did_not_act():
    """A false match is an infraction nobody did, a false positive online dissent of a citizen
    who was silent that day: a citizen who did the act is not also flagged falsely for it (which
    had scored the one act twice and called it false). Acts common, false flags common."""
    from scorestate.vocabulary import EV_DISSENT_ONLINE, EV_INFRACTION

    sim = ss.Simulation(scenario({
        "policy.sharing.camera": True, "policy.sharing.platform": True,
        "policy.surveillance.camera": {"urban": 0.5, "rural": 0.5},
        "policy.surveillance.camera_misattribution": 0.0,
        "policy.surveillance.camera_false_match": 0.5, "policy.surveillance.platform_false_positive": 0.5,
        "behaviour.infraction": {"base": 0.0, "weight": 0.0}}, days=5))
    bits = (1 << EV_INFRACTION) | (1 << EV_DISSENT_ONLINE)
    flagged_actors = both = 0
    for _ in range(5):
        sim.step()
        acts, falsely = sim.state.acts.astype(np.int64), sim.state.falsely.astype(np.int64)
        both += int(((acts & falsely & bits) != 0).sum())
        flagged_actors += int(((falsely & bits) != 0).sum())
    assert flagged_actors > 500  # the false flags were drawn often enough to meet the actors
    assert both == 0


def test_a_sighting_misattributed_in_a_region_of_one_is_lost_not_pinned_on_the_actor():
    """With nobody else in the region, a misattributed sighting had gone back to its actor as a
    false attribution: the actor was counted innocent of an act they did."""
    s = scenario({"population.regions": 300, "policy.sharing.camera": True,
                  "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0},
                  "policy.surveillance.camera_misattribution": 1.0,
                  "policy.surveillance.camera_false_match": 0.0,
                  "behaviour.infraction": {"base": -1.0, "weight": 0.0},
                  "policy.scoring.points.infraction": -5, "ledger.retention": "full"},
                 population=300, days=10)
    sim = ss.Simulation(s)
    result = sim.run()
    alone = np.diff(sim.citizens.region_start)[sim.citizens.region] == 1
    assert alone.sum() > 50  # 300 citizens drawn into 300 regions: about a third alone
    pinned = result.ledger.filter(pl.col("false_attribution"))
    assert pinned.height > 100 and (pinned["actor"] != pinned["citizen"]).all()
    assert not alone[pinned["actor"].to_numpy()].any()  # a lone actor's sighting went to nobody
    # every sighting went astray, and those of the lone actors were lost
    assert result.metrics["misattributions"].sum() > result.metrics["false_attributions"].sum()


def test_officials_multiplier_lowers_their_penalties():
    s = scenario({"population.official_local_share": 0.2, "population.official_senior_share": 0.2,
                  "policy.sharing.payment": True, "policy.scoring.points.alcohol": -10,
                  "policy.leniency.penalty_multiplier": [1.0, 0.5, 0.2],
                  "ledger.retention": "full"}, days=20)
    sim = ss.Simulation(s)
    result = sim.run()
    rows = result.ledger.filter(pl.col("kind") == "alcohol")
    rank = sim.citizens.rank[rows["citizen"].to_numpy()]
    points = rows["points"].to_numpy()
    for r, expected in ((0, -10.0), (1, -5.0), (2, -2.0)):
        assert (rank == r).sum() > 0
        assert np.all(points[rank == r] == expected)


def test_correction_takes_a_citizen_off_the_list_after_the_minimum_term():
    s = scenario({"policy.blacklist.seed_share": 0.2,
                  "policy.blacklist.exit": "days_listed >= 20 and corrections >= 2",
                  "policy.sharing.registry": True,
                  "policy.surveillance.registry": {"urban": 1.0, "rural": 1.0},
                  "policy.scoring.points.apology": 10, "behaviour.apology": {"base": -1.5, "weight": 4.0},
                  "ledger.retention": "full"}, days=60)
    sim = ss.Simulation(s)
    seeded = sim.state.blacklisted.copy()
    ledger = sim.run().ledger
    exits = ledger.filter(pl.col("kind") == "blacklist_exit")
    assert exits.height > 0
    assert exits["day"].min() >= 20
    apologies = ledger.filter(pl.col("kind") == "apology")
    for row in exits.iter_rows(named=True):
        done = apologies.filter((pl.col("citizen") == row["citizen"]) & (pl.col("day") <= row["day"]))
        assert done.height >= 2
    # those who never apologised twice are still listed
    counts = apologies.group_by("citizen").len()
    twice = set(counts.filter(pl.col("len") >= 2)["citizen"].to_list())
    never = [c for c in np.flatnonzero(seeded) if c not in twice]
    assert never and sim.state.blacklisted[never].all()


def test_senior_officials_can_be_exempt_from_the_list():
    s = scenario({"population.official_senior_share": 0.3, "policy.sharing.payment": True,
                  "policy.scoring.points.alcohol": -50,
                  "policy.blacklist.entry": {"score": "score < 950"},
                  "policy.blacklist.exempt": "official_rank >= 2"}, days=40)
    sim = ss.Simulation(s)
    result = sim.run()
    senior = sim.citizens.rank == 2
    low = sim.state.score < 950
    assert (low & senior).any() and not sim.state.blacklisted[senior].any()
    assert sim.state.blacklisted[low & ~senior].all()
    assert result.metrics["officials_spared"].sum() > 0


def test_association_penalty_scores_people_by_their_neighbours():
    s = scenario({**KNOWS_FRIENDS, "policy.blacklist.seed_share": 0.0, "policy.scoring.initial_spread": 300,
                  "policy.association": {"penalty": 20.0, "low_tier": "C"}}, days=1)
    sim = ss.Simulation(s)
    before = sim.state.score.copy()
    low_share = None
    sim.state.clear_day()
    for name, step in ss.engine.DAY:
        if name == "scoring":
            low_share = share(sim.state.nbr_low, sim.graph.degree)
        step(sim)
    expected = np.clip(before - 20.0 * low_share, 0, 1300).astype(np.float32)
    assert np.allclose(sim.state.score, expected, atol=1e-3)


def test_appeals_return_points_taken_by_false_attributions():
    base = {"policy.sharing.camera": True, "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0},
            "policy.surveillance.camera_false_match": 5e-3, "behaviour.infraction": {"base": -30.0},
            "policy.scoring.points.infraction": -20}
    no_appeal = ss.simulate(scenario(base))
    appeal = ss.simulate(scenario({**base, "policy.blacklist.appeals": {"rate": 0.2, "success": 1.0}}))
    assert appeal.metrics["appeals_upheld"].sum() > 0
    assert appeal.final["score_mean"] > no_appeal.final["score_mean"]
    assert no_appeal.metrics["appeals_upheld"].sum() == 0


def test_price_rules_read_yesterdays_gates_as_deny_rules_do():
    """`wallet_frozen` is yesterday's wallet gate for every rule of a day, whether or not a deny
    rule read that column first (the new gates are written after every rule is evaluated)."""
    sim = ss.Simulation(scenario({**KNOWS_DOSES, "behaviour.dose_interval_days": 30,
                                  "behaviour.dose_grace_days": 0,
                                  "policy.gates": {
                                      "wallet": {"services": ["essentials"],
                                                 "condition": "not health_compliant"},
                                      "frozen_pay_more": {"services": ["loan"], "action": "price",
                                                          "condition": "wallet_frozen",
                                                          "multiplier": 2.0}}}))
    changed = 0
    while sim.day < 40:
        frozen_yesterday = (sim.state.denied & 1) != 0
        sim.step()
        frozen_today = (sim.state.denied & 1) != 0
        assert np.array_equal((sim.prices.rules & 1) != 0, frozen_yesterday)
        changed += int((frozen_today != frozen_yesterday).sum())
    assert changed > 0  # the wallet gate moved, so the two readings could differ


def test_an_upheld_appeal_takes_a_citizen_off_the_list_only_if_no_entry_reason_stands():
    """Listed for points a camera pinned on them, cleared when the judge returns them; listed
    citizens with a true infraction as well stay listed."""
    listing = {"policy.sharing.camera": True,
               "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0},
               "policy.surveillance.camera_false_match": 5e-3, "behaviour.infraction": {"base": -5.0},
               "policy.scoring.points.infraction": -20, "policy.scoring.initial": 1000.0,
               "policy.scoring.initial_spread": 0,
               "policy.blacklist.entry": {"score": "score < 990"},
               "policy.blacklist.exit": "days_listed >= 1000"}
    base = scenario(listing)
    threshold = 990
    sim = ss.Simulation(scenario({**listing, "policy.blacklist.appeals": {"rate": 0.3, "success": 1.0},
                                  "ledger.retention": "full"}))
    cleared = kept = 0
    while sim.day < base.run.days:
        listed_before = sim.state.blacklisted.copy()
        sim.step()
        upheld = sim.upheld_today
        was_listed = upheld[listed_before[upheld]]
        off = was_listed[~sim.state.blacklisted[was_listed]]
        on = was_listed[sim.state.blacklisted[was_listed]]
        assert (sim.state.score[off] >= threshold).all()
        assert (sim.state.score[on] < threshold).all()
        cleared += off.shape[0]
        kept += on.shape[0]
    assert cleared > 0 and kept > 0
    result = sim.result()
    assert result.metrics["appeals_delisted"].sum() == cleared
    exits = result.ledger.filter((pl.col("kind") == "blacklist_exit") & (pl.col("value") == 2))
    assert exits.height == cleared
    no_appeal = ss.simulate(base)
    assert no_appeal.metrics["appeals_delisted"].sum() == 0
    assert no_appeal.metrics["blacklist_outflow"].sum() == 0


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1000, 4097])
def test_appeals_find_every_carrier_of_false_points_in_id_order(n):
    """The word-at-a-time scan finds exactly the citizens with false points, ragged ends too."""
    rng = np.random.default_rng(n)
    false_points = np.where(rng.random(n) < 0.1, -rng.random(n).astype(np.float32) - 0.5, 0)
    false_points = false_points.astype(np.float32)
    if n:
        false_points[-1] = -1.0  # a carrier in the last, partial word
    assert np.array_equal(appeals._carrying(false_points), np.flatnonzero(false_points < 0))


def test_a_stricter_alcohol_rule_lowers_drinking():
    base = {"policy.sharing.payment": True}
    mild = ss.simulate(scenario({**base, "policy.scoring.points.alcohol": -1}, days=90))
    strict = ss.simulate(scenario({**base, "policy.scoring.points.alcohol": -40}, days=90))
    late = slice(30, None)
    assert strict.metrics["alcohol_rate"][late].mean() < mild.metrics["alcohol_rate"][late].mean()
    # what citizens would have done without the rule is unchanged: the same draws, the same logit
    assert np.isclose(strict.metrics["alcohol_latent_rate"][late].mean(),
                      mild.metrics["alcohol_latent_rate"][late].mean(), rtol=0.05)


def test_merchant_refusal_of_a_flagged_purchase_stops_the_purchase():
    s = scenario({"policy.sharing.payment": True,
                  "policy.gates.flagged": {"services": ["alcohol"],
                                           "condition": "days_since_flagged_alcohol <= 7"}}, days=60)
    r = ss.simulate(s)
    assert r.metrics["denied_alcohol"].sum() > 0
    free = ss.simulate(scenario({"policy.sharing.payment": True}, days=60))
    assert r.metrics["alcohol_rate"].sum() < free.metrics["alcohol_rate"].sum()


def test_low_tier_loans_cost_double_and_high_tier_rewards_are_cheaper():
    s = scenario({
        "policy.scoring.initial_spread": 300, "behaviour.services.loan": 0.2,
        "policy.gates.low_loans": {"services": ["loan"], "condition": "tier <= 'C'",
                                   "action": "price", "multiplier": 2.0},
        "policy.rewards.high_loans": {"services": ["loan"], "condition": "tier >= 'AA'",
                                      "action": "price", "multiplier": 0.5}}, days=5)
    sim = ss.Simulation(s)
    sim.run()
    price = sim.prices[SV_LOAN]
    tier = sim.state.tier
    assert np.all(price[tier <= 1] == 2.0)
    assert np.all(price[tier >= 4] == 0.5)
    assert np.all(price[(tier > 1) & (tier < 4)] == 1.0)
    assert sim.state.benefits.sum() > 0


def test_guilt_by_association_drops_ties_to_low_tier_neighbours():
    s = scenario({**KNOWS_FRIENDS, "policy.scoring.initial_spread": 400, "network.churn": 0.0,
                  "policy.association": {"penalty": 0.0, "low_tier": "C", "drop_rate": 0.5,
                                         "averaging": 1e-9}}, days=30)
    sim = ss.Simulation(s)
    result = sim.run()
    assert result.metrics["ties_dropped"].sum() > 0
    low = sim.state.tier <= 1
    g = sim.graph
    low_nbrs = np.array([np.count_nonzero(low[g.nbrs[g.start[i]:g.start[i] + g.degree[i]]])
                         for i in range(sim.n)])
    share_low_ties = share(low_nbrs, g.degree)[~low].mean()
    assert share_low_ties < result.metrics["tier_share_C"][0] + result.metrics["tier_share_D"][0]


def test_dissent_is_deterred_only_where_a_channel_is_watched():
    base = {"policy.scoring.points": {"dissent_online": -50, "dissent_public": -50, "dissent_home": -50},
            "behaviour.dissent": {"base": -2.0, "weight": 6.0},
            "attitudes.perceived_initial": 0.8}
    watched = ss.simulate(scenario({**base, "policy.sharing.platform": True}))
    m = watched.metrics
    assert m["dissent_online_rate"].mean() < m["dissent_online_latent_rate"].mean()
    assert np.isclose(m["dissent_home_rate"].mean(), m["dissent_home_latent_rate"].mean())


def test_acts_a_listing_rule_reads_count_as_offences():
    """A debtor listed for an unpaid judgment did something the rules name: not innocent."""
    r = ss.simulate(ss.load_scenario("court-blacklist", {"behaviour.debt_default": 2e-3,
                                                         "run.warm_up_days": 0},  # from empty
                                     population=2000, days=200, seed=2))
    assert r.metrics["blacklist_share"].max() > 0
    assert r.metrics["innocent_blacklisted_share"].max() == 0


def test_a_price_above_the_normal_one_is_a_sanction_felt_by_those_who_pay_it():
    """"Your interest rates have doubled" is a sanction suffered, the heavier the dearer."""
    def run(multiplier: float) -> ss.Simulation:
        sim = ss.Simulation(scenario({
            "policy.scoring.initial_spread": 300, "behaviour.services.loan": 0.2,
            "policy.gates.interest": {"services": ["loan"], "condition": "tier <= 'C'",
                                      "action": "price", "multiplier": multiplier}}, days=30))
        sim.run()
        return sim

    normal, doubled, tenfold = run(1.0), run(2.0), run(10.0)
    low = normal.state.tier <= 1  # scores do not move in this quiet system: the same citizens pay
    assert low.any() and (~low).any()
    # nothing else sanctions anyone here: the normal price is no sanction, a higher one is
    assert normal.state.sanctions.sum() == 0
    assert (doubled.state.sanctions[low] > 0).mean() > 0.9
    assert doubled.state.sanctions[~low].sum() == 0
    assert np.array_equal(doubled.state.sanctions, tenfold.state.sanctions)  # counted once a day
    # the higher the multiplier, the lower the approval of those who pay it, and only theirs
    assert np.all(tenfold.state.approval[low] <= doubled.state.approval[low])
    assert tenfold.state.approval[low].mean() < doubled.state.approval[low].mean() \
        < normal.state.approval[low].mean()
    assert tenfold.state.perceived[low].mean() > normal.state.perceived[low].mean()
    assert np.array_equal(tenfold.state.approval[~low], normal.state.approval[~low])


def test_the_weights_of_sanctions_are_the_scenarios():
    gate = {"policy.gates.rail": {"services": ["rail"], "condition": "true"},
            "behaviour.services.rail": 0.2}
    felt = ss.Simulation(scenario(gate, days=10))
    felt.run()
    unfelt = ss.Simulation(scenario({**gate, "attitudes.severity_denial": 0.0}, days=10))
    unfelt.run()
    assert felt.state.sanctions.sum() > 0 and unfelt.state.sanctions.sum() == 0
    assert felt.state.approval.mean() < unfelt.state.approval.mean()


def test_a_phase_that_shortens_the_court_delay_is_in_force():
    def first_listing(phases: list[dict]) -> tuple[int, pl.Series]:
        r = ss.simulate(ss.load_scenario("court-blacklist", {"behaviour.debt_default": 2e-3,
                                                             "run.warm_up_days": 0,  # from empty
                                                             "timeline.phases": phases},
                                         population=2000, days=130, seed=2))
        inflow = r.metrics["blacklist_inflow"]
        return int(np.flatnonzero(inflow.to_numpy() > 0)[0]), inflow

    base, _ = first_listing([])
    assert base >= 120  # the preset's delay
    soon, _ = first_listing([{"day": 1, "name": "swift courts",
                              "set": {"policy": {"surveillance": {"court_delay_days": 5}}}}])
    assert soon <= 10
    # debts already older than a new, shorter delay are judged on the phase's first day
    _, inflow = first_listing([{"day": 60, "name": "swift courts",
                                "set": {"policy": {"surveillance": {"court_delay_days": 5}}}}])
    assert inflow[:60].sum() == 0 and inflow[60] > 5 * inflow[61:].mean()


def test_courts_without_delay_judge_a_default_the_day_it_happens():
    sim = ss.Simulation(ss.load_scenario("court-blacklist", {
        "behaviour.debt_default": 1e-2, "run.warm_up_days": 0,
        "policy.surveillance.court_delay_days": 0}, population=2000, days=5, seed=2))
    sim.step()
    defaulted = sim.state.debt_since == 0
    assert defaulted.sum() > 5
    assert sim.state.judgment[defaulted].all() and sim.state.blacklisted[defaulted].all()


def test_pharmacy_visits_meet_a_pharmacy_gate():
    gate = {"policy.gates.closed": {"services": ["pharmacy", "rail"], "condition": "true"},
            "behaviour.health_purchase": {"base": -30.0}}  # no health purchases: visits only
    none = ss.simulate(scenario({**gate, "behaviour.services.pharmacy": 0.0}, days=20))
    some = ss.simulate(scenario({**gate, "behaviour.services.pharmacy": 0.1}, days=20))
    assert none.metrics["denied_pharmacy"].sum() == 0
    denied = some.metrics["denied_pharmacy"][1:].sum()  # the gates close from day 1
    assert 0.08 * 2000 * 19 < denied < 0.12 * 2000 * 19
    # pharmacy visits draw from a stream of their own: every other service meets the same luck
    assert some.metrics["denied_rail"].to_list() == none.metrics["denied_rail"].to_list()


def test_seekers_draw_as_many_citizens_as_the_scenario_says():
    def made(tries: int) -> float:
        s = scenario({**KNOWS_FRIENDS, "policy.scoring.initial_spread": 300, "network.churn": 0.0,
                      "policy.association": {"averaging": 1e-9, "seek_rate": 0.2, "high_tier": "AAA",
                                             "seek_tries": tries}}, days=10)
        return ss.simulate(s).metrics["ties_made"].sum()

    assert made(16) > 2 * made(1) > 0


def test_city_dwellers_education_shift_is_the_scenarios():
    from scorestate.population import build_citizens

    def gap(shift: float) -> float:
        s = ss.load_scenario("baseline", {"population.education_urban_shift": shift}, population=20000)
        c, _, _ = build_citizens(s.population, s.behaviour, s.attitudes, seed=1)
        return float(c.education[c.urban].mean() - c.education[~c.urban].mean())

    assert abs(gap(0.0)) < 0.05
    assert gap(0.5) > 0.2 and gap(1.5) > gap(0.5) + 0.3


@pytest.mark.parametrize("act_base", [-9.0])
def test_base_rate_most_camera_alerts_of_a_rare_act_are_false(act_base: float):
    """NISTIR 8280's base-rate effect: a small false-match rate times many sightings outweighs a
    rare act, so most camera records of it are false; as the act becomes common the share falls."""
    def false_share(base: float) -> float:
        s = scenario({"policy.sharing.camera": True,
                      "policy.surveillance.camera": {"urban": 1.0, "rural": 1.0},
                      "policy.surveillance.camera_misattribution": 0.0,
                      "policy.surveillance.camera_false_match": 1e-3,
                      "behaviour.infraction": {"base": base, "weight": -3.0},
                      "ledger.retention": "full"}, days=60)
        rows = ss.simulate(s).ledger.filter((pl.col("kind") == "infraction")
                                            & (pl.col("source") == "camera"))
        assert rows.height > 50
        return rows["false_attribution"].mean()

    rare, uncommon, common = false_share(act_base), false_share(-6.0), false_share(-3.0)
    assert rare > 0.5
    assert rare > uncommon > common
    assert common < 0.1
