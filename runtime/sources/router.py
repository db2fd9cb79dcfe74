"""Readings -> the session: validation, counting, logging, and falling back when silent.

Every OSC and MQTT reading of an installation ends here, on the event loop's thread (the
only thread that touches sessions). For each one the router

1. converts the wire value toward the input's type (`payload.coerce`) and validates it
   with the current scene (`Scene.validate_update`: the same check as a gRPC
   UpdateState, with the same messages);
2. applies it to the session, or counts and logs the rejection with its source (one line
   per 10 s per binding at most, with the count of lines held back) - a bad reading
   never raises out of here and never touches the music;
3. remembers it, so a restarted session or a reloaded scene gets the room's current
   state at once (`replay`);
4. watches for silence: an input whose sources have all been quiet for their
   ``silence`` time goes back to its default (a dead visitor counter must not freeze the
   room at "crowded"). One timer, armed for the earliest deadline - no polling.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..errors import CadenzaError, FailedPrecondition
from ..logging_setup import Throttle, event
from ..scene import Scene
from .binding import Binding, BindingStats, Command, Reading, Rejected
from .control import ControlTarget, dispatch
from .payload import coerce

log = logging.getLogger("cadenza.sources")


class InputTarget(ControlTarget, Protocol):
    """What the router drives: the installation's current scene and session."""

    @property
    def scene(self) -> Scene:
        """The scene readings are validated against (kept across session restarts)."""
        ...

    def apply(self, values: Mapping[str, object]) -> None:
        """Apply validated values to the session; FailedPrecondition while there is none."""
        ...


class Scheduler(Protocol):
    """The part of an asyncio event loop the router uses (tests pass a fake)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback, *args): ...


@dataclass
class SourceStats:
    """Per source: messages that never reached a binding, and control commands."""

    unparsable: int = 0
    unbound: int = 0
    dropped: int = 0  # lost to a full hand-over queue (MQTT), counted by the source
    commands: int = 0


class InputRouter:
    def __init__(self, target: InputTarget, bindings: Iterable[Binding], scheduler: Scheduler,
                 log_interval: float = 10.0) -> None:
        self.target = target
        self.scheduler = scheduler
        self.bindings = list(bindings)
        self.stats: dict[Binding, BindingStats] = {b: BindingStats() for b in self.bindings}
        self.sources: dict[str, SourceStats] = {}
        for b in self.bindings:
            self.sources.setdefault(b.source, SourceStats())
        self.latest: dict[str, tuple[object, float]] = {}  # input -> (value, when)
        self._silence = _silence_per_input(self.bindings)
        self._fallen: set[str] = set(self._silence)  # inputs at their default
        self._timer = None
        self._timer_at: float | None = None
        self._throttle = Throttle(log_interval, clock=scheduler.time)

    # ---------------------------------------------------------------------- events
    def handle(self, source: str, item: Reading | Command | Rejected) -> None:
        """Route one decoded event from ``source``. Never raises."""
        try:
            if isinstance(item, Reading):
                self.reading(item.binding, item.value)
            elif isinstance(item, Command):
                self.command(source, item)
            else:
                self.reject(source, item.reason, item.binding, item.address)
        except Exception:  # a bug here must not take the sources down with it
            log.exception("internal error handling a reading from %s", source)

    def reading(self, binding: Binding, value: object) -> bool:
        """Validate and apply one value. True when accepted."""
        stats = self.stats[binding]
        stats.received += 1
        scene = self.target.scene
        spec = scene.inputs.get(binding.input)
        try:
            accepted = scene.validate_update(
                {binding.input: coerce(value, spec.type) if spec else value})
        except CadenzaError as exc:
            self.reject(binding.source, str(exc), binding, binding.address, value=value)
            return False
        now = self.scheduler.time()
        stats.accepted += 1
        stats.last_value = accepted[binding.input]
        stats.last_accepted = now
        self.latest[binding.input] = (accepted[binding.input], now)
        if binding.input in self._fallen and binding.input in self._silence:
            self._fallen.discard(binding.input)
            event(log, logging.INFO, f"input {binding.input}: readings started",
                  source=binding.source, address=binding.address, input=binding.input,
                  value=accepted[binding.input])
        self._apply(accepted)
        self._arm(now + self._silence[binding.input] if binding.input in self._silence else None)
        return True

    def command(self, source: str, command: Command) -> None:
        stats = self.sources.setdefault(source, SourceStats())
        try:
            applied = dispatch(command, self.target)
        except CadenzaError as exc:
            self.reject(source, str(exc), None, command.address)
            return
        if applied:
            stats.commands += 1
            event(log, logging.INFO, f"control {command.address}", source=source,
                  address=command.address)

    def reject(self, source: str, reason: str, binding: Binding | None = None,
               address: str | None = None, value: object = None) -> None:
        """Count and (throttled) log a reading that was dropped."""
        if binding is not None:
            stats = self.stats[binding]
            stats.rejected += 1
            stats.last_error = reason
        else:
            counters = self.sources.setdefault(source, SourceStats())
            if address is None:
                counters.unparsable += 1
            else:
                counters.unbound += 1
        key = f"{source} {address}"
        held = self._throttle.allow(key)
        if held is None:
            return
        fields: dict[str, object] = {"source": source, "reason": reason}
        if address is not None:
            fields["address"] = address
        if binding is not None:
            fields["input"] = binding.input
            fields["rejected_total"] = self.stats[binding].rejected
        if value is not None:
            fields["value"] = repr(value)[:40]
        if held:
            fields["similar_lines_held_back"] = held
        event(log, logging.WARNING, "reading dropped", **fields)

    # ------------------------------------------------------------------ session side
    def _apply(self, values: Mapping[str, object]) -> None:
        # No session right now (restarting): `replay` hands the value over later.
        with contextlib.suppress(FailedPrecondition):
            self.target.apply(values)

    def replay(self) -> None:
        """Apply every input's current value (after a session restart or scene reload).
        Inputs the scene no longer has are skipped."""
        inputs = self.target.scene.inputs
        for name, (value, _) in self.latest.items():
            if name in inputs and name not in self._fallen:
                try:
                    self._apply(self.target.scene.validate_update({name: value}))
                except CadenzaError as exc:
                    event(log, logging.WARNING, f"input {name}: last reading no longer valid",
                          input=name, reason=str(exc))

    # --------------------------------------------------------------------- silence
    def _arm(self, when: float | None) -> None:
        if when is None or (self._timer_at is not None and self._timer_at <= when):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.scheduler.call_at(when, self._expire)

    def _expire(self) -> None:
        self._timer = self._timer_at = None
        now = self.scheduler.time()
        upcoming = []
        for name, timeout in self._silence.items():
            if name in self._fallen or name not in self.latest:
                continue
            deadline = self.latest[name][1] + timeout
            if deadline <= now + 1e-3:
                self._fall_back(name, timeout)
            else:
                upcoming.append(deadline)
        if upcoming:
            self._arm(min(upcoming))

    def _fall_back(self, name: str, timeout: float) -> None:
        self._fallen.add(name)
        spec = self.target.scene.inputs.get(name)
        sources = ", ".join(b.label for b in self.bindings if b.input == name)
        for b in self.bindings:
            if b.input == name:
                self.stats[b].fallbacks += 1
        if spec is None:
            return
        event(log, logging.WARNING, f"input {name} silent for {timeout:g}s: back to its default",
              input=name, default=spec.default, sources=sources)
        self._apply({name: spec.default})

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None

    # ----------------------------------------------------------------- information
    def snapshot(self) -> dict[str, object]:
        """Counters for status lines and tests."""
        return {
            "bindings": {b.label: {"input": b.input, "received": s.received,
                                   "accepted": s.accepted, "rejected": s.rejected,
                                   "fallbacks": s.fallbacks, "last_value": s.last_value,
                                   "last_error": s.last_error}
                         for b, s in self.stats.items()},
            "sources": {name: vars(s).copy() for name, s in self.sources.items()},
        }

    def totals(self) -> dict[str, int]:
        accepted = sum(s.accepted for s in self.stats.values())
        rejected = sum(s.rejected for s in self.stats.values()) + sum(
            s.unparsable + s.unbound for s in self.sources.values())
        dropped = sum(s.dropped for s in self.sources.values())
        return {"accepted": accepted, "rejected": rejected, "dropped": dropped}


def _silence_per_input(bindings: Iterable[Binding]) -> dict[str, float]:
    """An input falls back once *all* its sources are silent: the longest timeout of its
    bindings; an input with any binding that never times out never falls back."""
    out: dict[str, float | None] = {}
    for b in bindings:
        if b.input in out and out[b.input] is None:
            continue
        if b.silence_s is None:
            out[b.input] = None
        else:
            out[b.input] = max(out.get(b.input) or 0.0, b.silence_s)
    return {name: t for name, t in out.items() if t is not None}
