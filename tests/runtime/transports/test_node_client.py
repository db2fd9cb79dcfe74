"""A client in another language: Node.js with @grpc/grpc-js, against a real server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[2] / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(),
    reason="needs node and `npm ci` in tests/node (done by .ci/setup)")


def test_node_grpc_client_streams_and_updates(server):
    result = subprocess.run(["node", str(NODE_DIR / "client.js"), server.grpc_address],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["first_seq"] == 0 and seen["gaps"] == 0
    assert seen["frames"] >= 3 * 48000 and seen["bytes"] == seen["frames"] * 4
    assert seen["update_ok"]
    assert seen["first_blend"] == pytest.approx({"calm": 0.8, "intense": 0.2})
    assert seen["last_blend"] == {"intense": 1}
