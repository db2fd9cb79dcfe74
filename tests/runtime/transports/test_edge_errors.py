"""Errors at the edges, against a real server: the right status, ASCII-safe and bounded
details, malformed bytes refused as INVALID_ARGUMENT, our own faults counted and sent as
the documented WebSocket error frame."""

from __future__ import annotations

import json

import grpc
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cadenza.sdk import Client, InvalidArgument, NotFound
from cadenza.v1 import runtime_pb2 as pb

SERVICE = "/cadenza.v1.Runtime/"


def errors_total(server, transport: str, code: str) -> float:
    value = server.runtime.metrics.registry.get_sample_value(
        "cadenza_errors_total", {"transport": transport, "code": code})
    return value or 0.0


@pytest.fixture
def client(server):
    with Client(server.grpc_address) as c:
        yield c


def raw_call(server, method: str, payload: bytes, response=pb.SessionInfo):
    with grpc.insecure_channel(server.grpc_address) as channel:
        call = channel.unary_unary(SERVICE + method, request_serializer=lambda b: b,
                                   response_deserializer=response.FromString)
        return call(payload, timeout=10)


@pytest.mark.parametrize("payload", [b"\xff\xff\xff", b"\x0a\xff\xff\xff\x0f", b"\x08" * 3,
                                     bytes(range(256))])
def test_malformed_protobuf_is_invalid_argument(server, payload):
    before = errors_total(server, "grpc", "invalid_argument")
    with pytest.raises(grpc.RpcError) as err:
        raw_call(server, "GetSession", payload)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "DecodeError" not in err.value.details() and "GetSessionRequest" in err.value.details()
    assert errors_total(server, "grpc", "invalid_argument") == before + 1


def test_malformed_message_on_a_stream_gets_an_error_ack(server, client):
    session = client.create_session("minimal", paused=True)
    with grpc.insecure_channel(server.grpc_address) as channel:
        stream = channel.stream_stream(SERVICE + "Stream", request_serializer=lambda b: b,
                                       response_deserializer=pb.ServerMessage.FromString)
        attach = pb.ClientMessage(attach=pb.Attach(session_id=session.id)).SerializeToString()
        good = pb.ClientMessage(request_id=3, trigger=pb.StingerTrigger(stinger="nope"))
        call = stream(iter([attach, b"\xff\xff\xff", good.SerializeToString()]), timeout=10)
        acks = []
        for message in call:
            if message.WhichOneof("message") == "ack":
                acks.append(message.ack)
                if len(acks) == 2:
                    break
        call.cancel()
    assert acks[0].code == "INVALID_ARGUMENT" and acks[0].field == "request"
    assert acks[1].request_id == 3 and acks[1].code == "INVALID_ARGUMENT"
    assert acks[1].field == "stinger"
    session.close()


def test_a_16kb_session_id_is_not_found_with_a_short_message(client):
    with pytest.raises(NotFound) as err:
        client.get_session("k" * 16_384)
    assert err.value.code == "NOT_FOUND"
    assert len(err.value.message) <= 300 and err.value.message.endswith("...")


def test_non_ascii_fields_travel_in_the_trailer(client):
    session = client.create_session("minimal", paused=True)
    with pytest.raises(InvalidArgument) as err:
        session.set_prompts({"café jazz": -1.0})
    assert err.value.field == "prompts[café jazz]"  # percent-encoded, decoded by the SDK
    assert err.value.message.isascii()
    with pytest.raises(InvalidArgument) as err:
        session.update({"dangér": 1.0})
    assert err.value.field == "dangér"
    session.close()


def test_websocket_internal_error_is_an_error_frame_and_counted(server, monkeypatch):
    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded (secret detail)")

    before = errors_total(server, "websocket", "internal")
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "create", "scene": "minimal", "paused": True}))
        assert json.loads(ws.recv())["type"] == "session"
        monkeypatch.setattr(server.runtime, "trigger", broken)
        ws.send(json.dumps({"type": "trigger", "stinger": "x", "id": 4}))
        reply = json.loads(ws.recv())
        assert reply == {"type": "error", "code": "internal", "message": "internal error",
                         "field": "", "id": 4}
        monkeypatch.undo()
        ws.send(json.dumps({"type": "ping", "id": 5}))  # the connection goes on
        assert json.loads(ws.recv()) == {"type": "pong", "id": 5}
    assert errors_total(server, "websocket", "internal") == before + 1


def test_websocket_internal_error_on_create_is_a_frame_then_4500(server, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.runtime, "create_session", broken)
    before = errors_total(server, "websocket", "internal")
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "create", "scene": "minimal", "id": 1}))
        reply = json.loads(ws.recv())
        assert reply["type"] == "error" and reply["code"] == "internal" and reply["id"] == 1
        with pytest.raises(ConnectionClosed):
            ws.recv()
        assert ws.close_code == 4500
    assert errors_total(server, "websocket", "internal") == before + 1


def test_websocket_errors_are_bounded_and_ascii(server):
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "attach", "session_id": "é" * 16_384, "id": 2}))
        reply = json.loads(ws.recv())
    assert reply["code"] == "not_found" and reply["id"] == 2
    assert reply["message"].isascii() and len(reply["message"]) <= 300


def test_retry_after_reaches_grpc_and_websocket_clients(server, client, monkeypatch):
    from cadenza.runtime.errors import ResourceExhausted as Busy
    from cadenza.sdk import ResourceExhausted

    def busy(*args, **kwargs):
        raise Busy("every worker is full", retry_after_s=1.5)

    session = client.create_session("minimal", paused=True)
    monkeypatch.setattr(server.runtime, "trigger", busy)
    with pytest.raises(ResourceExhausted) as err:
        session.trigger("hit")
    assert err.value.retry_after == 1.5 and err.value.code == "RESOURCE_EXHAUSTED"
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "attach", "session_id": session.id}))
        assert json.loads(ws.recv())["type"] == "session"
        ws.send(json.dumps({"type": "trigger", "stinger": "hit", "id": 9}))
        while True:
            reply = ws.recv()
            if isinstance(reply, str) and json.loads(reply).get("id") == 9:
                break
    assert json.loads(reply) == {"type": "error", "code": "resource_exhausted", "id": 9,
                                 "message": "every worker is full", "field": "",
                                 "retry_after_s": 1.5}
    monkeypatch.undo()
    session.close()
