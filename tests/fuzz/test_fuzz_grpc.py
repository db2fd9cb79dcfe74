"""The gRPC servicer under fuzzed requests: a real server on loopback (in-process, its own
thread). No request may get INTERNAL or UNKNOWN, or take more than 2 s, and a session
streaming meanwhile plays on."""

from __future__ import annotations

import time

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

from .targets import scene_texts

BAD = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server():
    config = RuntimeConfig(idle_timeout_s=60, max_sessions=64)
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, runtime=config)) as running:
        deadline = time.monotonic() + 30
        while not running.runtime.compile_pool.started and time.monotonic() < deadline:
            time.sleep(0.05)  # the compile workers start in the background
        yield running


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(server.grpc_address)
    yield pb_grpc.RuntimeStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def live(stub):
    info = stub.CreateSession(pb.CreateSessionRequest(scene="minimal"), timeout=10)
    return info.session_id


_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "x" * 300, "dangér", "café jazz",
                                                         "../minimal", "minimal\x00"]))
_VALUE = st.one_of(st.floats().map(lambda f: pb.Value(number=f)),
                   _TEXT.map(lambda t: pb.Value(text=t)),
                   st.booleans().map(lambda b: pb.Value(flag=b)), st.just(pb.Value()))
_STATE = st.dictionaries(st.sampled_from(["intensity", "danger", "biome", "dangér", ""]) | _TEXT,
                         _VALUE, max_size=4)


def _requests(live_id: str):
    session = st.one_of(st.just(live_id), _TEXT)
    return st.one_of(
        st.builds(lambda s, y, state, rec: ("CreateSession", pb.CreateSessionRequest(
            scene_yaml=y, state=state, record=rec, paused=True)) if y else
            ("CreateSession", pb.CreateSessionRequest(scene=s, state=state, paused=True)),
            _TEXT, scene_texts() | st.just(""), _STATE, st.booleans()),
        st.builds(lambda y, f: ("ValidateScene", pb.ValidateSceneRequest(scene_yaml=y, filename=f)),
                  scene_texts(), _TEXT),
        st.builds(lambda s, v: ("UpdateState", pb.UpdateStateRequest(session_id=s, values=v)),
                  session, _STATE),
        st.builds(lambda s, p: ("SetPrompts", pb.SetPromptsRequest(session_id=s, prompts=p)),
                  session, st.lists(st.builds(lambda t, w: pb.WeightedPrompt(text=t, weight=w),
                                              _TEXT, st.floats()), max_size=3)),
        st.builds(lambda s, n: ("Trigger", pb.TriggerRequest(session_id=s, stinger=n)),
                  session, _TEXT),
        st.builds(lambda s: ("GetSession", pb.GetSessionRequest(session_id=s)), _TEXT),
    )


def _call(stub, method: str, request):
    started = time.perf_counter()
    try:
        reply = getattr(stub, method)(request, timeout=10)
        code = grpc.StatusCode.OK
    except grpc.RpcError as exc:
        reply, code = None, exc.code()
    return reply, code, time.perf_counter() - started


def test_fuzzed_requests_get_specific_statuses(stub, live):
    answers: list[tuple[str, grpc.StatusCode, float]] = []

    @FUZZ
    @given(st.data())
    def run(data):
        method, request = data.draw(_requests(live))
        reply, code, elapsed = _call(stub, method, request)
        answers.append((method, code, elapsed))
        if method == "CreateSession" and reply is not None:
            stub.CloseSession(pb.CloseSessionRequest(session_id=reply.session_id), timeout=10)
        assert code not in BAD, f"{method} {request!r:.300} -> {code}"
        assert elapsed < 2.0, f"{method} took {elapsed:.2f} s"

    try:
        run()
    except AssertionError as exc:
        if "Invalid metadata" in str(exc) or "metadata" in str(exc).lower():
            pytest.xfail(f"issue 17 (edge kit): error trailers: {exc}")
        raise
    info = stub.GetSession(pb.GetSessionRequest(session_id=live), timeout=10)
    assert info.state == pb.PLAYING  # the live session survived every fuzzed request
    assert len(answers) >= 100


def test_malformed_protobuf_bytes_are_never_internal_or_unknown(server):
    channel = grpc.insecure_channel(server.grpc_address)
    try:
        @FUZZ
        @given(st.sampled_from(["CreateSession", "ValidateScene", "UpdateState", "GetSession",
                                "SetPrompts", "Trigger"]), st.binary(min_size=1, max_size=200))
        def run(method, data):
            call = channel.unary_unary(f"/cadenza.v1.Runtime/{method}")
            try:
                call(data, timeout=10)
            except grpc.RpcError as exc:
                assert exc.code() not in BAD, f"{method} {data!r:.100} -> {exc.code()}"

        run()
    finally:
        channel.close()


def _rss_mb() -> float:
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_every_hostile_scene_over_grpc_while_a_bystander_streams(server, stub):
    """Issue 15's cases end to end: a precise status with the field, within 2 s, the
    server (this process) under 300 MB of growth, and no underrun for a live stream."""
    import threading

    from cadenza.sdk import Client

    from ..runtime.scene.test_limits import HOSTILE

    client = Client(server.grpc_address)
    bystander = client.create_session(scene="minimal")
    stop = threading.Event()
    seqs: list[int] = []

    def listen() -> None:
        for chunk in bystander.stream(seconds=120):
            seqs.append(chunk.seq)
            if stop.is_set():
                break

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1.5)  # past the lookahead burst
    underruns = client.get_session(bystander.id).underruns
    before = _rss_mb()
    answers = []
    for name, (text, _line, _message) in sorted(HOSTILE.items()):
        if len(text) > 4 << 20:
            continue  # over gRPC's default 4 MB message limit: the channel refuses it
        for method, request in (
                ("ValidateScene", pb.ValidateSceneRequest(scene_yaml=text, filename="h.yaml")),
                ("CreateSession", pb.CreateSessionRequest(scene_yaml=text, paused=True))):
            reply, code, elapsed = _call(stub, method, request)
            answers.append((name, method, reply, code, elapsed))
    for method, request in (
            ("CreateSession", pb.CreateSessionRequest(scene="s" * 300)),
            ("CreateSession", pb.CreateSessionRequest(scene="minimal", record=True)),
            ("CreateSession", pb.CreateSessionRequest(scene_yaml="scene: x\n#" + "x" * 300_000))):
        reply, code, elapsed = _call(stub, method, request)
        answers.append((request.scene[:10] or "big", method, reply, code, elapsed))
    growth = _rss_mb() - before
    late = client.get_session(bystander.id).underruns - underruns
    stop.set()
    listener.join(10)
    bystander.close()
    for name, method, reply, code, elapsed in answers:
        assert elapsed < 2.0, f"{name} {method}: {elapsed:.2f} s"
        if method == "ValidateScene":
            assert code == grpc.StatusCode.OK and reply.issues, name
            assert reply.issues[0].line or "over the limit" in reply.issues[0].message, name
        else:
            assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                            grpc.StatusCode.RESOURCE_EXHAUSTED,
                            grpc.StatusCode.FAILED_PRECONDITION), (name, code)
    assert late == 0
    assert growth < 300
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
