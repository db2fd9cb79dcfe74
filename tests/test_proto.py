"""The committed wire code is exactly what the documented command generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("runtime_pb2.py", "runtime_pb2.pyi", "runtime_pb2_grpc.py")


def test_generated_code_is_up_to_date(tmp_path):
    pytest.importorskip("grpc_tools")
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"),
         f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}",
         str(ROOT / "proto" / "cadenza" / "v1" / "runtime.proto")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in GENERATED:
        fresh = (tmp_path / "cadenza" / "v1" / name).read_text()
        committed = (ROOT / "proto" / "cadenza" / "v1" / name).read_text()
        assert fresh == committed, f"{name} is stale: regenerate it (see proto/README.md)"


def test_every_message_enum_and_rpc_is_documented():
    """A comment on the line above (or a block of wrappers under one comment, or a
    trailing comment) documents every message, enum and RPC."""
    lines = (ROOT / "proto" / "cadenza" / "v1" / "runtime.proto").read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith(("message ", "enum ", "rpc ")):
            continue
        j = i - 1
        while j >= 0 and lines[j].strip().startswith(("message ", "enum ")) and \
                lines[j].strip().endswith("}"):
            j -= 1  # one comment may head a block of one-line wrapper messages
        if "//" not in stripped and not lines[j].strip().startswith("//"):
            undocumented.append(stripped)
    assert undocumented == []
