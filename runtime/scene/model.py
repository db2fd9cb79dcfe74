"""The compiled scene: frozen, validated, ready to evaluate. Built only by the compiler."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import InvalidArgument
from ..vocabulary import Knobs, Prompt
from .durations import Duration
from .expr import BOOL, NUMBER, Compiled, EnumType, suggest


@dataclass(frozen=True)
class Input:
    """A state variable the game or sensors push. ``slew_rate``: units per second."""

    name: str
    type: str  # "number" | "enum" | "bool"
    default: float | str | bool
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    slew_rate: float | None = None
    dwell_s: float = 0.0  # a new value counts only once held this long
    cooldown_s: float = 0.0  # after a change counts, the next waits this long

    @property
    def expr_type(self):
        return EnumType(self.name, self.values) if self.type == "enum" else self.type

    def validate(self, value: object) -> float | str | bool:
        """Check one pushed value; returns it normalised or raises InvalidArgument."""
        name = self.name
        if self.type == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidArgument(
                    f"input {name!r} is a number, got {_describe(value)}", field=name)
            try:
                number = float(value)
            except OverflowError:  # an integer beyond any float (e.g. 400 JSON digits)
                number = math.inf if value > 0 else -math.inf
            if not math.isfinite(number):
                raise InvalidArgument(f"input {name!r} must be finite, got {number}", field=name)
            if not self.min <= number <= self.max:
                raise InvalidArgument(
                    f"input {name!r} must be within [{self.min:g}, {self.max:g}], got {number:g}",
                    field=name)
            return number
        if self.type == "bool":
            if not isinstance(value, bool):
                raise InvalidArgument(f"input {name!r} is a bool, got {_describe(value)}",
                                      field=name)
            return value
        if not isinstance(value, str):
            raise InvalidArgument(f"input {name!r} is an enum, got {_describe(value)}", field=name)
        if value not in self.values:
            raise InvalidArgument(
                f"input {name!r} has no value {value!r} (values: {', '.join(self.values)})"
                f"{suggest(value, self.values)}", field=name)
        return value


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


@dataclass(frozen=True)
class Derived:
    """A computed variable: an expression, or a hysteresis latch (enter/exit)."""

    name: str
    type: object
    expr: Compiled | None = None
    enter: Compiled | None = None
    exit: Compiled | None = None

    @property
    def is_latch(self) -> bool:
        return self.enter is not None


@dataclass(frozen=True)
class MixTerm:
    """One contribution to a prompt's weight: ``weight`` counted while ``when`` holds."""

    prompt: str
    weight: Compiled
    when: Compiled | None = None


EASES = ("linear", "in", "out", "in_out")


@dataclass(frozen=True)
class Transition:
    """How a blend change lands. A rule fires when ``condition`` rises (``edge`` "enter")
    or falls ("leave"); the default transition has no condition.

    ``at``: when the change may land: "immediate", "beat", "bar" or every ``bars`` bars
    (the next such boundary of the session's clock). ``glide``: how long the weights take
    to reach the new blend from there (seconds, beats or bars), shaped by ``ease``.
    ``fill``: a bridge — the prompt ``fill_prompt`` alone for ``fill`` before the glide.
    An immediate linear glide is a rate limit: a full 0 <-> 1 swing takes ``glide``.
    """

    name: str
    glide: Duration
    edge: str = ""  # "enter" | "leave" | "" (the default)
    condition: Compiled | None = None
    at: str = "immediate"  # "immediate" | "beat" | "bar" | "bars"
    bars: int = 1
    ease: str = "linear"
    fill_prompt: str | None = None
    fill: Duration | None = None

    @property
    def shaped(self) -> bool:
        """True when the change is scheduled and shaped rather than rate limited."""
        return self.at != "immediate" or self.ease != "linear" or self.fill_prompt is not None

    @property
    def glide_s(self) -> float:
        return self.glide.amount if self.glide.unit == "s" else 0.0


@dataclass(frozen=True)
class Stinger:
    """A one-shot laid over the music: an audio file or (engines that can) a phrase in the
    current key and tempo. Mixed in the runtime, sample-accurately at ``play_at``."""

    name: str
    audio: str | None = None
    phrase: str | None = None
    beats: float = 2.0  # phrase length
    play_at: str = "beat"  # "immediate" | "beat" | "bar"
    gain: float = 1.0  # linear
    duck_db: float = 0.0  # music level under the stinger (<= 0)
    cooldown_s: float = 0.0
    when: Compiled | None = None  # fire on this condition's rising edge


@dataclass(frozen=True)
class TimeSpec:
    """The scene's musical clock: tempo and time signature. Engines with their own beat
    grid (procedural) supply the clock themselves; for the others it is this one."""

    bpm: float = 120.0
    beats_per_bar: int = 4
    beat_unit: int = 4


@dataclass(frozen=True)
class KnobRule:
    """How one generation knob is computed. ``kind`` is "number", "bool", "scale" or
    "extra" (engine-specific conditioning, `Knobs.extra`)."""

    name: str
    expr: Compiled
    lo: float = 0.0
    hi: float = 0.0
    integer: bool = False
    kind: str = "number"


# Lyria RealTime's names and ranges: numbers (lo, hi, whole), then the others by kind.
KNOB_RANGES: Mapping[str, tuple[float, float, bool]] = MappingProxyType({
    "temperature": (0.0, 3.0, False),
    "top_k": (1.0, 1000.0, True),
    "guidance": (0.0, 6.0, False),
    "bpm": (60.0, 200.0, False),
    "density": (0.0, 1.0, False),
    "brightness": (0.0, 1.0, False),
})
BOOL_KNOBS: tuple[str, ...] = ("mute_bass", "mute_drums", "only_bass_and_drums")


@dataclass(frozen=True)
class Switch:
    """The blend jumps to ``weights`` at sample ``offset`` of the coming block (a quantized
    transition landing on its beat, already moved earlier by the engine's latency)."""

    offset: int
    weights: Mapping[str, float]


@dataclass(frozen=True)
class Blend:
    """What a scene asks for at one moment: prompt weights (normalised, > 0) and knobs.

    ``prompts`` maps every named prompt of the scene to its Prompt, so the style cache
    can embed them; ``weights`` holds only those with weight > 0, summing to 1 (empty
    when nothing is asked: the session then fades to silence).
    """

    weights: Mapping[str, float]
    prompts: Mapping[str, Prompt]
    knobs: Knobs = field(default_factory=Knobs)
    switch: Switch | None = None  # a quantized change landing inside the coming block
    fired: tuple[str, ...] = ()  # stingers whose ``when`` condition rose at this evaluation


@dataclass(frozen=True)
class Scene:
    """A compiled scene. ``source`` is the YAML text it came from (kept for recordings)."""

    name: str
    file: str
    description: str
    inputs: Mapping[str, Input]
    derived: tuple[Derived, ...]
    prompts: Mapping[str, Prompt]
    mix: tuple[MixTerm, ...]
    default: Transition
    transitions: tuple[Transition, ...]
    knobs: tuple[KnobRule, ...]
    seed: int | None
    engine: str | None
    source: str
    time: TimeSpec = field(default_factory=TimeSpec)
    stingers: Mapping[str, Stinger] = field(default_factory=dict)
    warnings: tuple = ()  # SceneIssue warnings from the compiler

    @property
    def glide_s(self) -> float:
        """The default glide in seconds (0 when it is given in beats or bars)."""
        return self.default.glide_s

    def validate_update(self, values: Mapping[str, object]) -> dict[str, float | str | bool]:
        """Validate a whole state update; all-or-nothing. Raises InvalidArgument naming the
        first bad variable."""
        out = {}
        for name, value in values.items():
            spec = self.inputs.get(name)
            if spec is None:
                raise InvalidArgument(
                    f"unknown input {name!r} in scene {self.name!r}"
                    f"{suggest(name, list(self.inputs))}", field=name)
            out[name] = spec.validate(value)
        return out

    def defaults(self) -> dict[str, float | str | bool]:
        return {name: spec.default for name, spec in self.inputs.items()}

    def summary(self) -> str:
        lines = [f"scene {self.name!r} ({self.file})"]
        for spec in self.inputs.values():
            if spec.type == "number":
                extra = f"[{spec.min:g}, {spec.max:g}] default {spec.default:g}"
                if spec.slew_rate:
                    extra += f", slew {spec.slew_rate:g}/s"
            elif spec.type == "enum":
                extra = f"{{{', '.join(spec.values)}}} default {spec.default}"
            else:
                extra = f"default {str(spec.default).lower()}"
            lines.append(f"  input   {spec.name}: {spec.type} {extra}")
        for d in self.derived:
            kind = "latch (enter/exit)" if d.is_latch else f"{d.type}"
            lines.append(f"  derived {d.name}: {kind}")
        for name, prompt in self.prompts.items():
            lines.append(f"  prompt  {name}: {prompt.text if prompt.text else 'audio ' + prompt.audio}")
        knobs = ", ".join(k.name for k in self.knobs) or "engine defaults"
        seed = f", seed {self.seed}" if self.seed is not None else ""
        for st in self.stingers.values():
            source = f"audio {st.audio}" if st.audio else f"phrase {st.phrase!r}"
            lines.append(f"  stinger {st.name}: {source} at {st.play_at}")
        time = self.time
        lines.append(f"  time    {time.bpm:g} bpm {time.beats_per_bar}/{time.beat_unit}")
        lines.append(f"  knobs   {knobs}{seed}; glide {self.default.glide}, "
                     f"{len(self.transitions)} transition rule(s)")
        return "\n".join(lines)


__all__ = ["BOOL", "NUMBER", "Blend", "Derived", "Input", "KnobRule", "MixTerm", "Scene",
           "Stinger", "TimeSpec", "Transition"]
