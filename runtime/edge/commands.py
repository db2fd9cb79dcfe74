"""The `Command` union: everything a client can ask of a session, in one typed form.

Every transport (gRPC, WebSocket, the console, OSC control) decodes its wire message into
one of these and hands it to `Runtime.apply(command)` (or ``await
Runtime.apply_async(command)`` from a coroutine, which compiles client-supplied scenes
off the event loop when the runtime can). This module is the only wire -> runtime
dispatch: a new client feature is one command here plus one decoder per codec.

Each command's `run` calls the runtime's own method (which validates, rate-limits and
raises the runtime's errors); the result types are listed on each class. Called on the
event loop's thread, like every `Runtime` method.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server import Runtime

ACTIONS = ("play", "pause", "stop", "reset")


@dataclass(frozen=True)
class ConfigResult:
    """What `SetConfig` answers: the whole live override now in effect, the fields in it
    the session's engine does not honour, and the stream time from which it applies."""

    config: Mapping[str, object]
    unsupported: tuple[str, ...]
    stream_time: int


class _Command:
    def run(self, runtime: Runtime) -> Any:
        raise NotImplementedError

    async def run_async(self, runtime: Runtime) -> Any:
        return self.run(runtime)


@dataclass(frozen=True)
class Create(_Command):
    """Create a session (result: the `Session`)."""

    scene: str | None = None
    scene_yaml: str | None = None
    engine: str | None = None
    seed: int | None = None
    state: Mapping[str, object] = field(default_factory=dict)
    paused: bool = False
    record: bool = False

    def run(self, runtime: Runtime) -> Any:
        return runtime.create_session(scene=self.scene, scene_yaml=self.scene_yaml,
                                      engine=self.engine, seed=self.seed,
                                      state=self.state or None, paused=self.paused,
                                      record=self.record)

    async def run_async(self, runtime: Runtime) -> Any:
        return await _maybe_async(runtime, "create_session_async", self.run, scene=self.scene,
                                  scene_yaml=self.scene_yaml, engine=self.engine,
                                  seed=self.seed, state=self.state or None,
                                  paused=self.paused, record=self.record)


@dataclass(frozen=True)
class Attach(_Command):
    """Attach a stream (result: the `Subscription`)."""

    session_id: str
    resume_from_seq: int | None = None
    beats: str | None = None  # None, "beats" or "bars"

    def run(self, runtime: Runtime) -> Any:
        return runtime.subscribe(self.session_id, self.resume_from_seq, self.beats)


@dataclass(frozen=True)
class Update(_Command):
    """Push state values (result: the `Session`)."""

    session_id: str
    values: Mapping[str, object]

    def run(self, runtime: Runtime) -> Any:
        return runtime.update_state(self.session_id, self.values)


@dataclass(frozen=True)
class SetPrompts(_Command):
    """Direct weighted prompts; empty hands back to the scene (result: unknown words per
    prompt)."""

    session_id: str
    prompts: Mapping[str, float]

    def run(self, runtime: Runtime) -> Any:
        return runtime.set_prompts(self.session_id, self.prompts)


@dataclass(frozen=True)
class SetConfig(_Command):
    """Live generation config: set ``config`` fields after clearing ``clear`` (result:
    `ConfigResult`)."""

    session_id: str
    config: Mapping[str, object] = field(default_factory=dict)
    clear: Sequence[str] = ()

    def run(self, runtime: Runtime) -> Any:
        return runtime.set_config(self.session_id, self.config, self.clear)


@dataclass(frozen=True)
class Trigger(_Command):
    """Fire a stinger (result: the `Session`; ``applies_at`` says from when)."""

    session_id: str
    stinger: str

    def run(self, runtime: Runtime) -> Any:
        return runtime.trigger(self.session_id, self.stinger)


@dataclass(frozen=True)
class Control(_Command):
    """play, pause, stop (= end the session) or reset (result: the `Session`)."""

    session_id: str
    action: str

    def run(self, runtime: Runtime) -> Any:
        return runtime.control(self.session_id, self.action)


@dataclass(frozen=True)
class SwapScene(_Command):
    """Give a live session another scene, gaplessly (result: the `Session`)."""

    session_id: str
    scene: str | None = None
    scene_yaml: str | None = None
    filename: str = "<inline>"

    def run(self, runtime: Runtime) -> Any:
        return runtime.replace_scene(self.session_id, scene=self.scene,
                                     scene_yaml=self.scene_yaml, filename=self.filename)

    async def run_async(self, runtime: Runtime) -> Any:
        return await _maybe_async(runtime, "replace_scene_async", self.run, self.session_id,
                                  scene=self.scene, scene_yaml=self.scene_yaml,
                                  filename=self.filename)


@dataclass(frozen=True)
class Close(_Command):
    """End a session (result: None)."""

    session_id: str
    reason: str = "closed"

    def run(self, runtime: Runtime) -> Any:
        runtime.close(self.session_id, reason=self.reason)


@dataclass(frozen=True)
class Validate(_Command):
    """Compile scene YAML (result: (issues, summary))."""

    scene_yaml: str
    filename: str = "<scene>"
    engine: str | None = None

    def run(self, runtime: Runtime) -> Any:
        return runtime.validate_scene(self.scene_yaml, self.filename, self.engine)

    async def run_async(self, runtime: Runtime) -> Any:
        return await _maybe_async(runtime, "validate_scene_async", self.run, self.scene_yaml,
                                  self.filename, self.engine)


Command = (Create | Attach | Update | SetPrompts | SetConfig | Trigger | Control | SwapScene
           | Close | Validate)


async def _maybe_async(runtime: Runtime, name: str, fallback, *args, **kwargs) -> Any:
    """Call the runtime's off-loop variant ``name`` when it has one (issue 15's compile in
    a worker), else the synchronous command."""
    method = getattr(runtime, name, None)
    if method is None:
        return fallback(runtime)
    result = method(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def apply(runtime: Runtime, command: Command) -> Any:
    return command.run(runtime)


async def apply_async(runtime: Runtime, command: Command) -> Any:
    return await command.run_async(runtime)


__all__ = ["ACTIONS", "Attach", "Close", "Command", "ConfigResult", "Control", "Create", "SetConfig",
           "SetPrompts", "SwapScene", "Trigger", "Update", "Validate", "apply", "apply_async"]
