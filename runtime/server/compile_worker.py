"""Scene compilation off the event loop, boxed in time and memory.

A scene from a client (an inline ``scene_yaml``, a ValidateScene request, a reload) is
untrusted text. `compile_off_loop` first compiles it in a worker process whose address
space is capped (RLIMIT_AS: ``memory_mb`` above what the worker already maps) and whose
answer must come within ``timeout_s``, else the worker is killed and replaced. A
pathological scene so costs its sender an error (RESOURCE_EXHAUSTED), never the other
sessions a stall: the event loop only awaits.

Compiled scenes hold closures and cannot cross a process boundary, so a scene the worker
accepted is compiled once more in a thread of this process (``asyncio.to_thread``): the
compiler is deterministic, so that second run costs what the worker measured, within the
same budget. The worker's verdict (issues, warnings, summary) is plain data.

Workers are started from a fork server (``multiprocessing`` "forkserver" context, the
compiler preloaded) so a replacement starts in milliseconds and never forks the server's
threads. Where processes cannot be started (``workers=0``, or an OS refusing them) the
compile runs in a thread only: still off the loop and within the scene limits, but not
time-boxed. `CompilePool` methods are called from one event loop; the pool may be shared
by several Runtimes on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ResourceExhausted, SceneError, SceneIssue
from ..scene import Scene, compile_scene
from ..scene.limits import DEFAULT_LIMITS, SceneLimits

log = logging.getLogger("cadenza.runtime.compile")

MAX_ISSUES = 100  # a verdict never carries more (a hostile scene can have thousands)
START_TIMEOUT_S = 20.0  # a fresh worker (the fork server's first start imports the compiler)


@dataclass(frozen=True)
class CompileJob:
    """What to compile, and how (the `compile_scene` arguments)."""

    text: str
    filename: str = "<inline>"
    limits: SceneLimits = DEFAULT_LIMITS
    untrusted: bool = True
    asset_dir: str | None = None
    base_dir: str | None = None
    check_files: bool = False

    def compile(self) -> Scene:
        return compile_scene(self.text, self.filename, base_dir=self.base_dir,
                             check_files=self.check_files, limits=self.limits,
                             untrusted=self.untrusted, asset_dir=self.asset_dir)


@dataclass(frozen=True)
class Verdict:
    """The worker's answer: ``errors`` empty means the scene compiles."""

    errors: tuple[SceneIssue, ...] = ()
    warnings: tuple[SceneIssue, ...] = ()
    summary: str = ""
    out_of_memory: bool = False
    crashed: str = ""  # an unexpected exception in the compiler (a bug): its repr

    def raise_for_errors(self, job: CompileJob, budget_mb: int) -> None:
        if self.out_of_memory:
            raise ResourceExhausted(f"{job.filename}: compiling this scene needs more than "
                                    f"{budget_mb} MB (the server's compile budget)")
        if self.crashed:
            log.error("scene compiler failed on %s: %s", job.filename, self.crashed)
            raise SceneError([SceneIssue(job.filename, None, "", "the scene compiler could "
                                                                 "not read this scene")])
        if self.errors:
            raise SceneError(list(self.errors))


def judge(job: CompileJob) -> Verdict:
    """Compile ``job`` here and report (what a worker runs; never raises)."""
    try:
        scene = job.compile()
    except SceneError as exc:
        return Verdict(errors=tuple(exc.issues[:MAX_ISSUES]))
    except MemoryError:
        return Verdict(out_of_memory=True)
    except Exception as exc:  # a compiler bug must not kill the worker
        return Verdict(crashed=repr(exc)[:500])
    return Verdict(warnings=tuple(scene.warnings[:MAX_ISSUES]), summary=scene.summary())


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn: multiprocessing.connection.Connection, memory_bytes: int) -> None:
    """A worker: cap the address space, then judge jobs until the pipe closes."""
    with contextlib.suppress(OSError, ValueError):  # no /proc or no RLIMIT_AS: time box only
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = _mapped_bytes() + memory_bytes
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    try:  # the parent may be gone already (a runtime stopped right after starting)
        conn.send("ready")
    except (EOFError, OSError):
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            verdict = judge(job)
        except MemoryError:
            verdict = Verdict(out_of_memory=True)
        try:
            try:
                conn.send(verdict)
            except MemoryError:
                conn.send(Verdict(out_of_memory=True))
        except (EOFError, OSError):  # the parent went away while we judged
            return


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection

    def roundtrip(self, job: CompileJob) -> Verdict:
        self.conn.send(job)
        return self.conn.recv()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(2.0)
        with contextlib.suppress(Exception):
            self.conn.close()


@dataclass
class CompilePool:
    """Up to ``workers`` compile processes, started in the background (a thread: a fork
    server's first start takes seconds) and reused. A compile takes an idle worker, waiting
    at most ``timeout_s`` for one; when none is ready by then (still starting, or all busy
    with other scenes) it is compiled in a thread instead, bounded by the scene limits
    alone, so a request never waits on the pool longer than its own budget."""

    workers: int = 2
    timeout_s: float = 2.0
    memory_mb: int = 256
    _idle: list[_Worker] = field(default_factory=list)
    _alive: int = 0
    _starting: bool = False
    _broken: bool = False
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    timeouts: int = 0
    started: int = 0
    unboxed: int = 0  # compiles that found no worker ready and ran in a thread

    def _spawn(self) -> _Worker:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_serve, args=(child, self.memory_mb << 20),
                              name="cadenza-compile", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        # A worker that cannot start (e.g. a main module without the __main__ guard) must
        # say so within the start budget, and the pool then compiles in threads.
        try:
            ready = parent.poll(START_TIMEOUT_S) and parent.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            worker.kill()
            raise RuntimeError("a compile worker did not start")
        return worker

    def _start_workers(self) -> None:
        try:
            while not self._closed and not self._broken:
                with self._lock:
                    if self._alive >= self.workers:
                        return
                try:
                    worker = self._spawn()
                except (OSError, ValueError, RuntimeError) as exc:
                    log.warning("cannot start scene compile workers (%s): compiling in "
                                "threads, without a time or memory box", exc)
                    self._broken = True
                    return
                if self._closed:
                    worker.kill()
                    return
                with self._lock:
                    self._alive += 1
                    self.started += 1
                    self._idle.append(worker)
        finally:
            self._starting = False

    def _grow(self) -> None:
        """Start workers in the background until there are ``workers`` of them."""
        with self._lock:
            if self._broken or self._closed or self._starting or self._alive >= self.workers:
                return
            self._starting = True
        threading.Thread(target=self._start_workers, name="cadenza-compile-start",
                         daemon=True).start()

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._alive -= 1
        self._grow()

    async def _take(self, wait_s: float) -> _Worker | None:
        self._grow()
        deadline = time.monotonic() + wait_s
        while True:
            while self._idle:
                with self._lock:
                    worker = self._idle.pop() if self._idle else None
                if worker is None:
                    break
                if worker.process.is_alive():
                    return worker
                self._retire(worker)
            if self._broken or self._closed or time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.005)

    @property
    def boxed(self) -> bool:
        """Whether compiles can run in worker processes (time- and memory-boxed)."""
        return self.workers > 0 and not self._broken and not self._closed

    async def warm(self, wait_s: float = START_TIMEOUT_S) -> bool:
        """Start the workers now; True once one is ready (within ``wait_s``)."""
        if not self.boxed:
            return False
        worker = await self._take(wait_s)
        if worker is not None:
            self._idle.append(worker)
        return worker is not None

    async def judge(self, job: CompileJob) -> Verdict | None:
        """The worker's verdict on ``job``; None where no worker is ready in time (compile
        in a thread then). Raises ResourceExhausted when the scene ran past the budget."""
        if not self.boxed:
            return None
        # Wait for a busy worker only while that leaves time for the compile itself; while
        # the workers are still starting, do not wait at all.
        worker = await self._take(self.timeout_s / 2 if self._alive else 0.0)
        if worker is None:
            self.unboxed += 1
            return None
        try:
            verdict = await asyncio.wait_for(asyncio.to_thread(worker.roundtrip, job),
                                             self.timeout_s)
        except TimeoutError:
            self._retire(worker)
            self.timeouts += 1
            raise ResourceExhausted(f"{job.filename}: compiling this scene took longer "
                                    f"than {self.timeout_s:g} s (the server's compile "
                                    f"budget)") from None
        except (EOFError, OSError):
            self._retire(worker)  # died: out of memory beyond what Python could report
            return Verdict(out_of_memory=True)
        except BaseException:  # cancelled (the client left): the worker may be mid-job
            self._retire(worker)
            raise
        if self._closed:
            worker.kill()
        else:
            self._idle.append(worker)
        return verdict

    def close(self) -> None:
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_default_pool: CompilePool | None = None


def default_pool() -> CompilePool:
    global _default_pool
    if _default_pool is None:
        _default_pool = CompilePool()
    return _default_pool


async def check_off_loop(job: CompileJob, pool: CompilePool | None = None) -> Verdict:
    """The verdict on ``job`` without blocking the loop (worker, else a thread)."""
    pool = pool or default_pool()
    verdict = await pool.judge(job)
    if verdict is None:
        verdict = await asyncio.to_thread(judge, job)
    return verdict


async def compile_off_loop(text: str, filename: str = "<inline>", *,
                           limits: SceneLimits = DEFAULT_LIMITS, untrusted: bool = True,
                           asset_dir: str | Path | None = None,
                           base_dir: str | Path | None = None, check_files: bool = False,
                           pool: CompilePool | None = None) -> Scene:
    """Compile scene YAML without blocking the event loop, within the pool's time and
    memory budget. Returns the compiled `Scene`; raises SceneError (file:line issues) or
    ResourceExhausted (over the time or memory budget)."""
    pool = pool or default_pool()
    job = CompileJob(text, filename, limits, untrusted,
                     str(asset_dir) if asset_dir is not None else None,
                     str(base_dir) if base_dir is not None else None, check_files)
    verdict = await pool.judge(job)
    if verdict is not None:
        verdict.raise_for_errors(job, pool.memory_mb)
    return await asyncio.to_thread(job.compile)


__all__ = ["CompileJob", "CompilePool", "Verdict", "check_off_loop", "compile_off_loop",
           "default_pool", "judge"]
