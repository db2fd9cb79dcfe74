"""The GPU benchmark's staging (benchmarks/mrt2.py ``Stages``): every stage writes the JSON
before the next starts, a stage past the budget is skipped and recorded, a failing stage
does not lose the ones after it.

The full ``--gpu --smoke`` run (every stage on the CPU with ``tiny``) takes 2-3 minutes
on the 2-core VM, so it is a documented manual check (docs/benchmarks.md), not a test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mrt2():
    spec = importlib.util.spec_from_file_location("bench_mrt2", ROOT / "benchmarks" / "mrt2.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_mrt2"] = module
    spec.loader.exec_module(module)
    return module


def test_each_stage_is_on_disk_before_the_next_starts(mrt2, tmp_path):
    path = tmp_path / "gpu.json"
    stages = mrt2.Stages(str(path), None, {"machine": "test"})
    seen = []

    def second():
        seen.append(json.loads(path.read_text()))
        return {"frames_per_s": 2.0}

    assert stages.run("first", lambda: {"frames_per_s": 1.0}) == {"frames_per_s": 1.0}
    stages.run("second", second)
    assert [s["stage"] for s in seen[0]["stages"]] == ["first"]
    final = json.loads(path.read_text())
    assert [s["result"]["frames_per_s"] for s in final["stages"]] == [1.0, 2.0]


def test_a_failing_stage_is_recorded_and_the_run_goes_on(mrt2, tmp_path):
    path = tmp_path / "gpu.json"
    stages = mrt2.Stages(str(path), None, {})

    def broken():
        raise RuntimeError("out of memory at B=1024")

    assert stages.run("big", broken) is None
    assert stages.run("after", lambda: 3) == 3
    final = json.loads(path.read_text())["stages"]
    assert "out of memory at B=1024" in final[0]["error"]
    assert final[1]["result"] == 3


def test_stages_past_the_budget_are_skipped_and_say_why(mrt2, tmp_path):
    path = tmp_path / "gpu.json"
    stages = mrt2.Stages(str(path), 10.0, {})
    ran = []
    stages.run("cheap", lambda: ran.append("cheap"), need_s=5)
    stages.run("too big", lambda: ran.append("too big"), need_s=60)
    assert ran == ["cheap"]
    final = json.loads(path.read_text())["stages"]
    assert final[1]["stage"] == "too big" and "budget" in final[1]["skipped"]


def test_the_device_script_runs_the_staged_mode_within_a_budget():
    script = (ROOT / "benchmarks" / "gpu_run.sh").read_text()
    assert "--gpu --budget-s" in script and "mrt2_small mrt2_base" in script
    assert "--batches 1 64 256 1024" in script
