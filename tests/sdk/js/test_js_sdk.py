"""The JavaScript SDK (sdk/js) in Node: its own `node --test` suites, run against a real
`cadenza serve` on loopback (the conformance scenario, errors, reconnect-and-resume through
a proxy whose connections are cut), and its TypeScript declarations checked by tsc."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from .conftest import SDK


def run_node_tests(node: str, files: list[str], env: dict[str, str] | None = None,
                   timeout: float = 120) -> tuple[int, int, int, str]:
    """Runs `node --test` on files in sdk/js/test; returns (passed, failed, skipped, output)."""
    result = subprocess.run([node, "--test", *[f"test/{f}" for f in files]], cwd=SDK,
                            env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=timeout)
    output = result.stdout + result.stderr
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped) (\d+)$", output, re.M)}
    assert result.returncode == (1 if counts.get("fail") else 0), output
    return counts.get("pass", 0), counts.get("fail", 0), counts.get("skipped", 0), output


def test_codec_and_resampler_unit_tests(node):
    """Message shapes, audio frame decoding (with and without the clock block), and the
    polyphase resampler: 1 kHz kept within 0.1 dB, aliases and images > 70 dB down,
    chunked output identical to one-shot."""
    passed, failed, skipped, output = run_node_tests(node, ["protocol.test.js", "resampler.test.js"])
    assert (passed, failed, skipped) == (7, 0, 0), output


def test_conformance_scenario_in_node(node, server):
    """create -> state -> prompts -> live config -> trigger -> beat events -> pause/play ->
    stop, with the errors a game can cause (bad input value, bad config, unknown stinger,
    unknown scene, no server)."""
    passed, failed, skipped, output = run_node_tests(node, ["conformance.test.js"],
                                                     {"CADENZA_WS_URL": server.ws_url})
    assert (passed, failed, skipped) == (3, 0, 0), output


def test_reconnects_and_resumes_in_node(node, cutter):
    passed, failed, skipped, output = run_node_tests(
        node, ["reconnect.test.js"],
        {"CADENZA_PROXY_WS_URL": cutter.ws_url, "CADENZA_CUT_URL": cutter.cut_url})
    assert (passed, failed, skipped) == (1, 0, 0), output
    assert cutter.proxy.cuts == 1


def test_token_by_header_and_by_query_in_node(node):
    from cadenza.runtime.serve import ServeOptions
    from cadenza.runtime.testing import ServerThread

    token = "s3 cr/et"  # needs percent-encoding in the query
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, token=token)) as secured:
        passed, failed, skipped, output = run_node_tests(
            node, ["token.test.js"], {"CADENZA_TOKEN_WS_URL": secured.ws_url, "CADENZA_TOKEN": token})
    assert (passed, failed, skipped) == (3, 0, 0), output


def test_type_declarations_compile(node):
    """index.d.ts and a usage file that exercises it pass `tsc --strict --noEmit`."""
    tsc = SDK / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.is_file():
        pytest.skip("typescript is a devDependency of sdk/js (npm ci)")
    result = subprocess.run([node, str(tsc), "-p", "tsconfig.json"], cwd=SDK, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
