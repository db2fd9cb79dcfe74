"""Never silent: a real server whose engine stalls (the chaos switch), two sessions
streamed over gRPC for 20 s, and what the listener receives analysed: no digital silence,
no click where the concealment joins, concealed seconds matching the stalls, the beat grid
kept, each stall counted once."""

from __future__ import annotations

import re
import threading
import urllib.request

import numpy as np
import pytest

from cadenza.runtime.engines.chaos import ChaosEngine
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import Client

RATE = 48_000
BLOCK = 2400
SECONDS = 20.0
STALL_S, EVERY_S = 0.3, 2.0
LOOKAHEAD_S, BLOCK_S, MARGIN_S = 0.2, 0.05, 0.05  # a stall outlasts the buffered audio


def silent_runs(pcm: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """(start, length) of every run of exact zeros (both channels) of ``min_len`` or more."""
    zero = np.all(pcm == 0.0, axis=1).astype(np.int8)
    edges = np.diff(np.concatenate([[0], zero, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True) if e - s >= min_len]


def scrape(url: str, name: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


@pytest.fixture(scope="module")
def stalling_server():
    chaos = ChaosEngine(ProceduralEngine(), f"stall={int(STALL_S * 1000)}ms,every={EVERY_S:g}s")
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0,
                           engines={"procedural": chaos},
                           runtime=RuntimeConfig(lookahead_s=LOOKAHEAD_S))
    with ServerThread(options) as server:
        yield server, chaos


def test_stalls_are_concealed_without_silence_clicks_or_a_stumbling_beat(stalling_server):
    server, chaos = stalling_server
    client = Client(f"127.0.0.1:{server.grpc_port}")
    sessions = [client.create_session(scene="dungeon", seed=s) for s in (3, 4)]
    results: dict[str, dict] = {}

    def listen(session):
        events, chunks = [], []
        for chunk in session.stream(seconds=SECONDS, on_event=events.append, beat_events="beats"):
            chunks.append(chunk)
        results[session.id] = {"chunks": chunks, "events": events}

    threads = [threading.Thread(target=listen, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 30)
    stalls = [i for i in chaos.injections if i.kind == "stall"]
    assert len(stalls) >= 8  # the chaos switch really stalled the engine
    concealed = scrape(f"http://127.0.0.1:{server.server.console.port}",
                       "cadenza_concealed_seconds_total")
    underruns = 0
    for session in sessions:
        got = results[session.id]
        chunks = got["chunks"]
        assert [c.seq for c in chunks] == list(range(len(chunks)))
        pcm = np.concatenate([c.to_numpy() for c in chunks])
        assert len(pcm) >= SECONDS * RATE
        body = pcm[RATE // 2:]
        assert silent_runs(body, RATE // 100) == []  # no digital silence of 10 ms or more
        jumps = np.abs(np.diff(body, axis=0)).max(axis=1)
        assert jumps.max() <= 3 * np.quantile(jumps, 0.999) + 1e-6
        starts = [e for e in got["events"] if e.kind == "concealed" and e.message == "start"]
        ends = [e for e in got["events"] if e.kind == "concealed" and e.message == "end"]
        assert len(starts) >= len(stalls) // 2
        # A stall is concealed, never also counted as an underrun. Counting both would put
        # an underrun in every concealed run (a block either side), ≥ 8 here; a starved
        # host (a CI box under load holding this process off the CPU for over 100 ms)
        # makes the listener really run dry, rarely: at most one a session, in a run or not.
        runs = [(a.stream_time - BLOCK, b.stream_time + BLOCK)
                for a, b in zip(starts, ends, strict=False)]  # the last may still be open
        late = [e.stream_time for e in got["events"] if e.kind == "underrun"]
        inside = [t for t in late if any(lo <= t <= hi for lo, hi in runs)]
        assert len(inside) <= 1 < len(runs), (late, runs)
        underruns += len(late)
        beats = [e for e in got["events"] if e.kind == "beat"]
        spb = RATE * 60.0 / beats[0].clock.bpm
        offsets = [(b.stream_time - beats[0].stream_time) / spb for b in beats]
        assert max(abs(o - round(o)) for o in offsets) < 0.02  # beats stay on their grid
    # Each stall was concealed, per session, from its deadline (the buffered audio down to
    # the margin) to its end: stall - lookahead + margin, within one block (a call starts
    # with between the lookahead and one block more buffered); 1 s overall is allowed for
    # lateness the machine adds now and then.
    n = len(stalls) * len(sessions)
    expected = n * (STALL_S - LOOKAHEAD_S + MARGIN_S)
    assert expected - n * BLOCK_S <= concealed <= expected + n * BLOCK_S + 1.0, (concealed, n)
    assert underruns <= len(sessions)
    for session in sessions:
        session.close()
