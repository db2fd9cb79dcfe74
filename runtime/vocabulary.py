"""The shared vocabulary of scenes, sessions, engines and transports: prompts, generation
knobs (Lyria RealTime's names and ranges), scales, and the live generation config.

Imports nothing of the runtime but `errors`, so the scene package, the engines and the
edge kit all use one definition without importing each other (tests/test_layers.py).
`cadenza.runtime.engines.base` re-exports `Prompt`, `Knobs`, `SCALES`, `KNOB_NAMES` and
`SCALE_UNSPECIFIED` for the code that imports them from there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import InvalidArgument


@dataclass(frozen=True)
class Prompt:
    """A style prompt: exactly one of ``text`` or ``audio`` (a path to a sound file)."""

    text: str | None = None
    audio: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.audio is None):
            raise ValueError("a prompt has exactly one of text or audio")

    @property
    def kind(self) -> str:
        return "text" if self.text is not None else "audio"

    @property
    def key(self) -> str:
        """A stable cache key (the text, or ``audio:`` + path)."""
        return self.text if self.text is not None else f"audio:{self.audio}"


# Lyria RealTime's scale names: a major key and its relative minor share one pitch set.
SCALES: tuple[str, ...] = (
    "C_MAJOR_A_MINOR", "D_FLAT_MAJOR_B_FLAT_MINOR", "D_MAJOR_B_MINOR", "E_FLAT_MAJOR_C_MINOR",
    "E_MAJOR_D_FLAT_MINOR", "F_MAJOR_D_MINOR", "G_FLAT_MAJOR_E_FLAT_MINOR", "G_MAJOR_E_MINOR",
    "A_FLAT_MAJOR_F_MINOR", "A_MAJOR_G_FLAT_MINOR", "B_FLAT_MAJOR_G_MINOR", "B_MAJOR_A_FLAT_MINOR",
)
SCALE_UNSPECIFIED = "SCALE_UNSPECIFIED"

# Every generation knob, with Lyria RealTime's names. An engine lists in EngineInfo.knobs
# the ones it honours; the rest are reported as unsupported (never silently ignored).
KNOB_NAMES: tuple[str, ...] = (
    "temperature", "top_k", "seed", "guidance", "bpm", "density", "brightness", "scale",
    "mute_bass", "mute_drums", "only_bass_and_drums",
)


@dataclass(frozen=True)
class Knobs:
    """Per-session generation knobs, one value per row of a batch.

    Names and ranges follow Lyria RealTime: temperature 0-3, top_k 1-1000, guidance 0-6,
    bpm 60-200, density 0-1, brightness 0-1, scale one of `SCALES`. ``None`` leaves the
    engine's own choice (for procedural: what the prompts say). ``extra`` carries
    engine-specific conditioning (e.g. MRT2 notes/drums). The seed is not here: it is
    fixed per session at `init_state`.

    ``bpm`` counts quarter notes per minute whatever the meter (as DAWs and Lyria do).
    ``meter`` is not a Lyria knob: it is the scene's time signature (beats per bar, beat
    unit), which engines with their own beat grid play from their next bar line.
    """

    temperature: float | None = None
    top_k: int | None = None
    guidance: float | None = None
    bpm: float | None = None
    density: float | None = None
    brightness: float | None = None
    scale: str | None = None
    mute_bass: bool | None = None
    mute_drums: bool | None = None
    only_bass_and_drums: bool | None = None
    extra: Mapping[str, float] = field(default_factory=dict)
    meter: tuple[int, int] | None = None
    mode: str | None = None  # Lyria's music_generation_mode (see `MODES`); set live only

    def set_fields(self) -> list[str]:
        """Names of the knobs given a value (for "unsupported knob" reporting)."""
        return [f for f in KNOB_NAMES if f != "seed" and getattr(self, f, None) is not None]


# ------------------------------------------------------------- live generation config
MODES: tuple[str, ...] = ("quality", "diversity", "vocalization")
SEED_MAX = 2**31 - 1


@dataclass(frozen=True)
class ConfigField:
    """One live generation-config field: its type and Lyria RealTime's range."""

    name: str
    kind: str  # "number" | "integer" | "bool" | "scale" | "mode"
    lo: float | None = None
    hi: float | None = None


CONFIG_FIELDS: Mapping[str, ConfigField] = {f.name: f for f in (
    ConfigField("temperature", "number", 0.0, 3.0),
    ConfigField("top_k", "integer", 1, 1000),
    ConfigField("guidance", "number", 0.0, 6.0),
    ConfigField("seed", "integer", 0, SEED_MAX),
    ConfigField("bpm", "number", 60.0, 200.0),
    ConfigField("density", "number", 0.0, 1.0),
    ConfigField("brightness", "number", 0.0, 1.0),
    ConfigField("scale", "scale"),
    ConfigField("mute_bass", "bool"),
    ConfigField("mute_drums", "bool"),
    ConfigField("only_bass_and_drums", "bool"),
    ConfigField("mode", "mode"),
)}
CLEAR_ALL = "*"


def validate_config_value(name: str, value: object) -> float | int | bool | str:
    """One field's value, checked against its type and range. Raises InvalidArgument
    with field ``config.<name>``."""
    spec = CONFIG_FIELDS.get(name)
    where = f"config.{name}"
    if spec is None:
        raise InvalidArgument(f"unknown config field {name[:40]!r}; fields: "
                              f"{', '.join(CONFIG_FIELDS)}", field="config")
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name} must be true or false", field=where)
        return value
    if spec.kind in ("scale", "mode"):
        if not isinstance(value, str):
            raise InvalidArgument(f"{name} must be a string", field=where)
        if spec.kind == "scale":
            if value.upper() not in (*SCALES, SCALE_UNSPECIFIED):
                raise InvalidArgument(f"scale must be one of {', '.join(SCALES)} or "
                                      f"{SCALE_UNSPECIFIED}", field=where)
            return value.upper()
        if value.lower() not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}", field=where)
        return value.lower()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{name} must be a number", field=where)
    if not math.isfinite(value):
        raise InvalidArgument(f"{name} must be finite", field=where)
    if spec.kind == "integer":
        if value != int(value):
            raise InvalidArgument(f"{name} must be a whole number", field=where)
        value = int(value)
    assert spec.lo is not None and spec.hi is not None
    if not spec.lo <= value <= spec.hi:
        raise InvalidArgument(f"{name} must be within [{spec.lo:g}, {spec.hi:g}], got {value:g}",
                              field=where)
    return value if spec.kind == "integer" else float(value)


def merge_config(current: Mapping[str, object], values: Mapping[str, object] | None,
                 clear: Iterable[str] = ()) -> dict[str, object]:
    """The live override after clearing ``clear`` then setting ``values`` (a ``None``
    value clears its field; ``"*"`` in ``clear`` clears every field). All or nothing:
    raises InvalidArgument (field ``config.<name>`` or ``clear``) and changes nothing."""
    out = dict(current)
    for name in clear:
        if name == CLEAR_ALL:
            out.clear()
        elif name in CONFIG_FIELDS:
            out.pop(name, None)
        else:
            shown = name[:40] if isinstance(name, str) else type(name).__name__
            raise InvalidArgument(f"cannot clear unknown config field {shown!r}", field="clear")
    for name, value in (values or {}).items():
        if value is None:
            if name not in CONFIG_FIELDS:
                validate_config_value(name, value)
            out.pop(name, None)
        else:
            out[name] = validate_config_value(name, value)
    return out


def knob_overrides(config: Mapping[str, object]) -> dict[str, object]:
    """The part of a live config that replaces `Knobs` fields (all but the seed)."""
    return {k: v for k, v in config.items() if k != "seed"}
