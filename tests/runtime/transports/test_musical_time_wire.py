"""Musical time on the wire: beat metadata, beat/bar events, stinger triggers over gRPC and
WebSocket, and a recorded gRPC session replayed bit-identically."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
from websockets.sync.client import connect

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.runtime.transports.websocket.protocol import decode_audio
from cadenza.sdk import CadenzaError, Client, FailedPrecondition

RATE = 48_000


@pytest.fixture(scope="module")
def recording_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("recordings")
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(record_dir=directory))
    with ServerThread(options) as server:
        yield server, directory


def test_chunks_and_bar_events_follow_the_beat_grid(server):
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon", seed=2)
        events, chunks = [], []
        for chunk in session.stream(seconds=6.0, beat_events="bars", on_event=events.append):
            chunks.append(chunk)
        clock = chunks[0].clock
        assert clock is not None and clock.beats_per_bar == 4 and clock.bpm > 60
        bars = [e for e in events if e.kind == "bar"]
        assert len(bars) >= 2
        for event in bars:
            chunk = next(c for c in chunks if c.stream_time <= event.stream_time < c.stream_time + c.frames)
            beat = chunk.clock.beat + (event.stream_time - chunk.stream_time) * chunk.clock.bpm / 60 / RATE
            assert abs(beat - round(beat)) * 60 / chunk.clock.bpm < 0.001  # on a beat, to 1 ms
            assert round(beat) % 4 == 0 and event.clock.beat_in_bar == 0
            assert event.clock.bar == round(beat) // 4
        info = session.info()
        assert info.clock is not None and set(info.stingers) == {"hit", "level_up", "low_health"}
        session.close()


def test_trigger_over_grpc_unary_and_stream(server):
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon", seed=3)
        events = []
        for i, _chunk in enumerate(session.stream(seconds=4.0, on_event=events.append)):
            if i == 10:
                session.trigger("hit")
            if i == 12:
                session.trigger("hit")  # inside its 1 s cooldown
        stingers = [(e.stinger, e.stinger_status) for e in events if e.kind == "stinger"]
        assert stingers == [("hit", "scheduled"), ("hit", "suppressed")]
        with pytest.raises(CadenzaError) as info:
            session.trigger("hti")
        assert info.value.code == "INVALID_ARGUMENT" and info.value.field == "stinger"
        assert "did you mean 'hit'" in info.value.message
        session.close()


def test_trigger_and_beats_over_websocket(server):
    with connect(server.ws_url).__enter__() as ws:
        ws.send(json.dumps({"type": "create", "scene": "dungeon", "beat_events": "beats"}))
        assert json.loads(ws.recv(5))["type"] == "session"
        frames, beats, stingers, acks = [], [], [], []
        while sum(f.frames for f in frames) < 3 * RATE:
            data = ws.recv(5)
            if isinstance(data, bytes):
                frames.append(decode_audio(data))
                if len(frames) == 5:
                    ws.send(json.dumps({"type": "trigger", "stinger": "level_up", "id": 1}))
                    ws.send(json.dumps({"type": "trigger", "stinger": "nope", "id": 2}))
                continue
            message = json.loads(data)
            if message.get("kind") == "beat":
                beats.append(message)
            elif message.get("kind") == "stinger":
                stingers.append(message)
            elif message["type"] in ("ack", "error"):
                acks.append(message)
        # Every binary frame carries the clock; beat events fall on its whole beats.
        assert all(f.beat is not None and f.beats_per_bar == 4 for f in frames)
        for f, g in itertools.pairwise(frames):
            assert g.beat == pytest.approx(f.beat + f.frames * f.bpm / 60 / RATE, abs=1e-3)
        assert len(beats) >= 4 and all(b["beat"] == round(b["beat"]) for b in beats)
        assert [(a["type"], a["id"]) for a in acks] == [("ack", 1), ("error", 2)]
        assert acks[1]["field"] == "stinger"
        [scheduled] = stingers
        assert scheduled["stinger"] == "level_up" and scheduled["status"] == "scheduled"
        frame = next(f for f in frames if f.stream_time <= scheduled["at"] < f.stream_time + f.frames)
        beat = frame.beat + (scheduled["at"] - frame.stream_time) * frame.bpm / 60 / RATE
        assert beat == pytest.approx(round(beat), abs=1e-3) and round(beat) % 4 == 0  # on a bar


def _replay_diff(a, b, *extra: str) -> subprocess.CompletedProcess:
    """`cadenza replay --diff a b [extra]`, its output captured."""
    return subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "replay", "--diff",
                           str(a), str(b), *extra], capture_output=True, text=True, timeout=120)


def test_a_recorded_grpc_session_replays_bit_identically(recording_server, tmp_path):
    server, directory = recording_server
    rng = random.Random(9)
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon", seed=5)
        update_at = set(rng.sample(range(2, 170), 50))
        trigger_at = set(rng.sample(range(5, 170), 5))
        streamed = tmp_path / "streamed.wav"
        with wave.open(str(streamed), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(RATE)
            events: list = []
            for i, chunk in enumerate(session.stream(seconds=9.0, on_event=events.append)):
                out.writeframes(chunk.pcm)
                if i in update_at:
                    session.update(danger=round(rng.random(), 3), health=rng.randint(0, 100),
                                   biome=rng.choice(["town", "forest", "cave"]))
                if i in trigger_at:
                    session.trigger(rng.choice(["hit", "level_up"]))
        recording = session.info().recording
        session.close()
    assert recording.startswith(str(directory))
    lines = [json.loads(line) for line in Path(recording).read_text().splitlines()]
    kinds = [line.get("type") for line in lines[1:-1]]
    assert kinds.count("state") == 50 and kinds.count("trigger") == 5
    replayed = tmp_path / "replayed.wav"
    result = subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "replay", recording,
                             "--out", str(replayed)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    a, _ = soundfile.read(streamed, dtype="int16")
    b, _ = soundfile.read(replayed, dtype="int16")
    assert len(b) >= len(a) >= 9 * RATE
    # Bit-identical, up to where the live engine was late and its concealment voice played
    # (the offline replay is never late); on a quiet machine that is nowhere.
    concealed = [e.stream_time for e in events if e.kind == "concealed"]
    upto = min(concealed, default=len(a))
    assert upto >= 2 * RATE
    assert np.array_equal(a[:upto], b[:upto])  # bit-identical

    # --diff agrees (up to the live concealment, as above; from there it points at a
    # difference no earlier), and points at the first difference (with the blend there).
    soundfile.write(tmp_path / "live.wav", a[:upto], RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "cut.wav", b[:upto], RATE, subtype="PCM_16")
    same = _replay_diff(tmp_path / "live.wav", tmp_path / "cut.wav")
    assert same.returncode == 0 and same.stdout.startswith("identical")
    if upto < len(a):
        soundfile.write(tmp_path / "whole.wav", b[: len(a)], RATE, subtype="PCM_16")
        after = _replay_diff(streamed, tmp_path / "whole.wav")
        at = re.search(r"first difference at sample (\d+)", after.stdout)
        assert after.returncode == 1 and at and int(at.group(1)) >= upto, after.stdout
    damaged = a.copy()
    damaged[123_456, 0] ^= 1
    soundfile.write(tmp_path / "damaged.wav", damaged, RATE, subtype="PCM_16")
    diff = _replay_diff(streamed, tmp_path / "damaged.wav", "--rec", recording)
    assert diff.returncode == 1
    assert "first difference at sample 123456 (2.572000 s)" in diff.stdout
    assert "blend there:" in diff.stdout and "bar " in diff.stdout


def test_record_on_request_needs_a_recordings_folder(server, tmp_path, monkeypatch):
    """Without --record, `record=True` is refused (a client never makes the server write
    files); with --record DIR, a recorded session's file replays what was asked."""
    monkeypatch.chdir(tmp_path)
    with Client(server.grpc_address) as client:
        with pytest.raises(FailedPrecondition) as err:
            client.create_session(scene="minimal", record=True)
        assert "--record" in err.value.message
    assert not (tmp_path / "recordings").exists()
    folder = tmp_path / "recs"
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(record_dir=folder))
    with ServerThread(options) as recording_server, \
            Client(recording_server.grpc_address) as client:
        recorded = client.create_session(scene="minimal", record=True)
        path = Path(recorded.info().recording)
        assert path.parent == folder and path.name == f"{recorded.id}.cadrec"
        list(recorded.stream(seconds=0.5))
        recorded.update(intensity=0.9)
        recorded.set_generation_config(bpm=110)
        recorded.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == "cadenza-recording/1" and lines[0]["seed"] == recorded.created.seed
    assert [line.get("type") for line in lines[1:-1]] == ["control", "state", "config", "control"]
    assert lines[3]["config"] == {"bpm": 110.0}
    assert "end" in lines[-1]


def test_engine_info_lists_unsupported_config(server):
    with Client(server.grpc_address) as client:
        info = client.engine_info()
        assert info.unsupported_knobs == () and info.beat_grid
        assert {"bpm", "scale", "mute_drums", "only_bass_and_drums"} <= set(info.knobs)
