"""Musical time, measured on rendered audio (procedural engine): quantized transitions,
stingers, ducking, cooldown, dwell, the beat clock, Lyria-style config."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from cadenza.runtime import analysis
from cadenza.runtime.compat import engine_warnings
from cadenza.runtime.engines.base import Knobs
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.session import GenerationLoop
from cadenza.runtime.session.stingers import load_audio
from cadenza.runtime.testing import CollectingListener, render_prompt

RATE = 48_000


def scene(body: str, **fmt):
    return compile_scene(textwrap.dedent(body).format(**fmt), "mt.yaml", base_dir=None,
                         check_files=False)


def run(engine, compiled, actions, seconds, seed=1):
    """Render offline; ``actions`` maps a stream second to fn(session) applied at the first
    block at or after it. Returns (audio, listener)."""
    loop = GenerationLoop(engine, lookahead_s=0.0)
    session = loop.open(compiled, seed)
    listener = CollectingListener()
    session.attach(listener)
    loop.control(session, "play")
    pending = sorted(actions.items())
    while session.stream_time < seconds * RATE:
        while pending and pending[0][0] * RATE <= session.stream_time:
            pending.pop(0)[1](session)
        assert loop.step(), "the session stopped producing"
    return listener.audio(), listener


def _setter(name, value):
    return lambda session: session.update_state({name: value})


COMBAT = """\
    scene: q
    inputs:
      fight: {{type: bool}}
    prompts:
      calm: "calm ambient pads, no drums, {bpm} bpm"
      combat: "techno drums, {bpm} bpm"
    mix:
      calm: "0 if fight else 1"
      combat: "1 if fight else 0"
    transitions:
      enter fight: {{at: {at}, glide: 0}}
    """


@pytest.mark.parametrize("bpm", [100, 113, 137])
def test_a_bar_quantized_change_is_heard_on_the_bar_line(engine, bpm):
    quantized = scene(COMBAT, bpm=bpm, at="bar")
    calm, _ = run(engine, quantized, {}, 12)
    changed, listener = run(engine, quantized, {5.3: lambda s: s.update_state({"fight": True})}, 12)
    # The same seed renders the same music until the change is heard: the first differing
    # sample is where the change lands.
    heard = int(np.argmax(np.any(np.abs(changed - calm) > 1e-4, axis=1)))
    chunk = next(c for c in listener.chunks if c.stream_time <= heard < c.stream_time + c.frames)
    bar = chunk.clock.boundary(int(5.3 * RATE), "bar")
    assert abs(heard - bar) / RATE * 1000 < 5.0
    beat = chunk.clock.beat_at(heard)
    assert abs(beat - 4 * round(beat / 4)) < 5e-3 * bpm / 60  # a downbeat, within 5 ms
    # And it is a real change: a kick drum after, none before.
    low = sosfilt(butter(4, 120, "low", fs=RATE, output="sos"), analysis.mono(changed))
    assert analysis.rms_db(low[heard: heard + 2 * RATE]) > analysis.rms_db(low[heard - RATE: heard]) + 8


def test_immediate_and_beat_quantization(engine):
    for at, quantum in (("immediate", None), ("beat", "beat")):
        compiled = scene(COMBAT, bpm=120, at=at)
        calm, _ = run(engine, compiled, {}, 8)
        changed, listener = run(engine, compiled, {3.31: lambda s: s.update_state({"fight": True})}, 8)
        heard = int(np.argmax(np.any(np.abs(changed - calm) > 1e-4, axis=1)))
        asked = next(c.stream_time for c in listener.chunks if c.stream_time >= 3.31 * RATE)
        if quantum is None:
            assert heard == asked  # the next block, from its first sample
        else:
            clock = listener.chunks[asked // 2400].clock
            assert heard == clock.boundary(asked, "beat")


STINGERS = """\
    scene: s
    prompts:
      groove: "lo-fi hip hop, 96 bpm"
    mix:
      groove: 1
    stingers:
      hit: {{audio: {audio}, play_at: beat, gain: 1.0, duck: -9dB, cooldown: 3s}}
      sweep: {{phrase: "rising bell", play_at: bar, beats: 2}}
    """


@pytest.fixture(scope="module")
def stinger_scene(scenes_dir):
    return scene(STINGERS, audio=scenes_dir / "stingers" / "hit.wav")


def test_a_stinger_starts_on_its_beat_and_ducks_the_music(engine, stinger_scene, scenes_dir):
    music, _ = run(engine, stinger_scene, {}, 8)
    mixed, listener = run(engine, stinger_scene, {2.01: lambda s: s.trigger("hit")}, 8)
    hit = load_audio(str(scenes_dir / "stingers" / "hit.wav"), RATE)
    [event] = [e for e in listener.events if e.kind.value == "stinger"]
    start = int(event.detail["at"])
    assert event.detail["status"] == "scheduled"
    # It starts exactly on a beat of the session's grid (well within 1 ms).
    clock = next(c.clock for c in listener.chunks if c.stream_time <= start < c.stream_time + 2400)
    assert abs(clock.beat_at(start) - round(clock.beat_at(start))) * clock.samples_per_beat < RATE / 1000
    # Measured on the audio: subtract the known stinger; what is left starts differing
    # from the plain music exactly where the ducking begins (5 ms before the stinger).
    residue = mixed.copy()
    residue[start: start + len(hit)] -= hit
    differs = np.flatnonzero(np.any(np.abs(residue - music) > 1e-4, axis=1))
    assert differs[0] >= start - 240 and differs[0] < start
    onset = np.flatnonzero(np.any(np.abs(mixed - music) > 0.05, axis=1))[0]
    assert abs(onset - start) < RATE / 1000
    # While it plays the music is 9 dB down (±1 dB).
    span = slice(start + 480, start + len(hit) - 480)
    duck = analysis.rms_db(residue[span]) - analysis.rms_db(music[span])
    assert duck == pytest.approx(-9.0, abs=1.0)
    # And back to full level 200 ms after it ends.
    after = slice(start + len(hit) + 9600, start + len(hit) + 48000)
    assert np.allclose(mixed[after], music[after], atol=1e-5)


def test_a_second_trigger_inside_the_cooldown_is_suppressed(engine, stinger_scene):
    music, _ = run(engine, stinger_scene, {}, 8)
    actions = {1.0: lambda s: s.trigger("hit"), 2.5: lambda s: s.trigger("hit"),
               4.6: lambda s: s.trigger("hit")}
    mixed, listener = run(engine, stinger_scene, actions, 8)
    statuses = [e.detail["status"] for e in listener.events if e.kind.value == "stinger"]
    assert statuses == ["scheduled", "suppressed", "scheduled"]  # 2.5 s is inside 3 s
    # On the audio: exactly two hits (loud onsets of the difference from the music).
    envelope = np.abs(mixed - music).max(axis=1)
    loud = np.flatnonzero(envelope > 0.2)
    assert len(np.flatnonzero(np.diff(loud) > RATE // 2)) + 1 == 2


def test_a_phrase_stinger_plays_in_key_on_the_bar(engine, stinger_scene):
    music, _ = run(engine, stinger_scene, {}, 8)
    mixed, listener = run(engine, stinger_scene, {1.3: lambda s: s.trigger("sweep")}, 8)
    [event] = [e for e in listener.events if e.kind.value == "stinger"]
    start = int(event.detail["at"])
    clock = next(c.clock for c in listener.chunks if c.stream_time <= start < c.stream_time + 2400)
    assert clock.beat_at(start) % 4 == pytest.approx(0.0, abs=1e-3)
    phrase = mixed - music
    assert np.abs(phrase[:start]).max() < 1e-4
    assert analysis.rms_db(phrase[start: start + RATE]) > -30


def test_a_condition_fires_a_stinger_once_per_rising_edge(engine):
    compiled = scene("""\
        scene: c
        inputs:
          health: {{type: number, min: 0, max: 100, default: 100}}
        prompts:
          p: "calm piano"
        mix:
          p: 1
        stingers:
          warn: {{phrase: "falling chord hit", play_at: immediate, when: "health < 20"}}
        """)
    actions = {1.0: lambda s: s.update_state({"health": 10}),
               2.0: lambda s: s.update_state({"health": 5}),
               3.0: lambda s: s.update_state({"health": 50}),
               4.0: lambda s: s.update_state({"health": 15})}
    _, listener = run(engine, compiled, actions, 5)
    fired = [e for e in listener.events if e.kind.value == "stinger"]
    assert [e.detail["status"] for e in fired] == ["scheduled", "scheduled"]
    assert [round(e.detail["at"] / RATE, 2) for e in fired] == [1.0, 4.0]


DWELL = """\
    scene: d
    inputs:
      danger: {{type: number, min: 0, max: 1, default: 0, dwell: 1s}}
    derived:
      combat: "danger > 0.5"
    prompts:
      calm: "calm piano"
      fight: "fast metal drums"
    mix:
      calm: "0 if combat else 1"
      fight: "1 if combat else 0"
    transitions:
      default: 0.2s
    """


def test_dwell_ignores_a_flickering_input_and_takes_a_held_one_once(engine):
    compiled = scene(DWELL)
    # A square wave around the 0.5 threshold, 0.3 s per level, from 1 s to 6.1 s, ending low.
    levels = [0.55, 0.45] * 9
    flicker = {1.0 + 0.3 * i: _setter("danger", level) for i, level in enumerate(levels)}
    quiet, _ = run(engine, compiled, {}, 8)
    flickered, listener = run(engine, compiled, flicker, 8)
    assert {tuple(c.weights) for c in listener.chunks} == {("calm",)}  # no transition at all
    assert np.array_equal(flickered, quiet)  # and not one sample differs
    _, listener = run(engine, compiled, {2.0: lambda s: s.update_state({"danger": 0.9})}, 8)
    sequence = [tuple(sorted(c.weights)) for c in listener.chunks]
    changes = [i for i in range(1, len(sequence)) if sequence[i] != sequence[i - 1]]
    first_change = changes[0] * 2400 / RATE
    assert 3.0 <= first_change < 3.1  # held for its 1 s dwell, then it counts
    assert sequence[-1] == ("fight",)
    finals = [i for i in changes if sequence[i] == ("fight",)]
    assert len(finals) == 1  # exactly one transition into the new state


def test_cooldown_keeps_a_change_from_retriggering(engine):
    compiled = scene(DWELL.replace("dwell: 1s", "cooldown: 2s"))
    actions = {1.0: lambda s: s.update_state({"danger": 0.9}),
               1.5: lambda s: s.update_state({"danger": 0.1})}
    _, listener = run(engine, compiled, actions, 5)
    fight = [c.stream_time / RATE for c in listener.chunks if "fight" in c.weights]
    assert fight[0] == pytest.approx(1.0, abs=0.05)
    # Back to calm only 2 s after the first change counted (not at 1.5 s).
    calm_again = [c.stream_time / RATE for c in listener.chunks
                  if c.stream_time > 1.2 * RATE and c.weights == {"calm": 1.0}]
    assert calm_again[0] >= 3.0


def test_a_fill_bridges_and_the_glide_is_eased(engine):
    compiled = scene("""\
        scene: f
        inputs:
          boss: {{type: bool}}
        prompts:
          explore: "calm piano, 120 bpm"
          fight: "epic orchestral drums, 120 bpm"
          drum_fill: "fast drums fill, 120 bpm"
        mix:
          explore: "0 if boss else 1"
          fight: "1 if boss else 0"
        transitions:
          enter boss: {{at: bar, fill: {{prompt: drum_fill, length: 1 bar}}, glide: 2 beats}}
        """)
    _, listener = run(engine, compiled, {1.1: lambda s: s.update_state({"boss": True})}, 8)
    weights = {c.stream_time: dict(c.weights) for c in listener.chunks}
    clock = listener.chunks[0].clock
    bar = clock.boundary(int(1.1 * RATE), "bar")  # 2.0 s at 120 bpm
    assert bar == 2 * RATE

    def at(seconds):
        return weights[int(seconds * RATE) // 2400 * 2400]

    assert at(1.9) == {"explore": 1.0}
    assert at(2.5) == {"drum_fill": 1.0}  # the bridge, for one bar
    mid = at(4.5)["fight"]  # half way through the eased 2-beat glide
    assert 0.4 < mid < 0.6
    assert at(5.2) == {"fight": 1.0}


def test_chunks_carry_the_beat_grid(engine):
    compiled = scene('scene: g\nprompts:\n  p: "techno, 126 bpm"\nmix:\n  p: 1\n')
    _, listener = run(engine, compiled, {}, 4)
    for chunk in listener.chunks:
        clock = chunk.clock
        assert clock.at == chunk.stream_time and clock.bpm == pytest.approx(126)
        assert clock.beat == pytest.approx(chunk.stream_time / RATE * 126 / 60)
        assert (clock.beats_per_bar, clock.beat_unit) == (4, 4)


@pytest.mark.parametrize("knobs,words", [
    (Knobs(bpm=150), "jazz piano, dark, 150 bpm"),
    (Knobs(mute_drums=True), "jazz piano, dark, no drums"),
    (Knobs(mute_bass=True), "jazz piano, dark, no bass"),
])
def test_lyria_config_is_honoured_exactly(engine, knobs, words):
    """A config field does exactly what the same request in the prompt does: the audio
    is identical, sample for sample."""
    configured = render_prompt(engine, "jazz piano, dark", 6.0, seed=4, knobs=knobs)
    worded = render_prompt(engine, words, 6.0, seed=4)
    assert np.array_equal(configured, worded)


def test_lyria_config_changes_what_is_heard(engine):
    base = "jazz piano, dark"
    fast = render_prompt(engine, base, 10.0, seed=4, knobs=Knobs(bpm=150))
    assert analysis.estimate_tempo(analysis.mono(fast), RATE, prior_bpm=150) == pytest.approx(
        150, rel=0.02)
    # scale: every pitched note is in D major / B minor.
    scaled = render_prompt(engine, base, 10.0, seed=4,
                           knobs=Knobs(scale="D_MAJOR_B_MINOR", mute_drums=True))
    chroma = _chroma(scaled)
    assert chroma[[2, 4, 6, 7, 9, 11, 1]].sum() / chroma.sum() > 0.9
    # only bass and drums: no pads, lead or arpeggio above the bass register.
    only = render_prompt(engine, "techno, no drums", 6.0, seed=4,
                         knobs=Knobs(only_bass_and_drums=True))
    full = render_prompt(engine, "techno, no drums", 6.0, seed=4)
    assert analysis.spectral_centroid(only, RATE) < 0.7 * analysis.spectral_centroid(full, RATE)
    bright = render_prompt(engine, base, 6.0, seed=4, knobs=Knobs(brightness=1.0))
    dark = render_prompt(engine, base, 6.0, seed=4, knobs=Knobs(brightness=0.0))
    assert analysis.spectral_centroid(bright, RATE) > 1.5 * analysis.spectral_centroid(dark, RATE)
    dense = render_prompt(engine, base, 6.0, seed=4, knobs=Knobs(density=1.0))
    sparse = render_prompt(engine, base, 6.0, seed=4, knobs=Knobs(density=0.0))
    assert analysis.onset_rate(dense, RATE) > 1.5 * analysis.onset_rate(sparse, RATE)


def _chroma(audio: np.ndarray) -> np.ndarray:
    """Energy per pitch class (FFT bins from 80 Hz to 2 kHz folded onto 12 classes)."""
    x = analysis.mono(audio)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    keep = (freqs > 80) & (freqs < 2000)
    classes = np.round(12 * np.log2(freqs[keep] / 440.0) + 69).astype(int) % 12
    return np.bincount(classes, weights=spectrum[keep], minlength=12)


def test_scene_check_warns_about_config_an_engine_ignores(engine):
    compiled = scene("""\
        scene: w
        prompts:
          p: "calm"
        mix:
          p: 1
        knobs:
          scale: D_MAJOR_B_MINOR
          mute_drums: true
        """)
    assert engine_warnings(compiled, engine) == []

    class Limited:
        def __init__(self, inner):
            self.inner = inner
            from dataclasses import replace

            self.info = replace(inner.info, knobs=frozenset({"temperature", "top_k", "seed"}))

        def embed(self, prompt):
            return self.inner.embed(prompt)

    warnings = engine_warnings(compiled, Limited(engine))
    assert warnings == ["knob 'scale' is not supported by engine 'procedural'",
                        "knob 'mute_drums' is not supported by engine 'procedural'"]


# COMBAT with a scene clock (used by engines without a grid of their own).
MODEL_LIKE = COMBAT.replace("    scene: q\n", "    scene: m\n    time: {{bpm: {bpm}}}\n")


def test_model_engines_get_changes_early_by_their_latency(engine):
    """An engine that hears a change 200 ms late (like MRT2's frame blocks) still lands a
    bar-quantized change on the bar: the runtime issues it early by the engine's latency
    (to the nearest block, as such engines take changes per block)."""
    from cadenza.runtime.testing import DelayedEngine

    delayed = DelayedEngine(engine, latency_blocks=4)  # 4 x 50 ms
    compiled = scene(MODEL_LIKE, bpm=120, at="bar")
    calm, _ = run(delayed, compiled, {}, 10)
    changed, listener = run(delayed, compiled, {3.3: lambda s: s.update_state({"fight": True})}, 10)
    heard = int(np.argmax(np.any(np.abs(changed - calm) > 1e-4, axis=1)))
    bar = listener.chunks[0].clock.boundary(int(3.3 * RATE), "bar")  # 4.0 s on the scene's clock
    assert bar == 4 * RATE
    assert abs(heard - bar) <= 2400 // 2  # within half a block of the bar line


def test_tempo_heard_is_reported_for_engines_without_a_grid(engine):
    from cadenza.runtime.testing import DelayedEngine

    delayed = DelayedEngine(engine, latency_blocks=1)
    compiled = scene('scene: t\ntime: {{bpm: 120}}\nprompts:\n  p: "techno drums, 132 bpm"\nmix:\n  p: 1\n')
    _, listener = run(delayed, compiled, {}, 14)
    tempo = [e.detail for e in listener.events if e.kind.value == "tempo"]
    assert tempo, "no tempo estimate"
    assert tempo[-1]["clock_bpm"] == 120 and tempo[-1]["heard_bpm"] == pytest.approx(132, rel=0.02)
    assert tempo[-1]["drift_bpm"] == pytest.approx(12, abs=3)
    assert listener.chunks[-1].clock.bpm == 120  # the clock says what the scene says


# ---------------------------------------------------------------------- other meters
def test_a_waltz_change_lands_on_its_bar_line(engine):
    """In 3/4 a bar-quantized change waits for a downbeat of the waltz (every three beats),
    not of 4/4: heard exactly there, and the clock counts three beats to the bar."""
    waltz = scene(COMBAT.replace("    scene: q\n", "    scene: w\n    time: {{signature: 3/4}}\n"),
                  bpm=120, at="bar")
    calm, _ = run(engine, waltz, {}, 10)
    changed, listener = run(engine, waltz, {4.2: lambda s: s.update_state({"fight": True})}, 10)
    heard = int(np.argmax(np.any(np.abs(changed - calm) > 1e-4, axis=1)))
    clock = listener.chunks[0].clock
    assert (clock.beats_per_bar, clock.beat_unit) == (3, 4)
    assert heard == clock.boundary(int(4.2 * RATE), "bar") == int(4.5 * RATE)  # bar 3 at 120 bpm


def test_six_eight_counts_eighths_at_twice_the_tempo(engine):
    compiled = scene('scene: j\ntime: {{signature: 6/8}}\nprompts:\n  p: "folk, 100 bpm"\nmix:\n  p: 1\n')
    _, listener = run(engine, compiled, {}, 3)
    for chunk in listener.chunks:
        clock = chunk.clock
        assert (clock.beats_per_bar, clock.beat_unit) == (6, 8)
        assert clock.bpm == pytest.approx(200) and clock.tempo == pytest.approx(100)
        assert clock.beat == pytest.approx(chunk.stream_time / RATE * 200 / 60)


def test_a_new_meter_starts_on_a_bar_line(engine):
    """Swapping a 4/4 scene for a 3/4 one mid-session: the band finishes its 4/4 bar, the
    waltz starts on that bar line, and the clock's bars stay whole across the change."""
    four = scene('scene: a\nprompts:\n  p: "rock drums, 120 bpm"\nmix:\n  p: 1\n')
    three = scene('scene: b\ntime: {{signature: 3/4}}\nprompts:\n  p: "rock drums, 120 bpm"\n'
                  'mix:\n  p: 1\n')
    _, listener = run(engine, four, {3.1: lambda s: s.swap_scene(three, 0.5)}, 12)
    clocks = [c.clock for c in listener.chunks]
    first = next(i for i, c in enumerate(clocks) if c.beats_per_bar == 3)
    assert all(c.beats_per_bar == 4 for c in clocks[:first])
    assert all(c.beats_per_bar == 3 for c in clocks[first:])
    assert clocks[first].at == 4 * RATE  # the chunk that starts on the 4/4 bar line at 4 s
    bar_lines = [s for c in clocks[first:] for s, _ in c.boundaries(c.at, c.at + 2400, 3.0)]
    # Waltz bars every 1.5 s from the 4 s bar line on (the beat count jumped to a whole bar).
    assert bar_lines[:4] == [int(RATE * t) for t in (4.0, 5.5, 7.0, 8.5)]


def test_engines_without_a_grid_run_the_scenes_meter(engine):
    from cadenza.runtime.testing import DelayedEngine

    delayed = DelayedEngine(engine, latency_blocks=1)
    compiled = scene('scene: t\ntime: {{bpm: 90, signature: 6/8}}\nprompts:\n  p: "folk"\nmix:\n'
                     '  p: 1\n')
    _, listener = run(delayed, compiled, {}, 2)
    clock = listener.chunks[-1].clock
    assert (clock.beats_per_bar, clock.beat_unit, clock.bpm, clock.tempo) == (6, 8, 180, 90)


def test_a_swapped_meter_takes_over_the_scene_clock_at_a_bar_line(engine):
    """Engines without a grid: the output-side clock takes a new signature at the first
    block on or after its bar line, moving on to a whole bar of the new meter."""
    from cadenza.runtime.testing import DelayedEngine

    delayed = DelayedEngine(engine, latency_blocks=1)
    four = scene('scene: a\ntime: {{bpm: 120}}\nprompts:\n  p: "folk"\nmix:\n  p: 1\n')
    jig = scene('scene: b\ntime: {{bpm: 120, signature: 6/8}}\nprompts:\n  p: "folk"\nmix:\n'
                '  p: 1\n')
    _, listener = run(delayed, four, {2.9: lambda s: s.swap_scene(jig, 0.5)}, 6)
    clocks = [c.clock for c in listener.chunks]
    first = next(i for i, c in enumerate(clocks) if c.beat_unit == 8)
    assert clocks[first].at == 4 * RATE  # the 4/4 bar line after the swap
    assert clocks[first - 1].beats_per_bar == 4 and clocks[first - 1].bpm == 120
    assert (clocks[first].beat, clocks[first].bpm, clocks[first].beats_per_bar) == (18.0, 240, 6)
    assert clocks[-1].beat == pytest.approx(18 + (clocks[-1].at / RATE - 4) * 4)  # 4 eighths a second


def test_scene_check_says_a_model_engine_does_not_follow_the_meter(engine):
    from cadenza.runtime.testing import DelayedEngine

    waltz = scene('scene: w\ntime: {{signature: 3/4}}\nprompts:\n  p: "folk"\nmix:\n  p: 1\n')
    assert engine_warnings(waltz, engine) == []  # the procedural band plays it
    assert engine_warnings(waltz, DelayedEngine(engine, latency_blocks=1)) == [
        "signature 3/4 sets the clock only: engine 'delayed-procedural' does not follow a "
        "meter (say it in the prompts, e.g. 'waltz')"]
