"""The codebase stays ruff-clean (the house style is enforced by CI, not by review)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is installed by the [test] extra")
def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sdk_imports_without_the_runtime_stack():
    """The Python SDK must import with only grpcio + protobuf (no numpy-heavy runtime)."""
    code = ("import sys; import cadenza.sdk; "
            "bad = [m for m in ('numpy', 'scipy', 'jax', 'cadenza.runtime') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
