"""The console as a profiler (FMOD Live Update / Wwise profiler for a scene): an event
log per session, the derived values and knobs, saving the edited scene, named input
snapshots, and profiling recordings in the record/replay format.

`Profiler.handle(request)` answers the console API's ``profiler.*`` ops (the console
server routes them here, the others to `api.ConsoleApi`); same request/reply shapes:

    profiler.poll        {session_id, after}   -> {events, next, derived, knobs, latches}
    profiler.save_scene  {yaml, filename}      -> {path, backup, name}
    profiler.snapshot    {session_id, name}    -> {snapshots}   (the inputs, saved by name)
    profiler.snapshots   {session_id}          -> {snapshots}
    profiler.recall      {session_id, name}    -> {values}      (applied as a state update)
    profiler.record      {session_id}          -> {recording}   (start)
    profiler.stop_record {session_id}          -> {recording, url, events}

The event log (`SessionLog`, one per session, attached through
``Runtime.listeners_hooks``) keeps the last ``LOG_SIZE`` entries, numbered: the page
asks for those after the last number it saw. Kinds: ``state`` (playing, paused ...),
``latch`` (a derived bool turned on/off), ``transition`` (a rule fired: scheduled for
its quantization's boundary, then ``landed`` on its bar and beat), ``stinger``,
``underrun``, ``error``, ``tempo``. Times are stream seconds; bar/beat are 1-based.

Everything runs on the event loop's thread (listeners and API calls alike). Saving
writes only inside the served scenes folder (``cadenza serve --scenes DIR``, or an
installation's scene folder), never the shipped examples; the previous file is kept in
``DIR/.backups/NAME-YYYYmmddTHHMMSS.yaml``. Snapshots live in memory, per scene name.
Profiling recordings go to a private temporary folder and are downloaded from
``/api/recordings/NAME`` (the console server serves them, behind the token).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CadenzaError, FailedPrecondition, InvalidArgument, NotFound, SceneError
from ..server import Runtime
from ..session import Session
from ..session.chunk import Chunk, EventKind, SessionEvent
from ..session.recording import Recorder, scene_hash
from ..transports import status

log = logging.getLogger("cadenza.console")

LOG_SIZE = 500
MAX_SNAPSHOTS = 64
_FILENAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.ya?ml$")
_SNAPSHOT = re.compile(r"^[^\x00-\x1f]{1,60}$")


class SessionLog:
    """A session listener that keeps what a sound designer wants to see happen."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.entries: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.count = 0
        self._shaped: object | None = None
        self._beat: float | None = None  # the beat the scheduled transition lands on
        self._landed = False
        self._latches: dict[str, bool] = {}

    def add(self, kind: str, text: str, stream_time: int | None = None, **detail: Any) -> None:
        session = self.session
        t = session.stream_time if stream_time is None else stream_time
        entry: dict[str, Any] = {"n": self.count, "kind": kind, "t": round(t / session.sample_rate, 3),
                                 "text": text, **detail}
        where = _bar_beat(session, t)
        if where:
            entry.update(where)
        self.count += 1
        self.entries.append(entry)

    def after(self, n: int) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["n"] >= n]

    # ------------------------------------------------------------------ listener
    def on_chunk(self, chunk: Chunk) -> None:
        session = self.session
        evaluator = session.evaluator
        for name, on in evaluator.latches.items():
            if self._latches.get(name, False) != on:
                self.add("latch", f"{name} {'on' if on else 'off'}", chunk.stream_time,
                         name=name, on=on)
        self._latches = dict(evaluator.latches)
        shaped = getattr(evaluator, "shaped", None)
        if shaped is not None and shaped is not self._shaped:
            rule = shaped.rule
            quantum = rule.at if rule.at != "bars" else f"every {rule.bars} bars"
            target = ""
            if shaped.beat is not None and session.clock is not None:
                bpb = session.clock.beats_per_bar
                whole = math.floor(_snap(shaped.beat))
                target = f", lands at bar {whole // bpb + 1} beat {whole % bpb + 1}"
            self.add("transition", f"{rule.name}: quantized to {quantum}{target}",
                     chunk.stream_time, rule=rule.name, at=rule.at, phase="scheduled")
            self._beat, self._landed = shaped.beat, shaped.start is not None
        self._shaped = shaped
        if shaped is None or self._landed or shaped.start is None:
            return
        if shaped.start >= chunk.stream_time + chunk.frames:
            return  # decided already (the loop evaluates ahead), heard in a later chunk
        self._landed = True
        blend = session.blend
        rule = shaped.rule
        target = None
        if self._beat is not None and session.clock is not None:
            target = round(session.clock.sample_of(self._beat))
        if blend is not None and blend.switch is not None:
            # On its sample: the engine is asked `lead` samples early so that the change
            # is *heard* on the boundary; log where it is heard.
            sent = chunk.stream_time + blend.switch.offset
            heard = target if target is not None else sent
            self.add("transition", f"{rule.name}: landed", heard, rule=rule.name, at=rule.at,
                     phase="landed", lead_samples=heard - sent)
        else:
            # The boundary fell in a block the scene did not evaluate (concealment while
            # the engine was late): the change starts with the next block instead.
            late = shaped.start - target if target is not None else 0
            ms = late / session.sample_rate * 1000
            self.add("transition", f"{rule.name}: landed" + (
                f" {ms:.0f} ms late (the engine was late)" if ms >= 1 else " (on a block start)"),
                shaped.start, rule=rule.name, at=rule.at, phase="landed", late_samples=late)

    def on_event(self, ev: SessionEvent) -> None:
        d = ev.detail
        if ev.kind == EventKind.STATE_CHANGED:
            self.add("state", f"{d.get('previous', '?')} → {d.get('state')}", ev.stream_time,
                     state=d.get("state"))
        elif ev.kind == EventKind.STINGER:
            at = d.get("at")
            self.add("stinger", f"{d.get('stinger')}: {d.get('status')}",
                     int(at) if isinstance(at, (int, float)) else ev.stream_time,
                     stinger=d.get("stinger"), status=d.get("status"))
        elif ev.kind == EventKind.CONCEALED:
            if d.get("state") == "start":
                text = f"concealment started ({d.get('reason', 'late')}): the engine is late"
            else:
                text = f"concealment ended after {d.get('seconds', '?')} s"
            self.add("underrun", text, ev.stream_time, concealed=d.get("state"))
        elif ev.kind == EventKind.UNDERRUN:
            self.add("underrun", f"late {d.get('late_s', '?')} s (concealed)", ev.stream_time)
        elif ev.kind == EventKind.ERROR:
            self.add("error", str(d.get("message", "error")), ev.stream_time)
        elif ev.kind == EventKind.TEMPO:
            self.add("tempo", f"{d.get('bpm', '?')} bpm", ev.stream_time)
        elif ev.kind == EventKind.ENDED:
            self.add("state", f"ended ({d.get('reason', '')})", ev.stream_time, state="ended")


def _bar_beat(session: Session, sample: int) -> dict[str, Any] | None:
    clock = session.clock
    if clock is None:
        return None
    beat = _snap(clock.beat_at(sample))
    bpb = clock.beats_per_bar
    whole = math.floor(beat)
    return {"bar": whole // bpb + 1, "beat": whole % bpb + 1,
            "on_beat": abs(beat - round(beat)) < 0.02}


def _snap(beat: float) -> float:
    """A beat within 1/100 of a whole one is on it (sample rounding: 7.9999 is beat 8)."""
    nearest = round(beat)
    return float(nearest) if abs(beat - nearest) < 0.01 else beat


class _OffsetRecorder(Recorder):
    """A recording started mid-session: times count from its start (so `cadenza replay`
    renders from there), the first event restores the inputs and prompts of that moment."""

    def __init__(self, path: Path, header: dict[str, Any], start: int) -> None:
        self.start = start
        self.events = 0
        super().__init__(path, header)

    def event(self, t: int, kind: str, **data: Any) -> None:
        self.events += 1
        super().event(max(0, t - self.start), kind, **data)

    def close(self, end: int) -> None:
        super().close(max(0, end - self.start))


class Profiler:
    OPS = ("poll", "save_scene", "snapshot", "snapshots", "recall", "record", "stop_record")

    def __init__(self, runtime: Runtime, saving: bool = True) -> None:
        """``saving``: whether save_scene may write (the console server allows it behind
        a token or on loopback only)."""
        self.runtime = runtime
        self.saving = saving
        self.logs: dict[str, SessionLog] = {}
        self.snapshots: dict[str, dict[str, dict[str, Any]]] = {}
        self.recordings_dir = Path(tempfile.mkdtemp(prefix="cadenza-console-"))
        self.recordings: dict[str, _OffsetRecorder] = {}
        runtime.listeners_hooks.append(self._attach)
        for session in runtime.sessions():  # sessions that existed before the console
            session.attach(self._attach(session))

    def _attach(self, session: Session) -> SessionLog:
        log = self.logs[session.id] = SessionLog(session)
        if len(self.logs) > 4 * max(1, self.runtime.config.max_sessions):
            live = {s.id for s in self.runtime.sessions()}
            for sid in [s for s in self.logs if s not in live]:
                del self.logs[sid]
        return log

    def close(self) -> None:
        if self._attach in self.runtime.listeners_hooks:
            self.runtime.listeners_hooks.remove(self._attach)
        for recorder in self.recordings.values():
            recorder.close(recorder.start)
        shutil.rmtree(self.recordings_dir, ignore_errors=True)

    # ------------------------------------------------------------------ framing
    def handle(self, request: dict) -> dict:
        """One ``profiler.*`` request (already parsed) -> the reply object. Never raises."""
        rid = request.get("id") if isinstance(request.get("id"), int) else None
        op = str(request.get("op", ""))[len("profiler."):]
        try:
            if op not in self.OPS:
                raise InvalidArgument(f"unknown op profiler.{op}; ops: "
                                      + ", ".join(f"profiler.{o}" for o in self.OPS), field="op")
            return {"id": rid, "ok": True, "result": getattr(self, f"op_{op}")(request)}
        except CadenzaError as exc:
            self.runtime.metrics.error("console", status.short_code(exc))
            error = {"code": status.short_code(exc), "message": status.public_message(exc),
                     "field": status.field_of(exc)}
            if isinstance(exc, SceneError):
                error["issues"] = [{"file": i.file, "line": i.line, "path": i.path,
                                    "message": i.message, "severity": i.severity, "text": str(i)}
                                   for i in exc.issues]
            return {"id": rid, "ok": False, "error": error}
        except Exception:  # our fault: log it, answer INTERNAL, keep the connection
            log.exception("console profiler request failed")
            self.runtime.metrics.error("console", "internal")
            return {"id": rid, "ok": False, "error": {"code": "internal", "field": None,
                                                       "message": "internal error (see the log)"}}

    # ---------------------------------------------------------------------- ops
    def op_poll(self, request: dict) -> dict:
        session = self.runtime.get(_text(request, "session_id"))
        log = self.logs.get(session.id)
        after = request.get("after", 0)
        if isinstance(after, bool) or not isinstance(after, int):
            raise InvalidArgument("after must be a whole number", field="after")
        env = session.evaluator.env
        derived = {d.name: _plain(env.get(d.name)) for d in session.scene.derived}
        knobs = {}
        if session.blend is not None:
            knobs = {f.name: _plain(getattr(session.blend.knobs, f.name))
                     for f in dataclasses.fields(session.blend.knobs)
                     if f.name not in ("extra", "meter")
                     and getattr(session.blend.knobs, f.name) is not None}
        return {"events": log.after(after) if log else [], "next": log.count if log else 0,
                "derived": derived, "knobs": knobs,
                "recording": session.id in self.recordings}

    def op_save_scene(self, request: dict) -> dict:
        if not self.saving:
            raise FailedPrecondition("saving scenes needs a console behind a token (--token) "
                                     "or on loopback")
        text = _text(request, "yaml")
        filename = _text(request, "filename")
        if not _FILENAME.match(filename):
            raise InvalidArgument("filename must be a plain NAME.yaml", field="filename")
        directory = self._scenes_dir()
        issues, _ = self.runtime.validate_scene(text, filename)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise SceneError(errors)
        path = directory / filename
        backup = None
        if path.exists():
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            backup = directory / ".backups" / f"{path.stem}-{stamp}{path.suffix}"
            backup.parent.mkdir(exist_ok=True)
            shutil.copy2(path, backup)
        tmp = path.with_name(f".{path.name}.saving")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: a reload never reads half a file
        return {"path": str(path), "backup": str(backup) if backup else None, "name": path.stem}

    def _scenes_dir(self) -> Path:
        if self.runtime.config.scenes_dir is None:
            raise FailedPrecondition("this server plays the shipped example scenes; start it "
                                     "with --scenes DIR to save scenes into DIR")
        return Path(self.runtime.config.scenes_dir)

    def op_snapshot(self, request: dict) -> dict:
        session = self.runtime.get(_text(request, "session_id"))
        name = _text(request, "name")
        if not _SNAPSHOT.match(name):
            raise InvalidArgument("a snapshot name is 1 to 60 printable characters", field="name")
        saved = self.snapshots.setdefault(session.scene.name, {})
        if name not in saved and len(saved) >= MAX_SNAPSHOTS:
            raise InvalidArgument(f"at most {MAX_SNAPSHOTS} snapshots per scene", field="name")
        saved[name] = {k: _plain(v) for k, v in session.inputs.items()}
        return {"snapshots": saved}

    def op_snapshots(self, request: dict) -> dict:
        session = self.runtime.get(_text(request, "session_id"))
        return {"snapshots": self.snapshots.get(session.scene.name, {})}

    def op_recall(self, request: dict) -> dict:
        session = self.runtime.get(_text(request, "session_id"))
        name = _text(request, "name")
        values = self.snapshots.get(session.scene.name, {}).get(name)
        if values is None:
            raise NotFound(f"no snapshot {name[:60]!r} for scene {session.scene.name!r}")
        known = {k: v for k, v in values.items() if k in session.scene.inputs}
        self.runtime.update_state(session.id, known)
        self.runtime.metrics.state_update("console")
        return {"values": known}

    def op_record(self, request: dict) -> dict:
        session = self.runtime.get(_text(request, "session_id"))
        if session.id in self.recordings:
            return {"recording": self.recordings[session.id].path.name}
        if session.recorder is not None:
            raise FailedPrecondition("this session is already recorded whole by the server "
                                     "(--record); use that file")
        loop = self.runtime.loop_of(session.id)
        info = loop.engine.info
        scene = session.scene
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        path = self.recordings_dir / f"{session.id}-{stamp}.cadrec"
        recorder = _OffsetRecorder(path, {
            "session_id": session.id,
            "scene": {"name": scene.name, "file": scene.file, "sha256": scene_hash(scene.source),
                      "yaml": scene.source},
            "engine": {"name": info.name, "version": info.version,
                       "block_frames": info.block_frames, "sample_rate": info.sample_rate},
            "seed": session.seed, "started_at": session.stream_time, "profiling": True,
        }, session.stream_time)
        # The moment the recording starts: the inputs, and a prompt override if any.
        recorder.event(session.stream_time, "state", values={k: _plain(v) for k, v in
                                                                session.inputs.items()})
        if session.override:
            recorder.event(session.stream_time, "prompts", prompts=dict(session.override))
        session.recorder = recorder
        self.recordings[session.id] = recorder
        return {"recording": path.name}

    def op_stop_record(self, request: dict) -> dict:
        sid = _text(request, "session_id")
        recorder = self.recordings.pop(sid, None)
        if recorder is None:
            raise FailedPrecondition("this session is not being recorded from the console")
        try:
            session = self.runtime.get(sid)
        except NotFound:
            session = None
        end = session.stream_time if session is not None else recorder.start
        if session is not None and session.recorder is recorder:
            session.recorder = None
        recorder.close(end)
        return {"recording": recorder.path.name, "url": f"/api/recordings/{recorder.path.name}",
                "events": recorder.events}

    def recording_file(self, name: str) -> Path | None:
        """The recording ``name`` if it is one of ours and finished (for the download)."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}-\d{8}T\d{6}\.cadrec", name):
            return None
        path = self.recordings_dir / name
        if not path.is_file() or any(r.path == path for r in self.recordings.values()):
            return None
        return path


def _text(request: Mapping, key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{key!r} is required (a string)", field=key)
    return value


def _plain(value: object) -> object:
    """JSON-safe: finite numbers, bools, strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))


__all__ = ["LOG_SIZE", "Profiler", "SessionLog"]
