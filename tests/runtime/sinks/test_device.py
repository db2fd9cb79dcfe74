"""The device sink as a session listener (no PortAudio needed), and the real PortAudio
path only where this machine has an output device."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cadenza.runtime.session.chunk import Chunk, EventKind, SessionEvent
from cadenza.runtime.sinks.device import DeviceSink, DeviceUnavailable, output_devices


def chunk(seq: int) -> Chunk:
    return Chunk("s", seq, seq * 2400, np.full((2400, 2), 0.1, np.float32), 48000, {"a": 1.0})


def test_listener_feeds_the_buffer_and_pause_is_not_an_underrun():
    sink = DeviceSink(margin_s=0.05)
    for seq in range(3):
        sink.on_chunk(chunk(seq))
    assert sink.buffer.buffered == 7200
    sink.on_event(SessionEvent(EventKind.STATE_CHANGED, "s", 7200,
                               {"state": "paused", "previous": "playing"}))
    for _ in range(20):
        sink.buffer.pull(512)                       # PortAudio's callback, by hand
    assert sink.buffer.stats.underruns == 0
    sink.on_chunk(chunk(3))                          # playing again
    assert sink.buffer.expect_gap is False


def test_unknown_device_is_one_clear_error():
    sink = DeviceSink(device="no such card 1234")
    with pytest.raises(DeviceUnavailable) as err:
        sink.start()
    assert "no such card 1234" in str(err.value) or "sounddevice" in str(err.value) \
        or "PortAudio" in str(err.value)


@pytest.mark.skipif(not output_devices(), reason="no sound card on this machine")
def test_plays_to_the_real_device():
    sink = DeviceSink(margin_s=0.1, blocksize=512)
    sink.start()
    try:
        for seq in range(20):                        # 1 s of audio
            sink.on_chunk(chunk(seq))
        deadline = time.monotonic() + 5
        while sink.buffer.stats.played_frames < 24000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink.buffer.stats.played_frames >= 24000
    finally:
        sink.close()


PORTAUDIO_SCRIPT = """
import json, sys, threading
import numpy as np
from cadenza.runtime.session.chunk import Chunk
from cadenza.runtime.sinks.device import DeviceSink
sink = DeviceSink(device="default", margin_s=0.05, blocksize=512)
pcm = np.full((2400, 2), 0.25, np.float32)
# Queue everything before the stream starts: the null device drains as fast as it can,
# so pushing while it runs would race it (extra underruns on a loaded machine).
for seq in range(10):
    sink.on_chunk(Chunk("s", seq, seq * 2400, pcm, 48000, {"a": 1.0}))
sink.start()
done = threading.Event()
while sink.buffer.buffered and not done.wait(0.01):
    pass
sink.close()
stats = sink.buffer.stats
print(json.dumps({"device": sink.device_name, "played": stats.played_frames,
                  "underruns": stats.underruns}))
"""


def test_portaudio_path_on_an_alsa_null_device(tmp_path):
    """PortAudio for real, without a sound card: ALSA's null PCM as the default device
    (it consumes without real-time pacing, so the buffer drains at once: every frame
    pushed is played, then one underrun, faded)."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", PORTAUDIO_SCRIPT], env=env,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        if "DeviceUnavailable" in result.stderr:
            pytest.skip("PortAudio/ALSA not usable here: " + result.stderr.strip()[-200:])
        raise AssertionError(result.stderr)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["device"] == "default"
    assert report["played"] == 10 * 2400
    assert report["underruns"] == 1
