"""Attaching to a session that has just failed answers at once and ends (gRPC, WebSocket,
the Python SDK), against a real server whose engine fails one session's rows (chaos)."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from websockets.sync.client import connect

from cadenza.runtime.engines.chaos import ChaosEngine
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.runtime.transports.websocket.protocol import decode_audio
from cadenza.sdk import Client
from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

FAILS_AT_ONCE, FAILS_LATER, FAILS_LATER_TOO = 666, 777, 778
# 666 fails on its first block; 777 and 778 play 1 s of their own first.
CHAOS = (f"fail=1,seed={FAILS_AT_ONCE}; fail=1,seed={FAILS_LATER},after=1s; "
         f"fail=1,seed={FAILS_LATER_TOO},after=1s")


def _keep_ended(server) -> None:
    # The runtime forgets ended sessions within a second (then attach is NOT_FOUND, also at
    # once); keep them so each attach below meets the "failed, still in the table" state.
    server.runtime._forget_ended = lambda: None


@pytest.fixture(scope="module")
def server():
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(idle_timeout_s=30),
                           engines={"procedural": ChaosEngine(ProceduralEngine(), CHAOS)})
    with ServerThread(options, build=_keep_ended) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with Client(server.grpc_address) as c:
        yield c


def failed_session(client, seed: int) -> str:
    session = client.create_session(scene="minimal", seed=seed)
    end = time.monotonic() + 10
    while client.get_session(session.id).state != "failed":
        assert time.monotonic() < end, "the targeted session did not fail"
        time.sleep(0.02)
    return session.id


def grpc_attach(server, session_id: str, resume: int | None = None):
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = pb_grpc.RuntimeStub(channel)
        attach = pb.Attach(session_id=session_id)
        if resume is not None:
            attach.resume_from_seq = resume
        started = time.monotonic()
        call = stub.Stream(iter([pb.ClientMessage(attach=attach)]), timeout=5.0)
        messages = list(call)  # the stream must end by itself, with OK
        elapsed = time.monotonic() - started
        assert call.code() == grpc.StatusCode.OK
    return messages, elapsed


def test_grpc_attach_to_a_failed_session_ends_at_once(server, client):
    session_id = failed_session(client, FAILS_AT_ONCE)
    messages, elapsed = grpc_attach(server, session_id)
    assert elapsed < 1.0
    kinds = [m.WhichOneof("message") for m in messages]
    assert kinds == ["attached", "event", "event"]
    assert messages[0].attached.state == pb.FAILED
    error, ended = messages[1].event, messages[2].event
    assert error.kind == pb.Event.SESSION_ERROR and error.message == "engine failure"
    assert ended.kind == pb.Event.SESSION_ENDED and ended.message == "error"


def test_grpc_resume_of_a_failed_session_gets_its_last_audio_then_the_error(server, client):
    session_id = failed_session(client, FAILS_LATER)  # played about a second first
    messages, elapsed = grpc_attach(server, session_id, resume=0)
    assert elapsed < 1.0
    audio = [m.audio for m in messages if m.WhichOneof("message") == "audio"]
    assert len(audio) >= 10 and [a.seq for a in audio] == list(range(len(audio)))
    events = [m.event for m in messages if m.WhichOneof("message") == "event"]
    assert [e.kind for e in events[-2:]] == [pb.Event.SESSION_ERROR, pb.Event.SESSION_ENDED]
    assert messages[-1].WhichOneof("message") == "event"  # nothing after the end


def test_websocket_attach_to_a_failed_session_ends_at_once(server, client):
    session_id = failed_session(client, FAILS_AT_ONCE)
    started = time.monotonic()
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "attach", "session_id": session_id, "id": 1}))
        received = []
        while True:
            try:
                received.append(json.loads(ws.recv(timeout=2.0)))
            except Exception as exc:  # the close frame ends the loop
                closed = exc
                break
        elapsed = time.monotonic() - started
    assert elapsed < 1.0, received
    assert [m["type"] for m in received] == ["session", "event", "event"]
    assert received[0]["session"]["state"] == "failed"
    assert received[1] == {"type": "event", "kind": "error", "message": "engine failure",
                           "stream_time": received[1]["stream_time"]}
    assert received[2]["kind"] == "ended" and received[2]["reason"] == "error"
    assert ws.close_code == 1000, closed


def test_websocket_resume_of_a_failed_session(server, client):
    session_id = failed_session(client, FAILS_LATER_TOO)
    with connect(server.ws_url) as ws:
        started = time.monotonic()
        ws.send(json.dumps({"type": "attach", "session_id": session_id, "resume_from_seq": 0}))
        frames, events = [], []
        with pytest.raises(Exception):  # noqa: B017 (ConnectionClosedOK ends the stream)
            while True:
                data = ws.recv(timeout=2.0)
                if isinstance(data, bytes):
                    frames.append(decode_audio(data))
                elif json.loads(data)["type"] == "event":
                    events.append(json.loads(data)["kind"])
        assert time.monotonic() - started < 1.0
        assert ws.close_code == 1000
    assert len(frames) >= 10 and [f.seq for f in frames] == list(range(len(frames)))
    assert events[-2:] == ["error", "ended"]


def test_sdk_stream_of_a_failed_session_returns_at_once(server, client):
    session_id = failed_session(client, FAILS_AT_ONCE)
    events = []
    started = time.monotonic()
    chunks = list(client.session(session_id).stream(seconds=30.0, on_event=events.append))
    assert time.monotonic() - started < 1.0
    assert chunks == [] and [e.kind for e in events][-2:] == ["error", "ended"]
