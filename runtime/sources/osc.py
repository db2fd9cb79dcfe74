"""The OSC source: a UDP port on the event loop, decoded by `OscCodec`, routed by the router.

asyncio's datagram endpoint delivers each datagram on the event loop's thread, so
readings reach sessions without any hand-over. UDP is lossy by nature and sensors resend,
so nothing is queued: a datagram is decoded and applied when it arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from ..errors import ServerError
from ..logging_setup import event
from .binding import Binding
from .osc_codec import OscCodec
from .router import InputRouter

log = logging.getLogger("cadenza.sources.osc")


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, source: OscSource) -> None:
        self.source = source

    def datagram_received(self, data: bytes, addr) -> None:
        self.source.received(data)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP errors; keep listening
        log.debug("OSC socket error: %r", exc)


class OscSource:
    """Listens on ``host:port`` for the OSC bindings; start()/stop() on the event loop."""

    def __init__(self, router: InputRouter, bindings: Iterable[Binding], port: int,
                 host: str = "127.0.0.1", name: str | None = None) -> None:
        self.router = router
        self.host = host
        self.requested_port = port
        self.port = port
        self.name = name or f"osc:{port}"
        self.codec = OscCodec(bindings)
        self.datagrams = 0
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.host, self.requested_port))
        except OSError as exc:  # port taken, address not on this machine ...
            raise ServerError(f"cannot listen for OSC on {self.host}:{self.requested_port}: "
                              f"{exc.strerror or exc}") from None
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        event(log, logging.INFO, "OSC listening", source=self.name, host=self.host,
              port=self.port, addresses=sorted(self.codec.bindings))

    def received(self, data: bytes) -> None:
        self.datagrams += 1
        for item in self.codec.decode(data):
            self.router.handle(self.name, item)

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
