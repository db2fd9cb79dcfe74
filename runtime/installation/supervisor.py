"""`Installation`: one config file running unattended - a session, its sensors, its outputs.

What it owns, all on one asyncio event loop (the only thread that touches sessions):

- a `Runtime` (inside a gRPC/WebSocket `Server` when ``outputs.serve`` asks for
  monitoring), whose scene library serves the installation's last good scene;
- the installation's session, exempt from the idle reaper, with the sinks attached
  (sound card, rotating WAV recorder) - the same sinks carry over to a new session;
- the sources (OSC, MQTT) and the `InputRouter` they feed; the router is the
  installation's `InputTarget`: readings go to whichever session is current;
- a supervisor: a session that ends on its own (engine failure) is restarted after a
  back-off (1 s doubling to 60 s by default), and gets the sensors' latest values;
- housekeeping once a second: scene-file reload, the opening hours (``schedule``: fade
  in/out, pause outside hours), the sound card's health (a stopped stream or a card that
  stopped asking for audio is reopened, or the next ``fallback`` device is used), the
  systemd watchdog (pinged only while audio is really being produced and the card
  plays it, so a hung engine gets the service restarted), and a status line every
  ``status_every``;
- while a crashed session restarts, the device loops the last minute it played
  (`sinks.cover.LoopCover`), so the room is never silent.

``clock`` (a callable returning the local wall-clock time as a naive datetime) is what
the schedule reads; tests pass a fake one and call `apply_schedule` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from ..edge import commands
from ..errors import CadenzaError, FailedPrecondition, InvalidArgument, SceneError
from ..logging_setup import event
from ..scene import Scene
from ..server import Runtime, RuntimeConfig
from ..session import Session, SessionState
from ..session.chunk import Chunk, EventKind, SessionEvent
from ..sources.mqtt import MqttSource
from ..sources.osc import OscSource
from ..sources.router import InputRouter
from .backoff import Backoff
from .config import InstallationConfig
from .scenes import InstallationScenes, SceneFile
from .watchdog import Notifier

log = logging.getLogger("cadenza.installation")

HOUSEKEEPING_S = 1.0   # scene-file check and watchdog tick
COVER_S = 0.1          # how often the loop cover tops the device buffer up
STALL_S = 10.0         # a playing session with no audio for this long is unhealthy


class _Watch:
    """Listener on the current session: notes audio as it is produced and reports the
    session's end to the supervisor."""

    def __init__(self, installation: Installation, session: Session) -> None:
        self.installation = installation
        self.session = session
        self.chunks = 0
        self.last_chunk: float | None = None
        self.last_weights: Mapping[str, float] = {}

    concealing = False  # the engine is late and the loop plays its concealment voice

    def on_chunk(self, chunk: Chunk) -> None:
        self.chunks += 1
        if not self.concealing:  # concealment keeps the room sounding, not the engine alive
            self.last_chunk = time.monotonic()
        self.last_weights = chunk.weights

    def on_event(self, ev: SessionEvent) -> None:
        if ev.kind == EventKind.CONCEALED:
            self.concealing = ev.detail.get("state") == "start"
        elif ev.kind == EventKind.ENDED:
            self.installation._ended(self.session, str(ev.detail.get("reason", "ended")))
        elif ev.kind == EventKind.ERROR:
            event(log, logging.ERROR, "session error", session=self.session.id,
                  error=ev.detail.get("message"))


class Installation:
    """Runs ``config``. start()/stop() on an event loop; `InstallationThread` or
    `run_installation` for the usual ways to host it. ``listeners`` are attached to
    every session it opens (tests collect chunks this way); ``engines`` may inject
    engine instances by name (tests)."""

    def __init__(self, config: InstallationConfig, engines: Mapping[str, object] | None = None,
                 listeners: Iterable[object] = (), notifier: Notifier | None = None,
                 clock: Callable[[], datetime] = datetime.now,
                 device_factory: Callable[..., object] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.device_factory = device_factory
        self.volume = config.volume  # master volume (set_volume, OSC /cadenza/volume)
        self.schedule_gain = 1.0
        self.closed_by_schedule = False
        self.device_problem: str | None = None
        self._cover_task: asyncio.Task | None = None
        self.engines = engines
        self.extra_listeners = list(listeners)
        self.notifier = notifier or Notifier()
        self.scene_file = SceneFile(config.scene_path, config.scene)
        self.scene_name = config.scene_path.stem
        self.server = None
        self.runtime: Runtime | None = None
        self.router: InputRouter | None = None
        self.sources: list = []
        self.sinks: list = []
        self.device = None
        self.recorder = None
        self.session: Session | None = None
        self.watch: _Watch | None = None
        self.backoff = Backoff(config.restart)
        self.restarts = 0
        self.reloads = 0
        self.reload_errors = 0
        self.started_at = time.monotonic()
        self._session_started = 0.0
        self._restart_handle: asyncio.TimerHandle | None = None
        self._housekeeping: asyncio.Task | None = None
        self._stopping = False
        self._paused_by_control = False
        self.stall_s = STALL_S

    # ------------------------------------------------------------ InputTarget
    @property
    def scene(self) -> Scene:
        return self.scene_file.scene

    def apply(self, values: Mapping[str, object]) -> None:
        session = self.session
        if session is None or not session.state.live:
            raise FailedPrecondition("no live session (restarting)")
        session.update_state(values)

    def control(self, action: str) -> None:
        session = self.session
        if session is None or not session.state.live:
            raise FailedPrecondition("no live session (restarting)")
        self.runtime.apply(commands.Control(session.id, action))  # the edge kit's dispatch
        if action in ("play", "pause"):
            self._paused_by_control = action == "pause"

    def trigger(self, stinger: str) -> None:
        session = self.session
        if session is None or not session.state.live:
            raise FailedPrecondition("no live session (restarting)")
        self.runtime.apply(commands.Trigger(session.id, stinger))

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        runtime_config = RuntimeConfig(default_engine=cfg.engine, lookahead_s=cfg.lookahead_s,
                                       scenes_dir=cfg.scene_path.parent)
        self.runtime = Runtime(runtime_config, engines=self.engines)
        self.runtime.library = InstallationScenes(self.runtime.library, self.scene_name, self.scene)
        if cfg.serve:
            from ..serve import ServeOptions, Server

            options = ServeOptions(host=cfg.serve.host, grpc_port=cfg.serve.grpc_port,
                                   ws_port=cfg.serve.ws_port, token=cfg.serve.token,
                                   runtime=runtime_config, console_port=cfg.serve.console_port)
            self.server = Server(options, runtime=self.runtime)
            if self.server.console is not None:
                self.server.console.health_checks.append(self.problem)
                self.server.console.ready_checks.append(self.not_playing)
            await self.server.start()
        else:
            await self.runtime.start()
        self.router = InputRouter(self, cfg.bindings, loop)
        try:
            self._open_outputs()
            self._open_session()
            if cfg.osc:
                self.sources.append(OscSource(self.router, cfg.osc.bindings, cfg.osc.port,
                                              cfg.osc.host, name=cfg.osc.name))
            if cfg.mqtt:
                self.sources.append(MqttSource(self.router, cfg.mqtt.bindings, cfg.mqtt.broker,
                                               name=cfg.mqtt.name))
            for source in self.sources:
                await source.start()
        except BaseException:
            await self.stop()
            raise
        self._housekeeping = loop.create_task(self._tick(), name="installation-housekeeping")
        if self.device is not None:
            self._cover_task = loop.create_task(self._cover(), name="installation-cover")
        self.notifier.send(READY=1, STATUS=f"playing {self.scene.name}")
        event(log, logging.INFO, f"installation {cfg.name} running", config=str(cfg.path),
              engine=cfg.engine, scene=str(cfg.scene_path), session=self.session.id,
              osc=f"{cfg.osc.host}:{self.sources[0].port}" if cfg.osc else None,
              mqtt=cfg.mqtt.broker.label if cfg.mqtt else None,
              device=self.device.device_name if self.device else None,
              recording=str(cfg.wav.directory) if cfg.wav else None,
              grpc=self.server.grpc_port if self.server else None,
              console=self.server.console.url if self.server and self.server.console else None,
              watchdog_s=self.notifier.interval_s)

    def _open_outputs(self) -> None:
        cfg = self.config
        if cfg.device:
            from ..sinks.device import DeviceSink

            factory = self.device_factory or DeviceSink
            self.device = factory(cfg.device.device, blocksize=cfg.device.blocksize,
                                  margin_s=cfg.device.margin_s, buffer_s=cfg.device.buffer_s,
                                  fallback=cfg.device.fallback)
            self.device.volume = cfg.volume
            self.device.start()
            self.sinks.append(self.device)
        if cfg.wav:
            from ..sinks.rotating import RotatingWavSink

            self.recorder = RotatingWavSink(cfg.wav.directory, prefix=cfg.wav.prefix,
                                            rotate_s=cfg.wav.rotate_s, keep=cfg.wav.keep,
                                            subtype=cfg.wav.subtype)
            self.sinks.append(self.recorder)

    async def stop(self) -> None:
        self._stopping = True
        self.notifier.send(STOPPING=1)
        if self._restart_handle is not None:
            self._restart_handle.cancel()
        for task in (self._housekeeping, self._cover_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for source in reversed(self.sources):
            with contextlib.suppress(Exception):
                await source.stop()
        if self.router is not None:
            self.router.close()
        if self.server is not None:
            await self.server.stop()      # closes sessions ("shutdown") and the runtime
        elif self.runtime is not None:
            await self.runtime.stop()
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.close()
        self.notifier.close()
        event(log, logging.INFO, f"installation {self.config.name} stopped",
              uptime_s=round(time.monotonic() - self.started_at, 1), restarts=self.restarts)

    # ------------------------------------------------------------- supervision
    def _open_session(self) -> None:
        """Create and start the session; raises what the runtime raises."""
        session = self.runtime.create_session(scene=self.scene_name, seed=self.config.seed,
                                              paused=True)
        self.runtime.keep_alive(session.id)
        self.watch = _Watch(self, session)
        session.attach(self.watch)
        for sink in (*self.sinks, *self.extra_listeners):
            session.attach(sink)
        self.session = session
        self._session_started = time.monotonic()
        self.router.replay()  # the room's current state, before the first block
        if self.config.schedule is not None:
            self.closed_by_schedule = not self.config.schedule.is_open(self.clock())
        if not self._paused_by_control and not self.closed_by_schedule:
            self.runtime.control(session.id, "play")

    def _ended(self, session: Session, reason: str) -> None:
        """A session ended. Ours stopping: nothing to do; anything else: restart."""
        if self._stopping or session is not self.session or reason == "shutdown":
            return
        uptime = time.monotonic() - self._session_started
        delay = self.backoff.next_delay(uptime)
        self.session = None
        event(log, logging.ERROR, f"session ended ({reason}); restarting in {delay:g}s",
              session=session.id, reason=reason, error=session.error,
              uptime_s=round(uptime, 1), restart=self.restarts + 1)
        self.notifier.send(STATUS=f"session ended ({reason}); restarting in {delay:g}s")
        if self.device is not None and self.device.start_cover():
            event(log, logging.WARNING, "looping the last minute until the session is back",
                  seconds=round(self.device.cover.remembered_s, 1))
        # Not from inside the session's own event dispatch: schedule it.
        self._restart_handle = asyncio.get_running_loop().call_later(delay, self._restart)

    def _restart(self) -> None:
        self._restart_handle = None
        if self._stopping:
            return
        self.restarts += 1
        try:
            self._open_session()
        except CadenzaError as exc:
            delay = self.backoff.next_delay(0.0)
            event(log, logging.ERROR, f"restart failed; retrying in {delay:g}s", error=str(exc),
                  restart=self.restarts)
            self._restart_handle = asyncio.get_running_loop().call_later(delay, self._restart)
            return
        event(log, logging.WARNING, "session restarted", session=self.session.id,
              restarts=self.restarts)
        self.notifier.send(STATUS=f"playing {self.scene.name} (restarted {self.restarts}x)")

    # ------------------------------------------------------------ housekeeping
    async def _tick(self) -> None:
        """Once a second: a stat of the scene file and the watchdog; a status line every
        ``status_every``. A one-second cadence is what a file check and a watchdog need;
        nothing audio-related waits on it."""
        next_ping = 0.0
        next_status = time.monotonic() + self.config.status_every_s
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            now = time.monotonic()
            try:
                if self.config.reload:
                    self.check_scene()
                if self.config.schedule is not None:
                    self.apply_schedule()
                if self.device is not None:
                    self.check_device()
                if self.notifier.interval_s and now >= next_ping and self.healthy():
                    self.notifier.send(WATCHDOG=1)
                    next_ping = now + self.notifier.interval_s
                if now >= next_status:
                    next_status = now + self.config.status_every_s
                    self.log_status()
            except Exception:  # housekeeping must never die silently
                log.exception("housekeeping failed")

    async def _cover(self) -> None:
        while True:
            await asyncio.sleep(COVER_S)
            try:
                self.device.feed_cover()
            except Exception:
                log.exception("loop cover failed")

    def set_volume(self, volume: float) -> None:
        """Master volume of the room's speakers (linear gain, 0..2), times the schedule's
        fade. The recording keeps the engine's own level."""
        if not 0.0 <= volume <= 2.0:
            raise InvalidArgument("volume must be in [0, 2]", field="volume")
        self.volume = volume
        if self.device is not None:
            self.device.volume = volume * self.schedule_gain

    def apply_schedule(self) -> float:
        """Follow the opening hours at ``clock()``: the fade level goes to the device, and
        the session pauses once closed (fade-out done) and plays again at opening. Returns
        the level. Called every housekeeping tick; tests call it with a fake clock."""
        schedule = self.config.schedule
        now = self.clock()
        self.schedule_gain = schedule.gain(now)
        if self.device is not None:
            self.device.volume = self.volume * self.schedule_gain
        is_open = schedule.is_open(now)
        session = self.session
        if session is not None and session.state.live and is_open == self.closed_by_schedule:
            self.closed_by_schedule = not is_open
            if not self._paused_by_control:
                self.runtime.control(session.id, "play" if is_open else "pause")
            event(log, logging.INFO, "opening hours: " + ("open, playing" if is_open else
                                                          "closed, paused"), at=now.isoformat())
        return self.schedule_gain

    def check_device(self) -> str | None:
        """The sound card's health: reopen it (or fail over) when `DeviceSink.check` finds
        it stopped. Returns the problem still standing, or None."""
        problem = self.device.check()
        if problem is None:
            self.device_problem = None
            return None
        event(log, logging.ERROR, f"sound card problem: {problem}; reopening",
              device=self.device.device_name)
        try:
            name = self.device.reopen()
        except CadenzaError as exc:
            self.device_problem = f"{problem}; reopening failed: {exc}"
            event(log, logging.ERROR, "cannot reopen any output device", error=str(exc))
            return self.device_problem
        self.device_problem = None
        event(log, logging.WARNING, "sound card reopened", device=name,
              reopens=self.device.reopens)
        return None

    def problem(self) -> str | None:
        """/healthz: why this installation is not healthy, or None."""
        if self.device_problem:
            return self.device_problem
        return None if self.healthy() else "no audio produced for a while (engine stalled?)"

    def not_playing(self) -> str | None:
        """/readyz: why the music is not playing now, or None (closed hours count as
        ready: the installation does what it should)."""
        session = self.session
        if session is None:
            return "session restarting"
        if session.state != SessionState.PLAYING and not (
                self.closed_by_schedule or self._paused_by_control):
            return f"session {session.state.value}"
        return None

    def check_scene(self) -> bool | None:
        """Reload the scene if its file changed. True: reloaded; False: the file has
        errors (old scene kept); None: unchanged."""
        result = self.scene_file.check()
        if result is None:
            return None
        if isinstance(result, SceneError):
            self.reload_errors += 1
            event(log, logging.ERROR, f"scene file has errors; still playing the previous "
                                      f"version of {self.scene.name}", file=str(self.scene_file.path),
                  errors=len(result.issues))
            for issue in result.issues:
                event(log, logging.ERROR, str(issue), file=issue.file, line=issue.line,
                      field=issue.path)
            return False
        self.runtime.library.scene = result
        self.reloads += 1
        session = self.session
        if session is not None and session.state.live:
            try:
                self.runtime.replace_scene(session.id, scene=self.scene_name)
            except CadenzaError as exc:
                event(log, logging.ERROR, "cannot apply the reloaded scene to the session",
                      session=session.id, error=str(exc))
            self.router.replay()
        unknown = sorted({b.input for b in self.config.bindings} - set(result.inputs))
        event(log, logging.INFO, f"scene reloaded: {result.name}", file=str(self.scene_file.path),
              reloads=self.reloads, inputs=sorted(result.inputs), prompts=sorted(result.prompts),
              **({"unbound_inputs_missing": unknown} if unknown else {}))
        return True

    def healthy(self) -> bool:
        """Audio is being produced, or deliberately not (paused by control, restarting
        with back-off). A playing session whose engine has produced nothing for STALL_S is
        not healthy, even while the loop's concealment keeps the room sounding; nor is an
        installation whose sound card cannot be reopened."""
        session = self.session
        if session is None:
            return self._restart_handle is not None
        if session.state != SessionState.PLAYING:
            return session.state.live
        if self.device_problem:
            return False
        last = self.watch.last_chunk if self.watch else None
        started = self._session_started
        return time.monotonic() - (last if last is not None else started) < self.stall_s

    def status(self) -> dict[str, object]:
        session = self.session
        out: dict[str, object] = {
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "session": session.id if session else None,
            "state": session.state.value if session else "restarting",
            "chunks": self.watch.chunks if self.watch else 0,
            "underruns": session.counters.underruns if session else None,
            "restarts": self.restarts,
            "reloads": self.reloads,
            "blend": {k: round(v, 2) for k, v in (self.watch.last_weights if self.watch else {}).items()},
        }
        if self.router:
            out.update(self.router.totals())
        for source in self.sources:
            if isinstance(source, MqttSource):
                out["mqtt_connected"] = source.connected.is_set()
        if self.device:
            out["device_underruns"] = self.device.buffer.stats.underruns
            out["device_drift_frames"] = self.device.buffer.stats.drift_frames
            out["device_reopens"] = self.device.reopens
            out["volume"] = round(self.device.volume, 3)
        if self.recorder:
            out["recording"] = str(self.recorder.current) if self.recorder.current else None
            out["recording_dropped"] = self.recorder.stats.dropped_chunks
        return out

    def log_status(self) -> None:
        event(log, logging.INFO, "status", **self.status())


async def run_installation(config: InstallationConfig,
                           engines: Mapping[str, object] | None = None) -> int:
    """Run until SIGTERM/SIGINT (SIGHUP: check the scene file now). Returns an exit code.
    ``engines``: already built engines by name (else each is built when first needed)."""
    import signal

    installation = Installation(config, engines=engines)
    await installation.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, installation.check_scene)
    await stop.wait()
    event(log, logging.INFO, "shutting down (signal)")
    await installation.stop()
    return 0
