"""Opening hours: when an installation plays, and how it fades in and out.

The ``schedule:`` of an installation file lists the hours it is open::

    schedule:
      fade_in: 30s            # at opening: from silence to full volume
      fade_out: 2 min         # before closing: to silence, then the session pauses
      hours:
        - {days: mon-fri, open: "10:00", close: "18:00"}
        - {days: [sat, sun], open: "11:00", close: "17:00"}
        - {days: thu, open: "19:00", close: "01:00"}    # past midnight: into friday

Outside those hours the session is paused (no audio, no CPU for the engine); at opening
it plays again and fades in. `Schedule.gain(now)` is the level the hours ask for at a
local wall-clock time (0 closed, 1 open, a linear ramp during the fades);
`Schedule.is_open(now)` says whether the session should be playing (true during the
fade-out, so the music fades rather than stops). Pure functions of the time given, so
tests use a fake clock. Times are the machine's local time (naive datetimes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Hours:
    """Open on ``days`` (0 = Monday) from ``open_min`` to ``close_min`` (minutes after
    midnight; a close at or before the opening runs into the next day)."""

    days: frozenset[int]
    open_min: int
    close_min: int

    def spans(self, around: datetime) -> list[tuple[datetime, datetime]]:
        """The opening intervals that can touch ``around`` (yesterday's to tomorrow's)."""
        out = []
        midnight = around.replace(hour=0, minute=0, second=0, microsecond=0)
        for shift in (-1, 0, 1):
            day = midnight + timedelta(days=shift)
            if day.weekday() not in self.days:
                continue
            start = day + timedelta(minutes=self.open_min)
            length = (self.close_min - self.open_min) % (24 * 60) or 24 * 60
            out.append((start, start + timedelta(minutes=length)))
        return out


@dataclass(frozen=True)
class Schedule:
    hours: tuple[Hours, ...]
    fade_in_s: float = 10.0
    fade_out_s: float = 30.0

    def _span(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The (merged) opening interval containing ``now``, if any."""
        spans = sorted(s for h in self.hours for s in h.spans(now))
        merged: list[list[datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            if start <= now < end:
                return start, end
        return None

    def is_open(self, now: datetime) -> bool:
        return self._span(now) is not None

    def gain(self, now: datetime) -> float:
        span = self._span(now)
        if span is None:
            return 0.0
        start, end = span
        since = (now - start).total_seconds()
        left = (end - now).total_seconds()
        level = 1.0
        if self.fade_in_s > 0:
            level = min(level, since / self.fade_in_s)
        if self.fade_out_s > 0:
            level = min(level, left / self.fade_out_s)
        return max(0.0, min(1.0, level))


def parse_days(value: object) -> frozenset[int] | None:
    """``mon-fri``, ``sat``, ``[sat, sun]``, ``daily`` -> weekday numbers (None: bad)."""
    if value in (None, "daily", "every day", "all"):
        return frozenset(range(7))
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    out: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            return None
        first, _, last = item.lower().partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            return None
        a = DAYS.index(first[:3])
        b = DAYS.index(last[:3]) if last else a
        out.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(out) if out else None


def parse_time(value: object) -> int | None:
    """``"10:00"`` -> minutes after midnight (None: bad). YAML 1.1 reads an unquoted
    10:00 as the sexagesimal 600, which is the same number of minutes."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return value
    m = _TIME.match(str(value).strip()) if isinstance(value, str) else None
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


__all__ = ["DAYS", "Hours", "Schedule", "parse_days", "parse_time"]
