"""The JavaScript SDK in Debian's Chromium (Playwright), against a real `cadenza serve`:
the AudioWorklet player plays the stream (non-silent frames counted inside the worklet),
follows a state change, fires a stinger, takes a live config, times beat events on the
AudioContext clock, pauses/plays, reconnects after the connection is dropped, and
resamples where the context is not at 48 kHz; and the web sample (samples/web) plays.
Screenshots: test-artifacts/js/."""

from __future__ import annotations

import itertools
import os
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
RATE = 48_000


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium (never a downloaded browser); skips without it, fails in CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/setup installs Debian's chromium")
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def artifacts() -> Path:
    folder = ROOT / "test-artifacts" / "js"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def site():
    """The repository served over loopback HTTP (module scripts and worklets need http://)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True, name="js-site").start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/tests/sdk/js/page/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def page(chromium, site):
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site)
    page.wait_for_function("window.sdkTest !== undefined", timeout=15_000)
    yield page
    try:
        page.evaluate("window.sdkTest.close()")
    finally:
        context.close()
    assert errors == []


def wait_for(page, expression: str, timeout: float = 10.0):
    page.wait_for_function(expression, timeout=timeout * 1000, polling=50)
    return page.evaluate(expression)


def stats(page) -> dict:
    return page.evaluate("window.sdkTest.stats()")


def call(page, method: str, *args) -> dict:
    return page.evaluate("([m, a]) => window.sdkTest.call(m, ...a)", [method, list(args)])


def gapless(frames) -> bool:
    return all(b[0] == a[0] + 1 and b[1] == a[1] + a[2] for a, b in itertools.pairwise(frames))


def test_conformance_scenario_in_chromium(page, server):
    started = page.evaluate("(url) => window.sdkTest.start({url, state: {biome: 'cave'}})", server.ws_url)
    assert started["contextRate"] == RATE and started["resampling"] is False
    assert "hit" in started["session"]["stingers"]
    # plays: the worklet itself counts non-silent output frames
    wait_for(page, "window.sdkTest.stats().nonSilentFrames > 24000", 10)
    first = stats(page)
    assert first["peak"] > 0.01 and first["playing"]

    # follows a state change: danger 0.9 enters combat
    assert call(page, "setState", {"danger": 0.9})["ok"]
    wait_for(page, "window.sdkTest.log().blends.some(b => b.some(e => e.name === 'combat' && e.weight > .5))")
    bad = call(page, "setState", {"danger": 7})
    assert (bad["ok"], bad["code"], bad["field"]) == (False, "invalid_argument", "danger")

    # prompts, then back to the scene
    assert call(page, "setPrompts", {"dark techno": 1.0})["ok"]
    wait_for(page, "window.sdkTest.log().blends.some(b => b.length === 1 && b[0].text === 'dark techno')")
    assert call(page, "setPrompts", {})["ok"]

    # live config
    config = call(page, "setGenerationConfig", {"bpm": 100, "mute_drums": True})
    assert config["ok"], config
    assert config["reply"]["config"] == {"bpm": 100, "mute_drums": True}
    assert call(page, "setGenerationConfig", {}, {"clear": ["*"]})["reply"]["config"] == {}

    # fires a stinger
    assert call(page, "trigger", "hit")["ok"]
    stinger = wait_for(page, "window.sdkTest.log().stingers[0]")
    assert stinger["stinger"] == "hit" and stinger["status"] == "scheduled"
    unknown = call(page, "trigger", "nope")
    assert (unknown["code"], unknown["field"]) == ("invalid_argument", "stinger")

    # beat events, placed on the AudioContext's clock ahead of or near now
    wait_for(page, "window.sdkTest.log().beats.filter(b => b.at !== null).length >= 4")
    beats = [b for b in page.evaluate("window.sdkTest.log().beats") if b["at"] is not None]
    spacing = [b["at"] - a["at"] for a, b in itertools.pairwise(beats) if round(b["beat"] - a["beat"]) == 1]
    assert spacing and all(0.2 < s < 1.5 for s in spacing), spacing

    # pause / play: the player fades, the stream continues with the next seq
    assert call(page, "pause")["ok"]
    page.evaluate("window.sdkTest.player('pause')")
    wait_for(page, "window.sdkTest.log().states.includes('paused')")
    assert call(page, "play")["ok"]
    page.evaluate("window.sdkTest.player('play')")
    wait_for(page, "window.sdkTest.log().states.at(-1) === 'playing'")
    before = stats(page)["nonSilentFrames"]
    wait_for(page, f"window.sdkTest.stats().nonSilentFrames > {before + 12000}")
    assert gapless(page.evaluate("window.sdkTest.log().frames"))

    # stop: the session ends
    assert call(page, "stop")["ok"]
    wait_for(page, "window.sdkTest.stats().finished")
    assert page.evaluate("window.sdkTest.log().errors") == []


def test_reconnects_after_the_connection_drops_in_chromium(page, cutter):
    info = page.evaluate("(url) => window.sdkTest.start({url, scene: 'minimal', beatEvents: 'bars'})",
                         cutter.ws_url)
    wait_for(page, "window.sdkTest.stats().nonSilentFrames > 24000", 10)
    assert page.evaluate("(u) => window.sdkTest.cut(u)", cutter.cut_url) == 200
    wait_for(page, "window.sdkTest.log().drops.length === 1")
    wait_for(page, "window.sdkTest.stats().reconnects === 1 && window.sdkTest.stats().connected", 10)
    played = stats(page)["nonSilentFrames"]
    wait_for(page, f"window.sdkTest.stats().nonSilentFrames > {played + 24000}", 10)
    after = stats(page)
    assert after["sessionId"] == info["session"]["session_id"] and after["seqGaps"] == 0
    assert gapless(page.evaluate("window.sdkTest.log().frames"))
    assert page.evaluate("window.sdkTest.log().drops[0].willReconnect")


def test_resamples_where_the_context_is_not_48k(page, server):
    started = page.evaluate("(url) => window.sdkTest.start({url, scene: 'minimal', sampleRate: 44100})",
                            server.ws_url)
    assert started["contextRate"] == 44_100 and started["resampling"] is True
    wait_for(page, "window.sdkTest.stats().nonSilentFrames > 44100", 10)
    t0, s0 = time.monotonic(), stats(page)
    time.sleep(1.0)
    s1 = stats(page)
    # the worklet plays at the context's rate and the stream keeps up with it
    rate = (s1["framesPlayed"] - s0["framesPlayed"]) / (time.monotonic() - t0)
    assert 30_000 < rate < 60_000, rate
    pushed, received = page.evaluate(
        "[window.sdkTest.stats().framesPushed, window.sdkTest.log().frames.reduce((n, f) => n + f[2], 0)]")
    assert abs(pushed / received - 44_100 / RATE) < 0.001  # read together: frames keep arriving


def test_web_sample_plays_and_fires_stingers(chromium, site, server, artifacts):
    """samples/web: the start button (a user gesture) opens the player and the session; the
    stinger buttons come from the session; the danger slider and live config work."""
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sample = site.replace("/tests/sdk/js/page/index.html", "/samples/web/index.html")
        page.goto(f"{sample}?server={server.ws_url}")
        page.click("#start")
        page.wait_for_selector("text=stinger: hit", timeout=15_000)
        wait_for(page, "window.cadenzaDemo.player.stats().nonSilentFrames > 24000", 10)
        page.click("text=stinger: hit")
        page.fill("#danger", "0.9")
        page.dispatch_event("#danger", "input")
        page.check("#mute")
        wait_for(page, "document.getElementById('status').textContent.includes('combat')", 10)
        page.screenshot(path=artifacts / "web-sample.png")
        assert page.evaluate("window.cadenzaDemo.client.seqGaps") == 0
    finally:
        page.evaluate("window.cadenzaDemo && window.cadenzaDemo.client.close()")
        context.close()
    assert errors == []
