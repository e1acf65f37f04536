"""Tests for scorestate.conditions: semantics, error messages and hostile input."""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scorestate.conditions import ColumnKind, Condition, compile_condition
from scorestate.errors import ConditionError, ScenarioError

TIERS = ["D", "C", "B", "A", "AA", "AAA"]
COLUMNS: dict[str, ColumnKind] = {
    "age": "number",
    "blacklisted": "bool",
    "corrections": "number",
    "days_listed": "number",
    "frac_neighbours_blacklisted": "number",
    "health_compliant": "bool",
    "official_rank": "number",
    "score": "number",
    "tier": "tier",
}
WHERE = "policy.gates.wallet.condition"
N = 6
ENV: dict[str, np.ndarray] = {
    "age": np.array([18, 25, 40, 61, 70, 33]),
    "blacklisted": np.array([True, False, False, True, False, True]),
    "corrections": np.array([0, 5, 7, 2, 5, 9]),
    "days_listed": np.array([0, 180, 365, 179, 200, 10]),
    "frac_neighbours_blacklisted": np.array([0.0, 0.18, 0.5, 0.17, 0.2, 0.9]),
    "health_compliant": np.array([True, True, False, False, True, False]),
    "official_rank": np.array([0, 0, 2, 0, 1, 0]),
    "score": np.array([550.0, 600.0, 720.5, 300.0, 0.0, 599.9]),
    "tier": np.array([0, 1, 2, 3, 4, 5]),  # D, C, B, A, AA, AAA
    "unused": np.array(["x"] * N),  # extra columns in env must be ignored
}

# Side-effect sentinel: a hostile condition that managed to run code could append here.
SIDE_EFFECTS: list[str] = []


def comp(text: str, columns: dict[str, ColumnKind] | None = None) -> Condition:
    return compile_condition(text, COLUMNS if columns is None else columns, where=WHERE,
                             tier_names=TIERS)


def run(text: str) -> np.ndarray:
    out = comp(text)(ENV, N)
    assert out.dtype == np.bool_
    assert out.shape == (N,)
    return out


def err(text: str) -> str:
    with pytest.raises(ConditionError) as info:
        comp(text)
    msg = str(info.value)
    assert msg.startswith(f"{WHERE}: the condition '")
    return msg


# ---------------------------------------------------------------- semantics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("score < 600", ENV["score"] < 600),
        ("score <= 600", ENV["score"] <= 600),
        ("score > 600", ENV["score"] > 600),
        ("score >= 600", ENV["score"] >= 600),
        ("score == 600", ENV["score"] == 600),
        ("score != 600", ENV["score"] != 600),
        ("frac_neighbours_blacklisted >= 0.18", ENV["frac_neighbours_blacklisted"] >= 0.18),
        ("days_listed >= 180 and corrections >= 5",
         (ENV["days_listed"] >= 180) & (ENV["corrections"] >= 5)),
        ("score + 100 > 700", ENV["score"] + 100 > 700),
        ("score - age * 2 < 500", ENV["score"] - ENV["age"] * 2 < 500),
        ("score / 2 >= 300", ENV["score"] / 2 >= 300),
        ("-score < -500", -ENV["score"] < -500),
        ("(score + 50) * 2 > 1300", (ENV["score"] + 50) * 2 > 1300),
        ("score + 50 * 2 > 650", ENV["score"] + 100 > 650),
        ("corrections = 5", ENV["corrections"] == 5),
        ("official_rank = 0", ENV["official_rank"] == 0),
        ("age=25", ENV["age"] == 25),
        ("0 < score < 600", (ENV["score"] > 0) & (ENV["score"] < 600)),
        ("0 < score < 600 <= 700 != age",
         (ENV["score"] > 0) & (ENV["score"] < 600) & (ENV["age"] != 700)),
        ("1 < 2 < 3 < score", ENV["score"] > 3),
        ("blacklisted", ENV["blacklisted"]),
        ("not blacklisted", ~ENV["blacklisted"]),
        ("not not blacklisted", ENV["blacklisted"]),
        ("blacklisted or not health_compliant", ENV["blacklisted"] | ~ENV["health_compliant"]),
        ("blacklisted == true", ENV["blacklisted"]),
        ("blacklisted = TRUE", ENV["blacklisted"]),
        ("blacklisted != True", ~ENV["blacklisted"]),
        ("blacklisted == health_compliant", ENV["blacklisted"] == ENV["health_compliant"]),
        ("(score < 600) == blacklisted", (ENV["score"] < 600) == ENV["blacklisted"]),
        ("blacklisted and true", ENV["blacklisted"]),
        ("blacklisted and false", np.zeros(N, bool)),
        ("blacklisted or true", np.ones(N, bool)),
        ("false or blacklisted or false", ENV["blacklisted"]),
        ("blacklisted and health_compliant and score < 600",
         ENV["blacklisted"] & ENV["health_compliant"] & (ENV["score"] < 600)),
        ("blacklisted or health_compliant or score > 700",
         ENV["blacklisted"] | ENV["health_compliant"] | (ENV["score"] > 700)),
        ("1 < 2", np.ones(N, bool)),
        ("3 - 4 > 0", np.zeros(N, bool)),
        ("score < 99999999 * 99999999 * 99999999 * 99999999", np.ones(N, bool)),
    ],
)
def test_semantics_match_numpy(text: str, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(run(text), expected)


def test_precedence_and_binds_tighter_than_or() -> None:
    a, b, c = ENV["blacklisted"], ENV["health_compliant"], ENV["score"] > 600
    got = run("blacklisted or health_compliant and score > 600")
    np.testing.assert_array_equal(got, a | (b & c))
    assert not np.array_equal(got, (a | b) & c)  # the wrong reading differs on this data
    np.testing.assert_array_equal(run("(blacklisted or health_compliant) and score > 600"),
                                  (a | b) & c)
    np.testing.assert_array_equal(run("not blacklisted and health_compliant"), ~a & b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tier <= 'C'", [True, True, False, False, False, False]),
        ("tier <= \"C\"", [True, True, False, False, False, False]),
        ("tier > 'A'", [False, False, False, False, True, True]),
        ("'A' <= tier", [False, False, False, True, True, True]),
        ("tier = 'AAA'", [False, False, False, False, False, True]),
        ("tier != 'D'", [False, True, True, True, True, True]),
        ("'C' < tier < 'AA'", [False, False, True, True, False, False]),
        ("tier >= 4", [False, False, False, False, True, True]),
        ("tier <= 'C' and official_rank = 0", [True, True, False, False, False, False]),
    ],
)
def test_tier_literals_map_to_ranks(text: str, expected: list[bool]) -> None:
    np.testing.assert_array_equal(run(text), np.array(expected))


def test_equals_inside_string_literal_is_untouched() -> None:
    tiers = ["a=b", "c"]
    cond = compile_condition("tier = 'a=b'", {"tier": "tier"}, where=WHERE, tier_names=tiers)
    np.testing.assert_array_equal(cond({"tier": np.array([0, 1])}, 2), [True, False])


@pytest.mark.parametrize(("text", "value"), [("true", True), ("TRUE", True), ("True", True),
                                             ("false", False), ("False", False),
                                             (" (false) ", False)])
def test_constant_condition_broadcasts(text: str, value: bool) -> None:
    cond = comp(text)
    assert cond.names == frozenset()
    for n in (0, 1, 7):
        out = cond({}, n)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, np.full(n, value))


def test_names_lists_only_columns_read() -> None:
    cond = comp("blacklisted or tier <= 'C' and score < 600 or true")
    assert cond.names == frozenset({"blacklisted", "tier", "score"})
    assert cond.text == "blacklisted or tier <= 'C' and score < 600 or true"


def test_bare_bool_column_returns_a_copy() -> None:
    out = comp("blacklisted")(ENV, N)
    assert out is not ENV["blacklisted"]
    out[:] = False
    assert ENV["blacklisted"].any()


def test_division_by_zero_does_not_raise_or_warn() -> None:
    import warnings

    env = {"score": np.array([1.0, -1.0, 0.0]), "age": np.array([0, 0, 0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(comp("score / age > 0")(env, 3), [True, False, False])
        np.testing.assert_array_equal(comp("score / 0 < 0")(env, 3), [False, True, False])
        np.testing.assert_array_equal(comp("score / age == score / age")(env, 3),
                                      [True, True, False])  # nan != nan
        np.testing.assert_array_equal(comp("1 / 0 > score")(env, 3), [True, True, True])
        np.testing.assert_array_equal(comp("0 / 0 == 0")(env, 3), [False, False, False])


def test_missing_column_at_evaluation_is_a_condition_error() -> None:
    with pytest.raises(ConditionError, match="reads score"):
        comp("score < 1")({"age": np.array([1])}, 1)


# ---------------------------------------------------------------- error messages


def test_unknown_column_message() -> None:
    assert err("blacklistd") == (
        f"{WHERE}: the condition 'blacklistd' names an unknown column 'blacklistd'; known "
        "columns are: age, blacklisted, corrections, days_listed, frac_neighbours_blacklisted, "
        "health_compliant, official_rank, score, tier")


def test_unknown_tier_message() -> None:
    assert err("tier <= 'Z'") == (
        f"{WHERE}: the condition 'tier <= 'Z'' names tier 'Z'; the tiers are D, C, B, A, AA, AAA")


def test_syntax_error_message() -> None:
    assert err("score >") == (
        f"{WHERE}: the condition 'score >' is not a valid condition (invalid syntax at column 7);"
        " expected comparisons of citizen columns joined by and/or/not")
    assert "is not a valid condition" in err("score < < 3")
    assert "is not a valid condition" in err("score < 'C")


def test_call_message() -> None:
    assert err('__import__("os").system("x")') == (
        f"{WHERE}: the condition '__import__(\"os\").system(\"x\")' uses a function call, which "
        "conditions do not allow; write comparisons of citizen columns joined by and/or/not")


def test_not_boolean_message() -> None:
    assert err("score") == (
        f"{WHERE}: the condition 'score' is a number, not true/false; expected a comparison "
        "such as 'score < 600'")
    assert "is a tier, not true/false" in err("tier")
    assert "is a number, not true/false" in err("score + 1")


def test_empty_condition() -> None:
    assert "is empty" in err("")
    assert "is empty" in err("   ")


def test_limits_are_named() -> None:
    assert "at most 500" in err("score < 1 or " * 40 + "true")
    assert "at most 32" in err("(" * 40 + "score < 1" + ")" * 40)
    assert "32" in err("not " * 40 + "blacklisted")
    assert "32" in err("1 + " * 40 + "1 > score")
    ok = "(" * 10 + "score < 1" + ")" * 10
    np.testing.assert_array_equal(run(ok), ENV["score"] < 1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("blacklisted and score", "applies 'and' to 'score', which is a number"),
        ("not score", "applies 'not' to 'score', which is a number"),
        ("score or tier <= 'C'", "applies 'or' to 'score'"),
        ("blacklisted + 1 > 0", "applies '+' to 'blacklisted', which is true/false"),
        ("-blacklisted", "applies '-' to 'blacklisted'"),
        ("tier * 2 > 1", "applies '*' to 'tier', which is a tier"),
        ("'C' + 1 > 0", "applies '+' to ''C'', which is text"),
        ("score < 'C'", "compares 'score' (a number) with ''C'' (text)"),
        ("blacklisted == 1", "compares 'blacklisted' (true/false) with '1' (a number)"),
        ("score == true", "compares 'score' (a number) with 'true' (true/false)"),
        ("'C' == 'C'", "(text) with ''C'' (text)"),
        ("blacklisted < true", "only be compared with == or !="),
        ("'C'", "is text, not true/false"),
    ],
)
def test_type_errors(text: str, fragment: str) -> None:
    assert fragment in err(text)


def test_bad_column_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="column kinds"):
        compile_condition("x", {"x": "boolean"}, where=WHERE, tier_names=TIERS)  # type: ignore[dict-item]


def test_condition_error_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError):
        comp("nope")


# ---------------------------------------------------------------- hostile input

HOSTILE = [
    "__import__('os').system('echo hi')",
    "__import__('test_conditions').SIDE_EFFECTS.append('x')",
    "().__class__.__bases__",
    "().__class__.__bases__[0].__subclasses__()",
    "score.__class__",
    "open('/etc/passwd')",
    "[x for x in ()]",
    "{x for x in ()}",
    "{x: 1 for x in ()}",
    "(x for x in ())",
    "lambda: 1",
    "score ** 99999999",
    '"a" * 10**9',
    "'a' * 1000000000",
    "9 ** 9 ** 9 ** 9",
    "(" * 5000,
    "(" * 400 + ")" * 400,
    ")" * 400,
    "[" * 100,
    "not " * 120 + "true",
    "-" * 499 + "1",
    "x" * 100000,
    "score < " + "1" * 495,
    "'" + "a" * 10000 + "'",
    "f'{score}'",
    "f'{__import__(\"os\").system(\"echo hi\")}'",
    "score if blacklisted else 0",
    "x := 1",
    "(x := 1)",
    "score is None",
    "score in (1, 2)",
    "score not in [1]",
    "score & 1",
    "score | blacklisted",
    "~score",
    "score ^ 1",
    "score << 2 > 1",
    "score % 2 == 0",
    "score // 2 == 0",
    "score @ score",
    "*score",
    "{'a': 1}",
    "[1, 2]",
    "{1, 2}",
    "(1, 2)",
    "score[0] > 1",
    "score[0:1]",
    "_secret",
    "__builtins__",
    "_ < 1",
    "b'abc'",
    "score < b'1'",
    "1j > score",
    "score < None",
    "...",
    "score < ...",
    "await score",
    "yield",
    "import os",
    "score < 1; import os",
    "exec('print(1)')",
    "eval('1')",
    "globals()",
    "getattr(score, 'x')",
    "a\x00b",
    "score < 1\x00",
    "\\",
    "'unterminated",
    "score <",
    "",
    "\n",
    "# comment",
    "score = = 1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_raise_condition_error(text: str) -> None:
    try:
        comp(text)
    except ConditionError as exc:
        msg = str(exc)
        assert msg.startswith(f"{WHERE}: the condition '")
        assert len(msg) < 700  # very long input is shortened in the message
    except BaseException as exc:  # anything else is a bug
        pytest.fail(f"{text[:60]!r} raised {type(exc).__name__}: {exc}")
    else:
        pytest.fail(f"{text[:60]!r} compiled")
    assert SIDE_EFFECTS == []


def test_nothing_is_ever_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    """ast.parse uses compile() to build a tree only; any other compile/eval/exec is a bug."""
    import ast

    calls: list[str] = []
    real_compile = builtins.compile

    def guarded_compile(source: Any, *args: Any, **kwargs: Any) -> Any:
        flags = kwargs.get("flags", args[2] if len(args) > 2 else 0)
        if not flags & ast.PyCF_ONLY_AST:
            calls.append(f"compile {source!r}")
        return real_compile(source, *args, **kwargs)

    def refuse(name: str) -> Callable[..., Any]:
        def _refused(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called")

        return _refused

    monkeypatch.setattr(builtins, "compile", guarded_compile)
    monkeypatch.setattr(builtins, "eval", refuse("eval"))
    monkeypatch.setattr(builtins, "exec", refuse("exec"))
    for text in HOSTILE:
        with pytest.raises(ConditionError):
            comp(text)
    for text in ("score < 600 and not blacklisted", "tier <= 'C'", "0 < score / 0 < 1"):
        comp(text)(ENV, N)
    assert calls == []
    assert SIDE_EFFECTS == []


# ---------------------------------------------------------------- properties

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne, "=": operator.eq,
}
NUMS = st.one_of(st.integers(-1000, 1000),
                 st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(0, 20), elements=st.floats())
    | hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(-1000, 1000)),
    op=st.sampled_from(sorted(OPS)),
    const=NUMS,
    flipped=st.booleans(),
)
def test_column_op_constant_matches_numpy(data: np.ndarray, op: str, const: float,
                                          flipped: bool) -> None:
    text = f"{const!r} {op} score" if flipped else f"score {op} {const!r}"
    got = comp(text)({"score": data}, len(data))
    want = OPS[op](const, data) if flipped else OPS[op](data, const)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(
    ranks=hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(0, len(TIERS) - 1)),
    op=st.sampled_from(sorted(OPS)),
    tier=st.sampled_from(TIERS),
)
def test_tier_op_literal_matches_rank_comparison(ranks: np.ndarray, op: str, tier: str) -> None:
    got = comp(f"tier {op} '{tier}'")({"tier": ranks}, len(ranks))
    np.testing.assert_array_equal(got, OPS[op](ranks, TIERS.index(tier)))


def test_narrow_integer_columns_do_not_wrap_in_arithmetic() -> None:
    # state keeps ages as uint8 and counts as 8- or 16-bit: 30 - 60 is negative, not 226
    from scorestate.columns import KINDS, ColumnEnv
    from scorestate.engine import Simulation
    from scorestate.scenario.load import load_scenario

    sim = Simulation(load_scenario("essay", population=300, days=2))
    env = sim.columns()
    young = compile_condition("age - 60 < 0", KINDS, where="test", tier_names=["A"])
    np.testing.assert_array_equal(young(env, sim.n), sim.citizens.age < 60)
    fewer = compile_condition("corrections - 1 < 0", KINDS, where="test", tier_names=["A"])
    np.testing.assert_array_equal(fewer(env, sim.n), sim.state.corrections == 0)
    assert isinstance(env, ColumnEnv)


@pytest.mark.parametrize(("text", "number"), [("score < 1e400", "1e400"), ("score > -1e999", "1e999"),
                                              ("score < 1" + "0" * 400, "1" + "0" * 39)])
def test_a_number_beyond_float_range_is_refused_as_not_finite(text: str, number: str) -> None:
    """Numbers given anywhere else must be finite; 1e400 in a condition was accepted as inf."""
    assert err(text).endswith(f"holds the number {number}, which is not finite (numbers end at about "
                              "1.8e308); expected a finite number")


def test_the_largest_finite_numbers_are_still_allowed() -> None:
    assert run("score < 1.7e308").all() and not run("score < -1e308").any()
