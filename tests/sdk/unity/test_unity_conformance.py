"""The Unity package's new surface, compiled with Mono: the NUnit tests of Unity's own
Tests/Runtime and Tests/Editor folders (run by the test program's NUnit runner), the
inspector's scene fetch against a real server, and the cross-client conformance scenario
driven through the CadenzaMusic component (create -> state -> prompts -> config -> trigger
-> beat events -> pause/play -> stop)."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread

from .conftest import PACKAGE, needs_mono, run_program, run_scenario

pytestmark = needs_mono
RATE = 48_000
COMBAT = "fast aggressive drums, distorted bass, metal"


@pytest.fixture(scope="module")
def server():
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(idle_timeout_s=30))
    with ServerThread(options) as running:
        yield running


def test_unity_test_framework_tests_pass_on_mono(csharp_build):
    """Tests/Runtime (protocol: trigger, config, beat events, clock header; the beat clock)
    and Tests/Editor (the inspector's fetch and its messages), NUnit, as Unity runs them."""
    if not (csharp_build / "Cadenza.UnityTests.dll").is_file():
        pytest.skip("no NUnit 2.6 framework (Debian's mono-devel brings libnunit-cil-dev)")
    result = run_program(csharp_build, "nunit", str(csharp_build / "Cadenza.UnityTests.dll"))
    assert result.returncode == 0, result.stdout + result.stderr
    passed, failed = (int(p.split()[0]) for p in result.stdout.strip().splitlines()[-1].split(","))
    assert failed == 0 and passed >= 11, result.stdout


def test_unity_test_asmdefs_follow_unitys_layout():
    runtime = json.loads((PACKAGE / "Tests" / "Runtime" / "Cadenza.Tests.Runtime.asmdef").read_text())
    editor = json.loads((PACKAGE / "Tests" / "Editor" / "Cadenza.Tests.Editor.asmdef").read_text())
    inspector = json.loads((PACKAGE / "Editor" / "Cadenza.Unity.Editor.asmdef").read_text())
    for asmdef in (runtime, editor):
        assert asmdef["precompiledReferences"] == ["nunit.framework.dll"] and asmdef["overrideReferences"]
        assert asmdef["defineConstraints"] == ["UNITY_INCLUDE_TESTS"] and asmdef["autoReferenced"] is False
        assert "UnityEngine.TestRunner" in asmdef["references"]
    assert editor["includePlatforms"] == ["Editor"] and "UnityEditor.TestRunner" in editor["references"]
    assert runtime["includePlatforms"] == []
    assert inspector["includePlatforms"] == ["Editor"]
    assert inspector["references"] == ["Cadenza.Core", "Cadenza.Unity"]


def test_package_manifest_has_the_registry_fields():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert manifest["license"] == "Apache-2.0"
    for key in ("documentationUrl", "changelogUrl", "licensesUrl"):
        assert manifest[key].startswith("https://"), key
    assert (PACKAGE / "LICENSE.md").read_text().startswith("Apache License") or \
        "Apache License" in (PACKAGE / "LICENSE.md").read_text()[:200]
    changelog = (PACKAGE / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "keepachangelog.com" in changelog
    assert "## [Unreleased]" in changelog
    for heading in ("### Added",):
        assert heading in changelog


def test_conformance_scenario_through_the_component(csharp_build, server, tmp_path):
    report = run_scenario(csharp_build, tmp_path, "conformance", "--url", server.ws_url, "--scene", "dungeon",
                          "--seed", "7", timeout=150)
    steps = report["steps"]
    assert steps == [f"{s}: ok" for s in ("create", "state", "prompts", "config", "config cleared", "trigger",
                                           "beats", "pause", "play")], steps
    assert len(report["sessions"]) == 1 and report["non_silent_frames"] > RATE
    assert any(COMBAT in h for h in report["heard"]) and any("dark techno" in h for h in report["heard"])
    ids, acks = report["ids"], report["acks"]
    errors = {e["id"]: e for e in report["errors"]}

    # the live config: acked with the override in effect, then cleared; a bad bpm refused
    assert acks[str(ids["config"])]["config"] == {"bpm": 100, "mute_drums": True}
    assert acks[str(ids["clear"])]["config"] == {}
    assert (errors[ids["bad_config"]]["code"], errors[ids["bad_config"]]["field"]) == \
        ("invalid_argument", "config.bpm")
    assert any(abs(f[3] - 100) < 2 for f in report["frames"])

    # the stinger: acked, then scheduled; an unknown name is an error naming stinger
    assert str(ids["trigger"]) in acks
    assert report["stingers"][0]["stinger"] == "hit" and report["stingers"][0]["status"] == "scheduled"
    assert errors[ids["bad_trigger"]]["field"] == "stinger"
    assert [e["field"] for e in report["errors"]].count("danger") == 1  # SetState("danger", 7)

    # OnBeat/OnBar: raised on the main thread about beatLeadSeconds (0.1 s) ahead of the
    # DSP time at which the beat is heard, in order, with the DSP time matching the beat grid
    beats = [b for b in report["beats"] if b["dsp_time"] >= 0]
    assert len(beats) >= 8 and report["bars"]
    for a, b in itertools.pairwise(beats):
        assert b["beat"] == a["beat"] + 1
        assert b["dsp_time"] - a["dsp_time"] == pytest.approx((b["stream_time"] - a["stream_time"]) / RATE,
                                                              abs=1e-6)
    leads = [b["dsp_time"] - b["raised_at_dsp"] for b in beats[2:]]
    assert all(-0.05 < lead < 0.2 for lead in leads), leads
    assert all(bar["beat_in_bar"] == 0 for bar in report["bars"])

    # pause / play: no audio while paused, then the stream continues gapless
    assert report["states"][-2:] == ["paused", "playing"] and report["frames_while_paused"] <= 12
    frames = report["frames"]
    assert all(b[0] == a[0] + 1 and b[1] == a[1] + a[2] for a, b in itertools.pairwise(frames))
    assert report["stopped"] is True  # Stop() ended the session


def test_inspector_fetches_the_scene_from_a_real_server(csharp_build, server, tmp_path):
    """Fetch scene: the scene's inputs and stingers land in the component, and the probe's
    session is ended on the server (it does not idle there)."""
    report = run_scenario(csharp_build, tmp_path, "probe", "--url", server.ws_url, "--scene", "dungeon")
    assert report["ok"] is True, report["describe"]
    assert report["inputs"] == ["biome", "danger", "health"]
    assert report["stingers"] == ["hit", "level_up", "low_health"]
    assert "Stingers: hit, level_up, low_health" in report["describe"]
    deadline = time.monotonic() + 3
    while report["session_id"] in {s.id for s in server.runtime.sessions()} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert report["session_id"] not in {s.id for s in server.runtime.sessions()}


def test_inspector_names_an_unknown_scene(csharp_build, server, tmp_path):
    report = run_scenario(csharp_build, tmp_path, "probe", "--url", server.ws_url, "--scene", "no-such-scene")
    assert report["ok"] is False and report["error"].startswith("not_found")
    assert "check the scene name" in report["describe"]
