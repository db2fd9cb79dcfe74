"""The Python SDK against a real server: sync, asyncio, WAV, reconnect-and-resume."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import wave

import numpy as np
import pytest
import soundfile

from cadenza.runtime import analysis
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread, TcpProxy
from cadenza.sdk import CadenzaError, Client
from cadenza.sdk.aio import AsyncClient

RATE = 48_000


@pytest.fixture(scope="module")
def server():
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(history_s=6.0))
    with ServerThread(options) as running:
        yield running


def test_record_to_wav_from_the_first_sample(server, tmp_path):
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon", seed=1)
        time.sleep(0.3)  # audio is already being made; the recording still starts at 0
        path = tmp_path / "rec.wav"
        frames = session.record(path, seconds=3.0)
        assert frames >= 3 * RATE
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 2, 2)
        audio, _ = soundfile.read(path)
        assert analysis.rms_db(audio) > -40 and analysis.peak(audio) < 1.0
        # The recording is the session's audio from its first sample.
        again = np.concatenate([c.to_numpy() for c in client.session(session.id).stream(
            seconds=0.5, resume_from_seq=0)])
        assert np.allclose(again[:RATE // 4], audio[:RATE // 4], atol=1e-4)
        session.close()


def test_chunk_samples_without_numpy(server):
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="minimal")
        chunk = next(iter(session.stream()))
        samples = chunk.samples()
        assert samples.typecode == "h" and len(samples) == chunk.frames * 2
        assert np.array_equal(np.array(samples, dtype=np.float32) / 32767,
                              chunk.to_numpy().reshape(-1))
        session.close()


def test_stream_reconnects_and_resumes_after_a_network_drop(server):
    proxy = TcpProxy(server.grpc_port)
    try:
        with Client(f"127.0.0.1:{proxy.port}") as client:
            session = client.create_session(scene="museum", seed=4)
            chunks = []
            for chunk in session.stream(seconds=5.0):
                chunks.append(chunk)
                if len(chunks) == 40:
                    threading.Thread(target=proxy.cut).start()  # the Wi-Fi drops
            assert proxy.cuts == 1
            # Same session, continuing seq, nothing missing, nothing twice.
            assert [c.seq for c in chunks] == list(range(len(chunks)))
            assert all(b.stream_time == a.stream_time + a.frames
                       for a, b in itertools.pairwise(chunks))
            assert {c.session_id for c in chunks} == {session.id}
            session.close()
    finally:
        proxy.close()


def test_errors_are_cadenza_errors_with_code_and_field(server):
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon")
        with pytest.raises(CadenzaError) as info:
            session.update(danger=2.0)
        assert info.value.code == "INVALID_ARGUMENT" and info.value.field == "danger"
        with pytest.raises(TypeError):
            session.update(danger=[1])
        session.close()
    with Client("127.0.0.1:1", timeout=1.0) as dead, pytest.raises(CadenzaError) as info:
        dead.sessions()
    assert info.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


def test_asyncio_client(server):
    async def scenario():
        async with AsyncClient(server.grpc_address) as client:
            session = await client.create_session(scene="minimal", seed=9)
            chunks = []
            async for chunk in session.stream(seconds=3.0):
                chunks.append(chunk)
                if len(chunks) == 20:
                    await session.update(intensity=1.0)
            assert [c.seq for c in chunks] == list(range(len(chunks)))
            assert chunks[-1].blend == {"intense": 1.0}
            assert (await session.pause()) == "paused"
            assert (await session.info()).state == "paused"
            assert (await session.reset()) == "paused"
            info = await client.engine_info()
            assert info.block_frames == 2400
            await session.close()
            assert all(s.session_id != session.id for s in await client.sessions())

    asyncio.run(scenario())
