"""/healthz, /readyz and /metrics on the console port of an in-process `cadenza serve`
(real HTTP on loopback): probes without the token, metrics without `_created` twins and
with the process and GC collectors."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import Client

TOKEN = "probe-token"


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_probes_answer_without_the_token_and_readyz_follows_capacity():
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0, token=TOKEN,
                           runtime=RuntimeConfig(max_sessions=1))
    with ServerThread(options) as server:
        base = f"http://127.0.0.1:{server.server.console.port}"
        assert get(base + "/healthz") == (200, "ok\n")
        assert get(base + "/readyz") == (200, "ready\n")
        with Client(f"127.0.0.1:{server.server.grpc_port}", token=TOKEN) as client:
            client.create_session(scene="minimal")
            code, body = get(base + "/readyz")                 # full: not ready for more
            assert code == 503 and "max-sessions" in body
            assert get(base + "/healthz")[0] == 200            # but healthy
        # An embedding program's own check (an installation's sound card) turns it 503.
        server.server.console.health_checks.append(lambda: "sound card unplugged")
        assert get(base + "/healthz") == (503, "sound card unplugged\n")
        server.server.console.health_checks.append(lambda: 1 / 0)
        server.server.console.health_checks.pop(0)
        code, body = get(base + "/healthz")
        assert code == 503 and "ZeroDivisionError" in body   # a failing check, not a 500


def test_metrics_have_no_created_duplicates_and_process_gc_collectors():
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0, token=TOKEN)
    with ServerThread(options) as server:
        base = f"http://127.0.0.1:{server.server.console.port}"
        assert get(base + "/metrics")[0] == 401
        code, text = get(base + "/metrics", TOKEN)
        assert code == 200
        assert not re.search(r"^\w+_created[{ ]", text, re.M)    # no X_created series
        assert "cadenza_sessions_created_created" not in text
        assert "cadenza_sessions_created_total" in text
        for family in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                       "process_open_fds", "python_gc_collections_total", "python_info"):
            assert re.search(rf"^{family}", text, re.M), family
