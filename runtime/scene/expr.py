"""The scene expression language: parsed into our own AST, type-checked, never `eval`.

Grammar (lowest precedence first)::

    expr    := or ("if" or "else" expr)?
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum | "in" list)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | NAME | NAME "(" args ")" | "(" expr ")"
               | "[" expr ("," expr)* "]"

Types: number, bool, and enum (an input's set of string values). Functions: min, max,
abs, clamp(x, lo, hi), lerp(a, b, t), smoothstep(lo, hi, x) and
curve(x, [x0, y0], [x1, y1], ...), a piecewise-linear curve held flat outside its points.
Division by zero yields 0 (a scene must never crash the music).

Bounded for hostile text: at most ``max_tokens`` tokens and ``max_depth`` levels of
nesting (parentheses, ``if ... else``, ``not``, unary ``-``, call arguments), so the
recursive-descent parser never recurses without a bound; chains of ``+ -``, ``* / %``,
``and``, ``or`` compile to one flat node each, so evaluating a 1,000-term sum does not
recurse either. Number literals have at most ``max_digits`` digits and every constant
(folded or written) must be finite.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

Env = Mapping[str, object]
Fn = Callable[[Env], object]

NUMBER, BOOL, STRING, LIST = "number", "bool", "string", "list"
ANY = "any"  # a name whose definition was broken: accepted anywhere, to avoid cascades


@dataclass(frozen=True)
class EnumType:
    name: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"enum {self.name}"


Type = str | EnumType


class ExprError(Exception):
    """A mistake in an expression; ``column`` is 1-based within the expression text."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Compiled:
    type: Type
    fn: Fn
    names: frozenset[str]
    constant: bool


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+\.\d*|\.\d+|\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|[-+*/%<>()\[\],])
""", re.VERBOSE)
KEYWORDS = {"and", "or", "not", "if", "else", "in", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup
        if kind != "ws":
            value = m.group()
            if kind == "name" and value in KEYWORDS:
                kind = "op"
            tokens.append(Token(kind, value, pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


FUNCTIONS = ("min", "max", "abs", "clamp", "lerp", "smoothstep", "curve")


class Compiler:
    """Parses and type-checks one expression against the names a scene defines."""

    def __init__(self, names: Mapping[str, Type], max_tokens: int = 4096, max_depth: int = 32,
                 max_digits: int = 40) -> None:
        self.names = names
        self.max_tokens = max_tokens
        self.max_depth = max_depth
        self.max_digits = max_digits
        self.strings: list[str] = []  # every string literal of the last expression
        self.depth = 0

    def compile(self, text: str) -> Compiled:
        if not isinstance(text, str):
            raise ExprError("an expression must be a string or a number", 1)
        # Cheap bound before tokenizing: a token takes at least one character.
        if len(text) > 16 * self.max_tokens:
            raise ExprError(f"expression of {len(text)} characters is too long", 1)
        self.tokens = tokenize(text)
        if len(self.tokens) - 1 > self.max_tokens:
            raise ExprError(f"expression has {len(self.tokens) - 1} tokens, more than the "
                            f"limit of {self.max_tokens}", self.tokens[self.max_tokens].column)
        self.pos = 0
        self.depth = 0
        self.strings = []
        try:
            result = self._expr()
        except RecursionError:  # only when called already deep in the stack
            raise ExprError("expression nested too deeply", 1) from None
        if self._peek().kind != "end":
            tok = self._peek()
            raise ExprError(f"unexpected {tok.text!r} after the end of the expression", tok.column)
        return result

    # ------------------------------------------------------------------ token helpers
    def _peek(self) -> Token:
        return self.tokens[self.pos]

    def _next(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _accept(self, *ops: str) -> Token | None:
        tok = self._peek()
        if tok.kind == "op" and tok.text in ops:
            self.pos += 1
            return tok
        return None

    def _expect(self, op: str) -> Token:
        tok = self._peek()
        if tok.kind == "op" and tok.text == op:
            self.pos += 1
            return tok
        found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise ExprError(f"expected {op!r} but found {found}", tok.column)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise ExprError(f"expression nested more than {self.max_depth} levels deep "
                            f"(parentheses, if/else, not, unary '-')", self._peek().column)

    # --------------------------------------------------------------------- grammar
    def _expr(self) -> Compiled:
        self._enter()
        try:
            return self._conditional()
        finally:
            self.depth -= 1

    def _conditional(self) -> Compiled:
        value = self._or()
        tok = self._accept("if")
        if not tok:
            return value
        cond = self._or()
        self._require(cond, BOOL, tok, "the condition after 'if'")
        self._expect("else")
        other = self._expr()
        if not _same(value.type, other.type):
            raise ExprError(f"both branches of 'if ... else' must have one type, got "
                            f"{value.type} and {other.type}", tok.column)
        c, a, b = cond.fn, value.fn, other.fn
        return _node(value.type, lambda env: a(env) if c(env) else b(env), cond, value, other)

    def _or(self) -> Compiled:
        return self._logic("or", self._and)

    def _and(self) -> Compiled:
        return self._logic("and", self._not)

    def _logic(self, op: str, operand: Callable[[], Compiled]) -> Compiled:
        """``a or b or c`` (or ``and``) as one flat node, short-circuiting in order."""
        first = operand()
        items = [first]
        while tok := self._accept(op):
            right = operand()
            if len(items) == 1:
                self._require(first, BOOL, tok, f"the left side of {op!r}")
            self._require(right, BOOL, tok, f"the right side of {op!r}")
            items.append(right)
        if len(items) == 1:
            return first
        fs = tuple(item.fn for item in items)
        fn = (lambda env: any(bool(f(env)) for f in fs)) if op == "or" else \
            (lambda env: all(bool(f(env)) for f in fs))
        return _node(BOOL, fn, *items)

    def _not(self) -> Compiled:
        if tok := self._accept("not"):
            self._enter()
            try:
                operand = self._not()
            finally:
                self.depth -= 1
            self._require(operand, BOOL, tok, "the operand of 'not'")
            f = operand.fn
            return _node(BOOL, lambda env: not f(env), operand)
        return self._compare()

    def _compare(self) -> Compiled:
        left = self._sum()
        tok = self._accept("<", "<=", ">", ">=", "==", "!=", "in")
        if not tok:
            return left
        op = tok.text
        if op == "in":
            return self._membership(left, tok)
        right = self._sum()
        if op in ("==", "!="):
            self._check_equality(left, right, tok)
        else:
            self._require(left, NUMBER, tok, f"the left side of {op!r}")
            self._require(right, NUMBER, tok, f"the right side of {op!r}")
        a, b = left.fn, right.fn
        fn = {
            "<": lambda env: a(env) < b(env), "<=": lambda env: a(env) <= b(env),
            ">": lambda env: a(env) > b(env), ">=": lambda env: a(env) >= b(env),
            "==": lambda env: a(env) == b(env), "!=": lambda env: a(env) != b(env),
        }[op]
        return _node(BOOL, fn, left, right)

    def _membership(self, left: Compiled, tok: Token) -> Compiled:
        start = self._peek()
        if not self._accept("["):
            raise ExprError("'in' must be followed by a list such as ['cave', 'forest']",
                            start.column)
        items = [self._sum()]
        while self._accept(","):
            items.append(self._sum())
        self._expect("]")
        for item in items:
            self._check_equality(left, item, tok)
            if not item.constant:
                raise ExprError("the list after 'in' must hold constants", tok.column)
        values = frozenset(item.fn({}) for item in items)
        f = left.fn
        return _node(BOOL, lambda env: f(env) in values, left)

    def _check_equality(self, left: Compiled, right: Compiled, tok: Token) -> None:
        if ANY in (left.type, right.type):
            return
        for enum_side, other in ((left, right), (right, left)):
            if isinstance(enum_side.type, EnumType):
                if other.type == STRING:
                    value = other.fn({})
                    if value not in enum_side.type.values:
                        hint = _suggest(value, enum_side.type.values)
                        raise ExprError(
                            f"{value!r} is not a value of {enum_side.type} "
                            f"(values: {', '.join(enum_side.type.values)}){hint}", tok.column)
                    return
                if _same(enum_side.type, other.type):
                    return
                raise ExprError(f"cannot compare {enum_side.type} with {other.type}", tok.column)
        if not _same(left.type, right.type):
            raise ExprError(f"cannot compare {left.type} with {right.type}", tok.column)

    def _sum(self) -> Compiled:
        return self._arithmetic(("+", "-"), self._product)

    def _product(self) -> Compiled:
        return self._arithmetic(("*", "/", "%"), self._unary)

    def _arithmetic(self, ops: tuple[str, ...], operand: Callable[[], Compiled]) -> Compiled:
        """A left-associative chain ``a + b - c ...`` as one flat node (evaluated in a
        loop, so its length never becomes recursion depth)."""
        first = operand()
        steps: list[tuple[str, Compiled]] = []
        while tok := self._accept(*ops):
            right = operand()
            if not steps:
                self._require(first, NUMBER, tok, f"the left side of {tok.text!r}")
            self._require(right, NUMBER, tok, f"the right side of {tok.text!r}")
            steps.append((tok.text, right))
        if not steps:
            return first
        head = first.fn
        chain = tuple((_BINARY[op], item.fn) for op, item in steps)

        def fn(env: Env) -> object:
            value = head(env)
            for apply, f in chain:
                value = apply(value, f(env))
            return value

        return _node(NUMBER, fn, first, *(item for _, item in steps))

    def _unary(self) -> Compiled:
        if tok := self._accept("-"):
            self._enter()
            try:
                operand = self._unary()
            finally:
                self.depth -= 1
            self._require(operand, NUMBER, tok, "the operand of unary '-'")
            f = operand.fn
            return _node(NUMBER, lambda env: -f(env), operand)
        return self._atom()

    def _atom(self) -> Compiled:
        tok = self._next()
        if tok.kind == "number":
            if sum(c.isdigit() for c in tok.text) > self.max_digits:
                raise ExprError(f"a number with more than {self.max_digits} digits",
                                tok.column)
            value = float(tok.text)
            return Compiled(NUMBER, lambda env: value, frozenset(), True)
        if tok.kind == "string":
            text = tok.text[1:-1]
            self.strings.append(text)
            return Compiled(STRING, lambda env: text, frozenset(), True)
        if tok.kind == "op" and tok.text in ("true", "false"):
            truth = tok.text == "true"
            return Compiled(BOOL, lambda env: truth, frozenset(), True)
        if tok.kind == "op" and tok.text == "(":
            inner = self._expr()
            self._expect(")")
            return inner
        if tok.kind == "op" and tok.text == "[":
            raise ExprError("a list is only allowed as a point of curve() or after 'in'",
                            tok.column)
        if tok.kind == "name":
            if self._peek().kind == "op" and self._peek().text == "(":
                return self._call(tok)
            return self._name(tok)
        found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise ExprError(f"expected a value but found {found}", tok.column)

    def _name(self, tok: Token) -> Compiled:
        name = tok.text
        if name not in self.names:
            if name in FUNCTIONS:
                raise ExprError(f"{name!r} is a function: call it as {name}(...)", tok.column)
            hint = _suggest(name, list(self.names))
            raise ExprError(f"unknown input {name!r}{hint}", tok.column)
        return Compiled(self.names[name], lambda env: env[name], frozenset({name}), False)

    def _call(self, tok: Token) -> Compiled:
        name = tok.text
        self._expect("(")
        if name not in FUNCTIONS:
            hint = _suggest(name, FUNCTIONS)
            raise ExprError(f"unknown function {name!r}{hint}; functions are "
                            f"{', '.join(FUNCTIONS)}", tok.column)
        if name == "curve":
            return self._curve(tok)
        args = []
        if not self._accept(")"):
            args.append(self._expr())
            while self._accept(","):
                args.append(self._expr())
            self._expect(")")
        for i, arg in enumerate(args):
            self._require(arg, NUMBER, tok, f"argument {i + 1} of {name}()")
        arity = {"abs": (1, 1), "clamp": (3, 3), "lerp": (3, 3), "smoothstep": (3, 3),
                 "min": (1, 64), "max": (1, 64)}[name]
        if not arity[0] <= len(args) <= arity[1]:
            want = str(arity[0]) if arity[0] == arity[1] else f"at least {arity[0]}"
            raise ExprError(f"{name}() takes {want} argument{'s' if arity[1] > 1 else ''}, "
                            f"got {len(args)}", tok.column)
        fs = [a.fn for a in args]
        impl: Fn
        if name == "abs":
            impl = lambda env: abs(fs[0](env))  # noqa: E731
        elif name == "min":
            impl = lambda env: min(f(env) for f in fs)  # noqa: E731
        elif name == "max":
            impl = lambda env: max(f(env) for f in fs)  # noqa: E731
        elif name == "clamp":
            impl = lambda env: min(max(fs[0](env), fs[1](env)), fs[2](env))  # noqa: E731
        elif name == "lerp":
            impl = lambda env: fs[0](env) + (fs[1](env) - fs[0](env)) * fs[2](env)  # noqa: E731
        else:
            impl = lambda env: _smoothstep(fs[0](env), fs[1](env), fs[2](env))  # noqa: E731
        return _node(NUMBER, impl, *args)

    def _curve(self, tok: Token) -> Compiled:
        x = self._expr()
        self._require(x, NUMBER, tok, "the first argument of curve()")
        points: list[tuple[float, float]] = []
        while self._accept(","):
            start = self._expect("[")
            px = self._constant_number("a curve point's x")
            self._expect(",")
            py = self._constant_number("a curve point's y")
            self._expect("]")
            if points and px <= points[-1][0]:
                raise ExprError("curve points must have strictly increasing x "
                                f"({px:g} follows {points[-1][0]:g})", start.column)
            points.append((px, py))
        self._expect(")")
        if len(points) < 2:
            raise ExprError("curve() needs at least two points: curve(x, [x0, y0], [x1, y1])",
                            tok.column)
        return _node(NUMBER, make_curve(x.fn, points), x)

    def _constant_number(self, what: str) -> float:
        tok = self._peek()
        value = self._sum()
        if value.type != NUMBER or not value.constant:
            raise ExprError(f"{what} must be a constant number", tok.column)
        return float(value.fn({}))

    def _require(self, value: Compiled, want: str, tok: Token, what: str) -> None:
        if value.type not in (want, ANY):
            raise ExprError(f"{what} must be a {want}, got {value.type}", tok.column)


def make_curve(x: Fn, points: list[tuple[float, float]]) -> Fn:
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return lambda env: float(np.interp(x(env), xs, ys))


def _node(type_: Type, fn: Fn, *children: Compiled) -> Compiled:
    names = frozenset().union(*(c.names for c in children)) if children else frozenset()
    constant = all(c.constant for c in children)
    if constant:
        value = fn({})  # fold constants once; nothing in a constant depends on state
        if isinstance(value, float) and not math.isfinite(value):
            raise ExprError(f"this constant part of the expression is {value}, not a finite "
                            f"number", 1)
        return Compiled(type_, lambda env: value, names, True)
    return Compiled(type_, fn, names, False)


def _same(a: Type, b: Type) -> bool:
    return a == b or ANY in (a, b)


def _div(a: float, b: float) -> float:
    return a / b if b != 0 else 0.0


def _mod(a: float, b: float) -> float:
    return a % b if b != 0 else 0.0


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: _div(a, b), "%": lambda a, b: _mod(a, b),
}


def _smoothstep(lo: float, hi: float, x: float) -> float:
    if hi == lo:
        return 1.0 if x >= hi else 0.0
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _suggest(word: str, options) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


suggest = _suggest
