"""OSC datagrams -> readings, commands and rejections. Pure (sans-I/O).

`OscCodec.decode(datagram)` never raises: every datagram becomes a list of events, in
the order of its messages (a bundle may hold several):

- `Reading`  - a value for a bound address (``/gallery/visitors 12``), not yet validated;
- `Command`  - a control address under ``/cadenza/`` (see `sources.control`);
- `Rejected` - anything else: an unparsable datagram, an unbound address, a message
  without the argument its binding reads.

python-osc does the byte-level OSC parsing (``OscPacket`` is itself pure); bundle time
tags are ignored, every message applies on arrival (sensors want "now"). python-osc logs a
warning on the root logger for every argument type it does not know (``c``, ``h`` ...);
those are caught while parsing and turned into a `Rejected` for the datagram, so they go
through the router's throttled log (one line per address per 10 s), never one per packet.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator

from pythonosc.osc_packet import OscPacket, ParseError

from .binding import Binding, Command, Reading, Rejected
from .payload import PayloadError, osc_value, preview

CONTROL_PREFIX = "/cadenza/"
MAX_DATAGRAM_BYTES = 8192

Event = Reading | Command | Rejected


class OscCodec:
    """Decodes datagrams for one OSC port's bindings (address -> binding)."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self.bindings: dict[str, Binding] = {}
        for binding in bindings:
            if binding.address in self.bindings:
                raise ValueError(f"OSC address {binding.address} is bound twice")
            self.bindings[binding.address] = binding

    def decode(self, datagram: bytes) -> list[Event]:
        if len(datagram) > MAX_DATAGRAM_BYTES:
            return [Rejected(f"datagram of {len(datagram)} bytes is over the "
                             f"{MAX_DATAGRAM_BYTES}-byte limit")]
        with _captured_warnings() as warnings:
            try:
                messages = OscPacket(datagram).messages
            except ParseError:
                return [Rejected(f"not an OSC packet: {preview(datagram)}")]
            except Exception:  # python-osc raises a few odd types on hostile input
                return [Rejected(f"not an OSC packet: {preview(datagram)}")]
        if warnings:
            address = messages[0].message.address if messages else None
            return [Rejected(f"unsupported OSC argument ({warnings[0][:60]})", address=address)]
        return [self._message(timed.message.address, tuple(timed.message.params))
                for timed in messages]

    def _message(self, address: str, args: tuple) -> Event:
        if address.startswith(CONTROL_PREFIX):
            return Command(address, args)
        binding = self.bindings.get(address)
        if binding is None:
            return Rejected("no input is bound to this address", address=address)
        try:
            return Reading(binding, osc_value(args, binding.arg))
        except PayloadError as exc:
            return Rejected(str(exc), binding=binding, address=address)


class _Capture(logging.Filter):
    """Swallows python-osc's root-logger warnings raised on this thread, keeping them."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread and "pythonosc" in record.pathname:
            self.messages.append(record.getMessage())
            return False
        return True


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    capture = _Capture()
    root = logging.getLogger()
    root.addFilter(capture)
    try:
        yield capture.messages
    finally:
        root.removeFilter(capture)
