"""Builds the Unity package with Mono's C# compiler once per test run (see
sdk/unity/Tests~/build.sh) and runs its test program."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "sdk" / "unity"
BUILD_SCRIPT = PACKAGE / "Tests~" / "build.sh"

needs_mono = pytest.mark.skipif(
    shutil.which("mcs") is None or shutil.which("mono") is None,
    reason="needs Mono's C# compiler: apt-get install mono-devel (done by .ci/setup)")


@pytest.fixture(scope="session")
def csharp_build(tmp_path_factory) -> Path:
    """The compiled package and test program (C# 7.2, warnings as errors)."""
    out = tmp_path_factory.mktemp("unity-build")
    result = subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, f"mcs failed:\n{result.stdout}\n{result.stderr}"
    return out


def run_program(build: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(["mono", "--debug", str(build / "CadenzaTests.exe"), *args],
                          capture_output=True, text=True, timeout=timeout)


def run_scenario(build: Path, out: Path, mode: str, *args: str, timeout: float = 90) -> dict:
    """Runs a live scenario of the test program; returns its report.json."""
    result = run_program(build, mode, "--out", str(out), *args, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / "report.json").read_text())
