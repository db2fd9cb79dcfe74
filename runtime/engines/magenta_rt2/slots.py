"""Persistent batch slots: which session owns which row of the device batch (no JAX).

Slots are handed out lowest-first so occupied rows stay packed at the front and the
batch can run at the smallest compiled bucket that holds them. A released slot is only
reused after ``collect()`` (called between steps), never in the middle of one.
"""

from __future__ import annotations

import bisect
import heapq
import threading

from ...errors import ResourceExhausted

DEFAULT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class SlotTable:
    def __init__(self, buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> None:
        if not buckets or list(buckets) != sorted(set(buckets)) or buckets[0] < 1:
            raise ValueError(f"buckets must be increasing positive sizes, got {buckets!r}")
        self.buckets = tuple(buckets)
        self._free: list[int] = list(range(self.capacity))
        self._occupied: set[int] = set()
        self._released: list[int] = []
        self._lock = threading.Lock()  # release() may come from any thread (GC)

    @property
    def capacity(self) -> int:
        return self.buckets[-1]

    @property
    def occupied(self) -> frozenset[int]:
        return frozenset(self._occupied)

    def acquire(self) -> int:
        if not self._free:
            raise ResourceExhausted(f"all {self.capacity} batch slots of this engine are in use")
        slot = heapq.heappop(self._free)
        self._occupied.add(slot)
        return slot

    def release(self, slot: int) -> None:
        """Thread-safe; takes effect at the next ``collect()``."""
        with self._lock:
            self._released.append(slot)

    def collect(self) -> list[int]:
        """Apply releases; returns the slots freed."""
        with self._lock:
            freed, self._released = self._released, []
        for slot in freed:
            if slot in self._occupied:
                self._occupied.remove(slot)
                heapq.heappush(self._free, slot)
        return freed

    def bucket_for(self, rows: int) -> int:
        """The smallest bucket holding ``rows`` rows."""
        index = bisect.bisect_left(self.buckets, max(1, rows))
        if index == len(self.buckets):
            raise ResourceExhausted(f"{rows} rows exceed the largest bucket {self.capacity}")
        return self.buckets[index]

    def needed(self, current: int | None) -> int:
        """The bucket to run now: grow to hold the highest occupied slot; shrink only
        when the rows fit in a quarter of the current bucket (no flapping at an edge)."""
        top = max(self._occupied, default=0) + 1
        want = self.bucket_for(top)
        if current is None or want > current:
            return want
        return want if want * 4 <= current else current
