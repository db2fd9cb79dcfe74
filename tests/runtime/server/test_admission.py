"""Admission control on a real server: an engine made slow (the chaos switch) so its
measured capacity is a handful of sessions; asking for many more gets RESOURCE_EXHAUSTED
with a retry hint at once, and the admitted sessions keep real time."""

from __future__ import annotations

import threading
import time

from cadenza.runtime.engines.chaos import ChaosEngine
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread, render_prompt
from cadenza.sdk import Client
from cadenza.sdk.errors import ResourceExhausted


def test_sessions_beyond_the_measured_capacity_are_refused_with_a_retry_hint():
    inner = ProceduralEngine()
    render_prompt(inner, "calm ambient piano", 1.0)  # warm: the first call builds caches
    engine = ChaosEngine(inner, "slow=12x")
    options = ServeOptions(grpc_port=0, ws_port=0, engines={"procedural": engine},
                           runtime=RuntimeConfig(admission_floor=2))
    with ServerThread(options) as server:
        client = Client(f"127.0.0.1:{server.grpc_port}")
        first = [client.create_session(scene="minimal", seed=i) for i in range(2)]
        heard: dict[str, int] = {}

        def listen(session):
            heard[session.id] = sum(1 for _ in session.stream(seconds=12))

        threads = [threading.Thread(target=listen, args=(s,)) for s in first]
        for t in threads:
            t.start()
        loop = server.call(lambda: server.server.runtime.loops["procedural"])
        deadline = time.monotonic() + 15
        while server.call(lambda: loop.stats.steps) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)  # until the engine's calls are measured
        admitted, refusals, slowest = list(first), [], 0.0
        for i in range(2, 40):
            started = time.monotonic()
            try:
                admitted.append(client.create_session(scene="minimal", seed=i))
            except ResourceExhausted as exc:
                refusals.append(exc)
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        capacity = server.call(loop.capacity)
        for t in threads:
            t.join(30)
        assert refusals, f"nothing refused; capacity {capacity}"
        assert 2 <= len(admitted) <= max(capacity or 0, 2) + 1
        assert all(r.retry_after and r.retry_after > 0 for r in refusals)
        assert all("capacity" in r.message for r in refusals)
        assert slowest < 2.0  # nobody hangs
        assert all(n >= 12 / 0.05 - 1 for n in heard.values())
        assert sum(s.info().underruns for s in admitted) == 0
