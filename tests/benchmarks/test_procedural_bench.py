"""Benchmarks (not run by the test command; see docs/benchmarks.md):

    pytest tests/benchmarks --benchmark-enable --benchmark-only

Speed targets live here, never in timed unit tests. Each benchmark also prints the figure
we track (multiple of real time per session on one core; microseconds per update).
"""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.scene import SceneEvaluator, load_scene

PROMPTS = {
    "calm": "calm ambient piano",
    "lofi": "lo-fi hip hop",
    "orchestral": "orchestral epic strings choir",
    "techno": "techno",
    "metal": "fast aggressive metal drums",
    # the vocabulary issue's new families (modal voices miss the cache most)
    "brass": "heroic brass fanfare, big band, fast",
    "bells": "gamelan bells, marimba and glockenspiel, energetic",
    "celtic": "celtic fiddle and bodhran tavern jig, harp",
    "raga": "indian sitar tabla raga, tanpura drone",
    "organ": "gospel choir and hammond organ, woodwinds, brushes",
}
BLOCKS = 200  # 10 s of audio per round


@pytest.mark.parametrize("name", list(PROMPTS))
def test_procedural_one_session_speed(benchmark, name):
    """10 s of one session, steady state (after a 20 s warm-up fills the note cache)."""
    engine = ProceduralEngine()
    style = engine.embed(Prompt(text=PROMPTS[name])).vector[None]
    state = [engine.init_state(1)]
    frames = engine.info.block_frames

    def ten_seconds():
        nonlocal state
        for _ in range(BLOCKS):
            state = engine.generate(state, style, [Knobs()], frames).states

    for _ in range(2):
        ten_seconds()
    benchmark.pedantic(ten_seconds, rounds=5, iterations=1)
    realtime = BLOCKS * frames / engine.info.sample_rate / benchmark.stats.stats.mean
    benchmark.extra_info["x_realtime"] = round(realtime, 1)
    print(f"\nprocedural {name}: {realtime:.0f}x real time per session (one core)")
    assert realtime >= 50


def test_procedural_session_with_changing_blend(benchmark, scenes_dir):
    """A session whose blend keeps moving (cache misses while notes and tempo change)."""
    engine = ProceduralEngine()
    a = engine.embed(Prompt(text=PROMPTS["calm"])).vector
    b = engine.embed(Prompt(text=PROMPTS["metal"])).vector
    frames = engine.info.block_frames
    state = [engine.init_state(2)]
    t = 0

    def ten_seconds():
        nonlocal state, t
        for _ in range(BLOCKS):
            w = (t % 400) / 400  # a full calm -> metal sweep every 20 s
            t += 1
            state = engine.generate(state, ((1 - w) * a + w * b)[None], [Knobs()], frames).states

    benchmark.pedantic(ten_seconds, rounds=4, iterations=1)
    realtime = BLOCKS * frames / engine.info.sample_rate / benchmark.stats.stats.mean
    benchmark.extra_info["x_realtime"] = round(realtime, 1)
    print(f"\nprocedural sweeping blend: {realtime:.0f}x real time per session (one core)")


def test_procedural_batch_of_diverse_sessions(benchmark):
    """64 sessions in one call, each with its own blend of the prompts above (players in
    different places of a game): their notes differ, so the note cache holds fewer of them
    than for one scene. Steady state after a 15 s warm-up; prints ms per session-block."""
    engine = ProceduralEngine()
    vectors = np.stack([engine.embed(Prompt(text=t)).vector for t in PROMPTS.values()])
    rows = 64
    styles = np.random.default_rng(0).dirichlet(np.ones(len(PROMPTS)), size=rows) @ vectors
    states = [engine.init_state(i) for i in range(rows)]
    knobs, frames = [Knobs()] * rows, engine.info.block_frames

    def two_seconds():
        nonlocal states
        for _ in range(40):
            states = engine.generate(states, styles, knobs, frames).states

    for _ in range(7):
        two_seconds()
    benchmark.pedantic(two_seconds, rounds=4, iterations=1)
    ms = benchmark.stats.stats.mean / (40 * rows) * 1e3
    benchmark.extra_info["ms_per_session_block"] = round(ms, 3)
    print(f"\nprocedural, 64 diverse sessions a call: {ms:.3f} ms per session-block")


@pytest.mark.parametrize("name", ["dungeon", "museum", "minimal", "tavern"])
def test_scene_evaluation_per_update(benchmark, scenes_dir, name):
    """Validate one state update and evaluate the scene once (one block's worth)."""
    scene = load_scene(scenes_dir / f"{name}.yaml")
    evaluator = SceneEvaluator(scene)
    numbers = [n for n, spec in scene.inputs.items() if spec.type == "number"]
    clock = iter(range(0, 10**12, 2400))
    values = iter([0.1, 0.5, 0.9, 0.3] * 10**6)

    def update():
        spec = scene.inputs[numbers[0]]
        value = spec.min + next(values) * (spec.max - spec.min)
        inputs = scene.validate_update({numbers[0]: value})
        evaluator.evaluate(inputs, next(clock))

    benchmark(update)
    micros = benchmark.stats.stats.mean * 1e6
    benchmark.extra_info["us_per_update"] = round(micros, 1)
    print(f"\nscene {name}: {micros:.1f} us per update + evaluation")
