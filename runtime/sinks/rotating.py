"""A WAV recorder for installations: a new file every ``rotate_s``, the oldest deleted.

Files are named by the wall-clock time they start (``PREFIX-20260102-030405.wav``), so
"what was playing at 3 a.m." is a file name away. A new file also starts when the
stream is discontinuous (a new session after a restart, or chunks this sink had to
drop): a WAV file never hides a gap.

Threads: `on_chunk` runs on the event loop's thread and only enqueues; a writer thread
owns the files. The queue holds at most ``queue_s`` of audio; when the disk stalls past
that, chunks are dropped and counted and the music is never held up. Disk errors (a full
card) are logged and retried with the next file; they never reach the session.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import soundfile

from ..logging_setup import Throttle, event
from ..session.chunk import Chunk, SessionEvent

log = logging.getLogger("cadenza.sinks.wav")

_STOP = object()


@dataclass
class RecorderStats:
    files: int = 0
    frames: int = 0
    dropped_chunks: int = 0
    errors: int = 0
    deleted: int = 0


class RotatingWavSink:
    def __init__(self, directory: str | Path, prefix: str = "cadenza", rotate_s: float = 3600.0,
                 keep: int | None = 48, subtype: str = "PCM_16", queue_s: float = 10.0,
                 block_s: float = 0.05, clock=time.time) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.rotate_s = rotate_s
        self.keep = keep
        self.subtype = subtype
        self.clock = clock
        self.stats = RecorderStats()
        self.current: Path | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max(4, int(queue_s / block_s)))
        self._file: soundfile.SoundFile | None = None
        self._file_frames = 0
        self._expect: tuple[str, int] | None = None  # (session, next stream_time)
        self._errors = Throttle(30.0)
        self._thread = threading.Thread(target=self._run, name="wav-recorder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ the loop's thread
    def on_chunk(self, chunk: Chunk) -> None:
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            self.stats.dropped_chunks += 1  # the writer sees the stream_time jump: new file

    def on_event(self, event: SessionEvent) -> None:
        pass

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, close the file, stop the writer thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # ------------------------------------------------------------ the writer thread
    def _run(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is _STOP:
                self._close_file()
                return
            try:
                self._write(chunk)
            except Exception as exc:  # disk full, card pulled: log, count, try a new file
                self.stats.errors += 1
                self._close_file()
                if self._errors.allow("write") is not None:
                    event(log, logging.ERROR, "recording failed; will retry with a new file",
                          directory=str(self.directory), error=repr(exc),
                          errors=self.stats.errors)

    def _write(self, chunk: Chunk) -> None:
        continuous = self._expect == (chunk.session_id, chunk.stream_time)
        if self._file is None or not continuous or \
                self._file_frames >= self.rotate_s * chunk.sample_rate:
            self._open(chunk)
        self._file.write(chunk.pcm)
        self._file_frames += chunk.frames
        self.stats.frames += chunk.frames
        self._expect = (chunk.session_id, chunk.stream_time + chunk.frames)

    def _open(self, chunk: Chunk) -> None:
        self._close_file()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock()))
        path = self.directory / f"{self.prefix}-{stamp}.wav"
        n = 1
        while path.exists():
            n += 1
            path = self.directory / f"{self.prefix}-{stamp}-{n}.wav"
        self._file = soundfile.SoundFile(path, "w", samplerate=chunk.sample_rate,
                                         channels=chunk.channels, subtype=self.subtype,
                                         format="WAV")
        self._file_frames = 0
        self.current = path
        self.stats.files += 1
        event(log, logging.INFO, "recording to new file", file=str(path),
              session=chunk.session_id)
        self._prune()

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def files(self) -> list[Path]:
        """This recorder's files, oldest first."""
        return sorted(self.directory.glob(f"{self.prefix}-*.wav"),
                      key=lambda p: (p.stat().st_mtime, p.name))

    def _prune(self) -> None:
        if not self.keep:
            return
        files = [p for p in self.files() if p != self.current]
        for old in files[: max(0, len(files) - (self.keep - 1))]:
            try:
                old.unlink()
                self.stats.deleted += 1
            except OSError as exc:
                event(log, logging.WARNING, "cannot delete old recording", file=str(old),
                      error=repr(exc))
