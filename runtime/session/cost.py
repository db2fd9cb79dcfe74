"""What an engine call costs, measured per bucket, for the scheduler's budget.

An accelerator's call costs about the same for any rows up to its compiled batch size, so
engines that batch (`engines.base.Batched`) are budgeted per call at their bucket. Other
engines (the procedural band loops over rows) are budgeted per row, measured within the
same power-of-two bucket. Either way the estimate is a recent average of real calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALPHA = 0.2  # weight of the newest call in the moving average


def pow2_bucket(rows: int) -> int:
    return 1 << max(0, rows - 1).bit_length()


@dataclass
class CostModel:
    per_call: bool  # True: a call costs the same whatever its rows (a bucketed engine)
    seconds: dict[int, float] = field(default_factory=dict)  # bucket -> s per call (or per row)
    row_s: float | None = None  # a per-row engine: seconds per row over recent calls

    def observe(self, bucket: int, rows: int, seconds: float) -> None:
        value = seconds if self.per_call else seconds / max(1, rows)
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
