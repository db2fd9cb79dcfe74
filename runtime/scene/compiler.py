"""Scene compiler: YAML text -> frozen `Scene`, or a `SceneError` listing every mistake.

Pure: the only I/O is `load_scene` reading the file and (optionally) checking that audio
prompt files exist. Every issue names file, line and field path.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import Any

from ..engines.base import Prompt
from ..errors import SceneError, SceneIssue
from .durations import parse_seconds
from .expr import ANY, BOOL, FUNCTIONS, KEYWORDS, NUMBER, Compiled, Compiler, ExprError, suggest
from .model import KNOB_RANGES, Derived, Input, KnobRule, MixTerm, Scene, Transition
from .source import Path, Source, YamlSyntaxError, format_path, parse_yaml

TOP_KEYS = ("scene", "description", "engine", "inputs", "derived", "prompts", "mix",
            "transitions", "knobs")
INPUT_KEYS = {
    "number": ("type", "min", "max", "default", "slew", "slew_rate", "description"),
    "enum": ("type", "values", "default", "description"),
    "bool": ("type", "default", "description"),
}
MIX_KEYS = ("prompt", "weight", "when", "curve", "points")
KNOB_KEYS = (*KNOB_RANGES, "seed")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_GLIDE_S = 1.5


def load_scene(path: str | FsPath, check_files: bool = True) -> Scene:
    """Read and compile a scene file (audio prompt paths are relative to it)."""
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneError([SceneIssue(str(path), None, "", f"cannot read scene: {exc}")]) from None
    return compile_scene(text, filename=str(path), base_dir=path.parent, check_files=check_files)


def compile_scene(text: str, filename: str = "<scene>", base_dir: str | FsPath | None = None,
                  check_files: bool = True) -> Scene:
    """Compile scene YAML. Raises SceneError with every error found (warnings are kept on
    the scene as ``Scene.warnings``)."""
    try:
        source = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise SceneError([SceneIssue(filename, exc.line, "", str(exc))]) from None
    ctx = _Context(filename, source, FsPath(base_dir) if base_dir else None, check_files)
    scene = ctx.compile(text)
    errors = [i for i in ctx.issues if i.severity == "error"]
    if errors or scene is None:
        raise SceneError(errors or [SceneIssue(filename, 1, "", "scene is empty")])
    return replace(scene, warnings=tuple(i for i in ctx.issues if i.severity == "warning"))


class _Context:
    def __init__(self, file: str, source: Source, base_dir: FsPath | None,
                 check_files: bool) -> None:
        self.file = file
        self.source = source
        self.base_dir = base_dir
        self.check_files = check_files
        self.issues: list[SceneIssue] = []
        self.names: dict[str, Any] = {}
        self.broken_prompts: set[str] = set()  # defined but invalid: no cascading errors

    # ------------------------------------------------------------------------ issues
    def error(self, path: Path, message: str, column: int | None = None,
              severity: str = "error") -> None:
        self.issues.append(SceneIssue(self.file, self.source.line(path), format_path(path),
                                      message, severity, column))

    def warn(self, path: Path, message: str) -> None:
        self.error(path, message, severity="warning")

    def expect_mapping(self, value: Any, path: Path, what: str) -> dict | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping (key: value), got {_kind(value)}")
            return None
        return value

    def unknown_keys(self, mapping: dict, allowed: tuple[str, ...], path: Path) -> None:
        for key in mapping:
            if key not in allowed:
                self.error((*path, key), f"unknown key {key!r}{suggest(str(key), allowed)}; "
                                         f"allowed: {', '.join(allowed)}")

    def expression(self, value: Any, path: Path, want: str) -> Compiled | None:
        """Compile a number/bool constant or an expression string of type ``want``."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                self.error(path, f"must be a finite number, got {value}")
                return None
            value = repr(float(value))
        if not isinstance(value, str):
            self.error(path, f"must be a {want} or an expression string, got {_kind(value)}")
            return None
        try:
            compiled = Compiler(self.names).compile(value)
        except ExprError as exc:
            self.error(path, str(exc), column=exc.column)
            return None
        if compiled.type not in (want, ANY):
            self.error(path, f"must be a {want} expression, but {value!r} is a {compiled.type}")
            return None
        return compiled

    # ---------------------------------------------------------------------- sections
    def compile(self, text: str) -> Scene | None:
        for path, line in self.source.duplicates:
            self.issues.append(SceneIssue(self.file, line, format_path(path),
                                          f"duplicate key {path[-1]!r} (the later one would "
                                          f"silently win)"))
        doc = self.source.data
        if doc is None:
            self.error((), "scene is empty: expected a mapping with at least 'scene' and "
                           "'prompts'")
            return None
        if not isinstance(doc, dict):
            self.error((), f"a scene must be a mapping, got {_kind(doc)}")
            return None
        self.unknown_keys(doc, TOP_KEYS, ())
        name = doc.get("scene")
        if not isinstance(name, str) or not name.strip():
            self.error(("scene",) if "scene" in doc else (),
                       "every scene needs a name: 'scene: my_scene'" if "scene" not in doc
                       else f"scene name must be a non-empty string, got {_kind(name)}")
            name = "?"
        description = doc.get("description") or ""
        if not isinstance(description, str):
            self.error(("description",), "description must be a string")
            description = ""
        engine = doc.get("engine")
        if engine is not None and not isinstance(engine, str):
            self.error(("engine",), "engine must be an engine name such as 'procedural'")
            engine = None

        inputs = self.inputs(doc.get("inputs"))
        derived = self.derived(doc.get("derived"))
        prompts = self.prompts(doc.get("prompts"))
        mix = self.mix(doc.get("mix"), prompts)
        glide, transitions = self.transitions(doc.get("transitions"))
        knobs, seed = self.knobs(doc.get("knobs"))
        return Scene(
            name=name, file=self.file, description=description,
            inputs=MappingProxyType(inputs), derived=tuple(derived),
            prompts=MappingProxyType(prompts), mix=tuple(mix), glide_s=glide,
            transitions=tuple(transitions), knobs=tuple(knobs), seed=seed, engine=engine,
            source=text,
        )

    def _check_name(self, name: Any, path: Path, what: str) -> bool:
        if not isinstance(name, str) or not _NAME.match(name):
            self.error(path, f"{what} name {name!r} must be an identifier (letters, digits, _)")
            return False
        if name in KEYWORDS or name in FUNCTIONS:
            self.error(path, f"{what} name {name!r} is reserved by the expression language")
            return False
        if name in self.names:
            self.error(path, f"{what} name {name!r} is already defined")
            return False
        return True

    def inputs(self, section: Any) -> dict[str, Input]:
        out: dict[str, Input] = {}
        mapping = self.expect_mapping(section, ("inputs",), "inputs")
        for name, spec in (mapping or {}).items():
            path = ("inputs", name)
            if not self._check_name(name, path, "input"):
                continue
            parsed = self.input(name, spec, path)
            if parsed:
                out[name] = parsed
            # A broken input is still a known name, so its uses do not cascade into errors.
            self.names[name] = parsed.expr_type if parsed else ANY
        return out

    def input(self, name: str, spec: Any, path: Path) -> Input | None:
        spec = self.expect_mapping(spec, path, f"input {name!r}")
        if spec is None:
            return None
        kind = spec.get("type")
        if kind not in INPUT_KEYS:
            where = (*path, "type") if "type" in spec else path
            if kind is None:
                self.error(where, f"input {name!r} needs a type: number, enum or bool")
            else:
                self.error(where, f"input {name!r} has unknown type {kind!r}"
                                  f"{suggest(str(kind), INPUT_KEYS)}; types: number, enum, bool")
            return None
        self.unknown_keys(spec, INPUT_KEYS[kind], path)
        if kind == "bool":
            default = spec.get("default", False)
            if not isinstance(default, bool):
                self.error((*path, "default"), f"default of bool input {name!r} must be true or "
                                               f"false, got {_kind(default)}")
                return None
            return Input(name, "bool", default)
        if kind == "enum":
            values = spec.get("values")
            if (not isinstance(values, list) or not values
                    or not all(isinstance(v, str) and v for v in values)):
                self.error((*path, "values"), f"enum input {name!r} needs 'values': a non-empty "
                                              f"list of strings")
                return None
            if len(set(values)) != len(values):
                self.error((*path, "values"), f"enum input {name!r} lists a value twice")
                return None
            default = spec.get("default", values[0])
            if default not in values:
                self.error((*path, "default"), f"default {default!r} is not one of {values}"
                                               f"{suggest(str(default), values)}")
                return None
            return Input(name, "enum", default, values=tuple(values))
        lo, hi = spec.get("min"), spec.get("max")
        ok = True
        for key, value in (("min", lo), ("max", hi)):
            if not _is_number(value):
                self.error((*path, key) if key in spec else path,
                           f"number input {name!r} needs a finite '{key}'"
                           + (f", got {_kind(value)}" if key in spec else ""))
                ok = False
        if not ok:
            return None
        if lo >= hi:
            self.error((*path, "max"), f"max ({hi:g}) must be greater than min ({lo:g})")
            return None
        default = spec.get("default", lo)
        if not _is_number(default) or not lo <= default <= hi:
            self.error((*path, "default"), f"default must be a number within [{lo:g}, {hi:g}], "
                                           f"got {default!r}")
            return None
        rate = None
        if "slew" in spec and "slew_rate" in spec:
            self.error((*path, "slew_rate"), "give either 'slew' (time for the full range) or "
                                             "'slew_rate' (units per second), not both")
        elif "slew" in spec:
            seconds = self.duration(spec["slew"], (*path, "slew"))
            if seconds is not None and seconds > 0:
                rate = (hi - lo) / seconds
        elif "slew_rate" in spec:
            value = spec["slew_rate"]
            if not _is_number(value) or value <= 0:
                self.error((*path, "slew_rate"), f"slew_rate must be a positive number of "
                                                 f"units per second, got {value!r}")
            else:
                rate = float(value)
        return Input(name, "number", float(default), float(lo), float(hi), slew_rate=rate)

    def derived(self, section: Any) -> list[Derived]:
        out: list[Derived] = []
        mapping = self.expect_mapping(section, ("derived",), "derived")
        for name, spec in (mapping or {}).items():
            path = ("derived", name)
            if not self._check_name(name, path, "derived"):
                continue
            parsed = self.derived_one(name, spec, path)
            if parsed:
                out.append(parsed)
            self.names[name] = parsed.type if parsed else ANY
        return out

    def derived_one(self, name: str, spec: Any, path: Path) -> Derived | None:
        if isinstance(spec, dict) and ("enter" in spec or "exit" in spec):
            self.unknown_keys(spec, ("enter", "exit", "description"), path)
            if "enter" not in spec or "exit" not in spec:
                missing = "exit" if "enter" in spec else "enter"
                self.error(path, f"a hysteresis latch needs both 'enter' and 'exit' "
                                 f"(missing {missing!r})")
                return None
            enter = self.expression(spec["enter"], (*path, "enter"), BOOL)
            exit_ = self.expression(spec["exit"], (*path, "exit"), BOOL)
            return Derived(name, BOOL, enter=enter, exit=exit_) if enter and exit_ else None
        if isinstance(spec, dict):
            self.unknown_keys(spec, ("expr", "description"), path)
            if "expr" not in spec:
                self.error(path, "a derived value is an expression string, "
                                 "{expr: ...} or a latch {enter: ..., exit: ...}")
                return None
            spec, path = spec["expr"], (*path, "expr")
        try:
            compiled = Compiler(self.names).compile(_as_text(spec))
        except ExprError as exc:
            self.error(path, str(exc), column=exc.column)
            return None
        if compiled.type not in (NUMBER, BOOL):
            self.error(path, f"a derived value must be a number or a bool, got {compiled.type}")
            return None
        return Derived(name, compiled.type, expr=compiled)

    def prompts(self, section: Any) -> dict[str, Prompt]:
        out: dict[str, Prompt] = {}
        mapping = self.expect_mapping(section, ("prompts",), "prompts")
        if mapping is not None and not mapping:
            self.error(("prompts",) if section is not None else (),
                       "a scene needs at least one prompt under 'prompts'")
        for name, spec in (mapping or {}).items():
            path = ("prompts", name)
            self.broken_prompts.add(str(name))
            if not isinstance(name, str) or not _NAME.match(name):
                self.error(path, f"prompt name {name!r} must be an identifier")
                continue
            if isinstance(spec, dict):
                self.unknown_keys(spec, ("text", "audio", "description"), path)
                if ("text" in spec) == ("audio" in spec):
                    self.error(path, "a prompt has exactly one of 'text' or 'audio'")
                    continue
                if "audio" in spec:
                    prompt = self.audio_prompt(spec["audio"], (*path, "audio"))
                    if prompt:
                        out[name] = prompt
                    continue
                spec, path = spec["text"], (*path, "text")
            if not isinstance(spec, str) or not spec.strip():
                self.error(path, f"prompt {name!r} needs some text, e.g. \"dark ambient drones\"")
                continue
            out[name] = Prompt(text=spec.strip())
        self.broken_prompts -= set(out)
        return out

    def audio_prompt(self, value: Any, path: Path) -> Prompt | None:
        if not isinstance(value, str) or not value:
            self.error(path, "audio must be a path to a sound file")
            return None
        file = FsPath(value)
        if not file.is_absolute() and self.base_dir is not None:
            file = self.base_dir / file
        if self.check_files and not file.is_file():
            self.error(path, f"audio prompt file not found: {file}")
            return None
        return Prompt(audio=str(file))

    def mix(self, section: Any, prompts: Mapping[str, Prompt]) -> list[MixTerm]:
        terms: list[MixTerm] = []
        if section is None:
            self.error((), "a scene needs a 'mix' section saying how inputs weight the prompts")
            return terms
        if isinstance(section, dict):
            entries = [((("mix", name)), name, spec) for name, spec in section.items()]
        elif isinstance(section, list):
            entries = []
            for i, spec in enumerate(section):
                if not isinstance(spec, dict) or "prompt" not in spec:
                    self.error(("mix", i), "each mix entry needs 'prompt: NAME'")
                    continue
                entries.append((("mix", i), spec["prompt"], spec))
        else:
            self.error(("mix",), f"mix must be a mapping or a list, got {_kind(section)}")
            return terms
        used = set()
        for path, name, spec in entries:
            where = (*path, "prompt") if isinstance(path[-1], int) else path
            if name not in prompts:
                if name in self.broken_prompts:
                    continue
                self.error(where, f"unknown prompt {name!r}{suggest(str(name), list(prompts))}")
                continue
            used.add(name)
            term = self.mix_term(name, spec, path)
            if term:
                terms.append(term)
        for name in prompts:
            if name not in used:
                self.warn(("prompts", name), f"prompt {name!r} is never mixed (weight always 0)")
        return terms

    def mix_term(self, prompt: str, spec: Any, path: Path) -> MixTerm | None:
        if not isinstance(spec, dict):
            weight = self.expression(spec, path, NUMBER)
            return MixTerm(prompt, weight) if weight else None
        self.unknown_keys(spec, MIX_KEYS, path)
        when = self.expression(spec["when"], (*path, "when"), BOOL) if "when" in spec else None
        if "curve" in spec or "points" in spec:
            weight = self.curve_object(spec, path)
        elif "weight" in spec:
            weight = self.expression(spec["weight"], (*path, "weight"), NUMBER)
        elif when is not None:
            weight = Compiler({}).compile("1")
        else:
            self.error(path, "a mix entry needs a 'weight', a 'curve' or a 'when'")
            return None
        if weight is None or ("when" in spec and when is None):
            return None
        return MixTerm(prompt, weight, when)

    def curve_object(self, spec: dict, path: Path) -> Compiled | None:
        if "curve" not in spec or "points" not in spec:
            self.error(path, "a curve needs 'curve: INPUT' and 'points: [[x0, y0], [x1, y1], ...]'")
            return None
        points = spec["points"]
        if (not isinstance(points, list) or len(points) < 2 or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p)
                for p in points)):
            self.error((*path, "points"), "points must be a list of at least two [x, y] number "
                                          "pairs")
            return None
        xs = [p[0] for p in points]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            self.error((*path, "points"), "curve points must have strictly increasing x")
            return None
        text = f"curve({_as_text(spec['curve'])}, " + ", ".join(
            f"[{float(x)!r}, {float(y)!r}]" for x, y in points) + ")"
        return self.expression(text, (*path, "curve"), NUMBER)

    def transitions(self, section: Any) -> tuple[float, list[Transition]]:
        glide = DEFAULT_GLIDE_S
        rules: list[Transition] = []
        mapping = self.expect_mapping(section, ("transitions",), "transitions")
        for key, spec in (mapping or {}).items():
            path = ("transitions", key)
            if key in ("default", "glide"):
                seconds = self.glide_of(spec, path)
                if seconds is not None:
                    glide = seconds
                continue
            edge, _, condition = str(key).partition(" ")
            if edge not in ("enter", "leave") or not condition.strip():
                self.error(path, f"unknown transition {key!r}: use 'default', "
                                 f"'enter CONDITION' or 'leave CONDITION'")
                continue
            compiled = self.expression(condition.strip(), path, BOOL)
            seconds = self.glide_of(spec, path)
            if compiled is not None and seconds is not None:
                rules.append(Transition(str(key), edge, compiled, seconds))
        return glide, rules

    def glide_of(self, spec: Any, path: Path) -> float | None:
        if isinstance(spec, dict):
            self.unknown_keys(spec, ("glide",), path)
            if "glide" not in spec:
                self.error(path, "a transition needs 'glide: DURATION' (e.g. 2s)")
                return None
            return self.duration(spec["glide"], (*path, "glide"))
        return self.duration(spec, path)

    def duration(self, value: Any, path: Path) -> float | None:
        """A duration: a number of seconds, or '1.5s', '200ms', '2 min'."""
        seconds = parse_seconds(value)
        if seconds is not None:
            return seconds
        self.error(path, f"expected a duration such as 2s, 1.5s or 250ms, got {value!r}")
        return None

    def knobs(self, section: Any) -> tuple[list[KnobRule], int | None]:
        rules: list[KnobRule] = []
        seed = None
        mapping = self.expect_mapping(section, ("knobs",), "knobs")
        if mapping:
            self.unknown_keys(mapping, KNOB_KEYS, ("knobs",))
        for key, value in (mapping or {}).items():
            path = ("knobs", key)
            if key == "seed":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    self.error(path, f"seed must be a whole number >= 0, got {value!r}")
                else:
                    seed = value
                continue
            if key not in KNOB_RANGES:
                continue
            lo, hi, integer = KNOB_RANGES[key]
            if _is_number(value) and not lo <= value <= hi:
                self.error(path, f"{key} must be within [{lo:g}, {hi:g}], got {value:g}")
                continue
            if integer and _is_number(value) and value != int(value):
                self.error(path, f"{key} must be a whole number, got {value:g}")
                continue
            compiled = self.expression(value, path, NUMBER)
            if compiled:
                rules.append(KnobRule(key, compiled, lo, hi, integer))
        return rules, seed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    return value if isinstance(value, str) else repr(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: f"the string {value!r}", bool: "a bool"}.get(
        type(value), f"{type(value).__name__} {value!r}")
