"""Clients that stop reading or die: bounded backlog, no stalls, no leaks."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import grpc

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import Client
from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

RATE = 48_000


def test_a_client_that_stops_reading_is_dropped_and_delays_nobody():
    config = RuntimeConfig(max_backlog_s=1.0, idle_timeout_s=60)
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, runtime=config)) as server:
        client = Client(server.grpc_address)
        stalled = client.create_session(scene="dungeon")
        healthy = client.create_session(scene="minimal")
        # The stalled client attaches, then never reads: its socket buffers fill up.
        channel = grpc.insecure_channel(server.grpc_address,
                                        options=[("grpc.http2.lookahead_bytes", 0)])
        call = pb_grpc.RuntimeStub(channel).Stream(
            iter([pb.ClientMessage(attach=pb.Attach(session_id=stalled.id,
                                                    encoding=pb.PCM_F32LE))]))
        time.sleep(0.3)
        arrivals = []
        for chunk in healthy.stream(seconds=8.0):
            arrivals.append((time.monotonic(), chunk))
        # The healthy stream kept real time: after the initial lookahead burst, chunks
        # arrive every 50 ms; no gap in arrival longer than 250 ms, no underrun.
        times = [t for t, _ in arrivals]
        gaps = [b - a for a, b in itertools.pairwise(times[30:])]
        assert max(gaps) < 0.25
        assert [c.seq for _, c in arrivals] == list(range(len(arrivals)))
        assert client.get_session(healthy.id).underruns == 0
        # The stalled stream was cut off after its bounded backlog, and its session
        # played on (nothing waited for the slow reader).
        deadline = time.monotonic() + 20
        while client.get_session(stalled.id).listeners and time.monotonic() < deadline:
            time.sleep(0.2)
        info = client.get_session(stalled.id)
        assert info.listeners == 0 and info.state == "playing"
        assert info.underruns == 0 and info.stream_time >= 8 * RATE
        call.cancel()
        channel.close()


STREAMER = """
import sys
from cadenza.sdk import Client
client = Client(sys.argv[1])
session = client.create_session(scene="minimal")
print(session.id, flush=True)
for chunk in session.stream():
    pass
"""


def test_killed_clients_leave_no_sessions_after_the_idle_timeout():
    # Twenty interpreters starting at once on a small CI machine starve the engine thread
    # for seconds; admission may then (rightly) refuse the last few. This test is about
    # the idle timeout, so it admits everyone.
    config = RuntimeConfig(idle_timeout_s=2.0, admission=False)
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, runtime=config)) as server:
        procs = [subprocess.Popen([sys.executable, "-c", STREAMER, server.grpc_address],
                                  stdout=subprocess.PIPE, text=True) for _ in range(20)]
        ids = [p.stdout.readline().strip() for p in procs]
        client = Client(server.grpc_address)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(s.listeners == 1 for s in client.sessions()) and len(client.sessions()) == 20:
                break
            time.sleep(0.2)
        assert {s.session_id for s in client.sessions()} == set(ids)
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)  # mid-stream, no goodbye
        for p in procs:
            p.wait(10)
        deadline = time.monotonic() + 15
        while client.sessions() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert client.sessions() == []
        # The server is fine afterwards.
        fresh = client.create_session(scene="minimal")
        assert len(list(fresh.stream(seconds=0.5))) >= 10


def test_a_slow_websocket_reader_does_not_stall_a_grpc_stream():
    from websockets.sync.client import connect

    config = RuntimeConfig(max_backlog_s=1.0)
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, runtime=config)) as server:
        ws = connect(server.ws_url, max_size=None).__enter__()
        ws.send('{"type":"create","scene":"museum","encoding":"f32le"}')
        stop = threading.Event()
        client = Client(server.grpc_address)
        session = client.create_session(scene="minimal")
        chunks = list(session.stream(seconds=4.0))
        assert len(chunks) >= 80 and client.get_session(session.id).underruns == 0
        stop.set()
        ws.close()
