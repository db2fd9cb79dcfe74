"""Offline render: a scene plus a timeline, as fast as the engine can, to a WAV file.

The same session and generation loop as the server, driven without a clock: every step
produces the next block, and timeline events apply at the first block boundary at or
after their time. The designer's audition tool, and our test bench.
"""

from __future__ import annotations

import bisect
import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .engines.base import Engine
from .errors import EngineError, InvalidArgument, SceneError, SceneIssue
from .scene import Scene
from .session import GenerationLoop, SessionEvent
from .session.chunk import Chunk, EventKind
from .sinks import WavSink
from .timeline import TimelineEvent


@dataclass
class BlendPoint:
    time_s: float
    weights: dict[str, float]
    inputs: dict[str, object] = field(default_factory=dict)   # as the scene heard them
    knobs: dict[str, object] = field(default_factory=dict)    # the knobs the scene set


@dataclass(frozen=True)
class StingerFired:
    time_s: float   # where it plays (its quantized start)
    name: str
    status: str     # scheduled, suppressed (cooling down), unavailable
    bar: int | None = None   # 1-based
    beat: int | None = None


@dataclass
class RenderResult:
    path: Path
    frames: int
    sample_rate: int
    seed: int
    wall_seconds: float
    blends: list[BlendPoint] = field(default_factory=list)
    unknown_words: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a knob that evaluated to NaN
    error: str | None = None  # why the session ended early (an engine failure)
    stingers: list[StingerFired] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def speed(self) -> float:
        """Multiple of real time achieved."""
        return self.seconds / self.wall_seconds if self.wall_seconds > 0 else float("inf")


class _Recorder:
    """Listener that keeps the blend over time and the unknown-word reports."""

    def __init__(self, rate: int, result: RenderResult) -> None:
        self.rate = rate
        self.result = result

    session = None  # set by render(): inputs and knobs are read from it per chunk

    def on_chunk(self, chunk: Chunk) -> None:
        inputs: dict[str, object] = {}
        knobs: dict[str, object] = {}
        if self.session is not None:
            env = self.session.evaluator.env
            inputs = {k: env[k] for k in self.session.scene.inputs if k in env}
            inputs.update({d.name: env[d.name] for d in self.session.scene.derived if d.name in env})
            blend = self.session.blend
            if blend is not None:
                knobs = {k: v for k, v in vars(blend.knobs).items()
                         if v is not None and k not in ("extra", "meter")}
        self.result.blends.append(BlendPoint(chunk.stream_time / self.rate, dict(chunk.weights),
                                             inputs, knobs))

    def on_event(self, event: SessionEvent) -> None:
        if event.kind == EventKind.STINGER:
            d = event.detail
            at = d.get("at") if isinstance(d.get("at"), (int, float)) else event.stream_time
            clock = getattr(self.session, "clock", None)
            bar = beat = None
            if clock is not None:
                whole = int(clock.beat_at(at) + 1e-6)
                bar, beat = whole // clock.beats_per_bar + 1, whole % clock.beats_per_bar + 1
            self.result.stingers.append(StingerFired(at / self.rate, str(d.get("stinger")),
                                                     str(d.get("status")), bar, beat))
        elif event.kind == EventKind.UNKNOWN_WORDS:
            self.result.unknown_words[str(event.detail["prompt"])] = list(event.detail["words"])
        elif event.kind == EventKind.ERROR:
            message = str(event.detail.get("message", ""))
            if event.detail.get("severity") == "warning":
                self.result.warnings.append(message)
            elif self.result.error is None:
                self.result.error = message or "the engine failed"


def render(scene: Scene, engine: Engine, out: str | Path, seconds: float,
           timeline: Sequence[TimelineEvent] = (), seed: int | None = None,
           subtype: str = "PCM_16", timeline_file: str = "<timeline>") -> RenderResult:
    """Render ``seconds`` of ``scene`` to ``out``. Invalid timeline values raise
    SceneError naming the timeline line and field. If the session fails before the end
    (an engine error), the partial file is removed and EngineError says why: a render
    never leaves a short file behind as if it had succeeded."""
    if not isinstance(seconds, (int, float)) or not 0 < seconds <= 24 * 3600:
        raise InvalidArgument(f"render length must be within (0, 86400] seconds, got {seconds!r}",
                              field="seconds")
    loop = GenerationLoop(engine, lookahead_s=0.0)
    session = loop.open(scene, seed)
    rate = engine.info.sample_rate
    result = RenderResult(Path(out), 0, rate, session.seed, 0.0)
    _check_timeline(scene, timeline, timeline_file)
    sink = WavSink(out, rate, engine.info.channels, subtype)
    session.attach(sink)
    recorder = _Recorder(rate, result)
    recorder.session = session
    session.attach(recorder)
    loop.control(session, "play")
    total = round(seconds * rate)
    pending = list(timeline)
    started = time.perf_counter()
    try:
        while session.stream_time < total:
            while pending and pending[0].at_s * rate <= session.stream_time:
                _apply(loop, session, pending.pop(0))
            if not loop.step():
                # Paused by the timeline: skip ahead to the next event (no audio while paused).
                if not pending:
                    break
                _apply(loop, session, pending.pop(0))
    finally:
        sink.close()
    result.wall_seconds = time.perf_counter() - started
    result.frames = sink.frames
    if result.error is not None or (not session.state.live and result.frames < total):
        Path(out).unlink(missing_ok=True)
        raise EngineError(f"render failed after {result.frames / rate:.2f} of {seconds:g} s: "
                          f"{result.error or 'the session ended early'}; no file written")
    return result


def _check_timeline(scene: Scene, timeline: Sequence[TimelineEvent], file: str) -> None:
    issues = []
    for i, event in enumerate(timeline):
        try:
            scene.validate_update(event.set)
        except Exception as exc:  # InvalidArgument with the field named
            field_name = getattr(exc, "field", None) or ""
            issues.append(SceneIssue(file, event.line, f"[{i}].set.{field_name}", str(exc)))
        if event.trigger and event.trigger not in scene.stingers:
            issues.append(SceneIssue(file, event.line, f"[{i}].trigger",
                                     f"scene {scene.name!r} has no stinger {event.trigger!r}"))
    if issues:
        raise SceneError(issues)


def _apply(loop: GenerationLoop, session, event: TimelineEvent) -> None:
    if event.set:
        session.update_state(event.set)
    if event.prompts is not None:
        session.set_prompts(event.prompts)
    if event.control:
        loop.control(session, event.control)
    if event.trigger:
        session.trigger(event.trigger)


def write_blend_csv(result: RenderResult, path: str | Path) -> None:
    """The blend over time, one row per block: time_s, one column per prompt (weight),
    then ``in:NAME`` per input and derived value, ``knob:NAME`` per knob the scene set,
    and ``stingers``: those starting in that block (``name`` or ``name (suppressed)``)."""
    names = sorted({name for point in result.blends for name in point.weights})
    inputs = list(dict.fromkeys(k for point in result.blends for k in point.inputs))
    knobs = sorted({k for point in result.blends for k in point.knobs})
    fired: dict[int, list[str]] = {}
    times = [point.time_s for point in result.blends]
    for st in result.stingers:
        row = max(0, bisect.bisect_right(times, st.time_s + 1e-9) - 1)
        fired.setdefault(row, []).append(st.name if st.status == "scheduled"
                                         else f"{st.name} ({st.status})")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", *names, *(f"in:{k}" for k in inputs),
                         *(f"knob:{k}" for k in knobs), "stingers"])
        for i, point in enumerate(result.blends):
            writer.writerow([f"{point.time_s:.3f}", *(f"{point.weights.get(n, 0.0):.4f}" for n in names),
                             *(_cell(point.inputs.get(k)) for k in inputs),
                             *(_cell(point.knobs.get(k)) for k in knobs), " ".join(fired.get(i, []))])


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def blend_summary(result: RenderResult, min_weight: float = 0.05) -> list[str]:
    """Human-readable segments: when each prompt was audible (weight >= min_weight)."""
    lines = []
    names = sorted({name for point in result.blends for name in point.weights})
    for name in names:
        segments, start, peak = [], None, 0.0
        for point in [*result.blends, BlendPoint(result.seconds, {})]:
            w = point.weights.get(name, 0.0)
            if w >= min_weight and start is None:
                start, peak = point.time_s, w
            elif w >= min_weight:
                peak = max(peak, w)
            elif start is not None:
                segments.append(f"{start:.1f}-{point.time_s:.1f}s (peak {peak:.2f})")
                start = None
        lines.append(f"  {name}: " + (", ".join(segments) if segments else "never audible"))
    return lines
