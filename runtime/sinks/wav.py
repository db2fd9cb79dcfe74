"""A WAV file writer that listens to a session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from ..session.chunk import Chunk, SessionEvent


class WavSink:
    """Writes every chunk it receives, in order, to one WAV file.

    ``subtype`` is a libsndfile subtype: PCM_16 (default), PCM_24 or FLOAT (bit-exact
    copies of the float stream). Chunks must arrive gapless (the loop guarantees it);
    a gap raises, because a file with a hole would silently lie about the stream.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int = 2,
                 subtype: str = "PCM_16") -> None:
        self.path = Path(path)
        self.subtype = subtype
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = soundfile.SoundFile(self.path, "w", samplerate=sample_rate,
                                         channels=channels, subtype=subtype, format="WAV")
        self.frames = 0
        self._next_time: int | None = None

    def on_chunk(self, chunk: Chunk) -> None:
        if self._next_time is not None and chunk.stream_time != self._next_time:
            raise ValueError(f"gap in stream: expected sample {self._next_time}, "
                             f"got {chunk.stream_time}")
        if self.subtype == "PCM_16":
            # Our own float -> int16 rule (the one the wire uses), so a WAV of a stream and
            # a WAV of its replay hold the same integers.
            self._file.write(np.frombuffer(chunk.encoded("s16le"), dtype="<i2")
                             .reshape(-1, chunk.channels))
        else:
            self._file.write(chunk.pcm)
        self.frames += chunk.frames
        self._next_time = chunk.stream_time + chunk.frames

    def on_event(self, event: SessionEvent) -> None:
        pass

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
