"""samples/python/game_loop.py against a real server: it records the session to a WAV
while its game loop changes state, at most --max-updates times a second."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import soundfile

from cadenza.runtime import analysis
from cadenza.runtime.testing import ServerThread

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "python" / "game_loop.py"


def test_game_loop_records_music_that_follows_the_game(tmp_path):
    out = tmp_path / "run.wav"
    with ServerThread() as server:
        result = subprocess.run([sys.executable, str(SAMPLE), "--address", server.grpc_address,
                                 "--seconds", "4", "--max-updates", "10", "--out", str(out)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    audio, rate = soundfile.read(out)
    assert rate == 48000 and audio.shape[1] == 2 and len(audio) >= 4 * rate
    assert analysis.rms_db(audio) > -40
    ticks, updates = map(int, re.search(r"(\d+) ticks, (\d+) state updates", result.stdout).groups())
    assert ticks >= 100 and 5 <= updates <= 4 * 10 + 1  # a 30 Hz loop, throttled to 10/s
    blends = re.findall(r"^\s+[\d.]+s\s+(.+)$", result.stdout, re.M)
    assert any("forest" in b for b in blends)  # the player walked out of town
