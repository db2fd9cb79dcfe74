"""The procedural engine, judged on the audio it makes (what a listener hears)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from scipy.signal import butter, find_peaks, sosfilt

from cadenza.runtime import analysis
from cadenza.runtime.engines.base import Engine, Knobs, Prompt, StyleChange
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.engines.procedural.engine import BLOCK_FRAMES
from cadenza.runtime.testing import render_prompt

RATE = 48_000


def test_follows_the_engine_contract(engine):
    assert isinstance(engine, Engine)
    info = engine.info
    assert (info.sample_rate, info.channels) == (48_000, 2)
    assert {"temperature", "top_k", "guidance", "seed"} <= info.knobs
    out = engine.generate([engine.init_state(1)], engine.neutral_style()[None], [Knobs()],
                          info.block_frames * 2)
    assert out.pcm.shape == (1, info.block_frames * 2, 2) and out.pcm.dtype == np.float32
    with pytest.raises(ValueError):
        engine.generate(out.states, engine.neutral_style()[None], [Knobs()], 1000)


@pytest.fixture(scope="module")
def calm_and_metal(engine):
    calm = render_prompt(engine, "calm ambient piano", 12.0)
    metal = render_prompt(engine, "fast aggressive metal drums", 12.0)
    return calm, metal


def test_calm_piano_and_metal_drums_sound_clearly_different(calm_and_metal):
    calm, metal = calm_and_metal
    # Loudness: metal is much louder.
    assert analysis.rms_db(metal) - analysis.rms_db(calm) > 10.0
    # Brightness: metal's spectral centroid is well above the piano's.
    assert analysis.spectral_centroid(metal, RATE) > 2.0 * analysis.spectral_centroid(calm, RATE)
    # Busyness: many more onsets per second.
    assert analysis.onset_rate(metal, RATE) > 2.0 * analysis.onset_rate(calm, RATE)
    # Tempo: metal is heard at its lexicon tempo (166 bpm); calm ambient at ~71 (or its
    # double, the usual octave ambiguity of a pulse with eighth notes).
    metal_bpm = analysis.estimate_tempo(analysis.mono(metal), RATE)
    calm_bpm = analysis.estimate_tempo(analysis.mono(calm), RATE)
    assert metal_bpm == pytest.approx(166, rel=0.03)
    assert min(abs(calm_bpm - 71), abs(calm_bpm - 142)) < 5
    assert abs(metal_bpm - calm_bpm) > 15


@pytest.mark.parametrize("bpm", [84, 126, 152])
def test_an_explicit_tempo_is_the_tempo_heard(engine, bpm):
    audio = render_prompt(engine, f"techno drums, {bpm} bpm", 12.0)
    heard = analysis.estimate_tempo(analysis.mono(audio), RATE, prior_bpm=bpm)
    assert heard == pytest.approx(bpm, rel=0.02)


def test_output_is_never_clipped_or_silent(calm_and_metal):
    for audio in calm_and_metal:
        assert analysis.peak(audio) < 0.99
        assert analysis.rms_db(audio) > -45
        assert analysis.longest_silence(audio, RATE) < 0.25
        assert np.isfinite(audio).all()


def test_deterministic_for_a_seed(engine):
    a = render_prompt(engine, "jazz piano", 3.0, seed=11)
    b = render_prompt(engine, "jazz piano", 3.0, seed=11)
    c = render_prompt(engine, "jazz piano", 3.0, seed=12)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_block_boundaries_do_not_change_the_music():
    """The same style rendered with 50 ms and with 30 ms blocks gives the same samples:
    block joins are inaudible by construction (no state is lost or reset at a join)."""
    style = "house groove, bright arpeggio, 113 bpm"
    a = render_prompt(ProceduralEngine(block_frames=2400), style, 6.0, seed=3)
    b = render_prompt(ProceduralEngine(block_frames=1440), style, 6.0, seed=3)
    n = min(len(a), len(b))
    assert np.max(np.abs(a[:n] - b[:n])) < 1e-4


def test_no_clicks_at_block_joins(engine):
    # 113 bpm: the note grid never lines up with the 2400-sample blocks.
    audio = render_prompt(engine, "house groove, bright arpeggio, 113 bpm", 10.0)
    assert analysis.join_discontinuity(audio, engine.info.block_frames) < 1.3


def test_calls_of_several_blocks_equal_single_blocks(engine):
    style = engine.embed(Prompt(text="lo-fi hip hop")).vector[None]
    one = engine.init_state(5)
    many = []
    for _ in range(8):
        out = engine.generate([one], style, [Knobs()], engine.info.block_frames)
        one = out.states[0]
        many.append(out.pcm[0])
    four = engine.init_state(5)
    chunks = []
    for _ in range(2):
        out = engine.generate([four], style, [Knobs()], engine.info.block_frames * 4)
        four = out.states[0]
        chunks.append(out.pcm[0])
    assert np.array_equal(np.concatenate(many), np.concatenate(chunks))


def test_a_longer_chunk_is_the_step_the_runtime_sees_and_the_band_keeps_its_block():
    longer = ProceduralEngine(chunk_blocks=4)
    assert longer.info.block_frames == 4 * BLOCK_FRAMES == 4 * longer.block_frames
    assert longer.init_state(1).reverb.block == BLOCK_FRAMES  # the band's own step
    for bad in (0, -1, 21):
        with pytest.raises(ValueError, match="chunk_blocks"):
            ProceduralEngine(chunk_blocks=bad)


def test_rows_of_a_batch_are_independent(engine):
    """A row sounds the same alone or batched, whoever shares the call: rows of the same
    style (whose filters run in one call), another style, a change inside the block."""
    a_style = engine.embed(Prompt(text="techno")).vector
    b_style = engine.embed(Prompt(text="orchestral strings")).vector
    n = engine.info.block_frames
    alone = engine.init_state(1)
    batch = [engine.init_state(seed) for seed in (1, 2, 3, 4)]
    solo_audio, batch_audio = [], []
    for i in range(20):
        out = engine.generate([alone], a_style[None], [Knobs()], n)
        alone = out.states[0]
        solo_audio.append(out.pcm[0])
        change = StyleChange(offset=n // 3, style=a_style) if i == 7 else None
        out = engine.generate(batch, np.stack([a_style, a_style, b_style, b_style]),
                              [Knobs(), Knobs(), Knobs(guidance=5), Knobs()], n,
                              [None, None, None, change])
        batch = out.states
        batch_audio.append(out.pcm[0])
    assert np.array_equal(np.concatenate(solo_audio), np.concatenate(batch_audio))


def _render_styles(engine: ProceduralEngine, styles: list[tuple[str, float]], seed: int = 1):
    state = engine.init_state(seed)
    blocks = []
    for text, seconds in styles:
        vector = engine.embed(Prompt(text=text)).vector[None]
        for _ in range(int(seconds * RATE / engine.info.block_frames)):
            out = engine.generate([state], vector, [Knobs()], engine.info.block_frames)
            state = out.states[0]
            blocks.append(out.pcm[0])
    return np.concatenate(blocks), state


def test_tempo_changes_keep_the_beat_grid():
    """A tempo change glides: kicks stay one beat apart (never doubled or skipped) while
    the beat shortens from 0.5 s to 0.4 s, and musical time runs on continuously."""
    engine = ProceduralEngine(glide_s=2.0)
    text = "techno drums, no bass, no synth, {} bpm"
    audio, state = _render_styles(engine, [(text.format(120), 6.0), (text.format(150), 10.0)])
    kicks = _kick_times(audio)
    gaps = np.diff(kicks[kicks > 1.0])
    assert gaps.min() > 0.9 * 60 / 150 and gaps.max() < 1.1 * 60 / 120
    settled = np.diff(kicks[kicks > 11.0])
    assert np.median(settled) == pytest.approx(60 / 150, abs=0.012)
    # 6 s at 2 beats/s, then 10 s gliding to 2.5 beats/s.
    assert 6 * 2 + 10 * 2.0 < state.beat < 6 * 2 + 10 * 2.5


def _kick_times(audio: np.ndarray) -> np.ndarray:
    """Kick onsets: peaks of the < 120 Hz envelope, at least 0.3 s apart."""
    low = sosfilt(butter(4, 120, "low", fs=RATE, output="sos"), analysis.mono(audio))
    envelope = np.convolve(np.abs(low), np.ones(240) / 240, mode="same")
    peaks, _ = find_peaks(envelope, height=0.3 * envelope.max(), distance=int(0.3 * RATE))
    return peaks / RATE


def test_style_changes_glide_rather_than_jump():
    engine = ProceduralEngine(glide_s=3.0)
    audio, _ = _render_styles(engine, [("calm ambient piano", 4.0),
                                       ("fast aggressive metal drums", 6.0)])
    level = [analysis.rms_db(audio[int(t * RATE): int((t + 0.5) * RATE)])
             for t in (3.0, 4.0, 5.0, 6.5, 8.5)]
    assert level[0] < level[1] < level[2] < level[3]  # loudness rises over the glide ...
    assert level[1] < level[4] - 6  # ... and is far from its final level just after the switch


def test_guidance_scales_how_strongly_the_style_is_followed(engine):
    loose = render_prompt(engine, "fast aggressive metal drums", 6.0, knobs=Knobs(guidance=0.0))
    strict = render_prompt(engine, "fast aggressive metal drums", 6.0, knobs=Knobs(guidance=6.0))
    assert analysis.rms_db(strict) > analysis.rms_db(loose) + 2


def test_audio_prompt_reads_the_tempo_of_a_recording(engine, tmp_path):
    reference = render_prompt(engine, "techno, 132 bpm", 8.0)
    path = tmp_path / "ref.wav"
    soundfile.write(path, reference, RATE)
    vector = engine.embed(Prompt(audio=str(path))).vector
    from cadenza.runtime.engines.procedural import style

    assert vector[style.INDEX["tempo"]] == pytest.approx(132, rel=0.03)


def test_the_target_tempo_is_the_full_targets_tempo():
    """`_target_tempo` (asked for every session every step) does on the tempo alone what
    guiding and applying the knobs does to the whole style vector."""
    from cadenza.runtime.engines.procedural import engine as module
    from cadenza.runtime.engines.procedural import style as S

    rng = np.random.default_rng(7)
    for _ in range(2000):
        style = S.LO + (S.HI - S.LO) * rng.uniform(-0.2, 1.2, len(S.NEUTRAL))
        knob = Knobs(guidance=None if rng.random() < 0.3 else float(rng.uniform(0, 6)),
                     bpm=None if rng.random() < 0.7 else float(rng.uniform(60, 200)))
        full = module._with_knobs(module._guided(style.copy(), knob.guidance), knob)
        assert ProceduralEngine._target_tempo(style, knob) == pytest.approx(
            float(full[S.INDEX["tempo"]]), abs=1e-9)


def test_advance_moves_the_band_on_exactly_as_generating_would_without_sound(engine):
    """`advance` (a stretch concealment covered) leaves each state where `generate` of the
    same frames leaves it — position, grid, meter, harmony, the notes still sounding, the
    random stream — so what follows is the same music; only the effect tails differ.
    And it is cheaper: no mixing, no effects."""
    styles = np.stack([engine.embed(Prompt(text=t)).vector for t in
                       ("driving techno drums", "slow waltz strings")]).astype(np.float32)
    knobs = [Knobs(), Knobs(meter=(3, 4))]
    played = [engine.init_state(s) for s in (5, 6)]
    moved = [engine.init_state(s) for s in (5, 6)]
    for states in (played, moved):
        engine.generate(states, styles, knobs, 2400 * 7)
    engine.generate(played, styles, knobs, 2400 * 23)
    engine.advance(moved, styles, knobs, [2400 * 23] * 2)
    for a, b in zip(played, moved, strict=True):
        assert (a.sample, a.beat, a.step, a.bar, a.bar_step, a.meter, a.beat_offset) == \
            (b.sample, b.beat, b.step, b.bar, b.bar_step, b.meter, b.beat_offset)
        assert engine.beat_clock(a, styles[0]) == engine.beat_clock(b, styles[0])
        assert (a.musician.key_root, a.musician.major, a.musician.chord) == \
            (b.musician.key_root, b.musician.major, b.musician.chord)
        assert np.array_equal(a.style, b.style) and np.array_equal(a.gains, b.gains)
        assert a.rng.bit_generator.state == b.rng.bit_generator.state
        a.sounding.forget_ended(a.sample)
        assert a.sounding.starts == b.sounding.starts and a.sounding.specs == b.sounding.specs
    with pytest.raises(ValueError):
        engine.advance(moved, styles, knobs, [2400, 1000])
