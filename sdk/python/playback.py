"""Optional sound-card playback (sounddevice / PortAudio)."""

from __future__ import annotations

import itertools
import queue
from collections.abc import Iterable

from .types import AudioChunk


def play(chunks: Iterable[AudioChunk], device: int | str | None = None,
         prebuffer_chunks: int = 4) -> None:
    """Play chunks to ``device`` until the iterable ends. The first ``prebuffer_chunks``
    are buffered before the sound card starts; if the network falls behind, the callback
    plays silence rather than blocking PortAudio's thread."""
    try:
        import numpy as np
        import sounddevice as sd
    except ImportError as exc:  # pragma: no cover - depends on the user's install
        raise RuntimeError("playing to the sound card needs: pip install sounddevice numpy") from exc
    buffered: queue.Queue = queue.Queue(maxsize=64)
    pending = np.zeros((0, 2), dtype=np.float32)

    def callback(outdata, frames, time, status):  # PortAudio's thread: never blocks
        nonlocal pending
        while len(pending) < frames and not buffered.empty():
            pending = np.concatenate([pending, buffered.get_nowait()])
        take = min(frames, len(pending))
        outdata[:take] = pending[:take]
        outdata[take:] = 0
        pending = pending[take:]

    it = iter(chunks)
    first = list(itertools.islice(it, prebuffer_chunks))
    if not first:
        return
    for chunk in first:
        buffered.put(chunk.to_numpy())
    with sd.OutputStream(samplerate=first[0].sample_rate, channels=first[0].channels,
                         dtype="float32", device=device, callback=callback):
        for chunk in it:
            buffered.put(chunk.to_numpy())  # blocks when 64 chunks are waiting
        while not buffered.empty() or len(pending):
            sd.sleep(50)
