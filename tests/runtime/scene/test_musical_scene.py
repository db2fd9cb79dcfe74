"""The scene language's musical-time parts: time, quantized transitions, stingers, gates."""

from __future__ import annotations

import textwrap

import pytest

from cadenza.runtime.errors import SceneError
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.scene.durations import Duration

BASE = textwrap.dedent("""\
    scene: m
    time: {bpm: 96, signature: 3/4}
    inputs:
      danger: {type: number, min: 0, max: 1, dwell: 500ms, cooldown: 2s}
    prompts:
      calm: "calm"
      fight: "drums"
      fill: "drum fill"
    mix:
      calm: "1 - danger"
      fight: "danger"
    transitions:
      default: 4 beats
      enter danger > 0.5: {at: bar, glide: 1 bar, ease: out}
      leave danger > 0.5: {at: {bars: 2}, fill: {prompt: fill, length: 2 beats}}
    stingers:
      hit: {audio: hit.wav, play_at: beat, gain: -3dB, duck: -9dB, cooldown: 1s}
      rise: {phrase: "rising arpeggio", beats: 4, play_at: bar, when: "danger > 0.9"}
    knobs:
      scale: G_MAJOR_E_MINOR
      bpm: "lerp(90, 140, danger)"
      mute_drums: "danger < 0.1"
    """)


def test_musical_sections_compile(tmp_path):
    (tmp_path / "hit.wav").write_bytes(b"RIFF")
    scene = compile_scene(BASE, str(tmp_path / "m.yaml"), base_dir=tmp_path)
    assert (scene.time.bpm, scene.time.beats_per_bar, scene.time.beat_unit) == (96, 3, 4)
    assert scene.inputs["danger"].dwell_s == 0.5 and scene.inputs["danger"].cooldown_s == 2.0
    assert scene.default.glide == Duration(4, "beats")
    enter, leave = scene.transitions
    assert (enter.at, enter.glide, enter.ease) == ("bar", Duration(1, "bars"), "out")
    assert (leave.at, leave.bars, leave.fill_prompt, leave.fill) == ("bars", 2, "fill",
                                                                      Duration(2, "beats"))
    hit, rise = scene.stingers["hit"], scene.stingers["rise"]
    assert hit.audio == str(tmp_path / "hit.wav") and hit.gain == pytest.approx(0.7079, abs=1e-3)
    assert hit.duck_db == pytest.approx(-9.0) and hit.cooldown_s == 1.0
    assert rise.phrase == "rising arpeggio" and rise.beats == 4 and rise.when is not None
    assert not scene.warnings  # "fill" is used by a transition: not an unmixed prompt
    assert "stinger hit: audio" in scene.summary() and "96 bpm 3/4" in scene.summary()


MISTAKES = [
    ("time: {bpm: 96, signature: 3/4}", "time: {bpm: 96, signature: 3-4}",
     "m.yaml:2 time.signature: signature is BEATS/UNIT such as 4/4, 3/4 or 6/8, got '3-4'"),
    ("dwell: 500ms", "dwell: soon",
     "m.yaml:4 inputs.danger.dwell: expected a duration such as 2s, 1.5s or 250ms, got 'soon'"),
    ("{at: bar, glide: 1 bar, ease: out}", "{at: bra, glide: 1 bar, ease: out}",
     "m.yaml:14 transitions.enter danger > 0.5.at: 'at' is immediate, beat, bar or {bars: N} "
     "(1..64), got 'bra'"),
    ("ease: out}", "ease: bounce}",
     "m.yaml:14 transitions.enter danger > 0.5.ease: ease must be one of linear, in, out, "
     "in_out, got 'bounce'"),
    ("{prompt: fill, length: 2 beats}", "{prompt: fil, length: 2 beats}",
     "m.yaml:15 transitions.leave danger > 0.5.fill.prompt: unknown prompt 'fil' (did you "
     "mean 'fill'?)"),
    ("{audio: hit.wav,", "{audio: hit.wav, phrase: boom,",
     "m.yaml:17 stingers.hit: a stinger has exactly one of 'audio: FILE' or 'phrase: TEXT'"),
    ("duck: -9dB", "duck: +6dB",
     "m.yaml:17 stingers.hit.duck: duck lowers the music: use a level <= 0 dB"),
    ("gain: -3dB", "gain: loud",
     "m.yaml:17 stingers.hit.gain: expected a level such as -6dB or 0.5, got 'loud'"),
    ("play_at: beat", "play_at: downbeat",
     "m.yaml:17 stingers.hit.play_at: play_at is immediate, beat or bar, got 'downbeat'"),
    ('when: "danger > 0.9"', 'when: "danger"',
     "m.yaml:18 stingers.rise.when: must be a bool expression, but 'danger' is a number"),
    ("scale: G_MAJOR_E_MINOR", "scale: G_MAJOR_E_MINRO",
     "m.yaml:20 knobs.scale: scale must be one of Lyria's scale names such as C_MAJOR_A_MINOR "
     "(did you mean 'G_MAJOR_E_MINOR'?), or an expression choosing one (unknown input "
     "'G_MAJOR_E_MINRO')"),
    ('bpm: "lerp(90, 140, danger)"', "bpm: 400",
     "m.yaml:21 knobs.bpm: bpm must be within [60, 200], got 400"),
    ('mute_drums: "danger < 0.1"', "mute_drums: danger",
     "m.yaml:22 knobs.mute_drums: must be a bool expression, but 'danger' is a number"),
]


@pytest.mark.parametrize("old,new,expected", MISTAKES, ids=[m[2].split(":")[1] for m in MISTAKES])
def test_musical_mistakes_are_reported_precisely(tmp_path, old, new, expected):
    (tmp_path / "hit.wav").write_bytes(b"RIFF")
    assert old in BASE
    with pytest.raises(SceneError) as info:
        compile_scene(BASE.replace(old, new, 1), "m.yaml", base_dir=tmp_path)
    assert [str(i) for i in info.value.issues] == [expected]


def test_a_missing_stinger_file_is_an_error(tmp_path):
    with pytest.raises(SceneError) as info:
        compile_scene(BASE, "m.yaml", base_dir=tmp_path)
    assert "stingers.hit.audio: audio prompt file not found" in str(info.value)
