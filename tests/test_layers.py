"""Import layers the code promises: proven in fresh interpreters, not by reading imports.

* the WebSocket bridge, the console and the edge kit import (and the bridge serves) with
  ``grpc`` unimportable: a meta-path finder refuses it, as if it were not installed;
* the scene package imports nothing from the engines (its vocabulary is
  `runtime.vocabulary`), so a scene compiles without any engine code loaded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = """
import sys

class Block:
    def __init__(self, names):
        self.names = names
    def find_spec(self, name, path=None, target=None):
        if any(name == n or name.startswith(n + ".") for n in self.names):
            raise ImportError(f"{name} is blocked by the layer test")
        return None

sys.meta_path.insert(0, Block(NAMES))
"""


def run(code: str, blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    program = BLOCK.replace("NAMES", repr(list(blocked))) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)


def test_websocket_bridge_and_console_need_no_grpc():
    result = run("""
try:
    import grpc
except ImportError:
    pass
else:
    raise SystemExit("the blocker let grpc through")
import cadenza.runtime.transports.websocket.server as ws
import cadenza.runtime.transports.websocket.protocol
import cadenza.runtime.console.api as api
import cadenza.runtime.console.server
import cadenza.runtime.edge
import cadenza.runtime.transports.status as status
from cadenza.runtime.errors import NotFound
assert status.grpc_name(NotFound("x")) == "NOT_FOUND"
leaked = sorted(m for m in sys.modules if m == "grpc" or m.startswith("grpc."))
assert not leaked, leaked
print("ok")
""", blocked=("grpc",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_the_bridge_serves_a_session_without_grpc():
    """Not only importable: a real WebSocket session plays, with grpc blocked."""
    result = run("""
import asyncio, json
from websockets.asyncio.client import connect
from cadenza.runtime.server import Runtime, RuntimeConfig
from cadenza.runtime.transports.websocket.server import WebSocketServer
from cadenza.runtime.transports.websocket.protocol import decode_audio

async def main():
    runtime = Runtime(RuntimeConfig())
    await runtime.start()
    server = WebSocketServer(runtime, "127.0.0.1", 0)
    await server.start()
    try:
        async with connect(f"ws://127.0.0.1:{server.port}/v1/stream") as ws:
            await ws.send(json.dumps({"type": "create", "scene": "minimal", "seed": 1}))
            first = json.loads(await ws.recv())
            assert first["type"] == "session", first
            frames = 0
            while frames < 3:
                data = await ws.recv()
                if isinstance(data, bytes):
                    assert decode_audio(data).frames > 0
                    frames += 1
    finally:
        await server.stop()
        await runtime.stop()
    print("served")

asyncio.run(main())
assert not any(m == "grpc" or m.startswith("grpc.") for m in sys.modules)
""", blocked=("grpc",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "served" in result.stdout


def test_scene_package_imports_no_engine():
    result = run("""
import cadenza.runtime.scene as scene
from cadenza.runtime.scene import compile_scene
compiled = compile_scene('''
scene: layered
inputs:
  danger: {type: number, min: 0, max: 1, default: 0}
prompts:
  calm: "soft piano"
  tense: "dark drums"
mix:
  - {prompt: calm, weight: "1 - danger"}
  - {prompt: tense, weight: "danger"}
knobs:
  density: "0.2 + 0.6 * danger"
''', "<layer-test>", check_files=False)
assert compiled.name == "layered"
engines = sorted(m for m in sys.modules if m.startswith("cadenza.runtime.engines"))
assert not engines, engines
print("ok")
""")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_old_vocabulary_imports_keep_working():
    from cadenza.runtime import vocabulary
    from cadenza.runtime.engines.base import KNOB_NAMES, SCALE_UNSPECIFIED, SCALES, Knobs, Prompt

    assert Knobs is vocabulary.Knobs and Prompt is vocabulary.Prompt
    assert SCALES is vocabulary.SCALES and KNOB_NAMES is vocabulary.KNOB_NAMES
    assert SCALE_UNSPECIFIED == vocabulary.SCALE_UNSPECIFIED
