"""A `cadenza serve` process as one worker of a cluster (``--cluster redis://...``).

What it does, besides serving:

* registers itself (address, pid, engine, capacity, sessions) with a heartbeat and TTL;
* for every session it plays, holds a lease (`store.ClusterStore`) and writes the
  session's **descriptor** behind the audio: every ``every_blocks`` chunks it takes the
  engine snapshot and meta (scene hash, seed, inputs, prompt override, config, seq,
  stream time, clock) on the event loop — between engine calls, never blocking on I/O —
  and hands them to its own thread, which writes the newest one once the stream is
  ``delay_blocks`` past it (so a resume after a crash never asks for a seq the snapshot
  is ahead of). Bounded: one pending descriptor per session, latest wins;
* restores a session it does not know when a client asks for it (`Runtime`'s
  ``missing_session_hooks``): when the session's lease is free it claims it (exactly
  once, fenced by a generation) and continues the stream at the descriptor's seq,
  stream time and musical position; while a dead owner's lease is still running it
  answers UNAVAILABLE ("moved", retry) and claims it in the background;
* drains on SIGTERM (`drain`): stops admitting, pauses each session, writes a final
  descriptor, releases the lease and ends each stream with a "moved" UNAVAILABLE that
  the SDKs follow by reconnecting (through Envoy, to a peer that restores it).

Threading: hooks and listeners run on the event loop's thread; Redis I/O runs on the
worker's own thread (``cluster-io``), except the claim of an attach for a free lease (one
round trip on loopback/LAN, accepted on the loop); taking a held lease over (probing its
holder's port, the steal) runs in the default executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from ..errors import CadenzaError, ServerError
from ..scene import compile_scene
from ..session import SessionState
from ..session.chunk import Chunk, EventKind, SessionEvent
from . import routing
from .forward import Forwarder
from .store import ClusterStore, Fenced, Lease, WorkerInfo, new_worker_id

log = logging.getLogger("cadenza.cluster")


class Moved(ServerError):
    """The session is (being) served elsewhere: reconnect with resume_from_seq."""

    code = "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(f"moved: {message}")


@dataclass
class _Pending:
    seq: int
    meta: dict
    snapshot: bytes


CATCH_UP_S = 30  # the most audio a restore generates to reach where its client is


def _lag(meta: dict) -> int:
    """The descriptor's engine lag in samples (0 for descriptors written before it)."""
    try:
        return max(0, int(meta.get("lag") or 0))
    except (TypeError, ValueError):
        return 0


def clock_meta(clock) -> dict | None:
    if clock is None:
        return None
    return {"beat": clock.beat, "bar": clock.bar, "bpm": clock.bpm,
            "beats_per_bar": clock.beats_per_bar, "beat_unit": clock.beat_unit}


class _DescriptorListener:
    """Session listener: snapshots every ``every`` chunks, queued for the writer."""

    def __init__(self, worker: ClusterWorker, session) -> None:
        self.worker = worker
        self.session = session
        self.captured: list[_Pending] = []
        self.due = worker.every_blocks - 1  # the seq whose chunk takes the next snapshot

    def on_chunk(self, chunk: Chunk) -> None:
        w = self.worker
        # Not while a block is being generated (its state is the engine's): the next chunk
        # takes it instead, so a busy loop never leaves the descriptor blocks behind.
        if chunk.seq >= self.due and self.session.in_flight == 0:
            self.due = chunk.seq + w.every_blocks
            pending = w.capture(self.session)
            if pending is not None:
                self.captured.append(pending)
        ready = [p for p in self.captured if chunk.seq + 1 - p.seq >= w.delay_blocks]
        if ready:
            self.captured = self.captured[len(ready):]
            w.queue_write(self.session.id, ready[-1])

    def on_event(self, event: SessionEvent) -> None:
        if event.kind == EventKind.ENDED:
            self.worker.ended(self.session.id, str(event.detail.get("reason", "")))


class ClusterWorker:
    """Plugs into a `serve.Server` as one of its extras (start/stop)."""

    def __init__(self, server, redis_url: str, advertise: str = "", ws_advertise: str = "",
                 every_blocks: int = 20, delay_blocks: int = 10, heartbeat_s: float = 0.3,
                 ttl_s: float = 2.0, lease_ms: int = 1500, drain_grace_s: float = 20.0) -> None:
        self.server = server
        self.runtime = server.runtime
        self.store = ClusterStore(redis_url, ttl_s=ttl_s, lease_ms=lease_ms)
        self.advertise = advertise
        self.ws_advertise = ws_advertise
        self.id = ""  # set at start, when the ports are known
        self.every_blocks = every_blocks
        self.delay_blocks = delay_blocks
        self.heartbeat_s = heartbeat_s
        self.drain_grace_s = drain_grace_s
        self.started = time.time()
        self.leases: dict[str, Lease] = {}
        self._since: dict[str, float] = {}  # when a restored session arrived here
        self._wanted: set[str] = set()  # sessions peers asked for (I/O thread only)
        self._restoring: dict[str, int | None] = {}  # session -> the seq a client resumes at
        self._awaiting: set[str] = set()  # restored, paused until its stream attaches
        self._outbox: dict[str, _Pending] = {}
        self._new: list = []  # locally created sessions waiting for their lease
        self._ended: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Fast-forwards of restored sessions share one thread and one engine call a block:
        # many engine threads at once would hold the GIL off the event loop that answers
        # every other attach, one session at a time leaves the last waiting for all.
        self._forward = Forwarder()
        self._tasks: set[asyncio.Task] = set()  # restores and hand-offs in flight (`_spawn`)
        self.draining = False

    # ------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.runtime.warmed()
        host = self.server.options.host
        self.advertise = self.advertise or f"{host}:{self.server.grpc_port}"
        self.ws_advertise = self.ws_advertise or f"{self.advertise.rpartition(':')[0]}:" \
                                                 f"{self.server.ws_port}"
        self.id = new_worker_id(self.advertise)
        await asyncio.to_thread(self.store.ping)
        self.runtime.listeners_hooks.append(self._listener_for)
        self.runtime.missing_session_hooks.append(self._missing)
        self.runtime.attach_hooks.append(self._attached)
        self.runtime.session_id_hook = routing.requested_id
        await asyncio.to_thread(self.store.heartbeat, self._info())
        self._thread = threading.Thread(target=self._run, name="cluster-io", daemon=True)
        self._thread.start()
        log.info("cluster worker %s joined %s", self.id, self.store.url)

    async def stop(self) -> None:
        """SIGTERM/SIGINT: drain (hand every session to a peer), then leave."""
        if not self.draining:
            try:
                await self.drain()
            except Exception:
                log.exception("drain failed")
        self._stop.set()
        self._wake.set()
        if self._thread:
            await asyncio.to_thread(self._thread.join, 5.0)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.remove_worker, self.id)
        self._forward.close()

    def _info(self) -> WorkerInfo:
        rt = self.runtime
        return WorkerInfo(self.id, self.advertise, self.ws_advertise, os.getpid(),
                          rt.config.default_engine, 0 if self.draining else rt.config.max_sessions,
                          len(rt.sessions()), self.started)

    # --------------------------------------------------------- the event loop's side
    def _listener_for(self, session):
        if session.id not in self.leases:  # created here (not restored): describe it now
            first = self.capture(session)
            with self._lock:
                self._new.append((session.id, session.scene.source))
                if first is not None:
                    self._outbox[session.id] = first
            self._wake.set()
        return _DescriptorListener(self, session)

    def capture(self, session) -> _Pending | None:
        """The session's descriptor now (event loop, between engine calls)."""
        try:
            snapshot = self.runtime.engine(session.engine_name).snapshot(session.engine_state)
        except (CadenzaError, NotImplementedError, AttributeError, TypeError):
            return None  # an engine without snapshots: the session is not restorable
        scene = session.scene
        meta = {
            "v": 1, "session_id": session.id, "scene": scene.name, "scene_file": scene.file,
            "scene_hash": self.store_scene_hash(scene.source), "engine": session.engine_name,
            "seed": session.seed, "seq": session.seq, "stream_time": session.stream_time,
            # Samples the concealment played that the engine's state has not generated yet
            # (the band catches up on its grid): the restore generates them first.
            "lag": self._engine_lag(session),
            "clock": clock_meta(session.clock), "inputs": dict(session.inputs),
            "prompts": dict(session.override) if session.override else None,
            "config": dict(session.config_override),
            "state": "paused" if session.state == SessionState.PAUSED else "playing",
            "written": time.time(), "worker": self.id,
        }
        return _Pending(session.seq, meta, snapshot)

    def _engine_lag(self, session) -> int:
        try:
            return self.runtime.loop_of(session.id).engine_lag(session)
        except CadenzaError:  # being created: not registered yet, and nothing concealed
            return 0

    @staticmethod
    def store_scene_hash(source: str) -> str:
        from .store import scene_hash

        return scene_hash(source)

    def _describe_now(self, session, state: str | None) -> None:
        """Write the descriptor as it stands (a restored session: owner and seq now);
        ``state``: the lifecycle state it is about to resume ("playing" or "paused")."""
        pending = self.capture(session)
        if pending is not None:
            pending.meta["state"] = state or "playing"
            self.queue_write(session.id, pending)

    def queue_write(self, session_id: str, pending: _Pending) -> None:
        with self._lock:
            self._outbox[session_id] = pending
        self._wake.set()

    def ended(self, session_id: str, reason: str) -> None:
        self._awaiting.discard(session_id)
        if reason in ("moved", "shutdown"):
            return  # the descriptor stays for the peer that continues it
        with self._lock:
            self._ended.append(session_id)
        self._wake.set()

    def _missing(self, session_id: str, resume_from_seq: int | None = None) -> None:
        """Runtime hook for an unknown session id: restore it here when it is ours to take."""
        if self.draining:
            raise Moved("this worker is draining; reconnect")
        if session_id in self._restoring:
            self._restoring[session_id] = resume_from_seq or self._restoring[session_id]
            raise Moved(f"session {session_id} is being restored; retry")
        found = self.store.descriptor(session_id, resume_from_seq)
        if found is None:
            return  # not a cluster session: NotFound
        lease = self.store.claim(session_id, self.id)
        if lease is None:
            # Held: probing the holder (a connect that may wait) and the steal run off the
            # loop, so a dead host's sessions arriving together never stall this worker's.
            self._restoring[session_id] = resume_from_seq
            self._spawn(self._take_over(session_id, found))
            raise Moved(f"session {session_id} is being restored; retry")
        meta, snapshot = found[:2]
        if (resume_from_seq is None or resume_from_seq <= int(meta["seq"])) and \
                not _lag(meta):
            self._restore(lease, meta, snapshot)  # nothing to catch up: at once
            return
        self._restoring[session_id] = resume_from_seq
        self._spawn(self._restore_async(lease, meta, snapshot))
        raise Moved(f"session {session_id} is being restored; retry")

    async def _take_over(self, session_id: str, found: tuple) -> None:
        """A held session: steal its lease from a dead holder and restore it, else ask a
        live holder to hand it over; the I/O thread claims it when the lease runs out."""
        try:
            lease = await asyncio.to_thread(self._steal_or_ask, session_id)
        except Exception:
            log.exception("could not take session %s over; waiting for its lease", session_id)
            lease = None
        if lease is None:
            self._wake.set()
            return
        await self._restore_async(lease, *found[:2])

    def _steal_or_ask(self, session_id: str) -> Lease | None:
        """(A worker thread.) The lease when its holder is dead; else None, after asking a
        live holder elsewhere (the ring changed: a worker came back) to hand it over."""
        lease = self._steal_from_dead(session_id)
        if lease is None:
            holder = (self.store.holder(session_id) or "").rpartition(":")[0]
            if holder and holder != self.id and holder in {w.id for w in self.store.workers()}:
                self.store.request_handoff(holder, session_id)
        return lease

    async def _restore_async(self, lease: Lease, meta: dict, snapshot: bytes) -> None:
        """Restore, then run the engine ahead (off the loop) to the seq the client resumes
        at: it heard up to there from the dead worker, so it never waits for those blocks
        to be generated again in real time."""
        sid = lease.session_id
        try:
            session = self._restore(lease, meta, snapshot, play=False)
            behind = max(0, (self._restoring.get(sid) or 0) - session.seq)
            frames = self.runtime.loop_of(sid).frames
            most = int(CATCH_UP_S * session.sample_rate / frames)
            behind = min(behind, most)
            lagging = min(-(-_lag(meta) // frames), most)  # blocks the state is behind its seq
            if behind + lagging > 0:
                state = await self._fast_forward(session, behind + lagging)
                if state is not None:
                    session.slot.engine_state = state
                    session.seq += behind
                    session.stream_time += behind * frames
                    self._describe_now(session, meta.get("state"))
            if meta.get("state") != "paused" and session.state.live:
                # It plays once the resuming stream attaches here: if the client's retry
                # lands on another worker (the ring changed meanwhile), this copy is still
                # at the client's seq when it is handed over, and no chunk is lost.
                self._awaiting.add(sid)
                if self.runtime.listeners(sid):
                    self._attached(sid)
            log.info("session %s continues at seq %d", sid, session.seq)
        except CadenzaError as exc:  # closed or moved on meanwhile
            log.info("session %s not continued here: %s", sid, exc)
        except Exception:
            log.exception("could not restore session %s", sid)
        finally:
            self._restoring.pop(sid, None)

    def _attached(self, session_id: str) -> None:
        """Runtime hook after a stream attached: play a session restored for it."""
        if session_id in self._awaiting:
            self._awaiting.discard(session_id)
            with contextlib.suppress(CadenzaError):
                self.runtime.control(session_id, "play")

    async def _fast_forward(self, session, blocks: int):
        """The engine state ``blocks`` blocks on, with the session's current blend (on the
        forwarder's thread, batched with every other restore; the session is paused, so
        the loop does not touch its state meanwhile); None when that failed."""
        try:
            loop = self.runtime.loop_of(session.id)
            blend = session.next_blend()
            style = loop.styles.mix(blend.weights, blend.prompts)
            return await asyncio.wrap_future(self._forward.submit(
                loop.engine, loop.frames, session.engine_state, style, blend.knobs, blocks))
        except Exception:
            log.exception("fast-forward of session %s failed; it replays from its snapshot",
                          session.id)
            return None

    def _steal_from_dead(self, session_id: str) -> Lease | None:
        """The lease, when its holder's gRPC port refuses connections (the process is
        gone: kill -9, OOM). A paused or unreachable holder is not stolen from: its lease
        runs out instead."""
        token = self.store.holder(session_id)
        if not token:
            return None
        address = token.rpartition(":")[0].partition("#")[0]
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=0.2).close()
            return None  # alive (or at least accepting)
        except ConnectionRefusedError:
            return self.store.steal(session_id, self.id, token)
        except (OSError, ValueError):
            return None

    def _restore(self, lease: Lease, meta: dict, snapshot: bytes, play: bool = True):
        sid = lease.session_id
        try:
            yaml = self.store.scene(meta["scene_hash"])
            if yaml is None:
                raise ValueError("scene missing from the store")
            scene = compile_scene(yaml, meta.get("scene_file") or "<cluster>", check_files=False)
            engine = self.runtime.engine(meta["engine"])
            state = engine.restore(snapshot)
            self.leases[sid] = lease
            self._since[sid] = time.monotonic()
            session = self.runtime.create_session(
                scene=scene, engine=meta["engine"], seed=meta["seed"], paused=True,
                session_id=sid, engine_state=state)
        except Exception:
            self.leases.pop(sid, None)
            self.store.release(lease)
            log.exception("could not restore session %s", sid)
            raise
        session.seq, session.stream_time = int(meta["seq"]), int(meta["stream_time"])
        with contextlib.suppress(CadenzaError):
            session.update_state(meta.get("inputs") or {})
        if meta.get("prompts"):
            with contextlib.suppress(CadenzaError):
                session.set_prompts(meta["prompts"])
        if meta.get("config"):
            with contextlib.suppress(CadenzaError, AttributeError):
                session.set_config(meta["config"])
        self._describe_now(session, meta.get("state"))
        if play and meta.get("state") != "paused":
            self.runtime.control(sid, "play")
        log.info("session %s restored at seq %d (gen %d, was on %s)", sid, session.seq,
                 lease.gen, meta.get("worker"))
        return session

    def _fenced(self, session_id: str) -> None:
        """Another worker took the session over: stop playing it here (event loop)."""
        self.leases.pop(session_id, None)
        self.close_moved(session_id, "taken over by another worker")

    def close_moved(self, session_id: str, why: str) -> None:
        from ..server import Subscription

        try:
            session = self.runtime.get(session_id)
        except CadenzaError:
            return
        for listener in list(session.listeners):
            if isinstance(listener, Subscription):
                listener.close("dropped", Moved(why))
        with contextlib.suppress(CadenzaError):
            self.runtime.close(session_id, reason="moved")

    # -------------------------------------------------------------------- draining
    async def drain(self) -> None:
        """Hand every session to a peer: stop admitting, fail health so Envoy routes
        around us, then per session pause, write the final descriptor, release the lease
        and end its streams with "moved"."""
        self.draining = True
        self.runtime.config = dataclasses.replace(self.runtime.config, max_sessions=0)
        with contextlib.suppress(Exception):
            await self.server.grpc.health.enter_graceful_shutdown()
        await asyncio.to_thread(self.store.heartbeat, self._info())
        await asyncio.sleep(self.heartbeat_s * 3)  # Envoy's health checks see NOT_SERVING
        deadline = time.monotonic() + self.drain_grace_s
        for session in list(self.runtime.sessions()):
            if time.monotonic() > deadline:
                break
            await self._hand_off(session)

    async def _hand_off(self, session) -> None:
        sid = session.id
        was_paused = session.state == SessionState.PAUSED
        with contextlib.suppress(CadenzaError):
            if not was_paused:
                self.runtime.control(sid, "pause")
        for _ in range(300):  # the block in flight lands; queued chunks reach the client
            if session.in_flight == 0 and self._backlog(session) == 0:
                break
            await asyncio.sleep(0.01)
        pending = self.capture(session)
        lease = self.leases.get(sid)
        if pending is not None and lease is not None:
            if not was_paused:
                pending.meta["state"] = "playing"
            try:
                await asyncio.to_thread(self.store.write, lease, pending.meta, pending.snapshot)
                await asyncio.to_thread(self.store.release, lease)
            except Exception:
                log.exception("drain: could not hand off session %s", sid)
        self.leases.pop(sid, None)
        self.close_moved(sid, "worker draining; reconnect")

    def _hand_off_soon(self, session_id: str) -> None:
        with contextlib.suppress(CadenzaError):
            session = self.runtime.get(session_id)
            self._spawn(self._hand_off(session))

    def _backlog(self, session) -> int:
        from ..server import Subscription

        return sum(s.backlog for s in session.listeners if isinstance(s, Subscription))

    # --------------------------------------------------------------- the I/O thread
    def _run(self) -> None:
        next_beat = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.heartbeat_s / 2)
            self._wake.clear()
            try:
                self._io_once()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.heartbeat_s
                    self.store.heartbeat(self._info())
                    self._renew_all()
                    self._claim_restoring()
                    self._wanted.update(self.store.handoffs(self.id))
                    for sid in list(self._wanted):
                        if sid not in self.leases:
                            self._wanted.discard(sid)
                        # Settled here for a while only: two workers that both think the
                        # ring gives them a session must not pass it back and forth.
                        elif time.monotonic() - self._since.get(sid, 0) > 1.0:
                            self._wanted.discard(sid)
                            self._call(self._hand_off_soon, sid)
            except Exception:
                log.exception("cluster I/O failed; retrying")
                time.sleep(0.2)

    def _io_once(self) -> None:
        with self._lock:
            new, self._new = self._new, []
            outbox, self._outbox = self._outbox, {}
            ended, self._ended = self._ended, []
        for sid, source in new:
            self.store.put_scene(source)
            lease = self.store.claim(sid, self.id)
            if lease is not None:
                self.leases[sid] = lease
        for sid, pending in outbox.items():
            lease = self.leases.get(sid)
            if lease is None:
                continue
            try:
                self.store.write(lease, pending.meta, pending.snapshot)
            except Fenced:
                self._call(self._fenced, sid)
        for sid in ended:
            lease = self.leases.pop(sid, None)
            if lease is not None:
                self.store.drop(lease)

    def _renew_all(self) -> None:
        for sid, lease in list(self.leases.items()):
            try:
                self.store.renew(lease)
            except Fenced:
                self._call(self._fenced, sid)

    def _claim_restoring(self) -> None:
        for sid in list(self._restoring):
            lease = self.store.claim(sid, self.id)
            if lease is None:
                continue
            found = self.store.descriptor(sid, self._restoring.get(sid))
            if found is None:
                self.store.release(lease)
                self._restoring.pop(sid, None)
                continue
            self._call(self._restore_claimed, lease, found[0], found[1])

    def _restore_claimed(self, lease: Lease, meta: dict, snapshot: bytes) -> None:
        self._spawn(self._restore_async(lease, meta, snapshot))

    def _spawn(self, coro) -> None:
        """(The loop's thread.) Run ``coro`` as a task the worker holds until it ends: the
        loop keeps only weak references to tasks."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _call(self, fn, *args) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn, *args)
