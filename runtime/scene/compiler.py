"""Scene compiler: YAML text -> frozen `Scene`, or a `SceneError` listing every mistake.

Pure: the only I/O is `load_scene` reading the file and (optionally) checking that audio
prompt files exist. Every issue names file, line and field path.

Bounded: every limit of `SceneLimits` is checked here (the one validation point for
scenes from files, inline requests and reloads). A scene from a client (``untrusted``)
may name audio files only inside the server's asset directory (none by default).
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

from ..errors import SceneError, SceneIssue
from ..vocabulary import Prompt
from .durations import Duration, parse_duration
from .expr import ANY, BOOL, FUNCTIONS, KEYWORDS, NUMBER, STRING, Compiled, Compiler, ExprError, suggest
from .limits import DEFAULT_LIMITS, SceneLimits
from .model import (
    BOOL_KNOBS,
    EASES,
    KNOB_RANGES,
    Derived,
    Input,
    KnobRule,
    MixTerm,
    Scene,
    Stinger,
    TimeSpec,
    Transition,
)
from .source import Path, Source, YamlSyntaxError, format_path, parse_yaml

TOP_KEYS = ("scene", "description", "engine", "time", "inputs", "derived", "prompts", "mix",
            "transitions", "stingers", "knobs")
_GATES = ("dwell", "cooldown", "description")
INPUT_KEYS = {
    "number": ("type", "min", "max", "default", "slew", "slew_rate", *_GATES),
    "enum": ("type", "values", "default", *_GATES),
    "bool": ("type", "default", *_GATES),
}
TRANSITION_KEYS = ("at", "glide", "ease", "fill")
STINGER_KEYS = ("audio", "phrase", "beats", "play_at", "gain", "duck", "cooldown", "when",
                "description")
MIX_KEYS = ("prompt", "weight", "when", "curve", "points")
KNOB_KEYS = (*KNOB_RANGES, "scale", *BOOL_KNOBS, "seed", "conditioning")
_CONDITIONING = re.compile(r"^[a-z_][a-z0-9_]*(\.\d+)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_GLIDE_S = 1.5
_DB = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*dB\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


def load_scene(path: str | FsPath, check_files: bool = True,
               limits: SceneLimits = DEFAULT_LIMITS) -> Scene:
    """Read and compile a scene file (audio prompt paths are relative to it)."""
    path = FsPath(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:  # refuse before reading a huge file into memory
            raise SceneError([SceneIssue(str(path), None, "", f"scene is {size} bytes, over "
                                                              f"the limit of {limits.max_bytes} bytes")])
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise SceneError([SceneIssue(str(path), None, "", f"cannot read scene: {exc}")]) from None
    return compile_scene(text, filename=str(path), base_dir=path.parent, check_files=check_files,
                         limits=limits)


def compile_scene(text: str, filename: str = "<scene>", base_dir: str | FsPath | None = None,
                  check_files: bool = True, limits: SceneLimits = DEFAULT_LIMITS,
                  untrusted: bool = False, asset_dir: str | FsPath | None = None) -> Scene:
    """Compile scene YAML. Raises SceneError with every error found (warnings are kept on
    the scene as ``Scene.warnings``).

    ``untrusted`` (a scene sent by a client): audio prompts and stingers must name files
    inside ``asset_dir`` (relative to it), and with no ``asset_dir`` they are refused."""
    if not isinstance(text, str):
        raise SceneError([SceneIssue(filename, None, "", "a scene is YAML text")])
    try:
        source = parse_yaml(text, limits)
    except YamlSyntaxError as exc:
        raise SceneError([SceneIssue(filename, exc.line, "", str(exc))]) from None
    ctx = _Context(filename, source, FsPath(base_dir) if base_dir else None, check_files,
                   limits, untrusted, FsPath(asset_dir) if asset_dir else None)
    scene = ctx.compile(text)
    errors = [i for i in ctx.issues if i.severity == "error"]
    if errors or scene is None:
        raise SceneError(errors or [SceneIssue(filename, 1, "", "scene is empty")])
    return replace(scene, warnings=tuple(i for i in ctx.issues if i.severity == "warning"))


class _Context:
    def __init__(self, file: str, source: Source, base_dir: FsPath | None,
                 check_files: bool, limits: SceneLimits = DEFAULT_LIMITS,
                 untrusted: bool = False, asset_dir: FsPath | None = None) -> None:
        self.file = file
        self.source = source
        self.base_dir = base_dir
        self.check_files = check_files
        self.limits = limits
        self.untrusted = untrusted
        self.asset_dir = asset_dir
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

    def compiler(self, names: Mapping[str, Any] | None = None) -> Compiler:
        limits = self.limits
        return Compiler(self.names if names is None else names, limits.max_expr_tokens,
                        limits.max_expr_depth, limits.max_number_digits)

    def expression(self, value: Any, path: Path, want: str) -> Compiled | None:
        """Compile a number/bool constant or an expression string of type ``want``."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            if not _is_number(value):
                self.error(path, f"must be a finite number, got {_short(value)}")
                return None
            value = repr(float(value))
        if not isinstance(value, str):
            self.error(path, f"must be a {want} or an expression string, got {_kind(value)}")
            return None
        try:
            compiled = self.compiler().compile(value)
        except ExprError as exc:
            self.error(path, str(exc), column=exc.column)
            return None
        if compiled.type not in (want, ANY):
            hint = ""
            if compiled.type == STRING and want == BOOL and compiled.constant:
                hint = (f"; write the condition without the outer quotes, e.g. "
                        f"{_unquoted_hint(path, str(compiled.fn({})))}")
            self.error(path, f"must be a {want} expression, but {_short(value)} is a "
                             f"{compiled.type}{hint}")
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
        elif len(name) > self.limits.max_scene_name_chars:
            self.error(("scene",), f"scene name of {len(name)} characters is longer than "
                                   f"{self.limits.max_scene_name_chars}")
            name = "?"
        description = doc.get("description") or ""
        if not isinstance(description, str):
            self.error(("description",), "description must be a string")
            description = ""
        elif len(description) > self.limits.max_text_chars:
            self.error(("description",), f"description is longer than "
                                         f"{self.limits.max_text_chars} characters")
            description = ""
        engine = doc.get("engine")
        if engine is not None and not isinstance(engine, str):
            self.error(("engine",), "engine must be an engine name such as 'procedural'")
            engine = None

        time = self.time(doc.get("time"))
        inputs = self.inputs(doc.get("inputs"))
        derived = self.derived(doc.get("derived"))
        prompts = self.prompts(doc.get("prompts"))
        mix = self.mix(doc.get("mix"), prompts)
        default, transitions = self.transitions(doc.get("transitions"), prompts)
        stingers = self.stingers(doc.get("stingers"))
        knobs, seed = self.knobs(doc.get("knobs"))
        used = {t.prompt for t in mix} | {t.fill_prompt for t in transitions if t.fill_prompt}
        for prompt in prompts:
            if prompt not in used:
                self.warn(("prompts", prompt), f"prompt {prompt!r} is never mixed (weight always 0)")
        return Scene(
            name=name, file=self.file, description=description,
            inputs=MappingProxyType(inputs), derived=tuple(derived),
            prompts=MappingProxyType(prompts), mix=tuple(mix), default=default,
            transitions=tuple(transitions), knobs=tuple(knobs), seed=seed, engine=engine,
            source=text, time=time, stingers=MappingProxyType(stingers),
        )

    def _check_name(self, name: Any, path: Path, what: str) -> bool:
        if not self._identifier(name, path, what):
            return False
        if name in KEYWORDS or name in FUNCTIONS:
            self.error(path, f"{what} name {name!r} is reserved by the expression language")
            return False
        if name in self.names:
            self.error(path, f"{what} name {name!r} is already defined")
            return False
        return True

    def _identifier(self, name: Any, path: Path, what: str) -> bool:
        if isinstance(name, str) and len(name) > self.limits.max_name_chars:
            self.error(path, f"{what} name of {len(name)} characters is longer than "
                             f"{self.limits.max_name_chars}")
            return False
        if not isinstance(name, str) or not _NAME.match(name):
            self.error(path, f"{what} name {_short(name)} must be an identifier (letters, "
                             f"digits, _)")
            return False
        return True

    def _too_many(self, mapping: dict | None, path: Path, what: str, limit: int) -> bool:
        if mapping is not None and len(mapping) + (len(self.names) if what == "inputs and "
                                                   "derived values" else 0) > limit:
            self.error(path, f"more than {limit} {what} (the limit for a scene)")
            return True
        return False

    def inputs(self, section: Any) -> dict[str, Input]:
        out: dict[str, Input] = {}
        mapping = self.expect_mapping(section, ("inputs",), "inputs")
        if self._too_many(mapping, ("inputs",), "inputs and derived values",
                          self.limits.max_inputs):
            return out
        for name, spec in (mapping or {}).items():
            path = ("inputs", name)
            if not self._check_name(name, path, "input"):
                continue
            parsed = self.input(name, spec, path)
            if parsed:
                out[name] = self.gates(parsed, spec, path)
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
        if self._too_many(mapping, ("derived",), "inputs and derived values",
                          self.limits.max_inputs):
            return out
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
            compiled = self.compiler().compile(_as_text(spec))
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
        if self._too_many(mapping, ("prompts",), "prompts", self.limits.max_prompts):
            self.broken_prompts.update(str(name)[:self.limits.max_name_chars] for name in mapping or {})
            return out
        for name, spec in (mapping or {}).items():
            path = ("prompts", name)
            self.broken_prompts.add(str(name))
            if not self._identifier(name, path, "prompt"):
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
            if len(spec) > self.limits.max_text_chars:
                self.error(path, f"prompt text is longer than {self.limits.max_text_chars} "
                                 f"characters")
                continue
            out[name] = Prompt(text=spec.strip())
        self.broken_prompts -= set(out)
        return out

    def audio_prompt(self, value: Any, path: Path) -> Prompt | None:
        if not isinstance(value, str) or not value or "\0" in value or \
                len(value) > self.limits.max_text_chars:
            self.error(path, "audio must be a path to a sound file")
            return None
        if self.untrusted:
            return self.sandboxed_audio(value, path)
        file = FsPath(value)
        if not file.is_absolute() and self.base_dir is not None:
            file = self.base_dir / file
        if self.check_files and not file.is_file():
            self.error(path, f"audio prompt file not found: {file}")
            return None
        return Prompt(audio=str(file))

    def sandboxed_audio(self, value: str, path: Path) -> Prompt | None:
        """A client's scene: the file must lie inside the asset directory (after
        resolving links and '..'), and exist there."""
        if self.asset_dir is None:
            self.error(path, f"audio file {_short(value)} refused: a scene sent by a client "
                             f"may name audio only when the server has an asset directory "
                             f"(cadenza serve --assets DIR), and this one has none")
            return None
        root = self.asset_dir.resolve()
        try:
            file = (root / value).resolve()
            inside = file.is_relative_to(root) and file.is_file()
        except (OSError, ValueError, RuntimeError):
            inside = False
        if not inside:
            self.error(path, f"audio file {_short(value)} refused: not a file inside the "
                             f"server's asset directory (name it relative to that directory)")
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
        for path, name, spec in entries:
            where = (*path, "prompt") if isinstance(path[-1], int) else path
            if name not in prompts:
                if name in self.broken_prompts:
                    continue
                self.error(where, f"unknown prompt {name!r}{suggest(str(name), list(prompts))}")
                continue
            term = self.mix_term(name, spec, path)
            if term:
                terms.append(term)
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
            weight = self.compiler({}).compile("1")
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

    def gates(self, spec: Input, raw: dict, path: Path) -> Input:
        """An input's dwell and cooldown (seconds)."""
        values = {}
        for key in ("dwell", "cooldown"):
            if key in raw:
                seconds = self.seconds(raw[key], (*path, key))
                if seconds is not None:
                    values[f"{key}_s"] = seconds
        return replace(spec, **values) if values else spec

    def time(self, section: Any) -> TimeSpec:
        spec = self.expect_mapping(section, ("time",), "time")
        if not spec:
            return TimeSpec()
        self.unknown_keys(spec, ("bpm", "signature"), ("time",))
        bpm = spec.get("bpm", 120)
        if not _is_number(bpm) or not 20 <= bpm <= 400:
            self.error(("time", "bpm"), f"bpm must be a number within [20, 400], got {bpm!r}")
            bpm = 120
        signature = str(spec.get("signature", "4/4"))
        m = _SIGNATURE.match(signature)
        if not m or not 1 <= int(m.group(1)) <= 16 or int(m.group(2)) not in (1, 2, 4, 8, 16):
            self.error(("time", "signature"), f"signature is BEATS/UNIT such as 4/4, 3/4 or 6/8, "
                                              f"got {signature!r}")
            return TimeSpec(float(bpm))
        return TimeSpec(float(bpm), int(m.group(1)), int(m.group(2)))

    def transitions(self, section: Any, prompts: Mapping[str, Prompt]
                    ) -> tuple[Transition, list[Transition]]:
        default = Transition("default", Duration(DEFAULT_GLIDE_S, "s"))
        rules: list[Transition] = []
        mapping = self.expect_mapping(section, ("transitions",), "transitions")
        for key, spec in (mapping or {}).items():
            path = ("transitions", key)
            if key in ("default", "glide"):
                parsed = self.transition("default", spec, path, prompts)
                if parsed:
                    default = parsed
                continue
            edge, _, condition = str(key).partition(" ")
            if edge not in ("enter", "leave") or not condition.strip():
                self.error(path, f"unknown transition {key!r}: use 'default', "
                                 f"'enter CONDITION' or 'leave CONDITION'")
                continue
            compiled = self.expression(condition.strip(), path, BOOL)
            parsed = self.transition(str(key), spec, path, prompts)
            if compiled is not None and parsed is not None:
                rules.append(replace(parsed, edge=edge, condition=compiled))
        return default, rules

    def transition(self, name: str, spec: Any, path: Path,
                   prompts: Mapping[str, Prompt]) -> Transition | None:
        """``{at, glide, ease, fill}``, or just a glide duration."""
        if not isinstance(spec, dict):
            glide = self.musical_duration(spec, path)
            return Transition(name, glide) if glide else None
        self.unknown_keys(spec, TRANSITION_KEYS, path)
        glide = Duration(0.0, "s") if "fill" in spec and "glide" not in spec else None
        if "glide" in spec:
            glide = self.musical_duration(spec["glide"], (*path, "glide"))
        elif glide is None and "at" not in spec:
            self.error(path, "a transition needs 'glide: DURATION' (e.g. 2s or 4 beats) and/or "
                             "'at: beat|bar'")
            return None
        at, bars = self.quantum(spec.get("at", "immediate"), (*path, "at"))
        ease = spec.get("ease", "linear" if at == "immediate" else "in_out")
        if ease not in EASES:
            self.error((*path, "ease"), f"ease must be one of {', '.join(EASES)}, got {ease!r}"
                                        f"{suggest(str(ease), EASES)}")
            return None
        fill_prompt, fill = self.fill(spec.get("fill"), (*path, "fill"), prompts)
        if at is None or ("fill" in spec and fill is None):
            return None
        return Transition(name, glide or Duration(0.0, "s"), at=at, bars=bars, ease=ease,
                          fill_prompt=fill_prompt, fill=fill)

    def quantum(self, value: Any, path: Path) -> tuple[str | None, int]:
        """``at``: immediate, beat, bar, {bars: N} or "N bars"."""
        if isinstance(value, dict) and set(value) == {"bars"}:
            value = value["bars"]
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64:
                return ("bar" if value == 1 else "bars"), value
        elif value in ("immediate", "beat", "bar"):
            return value, 1
        elif isinstance(value, str):
            duration = parse_duration(value)
            if duration and duration.unit == "bars" and duration.amount == int(duration.amount) \
                    and 1 <= duration.amount <= 64:
                bars = int(duration.amount)
                return ("bar" if bars == 1 else "bars"), bars
        self.error(path, f"'at' is immediate, beat, bar or {{bars: N}} (1..64), got {value!r}")
        return None, 1

    def fill(self, value: Any, path: Path, prompts: Mapping[str, Prompt]
             ) -> tuple[str | None, Duration | None]:
        if value is None:
            return None, None
        if not isinstance(value, dict) or "prompt" not in value or "length" not in value:
            self.error(path, "a fill is {prompt: PROMPT_NAME, length: DURATION} (e.g. 1 bar)")
            return None, None
        self.unknown_keys(value, ("prompt", "length"), path)
        prompt = value["prompt"]
        if prompt not in prompts:
            self.error((*path, "prompt"), f"unknown prompt {prompt!r}"
                                          f"{suggest(str(prompt), list(prompts))}")
            return None, None
        length = self.musical_duration(value["length"], (*path, "length"))
        return (prompt, length) if length else (None, None)

    def stingers(self, section: Any) -> dict[str, Stinger]:
        out: dict[str, Stinger] = {}
        mapping = self.expect_mapping(section, ("stingers",), "stingers")
        if self._too_many(mapping, ("stingers",), "stingers", self.limits.max_stingers):
            return out
        for name, spec in (mapping or {}).items():
            path = ("stingers", name)
            if not self._identifier(name, path, "stinger"):
                continue
            spec = self.expect_mapping(spec, path, f"stinger {name!r}")
            if spec is None:
                continue
            self.unknown_keys(spec, STINGER_KEYS, path)
            if ("audio" in spec) == ("phrase" in spec):
                self.error(path, "a stinger has exactly one of 'audio: FILE' or 'phrase: TEXT'")
                continue
            audio = phrase = None
            if "audio" in spec:
                prompt = self.audio_prompt(spec["audio"], (*path, "audio"))
                if prompt is None:
                    continue
                audio = prompt.audio
            else:
                phrase = spec["phrase"]
                if not isinstance(phrase, str) or not phrase.strip():
                    self.error((*path, "phrase"), "phrase must be some text, e.g. 'rising arpeggio'")
                    continue
            beats = spec.get("beats", 2)
            if not _is_number(beats) or not 0.25 <= beats <= 32:
                self.error((*path, "beats"), f"beats must be within [0.25, 32], got {beats!r}")
                continue
            play_at = spec.get("play_at", "beat")
            if play_at not in ("immediate", "beat", "bar"):
                self.error((*path, "play_at"), f"play_at is immediate, beat or bar, got {play_at!r}")
                continue
            gain = self.level(spec.get("gain", 1.0), (*path, "gain"))
            duck = self.level(spec.get("duck", 1.0), (*path, "duck"))
            cooldown = self.seconds(spec.get("cooldown", 0), (*path, "cooldown"))
            when = self.expression(spec["when"], (*path, "when"), BOOL) if "when" in spec else None
            if gain is None or duck is None or cooldown is None or ("when" in spec and when is None):
                continue
            if duck > 1.0:
                self.error((*path, "duck"), "duck lowers the music: use a level <= 0 dB")
                continue
            out[name] = Stinger(name, audio, phrase, float(beats), play_at, gain,
                                20.0 * math.log10(max(duck, 1e-6)), cooldown, when)
        return out

    def level(self, value: Any, path: Path) -> float | None:
        """A gain: a linear factor (0.5) or decibels ("-6dB"); returned linear."""
        if _is_number(value) and 0 <= value <= 4:
            return float(value)
        if isinstance(value, str):
            m = _DB.match(value)
            if m and float(m.group(1)) <= 12:
                return 10.0 ** (float(m.group(1)) / 20.0)
        self.error(path, f"expected a level such as -6dB or 0.5, got {value!r}")
        return None

    def musical_duration(self, value: Any, path: Path) -> Duration | None:
        duration = parse_duration(value)
        if duration is None:
            self.error(path, f"expected a duration such as 2s, 250ms, 4 beats or 1 bar, got {value!r}")
        return duration

    def seconds(self, value: Any, path: Path) -> float | None:
        duration = parse_duration(value, musical=False)
        if duration is None:
            self.error(path, f"expected a duration such as 2s, 1.5s or 250ms, got {value!r}")
            return None
        return duration.amount

    def duration(self, value: Any, path: Path) -> float | None:
        return self.seconds(value, path)

    def scale(self, value: Any, path: Path) -> Compiled | None:
        """A scale: one of Lyria's names, as a constant or a string expression."""
        names = _scale_names()
        if isinstance(value, str) and value in names:
            value = repr(value)
        compiler = self.compiler()
        try:
            compiled = compiler.compile(value) if isinstance(value, str) else None
        except ExprError as exc:
            hint = suggest(value, names) if isinstance(value, str) else ""
            self.error(path, f"scale must be one of Lyria's scale names such as C_MAJOR_A_MINOR"
                             f"{hint}, or an expression choosing one ({exc})", column=exc.column)
            return None
        if compiled is None or compiled.type != STRING:
            self.error(path, "scale must be one of Lyria's scale names such as C_MAJOR_A_MINOR, "
                             "or an expression choosing one")
            return None
        for literal in compiler.strings:
            if literal not in names:
                self.error(path, f"unknown scale {literal!r}{suggest(literal, names)}")
                return None
        return compiled

    def conditioning(self, value: Any, path: Path) -> list[KnobRule]:
        """Engine-specific conditioning (Knobs.extra), e.g. MRT2's ``drums: 0`` or
        ``note.60: 1``: names to number expressions."""
        mapping = self.expect_mapping(value, path, "conditioning")
        rules = []
        for name, expr in (mapping or {}).items():
            if not isinstance(name, str) or not _CONDITIONING.match(name):
                self.error((*path, str(name)), f"conditioning name {name!r} must look like "
                                               f"'drums' or 'note.60'")
                continue
            compiled = self.expression(expr, (*path, name), NUMBER)
            if compiled:
                rules.append(KnobRule(name, compiled, kind="extra"))
        return rules

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
            if key == "conditioning":
                rules.extend(self.conditioning(value, path))
                continue
            if key in BOOL_KNOBS:
                compiled = self.expression(value, path, BOOL)
                if compiled:
                    rules.append(KnobRule(key, compiled, kind="bool"))
                continue
            if key == "scale":
                compiled = self.scale(value, path)
                if compiled:
                    rules.append(KnobRule(key, compiled, kind="scale"))
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


def _scale_names() -> tuple[str, ...]:
    from ..vocabulary import SCALE_UNSPECIFIED, SCALES

    return (*SCALES, SCALE_UNSPECIFIED)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters: an error never echoes unbounded input."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**limit else \
        f"an integer of {len(str(abs(value)))} digits"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _unquoted_hint(path: Path, condition: str) -> str:
    key = path[-1] if path else ""
    if isinstance(key, str) and key.startswith(("enter ", "leave ")):
        return f"{key.split(' ', 1)[0]} {condition}: ..."
    return condition


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
