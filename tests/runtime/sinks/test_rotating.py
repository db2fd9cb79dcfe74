"""The installation recorder: rotation, retention, new files on a gap or a new session."""

from __future__ import annotations

import numpy as np
import soundfile

from cadenza.runtime.session.chunk import Chunk
from cadenza.runtime.sinks.rotating import RotatingWavSink

RATE = 48000
BLOCK = 2400


def chunks(session: str, n: int, seq0: int = 0):
    rng = np.random.default_rng(seq0)
    for seq in range(seq0, seq0 + n):
        pcm = (rng.uniform(-0.5, 0.5, (BLOCK, 2))).astype(np.float32)
        yield Chunk(session, seq, seq * BLOCK, pcm, RATE, {"a": 1.0})


def test_rotates_and_keeps_only_the_newest_files(tmp_path):
    clock = iter(range(1_700_000_000, 1_800_000_000, 7))
    sink = RotatingWavSink(tmp_path, prefix="room", rotate_s=0.5, keep=3, subtype="FLOAT",
                           clock=lambda: next(clock))
    sent = list(chunks("s1", 50))                   # 2.5 s: five files of 0.5 s
    for c in sent:
        sink.on_chunk(c)
    sink.close()
    files = sink.files()
    assert sink.stats.files == 5 and sink.stats.deleted == 2 and len(files) == 3
    audio = np.concatenate([soundfile.read(f, dtype="float32")[0] for f in files])
    expected = np.concatenate([c.pcm for c in sent[20:]])   # the last 1.5 s, bit-exact
    assert np.array_equal(audio, expected)
    assert all(f.name.startswith("room-") and f.suffix == ".wav" for f in files)


def test_a_new_session_or_a_gap_starts_a_new_file(tmp_path):
    sink = RotatingWavSink(tmp_path, rotate_s=3600, keep=None)
    for c in chunks("s1", 4):
        sink.on_chunk(c)
    for c in chunks("s2", 4):                       # restarted session: stream_time from 0
        sink.on_chunk(c)
    for c in chunks("s2", 4, seq0=10):              # chunks 4..9 never arrived
        sink.on_chunk(c)
    sink.close()
    frames = sorted(soundfile.info(f).frames for f in sink.files())
    assert frames == [4 * BLOCK] * 3


def test_a_failing_disk_is_logged_and_never_reaches_the_session(tmp_path, caplog):
    sink = RotatingWavSink(tmp_path / "rec", rotate_s=3600)
    (tmp_path / "rec").rmdir()
    (tmp_path / "rec").write_text("not a folder")   # every open fails, even for root
    for c in chunks("s1", 3):
        sink.on_chunk(c)                             # must not raise
    sink.close()
    assert sink.stats.errors == 3 and sink.stats.frames == 0
    assert any("recording failed" in r.getMessage() for r in caplog.records)
