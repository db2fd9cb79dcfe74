"""The generation loop with a manual clock: pacing, control, failures. Real engine."""

from __future__ import annotations

import itertools
import textwrap

import numpy as np
import pytest

from cadenza.runtime import analysis
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.errors import FailedPrecondition, InvalidArgument
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.session import GenerationLoop, SessionState
from cadenza.runtime.testing import CollectingListener, FlakyEngine, ManualClock

SCENE = compile_scene(textwrap.dedent("""\
    scene: loop
    inputs:
      intensity: {type: number, min: 0, max: 1, default: 0}
      mood: {type: enum, values: [light, dark], default: light}
      on: {type: bool, default: true}
    prompts:
      calm: "calm ambient piano"
      loud: "fast aggressive metal drums"
    mix:
      calm: "(1 - intensity) if on else 0"
      loud: "intensity if on else 0"
    transitions:
      default: 0.2s
    knobs:
      seed: 3
    """), "loop.yaml")
RATE = 48_000


@pytest.fixture
def loop(engine):
    return GenerationLoop(engine, lookahead_s=0.5, clock=ManualClock())


def started(loop, scene=SCENE, seed=None):
    session = loop.open(scene, seed)
    listener = CollectingListener()
    session.attach(listener)
    loop.control(session, "play")
    return session, listener


def run_for(loop, seconds, step=0.01):
    """Advance the manual clock in small steps, stepping the loop whenever it is due."""
    end = loop.clock.now() + seconds
    while loop.clock.now() < end:
        while loop.step(loop.clock.now()):
            pass
        loop.clock.advance(step)


def test_keeps_lookahead_ahead_of_real_time_and_no_further(loop):
    session, _listener = started(loop)
    loop.step(0.0)
    for _ in range(20):
        loop.step(0.0)
    assert session.stream_time == pytest.approx(0.5 * RATE, abs=2400)
    run_for(loop, 2.0)
    ahead = session.stream_time - 2.0 * RATE
    assert 0.45 * RATE <= ahead <= 0.5 * RATE + 2400
    assert session.counters.underruns == 0
    deadline = loop.next_deadline()
    assert deadline is not None and deadline >= loop.clock.now() - 0.05


def test_chunks_are_gapless_and_in_order(loop):
    _session, listener = started(loop)
    run_for(loop, 3.0)
    seqs = [c.seq for c in listener.chunks]
    assert seqs == list(range(len(seqs)))
    times = [c.stream_time for c in listener.chunks]
    assert all(b - a == 2400 for a, b in itertools.pairwise(times))
    assert listener.audio().shape[0] >= 3 * RATE


def test_longer_band_chunks_play_the_same_music_in_fewer_steps():
    """`--band-chunk-ms 200`: the loop asks for, and streams, 200 ms chunks (four band
    blocks); while the state holds, the listener hears exactly the 50 ms loop's samples,
    with a quarter of the engine calls and chunks. A state update still lands (at most one
    chunk later than with short chunks)."""
    heard = {}
    for blocks in (1, 4):
        chunk = 2400 * blocks
        loop = GenerationLoop(ProceduralEngine(chunk_blocks=blocks), lookahead_s=0.5,
                              clock=ManualClock())
        session, listener = started(loop)
        run_for(loop, 3.0)
        times = [c.stream_time for c in listener.chunks]
        assert all(b - a == chunk for a, b in itertools.pairwise(times))
        assert session.counters.underruns == 0
        heard[blocks] = (listener.audio(), loop.stats.rows)
        heard_at_update = loop.playhead(session, loop.clock.now())
        session.update_state({"intensity": 1.0})
        run_for(loop, 4.0)
        first = next(c for c in listener.chunks if c.weights.get("loud", 0) > 0)
        # heard within the lookahead plus one chunk of the update
        assert first.stream_time - heard_at_update <= 0.5 * RATE + chunk
        assert listener.chunks[-1].weights == {"loud": 1.0}
        assert session.counters.underruns == 0
    (short, short_rows), (long, long_rows) = heard[1], heard[4]
    common = min(len(short), len(long))
    assert common >= 3 * RATE
    assert np.array_equal(short[:common], long[:common])
    assert long_rows * 4 <= short_rows + 4


def test_state_update_changes_blend_and_audio_at_the_next_block(loop):
    session, listener = started(loop)
    run_for(loop, 2.0)
    before = len(listener.chunks)
    session.update_state({"intensity": 1.0})
    loop.step(loop.clock.now() + 1.0)  # the next block sees it
    assert listener.chunks[before].weights["loud"] > 0
    run_for(loop, 4.0)
    assert listener.chunks[-1].weights == {"loud": 1.0}
    audio = listener.audio()
    quiet, loud = audio[RATE: 2 * RATE], audio[-2 * RATE:]
    assert analysis.rms_db(loud) > analysis.rms_db(quiet) + 8
    assert "blend_changed" in listener.kinds()


@pytest.mark.parametrize("update,message", [
    ({"intensty": 0.5}, "unknown input 'intensty' in scene 'loop' (did you mean 'intensity'?)"),
    ({"intensity": "high"}, "input 'intensity' is a number, got str 'high'"),
    ({"intensity": float("nan")}, "input 'intensity' must be finite, got nan"),
    ({"intensity": 1e300}, "input 'intensity' must be within [0, 1], got 1e+300"),
    ({"intensity": True}, "input 'intensity' is a number, got bool True"),
    ({"mood": "grim"}, "input 'mood' has no value 'grim' (values: light, dark)"),
    ({"on": 1}, "input 'on' is a bool, got int 1"),
    ({"intensity": 0.2, "mood": 7}, "input 'mood' is an enum, got int 7"),
])
def test_bad_updates_are_refused_precisely_and_the_music_goes_on(loop, update, message):
    session, listener = started(loop)
    run_for(loop, 0.5)
    with pytest.raises(InvalidArgument) as info:
        session.update_state(update)
    assert str(info.value) == message
    assert info.value.field in update
    assert session.inputs["intensity"] == 0  # all or nothing
    count = len(listener.chunks)
    run_for(loop, 0.5)
    assert len(listener.chunks) > count and session.state is SessionState.PLAYING


def test_pause_stops_production_and_play_resumes_the_same_stream(loop):
    session, listener = started(loop)
    run_for(loop, 1.0)
    loop.control(session, "pause")
    produced = session.stream_time
    run_for(loop, 2.0)
    assert session.stream_time == produced
    loop.control(session, "play")
    run_for(loop, 1.0)
    assert session.stream_time > produced
    assert [c.seq for c in listener.chunks] == list(range(len(listener.chunks)))
    assert session.counters.underruns == 0  # a pause is not lateness


def test_reset_restarts_the_music_without_a_click(loop, engine):
    session, listener = started(loop)
    run_for(loop, 2.0)
    at = session.stream_time
    loop.control(session, "reset")
    run_for(loop, 2.0)
    audio = listener.audio()
    # The stream continues (same seq/time), and the music starts over from its first bar:
    # the seconds after the reset equal the session's first seconds (same seed).
    assert [c.seq for c in listener.chunks] == list(range(len(listener.chunks)))
    fresh = audio[at + 960: at + RATE]
    first = audio[960:RATE]
    assert np.max(np.abs(fresh - first)) < 1e-3
    jump = np.abs(audio[at] - audio[at - 1]).max()
    typical = np.abs(np.diff(audio[at - RATE: at], axis=0)).max()
    assert jump <= typical


def test_set_prompts_overrides_the_scene_until_cleared(loop):
    session, listener = started(loop)
    session.set_prompts({"techno": 2.0, "dark drones": 2.0})
    run_for(loop, 0.5)
    assert listener.chunks[-1].weights == {"techno": 0.5, "dark drones": 0.5}
    session.set_prompts({})
    run_for(loop, 0.5)
    assert set(listener.chunks[-1].weights) == {"calm"}
    for bad in ({"x": -1.0}, {"": 1.0}, {"x": float("inf")}, {"x": 0.0}):
        with pytest.raises(InvalidArgument):
            session.set_prompts(bad)


def test_unknown_prompt_words_are_reported(loop):
    session, listener = started(loop)
    session.set_prompts({"dark frobnicated techno": 1.0})
    run_for(loop, 0.3)
    events = [e for e in listener.events if e.kind.value == "unknown_words"]
    assert events and events[0].detail["words"] == ["frobnicated"]


def test_an_empty_blend_fades_to_silence(loop):
    session, listener = started(loop)
    run_for(loop, 1.0)
    session.update_state({"on": False})
    run_for(loop, 1.5)
    tail = listener.audio()[-RATE // 2:]
    assert analysis.peak(tail) == 0.0
    assert listener.chunks[-1].weights == {}


def test_one_failing_session_does_not_stop_the_others(engine):
    flaky = FlakyEngine(engine, bad_seeds=[666])
    loop = GenerationLoop(flaky, lookahead_s=0.5, clock=ManualClock())
    good, _good_listener = started(loop, seed=1)
    bad, bad_listener = started(loop, seed=666)
    run_for(loop, 1.0)
    assert bad.state is SessionState.FAILED and bad.id not in loop.sessions
    assert bad_listener.kinds()[-2:] == ["error", "ended"]
    assert good.state is SessionState.PLAYING and good.stream_time >= RATE
    assert max(flaky.calls) == 2  # they were batched together until the failure


def test_closed_sessions_leave_the_loop(loop):
    session, listener = started(loop)
    run_for(loop, 0.3)
    loop.control(session, "close")
    assert session.id not in loop.sessions
    assert listener.kinds()[-1] == "ended"
    with pytest.raises(FailedPrecondition):
        session.update_state({"intensity": 0.5})


def test_many_sessions_share_one_engine_call_per_step(engine):
    loop = GenerationLoop(engine, lookahead_s=0.2, clock=ManualClock())
    sessions = [started(loop, seed=i)[0] for i in range(6)]
    chunks = loop.step(0.0)
    assert len(chunks) == 6 and loop.stats.last_batch == 6
    assert {c.session_id for c in chunks} == {s.id for s in sessions}
