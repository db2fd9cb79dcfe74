"""Drives one GenerationLoop in real time on the asyncio event loop.

Scheduling and delivery run on the event loop's thread (so sessions are only ever touched
there); the batched engine call runs in a dedicated worker thread, during which the event
loop keeps serving control and transports. The driver sleeps until the next session is
due (an absolute deadline), or until woken by a new or resumed session: no polling.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging

from ..session import GenerationLoop

log = logging.getLogger("cadenza.driver")


class LoopDriver:
    def __init__(self, loop: GenerationLoop) -> None:
        self.loop = loop
        self._wake = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"engine-{loop.engine.info.name}")
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-driver")

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

    async def _run(self) -> None:
        aio = asyncio.get_running_loop()
        clock = self.loop.clock
        while not self._stopping:
            out = self.loop.schedule(clock.now())
            if out.requests:
                result = await aio.run_in_executor(self._executor, self.loop.execute, out)
                try:
                    self.loop.deliver(out, result)
                except Exception:  # never let one bad delivery stop the music for all
                    log.exception("delivery failed")
                continue
            deadline = self.loop.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - clock.now())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
