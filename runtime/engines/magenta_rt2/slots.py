"""Persistent batch slots: which session owns which row of the device batch (no JAX).

Slots are handed out lowest-first so occupied rows stay packed at the front and the
batch can run at the smallest compiled bucket that holds them. Every acquisition carries
an owner token: a release (explicit, or a late one from garbage collection) frees the slot
only if the token still owns it, so a stale release can never free a slot that has since
gone to another session. A released slot is reused only after ``collect()`` (called
between steps), never in the middle of one.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading

from ...errors import ResourceExhausted

DEFAULT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class SlotTable:
    def __init__(self, buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> None:
        if not buckets or list(buckets) != sorted(set(buckets)) or buckets[0] < 1:
            raise ValueError(f"buckets must be increasing positive sizes, got {buckets!r}")
        self.buckets = tuple(buckets)
        self._free: list[int] = list(range(self.capacity))
        self._owner: dict[int, int] = {}  # occupied slot -> owner token
        self._released: list[tuple[int, int]] = []
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()  # release() may come from any thread (GC)

    @property
    def capacity(self) -> int:
        return self.buckets[-1]

    @property
    def occupied(self) -> frozenset[int]:
        return frozenset(self._owner)

    @property
    def free(self) -> int:
        return len(self._free)

    def acquire_many(self, count: int) -> list[tuple[int, int]]:
        """``count`` (slot, token) pairs, all or none: raises ResourceExhausted before
        taking any when fewer are free."""
        if count > len(self._free):
            raise ResourceExhausted(f"all {self.capacity} batch slots of this engine are in use")
        taken = []
        for _ in range(count):
            slot, token = heapq.heappop(self._free), next(self._tokens)
            self._owner[slot] = token
            taken.append((slot, token))
        return taken

    def acquire(self) -> tuple[int, int]:
        return self.acquire_many(1)[0]

    def release(self, slot: int, token: int) -> None:
        """Thread-safe; takes effect at the next ``collect()``; a no-op unless ``token``
        still owns ``slot`` then."""
        with self._lock:
            self._released.append((slot, token))

    def collect(self) -> list[int]:
        """Apply releases; returns the slots freed."""
        with self._lock:
            pending, self._released = self._released, []
        freed = []
        for slot, token in pending:
            if self._owner.get(slot) == token:
                del self._owner[slot]
                heapq.heappush(self._free, slot)
                freed.append(slot)
        return freed

    def bucket_for(self, rows: int) -> int:
        """The smallest bucket holding ``rows`` rows."""
        index = bisect.bisect_left(self.buckets, max(1, rows))
        if index == len(self.buckets):
            raise ResourceExhausted(f"{rows} rows exceed the largest bucket {self.capacity}")
        return self.buckets[index]

    def needed(self, current: int | None, joining: int = 0) -> int:
        """The bucket to run now: grow to hold the highest occupied slot (and ``joining``
        more sessions, which take the lowest free slots); shrink only when the rows fit in
        a quarter of the current bucket (no flapping at an edge)."""
        top = max(self._owner, default=-1) + 1
        if joining:
            free = heapq.nsmallest(joining, self._free)
            top = max([top, *(s + 1 for s in free)])
        want = self.bucket_for(min(max(top, 1), self.capacity))
        if current is None or want > current:
            return want
        return want if want * 4 <= current else current
