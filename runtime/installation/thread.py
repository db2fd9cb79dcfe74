"""`InstallationThread`: an installation on its own event loop in a background thread,
for tests, benchmarks and embedding in a host program::

    with InstallationThread(load_config("gallery.yaml")) as running:
        print(running.call(lambda: running.installation.status()))
"""

from __future__ import annotations

import asyncio
import threading

from .config import InstallationConfig
from .supervisor import Installation


class InstallationThread:
    def __init__(self, config: InstallationConfig, **kwargs) -> None:
        self.config = config
        self.kwargs = kwargs
        self.installation: Installation | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> InstallationThread:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                self.installation = Installation(self.config, **self.kwargs)
                self.loop.run_until_complete(self.installation.start())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                started.set()
                self.loop.close()
                return
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.installation.stop())
            self.loop.close()

        self._thread = threading.Thread(target=run, name="cadenza-installation", daemon=True)
        self._thread.start()
        started.wait(60)
        if failure:
            raise failure[0]
        return self

    def call(self, fn, *args, timeout: float = 10.0):
        """Run ``fn(*args)`` on the installation's event loop and return its result."""

        async def wrapper():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def __exit__(self, *exc) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(30)
