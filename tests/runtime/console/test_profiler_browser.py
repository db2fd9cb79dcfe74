"""The console as a profiler, in Debian's Chromium against a real `cadenza serve`: meters
that move with the music and fall silent on pause, an event log showing a transition
quantized to its bar, derived values and knobs, a snapshot recalled in one click, the
edited scene saved to disk (with a backup) and reloaded, a profiling recording
downloaded and replayed, and two sessions side by side. Screenshots in
test-artifacts/console/."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cadenza.sdk import Client

from .helpers import cadenza_serve, wait_for

ARENA = """\
scene: arena
inputs:
  danger: {type: number, min: 0, max: 1, default: 0.1}
derived:
  fighting: {enter: "danger > 0.6", exit: "danger < 0.4"}
prompts:
  calm:   "calm ambient piano"
  battle: "fast energetic drums, distorted bass"
mix:
  calm:   "1 - danger"
  battle: {when: fighting, weight: 2}
transitions:
  default: {glide: 0.5s}
  enter fighting: {at: bar, glide: 1 beat}
knobs:
  temperature: "lerp(0.9, 1.2, danger)"
"""


def levels(page) -> dict:
    return page.evaluate("window.cadenzaConsole && window.cadenzaConsole.levels()") or {}


def open_session(page, served, session_id: str) -> None:
    page.goto(f"{served.console_url}#/s/{session_id}")
    wait_for(lambda: page.evaluate("window.cadenzaConsole && window.cadenzaConsole.sessionId"),
             what="the session page")


@pytest.fixture
def scenes_dir(tmp_path):
    folder = tmp_path / "scenes"
    folder.mkdir()
    (folder / "arena.yaml").write_text(ARENA)
    return folder


def test_meters_event_log_values_and_snapshots(chromium, artifacts, scenes_dir):
    with cadenza_serve("--scenes", str(scenes_dir)) as served, Client(served.grpc_address) as client:
        session = client.create_session(scene="arena", seed=3)
        page = chromium.new_page(viewport={"width": 1400, "height": 1300})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_session(page, served, session.id)
        assert page.evaluate("window.cadenzaConsole.audio().contextRate") == 48000

        # Meters move with the music ...
        wait_for(lambda: levels(page).get("rmsDb", -90) > -50, what="the RMS meter rising")
        wait_for(lambda: levels(page).get("lufs", -90) > -50, what="short-term loudness")
        assert levels(page)["peakDb"] >= levels(page)["rmsDb"]
        assert float(page.get_attribute("#meter-rms", "data-db")) > -70   # the page shows it
        page.screenshot(path=artifacts / "10-meters.png")
        # ... and fall silent on pause.
        page.click("#panel-transport button[data-action=pause]")
        wait_for(lambda: levels(page).get("peakDb", 0) <= -89, what="the meters falling silent")
        wait_for(lambda: page.query_selector("#event-log li[data-kind=state]"),
                 what="the pause in the event log")
        assert "paused" in page.inner_text("#event-log li[data-kind=state]")
        page.click("#panel-transport button[data-action=play]")
        wait_for(lambda: levels(page).get("rmsDb", -90) > -50, what="the meters back")

        # Derived values and knobs beside the inputs.
        wait_for(lambda: page.query_selector("#derived-fighting"), what="derived values")
        assert page.get_attribute("#derived-fighting", "data-value") == "false"
        assert float(page.get_attribute("#knob-temperature", "data-value")) == pytest.approx(
            0.93, abs=0.01)

        # A snapshot of the calm inputs, saved by name.
        page.fill("#snapshot-name", "calm")
        page.click("#snapshot-save")
        page.wait_for_selector("#snapshots button[data-snapshot=calm]")

        # The fight starts: the transition is quantized to the bar, and lands on beat 1.
        page.focus("#input-danger")
        page.keyboard.press("End")
        wait_for(lambda: client.get_session(session.id).inputs["danger"] == 1.0, what="danger=1")
        try:
            landed = page.wait_for_selector(
                "#event-log li[data-kind=transition][data-phase=landed]", timeout=20000)
        except Exception as exc:
            raise AssertionError("no landed transition; the log:\n"
                                 + page.inner_text("#event-log")) from exc
        assert landed.get_attribute("data-beat") == "1"
        scheduled = page.inner_text("#event-log li[data-kind=transition][data-phase=scheduled]")
        assert "enter fighting: quantized to bar" in scheduled
        assert "fighting on" in page.inner_text("#event-log li[data-kind=latch]")
        wait_for(lambda: page.get_attribute("#derived-fighting", "data-value") == "true",
                 what="the derived value")
        # Filters hide a kind.
        page.uncheck("input[data-filter=transition]")
        assert not page.is_visible("#event-log li[data-kind=transition]")
        page.check("input[data-filter=transition]")
        page.screenshot(path=artifacts / "11-event-log-transition.png")

        # Recall the snapshot in one click: the inputs are back.
        page.click("#snapshots button[data-snapshot=calm]")
        wait_for(lambda: client.get_session(session.id).inputs["danger"] == pytest.approx(0.1),
                 what="the snapshot recalled on the server")
        wait_for(lambda: page.input_value("#input-danger") == "0.1", what="the slider recalled")
        page.screenshot(path=artifacts / "12-snapshot-recalled.png")
        assert not errors, errors


def test_save_scene_record_and_side_by_side(chromium, artifacts, scenes_dir, tmp_path):
    token = "s3cret-profiler"
    with cadenza_serve("--scenes", str(scenes_dir), token=token) as served, \
            Client(served.grpc_address, token=token) as client:
        first = client.create_session(scene="arena", seed=1)
        second = client.create_session(scene="arena", seed=2)
        context = chromium.new_context(viewport={"width": 1400, "height": 1300})
        page = context.new_page()
        page.goto(served.console_url + f"?token={token}")   # the page keeps the token
        page.wait_for_selector("#create-session")
        open_session(page, served, first.id)
        page.wait_for_selector("#scene-yaml")

        # Save the edited scene: on disk, with the previous version kept as a backup.
        edited = ARENA.replace('"calm ambient piano"', '"calm ambient piano, soft strings"')
        page.fill("#scene-yaml", edited)
        page.wait_for_selector(".editor-status.good")
        page.click("#save-scene")
        page.wait_for_selector(".editor-status.saved")
        assert (scenes_dir / "arena.yaml").read_text() == edited
        [backup] = (scenes_dir / ".backups").glob("arena-*.yaml")
        assert backup.read_text() == ARENA
        # A broken scene is refused with its line, and the file is left alone.
        page.fill("#scene-yaml", edited.replace("1 - danger", "1 - dangr"))
        page.click("#save-scene")
        page.wait_for_selector(".issue.error")
        assert (scenes_dir / "arena.yaml").read_text() == edited
        page.screenshot(path=artifacts / "13-scene-saved.png")
        # It reloads: a new session of the scene plays the saved version.
        third = client.create_session(scene="arena", seed=4)
        open_session(page, served, third.id)
        wait_for(lambda: "soft strings" in page.input_value("#scene-yaml"), what="the saved scene")

        # Record a profiling session, move the slider, stop, download it.
        page.click("#record")
        page.wait_for_selector("#record-status:has-text('recording')")
        page.focus("#input-danger")
        page.keyboard.press("End")
        wait_for(lambda: client.get_session(third.id).inputs["danger"] == 1.0, what="danger=1")
        page.click("#record")
        link = page.wait_for_selector("#record-download:not([hidden])")
        response = page.request.get(served.console_url.rstrip("/") + link.get_attribute("href"))
        assert response.status == 200
        lines = [json.loads(x) for x in response.text().splitlines()]
        assert lines[0]["format"] == "cadenza-recording/1" and lines[0]["scene"]["name"] == "arena"
        assert any(x.get("type") == "state" and x["values"].get("danger") == 1.0 for x in lines)
        assert "end" in lines[-1]
        rec = tmp_path / "profile.cadrec"
        rec.write_text(response.text())
        replayed = subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "replay", str(rec),
                                   "--out", str(tmp_path / "again.wav")], capture_output=True,
                                  text=True, timeout=120)
        assert replayed.returncode == 0, replayed.stderr
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as refused:   # behind the token
            urllib.request.urlopen(served.console_url.rstrip("/") + link.get_attribute("href"))
        assert refused.value.code == 401
        page.screenshot(path=artifacts / "14-recording.png")

        # Two sessions side by side: both meters move.
        page.goto(f"{served.console_url}#/compare/{first.id},{second.id}")
        wait_for(lambda: page.evaluate("Object.keys(window.cadenzaSessions || {}).length") == 2,
                 what="two columns")
        for sid in (first.id, second.id):
            wait_for(lambda sid=sid: page.evaluate(
                f"(window.cadenzaSessions['{sid}'].levels() || {{}}).rmsDb || -90") > -50,
                what=f"the meters of {sid}")
        page.screenshot(path=artifacts / "15-side-by-side.png")
