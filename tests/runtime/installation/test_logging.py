"""Log formats: JSON lines and text, both carrying the structured fields."""

from __future__ import annotations

import io
import json
import logging

from cadenza.runtime.logging_setup import Throttle, configure, event


def emit(fmt: str) -> str:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure(fmt, "info", stream)
        log = logging.getLogger("cadenza.test")
        event(log, logging.WARNING, "reading dropped", source="osc:9000", value=float("nan"),
              reason="input 'visitors' must be finite", blend={"a": 0.5})
        log.info("plain line")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    return stream.getvalue()


def test_json_lines():
    first, second = (json.loads(line) for line in emit("json").splitlines())
    assert first["level"] == "warning" and first["logger"] == "cadenza.test"
    assert first["msg"] == "reading dropped" and first["source"] == "osc:9000"
    assert first["value"] == "nan" and first["blend"] == {"a": 0.5}
    assert first["ts"].endswith("Z")
    assert second["msg"] == "plain line"


def test_text_appends_fields():
    first = emit("text").splitlines()[0]
    assert "WARNING cadenza.test: reading dropped source=osc:9000 value=nan " in first
    assert "reason=\"input 'visitors' must be finite\"" in first


def test_throttle_counts_what_it_holds_back():
    now = [0.0]
    throttle = Throttle(10, clock=lambda: now[0])
    assert throttle.allow("k") == 0
    assert [throttle.allow("k") for _ in range(3)] == [None] * 3
    assert throttle.allow("other") == 0
    now[0] = 10
    assert throttle.allow("k") == 3
