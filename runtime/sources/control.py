"""OSC control addresses: one table from address to what it does.

So that TouchDesigner, Max or Ableton can drive a session, ``/cadenza/<verb>`` messages
act on the installation's session: ``/cadenza/play``, ``/cadenza/pause``,
``/cadenza/reset``, and ``/cadenza/trigger NAME`` (fire one of the scene's stingers).
Adding an address is one line in `OSC_CONTROL`.

A momentary button in those tools sends its address with 1 on press and 0 on release:
a command whose first argument is 0 or false is therefore the release, and ignored.

This is the OSC codec only: the target (the installation's supervisor) turns `control`
and `trigger` into the edge kit's commands (`cadenza.runtime.edge.commands`) for its
current session and applies them with `Runtime.apply`, the one dispatch of every edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Protocol

from ..errors import InvalidArgument
from .binding import Command


class ControlTarget(Protocol):
    def control(self, action: str) -> None:
        """Apply a lifecycle action (play, pause, reset) to the current session."""
        ...

    def trigger(self, stinger: str) -> None:
        """Fire one of the current scene's stingers."""
        ...


Handler = Callable[[ControlTarget, tuple], None]


def _action(name: str) -> Handler:
    return lambda target, args: target.control(name)


def text_arg(args: tuple) -> str:
    """The first argument as text (for commands that name something)."""
    if not args or not isinstance(args[0], str) or not args[0].strip():
        raise InvalidArgument("this address needs a text argument", field="args")
    return args[0].strip()


OSC_CONTROL: Mapping[str, Handler] = MappingProxyType({
    "/cadenza/play": _action("play"),
    "/cadenza/pause": _action("pause"),
    "/cadenza/reset": _action("reset"),
    "/cadenza/trigger": lambda target, args: target.trigger(text_arg(args)),
    # Master volume of an installation's speakers, a linear gain 0..2 (0 is a value here,
    # not a button release; see VALUE_ADDRESSES).
    "/cadenza/volume": lambda target, args: target.set_volume(number_arg(args)),
})
VALUE_ADDRESSES = frozenset({"/cadenza/volume"})


def number_arg(args: tuple) -> float:
    """The first argument as a number (for commands that set a level)."""
    if not args or isinstance(args[0], (str, bool)) or not isinstance(args[0], (int, float)):
        raise InvalidArgument("this address needs a number argument", field="args")
    return float(args[0])


def is_release(args: tuple) -> bool:
    return bool(args) and not isinstance(args[0], str) and args[0] in (0, False)


def dispatch(command: Command, target: ControlTarget,
             table: Mapping[str, Handler] = OSC_CONTROL) -> bool:
    """Apply ``command`` to ``target``. Returns False for an ignored button release;
    raises InvalidArgument for an unknown address (and whatever the target raises)."""
    handler = table.get(command.address)
    if handler is None:
        raise InvalidArgument(f"unknown control address {command.address}; known: "
                              f"{', '.join(sorted(table))}", field="address")
    if is_release(command.args) and command.address not in VALUE_ADDRESSES:
        return False
    handler(target, command.args)
    return True
