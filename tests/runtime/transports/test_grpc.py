"""The gRPC runtime against a real server on loopback."""

from __future__ import annotations

import itertools
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cadenza.runtime import analysis
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import CadenzaError, Client
from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

RATE = 48_000


@pytest.fixture
def client(server):
    with Client(server.grpc_address) as c:
        yield c


def test_full_session_over_grpc(client):
    session = client.create_session(scene="minimal", seed=3)
    assert session.created.state == "playing" and session.created.scene == "minimal"
    chunks, events = [], []
    for chunk in session.stream(seconds=6.0, on_event=events.append):
        chunks.append(chunk)
        if len(chunks) == 40:  # after 2 s, turn it up
            session.update(intensity=1.0)
    # Gapless and in order.
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert all(b.stream_time == a.stream_time + a.frames for a, b in itertools.pairwise(chunks))
    assert sum(c.frames for c in chunks) >= 6 * RATE
    assert {(c.sample_rate, c.channels, c.encoding) for c in chunks} == {(48000, 2, "s16le")}
    # The blend in the chunks' metadata follows the update ...
    assert chunks[10].blend == pytest.approx({"calm": 0.8, "intense": 0.2})
    assert chunks[-1].blend == {"intense": 1.0}
    assert any(e.kind == "blend_changed" for e in events)
    # ... and so does the audio.
    audio = np.concatenate([c.to_numpy() for c in chunks])
    before, after = audio[RATE // 2: 2 * RATE], audio[-2 * RATE:]
    assert analysis.rms_db(after) > analysis.rms_db(before) + 6
    assert analysis.spectral_centroid(after, RATE) > analysis.spectral_centroid(before, RATE)

    assert session.pause() == "paused"
    time.sleep(0.1)  # a block already being generated when pause arrived is still delivered
    produced = session.info().stream_time
    time.sleep(0.4)
    assert session.info().stream_time == produced
    assert session.play() == "playing"
    more = list(session.stream(seconds=1.0, resume_from_seq=len(chunks)))
    assert more[0].seq == len(chunks) and more[0].stream_time == chunks[-1].stream_time + 2400
    session.close()
    with pytest.raises(CadenzaError) as info:
        session.info()
    assert info.value.code == "NOT_FOUND"


def test_f32_encoding_and_set_prompts(client):
    session = client.create_session(scene="dungeon")
    unknown = session.set_prompts({"dark techno": 1.0, "glorptastic pads": 1.0})
    assert unknown == {"glorptastic pads": ["glorptastic"]}
    chunks = list(session.stream("f32le", seconds=1.0))
    assert chunks[-1].encoding == "f32le" and chunks[-1].blend == {"dark techno": 0.5,
                                                                    "glorptastic pads": 0.5}
    assert len(chunks[-1].pcm) == chunks[-1].frames * 2 * 4
    session.set_prompts({})
    chunks = list(session.stream(seconds=0.5))
    assert "town" in chunks[-1].blend
    session.close()


def test_list_engine_info_and_validate(client):
    session = client.create_session(scene="museum", paused=True, state={"visitors": 12})
    listed = {s.session_id: s for s in client.sessions()}
    assert listed[session.id].state == "created" and listed[session.id].inputs["visitors"] == 12
    info = client.engine_info()
    assert info.name == "procedural" and info.sample_rate == 48000
    assert "procedural" in info.available_engines
    ok, issues, summary = client.validate_scene(
        "scene: x\ninputs:\n  a: {type: number, min: 0, max: 1}\nprompts:\n  p: calm\nmix:\n"
        "  p: \"aa * 2\"\n", filename="mine.yaml")
    assert not ok and [i.text for i in issues] == [
        "mine.yaml:7 mix.p: unknown input 'aa' (did you mean 'a'?)"]
    assert issues[0].line == 7 and issues[0].field == "mix.p" and issues[0].column == 1
    ok, issues, summary = client.validate_scene("scene: y\nprompts:\n  p: zonky calm\nmix:\n  p: 1\n",
                                                engine="procedural")
    assert ok and "scene 'y'" in summary
    assert [i.message for i in issues] == ["prompt 'p': engine 'procedural' does not know 'zonky'"]
    session.close()


def status_of(fn) -> tuple[str, str]:
    with pytest.raises(CadenzaError) as info:
        fn()
    return info.value.code, info.value.message


def test_bad_input_gets_precise_status_and_others_keep_streaming(server, client):
    # A bystander session streams the whole time; it must not notice anything.
    bystander = client.create_session(scene="minimal")
    received: list = []
    thread = threading.Thread(target=lambda: received.extend(bystander.stream(seconds=5.0)))
    thread.start()
    victim = client.create_session(scene="dungeon")

    cases = [
        (lambda: victim.update(dangr=0.5), "INVALID_ARGUMENT", "unknown input 'dangr'"),
        (lambda: victim.update(danger="high"), "INVALID_ARGUMENT",
         "input 'danger' is a number, got str 'high'"),
        (lambda: victim.update(danger=float("nan")), "INVALID_ARGUMENT",
         "input 'danger' must be finite"),
        (lambda: victim.update(danger=1e308), "INVALID_ARGUMENT",
         "input 'danger' must be within [0, 1]"),
        (lambda: victim.update(biome="moon"), "INVALID_ARGUMENT", "input 'biome' has no value 'moon'"),
        (lambda: victim.set_prompts({"x": -2}), "INVALID_ARGUMENT", "weight of prompt 'x'"),
        (lambda: client.create_session(scene_yaml="scene: [broken"), "INVALID_ARGUMENT",
         "<inline>:1 YAML syntax error"),
        (lambda: client.create_session(scene_yaml="scene: s\nprompts:\n  a: x\nmix:\n  a: nope\n"),
         "INVALID_ARGUMENT", "<inline>:5 mix.a: unknown input 'nope'"),
        (lambda: client.create_session(scene="no_such_scene"), "NOT_FOUND", "no scene 'no_such_scene'"),
        (lambda: client.create_session(scene="minimal", engine="nope"), "NOT_FOUND",
         "unknown engine 'nope'"),
        (lambda: client.get_session("nobody"), "NOT_FOUND", "no session 'nobody'"),
        (lambda: client.session("nobody"), "NOT_FOUND", "no session 'nobody'"),
        (lambda: client.create_session(scene_yaml="scene: big\n# " + "x" * (2 << 20)),
         "RESOURCE_EXHAUSTED", ""),
    ]
    for call, code, text in cases:
        got_code, message = status_of(call)
        assert got_code == code, (text, got_code, message)
        assert text in message, (text, message)
    # The field is named in trailing metadata too.
    with pytest.raises(CadenzaError) as info:
        victim.update(danger=7)
    assert info.value.field == "danger"
    assert victim.info().state == "playing"  # bad input never loses a session

    thread.join(30)
    assert [c.seq for c in received] == list(range(len(received)))
    assert sum(c.frames for c in received) >= 5 * RATE
    assert bystander.info().underruns == 0
    victim.close()
    bystander.close()


def test_stream_control_acks_and_errors_without_ending_the_stream(server, client):
    session = client.create_session(scene="dungeon")
    channel = grpc.insecure_channel(server.grpc_address)
    stub = pb_grpc.RuntimeStub(channel)
    outgoing = [
        pb.ClientMessage(attach=pb.Attach(session_id=session.id)),
        pb.ClientMessage(request_id=1, state=pb.StateUpdate(values={"danger": pb.Value(number=9)})),
        pb.ClientMessage(request_id=2, state=pb.StateUpdate(values={"danger": pb.Value(number=0.9)})),
        pb.ClientMessage(request_id=3, control=pb.ControlCommand(action=pb.RESET_CONTEXT)),
        pb.ClientMessage(request_id=4, attach=pb.Attach(session_id=session.id)),
    ]
    acks, audio = {}, 0
    call = stub.Stream(iter(outgoing))
    for message in call:
        kind = message.WhichOneof("message")
        if kind == "ack":
            acks[message.ack.request_id] = message.ack
        elif kind == "audio":
            audio += 1
        if audio >= 30 and len(acks) == 4:
            call.cancel()
            break
    assert not acks[1].ok and acks[1].code == "INVALID_ARGUMENT" and acks[1].field == "danger"
    assert acks[2].ok and acks[3].ok
    assert not acks[4].ok and "unexpected message 'attach'" in acks[4].message
    assert session.info().inputs["danger"] == 0.9
    channel.close()
    session.close()


def test_stream_must_start_with_attach(server):
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = pb_grpc.RuntimeStub(channel)
        call = stub.Stream(iter([pb.ClientMessage(control=pb.ControlCommand(action=pb.PLAY))]))
        with pytest.raises(grpc.RpcError) as info:
            list(call)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "first message on a stream must be 'attach'" in info.value.details()
        call = stub.Stream(iter([pb.ClientMessage(attach=pb.Attach(session_id="ghost"))]))
        with pytest.raises(grpc.RpcError) as info:
            list(call)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_and_reflection(server):
    with grpc.insecure_channel(server.grpc_address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "cadenza.v1.Runtime"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            list_services="")]))
        names = {s.name for r in replies for s in r.list_services_response.service}
        assert {"cadenza.v1.Runtime", "grpc.health.v1.Health"} <= names


def test_token_is_required_on_every_rpc():
    options = ServeOptions(grpc_port=0, ws_port=0, token="s3cret")
    with ServerThread(options) as server:
        for token, expected in ((None, "missing bearer token"), ("wrong", "wrong bearer token")):
            with Client(server.grpc_address, token=token) as c:
                for call in (c.sessions, c.engine_info, lambda c=c: c.create_session(scene="minimal")):
                    code, message = status_of(call)
                    assert (code, message) == ("UNAUTHENTICATED", expected)
                stream = c._stub.Stream(iter([pb.ClientMessage(attach=pb.Attach(session_id="x"))]))
                with pytest.raises(grpc.RpcError) as info:
                    list(stream)
                assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with Client(server.grpc_address, token="s3cret") as c:
            session = c.create_session(scene="minimal")
            assert len(list(session.stream(seconds=0.5))) >= 10
        # Health probes need no secret.
        with grpc.insecure_channel(server.grpc_address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_stream_joining_a_playing_session_gets_the_audio_generated_ahead(client):
    # A listener that joins late starts with the lookahead already generated (not heard
    # yet), so its buffer is as deep as the first listener's and rides out a late block.
    session = client.create_session(scene="minimal")
    time.sleep(1.5)
    generated = session.info().stream_time
    first = next(iter(client.session(session.id).stream(seconds=0.2)))  # live, no resume
    unheard = generated - first.stream_time
    assert 0.3 * RATE <= unheard <= 0.6 * RATE, unheard / RATE
    session.close()
