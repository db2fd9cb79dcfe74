"""The Unity package's C# code, compiled with Mono and run against a real `cadenza serve`:
unit tests of the core, the CadenzaMusic glue driven through OnAudioFilterRead, and
sessions streamed by the C# client next to the Python SDK."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading

import numpy as np
import pytest

from cadenza.runtime import analysis
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread, TcpProxy
from cadenza.sdk import Client

from .conftest import needs_mono, run_program, run_scenario

pytestmark = needs_mono
RATE = 48_000


@pytest.fixture(scope="module")
def server():
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(history_s=6.0, idle_timeout_s=30))
    with ServerThread(options) as running:
        yield running


def floats(path) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(-1, 2)


# ------------------------------------------------------------------ unit tests (no server)
@pytest.mark.parametrize("group", ["JsonTests", "ProtocolTests", "RingTests", "CoalescerTests",
                                   "PlayoutTests", "TimelineTests", "GlueTests"])
def test_csharp_unit_tests(csharp_build, group):
    """The core's and the glue's own tests (GlueTests call CadenzaMusic.OnAudioFilterRead by
    reflection: resampling to 44.1 kHz, a rate change, the fade on underrun)."""
    result = run_program(csharp_build, "unit", group)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    passed, failed = (int(p.split()[0]) for p in last.split(","))
    assert failed == 0 and passed >= 1, result.stdout


# ------------------------------------------------------------------ the C# client, live
@pytest.fixture(scope="module")
def dungeon_run(csharp_build, server, tmp_path_factory):
    """The C# client streams dungeon (seed 7, in the cave) for 5.5 s; after 1 s of audio the
    'game' calls SetState("danger", ...) 30 times in 0.3 s, ramping to 0.9."""
    out = tmp_path_factory.mktemp("dungeon")
    report = run_scenario(csharp_build, out, "stream", "--url", server.ws_url, "--scene", "dungeon",
                          "--seed", "7", "--state", "biome=cave", "--seconds", "5.5", "--update-at", "1",
                          "--update", "danger=0.9", "--burst", "30", "--rate", "20")
    return report, out


def test_csharp_client_streams_gapless_audio(dungeon_run):
    report, out = dungeon_run
    frames = report["frames"]
    assert report["errors"] == [] and len(report["sessions"]) == 1
    assert [f[0] for f in frames] == list(range(len(frames)))  # seq from 0, +1 per frame
    assert all(b[1] == a[1] + a[2] for a, b in itertools.pairwise(frames))  # stream_time gapless
    assert sum(f[2] for f in frames) >= 3 * RATE
    assert report["seq_gaps"] == report["ring_gaps"] == report["dropped"] == report["duplicates"] == 0
    received = floats(out / "received.f32")
    assert len(received) == sum(f[2] for f in frames)
    assert analysis.rms_db(received) > -40 and np.abs(received).max() <= 1.0


def test_csharp_playout_plays_exactly_what_arrived(dungeon_run):
    """Through the jitter buffer and AudioPlayout at 48 kHz, paced like a sound card: after
    the prebuffer and a 5 ms fade-in, the output is the received stream, sample for sample."""
    report, out = dungeon_run
    received, rendered = floats(out / "received.f32"), floats(out / "rendered.f32")
    assert report["underruns"] == 0
    start = int(np.flatnonzero(np.abs(rendered).sum(axis=1) > 0)[0])
    n = len(rendered) - start
    assert n > 2 * RATE
    assert np.array_equal(rendered[start + 240:], received[240:n])


def test_csharp_state_updates_are_coalesced_and_change_the_blend(dungeon_run):
    report, _ = dungeon_run
    blends = report["blends"]
    assert blends[0]["seq"] == 0 and blends[0]["weights"] == {"cave": 1}
    changed = [b for b in blends if b["weights"] != blends[0]["weights"]]
    assert changed and changed[0]["stream_time"] >= report["update_stream_time"] - RATE
    assert "tension" in changed[0]["weights"]        # danger rising: tension comes in
    assert blends[-1]["weights"] == {"combat": 1}      # danger 0.9 > 0.7: the combat latch
    # 30 SetState calls in ~0.3 s at 20 messages/s: a handful of messages, the last one 0.9.
    sent = report["set_calls"] - report["merged"]
    assert report["set_calls"] == 30 and 2 <= sent <= 10
    assert report["acks"] == sent  # every state message was accepted


def test_csharp_client_and_python_sdk_hear_the_same_session(dungeon_run, server):
    """The same session type from the same server: the Python SDK (gRPC) and the C# client
    (WebSocket) get identical samples for the same scene, seed and state, up to the
    C# client's first state change."""
    report, out = dungeon_run
    first_change = next(b["stream_time"] for b in report["blends"] if b["weights"] != {"cave": 1})
    with Client(server.grpc_address) as client:
        session = client.create_session(scene="dungeon", seed=7, state={"biome": "cave"})
        pcm = b"".join(c.pcm for c in session.stream(seconds=first_change / RATE + 0.1))
        session.close()
    python = np.frombuffer(pcm, dtype="<i2").astype(np.float32).reshape(-1, 2) / 32768
    csharp = floats(out / "received.f32")
    assert first_change >= RATE // 2
    assert np.array_equal(python[:first_change], csharp[:first_change])


def test_csharp_client_resumes_after_a_dropped_connection(csharp_build, server, tmp_path):
    """A network drop mid-stream: the client reconnects, attaches with resume_from_seq and
    goes on with the same session, no frame lost or repeated."""
    proxy = TcpProxy(server.ws_port)
    url = f"ws://127.0.0.1:{proxy.port}/v1/stream"
    try:
        process = subprocess.Popen(["mono", "--debug", str(csharp_build / "CadenzaTests.exe"), "stream",
                                    "--url", url, "--scene", "minimal", "--seconds", "4",
                                    "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        threading.Timer(1.5, proxy.cut).start()
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stdout + stderr
    finally:
        proxy.close()
    report = json.loads((tmp_path / "report.json").read_text())
    assert proxy.cuts >= 1 and report["reconnects"] >= 1
    assert "Disconnected" in report["events"]
    assert len(report["sessions"]) >= 2 and len(set(report["sessions"])) == 1  # attached again
    frames = report["frames"]
    assert [f[0] for f in frames] == list(range(len(frames)))
    assert all(b[1] == a[1] + a[2] for a, b in itertools.pairwise(frames))
    assert report["seq_gaps"] == report["ring_gaps"] == 0
    assert sum(f[2] for f in frames) >= 4 * RATE


def test_csharp_client_reports_a_refused_session(csharp_build, server, tmp_path):
    report = run_scenario(csharp_build, tmp_path, "stream", "--url", server.ws_url, "--scene", "nope",
                          "--seconds", "1")
    assert report["finished"] and report["frames"] == []
    assert report["errors"] == [{"code": "not_found", "message": report["errors"][0]["message"],
                                 "field": report["errors"][0]["field"], "fatal": True}]
    assert "nope" in report["errors"][0]["message"]


def test_csharp_client_sends_the_token(csharp_build, tmp_path):
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, token="s3cret")) as secured:
        report = run_scenario(csharp_build, tmp_path, "stream", "--url", secured.ws_url, "--token", "s3cret",
                              "--scene", "minimal", "--seconds", "0.5")
    assert report["errors"] == [] and sum(f[2] for f in report["frames"]) >= RATE // 2


# ------------------------------------------------------------------ CadenzaMusic, live
def test_cadenza_music_plays_a_live_session_at_44100(csharp_build, server, tmp_path):
    """CadenzaMusic as Unity drives it: Update at 60 Hz on the main thread, OnAudioFilterRead
    at 44.1 kHz on an audio thread; SetState every frame for 0.5 s; then the audio thread
    outruns the network and the buffer runs dry."""
    report = run_scenario(csharp_build, tmp_path, "glue", "--url", server.ws_url, "--scene", "minimal",
                          "--rate", "44100", "--seconds", "4.5", "--update-at", "1.5",
                          "--update", "intensity=1")
    assert report["errors"] == [] and len(report["sessions"]) == 1
    left = np.fromfile(tmp_path / "left.f32", dtype="<f4")
    assert len(left) >= 4 * 44100 and analysis.rms_db(left[44100:]) > -40
    # 48 kHz in, 44.1 kHz out: the stream is consumed at its own rate.
    assert report["playhead"] == pytest.approx(report["rendered_frames"] * 48000 / 44100, abs=48000 * 0.6)

    heard = report["heard"]
    assert heard[0]["weights"] == {"calm": 0.8, "intense": 0.2}
    assert heard[-1]["weights"] == {"intense": 1}
    for blend in heard[1:]:  # fired when its audio played, within a frame of the main loop
        assert 0 <= blend["playhead"] - blend["stream_time"] < 0.1 * RATE
    assert report["merged"] > 10  # SetState every frame, coalesced

    # The drain: sound stops with a linear fade from the last sample, not a click.
    assert report["underruns_paced"] == 0 and report["underruns_drain"] == 1
    tail, fade = np.array(report["drain_tail"]), report["fade_frames"]
    end = int(np.flatnonzero(tail)[-1])
    last = tail[end - fade]  # the last sample of music before the fade
    ramp = tail[end - fade + 1: end + 1]
    assert np.allclose(ramp, last * np.arange(fade, 0, -1) / fade, atol=1e-6)
    assert np.all(tail[end + 1:] == 0) and len(tail) - end > 1024
