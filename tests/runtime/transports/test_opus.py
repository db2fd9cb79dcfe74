"""Opus on the wire: the codec module, and real gRPC / WebSocket streams of one session
as PCM and as Opus, decoded and compared with what PCM listeners hear."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading

import numpy as np
import pytest
from websockets.sync.client import connect

from cadenza.runtime import analysis
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.session.chunk import Chunk
from cadenza.runtime.testing import ServerThread, render_prompt
from cadenza.runtime.transports import opus
from cadenza.runtime.transports.websocket.protocol import decode_audio, parse_client
from cadenza.sdk import Client

pytest.importorskip("opuslib")
RATE = 48_000


def spectral_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the two signals' STFT magnitudes (frames x bins)."""
    n = min(len(a), len(b))
    ma, mb = analysis._stft_magnitude(a[:n]).ravel(), analysis._stft_magnitude(b[:n]).ravel()
    return float(np.corrcoef(ma, mb)[0, 1])


def assert_sounds_like(decoded: np.ndarray, reference: np.ndarray) -> None:
    n = min(len(decoded), len(reference))
    assert n > RATE, "less than a second to compare"
    decoded, reference = decoded[:n], reference[:n]
    assert abs(analysis.rms_db(decoded) - analysis.rms_db(reference)) < 1.0
    assert spectral_correlation(decoded, reference) >= 0.95


def music(prompt: str, seconds: float) -> np.ndarray:
    return render_prompt(ProceduralEngine(), prompt, seconds)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / 32767.0


def chunks_of(audio: np.ndarray, block: int = 2400, session: str = "s") -> list[Chunk]:
    return [Chunk(session, i, i * block, audio[i * block:(i + 1) * block], RATE, {})
            for i in range(len(audio) // block)]


# ------------------------------------------------------------------------ sans-I/O
def test_payload_round_trip_and_bad_payloads():
    payload = opus.Payload((b"\x01\x02", b"", b"x" * 300), -480, 960, 312)
    assert opus.unpack(opus.pack(payload)) == payload
    data = opus.pack(payload)
    for bad, why in ((data[:5], "shorter"), (data[:-10], "truncated"),
                     (b"\x07" + data[1:], "version")):
        with pytest.raises(ValueError, match=why):
            opus.unpack(bad)
    with pytest.raises(ValueError, match=r"64000\.\.160000"):
        opus.StreamEncoder(bitrate=320_000)


def test_encoded_stream_decodes_to_the_same_music():
    audio = music("upbeat synthwave with drums", 4.0)
    enc = opus.StreamEncoder(bitrate=96_000)
    payloads = []
    for c in chunks_of(audio):
        payloads.append((c.stream_time, opus.pack(enc.encode(c.seq, c.stream_time, c.pcm))))
    start, pcm = opus.decode_all(payloads)
    assert start == 0
    decoded = to_float(pcm)
    # 50 ms chunks carry whole 20 ms packets: all but the last partial frame arrive.
    assert len(audio) - 960 - 312 <= len(decoded) <= len(audio)
    assert_sounds_like(decoded, audio)
    packets = sum(len(opus.unpack(p).packets) for _, p in payloads)
    assert packets == len(audio) // 960


def test_a_decoder_can_start_at_any_chunk_and_lands_on_the_stream_time():
    audio = music("calm ambient pads", 4.0)
    enc = opus.StreamEncoder()
    payloads = [(c.stream_time, opus.pack(enc.encode(c.seq, c.stream_time, c.pcm)))
                for c in chunks_of(audio)]
    start, pcm = opus.decode_all(payloads[7:])  # 7 * 2400 is not on the 960-frame grid
    assert start == 7 * 2400 + opus.unpack(payloads[7][1]).offset and start % 960 == 0
    decoded = to_float(pcm)
    skip = 4800  # the decoder converges within a few packets
    assert_sounds_like(decoded[skip:], audio[start + skip:])


def test_shared_encoders_encode_each_chunk_once_per_session():
    audio = music("fast energetic techno", 1.0)
    shared = opus.SharedEncoders(bitrate=64_000)
    chunks = chunks_of(audio, session="a") + chunks_of(audio, session="b")
    first = [shared.payload(c) for c in chunks]
    second = [shared.payload(c) for c in chunks]  # another listener of the same chunks
    assert first == second and shared.encoded_chunks == len(chunks) and len(shared) == 2
    shared.forget("a")
    assert len(shared) == 1


def test_websocket_protocol_accepts_opus_and_names_the_choices():
    assert parse_client(json.dumps({"type": "attach", "session_id": "x",
                                    "encoding": "opus"})).encoding == "opus"
    with pytest.raises(Exception, match="s16le, f32le or opus") as info:
        parse_client(json.dumps({"type": "attach", "session_id": "x", "encoding": "mp3"}))
    assert info.value.field == "encoding"


# ------------------------------------------------------------------ over the wire
def test_grpc_opus_stream_sounds_like_the_pcm_stream(server):
    """Two listeners of one session, one PCM and one Opus, through the SDK."""
    with Client(server.grpc_address) as client:
        session = client.create_session("minimal", seed=5, state={"intensity": 0.8})
        out: dict[str, list] = {}

        def listen(encoding: str) -> None:
            view = client.session(session.id)
            out[encoding] = list(view.stream(encoding, seconds=3.0, resume_from_seq=0))

        threads = [threading.Thread(target=listen, args=(e,)) for e in ("s16le", "opus")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        session.close()
    pcm_chunks, opus_chunks = out["s16le"], out["opus"]
    assert all(c.encoding == "s16le" for c in opus_chunks)  # decoded by the SDK
    assert [c.seq for c in opus_chunks] == list(range(len(opus_chunks)))
    reference = np.concatenate([c.to_numpy() for c in pcm_chunks])
    decoded = np.concatenate([c.to_numpy() for c in opus_chunks])
    start = opus_chunks[0].stream_time
    assert start == 0
    for a, b in itertools.pairwise(opus_chunks):
        assert b.stream_time == a.stream_time + a.frames  # gapless on the stream's clock
    assert_sounds_like(decoded, reference)
    pcm_bytes = sum(c.wire_bytes for c in pcm_chunks)
    opus_bytes = sum(c.wire_bytes for c in opus_chunks)
    assert opus_bytes * 10 < pcm_bytes


def receive(peers, session_id: str, frames: list[list]) -> None:
    for ws in peers:
        ws.send(json.dumps({"type": "attach", "session_id": session_id, "resume_from_seq": 0,
                            "encoding": "opus"}))
    for ws, got in zip(peers, frames, strict=True):
        while sum(f.frames for f in got) < 2 * RATE:
            data = ws.recv(10)
            if isinstance(data, bytes):
                got.append(decode_audio(data))


def test_websocket_opus_listeners_share_one_encoding(server):
    """Two Opus WebSocket listeners of one session get the same bytes, encoded once."""
    with Client(server.grpc_address) as client:
        session = client.create_session("minimal", seed=9)
    frames: list[list] = [[], []]
    with contextlib.ExitStack() as stack:
        peers = [stack.enter_context(connect(server.ws_url)) for _ in range(2)]
        receive(peers, session.id, frames)
    n = min(len(frames[0]), len(frames[1]))
    assert [f.pcm for f in frames[0][:n]] == [f.pcm for f in frames[1][:n]]
    assert all(f.encoding == "opus" for f in frames[0])
    last = max(f.seq for fs in frames for f in fs)
    # once per chunk, not per listener (the stream may have run on a chunk or two since)
    assert opus.SHARED.chunks_encoded(session.id) <= last + 3 < 2 * (last + 1)
    start, pcm = opus.decode_all((f.stream_time, f.pcm) for f in frames[0])
    assert start == 0 and len(pcm) >= 2 * RATE - 960 - 312
    assert analysis.rms_db(to_float(pcm)) > -40


def test_unknown_grpc_encoding_is_refused(server):
    import grpc

    from cadenza.v1 import runtime_pb2 as pb
    from cadenza.v1 import runtime_pb2_grpc as pb_grpc

    with Client(server.grpc_address) as client:
        session = client.create_session("minimal")
        with grpc.insecure_channel(server.grpc_address) as channel:
            call = pb_grpc.RuntimeStub(channel).Stream(iter([pb.ClientMessage(
                attach=pb.Attach(session_id=session.id, encoding=9))]))
            with pytest.raises(grpc.RpcError) as info:
                list(call)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        session.close()


def test_long_band_chunks_stream_over_grpc_and_websocket_as_pcm_and_opus():
    """`--band-chunk-ms 150`: every transport carries 150 ms chunks, gapless on the
    stream's clock; the Opus stream (20 ms packets, not a divisor of the chunk) still
    decodes to what the PCM listener hears."""
    options = ServeOptions(grpc_port=0, ws_port=0, engines={
        "procedural": ProceduralEngine(chunk_blocks=3)},
        runtime=RuntimeConfig(idle_timeout_s=30, max_sessions=8))
    with ServerThread(options) as server, Client(server.grpc_address) as client:
        session = client.create_session("minimal", seed=5, state={"intensity": 0.8})
        out = {e: list(client.session(session.id).stream(e, seconds=3.0, resume_from_seq=0))
               for e in ("s16le", "opus")}
        with connect(server.ws_url) as ws:
            ws.send(json.dumps({"type": "attach", "session_id": session.id,
                                "resume_from_seq": 0, "encoding": "s16le"}))
            frames: list = []
            while sum(f.frames for f in frames) < 2 * RATE:
                data = ws.recv(10)
                if isinstance(data, bytes):
                    frames.append(decode_audio(data))
        session.close()
    pcm = out["s16le"]
    assert {c.frames for c in pcm} == {7200} and {f.frames for f in frames} == {7200}
    for chunks in (pcm, out["opus"], frames):
        assert all(b.stream_time == a.stream_time + a.frames
                   for a, b in itertools.pairwise(chunks))
    reference = np.concatenate([c.to_numpy() for c in pcm])
    ws_audio = np.concatenate([to_float(np.frombuffer(f.pcm, "<i2").reshape(-1, 2))
                               for f in frames])
    assert np.allclose(ws_audio, reference[:len(ws_audio)], atol=1 / 32767)
    assert_sounds_like(np.concatenate([c.to_numpy() for c in out["opus"]]), reference)
