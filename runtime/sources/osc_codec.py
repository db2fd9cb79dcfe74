"""OSC datagrams -> readings, commands and rejections. Pure (sans-I/O).

`OscCodec.decode(datagram)` never raises: every datagram becomes a list of events, in
the order of its messages (a bundle may hold several):

- `Reading`  - a value for a bound address (``/gallery/visitors 12``), not yet validated;
- `Command`  - a control address under ``/cadenza/`` (see `sources.control`);
- `Rejected` - anything else: an unparsable datagram, an unbound address, a message
  without the argument its binding reads.

python-osc does the byte-level OSC parsing (``OscPacket`` is itself pure); bundle time
tags are ignored, every message applies on arrival (sensors want "now").
"""

from __future__ import annotations

from collections.abc import Iterable

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
        try:
            messages = OscPacket(datagram).messages
        except ParseError:
            return [Rejected(f"not an OSC packet: {preview(datagram)}")]
        except Exception:  # python-osc raises a few odd types on hostile input
            return [Rejected(f"not an OSC packet: {preview(datagram)}")]
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
