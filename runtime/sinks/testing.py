"""A sound card for tests: `TestDeviceSink` is a `DeviceSink` whose "PortAudio" is a
thread pulling blocks at the real-time rate, which a test can unplug.

Everything above the stream is the production code: the playout buffer, the gain, the
loop cover, `check` and `reopen`. ``devices`` maps names to `TestCard`s; a card that is
``unplugged`` refuses to open, and unplugging an open card stops its stream the way
PortAudio does (the callback stops coming, ``active`` turns False).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .device import DeviceSink, DeviceUnavailable


@dataclass
class TestCard:
    __test__ = False  # not a pytest test class
    name: str
    unplugged: bool = False
    played: list[np.ndarray] = field(default_factory=list)  # every block it was given
    streams: int = 0                                        # times it was opened
    frozen: bool = False   # the open stream stays "active" but stops asking for audio

    def audio(self) -> np.ndarray:
        return np.concatenate(self.played) if self.played else np.zeros((0, 2), np.float32)


class _Status:
    output_underflow = False


class TestStream:
    """Calls ``callback(out, frames, None, status)`` every ``frames`` at real-time pace."""

    __test__ = False

    def __init__(self, card: TestCard, callback, rate: int, frames: int = 1024) -> None:
        self.card, self.callback, self.rate, self.frames = card, callback, rate, frames
        self.latency = frames / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"test-card-{card.name}",
                                        daemon=True)

    @property
    def active(self) -> bool:
        return self._thread.is_alive() and not self.card.unplugged

    def start(self) -> None:
        if self.card.unplugged:
            raise DeviceUnavailable(f"{self.card.name} is unplugged")
        self.card.frozen = False  # reopening un-hangs the driver
        self.card.streams += 1
        self._thread.start()

    def _run(self) -> None:
        out = np.zeros((self.frames, 2), np.float32)
        period = self.frames / self.rate
        due = time.monotonic()
        while not self._stop.is_set() and not self.card.unplugged:
            if self.card.frozen:  # a hung driver: no callbacks until the stream is reopened
                self._stop.wait(period)
                continue
            self.callback(out, self.frames, None, _Status())
            self.card.played.append(out.copy())
            due += period
            self._stop.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def close(self) -> None:
        self.stop()


class TestDeviceSink(DeviceSink):
    __test__ = False
    def __init__(self, cards: dict[str, TestCard], device: str, **kwargs) -> None:
        super().__init__(device, **kwargs)
        self.cards = cards

    def _query(self, device) -> dict:
        card = self.cards.get(device)
        if card is None or card.unplugged:
            raise DeviceUnavailable(f"no output device {device!r}")
        return {"name": card.name, "index": device}

    def _new_stream(self, info: dict) -> TestStream:
        return TestStream(self.cards[info["index"]], self._callback, self.sample_rate)


__all__ = ["TestCard", "TestDeviceSink", "TestStream"]
