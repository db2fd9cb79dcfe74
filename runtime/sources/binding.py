"""What a source reading means: which input it sets, and what happened to readings so far.

Plain data shared by the pure codecs (`payload`, `osc_codec`), the router and the I/O
layers (`osc`, `mqtt`). A binding is frozen (it comes from the config file); its stats
are mutated only on the event loop's thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Binding:
    """One sensor stream bound to one scene input.

    ``source`` names the transport instance for logs ("osc:9000", "mqtt:broker:1883");
    ``address`` is the OSC address or MQTT topic; ``field`` a dotted JSON path into an
    MQTT payload (None: the payload is the plain value); ``arg`` which OSC argument holds
    the value; ``silence_s``: after this long without an accepted reading the input goes
    back to its default (None: hold the last value forever).
    """

    input: str
    source: str
    address: str
    field: str | None = None
    arg: int = 0
    silence_s: float | None = None

    @property
    def label(self) -> str:
        where = f"{self.address}#{self.field}" if self.field else self.address
        return f"{self.source} {where}"


@dataclass
class BindingStats:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    fallbacks: int = 0
    last_value: object = None
    last_error: str | None = None
    last_accepted: float | None = None  # monotonic seconds


@dataclass(frozen=True)
class Reading:
    """A decoded value for a binding (not yet validated against the scene)."""

    binding: Binding
    value: object


@dataclass(frozen=True)
class Rejected:
    """A message that could not be turned into a value. ``binding`` is None when the
    message matched no binding at all (an unbound OSC address, an unparsable datagram)."""

    reason: str
    binding: Binding | None = None
    address: str | None = None


@dataclass(frozen=True)
class Command:
    """A control message (OSC ``/cadenza/...``): the address and its arguments."""

    address: str
    args: tuple = field(default_factory=tuple)
