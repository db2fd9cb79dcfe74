from __future__ import annotations

import shutil
import uuid

import pytest

pytest.importorskip("redis")


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on a free loopback port for the whole test session."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (.ci/system-packages)")
    from cadenza.runtime.cluster.redis_server import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture
def store(redis_server):
    """A ClusterStore under a prefix of its own (tests never see each other's keys)."""
    from cadenza.runtime.cluster.store import ClusterStore

    return ClusterStore(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}:", ttl_s=1.0,
                        lease_ms=500)
