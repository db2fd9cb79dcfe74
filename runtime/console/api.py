"""The console's API: JSON requests on the console WebSocket, answered by `Runtime` calls.

Sans-I/O and synchronous: `ConsoleApi.handle(text) -> text`. The server feeds it each
text frame and sends back what it returns; it never touches a socket, so it is tested
with strings. Called on the event loop's thread (like every `Runtime` call).

    request  {"id": 7, "op": "state", "session_id": "kZ2x...", "values": {"danger": 0.4}}
    reply    {"id": 7, "ok": true, "result": {...}}
          or {"id": 7, "ok": false, "error": {"code": "invalid_argument", "message": "...",
                                               "field": "danger", "issues": [...]}}

``op`` is one of `ConsoleApi.OPS`; docs/console.md lists their arguments and results.
Errors use the short codes of `transports.status` (the WebSocket protocol's codes);
scene errors carry ``issues`` (file, line, column, path, message, severity, text).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from .. import __version__
from ..engines import engine_names
from ..errors import CadenzaError, InvalidArgument, SceneError, SceneIssue
from ..metrics import realtime_factor
from ..server import Runtime
from ..session import Session
from ..session.lifecycle import SessionState
from ..transports import status

log = logging.getLogger("cadenza.console")
TRANSPORT = "console"  # the label of this API on /metrics


class ConsoleApi:
    OPS = ("hello", "sessions", "session", "create", "close", "control", "state", "trigger",
           "prompts", "validate", "apply_scene", "scene_source")

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
            if isinstance(text, bytes):
                raise InvalidArgument("send JSON text frames", field="frame")
            try:
                request = json.loads(text)
            except ValueError:
                raise InvalidArgument("not JSON", field="frame") from None
            if not isinstance(request, dict):
                raise InvalidArgument("a request is a JSON object", field="frame")
            rid = request.get("id")
            if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
                rid = None
                raise InvalidArgument("id must be a whole number", field="id")
            op = request.get("op")
            if op not in self.OPS:
                raise InvalidArgument(f"unknown op {op!r}; ops: {', '.join(self.OPS)}",
                                      field="op")
            result = getattr(self, f"op_{op}")(request)
            return _dumps({"id": rid, "ok": True, "result": result})
        except CadenzaError as exc:
            return self._error(rid, exc)
        except Exception as exc:  # our fault: log it, tell the page nothing internal
            log.exception("console request failed")
            return self._error(rid, exc)

    def _error(self, rid: int | None, exc: BaseException) -> str:
        code = status.short_code(exc)
        self.runtime.metrics.error(TRANSPORT, code)
        error: dict[str, Any] = {"code": code, "message": status.public_message(exc),
                                 "field": status.field_of(exc)}
        if isinstance(exc, SceneError):
            error["issues"] = [issue_json(i) for i in exc.issues]
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

    def op_create(self, request: dict) -> dict:
        seed = request.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidArgument("seed must be a whole number", field="seed")
        session = self.runtime.create_session(
            scene=_str(request, "scene", required=False),
            scene_yaml=_str(request, "scene_yaml", required=False),
            engine=_str(request, "engine", required=False), seed=seed,
            state=_mapping(request, "state"), paused=bool(request.get("paused", False)))
        return self.detail(session)

    def op_close(self, request: dict) -> dict:
        self.runtime.close(_str(request, "session_id"))
        return {}

    def op_control(self, request: dict) -> dict:
        session = self.runtime.control(_str(request, "session_id"), _str(request, "action"))
        return {"state": session.state.value}

    def op_state(self, request: dict) -> dict:
        session = self.runtime.update_state(_str(request, "session_id"),
                                            _mapping(request, "values"))
        self.runtime.metrics.state_update(TRANSPORT)
        return {"stream_time": session.stream_time}

    def op_trigger(self, request: dict) -> dict:
        session = self.runtime.trigger(_str(request, "session_id"), _str(request, "stinger"))
        return {"stream_time": session.applies_at}

    def op_prompts(self, request: dict) -> dict:
        """Direct weighted prompts, bypassing the scene's mix (as SetPrompts); ``{}``
        hands the music back to the scene. Returns the words the engine did not know."""
        unknown = self.runtime.set_prompts(_str(request, "session_id"),
                                           _mapping(request, "weights"))
        return {"unknown_words": unknown}

    def op_validate(self, request: dict) -> dict:
        issues, summary = self.runtime.validate_scene(
            _str(request, "yaml", empty=True), _str(request, "filename", required=False)
            or "<scene>", _str(request, "engine", required=False))
        return {"ok": not any(i.severity == "error" for i in issues),
                "issues": [issue_json(i) for i in issues], "summary": summary}

    def op_apply_scene(self, request: dict) -> dict:
        session = self.runtime.replace_scene(
            _str(request, "session_id"), scene_yaml=_str(request, "yaml"),
            filename=_str(request, "filename", required=False) or "<scene>")
        return self.detail(session)

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
            listeners, uptime = rt.listeners(session.id), rt.uptime(session.id)
        except CadenzaError:  # ended meanwhile
            listeners, uptime = 0, 0.0
        blend = session.blend
        return {
            "session_id": session.id, "scene": session.scene.name, "engine": session.engine_name,
            "state": session.state.value, "seed": session.seed, "sample_rate": session.sample_rate,
            "seq": session.seq, "stream_time": session.stream_time,
            "uptime_s": round(uptime, 3), "rtf": round(rtf, 2) if math.isfinite(rtf) else 0.0,
            "buffer_s": round(buffer_s, 3), "underruns": session.counters.underruns,
            "listeners": listeners, "error": session.error or "",
            "blend": [{"name": n, "weight": round(w, 4)} for n, w in blend.weights.items()]
            if blend else [],
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
            "clock": _clock_json(session.clock),
            "direct_prompts": dict(session.override) if session.override else None,
        })
        return out


# ------------------------------------------------------------------------ helpers
def _clock_json(clock) -> dict | None:
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
