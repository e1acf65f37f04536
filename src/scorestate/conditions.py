"""Compile scenario condition strings into numpy predicates, without eval.

Scenario files are user input, so a condition is parsed with ``ast.parse`` (which only builds a
tree) and every node is checked against a whitelist before it is turned into small closures
over numpy arrays. Nothing is ever executed as Python code, and types are checked up front so
a typo fails when the scenario loads rather than halfway through a run.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

import numpy as np

from scorestate.errors import ConditionError

__all__ = ["ColumnKind", "Condition", "compile_condition"]

ColumnKind = Literal["bool", "number", "tier"]
Env = Mapping[str, np.ndarray]
Fn = Callable[[Env], Any]

MAX_LENGTH = 500
MAX_DEPTH = 32
_HINT = "write comparisons of citizen columns joined by and/or/not"
_KINDS = frozenset({"bool", "number", "tier"})
_DESC = {"bool": "true/false", "number": "a number", "tier": "a tier", "text": "text"}
_CMP: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge), ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne),
}
_ARITH: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul), ast.Div: ("/", np.true_divide),
}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.UAdd, ast.BinOp, ast.Compare, ast.Name, ast.Load, ast.Constant,
            *_CMP, *_ARITH)
_REFUSED: dict[type, str] = {
    ast.Call: "a function call", ast.Attribute: "attribute access (x.y)",
    ast.Subscript: "subscripting (x[...])", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string",
    ast.NamedExpr: "an assignment (:=)", ast.IfExp: "a conditional (x if c else y)",
    ast.Starred: "a starred expression", ast.Dict: "a dict literal", ast.List: "a list literal",
    ast.Set: "a set literal", ast.Tuple: "a tuple", ast.Pow: "the power operator **",
    ast.Mod: "the operator %", ast.FloorDiv: "the operator //", ast.MatMult: "the operator @",
    ast.Invert: "the bitwise operator ~", ast.BitAnd: "the bitwise operator &",
    ast.BitOr: "the bitwise operator |", ast.BitXor: "the bitwise operator ^",
    ast.LShift: "the shift operator <<", ast.RShift: "the shift operator >>",
    ast.Is: "the operator 'is'", ast.IsNot: "the operator 'is not'",
    ast.In: "the operator 'in'", ast.NotIn: "the operator 'not in'",
}


@dataclass(frozen=True)
class _Expr:
    """A type-checked sub-expression: a compile-time constant, or a function of the columns."""

    kind: str  # "bool" | "number" | "tier" | "text"
    src: str
    const: Any = None
    fn: Fn | None = None

    def lift(self) -> Fn:
        """Return a function of the columns, so callers need not special-case constants."""
        return self.fn if self.fn is not None else (lambda env, value=self.const: value)


def _widened(e: _Expr) -> _Expr:
    """An operand of arithmetic, with narrow or unsigned integer columns widened to a signed type.

    State keeps counts and stamps in 8 or 16 bits; `age - 60 < 0` must not wrap around as
    unsigned 8-bit arithmetic would. Comparisons read the columns as stored (numpy compares
    mixed integer types and out-of-range numbers exactly), so only arithmetic pays for a copy.
    """
    if e.fn is None:
        return e
    fn = e.fn

    def wide(env: Env) -> Any:
        column = fn(env)
        dt = getattr(column, "dtype", None)
        if dt is not None and (dt.kind == "u" or (dt.kind == "i" and dt.itemsize < 4)):
            return column.astype(np.int64 if dt.itemsize >= 4 else np.int32)
        return column

    return _Expr(e.kind, e.src, fn=wide)


class Condition:
    """A compiled condition; call it with the citizen columns to get a bool mask."""

    __slots__ = ("_const", "_fn", "names", "text", "where", "zero_divisor")

    def __init__(self, text: str, where: str, names: frozenset[str], root: _Expr) -> None:
        self.text, self.where, self.names = text, where, names
        self._const: bool | None = bool(root.const) if root.fn is None else None
        self._fn = root.fn
        # "'a' by 'b'" where the condition divides by a constant 0 (its value is then inf or nan);
        # a scenario's conditions are refused for it when the scenario loads
        self.zero_divisor: str | None = None

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def __call__(self, env: Env, n: int) -> np.ndarray:
        """Evaluate over whole arrays; division by zero gives inf/nan, never a warning."""
        if self._fn is None:
            return np.full(n, self._const, dtype=bool)
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(self._fn(env), dtype=bool)
        except KeyError:  # looked for only now: a check before every call costs more than it
            missing = self.names.difference(env.keys())
            if not missing:
                raise
            raise ConditionError(f"{self.where}: the condition '{self.text}' reads "
                                 f"{', '.join(sorted(missing))}, missing from the columns given"
                                 ) from None
        if out.shape != (n,):
            return np.broadcast_to(out, (n,)).copy()
        if any(out is env[name] for name in self.names):
            return out.copy()  # a bare bool column: never hand back the caller's own array
        return out


def compile_condition(text: str, columns: Mapping[str, ColumnKind], *, where: str,
                      tier_names: Sequence[str]) -> Condition:
    """Parse, whitelist, type-check and compile ``text``; raise ConditionError if it is bad."""
    bad = [f"{k}={v!r}" for k, v in columns.items() if v not in _KINDS]
    if bad:
        raise ValueError(f"column kinds must be bool, number or tier, got {', '.join(bad)}")
    if not isinstance(text, str):
        raise ConditionError(f"{where}: the condition {text!r} is not text; {_HINT}")
    shown = "".join(c if c.isprintable() else " " for c in text[:120])  # one-line messages
    shown = shown if len(text) <= 120 else shown[:100] + "..."
    head = f"{where}: the condition '{shown}'"

    def fail(msg: str) -> ConditionError:
        return ConditionError(f"{head} {msg}")

    if len(text) > MAX_LENGTH:
        raise fail(f"is {len(text)} characters long; conditions may be at most {MAX_LENGTH}")
    src, origin, parens = _sql_equals(text)
    if parens > MAX_DEPTH:
        raise fail(f"nests parentheses {parens} deep; conditions may nest at most {MAX_DEPTH}")
    stripped = src.strip()
    if not stripped:
        raise fail(f"is empty; {_HINT}")
    lead = len(src) - len(src.lstrip())
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        col = len(text.rstrip()) if not exc.offset or exc.offset < 1 else (
            origin[min(exc.offset - 1 + lead, len(origin) - 1)] + 1)
        raise fail(f"is not a valid condition ({exc.msg} at column {col}); "
                   f"expected comparisons of citizen columns joined by and/or/not") from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise fail(f"could not be parsed ({type(exc).__name__}); {_HINT}") from None
    names = _check_tree(tree, fail)
    _check_finite(tree, stripped, fail)
    unknown = sorted(names - set(columns))
    if unknown:
        raise fail(f"names an unknown column '{unknown[0]}'; known columns are: "
                   f"{', '.join(sorted(columns))}")
    compiler = _Compiler(stripped, columns, tier_names, fail)
    root = compiler.visit(tree.body)
    if root.kind != "bool":
        tier = f"'{tier_names[min(1, len(tier_names) - 1)]}'" if tier_names else "'C'"
        example = {"number": f"{root.src} < 600", "tier": f"{root.src} <= {tier}",
                   "text": f"tier <= {root.src}"}[root.kind]
        raise fail(f"is {_DESC[root.kind]}, not true/false; expected a comparison such as "
                   f"'{example}'")
    condition = Condition(text, where, frozenset(names), root)
    condition.zero_divisor = compiler.zero_divisor
    return condition


def _num(value: Any) -> Any:
    """Keep number constants within float range, so numpy never sees an unbounded int."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def _sql_equals(text: str) -> tuple[str, list[int], int]:
    """Turn a lone SQL-style ``=`` into ``==`` outside string literals.

    Also flattens newlines/tabs (YAML block scalars), and returns, for each output character,
    its index in ``text`` (so syntax errors point at the user's column) and the deepest
    bracket nesting, measured before ``ast.parse`` so pathological input never reaches it.
    """
    out: list[str] = []
    origin: list[int] = []
    quote, depth, deepest = "", 0, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and not (i and text[i - 1] == "\\"):
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
        elif ch in "\r\n\t":
            ch = " "
        elif (ch == "=" and (not i or text[i - 1] not in "<>=!:")
              and text[i + 1:i + 2] != "="):
            out.append("=")
            origin.append(i)
        out.append(ch)
        origin.append(i)
    return "".join(out), origin, deepest


def _check_tree(tree: ast.AST, fail: Callable[[str], ConditionError]) -> set[str]:
    """Refuse every node outside the whitelist and over-deep trees; return the column names."""
    names: set[str] = set()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise fail(f"is nested more than {MAX_DEPTH} levels deep; simplify it")
        if not isinstance(node, _ALLOWED):
            what = _REFUSED.get(type(node), f"a {type(node).__name__} expression")
            raise fail(f"uses {what}, which conditions do not allow; {_HINT}")
        if isinstance(node, ast.Constant) and (
                isinstance(node.value, complex) or not isinstance(node.value, int | float | str)):
            raise fail(f"uses the literal {node.value!r}, which conditions do not allow; "
                       "literals are numbers, true/false and tier names")
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise fail(f"uses the name '{node.id}'; names starting with '_' are not allowed")
            if node.id.lower() not in ("true", "false"):
                names.add(node.id)
        step = 1 if isinstance(node, ast.expr) else 0
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    return names


def _check_finite(tree: ast.AST, src: str, fail: Callable[[str], ConditionError]) -> None:
    """Refuse a number literal beyond float range (1e400, or an integer as large): it reads as
    infinite, and numbers given anywhere else in a scenario must be finite."""
    for node in ast.walk(tree):
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, int):
            value = _num(value)
        if not math.isfinite(value):
            text = ast.get_source_segment(src, node) or repr(node.value)
            raise fail(f"holds the number {text[:40]}, which is not finite (numbers end at about "
                       "1.8e308); expected a finite number")


class _Compiler:
    """Type-check a whitelisted tree bottom-up and build closures, folding constants."""

    def __init__(self, src: str, columns: Mapping[str, ColumnKind], tiers: Sequence[str],
                 fail: Callable[[str], ConditionError]) -> None:
        self.src, self.columns, self.tiers, self.fail = src, columns, list(tiers), fail
        self.zero_divisor: str | None = None  # the first division by a constant 0, as "'a' by 'b'"

    def visit(self, node: ast.expr) -> _Expr:
        seg = ast.get_source_segment(self.src, node) or ""
        if isinstance(node, ast.Constant):
            value = node.value
            kind = "bool" if isinstance(value, bool) else "text" if isinstance(value, str) \
                else "number"
            return _Expr(kind, seg, const=_num(value))
        if isinstance(node, ast.Name):
            if node.id.lower() in ("true", "false"):
                return _Expr("bool", seg, const=node.id.lower() == "true")
            return _Expr(self.columns[node.id], seg, fn=lambda env, k=node.id: env[k])
        if isinstance(node, ast.UnaryOp):
            arg = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                self._need(arg, "bool", "not")
                return self._apply("bool", seg, np.logical_not, arg)
            self._need(arg, "number", "-" if isinstance(node.op, ast.USub) else "+")
            return self._apply("number", seg, operator.neg if isinstance(node.op, ast.USub)
                               else operator.pos, _widened(arg))
        if isinstance(node, ast.BinOp):
            sym, fn = _ARITH[type(node.op)]
            left, right = self.visit(node.left), self.visit(node.right)
            self._need(left, "number", sym)
            self._need(right, "number", sym)
            if isinstance(node.op, ast.Div) and right.fn is None and right.const == 0:
                self.zero_divisor = self.zero_divisor or f"'{left.src}' by '{right.src}'"
            return self._apply("number", seg, fn, _widened(left), _widened(right))
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            parts = [self.visit(v) for v in node.values]
            for part in parts:
                self._need(part, "bool", word)
            return self._boolop(seg, word == "and", parts)
        assert isinstance(node, ast.Compare)  # the whitelist leaves nothing else
        items = [self.visit(x) for x in (node.left, *node.comparators)]
        pairs = []
        for i, op in enumerate(node.ops):
            sym, fn = _CMP[type(op)]
            items[i], items[i + 1] = self._comparable(items[i], sym, items[i + 1])
            pairs.append(fn)
        if len(pairs) == 1:
            return self._apply("bool", seg, pairs[0], items[0], items[1])
        fns = [item.lift() for item in items]

        def chain(env: Env) -> Any:  # each operand is evaluated once, as in Python
            vals = [f(env) for f in fns]
            return reduce(np.logical_and, (p(vals[j], vals[j + 1]) for j, p in enumerate(pairs)))

        if all(item.fn is None for item in items):
            with np.errstate(all="ignore"):
                return _Expr("bool", seg, const=bool(chain({})))
        return _Expr("bool", seg, fn=chain)

    def _need(self, arg: _Expr, kind: str, op: str) -> None:
        if arg.kind != kind:
            raise self.fail(f"applies '{op}' to '{arg.src}', which is {_DESC[arg.kind]}; " + (
                "and/or/not join comparisons or true/false columns" if kind == "bool"
                else "arithmetic needs number columns or numbers"))

    def _comparable(self, a: _Expr, sym: str, b: _Expr) -> tuple[_Expr, _Expr]:
        """Check one comparison's operand types; map a tier name to its integer rank."""
        kinds = {a.kind, b.kind}
        if kinds == {"tier", "text"}:
            return self._rank(a), self._rank(b)
        if kinds <= {"number", "tier"}:
            return a, b
        if kinds == {"bool"}:
            if sym in ("==", "!="):
                return a, b
            raise self.fail(f"compares '{a.src}' {sym} '{b.src}', but true/false values can "
                            "only be compared with == or !=")
        tier = f"'{self.tiers[1 if len(self.tiers) > 1 else 0]}'" if self.tiers else "a tier"
        raise self.fail(f"compares '{a.src}' ({_DESC[a.kind]}) with '{b.src}' "
                        f"({_DESC[b.kind]}); comparisons need two numbers, a tier column and a "
                        f"tier name such as {tier}, or a true/false column and true/false")

    def _rank(self, e: _Expr) -> _Expr:
        if e.kind != "text":
            return e
        if e.const not in self.tiers:
            raise self.fail(f"names tier '{e.const}'; the tiers are {', '.join(self.tiers)}")
        return _Expr("number", e.src, const=self.tiers.index(e.const))

    @staticmethod
    def _apply(kind: str, seg: str, fn: Callable[..., Any], *args: _Expr) -> _Expr:
        """Apply ``fn`` now if every argument is constant, else defer it to evaluation."""
        if all(a.fn is None for a in args):
            with np.errstate(all="ignore"):
                value = fn(*(a.const for a in args))
            return _Expr(kind, seg, const=_num(value.item() if isinstance(value, np.generic)
                                               else value))
        f = args[0].lift()
        if len(args) == 1:
            return _Expr(kind, seg, fn=lambda env: fn(f(env)))
        g = args[1].lift()
        return _Expr(kind, seg, fn=lambda env: fn(f(env), g(env)))

    @staticmethod
    def _boolop(seg: str, is_and: bool, parts: list[_Expr]) -> _Expr:
        """Fold constant operands away; combine the rest with one fresh array, then in place."""
        absorbing = not is_and  # False absorbs `and`, True absorbs `or`
        if any(p.fn is None and bool(p.const) == absorbing for p in parts):
            return _Expr("bool", seg, const=absorbing)
        live = [p.fn for p in parts if p.fn is not None]
        if not live:
            return _Expr("bool", seg, const=not absorbing)
        if len(live) == 1:
            return _Expr("bool", seg, fn=live[0])
        ufunc = np.logical_and if is_and else np.logical_or

        def combine(env: Env) -> Any:
            out = ufunc(live[0](env), live[1](env))
            for f in live[2:]:
                ufunc(out, f(env), out=out)
            return out

        return _Expr("bool", seg, fn=combine)
