"""The OSC codec on byte strings built by python-osc (no sockets)."""

from __future__ import annotations

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from cadenza.runtime.errors import InvalidArgument
from cadenza.runtime.sources.binding import Binding, Command, Reading, Rejected
from cadenza.runtime.sources.control import OSC_CONTROL, dispatch
from cadenza.runtime.sources.osc_codec import OscCodec

VISITORS = Binding("visitors", "osc:9000", "/gallery/visitors")
XY = Binding("light", "osc:9000", "/pad/xy", arg=1)


def message(address: str, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def codec() -> OscCodec:
    return OscCodec([VISITORS, XY])


def test_bound_address_becomes_a_reading():
    assert codec().decode(message("/gallery/visitors", 12)) == [Reading(VISITORS, 12)]
    assert codec().decode(message("/pad/xy", 0.1, "x")) == [Reading(XY, "x")]


def test_bundle_yields_every_message_in_order():
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(OscMessageBuilder("/gallery/visitors").build())
    for address, value in (("/gallery/visitors", 3), ("/cadenza/pause", 1)):
        b = OscMessageBuilder(address)
        b.add_arg(value)
        bundle.add_content(b.build())
    events = codec().decode(bundle.build().dgram)
    assert isinstance(events[0], Rejected) and "no arguments" in events[0].reason
    assert events[1] == Reading(VISITORS, 3)
    assert events[2] == Command("/cadenza/pause", (1,))


def test_garbage_never_raises():
    for data in (b"", b"garbage", b"/x\x00\x00", message("/gallery/visitors")[:5],
                 b"#bundle\x00" + b"\xff" * 20, b"\x00" * 9000):
        events = codec().decode(data)
        assert len(events) == 1 and isinstance(events[0], Rejected), data


def test_unbound_address_is_rejected_with_its_address():
    [event] = codec().decode(message("/gallery/nope", 1.0))
    assert event == Rejected("no input is bound to this address", address="/gallery/nope")


class Target:
    def __init__(self) -> None:
        self.actions: list[str] = []

    def control(self, action: str) -> None:
        self.actions.append(action)


def test_control_table_dispatch():
    target = Target()
    for address in ("/cadenza/pause", "/cadenza/play", "/cadenza/reset"):
        assert dispatch(Command(address, ()), target)
    assert target.actions == ["pause", "play", "reset"]
    # A momentary button's release (0) is ignored; its press (1) acts.
    assert not dispatch(Command("/cadenza/pause", (0,)), target)
    assert dispatch(Command("/cadenza/pause", (1.0,)), target)
    assert target.actions[-1] == "pause" and len(target.actions) == 4


def test_unknown_control_address_lists_the_known_ones():
    try:
        dispatch(Command("/cadenza/explode", ()), Target())
    except InvalidArgument as exc:
        assert "unknown control address /cadenza/explode" in str(exc)
        assert all(address in str(exc) for address in OSC_CONTROL)
    else:
        raise AssertionError("expected InvalidArgument")


def test_one_more_address_is_one_table_entry():
    class Stingers(Target):
        def trigger(self, name: str) -> None:
            self.actions.append(f"trigger {name}")

    from cadenza.runtime.sources.control import text_arg

    table = {**OSC_CONTROL, "/cadenza/trigger": lambda t, args: t.trigger(text_arg(args))}
    target = Stingers()
    dispatch(Command("/cadenza/trigger", ("gong",)), target, table)
    assert target.actions == ["trigger gong"]
