"""The console's API: JSON requests on the console WebSocket, answered by `Runtime` calls.

Sans-I/O and synchronous: `ConsoleApi.handle(text) -> text`. The server feeds it each
text frame and sends back what it returns; it never touches a socket, so it is tested
with strings. Called on the event loop's thread (like every `Runtime` call).

    request  {"id": 7, "op": "state", "session_id": "kZ2x...", "values": {"danger": 0.4}}
    reply    {"id": 7, "ok": true, "result": {...}}
          or {"id": 7, "ok": false, "error": {"code": "invalid_argument", "message": "...",
                                               "field": "danger", "issues": [...]}}

``op`` is one of `ConsoleApi.OPS`; docs/console.md lists their arguments and results.
A thin codec over the edge kit: each op that acts decodes into an edge `Command` (applied
by `Runtime.apply`, or `Runtime.apply_async` from `handle_async`, which compiles inline
scenes off the loop) and renders the kit's `SessionView`; errors go through the kit's one
reporter (the WebSocket protocol's short codes, sanitized messages); scene errors carry
``issues`` (file, line, column, path, message, severity, text).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..edge import commands as C
from ..edge.report import report
from ..edge.views import ClockView, SessionView
from ..engines import engine_names
from ..errors import CadenzaError, InvalidArgument, SceneIssue
from ..metrics import realtime_factor
from ..server import Runtime
from ..session import Session
from ..session.lifecycle import SessionState

log = logging.getLogger("cadenza.console")
TRANSPORT = "console"  # the label of this API on /metrics


@dataclass(frozen=True)
class Apply:
    """An op's step that acts: apply ``command``, then render its result with ``then``."""

    command: C.Command
    then: Callable[[Any], Any]


class ConsoleApi:
    OPS = ("hello", "sessions", "session", "create", "close", "control", "state", "trigger",
           "prompts", "config", "validate", "apply_scene", "scene_source")

    def __init__(self, runtime: Runtime, bridge: Callable[[], Mapping[str, Any]] | None = None,
                 token_required: bool = False) -> None:
        """``bridge()`` says where the WebSocket bridge is: {"port", "path", "tls"}."""
        self.runtime = runtime
        self.bridge = bridge or (lambda: {})
        self.token_required = token_required

    # ---------------------------------------------------------------------- framing
    def handle(self, text: str | bytes) -> str:
        """One request frame in, one reply frame out. Never raises."""
        rid = None
        try:
            request = _request(text)
            rid = _request_id(request)
            step = self._op(request)
            if isinstance(step, Apply):
                step = step.then(self.runtime.apply(step.command))
            return _dumps({"id": rid, "ok": True, "result": step})
        except Exception as exc:  # ours or the page's: the reporter tells them apart
            return self._error(rid, exc)

    async def handle_async(self, text: str | bytes) -> str:
        """As `handle`, from a coroutine: inline scenes compile off the event loop."""
        rid = None
        try:
            request = _request(text)
            rid = _request_id(request)
            step = self._op(request)
            if isinstance(step, Apply):
                step = step.then(await self.runtime.apply_async(step.command))
            return _dumps({"id": rid, "ok": True, "result": step})
        except Exception as exc:
            return self._error(rid, exc)

    def _op(self, request: dict) -> Any:
        op = request.get("op")
        if op not in self.OPS:
            raise InvalidArgument(f"unknown op {str(op)[:40]!r}; ops: {', '.join(self.OPS)}",
                                  field="op")
        return getattr(self, f"op_{op}")(request)

    def _error(self, rid: int | None, exc: BaseException) -> str:
        result = report(exc, self.runtime.metrics, TRANSPORT)
        error: dict[str, Any] = {"code": result.code, "message": result.message,
                                 "field": result.field}
        if result.issues:
            error["issues"] = [issue_json(i) for i in result.issues]
        return _dumps({"id": rid, "ok": False, "error": error})

    # -------------------------------------------------------------------------- ops
    def op_hello(self, request: dict) -> dict:
        rt = self.runtime
        return {"version": __version__, "engines": engine_names(),
                "default_engine": rt.config.default_engine, "scenes": rt.library.names(),
                "bridge": dict(self.bridge()), "token_required": self.token_required}

    def op_sessions(self, request: dict) -> list[dict]:
        return [self.summary(s) for s in self.runtime.sessions()]

    def op_session(self, request: dict) -> dict:
        return self.detail(self.runtime.get(_str(request, "session_id")))

    def op_create(self, request: dict) -> Apply:
        seed = request.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidArgument("seed must be a whole number", field="seed")
        return Apply(C.Create(
            scene=_str(request, "scene", required=False),
            scene_yaml=_str(request, "scene_yaml", required=False),
            engine=_str(request, "engine", required=False), seed=seed,
            state=_mapping(request, "state"), paused=bool(request.get("paused", False))),
            self.detail)

    def op_close(self, request: dict) -> Apply:
        return Apply(C.Close(_str(request, "session_id")), lambda _: {})

    def op_control(self, request: dict) -> Apply:
        return Apply(C.Control(_str(request, "session_id"), _str(request, "action")),
                     lambda session: {"state": session.state.value})

    def op_state(self, request: dict) -> Apply:
        def then(session: Session) -> dict:
            self.runtime.metrics.state_update(TRANSPORT)
            return {"stream_time": session.stream_time}

        return Apply(C.Update(_str(request, "session_id"), _mapping(request, "values")), then)

    def op_trigger(self, request: dict) -> Apply:
        return Apply(C.Trigger(_str(request, "session_id"), _str(request, "stinger")),
                     lambda session: {"stream_time": session.applies_at})

    def op_prompts(self, request: dict) -> Apply:
        """Direct weighted prompts, bypassing the scene's mix (as SetPrompts); ``{}``
        hands the music back to the scene. Returns the words the engine did not know."""
        return Apply(C.SetPrompts(_str(request, "session_id"), _mapping(request, "weights")),
                     lambda unknown: {"unknown_words": unknown})

    def op_config(self, request: dict) -> Apply:
        """Live generation config (as SetGenerationConfig): ``config`` fields to set,
        ``clear`` names to hand back to the scene."""
        clear = request.get("clear") or []
        if not isinstance(clear, list) or not all(isinstance(c, str) for c in clear):
            raise InvalidArgument("'clear' must be a list of field names", field="clear")
        return Apply(C.SetConfig(_str(request, "session_id"), _mapping(request, "config"),
                                 tuple(clear)),
                     lambda r: {"config": dict(r.config), "unsupported": list(r.unsupported),
                                "stream_time": r.stream_time})

    def op_validate(self, request: dict) -> Apply:
        def then(result) -> dict:
            issues, summary = result
            return {"ok": not any(i.severity == "error" for i in issues),
                    "issues": [issue_json(i) for i in issues], "summary": summary}

        return Apply(C.Validate(_str(request, "yaml", empty=True),
                                _str(request, "filename", required=False) or "<scene>",
                                _str(request, "engine", required=False)), then)

    def op_apply_scene(self, request: dict) -> Apply:
        return Apply(C.SwapScene(_str(request, "session_id"), scene_yaml=_str(request, "yaml"),
                                 filename=_str(request, "filename", required=False)
                                 or "<scene>"), self.detail)

    def op_scene_source(self, request: dict) -> dict:
        scene = self.runtime.library.get(_str(request, "name"))
        return {"name": scene.name, "yaml": scene.source, "filename": _basename(scene.file)}

    # ------------------------------------------------------------------------ views
    def summary(self, session: Session) -> dict:
        """One row of the sessions list."""
        rt = self.runtime
        try:
            loop = rt.loop_of(session.id)
        except CadenzaError:  # ended meanwhile
            loop = None
        buffer_s = 0.0
        rtf = 0.0
        if loop is not None:
            rtf = realtime_factor(loop)
            if session.state == SessionState.PLAYING and session.pacing.time is not None:
                ahead = session.stream_time - loop.playhead(session, loop.clock.now())
                buffer_s = max(0.0, ahead / session.sample_rate)
        try:
            view = SessionView.of(session, rt.listeners(session.id), rt.uptime(session.id),
                                  loop.engine.info.knobs if loop else None)
        except CadenzaError:  # ended meanwhile
            view = SessionView.of(session)
        return {
            "session_id": view.session_id, "scene": view.scene, "engine": view.engine,
            "state": view.state, "seed": view.seed, "sample_rate": view.sample_rate,
            "seq": view.seq, "stream_time": view.stream_time,
            "uptime_s": round(view.uptime_s, 3),
            "rtf": round(rtf, 2) if math.isfinite(rtf) else 0.0,
            "buffer_s": round(buffer_s, 3), "underruns": view.underruns,
            "listeners": view.listeners, "error": view.error,
            "blend": [{"name": e.name, "weight": round(e.weight, 4)} for e in view.blend],
            "config": dict(view.config), "unsupported_knobs": list(view.unsupported_knobs),
        }

    def detail(self, session: Session) -> dict:
        """Everything the session page needs: the row, the inputs and the scene."""
        scene = session.scene
        out = self.summary(session)
        out.update({
            "inputs": {k: v for k, v in session.inputs.items()},
            "input_specs": [input_json(spec) for spec in scene.inputs.values()],
            "prompts": {n: p.key for n, p in scene.prompts.items()},
            "description": scene.description,
            "scene_yaml": scene.source,
            "filename": _basename(scene.file),
            "stingers": [{"name": st.name, "play_at": st.play_at} for st in scene.stingers.values()],
            "clock": _clock_json(ClockView.of(session.clock)),
            "direct_prompts": dict(session.override) if session.override else None,
        })
        return out


# ------------------------------------------------------------------------ helpers
def _clock_json(clock: ClockView | None) -> dict | None:
    if clock is None:
        return None
    return {"beat": round(clock.beat, 4), "bar": clock.bar, "beat_in_bar": clock.beat_in_bar,
            "bpm": round(clock.bpm, 2), "beats_per_bar": clock.beats_per_bar,
            "beat_unit": clock.beat_unit}


def input_json(spec) -> dict:
    out: dict[str, Any] = {"name": spec.name, "type": spec.type, "default": spec.default}
    if spec.type == "number":
        out.update(min=spec.min, max=spec.max)
    elif spec.type == "enum":
        out["values"] = list(spec.values)
    return out


def issue_json(issue: SceneIssue) -> dict:
    return {"file": issue.file, "line": issue.line, "column": issue.column, "path": issue.path,
            "message": issue.message, "severity": issue.severity, "text": str(issue)}


def _request(text: str | bytes) -> dict:
    if isinstance(text, bytes):
        raise InvalidArgument("send JSON text frames", field="frame")
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidArgument("not JSON", field="frame") from None
    if not isinstance(request, dict):
        raise InvalidArgument("a request is a JSON object", field="frame")
    return request


def _request_id(request: dict) -> int | None:
    rid = request.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
        raise InvalidArgument("id must be a whole number", field="id")
    return rid


def _basename(file: str) -> str:
    return os.path.basename(file) if file and not file.startswith("<") else (file or "<scene>")


def _str(request: dict, key: str, required: bool = True, empty: bool = False) -> str | None:
    value = request.get(key)
    if value is None or (value == "" and not empty):
        if required:
            raise InvalidArgument(f"{key!r} is required", field=key)
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{key!r} must be a string", field=key)
    return value


def _mapping(request: dict, key: str) -> dict:
    value = request.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{key!r} must be an object", field=key)
    return value


def _dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False, default=str)


__all__ = ["ConsoleApi", "input_json", "issue_json"]
