"""Timeline files for offline renders: what the game "does" at which second.

    - at: 4s
      set: {danger: 0.8, biome: cave}
    - at: 10s
      prompts: {"calm piano": 1.0}      # direct prompts (as SetPrompts); {} returns to the scene
    - at: 12s
      control: pause | play | reset
    - at: 14s
      trigger: hit                      # fire a stinger

Parsed once into `TimelineEvent`s (sorted by time); values are validated against the
scene when the render applies them, with file:line errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SceneError, SceneIssue
from .scene.durations import parse_seconds
from .scene.limits import DEFAULT_LIMITS, SceneLimits
from .scene.source import YamlSyntaxError, format_path, parse_yaml

CONTROLS = ("play", "pause", "reset")


@dataclass(frozen=True)
class TimelineEvent:
    at_s: float
    line: int | None
    set: Mapping[str, object] = field(default_factory=dict)
    prompts: Mapping[str, float] | None = None
    control: str | None = None
    trigger: str | None = None


def load_timeline(path: str | Path) -> list[TimelineEvent]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8
        raise SceneError([SceneIssue(str(path), None, "", f"cannot read timeline: {exc}")]) from None
    return parse_timeline(text, str(path))


def parse_timeline(text: str, filename: str = "<timeline>",
                   limits: SceneLimits = DEFAULT_LIMITS) -> list[TimelineEvent]:
    """Events sorted by time; SceneError (file:line field) for any mistake, including a
    timeline over the limits (size, nesting, ``max_timeline_events`` events)."""
    try:
        source = parse_yaml(text, limits)
    except YamlSyntaxError as exc:
        raise SceneError([SceneIssue(filename, exc.line, "", str(exc))]) from None
    issues: list[SceneIssue] = []

    def error(path: tuple, message: str) -> None:
        issues.append(SceneIssue(filename, source.line(path), format_path(path), message))

    data = source.data or []
    if not isinstance(data, list):
        error((), "a timeline is a list of events: '- at: 4s' then 'set: {...}'")
        raise SceneError(issues)
    if len(data) > limits.max_timeline_events:
        error((), f"a timeline of {len(data)} events is over the limit of "
                  f"{limits.max_timeline_events}")
        raise SceneError(issues)
    events = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            error((i,), "each timeline event is a mapping with 'at' and 'set'/'prompts'/'control'")
            continue
        for key in item:
            if key not in ("at", "set", "prompts", "control", "trigger"):
                error((i, key), f"unknown key {key!r}; allowed: at, set, prompts, control, trigger")
        at = parse_seconds(item.get("at"))
        if at is None:
            error((i, "at"), f"'at' must be a time such as 4s or 1.5, got {item.get('at')!r}")
            continue
        values = item.get("set", {}) or {}
        if not isinstance(values, dict):
            error((i, "set"), "'set' must map input names to values")
            continue
        prompts = item.get("prompts")
        if prompts is not None and not isinstance(prompts, dict):
            error((i, "prompts"), "'prompts' must map prompt text to a weight")
            continue
        control = item.get("control")
        if control is not None and control not in CONTROLS:
            error((i, "control"), f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
            continue
        trigger = item.get("trigger")
        if trigger is not None and not isinstance(trigger, str):
            error((i, "trigger"), "trigger names one of the scene's stingers")
            continue
        events.append(TimelineEvent(at, source.line((i,)), values, prompts, control, trigger))
    if issues:
        raise SceneError(issues)
    return sorted(events, key=lambda e: e.at_s)
