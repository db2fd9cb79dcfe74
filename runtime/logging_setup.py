"""Logging for unattended running: human lines or JSON lines, with structured fields.

A log line at 3 a.m. has to answer "what broke, where, since when, what did Cadenza do
about it" without a debugger. So the installation code logs through `event()`, which
attaches named fields (``source=osc:9000``, ``input=visitors``, ``reason=...``) to the
record; the text format appends them as ``key=value``, the JSON-lines format (one object
per line, for journald/Loki/Elastic) emits them as keys. Plain ``log.info(...)`` calls
from the rest of the runtime work in both formats unchanged.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Mapping
from typing import IO

FIELDS_ATTR = "cadenza_fields"
FORMATS = ("text", "json")


def event(logger: logging.Logger, level: int, message: str, **fields: object) -> None:
    """Log ``message`` with structured ``fields`` (kept separate from the message text)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={FIELDS_ATTR: fields}, stacklevel=2)


def _plain(value: object) -> object:
    """A JSON-safe version of a field value (NaN and odd objects become text)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ts (ISO 8601, UTC), level, logger, msg, fields..., and
    ``exc`` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in getattr(record, FIELDS_ATTR, {}).items():
            out.setdefault(key, _plain(value))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-02 03:04:05,678 WARNING cadenza.sources: message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS_ATTR, None)
        if fields:
            extra = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
            head, sep, tail = line.partition("\n")  # keep a traceback below the fields
            line = f"{head} {extra}{sep}{tail}"
        return line


def _text(value: object) -> str:
    """``key=value`` form: plain words as they are, structures as compact JSON, quoted only
    when the text has spaces."""
    plain = _plain(value)
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False,
                                                           separators=(",", ":"))
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def configure(format: str = "text", level: int | str = logging.INFO,
              stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one writing ``format`` ("text" or "json")
    to ``stream`` (default stderr, which systemd sends to the journal)."""
    if format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


class Throttle:
    """Lets one log line through per ``interval`` seconds per key and counts the rest, so
    a sensor spewing garbage at 100 Hz gives one line every 10 s, not a full disk."""

    def __init__(self, interval: float = 10.0, clock=time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """None: stay quiet. Otherwise the number of lines suppressed since the last one."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)
