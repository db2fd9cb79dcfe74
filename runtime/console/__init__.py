"""The Cadenza console: a page served by `cadenza serve` (sessions, sliders, the blend
drawn live, a scene editor, the music itself), its API WebSocket, and ``/metrics``.

    server.py   ConsoleServer: HTTP GETs + the API WebSocket on one port (websockets)
    api.py      ConsoleApi: the API's requests -> Runtime calls (sans-I/O, synchronous)
    static/     the page: plain HTML/CSS/ES modules, shipped as package data, no build

See docs/console.md.
"""

from .api import ConsoleApi
from .server import ConsoleServer

__all__ = ["ConsoleApi", "ConsoleServer"]
