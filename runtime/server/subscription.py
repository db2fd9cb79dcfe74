"""A client's view of a session: a bounded queue of chunks and events.

Policy for slow clients: a subscription holds at most ``max_chunks`` undelivered audio
chunks (the configured backlog, seconds of audio). When a chunk arrives and the queue is
full, the subscription is closed with RESOURCE_EXHAUSTED ("too slow") instead of blocking
or growing: the session, and every other client of it, never wait for a slow one.
Events are small and never dropped while the subscription lives. Chunks replayed from
the session's history on resume (`replay`) never count against that limit: they are
already late by design, and only live chunks arriving while the client still drains them
show that it is too slow.

Called from the event loop's thread only (the generation loop delivers there).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import CadenzaError, ResourceExhausted
from ..session.chunk import Chunk, EventKind, SessionEvent


def beat_events(chunk: Chunk, which: str) -> list[SessionEvent]:
    """BEAT (every beat) or BAR (every downbeat) events falling inside ``chunk``, each at
    the exact stream sample of the beat."""
    clock = chunk.clock
    assert clock is not None
    step = 1.0 if which == "beats" else float(clock.beats_per_bar)
    kind = EventKind.BEAT if which == "beats" else EventKind.BAR
    out = []
    for sample, beat in clock.boundaries(chunk.stream_time, chunk.stream_time + chunk.frames, step):
        whole = round(beat)
        out.append(SessionEvent(kind, chunk.session_id, sample, {
            "beat": float(whole), "bar": whole // clock.beats_per_bar,
            "beat_in_bar": whole % clock.beats_per_bar,
            "bpm": round(clock.bpm, 4), "beats_per_bar": clock.beats_per_bar,
            "beat_unit": clock.beat_unit}))
    return out


@dataclass
class Closed(Exception):
    """The subscription ended: ``reason`` is "ended", "dropped" or "detached"."""

    reason: str
    error: CadenzaError | None = None


class Subscription:
    def __init__(self, session_id: str, max_chunks: int, beats: str | None = None) -> None:
        self.session_id = session_id
        self.max_chunks = max_chunks
        self.beats = beats  # None, "beats" or "bars": beat-grid events wanted by the client
        self._items: collections.deque = collections.deque()
        self._urgent: collections.deque = collections.deque()  # control replies, in order
        self._chunks = 0
        self._replayed = 0  # replayed chunks still queued (always the oldest chunks queued)
        self._ready = asyncio.Event()
        self.closed: Closed | None = None
        self.delivered = 0
        self.dropped_chunks = 0

    # --------------------------------------------------------------- Listener (producer)
    def on_chunk(self, chunk: Chunk) -> None:
        if self.closed:
            return
        if self._chunks >= self.max_chunks:
            self.dropped_chunks += 1
            self.close("dropped", ResourceExhausted(
                f"stream too slow: more than {self.max_chunks} chunks waiting; reconnect "
                f"with resume_from_seq to continue"))
            return
        self._items.append(chunk)
        self._chunks += 1
        if self.beats and chunk.clock is not None:
            self._items.extend(beat_events(chunk, self.beats))
        self._ready.set()

    def replay(self, chunks: Iterable[Chunk]) -> None:
        """Queue chunks from the session's history (resume), outside the backlog limit."""
        if self.closed:
            return
        for chunk in chunks:
            self._items.append(chunk)
            self._replayed += 1
            if self.beats and chunk.clock is not None:
                self._items.extend(beat_events(chunk, self.beats))
        self._ready.set()

    def on_event(self, event: SessionEvent) -> None:
        if self.closed:
            return
        self._items.append(event)
        self._ready.set()
        if event.kind == EventKind.ENDED:
            self.closed = Closed("ended")

    def push_first(self, item: object) -> None:
        """Queue a control reply ahead of audio (control never waits behind audio);
        replies keep their own order."""
        if self.closed and self.closed.reason != "ended":
            return
        self._urgent.append(item)
        self._ready.set()

    def close(self, reason: str, error: CadenzaError | None = None) -> None:
        if self.closed is None:
            self.closed = Closed(reason, error)
        if reason != "ended":
            self._items.clear()
            self._urgent.clear()
            self._chunks = 0
            self._replayed = 0
        self._ready.set()

    # -------------------------------------------------------------------- consumer
    async def next(self) -> object:
        """The next chunk or event; raises Closed once the subscription is over (after
        the final SESSION_ENDED event has been handed out)."""
        while not self._items and not self._urgent:
            if self.closed:
                raise self.closed
            self._ready.clear()
            await self._ready.wait()
        if self._urgent:
            return self._urgent.popleft()
        item = self._items.popleft()
        if isinstance(item, Chunk):
            if self._replayed:
                self._replayed -= 1
            else:
                self._chunks -= 1
            self.delivered += 1
        return item

    @property
    def backlog(self) -> int:
        """Live chunks waiting (replayed history excluded)."""
        return self._chunks
