"""The WebSocket bridge against a real server, with a real WebSocket client."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cadenza.runtime import analysis
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.testing import ServerThread
from cadenza.runtime.transports.websocket.protocol import decode_audio

RATE = 48_000


class Peer:
    """A WebSocket client that sorts what it receives."""

    def __init__(self, url: str, **kwargs) -> None:
        self.ws = connect(url, **kwargs).__enter__()
        self.frames, self.json = [], []

    def send(self, **message) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float = 5.0):
        data = self.ws.recv(timeout)
        if isinstance(data, bytes):
            frame = decode_audio(data)
            self.frames.append(frame)
            return frame
        message = json.loads(data)
        self.json.append(message)
        return message

    def until(self, predicate, timeout: float = 10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            item = self.receive(end - time.monotonic())
            if predicate(item):
                return item
        raise AssertionError("condition not met in time")

    def audio_seconds(self) -> float:
        return sum(f.frames for f in self.frames) / RATE

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.json if m.get("type") == kind]


def pcm(frames) -> np.ndarray:
    data = b"".join(f.pcm for f in frames)
    return (np.frombuffer(data, "<i2").astype(np.float32) / 32767).reshape(-1, 2)


def test_full_session_over_websocket(server):
    peer = Peer(server.ws_url)
    peer.send(type="create", scene="minimal", seed=2, id=1)
    hello = peer.receive()
    assert hello["type"] == "session" and hello["session"]["scene"] == "minimal"
    session_id = hello["session"]["session_id"]
    peer.until(lambda m: isinstance(m, object) and peer.audio_seconds() >= 2.0)
    peer.send(type="state", values={"intensity": 1.0}, id=2)
    peer.until(lambda m: isinstance(m, dict) and m.get("type") == "ack" and m["id"] == 2)
    peer.until(lambda m: peer.audio_seconds() >= 6.0)
    seqs = [f.seq for f in peer.frames]
    assert seqs == list(range(len(seqs)))
    assert all(b.stream_time == a.stream_time + a.frames
               for a, b in itertools.pairwise(peer.frames))
    blends = peer.of_type("blend")
    assert blends[0]["seq"] == 0 and {b["name"] for b in blends[0]["blend"]} == {"calm", "intense"}
    assert blends[-1]["blend"] == [{"name": "intense", "text": "fast energetic techno", "weight": 1.0}]
    audio = pcm(peer.frames)
    assert analysis.rms_db(audio[-2 * RATE:]) > analysis.rms_db(audio[RATE // 2: 2 * RATE]) + 6

    peer.send(type="control", action="pause", id=3)
    peer.until(lambda m: isinstance(m, dict) and m.get("type") == "ack" and m["id"] == 3)
    state = peer.until(lambda m: isinstance(m, dict) and m.get("kind") == "state_changed")
    assert state["state"] == "paused"
    time.sleep(0.3)
    count = len(peer.frames)
    peer.send(type="ping", id=4)
    peer.until(lambda m: isinstance(m, dict) and m.get("type") == "pong")
    peer.send(type="control", action="play", id=5)
    peer.until(lambda m: len(peer.frames) > count + 10)
    assert [f.seq for f in peer.frames] == list(range(len(peer.frames)))

    peer.send(type="control", action="stop", id=6)
    ended = peer.until(lambda m: isinstance(m, dict) and m.get("kind") == "ended")
    assert ended["reason"] == "closed"
    with pytest.raises(ConnectionClosed):
        peer.receive(2)
    assert peer.ws.close_code == 1000
    assert session_id not in [s.id for s in server.call(server.runtime.sessions)]


def test_errors_are_answered_and_the_stream_goes_on(server):
    peer = Peer(server.ws_url)
    peer.send(type="create", scene="dungeon")
    peer.receive()
    peer.send(type="state", values={"dangr": 1}, id=1)
    peer.send(type="state", values={"danger": "lots"}, id=2)
    peer.ws.send("{broken")
    peer.send(type="control", action="fly", id=3)
    errors = [peer.until(lambda m: isinstance(m, dict) and m.get("type") == "error")
              for _ in range(4)]
    by_id = {e.get("id"): e for e in errors}
    assert by_id[1]["field"] == "dangr" and "did you mean 'danger'" in by_id[1]["message"]
    assert by_id[2]["code"] == "invalid_argument" and by_id[2]["field"] == "danger"
    assert by_id[None]["field"] == "frame"
    assert by_id[3]["field"] == "action"
    before = len(peer.frames)
    peer.until(lambda m: len(peer.frames) > before + 5)
    peer.ws.close()


def test_attach_resumes_the_same_session(server):
    first = Peer(server.ws_url)
    first.send(type="create", scene="minimal", encoding="f32le")
    session_id = first.receive()["session"]["session_id"]
    first.until(lambda m: first.audio_seconds() >= 1.0)
    last = first.frames[-1].seq
    first.ws.close()  # the connection drops
    second = Peer(server.ws_url)
    second.send(type="attach", session_id=session_id, resume_from_seq=last + 1, encoding="f32le")
    assert second.receive()["session"]["session_id"] == session_id
    second.until(lambda m: second.audio_seconds() >= 1.0)
    assert second.frames[0].seq == last + 1  # continuing seq, nothing lost
    assert second.frames[0].encoding == "f32le"
    assert [f.seq for f in second.frames] == list(range(last + 1, last + 1 + len(second.frames)))
    second.ws.close()


def test_refusals_close_with_the_mapped_code(server):
    for message, code, close in (({"type": "attach", "session_id": "ghost"}, "not_found", 4404),
                                 ({"type": "create", "scene": "nope"}, "not_found", 4404),
                                 ({"type": "state", "values": {}}, "invalid_argument", 4400),
                                 ({"type": "create", "scene_yaml": "scene: ["}, "invalid_argument",
                                  4400)):
        peer = Peer(server.ws_url)
        peer.send(**message)
        reply = peer.receive()
        assert reply["type"] == "error" and reply["code"] == code
        with pytest.raises(ConnectionClosed):
            peer.receive(2)
        assert peer.ws.close_code == close
    peer = Peer(server.ws_url)
    peer.ws.send("x" * (2 << 20))  # oversized: the WebSocket layer refuses it (1009)
    with pytest.raises(ConnectionClosed):
        peer.receive(2)
    assert peer.ws.close_code == 1009


def test_wrong_path_is_404(server):
    with pytest.raises(InvalidStatus) as info:
        connect(server.ws_url.replace("/v1/stream", "/nope"))
    assert info.value.response.status_code == 404


def test_token_is_checked_at_the_handshake():
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, token="t0k")) as server:
        for kwargs in ({}, {"additional_headers": {"Authorization": "Bearer nope"}}):
            with pytest.raises(InvalidStatus) as info:
                connect(server.ws_url, **kwargs)
            assert info.value.response.status_code == 401
        for peer in (Peer(server.ws_url, additional_headers={"Authorization": "Bearer t0k"}),
                     Peer(server.ws_url + "?token=t0k")):
            peer.send(type="create", scene="minimal")
            assert peer.receive()["type"] == "session"
            peer.ws.close()
