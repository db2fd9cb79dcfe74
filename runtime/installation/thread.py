"""`InstallationThread`: an installation on its own event loop in a background thread,
for tests, benchmarks and embedding in a host program::

    with InstallationThread(load_config("gallery.yaml")) as running:
        print(running.call(lambda: running.installation.status()))
"""

from __future__ import annotations

from ..threads import ServiceThread
from .config import InstallationConfig
from .supervisor import Installation


class InstallationThread(ServiceThread):
    def __init__(self, config: InstallationConfig, **kwargs) -> None:
        self.config = config
        super().__init__(lambda: Installation(config, **kwargs), name="cadenza-installation")

    @property
    def installation(self) -> Installation | None:
        return self.service
