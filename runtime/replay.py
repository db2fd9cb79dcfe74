"""`cadenza replay`: render a session recording again, and compare two renders.

The replay drives the same session and generation loop as the server, offline, applying
each recorded event before the block that starts at its stream time — exactly where the
live session applied it. With the procedural engine the result is bit-identical to what
was streamed; model engines are as reproducible as they are (see docs/scenes.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from .engines import create_engine
from .engines.base import Engine
from .scene import compile_scene
from .session import GenerationLoop, Session
from .session.chunk import Chunk, SessionEvent
from .session.recording import Recording, load_recording, scene_hash
from .sinks import WavSink

log = logging.getLogger("cadenza.replay")


@dataclass
class ReplayResult:
    path: Path | None
    frames: int
    warnings: list[str]


def open_replay(recording: Recording, engine: Engine | None = None
                ) -> tuple[GenerationLoop, Session, list[str]]:
    """A loop and a fresh session set up as the recording's session was created."""
    header = recording.header
    warnings = []
    scene_info = header["scene"]
    if scene_hash(scene_info["yaml"]) != scene_info["sha256"]:
        warnings.append("the recorded scene does not match its hash")
    file = scene_info.get("file") or "<recording>"
    base = Path(file).parent if file and not file.startswith("<") else None
    scene = compile_scene(scene_info["yaml"], file, base_dir=base, check_files=False)
    wanted = header["engine"]
    engine = engine or create_engine(wanted["name"])
    info = engine.info
    if (info.name, info.version) != (wanted["name"], wanted["version"]):
        warnings.append(f"recorded with {wanted['name']} {wanted['version']}, replaying with "
                        f"{info.name} {info.version}: the audio may differ")
    if info.block_frames != wanted["block_frames"]:
        warnings.append(f"block size {info.block_frames} differs from the recorded "
                        f"{wanted['block_frames']}")
    loop = GenerationLoop(engine, lookahead_s=0.0)
    session = loop.open(scene, int(header["seed"]), session_id=header.get("session_id"))
    return loop, session, warnings


def apply(loop: GenerationLoop, session: Session, event: dict) -> None:
    kind = event["type"]
    if kind == "state":
        session.update_state(event["values"])
    elif kind == "prompts":
        session.set_prompts(event["prompts"] or None)
    elif kind == "trigger":
        session.trigger(event["stinger"])
    elif kind == "config":  # the whole live override, as recorded
        session.set_config(event["config"], ["*"])
    elif kind == "control":
        loop.control(session, event["action"])
    elif kind == "scene":
        session.swap_scene(compile_scene(event["yaml"], event.get("file") or "<inline>",
                                         check_files=False), event.get("crossfade_s"))
    else:
        raise ValueError(f"unknown recorded event {kind!r}")


def run(recording: Recording, on_chunk: Callable[[Chunk], None], engine: Engine | None = None,
        until: int | None = None) -> tuple[int, list[str]]:
    """Replay into ``on_chunk`` until the recorded end (or sample ``until``)."""
    loop, session, warnings = open_replay(recording, engine)

    class _Relay:
        def on_chunk(self, chunk: Chunk) -> None:
            on_chunk(chunk)

        def on_event(self, event: SessionEvent) -> None:
            pass

    session.attach(_Relay())
    end = until if until is not None else recording.end
    if end is None:
        last = max((e["t"] for e in recording.events), default=0)
        end = last + 10 * loop.rate  # no end line (a crash): 10 s past the last event
        warnings.append("the recording has no end (the server stopped abruptly); replaying "
                        "10 s past its last event")
    events = list(recording.events)
    i = 0
    while session.stream_time < end:
        while i < len(events) and events[i]["t"] <= session.stream_time:
            apply(loop, session, events[i])
            i += 1
        if not session.state.live:
            break
        if not loop.step():
            if i >= len(events):
                break
            apply(loop, session, events[i])  # paused: the next event is at this time
            i += 1
    return session.stream_time, warnings


def replay(path: str | Path, out: str | Path, subtype: str = "PCM_16",
           engine: Engine | None = None) -> ReplayResult:
    recording = load_recording(path)
    rate = recording.header["engine"]["sample_rate"]
    sink = WavSink(out, rate, 2, subtype)
    try:
        frames, warnings = run(recording, sink.on_chunk, engine)
    finally:
        sink.close()
    return ReplayResult(Path(out), frames, warnings)


@dataclass
class Difference:
    sample: int | None  # first differing frame, None when identical
    seconds: float
    frames: tuple[int, int]
    blend: dict[str, float]
    clock: object | None = None


def diff(a: str | Path, b: str | Path, recording: str | Path | None = None) -> Difference:
    """The first frame where two renders differ, and (with the recording) the blend and
    beat position the session had at that moment."""
    x, rate = soundfile.read(a, dtype="float32", always_2d=True)
    y, _ = soundfile.read(b, dtype="float32", always_2d=True)
    n = min(len(x), len(y))
    differs = np.flatnonzero(np.any(x[:n] != y[:n], axis=1))
    if len(differs):
        first = int(differs[0])
    elif len(x) != len(y):
        first = n
    else:
        return Difference(None, 0.0, (len(x), len(y)), {})
    blend: dict[str, float] = {}
    clock = None
    if recording is not None:
        found: list[Chunk] = []

        def keep(chunk: Chunk) -> None:
            if chunk.stream_time <= first < chunk.stream_time + chunk.frames:
                found.append(chunk)

        run(load_recording(recording), keep, until=first + 1)
        if found:
            blend, clock = dict(found[0].weights), found[0].clock
    return Difference(first, first / rate, (len(x), len(y)), blend, clock)
