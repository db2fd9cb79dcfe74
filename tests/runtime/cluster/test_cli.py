"""`cadenza serve --cluster` flags: parsed and checked at the command line, then wired into
a real worker on loopback (real redis-server, the SDK streaming from it)."""

from __future__ import annotations

import argparse
import json
import time

import pytest

from cadenza.runtime.cluster.cli import add_serve_flags, serve_build
from cadenza.runtime.cluster.store import ClusterStore
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import Client


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cadenza serve")
    add_serve_flags(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("value", ["0", "-3", "401", "1.5", "x", ""])
def test_a_descriptor_interval_out_of_range_is_refused_with_the_flag(value, capsys):
    with pytest.raises(SystemExit) as exc:
        parse("--cluster", "redis://127.0.0.1:1/0", "--descriptor-every", value)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--descriptor-every" in err and ("1-400" in err or "whole number" in err), err


def test_the_default_interval_is_twenty_blocks():
    assert parse("--cluster", "redis://x:1/0").descriptor_every == 20


def test_descriptors_are_written_at_the_interval_asked_for(redis_server):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    args = parse("--cluster", redis_server.url, "--descriptor-every", "6")
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0), build=serve_build(args)) as server, \
            Client(f"127.0.0.1:{server.grpc_port}") as client:
        session = client.create_session("minimal")
        for _ in session.stream(seconds=2.5):  # 50 chunks
            pass
        key = ClusterStore(redis_server.url).key("session", session.id)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = redis.Redis.from_url(redis_server.url).hgetall(key)
            if b"prev_meta" in data:
                break
            time.sleep(0.05)
        newest, prev = json.loads(data[b"meta"]), json.loads(data[b"prev_meta"])
        # One snapshot every 6 chunks (one more when a block was in flight at the due one).
        assert 6 <= newest["seq"] - prev["seq"] <= 7, (prev["seq"], newest["seq"])
        assert newest["seq"] >= 50 - 6 - 10 - 1  # behind the stream by the write delay
        session.close()
