"""The console's profiler ops over the real console WebSocket (in-process server on
loopback): the event log, saving scenes (only into the served folder, never elsewhere),
snapshots and recordings, with precise errors."""

from __future__ import annotations

import json
import urllib.request

import pytest
from websockets.sync.client import connect

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread

from .helpers import wait_for

SCENE = """\
scene: tiny
inputs:
  level: {type: number, min: 0, max: 1, default: 0.5}
prompts:
  a: "calm ambient piano"
mix:
  a: "level"
"""


class Console:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.n = 0

    def call(self, op: str, **args):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "op": op, **args}))
        reply = json.loads(self.ws.recv(timeout=10))
        assert reply["id"] == self.n
        return reply


@pytest.fixture
def served(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SCENE)
    options = ServeOptions(grpc_port=0, ws_port=0, console_port=0,
                           runtime=RuntimeConfig(scenes_dir=tmp_path))
    with ServerThread(options) as server, \
            connect(f"ws://127.0.0.1:{server.server.console.port}/api/ws") as ws:
        yield server, Console(ws), tmp_path


def test_poll_snapshot_recall_and_recording(served):
    server, console, _ = served
    sid = console.call("create", scene="tiny", seed=1)["result"]["session_id"]
    polled = wait_for(lambda: console.call("profiler.poll", session_id=sid, after=0)["result"]
                      ["events"], what="the first log entry")
    assert polled[0]["kind"] == "state" and "playing" in polled[0]["text"]
    assert console.call("profiler.snapshot", session_id=sid, name="low")["ok"]
    console.call("state", session_id=sid, values={"level": 0.9})
    assert console.call("profiler.recall", session_id=sid, name="low")["result"] == {
        "values": {"level": 0.5}}
    missing = console.call("profiler.recall", session_id=sid, name="nope")
    assert missing["error"]["code"] == "not_found"

    assert console.call("profiler.record", session_id=sid)["ok"]
    console.call("state", session_id=sid, values={"level": 0.2})
    stopped = console.call("profiler.stop_record", session_id=sid)["result"]
    url = f"http://127.0.0.1:{server.server.console.port}{stopped['url']}"
    lines = [json.loads(x) for x in urllib.request.urlopen(url, timeout=10).read().splitlines()]
    assert lines[0]["profiling"] is True and lines[1] == {"t": 0, "type": "state",
                                                           "values": {"level": 0.5}}
    assert any(x.get("values") == {"level": 0.2} for x in lines[2:])
    again = console.call("profiler.stop_record", session_id=sid)
    assert again["error"]["code"] == "failed_precondition"


def test_save_scene_writes_only_plain_names_into_the_served_folder(served):
    _, console, folder = served
    saved = console.call("profiler.save_scene", yaml=SCENE.replace("0.5", "0.7"),
                         filename="tiny.yaml")["result"]
    assert saved["name"] == "tiny" and "default: 0.7" in (folder / "tiny.yaml").read_text()
    assert len(list((folder / ".backups").glob("tiny-*.yaml"))) == 1
    new = console.call("profiler.save_scene", yaml=SCENE.replace("tiny", "other"),
                       filename="other.yaml")["result"]
    assert new["backup"] is None and (folder / "other.yaml").is_file()
    for bad in ("../evil.yaml", "/etc/cron.d/x.yaml", ".hidden.yaml", "x.txt", "a/b.yaml"):
        reply = console.call("profiler.save_scene", yaml=SCENE, filename=bad)
        assert reply["error"]["field"] == "filename", bad
    broken = console.call("profiler.save_scene", yaml=SCENE.replace('"level"', '"levl"'),
                          filename="tiny.yaml")
    assert broken["error"]["issues"][0]["line"] == 7
    assert "default: 0.7" in (folder / "tiny.yaml").read_text()     # untouched
    unknown = console.call("profiler.nope")
    assert unknown["error"]["field"] == "op"


def test_the_shipped_examples_are_never_overwritten():
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, console_port=0)) as server, \
            connect(f"ws://127.0.0.1:{server.server.console.port}/api/ws") as ws:
        reply = Console(ws).call("profiler.save_scene", yaml=SCENE, filename="minimal.yaml")
        assert reply["error"]["code"] == "failed_precondition"
        assert "--scenes DIR" in reply["error"]["message"]
