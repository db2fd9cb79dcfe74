"""Run an asyncio service (anything with ``async start()`` / ``async stop()``) on its own
event loop in a background thread: for tests, benchmarks and embedding in a host program
that is not asyncio (a game's tools, a notebook)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


class ServiceThread:
    def __init__(self, factory: Callable[[], Any], name: str = "cadenza",
                 start_timeout: float = 60.0) -> None:
        """``factory()`` builds the service on the new loop's thread (so it may create
        loop-bound objects); its ``start()`` is awaited before ``__enter__`` returns."""
        self._factory = factory
        self._name = name
        self._start_timeout = start_timeout
        self.service: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self):
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                self.service = self._factory()
                self.loop.run_until_complete(self.service.start())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                started.set()
                self.loop.close()
                return
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.service.stop())
            self.loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        started.wait(self._start_timeout)
        if failure:
            raise failure[0]
        return self

    def call(self, fn, *args, timeout: float = 10.0):
        """Run ``fn(*args)`` on the service's event loop and return its result."""

        async def wrapper():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def __exit__(self, *exc) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(30)
