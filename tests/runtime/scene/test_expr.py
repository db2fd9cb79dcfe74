from __future__ import annotations

import pytest

from cadenza.runtime.scene.expr import BOOL, NUMBER, Compiler, EnumType, ExprError

NAMES = {"x": NUMBER, "y": NUMBER, "on": BOOL, "biome": EnumType("biome", ("town", "cave"))}


def run(text: str, **env):
    compiled = Compiler(NAMES).compile(text)
    return compiled.fn({"x": 0.0, "y": 0.0, "on": False, "biome": "town", **env})


@pytest.mark.parametrize("text,env,expected", [
    ("1 + 2 * 3", {}, 7), ("(1 + 2) * 3", {}, 9), ("-x + 4", {"x": 1}, 3), ("10 % 4", {}, 2),
    ("x / 0", {"x": 3}, 0.0), ("min(x, y, 0.5)", {"x": 1, "y": 2}, 0.5),
    ("max(x, y)", {"x": 1, "y": 2}, 2), ("clamp(x, 0, 1)", {"x": 7}, 1), ("abs(-3)", {}, 3),
    ("lerp(10, 20, x)", {"x": 0.25}, 12.5), ("smoothstep(0, 1, x)", {"x": 0.5}, 0.5),
    ("curve(x, [0, 0], [1, 10], [2, 0])", {"x": 1.5}, 5.0),
    ("curve(x, [0, 0], [1, 10])", {"x": 9}, 10.0),  # held flat outside the points
    ("x > 0.5 and not on", {"x": 0.6}, True), ("x > 0.5 or on", {"x": 0.1}, False),
    ("1 if on else 2", {"on": True}, 1), ("biome == 'cave'", {"biome": "cave"}, True),
    ("biome != 'cave'", {}, True), ("biome in ['town', 'cave']", {}, True),
    ("x <= y", {"x": 1, "y": 1}, True), ("true", {}, True),
])
def test_evaluates(text, env, expected):
    assert run(text, **env) == pytest.approx(expected)


@pytest.mark.parametrize("text,message,column", [
    ("x +", "expected a value but found the end of the expression", 4),
    ("x $ 2", "unexpected character '$'", 3),
    ("on + 1", "the left side of '+' must be a number, got bool", 4),
    ("biome == 3", "cannot compare enum biome with number", 7),
    ("biome == 'beach'", "'beach' is not a value of enum biome (values: town, cave)", 7),
    ("1 if x else 2", "the condition after 'if' must be a bool, got number", 3),
    ("1 if on else on", "both branches of 'if ... else' must have one type, got number and bool", 3),
    ("clamp", "'clamp' is a function: call it as clamp(...)", 1),
    ("curve(x, [0, 1])", "curve() needs at least two points", 1),
    ("curve(x, [0, y], [1, 0])", "a curve point's y must be a constant number", 14),
    ("biome in ['town', 'moon']", "'moon' is not a value of enum biome", 7),
    ("[1, 2]", "a list is only allowed as a point of curve() or after 'in'", 1),
    ("x 2", "unexpected '2' after the end of the expression", 3),
])
def test_errors_say_what_and_where(text, message, column):
    with pytest.raises(ExprError) as info:
        Compiler(NAMES).compile(text)
    assert message in str(info.value)
    assert info.value.column == column


def test_constants_are_folded_and_never_eval():
    compiled = Compiler(NAMES).compile("2 * 3 + 1")
    assert compiled.constant and compiled.fn({}) == 7
    with pytest.raises(ExprError):
        Compiler(NAMES).compile("__import__('os').system('true')")
