"""Live generation config is heard: measured on the PCM a real client receives.

The procedural engine on a real server (gRPC, through the SDK): ``bpm`` moves the
measured tempo to the asked one within a bar; ``mute_drums`` empties the drum band;
clearing a field hands it back to the scene. The WebSocket ``config`` message and its
ack/error shapes are checked on the same server.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import butter, sosfilt
from websockets.sync.client import connect

from cadenza.runtime import analysis
from cadenza.sdk import Client, InvalidArgument

RATE = 48_000
KICK_BAND = butter(4, [30, 150], btype="band", fs=RATE, output="sos")
NOISE_BAND = butter(4, [6000, 16000], btype="band", fs=RATE, output="sos")


@pytest.fixture
def client(server):
    with Client(server.grpc_address) as c:
        yield c


def band(audio: np.ndarray, sos) -> np.ndarray:
    return sosfilt(sos, analysis.mono(audio))


class Recorder:
    """Streams a session, applying ``actions`` (seconds of audio -> callable) on the way;
    keeps the audio and the stream time from which each action applies."""

    def __init__(self, session) -> None:
        self.session = session
        self.chunks: list = []
        self.applied: dict[str, int] = {}

    def run(self, seconds: float, actions: dict[float, tuple[str, object]]) -> np.ndarray:
        pending = sorted(actions.items())
        for chunk in self.session.stream(seconds=seconds):
            self.chunks.append(chunk)
            heard = (chunk.stream_time + chunk.frames) / RATE
            while pending and heard >= pending[0][0]:
                _, (name, action) = pending.pop(0)
                self.applied[name] = action()
        return np.concatenate([c.to_numpy() for c in self.chunks])


def test_live_bpm_moves_the_heard_tempo_within_one_bar(client):
    with client.create_session("minimal", seed=1, state={"intensity": 1.0}) as session:
        rec = Recorder(session)
        result = {}

        def set_bpm():
            result["config"] = session.set_generation_config(bpm=100)
            return result["config"].stream_time

        audio = rec.run(14.0, {4.0: ("bpm", set_bpm)})
    assert result["config"].config == {"bpm": 100.0} and result["config"].unsupported == ()
    change = rec.applied["bpm"]
    before = analysis.estimate_tempo(analysis.mono(audio[RATE:change]), RATE)
    assert abs(before - 100) > 20, before  # the scene's techno is far from 100 bpm
    bar = int(4 * 60 / 100 * RATE)  # one 4/4 bar at the new tempo
    after = analysis.estimate_tempo(analysis.mono(audio[change + bar:]), RATE, prior_bpm=100)
    assert after == pytest.approx(100, rel=0.02)
    # The stream's beat clock agrees from the first chunk one bar after the change.
    late = [c for c in rec.chunks if c.stream_time >= change + bar]
    assert late and all(c.clock.bpm == pytest.approx(100, rel=0.02) for c in late)


def test_mute_drums_empties_the_drum_band_and_clear_brings_it_back(client):
    with client.create_session("minimal", seed=2, state={"intensity": 1.0}) as session:
        rec = Recorder(session)
        audio = rec.run(15.0, {
            5.0: ("mute", lambda: session.set_generation_config(mute_drums=True).stream_time),
            10.0: ("clear", lambda: session.set_generation_config(clear=["mute_drums"])
                   .stream_time),
        })
        assert session.info().config == {}
    mute, clear = rec.applied["mute"], rec.applied["clear"]
    settle = RATE // 2
    drums = audio[RATE:mute]
    muted = audio[mute + settle:clear]
    back = audio[clear + settle:]
    rate_on = analysis.onset_rate(band(drums, KICK_BAND), RATE)
    rate_off = analysis.onset_rate(band(muted, KICK_BAND), RATE)
    assert rate_off < 0.7 * rate_on, (rate_on, rate_off)
    # Hats and snare are noise: their band all but disappears.
    assert analysis.rms_db(band(muted, NOISE_BAND)) < analysis.rms_db(band(drums, NOISE_BAND)) - 15
    # Cleared: the scene's drums play again.
    assert analysis.onset_rate(band(back, KICK_BAND), RATE) > 0.85 * rate_on
    assert analysis.rms_db(band(back, NOISE_BAND)) > analysis.rms_db(band(drums, NOISE_BAND)) - 6


def test_config_is_validated_all_or_nothing(client):
    with client.create_session("minimal", seed=3, paused=True) as session:
        session.set_generation_config(density=0.5, scale="d_major_b_minor")
        with pytest.raises(InvalidArgument) as err:
            session.set_generation_config(bpm=500, brightness=0.1)
        assert err.value.field == "config.bpm" and "[60, 200]" in err.value.message
        with pytest.raises(InvalidArgument) as err:
            session.set_generation_config(clear=["tempo"])
        assert err.value.field == "clear"
        result = session.set_generation_config(mode="vocalization", density=None)
        assert result.config == {"scale": "D_MAJOR_B_MINOR", "mode": "vocalization"}
        assert result.unsupported == ("mode",)  # the procedural engine has no modes
        assert session.info().config == result.config
        assert session.set_generation_config(clear="*").config == {}


def test_websocket_config_message(server):
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"type": "create", "scene": "minimal", "paused": True}))
        hello = json.loads(ws.recv())
        assert hello["type"] == "session" and hello["session"]["config"] == {}
        assert "mode" in hello["session"]["unsupported_knobs"]

        def ask(message: dict) -> dict:
            ws.send(json.dumps(message))
            while True:
                reply = ws.recv()
                if isinstance(reply, str):
                    data = json.loads(reply)
                    if data.get("id") == message.get("id"):
                        return data

        ack = ask({"type": "config", "config": {"bpm": 100, "mute_drums": True},
                   "clear": ["bpm"], "id": 5})
        assert ack == {"type": "ack", "id": 5, "config": {"bpm": 100.0, "mute_drums": True},
                       "unsupported": []}
        ack = ask({"type": "config", "clear": ["bpm"], "id": 6})
        assert ack["config"] == {"mute_drums": True}
        error = ask({"type": "config", "config": {"top_k": 0.5}, "id": 7})
        assert error["type"] == "error" and error["code"] == "invalid_argument"
        assert error["field"] == "config.top_k"
        error = ask({"type": "config", "config": {"bpm": [1]}, "id": 8})
        assert error["field"] == "config.bpm"
        ack = ask({"type": "config", "config": {"mute_drums": None}, "id": 9})
        assert ack["config"] == {}


def test_config_on_the_grpc_stream_is_acked_with_the_override(server, client):
    import grpc

    from cadenza.v1 import runtime_pb2 as pb
    from cadenza.v1 import runtime_pb2_grpc as pb_grpc

    session = client.create_session("minimal", paused=True)
    with grpc.insecure_channel(server.grpc_address) as channel:
        messages = [
            pb.ClientMessage(attach=pb.Attach(session_id=session.id)),
            pb.ClientMessage(request_id=1, config=pb.GenerationConfigUpdate(
                config=pb.GenerationConfig(bpm=100, scale=pb.F_MAJOR_D_MINOR,
                                           mode=pb.QUALITY))),
            pb.ClientMessage(request_id=2, config=pb.GenerationConfigUpdate(
                config=pb.GenerationConfig(top_k=0))),
            pb.ClientMessage(request_id=3, config=pb.GenerationConfigUpdate(clear=["mode"])),
        ]
        call = pb_grpc.RuntimeStub(channel).Stream(iter(messages), timeout=10)
        acks = {}
        for message in call:
            if message.WhichOneof("message") == "ack":
                acks[message.ack.request_id] = message.ack
                if len(acks) == 3:
                    break
        call.cancel()
    assert acks[1].ok and acks[1].config.bpm == 100 and acks[1].config.scale == pb.F_MAJOR_D_MINOR
    assert list(acks[1].unsupported) == ["mode"]
    assert not acks[2].ok and acks[2].code == "INVALID_ARGUMENT" and acks[2].field == "config.top_k"
    assert acks[3].ok and not acks[3].config.HasField("mode") and list(acks[3].unsupported) == []
    assert session.info().config == {"bpm": 100.0, "scale": "F_MAJOR_D_MINOR"}
    session.close()
