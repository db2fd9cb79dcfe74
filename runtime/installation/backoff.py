"""Restart back-off: pure arithmetic, no clock (the supervisor passes times in)."""

from __future__ import annotations

from .config import RestartPolicy


class Backoff:
    """Delays between restarts of a failing session: ``min_s``, doubling up to ``max_s``.
    A session that stayed up ``healthy_s`` earns a fresh start (the next delay is
    ``min_s`` again), so a fault once a week never waits the maximum."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.failures = 0

    def next_delay(self, uptime_s: float) -> float:
        """The delay before restarting a session that ran ``uptime_s`` before failing."""
        if uptime_s >= self.policy.healthy_s:
            self.failures = 0
        delay = min(self.policy.max_s, self.policy.min_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return delay
