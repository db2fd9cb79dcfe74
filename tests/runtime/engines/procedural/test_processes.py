"""The band in worker processes (`--band-processes`): the same samples as in the serving
process, states that move by snapshot, a dead worker that fails only its own sessions."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from cadenza.runtime.engines.base import Knobs, Prompt, StyleChange
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.engines.procedural.processes import BandProcesses
from cadenza.runtime.errors import EngineUnavailable

TEXTS = ("calm ambient piano", "fast aggressive metal drums", "celtic fiddle tavern jig",
         "dark dungeon drones")


@pytest.fixture(scope="module")
def band():
    engine = BandProcesses(2)
    yield engine
    engine.close()


def styles_for(engine, count: int) -> np.ndarray:
    return np.stack([engine.embed(Prompt(text=TEXTS[i % len(TEXTS)])).vector
                     for i in range(count)])


def test_the_same_samples_clock_and_phrases_as_in_the_serving_process(band):
    local = ProceduralEngine()
    styles = styles_for(local, 6)
    remote = [band.init_state(seed) for seed in range(6)]
    here = [local.init_state(seed) for seed in range(6)]
    assert {s.worker for s in remote} == {0, 1}  # spread over both processes
    n = local.info.block_frames
    for i in range(30):
        changes = [StyleChange(offset=n // 2, style=styles[0])] * 6 if i == 12 else None
        frames = n * (1 + i % 2)
        got = band.generate(remote, styles, [Knobs()] * 6, frames, changes)
        want = local.generate(here, styles, [Knobs()] * 6, frames, changes)
        np.testing.assert_array_equal(got.pcm, want.pcm)
        assert got.states == remote
        for r, h, style in zip(remote, here, styles, strict=True):
            assert band.beat_clock(r, style, Knobs()) == local.beat_clock(h, style, Knobs())
    assert np.abs(got.pcm).max() > 0.01
    np.testing.assert_array_equal(band.phrase(remote[2], "rising strings", 2),
                                  local.phrase(here[2], "rising strings", 2))


def test_advance_in_the_workers_matches_the_serving_process(band):
    """A stretch moved on without sound (concealment covered it) in the workers: the same
    clocks, then the same samples as `ProceduralEngine.advance` here."""
    local = ProceduralEngine()
    styles = styles_for(local, 4)
    remote = [band.init_state(seed) for seed in range(10, 14)]
    here = [local.init_state(seed) for seed in range(10, 14)]
    n = local.info.block_frames
    for step in ("generate", "advance", "generate"):
        if step == "advance":
            lengths = [9 * n, 2 * n, 0, 5 * n]  # each row its own stretch
            assert band.advance(remote, styles, [Knobs()] * 4, lengths) == remote
            local.advance(here, styles, [Knobs()] * 4, lengths)
        else:
            np.testing.assert_array_equal(band.generate(remote, styles, [Knobs()] * 4, 3 * n).pcm,
                                          local.generate(here, styles, [Knobs()] * 4, 3 * n).pcm)
        for r, h, style in zip(remote, here, styles, strict=True):
            assert band.beat_clock(r, style, Knobs()) == local.beat_clock(h, style, Knobs())


def test_a_snapshot_moves_a_session_between_processes_and_engines(band):
    local = ProceduralEngine()
    style = styles_for(local, 1)
    state = band.init_state(7)
    for _ in range(23):
        band.generate([state], style, [Knobs()], local.info.block_frames)
    data = band.snapshot(state)
    here = local.restore(data)  # out of the workers...
    back = band.restore(data)  # ...and into them again
    want = local.generate([here], style, [Knobs()], 48_000).pcm
    np.testing.assert_array_equal(band.generate([back], style, [Knobs()], 48_000).pcm, want)
    np.testing.assert_array_equal(band.generate([state], style, [Knobs()], 48_000).pcm[0],
                                  local.generate([local.restore(data)], style, [Knobs()],
                                                 48_000).pcm[0])
    fresh = band.init_state(3)  # never played: its snapshot is its seed's first state
    np.testing.assert_array_equal(
        local.generate([local.restore(band.snapshot(fresh))], style, [Knobs()], 4800).pcm,
        local.generate([local.init_state(3)], style, [Knobs()], 4800).pcm)
    with pytest.raises(ValueError):
        band.restore(b"not a snapshot")
    for s in (state, back, fresh):
        band.release(s)


def test_released_states_leave_their_worker(band):
    style = styles_for(band, 1)
    before = [w.sessions for w in band.workers]
    states = [band.init_state(seed) for seed in range(4)]
    band.generate(states, np.repeat(style, 4, axis=0), [Knobs()] * 4, 2400)
    for state in states:
        band.release(state)
    assert [w.sessions for w in band.workers] == before
    assert sorted(k for w in band.workers for k in w.released) == sorted(s.key for s in states)
    other = band.init_state(99)
    band.generate([other], style, [Knobs()], 2400)  # carries the releases to the workers
    assert not any(w.released for w in band.workers if w.index == other.worker)
    band.release(other)


def test_calls_from_two_threads_at_once_both_complete(band):
    style = styles_for(band, 4)
    a = [band.init_state(seed) for seed in range(4)]
    b = [band.init_state(seed) for seed in range(4, 8)]
    errors: list[BaseException] = []

    def play(states):
        try:
            for _ in range(20):
                band.generate(states, style, [Knobs()] * len(states), 2400)
        except BaseException as exc:  # reported below
            errors.append(exc)

    # The second thread lists its rows from the other worker first (locks taken in order).
    threads = [threading.Thread(target=play, args=(a,)),
               threading.Thread(target=play, args=(sorted(b, key=lambda s: -s.worker),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)


def test_a_dead_worker_fails_its_own_sessions_and_no_other():
    band = BandProcesses(2)
    try:
        style = styles_for(band, 2)
        states = [band.init_state(0), band.init_state(1)]
        by_worker = {s.worker: s for s in states}
        band.generate(states, style, [Knobs()] * 2, 2400)
        os.kill(band.workers[0].process.pid, signal.SIGKILL)
        band.workers[0].process.join(10)
        with pytest.raises(EngineUnavailable, match="band process 0"):
            band.generate([by_worker[0]], style[:1], [Knobs()], 2400)
        out = band.generate([by_worker[1]], style[:1], [Knobs()], 2400)
        assert np.abs(out.pcm).max() > 0
    finally:
        band.close()


def _processes() -> list[tuple[int, bytes]]:
    """(parent pid, command line) of every process on this machine (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                found.append((ppid, handle.read()))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def test_cadenza_serve_plays_the_band_in_its_processes():
    """`cadenza serve --band-processes 2` as a user runs it: sessions over gRPC stream
    music without a gap, and the band runs in the server's two worker processes."""
    import itertools

    from cadenza.runtime import analysis
    from cadenza.sdk import Client
    from tests.runtime.console.helpers import cadenza_serve

    with cadenza_serve("--band-processes", "2") as served, Client(served.grpc_address) as client:
        spawned = [cmd for ppid, cmd in _processes() if ppid == served.process.pid
                   and b"spawn_main" in cmd]
        assert len(spawned) == 2
        sessions = []
        for i, scene in enumerate(("dungeon", "museum", "minimal", "tavern")):
            session = client.create_session(scene=scene, seed=i)
            sessions.append(session)
            chunks = list(session.stream(seconds=3.0))
            assert [c.seq for c in chunks] == list(range(chunks[0].seq,
                                                         chunks[0].seq + len(chunks)))
            audio = np.concatenate([c.to_numpy() for c in chunks])
            assert len(audio) >= 3 * 48_000
            assert analysis.rms_db(audio) > -40
            assert analysis.longest_silence(audio, 48_000) < 0.05
            assert not any(np.array_equal(a.to_numpy(), b.to_numpy())
                           for a, b in itertools.pairwise(chunks))
        assert all(s.info().underruns == 0 for s in sessions)


def test_each_worker_gets_the_note_cache_size_and_a_bad_one_starts_no_worker():
    band = BandProcesses(1, note_cache_mb=300, chunk_blocks=2)
    try:
        assert band.workers[0].note_cache_bytes == 300 << 20  # as the worker reported it
        assert band.local.synth.limit == 64 << 20  # the serving process only makes phrases
        assert band.info.block_frames == 4800  # the chunk --band-chunk-ms 100 asks for
        out = band.generate([band.init_state(1)], styles_for(band.local, 1), [Knobs()],
                            band.info.block_frames)
        assert out.pcm.shape == (1, 4800, 2) and np.abs(out.pcm).max() > 0
    finally:
        band.close()
    with pytest.raises(ValueError, match="note_cache_mb"):
        BandProcesses(1, note_cache_mb=0)
