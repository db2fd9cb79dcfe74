"""What an engine call costs, measured per bucket, for the scheduler's budget.

An accelerator's call costs about the same for any rows up to its compiled batch size, so
engines that batch (`engines.base.Batched`) are budgeted per call at their bucket. Other
engines (the procedural band loops over rows) are budgeted per row, measured within the
same power-of-two bucket. Either way the scheduler's estimate is a recent average of real
calls (it follows a slowdown within a few calls), while admission reads `steady`, the
lower quartile of the last `WINDOW` calls: what the engine costs when the machine lets it
run. A burst of contention (twenty clients starting at once on a small machine) must not
make the server refuse sessions it holds easily; a lasting slowdown still moves it.
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field

ALPHA = 0.2  # weight of the newest call in the moving average
WINDOW = 256  # calls behind the steady (lower-quartile) cost: ~13 s of 50-ms blocks
SEGMENT = 8  # calls per sample of the process's CPU per row (admission of a per-row engine)


def pow2_bucket(rows: int) -> int:
    return 1 << max(0, rows - 1).bit_length()


@dataclass
class CostModel:
    per_call: bool  # True: a call costs the same whatever its rows (a bucketed engine)
    seconds: dict[int, float] = field(default_factory=dict)  # bucket -> s per call (or per row)
    row_s: float | None = None  # a per-row engine: seconds per row over recent calls
    recent: dict[int, collections.deque[float]] = field(default_factory=dict)
    # (process CPU seconds, rows so far) after recent calls: what a row costs the whole
    # process (engine, transports, encoding), for admission of a per-row engine.
    process: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=WINDOW))
    rows_total: int = 0

    def observe(self, bucket: int, rows: int, seconds: float) -> None:
        value = seconds if self.per_call else seconds / max(1, rows)
        key = bucket if self.per_call else 0  # a per-row engine: one window for all rows
        self.recent.setdefault(key, collections.deque(maxlen=WINDOW)).append(value)
        old = self.seconds.get(bucket)
        self.seconds[bucket] = value if old is None else (1 - ALPHA) * old + ALPHA * value
        if not self.per_call:
            # One estimate for every batch size: rows cost alike, and a bucket the
            # scheduler stopped using (after one slow call) must not keep its old cost.
            self.row_s = value if self.row_s is None else (1 - ALPHA) * self.row_s + ALPHA * value

    def estimate(self, bucket: int, rows: int) -> float | None:
        """Seconds a call of ``rows`` rows at ``bucket`` should take; None before any call
        was measured. An unmeasured bucket is scaled from the nearest measured one."""
        if not self.seconds:
            return None
        if not self.per_call:
            return (self.row_s or 0.0) * rows
        value = self.seconds.get(bucket)
        if value is None:
            near = min(self.seconds, key=lambda b: abs(b.bit_length() - bucket.bit_length()))
            value = self.seconds[near] * max(1.0, bucket / near)
        return value

    def observe_process(self, cpu_seconds: float, rows: int) -> None:
        """Record the process's CPU time (``time.process_time``) after a call of ``rows``."""
        self.rows_total += rows
        self.process.append((cpu_seconds, self.rows_total))

    def process_row_s(self) -> float | None:
        """Process CPU seconds per generated row: the median over the window's runs of
        `SEGMENT` calls (the least of two runs while only two were measured); None below
        two runs. A median, not the window's total, so that the CPU of a burst of sessions
        being created (scenes compiled, streams opened, while few rows are generated) does
        not read as the cost of a row until the window forgets it; a lasting change of
        cost moves it once it holds for half the window."""
        points = list(self.process)
        rates = [(b[0] - a[0]) / (b[1] - a[1])
                 for a, b in zip(points[::SEGMENT], points[SEGMENT::SEGMENT], strict=False)
                 if b[1] > a[1]]
        if len(rates) < 2:
            return None
        return min(rates) if len(rates) == 2 else statistics.median(rates)

    def steady(self, bucket: int = 0) -> float | None:
        """The lower-quartile cost over the last `WINDOW` calls: per call at ``bucket`` (a
        bucketed engine), per row otherwise (``bucket`` ignored); None when none was
        measured."""
        window = self.recent.get(bucket if self.per_call else 0)
        if not window:
            return None
        return window[0] if len(window) == 1 else statistics.quantiles(window, n=4)[0]

    def capacity(self, headroom: float, block_s: float, max_batch: int,
                 cpu: float) -> int | None:
        """Sessions an engine can hold in real time using ``headroom`` of each block's
        ``block_s`` (the rest is spare for the event loop, transports, noisy neighbours);
        None before any call was measured. A bucketed engine: the largest bucket whose call
        fits (an unmeasured bucket costs at most in proportion to its size); a per-row
        engine: the rows whose cost fits, and whose whole cost to this process (its CPU
        time per row generated, transports included) fits in ``cpu`` cores. Engine costs
        are the steady ones: a burst of contention does not shrink it."""
        if not self.seconds:
            return None
        budget = headroom * block_s
        if not self.per_call:
            fits = int(budget / max(self.steady() or 0.0, 1e-9))
            process = self.process_row_s()
            if process is not None:  # a session needs one row per block_s of audio
                fits = min(fits, int(cpu * block_s / max(process, 1e-9)))
            return min(max_batch, fits)
        best = 0
        size = 1
        while size <= max_batch:
            measured = self.steady(size)
            if measured is None:
                below = [b for b in self.seconds if b < size]
                measured = self.steady(max(below)) * size / max(below) if below else None
            if measured is not None and measured <= budget:
                best = size
            size *= 2
        return best
