"""Drives one GenerationLoop in real time on the asyncio event loop.

Scheduling and delivery run on the event loop's thread (so sessions are only ever touched
there); the batched engine call — and the bisecting retries of a failing one — run in a
dedicated engine thread, during which the event loop keeps serving control and transports.
Prompt embeddings and stinger files load on a second pool (``background``), so a new
session's text encoder or file read never waits behind, or delays, the engine call. The
driver sleeps until the next session is due (an absolute deadline), or until woken by a
new or resumed session or a finished background job: no polling.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable

from ..session import GenerationLoop

log = logging.getLogger("cadenza.driver")


class LoopDriver:
    def __init__(self, loop: GenerationLoop) -> None:
        self.loop = loop
        self._wake = asyncio.Event()
        name = loop.engine.info.name
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"engine-{name}")
        self._background = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix=f"prepare-{name}")
        self._task: asyncio.Task | None = None
        self._aio: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def start(self) -> None:
        self._aio = asyncio.get_running_loop()
        self.loop.background = self._submit
        self.loop.warm()
        self._task = self._aio.create_task(self._run(), name="loop-driver")

    def _submit(self, job: Callable[[], None]) -> None:
        aio = self._aio

        def run() -> None:
            try:
                job()
            finally:
                if aio is not None and not aio.is_closed():
                    with contextlib.suppress(RuntimeError):
                        aio.call_soon_threadsafe(self._wake.set)

        self._background.submit(run)

    def wake(self) -> None:
        """Call after adding or resuming a session so it gets audio at once."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._background.shutdown(wait=False, cancel_futures=True)

    async def _conceal_until(self, future: asyncio.Future) -> None:
        """Wait for the engine call; whenever a session's block misses its deadline
        meanwhile (its buffer falls to the margin), play its concealment voice."""
        clock = self.loop.clock
        started = clock.now()
        while not future.done():
            deadline = self.loop.conceal_deadline()
            timeout = None if deadline is None else max(0.0, deadline - clock.now())
            done, _ = await asyncio.wait({future}, timeout=timeout)
            if done:
                return
            late = clock.now() - started
            try:
                self.loop.conceal(clock.now(), reason="stall" if late > 1.0 else "late")
            except Exception:  # concealment must never take the loop down
                log.exception("concealment failed")
                await asyncio.wait({future}, timeout=0.05)

    async def _run(self) -> None:
        aio = asyncio.get_running_loop()
        clock = self.loop.clock
        while not self._stopping:
            self._wake.clear()
            try:
                out = self.loop.schedule(clock.now())
            except Exception:  # a scheduler bug must not silence every session for good
                log.exception("scheduling failed")
                out = None
            if out is not None and out.requests:
                future = aio.run_in_executor(self._executor, self.loop.execute, out)
                await self._conceal_until(future)
                try:
                    result = future.result()
                except Exception as exc:  # the executor itself failed
                    result = exc
                try:
                    self.loop.deliver(out, result)
                except Exception:  # never let one bad delivery stop the music for all
                    log.exception("delivery failed")
                continue
            deadline = self.loop.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - clock.now())
            if out is None:
                timeout = 0.05
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
