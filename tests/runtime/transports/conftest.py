from __future__ import annotations

import pytest

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread


@pytest.fixture(scope="module")
def server():
    """A real server on loopback (shared by a module's tests; sessions are per test)."""
    options = ServeOptions(grpc_port=0, ws_port=0,
                           runtime=RuntimeConfig(idle_timeout_s=30, max_sessions=64))
    with ServerThread(options) as running:
        yield running
