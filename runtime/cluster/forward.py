"""Running restored sessions' engine states ahead to where their clients resume, batched.

A killed worker's sessions arrive at their new worker together, each some blocks behind
the seq its client heard last. Run one at a time (one row per engine call), ten sessions
sixty blocks behind took two seconds here before the last one played; run together, one
engine call a block serves every session still behind, the way the serving loop batches.

Threading: one daemon thread owns every engine state it is given until its future
resolves; `submit` may be called from any thread. Rows of one engine share a call (at most
its ``max_batch``); a failing call fails the futures of its rows only.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class _Job:
    engine: object
    frames: int
    state: object
    style: np.ndarray  # (dim,)
    knobs: object
    left: int  # blocks still to generate
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


class Forwarder:
    """``submit(...)`` → a future of the state ``blocks`` blocks on; `close` stops it."""

    def __init__(self, name: str = "restore") -> None:
        self._jobs: list[_Job] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, engine, frames: int, state, style: np.ndarray, knobs,
               blocks: int) -> concurrent.futures.Future:
        job = _Job(engine, frames, state, np.asarray(style).reshape(-1), knobs, blocks)
        if blocks <= 0:
            job.future.set_result(state)
            return job.future
        with self._lock:
            if self._closed:
                raise RuntimeError("forwarder closed")
            self._jobs.append(job)
        self._wake.set()
        return job.future

    def close(self) -> None:
        with self._lock:
            self._closed = True
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.future.cancel()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._closed:
                    return
                jobs = list(self._jobs)
                if not jobs:
                    self._wake.clear()
                    continue
            groups: dict[tuple[int, int], list[_Job]] = {}
            for job in jobs:
                groups.setdefault((id(job.engine), job.frames), []).append(job)
            for group in groups.values():
                self._step(group[: max(1, group[0].engine.info.max_batch)])

    def _step(self, rows: list[_Job]) -> None:
        """One engine call for ``rows``, one block each; finished rows resolve."""
        engine = rows[0].engine
        try:
            out = engine.generate([r.state for r in rows], np.stack([r.style for r in rows]),
                                  [r.knobs for r in rows], rows[0].frames)
        except Exception as exc:
            self._finish(rows, error=exc)
            return
        done = []
        for row, state in zip(rows, out.states, strict=True):
            row.state = state
            row.left -= 1
            if row.left <= 0:
                done.append(row)
        self._finish(done)

    def _finish(self, rows: list[_Job], error: BaseException | None = None) -> None:
        with self._lock:
            for row in rows:
                if row in self._jobs:
                    self._jobs.remove(row)
        for row in rows:
            if row.future.cancelled():
                continue
            if error is not None:
                row.future.set_exception(error)
            else:
                row.future.set_result(row.state)
