"""The procedural band in worker processes: `cadenza serve --band-processes N`.

The band is numpy in many small calls, so in the serving process it holds the interpreter
lock the event loop needs to send audio. `BandProcesses` is the same engine with each
session's state living in one of N worker processes (spawned, never forked from a process
with threads). A call sends each worker its rows' styles, knobs and changes, and waits
with the lock released while the workers play; the PCM comes back as raw bytes.

Contract: the same `Engine` methods (and `advance`) and the same samples as
`ProceduralEngine` (a state is created in its worker from its seed, on its first call:
`init_state` never waits).
`beat_clock` and `phrase` read a small view of each state (its clock and harmony) that
comes back with every call, so they never wait for a worker either. Calls are thread-safe;
one call at a time reaches a given worker. A worker that dies fails the calls of its
sessions with EngineUnavailable (the loop conceals and ends them); it is not restarted.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...audio import CHANNELS
from ...errors import EngineUnavailable
from ..base import EngineInfo, EngineOutput, Knobs, Prompt, StyleChange, StyleEmbedding
from .band import Musician
from .engine import NOTE_CACHE_MB, ProceduralEngine, ProceduralState, note_cache_bytes


@dataclass
class RemoteState:
    """A session's handle: which worker holds its state, and the view of it that came back
    with the last call (clock and harmony only: no notes, no effect tails)."""

    key: int
    worker: int
    view: ProceduralState
    created: bool = False  # the worker has made it (from ``view.seed``) or restored it


def _view(state: ProceduralState) -> ProceduralState:
    m = state.musician
    return dataclasses.replace(state, rng=None, sounding=None, reverb=None, tone=None,
                               musician=Musician(key_root=m.key_root, major=m.major,
                                                 chord=list(m.chord)))


def _serve(conn, glide_s: float, block_frames: int, note_cache_mb: int) -> None:
    """A worker: states by key; one reply to every message (a generate's is followed by
    its PCM as raw bytes)."""
    engine = ProceduralEngine(glide_s=glide_s, block_frames=block_frames,
                              note_cache_mb=note_cache_mb)
    states: dict[int, ProceduralState] = {}
    conn.send(("ok", engine.synth.limit))  # ready: its note cache, in bytes
    while True:
        try:
            op, *args = conn.recv()
        except EOFError:
            return
        try:
            if op in ("generate", "advance"):
                released, rows, styles, knobs, frames, changes = args
                for key in released:
                    states.pop(key, None)
                for key, seed in rows:
                    if seed is not None:
                        states[key] = engine.init_state(seed)
                run = [states[key] for key, _ in rows]
                if op == "advance":
                    engine.advance(run, styles, knobs, frames)
                    conn.send(("ok", [_view(s) for s in run]))
                    continue
                out = engine.generate(run, styles, knobs, frames, changes)
                conn.send(("ok", [_view(s) for s in run]))
                conn.send_bytes(np.ascontiguousarray(out.pcm).data)
            elif op == "snapshot":
                conn.send(("ok", engine.snapshot(states[args[0]])))
            elif op == "restore":
                state = states[args[0]] = engine.restore(args[1])
                conn.send(("ok", _view(state)))
            else:
                conn.send(("error", ValueError(f"unknown operation {op!r}")))
        except Exception as exc:  # the parent re-raises it
            try:
                conn.send(("error", exc))
            except Exception:  # an exception that does not pickle: its text does
                conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Worker:
    def __init__(self, context, index: int, glide_s: float, block_frames: int,
                 note_cache_mb: int) -> None:
        self.index = index
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve,
                                       args=(child, glide_s, block_frames, note_cache_mb),
                                       name=f"cadenza-band-{index}", daemon=True)
        self.process.start()
        child.close()
        self.lock = threading.Lock()
        self.released: list[int] = []  # keys to drop, sent with the next message
        self.sessions = 0
        self.note_cache_bytes = 0  # as the worker reported it when ready

    def send(self, message: tuple) -> None:
        try:
            self.conn.send(message)
        except (OSError, ValueError) as exc:
            raise EngineUnavailable(f"band process {self.index} is gone ({exc})") from None

    def reply(self):
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise EngineUnavailable(f"band process {self.index} died "
                                    f"(exit code {self.process.exitcode})") from exc
        if status == "error":
            raise value
        return value

    def call(self, message: tuple):
        with self.lock:
            self.send(message)
            return self.reply()

    def take_released(self) -> list[int]:
        released, self.released = self.released, []
        return released


class BandProcesses:
    """`ProceduralEngine` with its states in ``processes`` worker processes; each worker
    has its own note cache of ``note_cache_mb`` (the serving process's, which only makes
    phrases, stays small)."""

    def __init__(self, processes: int = 2, glide_s: float = 0.8,
                 block_frames: int | None = None, note_cache_mb: int = NOTE_CACHE_MB,
                 chunk_blocks: int = 1) -> None:
        if processes < 1:
            raise ValueError("processes must be >= 1")
        note_cache_bytes(note_cache_mb)  # checked before any worker starts
        self.local = ProceduralEngine(glide_s=glide_s, note_cache_mb=min(note_cache_mb, 64),
                                      chunk_blocks=chunk_blocks,
                                      **({"block_frames": block_frames} if block_frames else {}))
        context = multiprocessing.get_context("spawn")
        self.workers = [_Worker(context, i, glide_s, self.local.block_frames, note_cache_mb)
                        for i in range(processes)]
        for worker in self.workers:  # built and listening before the first session
            worker.note_cache_bytes = worker.reply()
        self._keys = itertools.count(1)
        self._lock = threading.Lock()
        info = self.local.info
        self._info = dataclasses.replace(
            info, description=info.description + f" In {processes} worker processes.")

    @property
    def info(self) -> EngineInfo:
        return self._info

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        return self.local.embed(prompt)

    def neutral_style(self) -> np.ndarray:
        return self.local.neutral_style()

    def _place(self) -> tuple[int, _Worker]:
        """A new key, on the worker holding the fewest sessions."""
        with self._lock:
            worker = min(self.workers, key=lambda w: w.sessions)
            worker.sessions += 1
            return next(self._keys), worker

    def init_state(self, seed: int) -> RemoteState:
        key, worker = self._place()
        return RemoteState(key, worker.index, self.local.init_state(seed))

    def release(self, state: RemoteState) -> None:
        with self._lock:
            worker = self.workers[state.worker]
            worker.sessions -= 1
            if state.created:
                worker.released.append(state.key)

    def beat_clock(self, state: RemoteState, style=None, knobs: Knobs | None = None):
        return self.local.beat_clock(state.view, style, knobs)

    def phrase(self, state: RemoteState, text: str, beats: float) -> np.ndarray:
        return self.local.phrase(state.view, text, beats)

    def snapshot(self, state: RemoteState) -> bytes:
        if not state.created:  # nothing played yet: the state its seed makes
            return self.local.snapshot(self.local.init_state(state.view.seed))
        return self.workers[state.worker].call(("snapshot", state.key))

    def restore(self, data: bytes) -> RemoteState:
        key, worker = self._place()
        try:
            view = worker.call(("restore", key, data))
        except BaseException:
            with self._lock:
                worker.sessions -= 1
            raise
        return RemoteState(key, worker.index, view, created=True)

    def generate(self, states: Sequence[RemoteState], styles: np.ndarray,
                 knobs: Sequence[Knobs], frames: int,
                 changes: Sequence[StyleChange | None] | None = None) -> EngineOutput:
        return self._play("generate", states, styles, knobs, frames, changes)

    def advance(self, states: Sequence[RemoteState], styles: np.ndarray,
                knobs: Sequence[Knobs], frames: Sequence[int]) -> list[RemoteState]:
        """`ProceduralEngine.advance` in the workers (one round trip each, in parallel)."""
        if any(f % self.local.block_frames or f < 0 for f in frames):
            raise ValueError(f"frames must be multiples of {self.local.block_frames}")
        return self._play("advance", states, styles, knobs, 0, None, list(frames)).states

    def _play(self, op: str, states: Sequence[RemoteState], styles: np.ndarray,
              knobs: Sequence[Knobs], frames: int,
              changes: Sequence[StyleChange | None] | None,
              lengths: list[int] | None = None) -> EngineOutput:
        """Each worker its rows, all at once; ``lengths``: advance's frames per row."""
        if frames % self.local.block_frames:
            raise ValueError(f"frames must be a multiple of {self.local.block_frames}")
        changes = changes or [None] * len(states)
        by_worker: dict[int, list[int]] = {}
        for row, state in enumerate(states):
            by_worker.setdefault(state.worker, []).append(row)
        pcm = np.empty((len(states), frames if op == "generate" else 0, CHANNELS),
                       dtype=np.float32)
        # Locks in worker order: two threads calling at once never hold one each.
        taken = [(self.workers[w], rows) for w, rows in sorted(by_worker.items())]
        for worker, _ in taken:
            worker.lock.acquire()
        try:
            sent, failure = [], None
            for worker, rows in taken:  # every worker plays while the others do
                with self._lock:
                    released = worker.take_released()
                try:
                    worker.send((op, released,
                                 [(states[r].key,
                                   None if states[r].created else states[r].view.seed)
                                  for r in rows],
                                 np.asarray(styles)[rows], [knobs[r] for r in rows],
                                 frames if lengths is None else [lengths[r] for r in rows],
                                 [changes[r] for r in rows]))
                except BaseException as exc:  # the workers already sent to are read first
                    failure = exc
                    break
                sent.append((worker, rows))
            for worker, rows in sent:
                try:
                    views = worker.reply()
                    block = worker.conn.recv_bytes() if op == "generate" else None
                except BaseException as exc:  # the other replies are read first
                    failure = failure or exc
                    continue
                if block is not None:
                    pcm[rows] = np.frombuffer(block, dtype=np.float32).reshape(
                        len(rows), frames, CHANNELS)
                for r, view in zip(rows, views, strict=True):
                    states[r].view, states[r].created = view, True
            if failure is not None:
                raise failure
        finally:
            for worker, _ in taken:
                worker.lock.release()
        return EngineOutput(pcm=pcm, states=list(states))

    def close(self) -> None:
        for worker in self.workers:
            worker.conn.close()
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
