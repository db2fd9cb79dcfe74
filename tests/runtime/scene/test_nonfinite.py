"""Non-finite numbers never reach the engine: refused when constant, clamped (with one
warning per field and session) when they appear only while playing."""

from __future__ import annotations

import math

import pytest

from cadenza.runtime.errors import SceneError
from cadenza.runtime.scene import SceneEvaluator, compile_scene

BIG = " * ".join(["9" * 39] * 9)  # each factor is legal; the product overflows to inf
SCENE = f"""scene: overflow
inputs:
  x: {{type: number, min: 0, max: 1, default: 0.5}}
prompts:
  a: calm strings
  b: dark drones
mix:
  a: "x * {BIG}"
  b: 1
knobs:
  density: "(x * {BIG}) - (x * {BIG})"
  brightness: "x * {BIG}"
  conditioning:
    drums: "x * {BIG} - x * {BIG}"
"""


def test_runtime_overflow_is_clamped_and_warned_once():
    scene = compile_scene(SCENE)
    evaluator = SceneEvaluator(scene)
    blend = evaluator.evaluate({"x": 0.5}, 0)
    knobs = blend.knobs
    assert math.isfinite(knobs.density) and knobs.density == 0.0  # NaN: bottom of the range
    assert knobs.brightness == 1.0  # +inf clamps to the top of the range
    assert knobs.extra["drums"] == 0.0
    assert set(blend.weights) == {"b"}  # the infinite weight counts as 0
    warnings = evaluator.take_warnings()
    assert len(warnings) == 4 and any("knob density evaluated to nan" in w for w in warnings)
    evaluator.evaluate({"x": 0.5}, 2400)
    assert evaluator.take_warnings() == []  # once per field and session


def test_a_nan_knob_keeps_its_last_finite_value():
    scene = compile_scene(SCENE.replace(f'density: "(x * {BIG}) - (x * {BIG})"',
                                        f'density: "0.3 if x < 0.5 else (x * {BIG}) - (x * {BIG})"'))
    evaluator = SceneEvaluator(scene)
    assert evaluator.evaluate({"x": 0.2}, 0).knobs.density == pytest.approx(0.3)
    assert evaluator.evaluate({"x": 0.9}, 2400).knobs.density == pytest.approx(0.3)


@pytest.mark.parametrize("knob", [".nan", ".inf", "-.inf", '"1 * ' + BIG + '"'])
def test_non_finite_constant_knobs_fail_the_scene_check(knob):
    text = "scene: k\nprompts: {a: x}\nmix: {a: 1}\nknobs:\n  density: " + knob + "\n"
    with pytest.raises(SceneError) as caught:
        compile_scene(text, "k.yaml")
    assert caught.value.issues[0].path == "knobs.density"
    assert caught.value.issues[0].line == 5


def test_session_emits_the_warning_as_an_event():
    from cadenza.runtime.engines.procedural import ProceduralEngine
    from cadenza.runtime.session import GenerationLoop
    from cadenza.runtime.session.chunk import EventKind

    events = []

    class Events:
        def on_chunk(self, chunk):
            pass

        def on_event(self, event):
            events.append(event)

    loop = GenerationLoop(ProceduralEngine(), lookahead_s=0.0)
    session = loop.open(compile_scene(SCENE), 1)
    session.attach(Events())
    loop.control(session, "play")
    for _ in range(5):
        loop.step()
    warnings = [e for e in events if e.kind == EventKind.ERROR]
    assert len(warnings) == 4
    assert all(e.detail["severity"] == "warning" for e in warnings)
    assert session.state.live


@pytest.mark.parametrize("value", [10**400, -(10**400), float("nan"), float("inf")])
def test_pushed_non_finite_or_huge_values_are_refused_with_the_field(value):
    from cadenza.runtime.errors import InvalidArgument

    scene = compile_scene(SCENE)
    with pytest.raises(InvalidArgument) as caught:
        scene.validate_update({"x": value})
    assert caught.value.field == "x" and "must be finite" in str(caught.value)
