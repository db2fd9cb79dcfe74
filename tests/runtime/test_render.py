"""Offline renders of every example scene, read back from WAV and listened to."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile

from cadenza.runtime import analysis
from cadenza.runtime.errors import SceneError
from cadenza.runtime.render import render, write_blend_csv
from cadenza.runtime.scene import load_scene
from cadenza.runtime.timeline import load_timeline, parse_timeline

RATE = 48_000
# scene -> (seconds, a calm stretch, a stretch after the timeline changed the state)
CASES = {
    "dungeon": (48.0, (1.0, 7.0), (26.0, 33.0)),
    "museum": (44.0, (1.0, 5.5), (19.0, 25.0)),
    "minimal": (26.0, (2.0, 9.0), (14.0, 19.0)),
    "tavern": (40.0, (1.0, 7.0), (22.0, 29.0)),
}


def segment(audio, span):
    return audio[int(span[0] * RATE): int(span[1] * RATE)]


@pytest.fixture(scope="module", params=sorted(CASES))
def rendered(request, engine, scenes_dir, timelines_dir, tmp_path_factory):
    name = request.param
    seconds = CASES[name][0]
    out = tmp_path_factory.mktemp(name) / f"{name}.wav"
    result = render(load_scene(scenes_dir / f"{name}.yaml"), engine, out, seconds,
                    load_timeline(timelines_dir / f"{name}.yaml"))
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    return name, result, audio, rate


def test_render_is_48k_stereo_and_gapless(rendered):
    name, result, audio, rate = rendered
    assert rate == RATE and audio.shape[1] == 2
    assert audio.shape[0] == result.frames == int(CASES[name][0] * RATE)
    times = [p.time_s for p in result.blends]
    assert np.allclose(np.diff(times), 2400 / RATE)  # one blend per block, no block missing


def test_render_is_not_silent_and_not_clipped(rendered):
    _, _, audio, _ = rendered
    assert analysis.rms_db(audio) > -40
    assert analysis.longest_silence(audio, RATE, threshold_db=-60) < 1.0
    assert analysis.peak(audio) < 0.99
    assert np.count_nonzero(np.abs(audio) >= 0.99) == 0


def test_render_has_no_clicks_at_block_joins(rendered):
    _, _, audio, _ = rendered
    assert analysis.join_discontinuity(audio, 2400) < 1.5


def test_character_changes_when_the_timeline_changes_state(rendered):
    name, _, audio, _ = rendered
    _, calm_span, busy_span = CASES[name]
    calm, busy = segment(audio, calm_span), segment(audio, busy_span)
    louder = analysis.rms_db(busy) - analysis.rms_db(calm)
    brighter = analysis.spectral_centroid(busy, RATE) / analysis.spectral_centroid(calm, RATE)
    busier = analysis.onset_rate(busy, RATE) / analysis.onset_rate(calm, RATE)
    # A listener hears at least two of: louder, brighter, busier.
    assert sum([louder > 3.0, brighter > 1.3, busier > 1.3]) >= 2, (louder, brighter, busier)


def test_blend_over_time_follows_the_timeline(rendered, tmp_path):
    name, result, _, _ = rendered
    path = tmp_path / "blend.csv"
    write_blend_csv(result, path)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == len(result.blends)

    def weight(t: float, prompt: str) -> float:
        return float(rows[int(t * RATE / 2400)].get(prompt) or 0.0)

    if name == "dungeon":
        assert weight(4, "town") == 1.0 and weight(30, "combat") > 0.9
        assert weight(12, "forest") > 0.9 and weight(40, "low_hp") > 0.1
    elif name == "museum":
        assert weight(3, "empty_room") > 0.5 and weight(24, "busy_room") > 0.1
    elif name == "tavern":
        assert weight(3, "quiet") > 0.9 and weight(25, "fight") > 0.5
        assert weight(38, "late") > 0.8
    else:
        assert weight(5, "calm") == 1.0 and weight(18, "intense") == 1.0


def test_same_render_twice_is_bit_identical(engine, scenes_dir, timelines_dir, tmp_path):
    scene = load_scene(scenes_dir / "dungeon.yaml")
    timeline = load_timeline(timelines_dir / "dungeon.yaml")
    for name in ("a", "b"):
        render(scene, engine, tmp_path / f"{name}.wav", 10.0, timeline, subtype="FLOAT")
    a, _ = soundfile.read(tmp_path / "a.wav", dtype="float32")
    b, _ = soundfile.read(tmp_path / "b.wav", dtype="float32")
    assert np.array_equal(a, b)


def test_timeline_errors_name_file_line_and_field(engine, scenes_dir, tmp_path):
    scene = load_scene(scenes_dir / "dungeon.yaml")
    timeline = parse_timeline("- at: 1s\n  set: {danger: 0.5}\n- at: 2s\n  set: {dangr: 1}\n",
                              "tl.yaml")
    with pytest.raises(SceneError) as info:
        render(scene, engine, tmp_path / "x.wav", 3.0, timeline, timeline_file="tl.yaml")
    assert str(info.value.issues[0]) == ("tl.yaml:3 [1].set.dangr: unknown input 'dangr' in scene "
                                          "'dungeon' (did you mean 'danger'?)")
    with pytest.raises(SceneError) as info:
        parse_timeline("- at: soon\n  set: {danger: 1}\n- at: 1s\n  control: explode\n", "tl.yaml")
    assert [str(i) for i in info.value.issues] == [
        "tl.yaml:1 [0].at: 'at' must be a time such as 4s or 1.5, got 'soon'",
        "tl.yaml:4 [1].control: control must be one of play, pause, reset, got 'explode'",
    ]


def test_timeline_prompts_and_controls(engine, scenes_dir, tmp_path):
    scene = load_scene(scenes_dir / "minimal.yaml")
    timeline = parse_timeline(
        "- at: 1s\n  prompts: {'fast metal drums': 1}\n- at: 2s\n  prompts: {}\n"
        "- at: 3s\n  control: reset\n")
    result = render(scene, engine, tmp_path / "p.wav", 4.0, timeline)
    assert result.blends[30].weights == {"fast metal drums": 1.0}
    assert set(result.blends[50].weights) == {"calm", "intense"}
    assert result.frames == 4 * RATE


# ---------------------------------------------------------------- non-finite values (issue 15)
_BIG = " * ".join(["9" * 39] * 9)  # legal factors whose product overflows to inf
_NAN_AT_RUNTIME = f"""scene: nan_knob
inputs:
  x: {{type: number, min: 0, max: 1, default: 0.5}}
prompts:
  calm: calm piano
mix:
  calm: 1
knobs:
  density: "(x * {_BIG}) - (x * {_BIG})"
"""


def _cli(*args: str, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def test_render_of_a_nan_knob_fails_the_scene_check(tmp_path):
    scene = tmp_path / "nan.yaml"
    scene.write_text("scene: nan\nprompts: {calm: calm piano}\nmix: {calm: 1}\n"
                     "knobs:\n  density: .nan\n")
    out = tmp_path / "nan.wav"
    result = _cli("render", str(scene), "--seconds", "2", "--out", str(out))
    assert result.returncode != 0
    assert f"{scene}:5 knobs.density: must be a finite number" in result.stderr
    assert not out.exists()


def test_render_of_a_knob_that_becomes_nan_plays_full_length(tmp_path, engine):
    from cadenza.runtime.scene import compile_scene

    out = tmp_path / "runtime_nan.wav"
    result = render(compile_scene(_NAN_AT_RUNTIME), engine, out, 3.0)
    audio, _ = soundfile.read(out, dtype="float32", always_2d=True)
    assert audio.shape[0] == result.frames == 3 * RATE
    assert np.isfinite(audio).all() and analysis.rms_db(audio) > -60  # density 0: sparse, not silent
    assert len(result.warnings) == 1 and "knob density evaluated to nan" in result.warnings[0]


def test_cli_render_of_a_runtime_nan_knob_writes_full_length(tmp_path):
    scene = tmp_path / "late_nan.yaml"
    scene.write_text(_NAN_AT_RUNTIME)
    out = tmp_path / "late_nan.wav"
    result = _cli("render", str(scene), "--seconds", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    info = soundfile.info(str(out))
    assert info.frames == 2 * RATE


def test_a_render_whose_engine_fails_leaves_no_file_and_raises(tmp_path):
    from cadenza.runtime.engines.procedural import ProceduralEngine
    from cadenza.runtime.errors import EngineError

    class FailingEngine(ProceduralEngine):
        """The procedural engine with a fault injected at its third block."""

        calls = 0

        def generate(self, *args, **kwargs):
            FailingEngine.calls += 1
            if FailingEngine.calls == 3:
                raise ValueError("cannot convert float NaN to integer")
            return super().generate(*args, **kwargs)

    out = tmp_path / "failed.wav"
    scene = load_scene_text("scene: f\nprompts: {calm: calm piano}\nmix: {calm: 1}\n")
    with pytest.raises(EngineError, match=r"render failed after 0\.10 of 5 s"):
        render(scene, FailingEngine(), out, 5.0)
    assert not out.exists()


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan"), float("inf")])
def test_a_render_length_must_be_positive_and_finite(tmp_path, engine, seconds):
    from cadenza.runtime.errors import InvalidArgument

    scene = load_scene_text("scene: f\nprompts: {calm: calm piano}\nmix: {calm: 1}\n")
    with pytest.raises(InvalidArgument):
        render(scene, engine, tmp_path / "x.wav", seconds)
    assert not (tmp_path / "x.wav").exists()


def load_scene_text(text: str):
    from cadenza.runtime.scene import compile_scene

    return compile_scene(text)


def test_a_mix_weight_summing_a_thousand_terms_renders_full_length(tmp_path, engine):
    """It passed `scene check` and crashed render with RecursionError (issue 15)."""
    text = ("scene: sum\ninputs:\n  x: {type: number, min: 0, max: 1, default: 0.5}\n"
            "prompts: {calm: calm piano, dark: dark drones}\n"
            "mix:\n  calm: \"" + " + ".join(["x"] * 1000) + "\"\n  dark: 1\n")
    out = tmp_path / "sum.wav"
    result = render(load_scene_text(text), engine, out, 1.0)
    assert soundfile.info(str(out)).frames == result.frames == RATE
    assert result.blends[-1].weights["calm"] == pytest.approx(500 / 501, abs=1e-3)
