"""The Python client's conformance scenario against a real server (issue 17): create ->
state -> prompts -> config -> trigger -> beat events -> pause/play -> stop, plus the
SDK's error classes, context managers and the "no server running" message."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import numpy as np
import pytest

from cadenza.runtime import analysis
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import (
    CadenzaError,
    Client,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServerUnavailable,
)
from cadenza.sdk.aio import AsyncClient

RATE = 48_000


@pytest.fixture(scope="module")
def server():
    with ServerThread() as running:
        yield running


def test_conformance_scenario(server):
    with Client(server.grpc_address) as client, \
            client.create_session("dungeon", seed=4) as session:
        # create
        assert session.created.state == "playing" and "hit" in session.created.stingers
        # state
        assert session.update(danger=0.8, biome="cave") >= 0
        assert session.info().inputs["biome"] == "cave"
        # prompts: direct, then back to the scene
        assert session.set_prompts({"dark techno": 1.0}) == {}
        assert session.set_prompts(None) == {}
        # config (Lyria's names)
        result = session.set_generation_config(bpm=120, density=0.6)
        assert result.config == {"bpm": 120.0, "density": 0.6} and result.unsupported == ()
        # trigger + beat events while streaming
        beats, bars, events = [], [], []
        session.on_beat(beats.append)
        session.on_bar(bars.append)
        chunks = []
        for chunk in session.stream(seconds=6.0, on_event=events.append):
            chunks.append(chunk)
            if len(chunks) == 20:
                trigger_at = session.trigger("hit")
        stingers = [e for e in events if e.kind == "stinger"]
        assert stingers and stingers[0].stinger == "hit"
        assert stingers[0].stinger_status == "scheduled"
        assert stingers[0].stream_time >= trigger_at
        assert len(beats) >= 8 and all(e.kind == "beat" for e in beats)
        assert [e.clock.beat for e in beats] == sorted(e.clock.beat for e in beats)
        assert all(b.stream_time > a.stream_time for a, b in itertools.pairwise(beats))
        late = [e for e in beats if e.stream_time > RATE * 2]
        assert late and all(e.clock.bpm == pytest.approx(120, rel=0.02) for e in late)
        assert bars and all(e.clock.beat_in_bar == 0 for e in bars)
        # music, not silence, all along
        audio = np.concatenate([c.to_numpy() for c in chunks])
        assert analysis.rms_db(audio) > -40
        # pause / play
        assert session.pause() == "paused"
        time.sleep(0.3)  # a block in flight when pause arrived is still delivered
        held = session.info().stream_time
        time.sleep(0.4)
        assert session.info().stream_time == held
        assert session.play() == "playing"
        more = list(session.stream(seconds=1.0))
        assert more and more[0].seq == chunks[-1].seq + 1  # gapless after the pause
        # stop
        session.stop()
        with pytest.raises(NotFound):
            session.info()


def test_context_manager_stops_the_session(server):
    with Client(server.grpc_address) as client:
        with client.create_session("minimal", paused=True) as session:
            sid = session.id
            assert client.get_session(sid).state == "created"
        with pytest.raises(NotFound):
            client.get_session(sid)


def test_error_subclasses_keep_code_and_field(server):
    with Client(server.grpc_address) as client:
        with pytest.raises(NotFound) as err:
            client.create_session("no-such-scene")
        assert isinstance(err.value, CadenzaError) and err.value.code == "NOT_FOUND"
        with client.create_session("dungeon", paused=True) as session:
            with pytest.raises(InvalidArgument) as err:
                session.update(danger=5)
            assert err.value.code == "INVALID_ARGUMENT" and err.value.field == "danger"
            session.stop()
            with pytest.raises(NotFound):
                session.trigger("hit")
        session = client.create_session("dungeon", paused=True)
        session.close()
        with pytest.raises((NotFound, FailedPrecondition)):
            session.play()


def test_no_server_is_one_line_naming_cadenza_serve():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"127.0.0.1:{port}", timeout=3) as client, \
            pytest.raises(ServerUnavailable) as err:
        client.create_session("dungeon")
    text = str(err.value)
    assert "cadenza serve" in text and f"127.0.0.1:{port}" in text and "\n" not in text
    assert err.value.code == "UNAVAILABLE"
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_asyncio_session(server):
    async def main():
        async with AsyncClient(server.grpc_address) as client:
            session = await client.create_session("dungeon", seed=2)
            async with session:
                result = await session.set_generation_config(bpm=90, mute_bass=True)
                assert result.config == {"bpm": 90.0, "mute_bass": True}
                beats = []
                session.on_beat(beats.append)
                async for _chunk in session.stream(seconds=3.0):
                    pass
                assert len(beats) >= 3
            with pytest.raises(NotFound):
                await client.get_session(session.id)

    asyncio.run(main())
