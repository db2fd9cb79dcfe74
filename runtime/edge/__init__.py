"""The edge kit: what every transport shares, so each transport is a thin codec.

* `commands` — the `Command` union and its one dispatch, `Runtime.apply(command)`;
* `views` — `SessionView`, `ClockView`, `EventView`, rendered by each codec;
* `report` — the one error reporter (metrics + short code + sanitized public message);
* `status` — the grpc-free status table, driven by each error class's own ``code``.

gRPC (`transports.grpc`), the WebSocket bridge (`transports.websocket`), the console API
(`console.api`) and OSC control (`sources.control`) decode their wire into commands and
render views and reports; none of them calls the runtime's control methods directly.
Nothing here imports grpc (tests/test_layers.py).
"""

from . import commands, report, status
from .commands import Command

__all__ = ["Command", "commands", "report", "status"]
