"""The installation file: one YAML document that says everything `cadenza run` does.

`load_config(path)` returns a frozen `InstallationConfig` or raises `ConfigError` listing
every problem as ``file:line field: message`` (the scene's own errors included), so a
technician fixes the file in one pass. Paths in the file are relative to the file.
See docs/installations.md for the reference and samples/installation/ for an example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, SceneError, SceneIssue
from ..scene import Scene, load_scene
from ..scene.durations import parse_seconds
from ..scene.expr import suggest
from ..scene.source import YamlSyntaxError, format_path, parse_yaml
from ..sources.binding import Binding
from ..sources.mqtt import BrokerOptions, parse_broker_url
from .schedule import Hours, Schedule, parse_days, parse_time

TOP_KEYS = ("installation", "description", "engine", "scene", "seed", "reload", "lookahead",
            "sources", "outputs", "restart", "log", "status_every", "watchdog", "schedule",
            "volume")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(InvalidArgument):
    """An installation file failed to load. ``issues`` lists every problem found."""

    def __init__(self, issues: list[SceneIssue]) -> None:
        self.issues = issues
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{issues[0]}{more}", field=issues[0].path or None)

    def report(self) -> str:
        return "\n".join(str(i) for i in self.issues)


@dataclass(frozen=True)
class OscConfig:
    port: int
    host: str = "127.0.0.1"
    bindings: tuple[Binding, ...] = ()

    @property
    def name(self) -> str:
        return f"osc:{self.port}"


@dataclass(frozen=True)
class MqttConfig:
    broker: BrokerOptions
    bindings: tuple[Binding, ...] = ()

    @property
    def name(self) -> str:
        return f"mqtt:{self.broker.host}:{self.broker.port}"


@dataclass(frozen=True)
class DeviceConfig:
    device: int | str | None = None
    blocksize: int = 0
    margin_s: float = 0.2
    buffer_s: float = 4.0
    fallback: tuple[int | str | None, ...] = ()  # devices to try when this one fails


@dataclass(frozen=True)
class WavConfig:
    directory: Path
    rotate_s: float = 3600.0
    keep: int | None = 48
    subtype: str = "PCM_16"
    prefix: str = "cadenza"


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    ws_port: int = 8765
    token: str | None = field(default=None, repr=False)
    console_port: int | None = 8080  # console, /metrics, /healthz, /readyz; None: off


@dataclass(frozen=True)
class RestartPolicy:
    """Back-off between restarts of a failed session: ``min_s`` doubling to ``max_s``;
    a session that played ``healthy_s`` resets it to ``min_s``."""

    min_s: float = 1.0
    max_s: float = 60.0
    healthy_s: float = 60.0


@dataclass(frozen=True)
class InstallationConfig:
    name: str
    path: Path
    scene_path: Path
    scene: Scene
    engine: str = "procedural"
    seed: int | None = None
    reload: bool = True
    lookahead_s: float = 0.5
    osc: OscConfig | None = None
    mqtt: MqttConfig | None = None
    device: DeviceConfig | None = None
    wav: WavConfig | None = None
    serve: ServeConfig | None = None
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    log_format: str = "text"
    log_level: str = "info"
    status_every_s: float = 300.0
    watchdog: bool = True
    schedule: Schedule | None = None
    volume: float = 1.0  # master volume of the room's speakers (linear gain)

    @property
    def bindings(self) -> tuple[Binding, ...]:
        return (self.osc.bindings if self.osc else ()) + (self.mqtt.bindings if self.mqtt else ())


def load_config(path: str | Path, scenes_dir: Path | None = None) -> InstallationConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([SceneIssue(str(path), None, "", f"cannot read: {exc}")]) from None
    return parse_config(text, path, scenes_dir)


def parse_config(text: str, path: Path, scenes_dir: Path | None = None) -> InstallationConfig:
    try:
        source = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError([SceneIssue(str(path), exc.line, "", str(exc))]) from None
    reader = _Reader(source, path)
    config = reader.config(scenes_dir)
    if reader.issues or config is None:
        issues = sorted(reader.issues, key=lambda i: (i.file != str(path), i.line or 0))
        raise ConfigError(issues or [SceneIssue(str(path), 1, "", "empty file")])
    return config


_LONG = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(h|hours?|d|days?)\s*$")


def _seconds(value: object) -> float | None:
    """Scene durations (2, 1.5s, 250ms, 2 min) plus hours and days (1h, 2 days)."""
    if isinstance(value, str):
        m = _LONG.match(value)
        if m:
            return float(m.group(1)) * (3600.0 if m.group(2).startswith("h") else 86400.0)
    return parse_seconds(value)


class _Reader:
    """Walks the parsed YAML collecting issues; returns None for a missing/bad value."""

    def __init__(self, source, path: Path) -> None:
        self.source = source
        self.path = path
        self.base = path.parent
        self.issues: list[SceneIssue] = []

    def error(self, where: tuple, message: str) -> None:
        self.issues.append(SceneIssue(str(self.path), self.source.line(where),
                                      format_path(where), message))

    def mapping(self, value: Any, where: tuple, keys: tuple[str, ...]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(where, f"expected a mapping, got {type(value).__name__}")
            return {}
        for key in value:
            if key not in keys:
                self.error((*where, key), f"unknown key {key!r}{suggest(key, keys)}; "
                                          f"expected one of: {', '.join(keys)}")
        return value

    def seconds(self, value: Any, where: tuple, default: float, positive: bool = True) -> float:
        if value is None:
            return default
        seconds = _seconds(value)
        if seconds is None or (positive and seconds <= 0):
            self.error(where, f"expected a duration such as 30s, 250ms, 2 min or 1h, got {value!r}")
            return default
        return seconds

    def integer(self, value: Any, where: tuple, default: int | None, lo: int = 0,
                hi: int = 65535) -> int | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.error(where, f"expected a whole number in [{lo}, {hi}], got {value!r}")
            return default
        return value

    def text(self, value: Any, where: tuple, default: str | None = None) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(where, f"expected text, got {value!r}")
            return default
        return value.strip()

    def choice(self, value: Any, where: tuple, options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in options:
            self.error(where, f"expected one of {', '.join(options)}, got {value!r}")
            return default
        return value

    def flag(self, value: Any, where: tuple, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(where, f"expected true or false, got {value!r}")
            return default
        return value

    def file(self, value: Any, where: tuple, must_exist: bool = True) -> Path | None:
        name = self.text(value, where)
        if name is None:
            return None
        p = Path(name).expanduser()
        p = p if p.is_absolute() else self.base / p
        if must_exist and not p.exists():
            self.error(where, f"no such file: {p}")
        return p

    def secret(self, data: dict, key: str, where: tuple) -> str | None:
        """``key`` inline, or ``key_file`` read from a file (kept out of the config)."""
        inline = self.text(data.get(key), (*where, key))
        path = self.file(data.get(f"{key}_file"), (*where, f"{key}_file"))
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
        return inline

    # ----------------------------------------------------------------- the document
    def config(self, scenes_dir: Path | None) -> InstallationConfig | None:
        data = self.source.data
        if not isinstance(data, dict):
            self.error((), "an installation file is a mapping (installation:, scene:, ...)")
            return None
        self.mapping(data, (), TOP_KEYS)
        name = self.text(data.get("installation"), ("installation",))
        if name is None:
            self.error(("installation",), "required: a name for this installation")
            name = self.path.stem
        scene_path, scene = self.scene(data.get("scene"), scenes_dir)
        osc = mqtt = None
        sources = self.mapping(data.get("sources"), ("sources",), ("osc", "mqtt"))
        if "osc" in sources:
            osc = self.osc(sources["osc"], ("sources", "osc"), scene)
        if "mqtt" in sources:
            mqtt = self.mqtt(sources["mqtt"], ("sources", "mqtt"), scene)
        outputs = self.mapping(data.get("outputs"), ("outputs",), ("device", "wav", "serve"))
        log = self.mapping(data.get("log"), ("log",), ("format", "level"))
        restart = self.mapping(data.get("restart"), ("restart",), ("min", "max", "healthy"))
        policy = RestartPolicy(self.seconds(restart.get("min"), ("restart", "min"), 1.0),
                               self.seconds(restart.get("max"), ("restart", "max"), 60.0),
                               self.seconds(restart.get("healthy"), ("restart", "healthy"), 60.0))
        if policy.max_s < policy.min_s:
            self.error(("restart", "max"), "restart.max must be at least restart.min")
        seed = self.integer(data.get("seed"), ("seed",), None, 0, 2**62)
        engine = self.text(data.get("engine"), ("engine",), "procedural")
        from ..engines import engine_names

        if engine not in engine_names():
            self.error(("engine",), f"unknown engine {engine!r}{suggest(engine, engine_names())}; "
                                    f"available: {', '.join(engine_names())}")
        if scene is None or scene_path is None:
            return None
        return InstallationConfig(
            name=name, path=self.path, scene_path=scene_path, scene=scene,
            engine=engine,
            seed=seed, reload=self.flag(data.get("reload"), ("reload",), True),
            lookahead_s=self.seconds(data.get("lookahead"), ("lookahead",), 0.5),
            osc=osc, mqtt=mqtt,
            device=self.device(outputs["device"], ("outputs", "device")) if "device" in outputs else None,
            wav=self.wav(outputs["wav"], ("outputs", "wav"), name) if "wav" in outputs else None,
            serve=self.serve(outputs["serve"], ("outputs", "serve")) if "serve" in outputs else None,
            restart=policy,
            log_format=self.choice(log.get("format"), ("log", "format"), LOG_FORMATS, "text"),
            log_level=self.choice(log.get("level"), ("log", "level"), LOG_LEVELS, "info"),
            status_every_s=self.seconds(data.get("status_every"), ("status_every",), 300.0),
            watchdog=self.flag(data.get("watchdog"), ("watchdog",), True),
            schedule=self.schedule(data["schedule"], ("schedule",)) if "schedule" in data else None,
            volume=self.volume(data.get("volume"), ("volume",)),
        )

    def volume(self, value: Any, where: tuple) -> float:
        """``0.8`` (linear, 0..2) or ``-6 dB``."""
        if value is None:
            return 1.0
        if isinstance(value, str) and value.strip().lower().endswith("db"):
            try:
                return min(2.0, 10 ** (float(value.strip()[:-2]) / 20))
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 2:
            return float(value)
        self.error(where, f"expected a gain in [0, 2] (1: unchanged) or decibels such as "
                          f"'-6 dB', got {value!r}")
        return 1.0

    def schedule(self, value: Any, where: tuple) -> Schedule | None:
        data = self.mapping(value, where, ("hours", "fade_in", "fade_out"))
        hours = data.get("hours")
        if not isinstance(hours, list) or not hours:
            self.error((*where, "hours"), "required: a list such as "
                                          "- {days: mon-fri, open: \"10:00\", close: \"18:00\"}")
            return None
        out = []
        for i, item in enumerate(hours):
            at = (*where, "hours", i)
            item = self.mapping(item, at, ("days", "open", "close"))
            days = parse_days(item.get("days"))
            if days is None:
                self.error((*at, "days"), f"expected days such as mon-fri, sat, [sat, sun] or "
                                          f"daily, got {item.get('days')!r}")
            opening, closing = parse_time(item.get("open")), parse_time(item.get("close"))
            for key, minutes in (("open", opening), ("close", closing)):
                if minutes is None:
                    self.error((*at, key), f"expected a time such as \"10:00\" (quoted), got "
                                           f"{item.get(key)!r}")
            if days is not None and opening is not None and closing is not None:
                out.append(Hours(days, opening, closing))
        return Schedule(tuple(out), self.seconds(data.get("fade_in"), (*where, "fade_in"), 10.0,
                                                 positive=False),
                        self.seconds(data.get("fade_out"), (*where, "fade_out"), 30.0,
                                     positive=False)) if out else None

    def scene(self, value: Any, scenes_dir: Path | None) -> tuple[Path | None, Scene | None]:
        ref = self.text(value, ("scene",))
        if ref is None:
            self.error(("scene",), "required: the scene file to play (relative to this file) "
                                   "or the name of a shipped scene")
            return None, None
        candidate = Path(ref).expanduser()
        candidate = candidate if candidate.is_absolute() else self.base / candidate
        if not candidate.is_file():
            from cadenza import scenes

            directory = scenes_dir or scenes.DIRECTORY
            named = directory / (ref if ref.endswith((".yaml", ".yml")) else f"{ref}.yaml")
            if not named.is_file():
                self.error(("scene",), f"no scene file {candidate} (and no shipped scene named "
                                       f"{ref!r})")
                return None, None
            candidate = named
        try:
            return candidate, load_scene(candidate)
        except SceneError as exc:
            self.issues.extend(exc.issues)  # the scene's own file:line errors
            return candidate, None

    def bindings(self, value: Any, where: tuple, source: str, scene: Scene | None,
                 kind: str) -> tuple[Binding, ...]:
        keys = ("input", "silence", "field") if kind == "mqtt" else ("input", "silence", "arg")
        if not isinstance(value, dict) or not value:
            self.error(where, f"expected a mapping of {'topics' if kind == 'mqtt' else 'addresses'} "
                              f"to inputs")
            return ()
        out = []
        for address, spec in value.items():
            at = (*where, address)
            if kind == "osc" and (not address.startswith("/") or address.startswith("/cadenza/")):
                self.error(at, "an OSC address starts with / (and /cadenza/ is reserved for "
                               "control)")
                continue
            if kind == "mqtt" and (not address or any(c in address for c in "+#")):
                self.error(at, "an MQTT topic, without wildcards")
                continue
            spec = {"input": spec} if isinstance(spec, str) else spec
            spec = self.mapping(spec, at, keys)
            name = self.text(spec.get("input"), (*at, "input"))
            if name is None:
                self.error(at, "needs an input: the scene input this reading sets")
                continue
            if scene is not None and name not in scene.inputs:
                self.error((*at, "input"), f"scene {scene.name!r} has no input {name!r}"
                                           f"{suggest(name, list(scene.inputs))}")
            silence = spec.get("silence")
            out.append(Binding(
                input=name, source=source, address=address,
                field=self.text(spec.get("field"), (*at, "field")),
                arg=self.integer(spec.get("arg"), (*at, "arg"), 0, 0, 64) or 0,
                silence_s=None if silence is None else self.seconds(silence, (*at, "silence"), 60.0)))
        return tuple(out)

    def osc(self, value: Any, where: tuple, scene: Scene | None) -> OscConfig | None:
        data = self.mapping(value, where, ("host", "port", "inputs"))
        port = self.integer(data.get("port"), (*where, "port"), None)
        if port is None and "port" not in data:
            self.error((*where, "port"), "required: the UDP port to listen on")
        host = self.text(data.get("host"), (*where, "host"), "127.0.0.1")
        bindings = self.bindings(data.get("inputs"), (*where, "inputs"), f"osc:{port}", scene, "osc") \
            if data.get("inputs") is not None else ()
        return None if port is None else OscConfig(port=port, host=host, bindings=bindings)

    def mqtt(self, value: Any, where: tuple, scene: Scene | None) -> MqttConfig | None:
        data = self.mapping(value, where, ("broker", "username", "password", "password_file",
                                           "tls", "client_id", "keepalive", "reconnect",
                                           "qos", "inputs"))
        url = self.text(data.get("broker"), (*where, "broker"))
        if url is None:
            self.error((*where, "broker"), "required: mqtt://host[:port] or mqtts://...")
            return None
        try:
            broker = parse_broker_url(url)
        except InvalidArgument as exc:
            self.error((*where, "broker"), str(exc))
            return None
        tls = self.mapping(data.get("tls"), (*where, "tls"), ("ca", "cert", "key", "insecure"))
        reconnect = self.mapping(data.get("reconnect"), (*where, "reconnect"), ("min", "max"))
        password = self.secret(data, "password", where) or broker.password
        broker = BrokerOptions(
            host=broker.host, port=broker.port, tls=broker.tls or bool(tls),
            username=self.text(data.get("username"), (*where, "username")) or broker.username,
            password=password,
            ca_file=self.file(tls.get("ca"), (*where, "tls", "ca")),
            cert_file=self.file(tls.get("cert"), (*where, "tls", "cert")),
            key_file=self.file(tls.get("key"), (*where, "tls", "key")),
            tls_insecure=self.flag(tls.get("insecure"), (*where, "tls", "insecure"), False),
            client_id=self.text(data.get("client_id"), (*where, "client_id"), "") or "",
            keepalive_s=self.integer(data.get("keepalive"), (*where, "keepalive"), 30, 5, 3600) or 30,
            reconnect_min_s=self.seconds(reconnect.get("min"), (*where, "reconnect", "min"), 1.0),
            reconnect_max_s=self.seconds(reconnect.get("max"), (*where, "reconnect", "max"), 30.0),
            qos=self.integer(data.get("qos"), (*where, "qos"), 0, 0, 1) or 0,
        )
        name = f"mqtt:{broker.host}:{broker.port}"
        bindings = self.bindings(data.get("inputs"), (*where, "inputs"), name, scene, "mqtt") \
            if data.get("inputs") is not None else ()
        return MqttConfig(broker=broker, bindings=bindings)

    def device(self, value: Any, where: tuple) -> DeviceConfig:
        if value is True or value in ("default", None):
            return DeviceConfig()
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return DeviceConfig(device=value)
        data = self.mapping(value, where, ("name", "index", "blocksize", "margin", "buffer",
                                           "fallback"))
        if "name" in data and "index" in data:
            self.error(where, "give the device's name or its index, not both")
        device = self.text(data.get("name"), (*where, "name")) if "name" in data else \
            self.integer(data.get("index"), (*where, "index"), None, 0, 1024)
        if device == "default":
            device = None  # the system's default output
        margin = self.seconds(data.get("margin"), (*where, "margin"), 0.2)
        buffer = self.seconds(data.get("buffer"), (*where, "buffer"), 4.0)
        if buffer <= margin + 0.1:
            self.error((*where, "buffer"), "the buffer must hold more than the margin + 0.1 s")
        fallback = data.get("fallback") or []
        fallback = fallback if isinstance(fallback, list) else [fallback]
        if not all(isinstance(f, (str, int)) and not isinstance(f, bool) for f in fallback):
            self.error((*where, "fallback"), "expected device names or indexes to try in turn")
            fallback = []
        return DeviceConfig(device=device, fallback=tuple(None if f == "default" else f
                                                          for f in fallback),
                            blocksize=self.integer(data.get("blocksize"), (*where, "blocksize"),
                                                   0, 0, 16384) or 0,
                            margin_s=margin, buffer_s=buffer)

    def wav(self, value: Any, where: tuple, name: str) -> WavConfig | None:
        if isinstance(value, str):
            value = {"dir": value}
        data = self.mapping(value, where, ("dir", "rotate", "keep", "subtype", "prefix"))
        directory = self.file(data.get("dir"), (*where, "dir"), must_exist=False)
        if directory is None:
            self.error((*where, "dir"), "required: the folder to record into")
            return None
        keep = data.get("keep", 48)
        return WavConfig(
            directory=directory,
            rotate_s=self.seconds(data.get("rotate"), (*where, "rotate"), 3600.0),
            keep=None if keep in (None, 0) else self.integer(keep, (*where, "keep"), 48, 1, 100000),
            subtype=self.choice(data.get("subtype"), (*where, "subtype"),
                                ("PCM_16", "PCM_24", "FLOAT"), "PCM_16"),
            prefix=self.text(data.get("prefix"), (*where, "prefix"), name) or name)

    def serve(self, value: Any, where: tuple) -> ServeConfig:
        if value is True:
            return ServeConfig()
        data = self.mapping(value, where, ("host", "grpc_port", "ws_port", "token", "token_file",
                                           "console_port"))
        console = data.get("console_port", 8080)
        return ServeConfig(host=self.text(data.get("host"), (*where, "host"), "127.0.0.1"),
                           grpc_port=self.integer(data.get("grpc_port"), (*where, "grpc_port"), 50051),
                           ws_port=self.integer(data.get("ws_port"), (*where, "ws_port"), 8765),
                           token=self.secret(data, "token", where),
                           console_port=None if console is False else self.integer(
                               console, (*where, "console_port"), 8080))
