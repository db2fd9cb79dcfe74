"""`Runtime`: the transport-agnostic serving API (create, control, subscribe ...).

Every transport calls these methods from the asyncio event loop's thread. Errors are
raised as the runtime's error hierarchy (`cadenza.runtime.errors`); transports map them to
their own status codes at the edge.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..compat import engine_warnings
from ..edge.commands import Command, ConfigResult
from ..engines import create_engine, engine_names
from ..engines.base import Engine, EngineInfo, Prompt
from ..errors import (
    CadenzaError,
    EngineUnavailable,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    SceneError,
    SceneIssue,
)
from ..metrics import Metrics
from ..scene import Scene
from ..session import GenerationLoop, Session, SessionState
from ..session.chunk import Chunk, EventKind, SessionEvent
from ..session.clock import Clock, MonotonicClock
from ..session.recording import Recorder, scene_hash
from .compile_worker import CompileJob, CompilePool, check_off_loop, compile_off_loop
from .config import RuntimeConfig
from .driver import LoopDriver
from .library import SceneLibrary
from .subscription import Subscription

log = logging.getLogger("cadenza.runtime")

ACTIONS = ("play", "pause", "stop", "reset")
MAX_SCENE_BYTES = 256 * 1024


class _History:
    """Listener keeping the session's last chunks, so a reconnecting stream can resume."""

    def __init__(self, chunks: int) -> None:
        self.chunks: collections.deque[Chunk] = collections.deque(maxlen=chunks)

    def on_chunk(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    def on_event(self, event: SessionEvent) -> None:
        pass

    def since(self, seq: int) -> list[Chunk]:
        return [c for c in self.chunks if c.seq >= seq]

    def unheard(self, playhead: float) -> list[Chunk]:
        """Chunks still ahead of (or under) the playhead: generated, not yet heard."""
        return [c for c in self.chunks if c.stream_time + c.frames > playhead]


class _EventLog:
    """Listener writing one log line per session event (not per chunk)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._last_underrun = 0.0

    def on_chunk(self, chunk: Chunk) -> None:
        pass

    def on_event(self, event: SessionEvent) -> None:
        s = self.session
        if event.kind == EventKind.BLEND_CHANGED:
            return  # too chatty for a log line; metrics and streams carry it
        if event.kind == EventKind.UNDERRUN:
            now = time.monotonic()
            if now - self._last_underrun < 5.0:
                return
            self._last_underrun = now
        detail = " ".join(f"{k}={v}" for k, v in event.detail.items())
        level = logging.WARNING if event.kind in (EventKind.UNDERRUN, EventKind.ERROR) else logging.INFO
        log.log(level, "session %s scene=%s %s t=%.2fs %s", s.id, s.scene.name, event.kind.value,
                event.stream_time / s.sample_rate, detail)


class _RateLimit:
    """Token bucket for one session's control messages."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, 2 * rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            raise ResourceExhausted(f"too many updates: at most {self.rate:g} per second "
                                    f"per session")
        self.tokens -= 1


@dataclass
class _Entry:
    session: Session
    loop: GenerationLoop
    driver: LoopDriver
    history: _History
    limit: _RateLimit
    created: float
    subscriptions: set[Subscription] = field(default_factory=set)
    idle_since: float | None = None
    pinned: bool = False  # exempt from the idle reaper (see keep_alive)


class Runtime:
    def __init__(self, config: RuntimeConfig | None = None, clock: Clock | None = None,
                 engines: Mapping[str, Engine] | None = None) -> None:
        self.config = config or RuntimeConfig()
        self.clock = clock or MonotonicClock()
        from cadenza import scenes

        self.library = SceneLibrary(self.config.scenes_dir or scenes.DIRECTORY,
                                    self.config.scene_limits)
        # Client scenes compile in worker processes, boxed in time and memory (issue 15).
        self.compile_pool = CompilePool(self.config.compile_workers,
                                        self.config.compile_timeout_s,
                                        self.config.compile_memory_mb)
        self._engines: dict[str, Engine] = dict(engines or {})
        self._loops: dict[str, tuple[GenerationLoop, LoopDriver]] = {}
        self._entries: dict[str, _Entry] = {}
        self._reaper: asyncio.Task | None = None
        self._warm: asyncio.Task | None = None  # the compile workers' start (see start)
        # Engines being built off the event loop (None: not serving yet, build inline).
        self._building: dict[str, concurrent.futures.Future] | None = None
        self._builder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-build")
        self.started = time.monotonic()
        self.listeners_hooks: list = []  # callables(session) -> listener, e.g. metrics
        # callables(session_id, resume_from_seq) called for an unknown id before NotFound:
        # they may create it (a cluster worker restores it from Redis) or raise (e.g.
        # unavailable: retry). resume_from_seq is None except for a resuming stream.
        self.missing_session_hooks: list = []
        self.attach_hooks: list = []  # callables(session_id) after a stream attached
        # callable() -> str | None: the id a client asked for its new session (the
        # cluster's routing header), or None for a random one.
        self.session_id_hook = None
        # Per-Runtime Prometheus registry (served at /metrics by the console); transports
        # report to it through its hooks (client_connected, state_update, error ...).
        self.metrics = Metrics(self, per_session=self.config.metrics_per_session)

    # --------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop_for(self.config.default_engine)
        self._building = {}
        self._reaper = asyncio.get_running_loop().create_task(self._reap_idle(), name="reaper")
        self._warm = asyncio.get_running_loop().create_task(self._warm_compile(), name="warm")

    async def _warm_compile(self) -> None:
        """Start a compile worker now, so the first client scene does not wait for it."""
        await self.compile_pool.warm()

    async def warmed(self) -> None:
        """Return once the compile workers have started (or failed to): their start costs
        about a core-second, which a cluster worker spends before it joins, not while it
        serves its first sessions."""
        if self._warm is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._warm)

    async def stop(self) -> None:
        for session_id in list(self._entries):
            with contextlib.suppress(CadenzaError):
                self.close(session_id, reason="shutdown")
        if self._reaper:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for _, driver in self._loops.values():
            await driver.stop()
        self._builder.shutdown(wait=False, cancel_futures=True)
        if self._warm is not None:
            self._warm.cancel()
        self.compile_pool.close()

    def engine(self, name: str | None = None) -> Engine:
        """The engine called ``name``, built on first use. Only the procedural engine (a
        few ms) is built inline; any other (weights, compiles) is built on a thread and
        this raises EngineUnavailable with a retry hint until it is ready, so nothing
        blocks the event loop. `cadenza serve` builds its default engine before serving."""
        name = name or self.config.default_engine
        engine = self._engines.get(name)
        if engine is not None:
            return engine
        if name == "procedural" or self._building is None:
            engine = self._engines[name] = create_engine(name)
            return engine
        future = self._building.get(name)
        if future is None:
            future = self._building[name] = self._builder.submit(create_engine, name)
        if not future.done():
            raise EngineUnavailable(f"engine {name!r} is starting; retry in a few seconds",
                                    retry_after_s=5.0)
        del self._building[name]
        engine = self._engines[name] = future.result()  # raises its EngineUnavailable
        return engine

    def _loop_for(self, name: str | None) -> tuple[GenerationLoop, LoopDriver]:
        name = name or self.config.default_engine
        pair = self._loops.get(name)
        if pair is None:
            loop = GenerationLoop(self.engine(name), lookahead_s=self.config.lookahead_s,
                                  clock=self.clock,
                                  admission_headroom=self.config.admission_headroom,
                                  admission_cpu=self.config.admission_cpu)
            driver = LoopDriver(loop)
            driver.start()
            pair = self._loops[name] = (loop, driver)
        return pair

    @property
    def loops(self) -> dict[str, GenerationLoop]:
        return {name: pair[0] for name, pair in self._loops.items()}

    # ---------------------------------------------------------------------- sessions
    def create_session(self, scene: str | Scene | None = None, scene_yaml: str | None = None,
                       engine: str | None = None, seed: int | None = None,
                       state: Mapping[str, object] | None = None,
                       paused: bool = False, record: bool = False,
                       session_id: str | None = None, engine_state=None) -> Session:
        """A new session. ``scene``: a library name or an already compiled `Scene` (see
        `create_session_async`, which compiles inline YAML off the loop). ``record``
        needs a server with a recordings folder (``--record DIR``). ``session_id`` and
        ``engine_state``: continue a session restored from elsewhere (the cluster).

        A continued session already exists (its listeners are waiting for it): the limit
        and admission count new sessions only, and a continued one is refused only past
        twice the limit, so a failover or a drain that lands unevenly loses no session."""
        moved = engine_state is not None
        limit = self.config.max_sessions * (2 if moved else 1)
        if len(self._entries) >= limit:
            self.metrics.refused("limit")
            raise ResourceExhausted(f"server is at its limit of {limit} sessions",
                                    retry_after_s=5.0)
        if record and self.config.record_dir is None:
            raise FailedPrecondition("record=true needs a server started with --record DIR; "
                                     "this one keeps no recordings")
        compiled = scene if isinstance(scene, Scene) else self._scene(scene, scene_yaml)
        if engine and engine not in engine_names():
            raise NotFound(f"unknown engine {engine!r}; available: {', '.join(engine_names())}")
        if seed is not None and not 0 <= seed < 2**63:
            raise InvalidArgument("seed must be within [0, 2^63)", field="seed")
        loop, driver = self._loop_for(engine)
        if not moved:
            self._admit(loop)
        if session_id is None and self.session_id_hook is not None:
            session_id = self.session_id_hook()
            if session_id in self._entries:
                raise InvalidArgument(f"session id {session_id!r} is in use", field="session_id")
        session = loop.open(compiled, seed, session_id=session_id or secrets.token_urlsafe(12),
                            engine_state=engine_state)
        if record or self.config.record_dir is not None:
            session.recorder = self._recorder(session, loop)
        try:
            if state:
                session.update_state(state)
        except CadenzaError:
            loop.discard(session)
            raise
        chunks = max(1, int(self.config.history_s * session.sample_rate / loop.frames))
        entry = _Entry(session, loop, driver, _History(chunks),
                       _RateLimit(self.config.updates_per_second), time.monotonic(),
                       idle_since=time.monotonic())
        session.attach(entry.history)
        session.attach(_EventLog(session))
        for hook in self.listeners_hooks:
            session.attach(hook(session))
        self._entries[session.id] = entry
        log.info("session %s created scene=%s engine=%s seed=%d", session.id, compiled.name,
                 loop.engine.info.name, session.seed)
        if not paused:
            loop.control(session, "play")
            driver.wake()
        return session

    def _admit(self, loop: GenerationLoop) -> None:
        """Admission control: refuse the session that would make the others late, from
        the engine's measured capacity (see `GenerationLoop.capacity`), before anyone
        underruns. Below ``admission_floor`` sessions every request is admitted (no
        measurement is trusted that early)."""
        if not self.config.admission:
            return
        live = sum(1 for s in loop.sessions.values() if s.state.live)
        if live < self.config.admission_floor:
            return
        capacity = loop.capacity()
        if capacity is not None and live >= capacity:
            self.metrics.refused("capacity")
            raise ResourceExhausted(
                f"engine {loop.engine.info.name!r} is at its real-time capacity of {capacity} "
                f"sessions; retry later or on another server", retry_after_s=5.0)

    def _recorder(self, session: Session, loop: GenerationLoop) -> Recorder:
        directory = Path(self.config.record_dir or "recordings")
        info = loop.engine.info
        scene = session.scene
        return Recorder(directory / f"{session.id}.cadrec", {
            "session_id": session.id,
            "scene": {"name": scene.name, "file": scene.file, "sha256": scene_hash(scene.source),
                      "yaml": scene.source},
            "engine": {"name": info.name, "version": info.version,
                       "block_frames": info.block_frames, "sample_rate": info.sample_rate},
            "seed": session.seed,
        })

    def _scene(self, name: str | None, yaml_text: str | None,
               filename: str = "<inline>") -> Scene:
        if yaml_text:
            self._check_size(yaml_text)
            return self._job(yaml_text, filename).compile()
        if name:
            return self.library.get(name)
        raise InvalidArgument("give a scene name or inline scene YAML", field="scene")

    def _check_size(self, text: object, what: str = "inline scene") -> None:
        if not isinstance(text, str):
            raise InvalidArgument(f"{what} must be YAML text", field="scene_yaml")
        limit = self.config.scene_limits.max_bytes
        if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
            raise ResourceExhausted(f"{what} larger than {limit} bytes")

    def _job(self, text: str, filename: str) -> CompileJob:
        """A client's scene: the server's limits, audio only from its asset directory."""
        assets = self.config.asset_dir
        return CompileJob(text, filename or "<inline>", self.config.scene_limits,
                          untrusted=True, asset_dir=str(assets) if assets else None)

    async def _scene_async(self, name: str | Scene | None, yaml_text: str | None,
                           filename: str = "<inline>") -> Scene:
        """`_scene` without blocking the loop: inline YAML in the compile worker (time and
        memory budget), a library file on a thread."""
        if isinstance(name, Scene):
            return name
        if yaml_text:
            self._check_size(yaml_text)
            job = self._job(yaml_text, filename)
            return await compile_off_loop(job.text, job.filename, limits=job.limits,
                                          untrusted=True, asset_dir=job.asset_dir,
                                          pool=self.compile_pool)
        if name:
            return await asyncio.to_thread(self.library.get, name)
        raise InvalidArgument("give a scene name or inline scene YAML", field="scene")

    async def create_session_async(self, scene: str | Scene | None = None,
                                   scene_yaml: str | None = None, **options: object) -> Session:
        """`create_session` for coroutines: the scene compiles off the event loop (see
        compile_worker); the other arguments are create_session's."""
        if len(self._entries) >= self.config.max_sessions:
            self.metrics.refused("limit")
            raise ResourceExhausted(f"server is at its limit of {self.config.max_sessions} "
                                    f"sessions", retry_after_s=5.0)
        compiled = await self._scene_async(scene, scene_yaml)
        return self.create_session(compiled, **options)  # type: ignore[arg-type]

    def _entry(self, session_id: str) -> _Entry:
        entry = self._entries.get(session_id)
        if entry is None and self.missing_session_hooks:
            for hook in self.missing_session_hooks:
                hook(session_id, None)
            entry = self._entries.get(session_id)
        if entry is None:
            raise NotFound(f"no session {session_id!r}")
        return entry

    def get(self, session_id: str) -> Session:
        return self._entry(session_id).session

    def sessions(self) -> list[Session]:
        return [e.session for e in self._entries.values()]

    def loop_of(self, session_id: str) -> GenerationLoop:
        """The generation loop (one per engine) that plays this session."""
        return self._entry(session_id).loop

    def listeners(self, session_id: str) -> int:
        return len(self._entry(session_id).subscriptions)

    def uptime(self, session_id: str) -> float:
        return time.monotonic() - self._entry(session_id).created

    def close(self, session_id: str, reason: str = "closed") -> None:
        if session_id not in self._entries and self.missing_session_hooks:
            self._entry(session_id)  # a cluster session held elsewhere: moved, or restored
        entry = self._entries.pop(session_id, None)
        if entry is None:
            raise NotFound(f"no session {session_id!r}")
        session = entry.session
        if session.state != SessionState.CLOSED:
            entry.loop.control(session, "close", reason=reason)
        for sub in list(entry.subscriptions):
            sub.close("ended")

    def _forget_ended(self) -> None:
        """Drop entries of sessions that ended on their own (engine failure)."""
        for session_id, entry in list(self._entries.items()):
            if not entry.session.state.live:
                self._entries.pop(session_id, None)

    # ----------------------------------------------------------------------- control
    def trigger(self, session_id: str, stinger: str) -> Session:
        """Fire a stinger of the session's scene (see `Session.trigger`)."""
        entry = self._entry(session_id)
        entry.limit.take()
        entry.session.trigger(stinger)
        return entry.session

    def update_state(self, session_id: str, values: Mapping[str, object]) -> Session:
        entry = self._entry(session_id)
        entry.limit.take()
        entry.session.update_state(values)
        return entry.session

    def set_prompts(self, session_id: str, prompts: Mapping[str, float]) -> dict[str, list[str]]:
        """Apply a prompt override; returns the words the engine did not know, per prompt."""
        entry = self._entry(session_id)
        entry.limit.take()
        entry.session.set_prompts(prompts)
        styles = entry.loop.styles
        unknown = {}
        for text in prompts:
            words = styles.embed(Prompt(text=text.strip())).unknown_words if text.strip() else ()
            if words:
                unknown[text] = list(words)
        return unknown

    def set_config(self, session_id: str, values: Mapping[str, object] | None,
                   clear: Sequence[str] = ()) -> ConfigResult:
        """Live generation config (see `Session.set_config`); reports the fields in
        effect that the session's engine does not honour."""
        entry = self._entry(session_id)
        entry.limit.take()
        config = entry.session.set_config(values, clear)
        knobs = entry.loop.engine.info.knobs
        return ConfigResult(config, tuple(k for k in config if k not in knobs),
                            entry.session.applies_at)

    def apply(self, command: Command):
        """Apply one edge command (`cadenza.runtime.edge.commands`): the one dispatch
        from every transport to the runtime. Returns the command's result."""
        return command.run(self)

    async def apply_async(self, command: Command):
        """As `apply`, from a coroutine: client-supplied scenes compile off the loop."""
        return await command.run_async(self)

    def control(self, session_id: str, action: str) -> Session:
        if action not in ACTIONS:
            raise InvalidArgument(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}",
                                  field="action")
        entry = self._entry(session_id)
        entry.limit.take()
        if action == "stop":
            self.close(session_id)
            return entry.session
        entry.loop.control(entry.session, action)
        if action == "play":
            entry.driver.wake()
        return entry.session

    def replace_scene(self, session_id: str, scene: str | Scene | None = None,
                      scene_yaml: str | None = None, filename: str = "<inline>") -> Session:
        """Give a live session another scene without a gap in its audio: the engine state,
        seq, stream and listeners are kept; inputs the new scene also has keep their value
        (when still valid there, else they take its default); the blend crossfades from
        the old scene's last blend to the new scene's over the new scene's default glide.
        Raises SceneError (with file:line issues) and keeps the old scene on a bad one."""
        entry = self._entry(session_id)
        entry.limit.take()
        compiled = scene if isinstance(scene, Scene) else \
            self._scene(scene, scene_yaml, filename or "<inline>")
        session = entry.session
        if not session.state.live:
            raise FailedPrecondition(f"session {session_id} is {session.state.value}")
        session.swap_scene(compiled)
        log.info("session %s scene replaced by %s", session_id, compiled.name)
        return session

    async def replace_scene_async(self, session_id: str, scene: str | Scene | None = None,
                                  scene_yaml: str | None = None,
                                  filename: str = "<inline>") -> Session:
        """`replace_scene` for coroutines: the new scene compiles off the event loop."""
        self._entry(session_id)  # NotFound before any compile work
        compiled = await self._scene_async(scene, scene_yaml, filename or "<inline>")
        return self.replace_scene(session_id, compiled)

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, session_id: str, resume_from_seq: int | None = None,
                  beats: str | None = None) -> Subscription:
        """Attach a stream. With ``resume_from_seq``, chunks still in the session's history
        from that seq on are queued first (then live chunks follow, gapless)."""
        if session_id not in self._entries:
            for hook in self.missing_session_hooks:  # with the seq the stream resumes at
                hook(session_id, resume_from_seq)
        entry = self._entry(session_id)
        if len(entry.subscriptions) >= self.config.max_listeners:
            raise ResourceExhausted(f"session {session_id} already has "
                                    f"{self.config.max_listeners} streams")
        session = entry.session
        per_chunk = entry.loop.frames / session.sample_rate
        sub = Subscription(session_id, max(2, int(self.config.max_backlog_s / per_chunk)), beats)
        if resume_from_seq is not None:
            sub.replay(entry.history.since(resume_from_seq))
        elif session.state == SessionState.PLAYING:
            # A stream joining a playing session starts with the audio already generated
            # ahead of real time, so its buffer holds the whole lookahead (not one block)
            # and it rides out a late block as the first listener does.
            sub.replay(entry.history.unheard(entry.loop.playhead(session, entry.loop.clock.now())))
        if not session.state.live:
            # Failed or closed, not yet forgotten: say so at once (the events a live
            # stream got when it ended), then the stream ends; never wait for more.
            if session.state == SessionState.FAILED:
                sub.on_event(SessionEvent(EventKind.ERROR, session_id, session.stream_time,
                                          {"message": session.error or "engine failure"}))
            reason = "error" if session.state == SessionState.FAILED else "closed"
            sub.on_event(SessionEvent(EventKind.ENDED, session_id, session.stream_time,
                                      {"reason": reason}))
            return sub
        session.attach(sub)
        entry.subscriptions.add(sub)
        entry.idle_since = None
        for hook in self.attach_hooks:
            hook(session_id)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        entry = self._entries.get(sub.session_id)
        sub.close("detached")
        self.metrics.stream_closed(sub)
        if entry is None:
            return
        entry.session.detach(sub)
        entry.subscriptions.discard(sub)
        if not entry.subscriptions:
            entry.idle_since = time.monotonic()

    def keep_alive(self, session_id: str) -> None:
        """Exempt a session from the idle reaper: an installation's session plays to local
        sinks (sound card, recorder) and may have no stream for months."""
        self._entry(session_id).pinned = True

    async def _reap_idle(self) -> None:
        """Close sessions nobody has streamed for idle_timeout_s (killed clients leak
        nothing), and forget sessions that ended on their own."""
        while True:
            await asyncio.sleep(min(1.0, self.config.idle_timeout_s / 4))
            self._forget_ended()
            now = time.monotonic()
            for session_id, entry in list(self._entries.items()):
                for sub in list(entry.subscriptions):
                    if sub.closed and sub.closed.reason == "dropped":
                        self.unsubscribe(sub)
                if entry.idle_since is not None and not entry.pinned and \
                        now - entry.idle_since >= self.config.idle_timeout_s:
                    log.info("session %s idle for %.0fs: closing", session_id,
                             now - entry.idle_since)
                    with contextlib.suppress(CadenzaError):
                        self.close(session_id, reason="idle")

    # ------------------------------------------------------------------- information
    def engine_info(self, name: str | None = None) -> EngineInfo:
        if name and name not in engine_names():
            raise NotFound(f"unknown engine {name!r}; available: {', '.join(engine_names())}")
        return self.engine(name).info

    def validate_scene(self, text: str, filename: str = "<scene>",
                       engine: str | None = None) -> tuple[list[SceneIssue], str]:
        """Every issue (errors, then warnings) and, for a valid scene, its summary."""
        self._check_size(text, "scene")
        try:
            scene = self._job(text, filename or "<scene>").compile()
        except SceneError as exc:
            return list(exc.issues), ""
        issues = list(scene.warnings)
        if engine:
            for warning in engine_warnings(scene, self.engine(engine)):
                issues.append(SceneIssue(filename, None, "", warning, "warning"))
        return issues, scene.summary()

    async def validate_scene_async(self, text: str, filename: str = "<scene>",
                                   engine: str | None = None) -> tuple[list[SceneIssue], str]:
        """`validate_scene` for coroutines: compiled in the worker (time and memory
        budget; over it: ResourceExhausted), never on the event loop."""
        self._check_size(text, "scene")
        job = self._job(text, filename or "<scene>")
        verdict = await check_off_loop(job, self.compile_pool)
        if verdict.out_of_memory or verdict.crashed:
            verdict.raise_for_errors(job, self.compile_pool.memory_mb)
        if verdict.errors:
            return list(verdict.errors), ""
        issues = list(verdict.warnings)
        if engine:
            scene = await asyncio.to_thread(job.compile)
            for warning in engine_warnings(scene, self.engine(engine)):
                issues.append(SceneIssue(filename, None, "", warning, "warning"))
        return issues, verdict.summary
