"""Scene evaluation: pure, deterministic, smoothed the way the scene says."""

from __future__ import annotations

import textwrap

import pytest

from cadenza.runtime.scene import SceneEvaluator, compile_scene

RATE = 48_000
SCENE = compile_scene(textwrap.dedent("""\
    scene: eval
    inputs:
      danger: {type: number, min: 0, max: 1, default: 0}
      level: {type: number, min: 0, max: 10, default: 0, slew: 2s}
      biome: {type: enum, values: [town, cave], default: town}
    derived:
      in_combat: {enter: "danger > 0.7", exit: "danger < 0.5"}
    prompts:
      calm: "calm"
      fight: "fight"
      cave: "cave"
    mix:
      calm: "0 if in_combat else 1"
      fight: "1 if in_combat else 0"
      cave: {when: "biome == 'cave'", weight: 1}
    transitions:
      default: 4s
      enter in_combat: 0.5s
      leave in_combat: 8s
    knobs:
      temperature: "lerp(1.0, 2.0, danger)"
      top_k: "level * 200"
    """), "eval.yaml")


def blocks(evaluator, inputs, seconds, start, step=2400):
    """Evaluate every 50 ms for ``seconds`` from sample ``start``; returns (blends, end)."""
    out, t = [], start
    for _ in range(int(seconds * RATE / step)):
        t += step
        out.append(evaluator.evaluate(inputs, t))
    return out, t


def test_hysteresis_stops_a_flickering_sensor_from_flapping_the_music():
    ev = SceneEvaluator(SCENE)
    ev.evaluate({}, 0)
    t = 0
    flips = 0
    last = ev.latches["in_combat"]
    for i in range(200):  # danger flickers 0.55 <-> 0.65 around the 0.6 "threshold"
        t += 2400
        ev.evaluate({"danger": 0.55 if i % 2 else 0.65}, t)
        flips += ev.latches["in_combat"] != last
        last = ev.latches["in_combat"]
    assert flips == 0
    ev.evaluate({"danger": 0.8}, t + 2400)
    assert ev.latches["in_combat"]
    ev.evaluate({"danger": 0.6}, t + 4800)
    assert ev.latches["in_combat"]  # 0.6 is inside the band: stays in combat
    ev.evaluate({"danger": 0.4}, t + 7200)
    assert not ev.latches["in_combat"]


def test_transition_rules_choose_the_glide_time():
    ev = SceneEvaluator(SCENE)
    ev.evaluate({}, 0)
    blends, t = blocks(ev, {"danger": 0.9}, 1.0, 0)
    # Entering combat glides over 0.5 s: after 0.25 s fight is ~half way, after 0.5 s done.
    weights = [b.weights.get("fight", 0.0) for b in blends]
    assert 0.4 < weights[4] < 0.6 and weights[10] == 1.0
    blends, t = blocks(ev, {"danger": 0.1}, 9.0, t)
    calm = [b.weights.get("calm", 0.0) for b in blends]
    # Leaving combat takes 8 s: half way at 4 s.
    assert 0.4 < calm[79] < 0.6 and calm[-1] == 1.0


def test_default_glide_applies_to_other_changes():
    ev = SceneEvaluator(SCENE)
    ev.evaluate({}, 0)
    blends, _ = blocks(ev, {"biome": "cave"}, 4.0, 0)
    cave = [b.weights.get("cave", 0.0) for b in blends]
    # cave rises 0 -> 1 over 4 s, while calm stays 1: normalised weight 0 -> 0.5.
    assert cave[39] == pytest.approx(0.5 / 1.5, abs=0.02)
    assert cave[-1] == pytest.approx(0.5)


def test_slew_limits_how_fast_an_input_moves():
    ev = SceneEvaluator(SCENE)
    ev.evaluate({}, 0)
    ev.evaluate({"level": 10}, RATE)  # full range takes 2 s: after 1 s, half way
    assert ev.values["level"] == pytest.approx(5.0)
    ev.evaluate({"level": 10}, 3 * RATE)
    assert ev.values["level"] == 10


def test_knobs_follow_inputs_and_stay_in_range():
    ev = SceneEvaluator(SCENE)
    blend = ev.evaluate({"danger": 0.5, "level": 10}, 0)
    assert blend.knobs.temperature == pytest.approx(1.5)
    assert blend.knobs.top_k == 1000  # 10 * 200 = 2000, clamped to Lyria's 1000


def test_same_inputs_same_times_same_blends():
    def run():
        ev = SceneEvaluator(SCENE)
        out = []
        for i, danger in enumerate([0, 0.2, 0.9, 0.9, 0.3, 0.1, 0.8]):
            out.append(dict(ev.evaluate({"danger": danger, "biome": "cave" if i > 3 else "town"},
                                        i * 4800).weights))
        return out

    assert run() == run()


def test_weights_are_normalised_and_empty_blend_means_silence():
    scene = compile_scene(textwrap.dedent("""\
        scene: quiet
        inputs:
          x: {type: number, min: 0, max: 1}
        prompts:
          a: "a"
          b: "b"
        mix:
          a: "x"
          b: "2 * x"
        transitions:
          default: 0s
        """), "q.yaml")
    ev = SceneEvaluator(scene)
    assert dict(ev.evaluate({"x": 0.0}, 0).weights) == {}
    assert dict(ev.evaluate({"x": 0.3}, 2400).weights) == pytest.approx({"a": 1 / 3, "b": 2 / 3})
