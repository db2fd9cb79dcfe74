"""The one error reporter: counted, ASCII-safe, bounded, internals hidden."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from cadenza.runtime import errors
from cadenza.runtime.edge.report import MAX_FIELD, MAX_MESSAGE, describe, report, sanitize, trailer_field


class Counter:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def error(self, transport: str, code: str) -> None:
        self.seen.append((transport, code))


def test_sanitize_is_ascii_printable_and_bounded():
    assert sanitize("plain message") == "plain message"
    assert sanitize("café jazz") == "caf\\xe9 jazz"
    assert sanitize("a\x00b\nc\ufffe") == "a\\x00b\\x0ac\\ufffe"
    assert sanitize("𝄞") == "\\U0001d11e"
    long = sanitize("x" * 16_384)
    assert len(long) == MAX_MESSAGE and long.endswith("...")
    assert all(" " <= ch <= "~" for ch in sanitize("".join(map(chr, range(0, 0x3000, 7)))))
    # escaping never makes it longer than the limit either
    assert len(sanitize("é" * 1000)) == MAX_MESSAGE


def test_a_16kb_session_id_is_not_echoed():
    huge = "k" * 16_384
    result = describe(errors.NotFound(f"no session {huge!r}"))
    assert result.code == "not_found" and result.grpc == "NOT_FOUND"
    assert len(result.message) <= MAX_MESSAGE and result.message.startswith("no session 'kkk")
    assert result.message.endswith("...")


def test_trailer_is_percent_encoded_ascii_and_round_trips():
    for field in ("dangér", "prompts[café jazz]", "plain", "config.bpm", "a\nb"):
        value = trailer_field(field)
        assert value.isascii() and value.isprintable() and " " not in value
        assert unquote(value) == field
    assert trailer_field("prompts[x]") == "prompts[x]"  # readable when already safe
    long = unquote(trailer_field("é" * 500))
    assert len(long) == MAX_FIELD and long.endswith("...")


def test_report_counts_and_hides_internals(caplog):
    counter = Counter()
    with caplog.at_level(logging.ERROR, logger="cadenza.edge"):
        bug = report(RuntimeError("secret path /srv/x"), counter, "websocket")
    assert bug.code == "internal" and bug.message == "internal error" and bug.field == ""
    assert "secret" in caplog.text  # logged in full for the operator ...
    assert "secret" not in bug.message  # ... never shown to the client
    mistake = report(errors.InvalidArgument("weight of 'café' must be >= 0",
                                            field="prompts[café]"), counter, "grpc")
    assert mistake.message == "weight of 'caf\\xe9' must be >= 0"
    assert mistake.field == "prompts[caf\\xe9]" and unquote(mistake.trailer) == "prompts[café]"
    assert counter.seen == [("websocket", "internal"), ("grpc", "invalid_argument")]


def test_scene_errors_keep_their_issues():
    issue = errors.SceneIssue("<inline>", 4, "mix[0].weight", "unknown input 'dangr'")
    result = describe(errors.SceneError([issue]))
    assert result.issues == (issue,) and result.field == "mix[0].weight"
    assert result.close_reason == result.message[:120] or len(result.close_reason) <= 120


def test_retry_after_is_carried_for_client_errors_only():
    busy = describe(errors.ResourceExhausted("worker full", retry_after_s=2.5))
    assert busy.code == "resource_exhausted" and busy.retry_after_s == 2.5
    assert describe(errors.ResourceExhausted("slow down")).retry_after_s is None
    assert describe(errors.ResourceExhausted("x", retry_after_s=float("nan"))).retry_after_s is None
