"""Property-based fuzzing of every pure input surface (bounded for CI: ~30 s here).

Each target's contract: its own specific error for bad input, never anything else, and
an answer within 2 s. The long campaign is benchmarks/fuzz.py; what it found interesting
is replayed from tests/data/fuzz-corpus/."""

from __future__ import annotations

import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings

from .targets import STRATEGIES, TARGETS, corpus, load

EXAMPLES = {"yaml_loader": 150, "scene_compiler": 300, "expression": 400,
            "websocket_codec": 400, "websocket_audio": 200, "mqtt_payload": 300,
            "osc_datagram": 300}


def _check(name: str, value) -> None:
    target, _ = TARGETS[name]
    started = time.perf_counter()
    outcome = target(value)
    assert outcome == "ok" or outcome.startswith("refused:")
    assert time.perf_counter() - started < 2.0, f"{name} took too long on {value!r:.200}"


def _fuzz(name: str):
    @settings(max_examples=EXAMPLES[name], deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(STRATEGIES[name])
    def run(value):
        _check(name, value)

    return run


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz(name):
    _fuzz(name)()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_regression_corpus_replays_cleanly(name):
    _, kind = TARGETS[name]
    for path in corpus(name):
        _check(name, load(path, kind))


def test_osc_unknown_argument_types_log_nothing_per_datagram(caplog):
    from pythonosc.osc_message_builder import OscMessageBuilder

    from .targets import osc_datagram

    builder = OscMessageBuilder("/gallery/visitors")
    builder.add_arg(1.0)
    data = bytearray(builder.build().dgram)
    data[data.index(b",f") + 1] = ord("c")
    caplog.set_level(logging.DEBUG)
    for _ in range(500):
        assert osc_datagram(bytes(data)) == "refused:Rejected"
    assert not [r for r in caplog.records if "pythonosc" in r.pathname]
