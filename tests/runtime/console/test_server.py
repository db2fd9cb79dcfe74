"""The console server over real HTTP and WebSocket on loopback: routes, package data,
the token on every route, same-origin API."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cadenza.runtime.console.server import load_static
from cadenza.runtime.errors import CadenzaError
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread

TOKEN = "t0k3n/with;odd=chars"
PAGE_BUDGET_BYTES = 80 * 1024


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def console(server: ServerThread) -> str:
    return f"http://127.0.0.1:{server.server.console.port}"


@pytest.fixture(scope="module")
def open_server():
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0,
                           runtime=RuntimeConfig(idle_timeout_s=30))
    with ServerThread(options) as server:
        yield server


@pytest.fixture(scope="module")
def token_server():
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0, token=TOKEN)
    with ServerThread(options) as server:
        yield server


def test_the_page_and_its_files_come_from_the_package(open_server):
    status, headers, body = get(console(open_server) + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="/static/app.js">' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    files = load_static()
    for name in ("app.js", "session.js", "player.js", "worklet.js", "chart.js", "editor.js",
                 "api.js", "console.css"):
        status, headers, body = get(f"{console(open_server)}/static/{name}")
        assert status == 200 and body == files[name][0]
    assert get(f"{console(open_server)}/static/app.js")[1]["Content-Type"].startswith(
        "text/javascript")
    # Offline: no file refers to anything but this server.
    for name, (body, _) in files.items():
        assert b"http://" not in body and b"https://" not in body, name


def test_page_weight_stays_small():
    files = load_static()
    total = sum(len(body) for name, (body, _) in files.items() if name != "login.html")
    print(f"\nconsole page weight: {total / 1024:.1f} KiB in {len(files) - 1} files "
          f"(+ {len(files['login.html'][0]) / 1024:.1f} KiB login page), uncompressed")
    assert total < PAGE_BUDGET_BYTES


def test_unknown_paths_are_404(open_server):
    for path in ("/nope", "/static/../server.py", "/static/login.html", "/static/",
                 "/static/__init__.py"):
        assert get(console(open_server) + path)[0] == 404, path


def test_metrics_without_a_token_configured(open_server):
    status, headers, body = get(console(open_server) + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"cadenza_sessions{" in body


def test_every_route_refuses_without_the_token(token_server):
    base = console(token_server)
    status, headers, body = get(base + "/")
    assert status == 401 and b'id="login"' in body  # the page asking for it
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert get(base + "/static/app.js")[0] == 401
    assert get(base + "/metrics")[0] == 401
    assert get(base + "/metrics", {"Authorization": "Bearer wrong"})[0] == 401
    ws = f"ws://127.0.0.1:{token_server.server.console.port}/api/ws"
    for url in (ws, ws + "?token=wrong", token_server.ws_url):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 401, url


def test_the_token_opens_every_route(token_server):
    base = console(token_server)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert get(base + "/metrics", bearer)[0] == 200
    cookie = {"Cookie": f"cadenza_token={urllib.parse.quote(TOKEN)}"}
    assert get(base + "/", cookie)[0] == 200
    assert get(base + "/static/worklet.js", cookie)[0] == 200
    query = urllib.parse.quote(TOKEN)
    with connect(f"ws://127.0.0.1:{token_server.server.console.port}/api/ws?token={query}") as ws:
        ws.send(json.dumps({"id": 1, "op": "hello"}))
        reply = json.loads(ws.recv(5))
        assert reply["ok"] and reply["result"]["token_required"] is True
        assert reply["result"]["bridge"]["port"] == token_server.ws_port
    with connect(f"{token_server.ws_url}?token={query}") as ws:
        ws.send(json.dumps({"type": "create", "scene": "minimal"}))
        assert json.loads(ws.recv(5))["type"] == "session"


def test_the_api_refuses_other_sites(open_server):
    url = f"ws://127.0.0.1:{open_server.server.console.port}/api/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="http://evil.example", open_timeout=5)
    assert refused.value.response.status_code == 403
    origin = f"http://127.0.0.1:{open_server.server.console.port}"
    with connect(url, origin=origin) as ws:
        ws.send(json.dumps({"id": 9, "op": "sessions"}))
        assert json.loads(ws.recv(5)) == {"id": 9, "ok": True, "result": []}


def test_no_console_unless_asked():
    with ServerThread() as server:
        assert server.server.console is None and server.server.extras == []


def test_a_busy_console_port_is_one_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CadenzaError, match="--console-port, 0: no console"), \
                ServerThread(ServeOptions(grpc_port=0, ws_port=0, console_port=port)):
            pass
