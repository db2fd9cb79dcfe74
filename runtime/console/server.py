"""The console server: the web console's files, its API WebSocket and ``/metrics``, on one
port (default 8080), on the same asyncio loop as the rest of `cadenza serve`.

Why `websockets` serves the HTTP too: it is already a dependency, runs on our asyncio
loop, and its HTTP/1.1 request parser is strict and bounded (line length, header count,
handshake timeout), which a hand-written parser would have to earn. Its ``process_request``
hook answers any plain GET with a response of ours; the console only ever needs GETs,
because everything that changes something goes over the console's API WebSocket
(``/api/ws``, `api.ConsoleApi`) -- one connection per page, no request bodies, no CSRF
surface of form posts. The cost: no keep-alive and no request bodies, both irrelevant to
a handful of small static files. (aiohttp would add a large dependency for nothing the
console needs; http.server is thread-based and would not share the loop.)

Routes (all GET):

    /                the page (index.html); without the token: 401 and a page asking for it
    /static/NAME     the page's files (shipped inside the package, no build step, no CDN)
    /api/ws          the console's API (WebSocket); same-origin browsers only
    /metrics         Prometheus text format (Authorization: Bearer TOKEN)
    /api/recordings/NAME  a profiling recording made from the page (profiler.py)
    /healthz         200 "ok" while the process works (the runtime's loop answers, and
                     every ``health_checks`` says None), else 503 with the first problem
    /readyz          200 "ready" when sessions can be served / the music plays (every
                     ``ready_checks`` says None), else 503 with the reason

With a token configured every route but /healthz and /readyz refuses without it (HTTP
401): probes (systemd, Kubernetes, a load balancer) carry no token, and the answers say
only "ok" or a short reason. The token is accepted
as ``Authorization: Bearer``, as the ``cadenza_token`` cookie the page sets after asking
for it once, or as ``?token=`` (WebSockets from browsers).
"""

from __future__ import annotations

import http
import json
import logging
import ssl
from collections.abc import Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..errors import CadenzaError
from ..server import Runtime
from ..transports.auth import token_matches, token_ok
from .api import TRANSPORT, ConsoleApi
from .profiler import Profiler

log = logging.getLogger("cadenza.console")
# websockets logs one INFO line per HTTP response; a page load or a scrape is not news.
_http_log = logging.getLogger("cadenza.console.http")
_http_log.setLevel(logging.WARNING)

API_PATH = "/api/ws"
COOKIE = "cadenza_token"
MAX_MESSAGE_BYTES = 1 << 20  # a scene is at most 256 KiB; JSON escaping can grow it
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json"}
PAGE_CSP = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
LOGIN_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def load_static() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: name -> (bytes, content type)."""
    files = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in TYPES:
            files[entry.name] = (entry.read_bytes(), TYPES[suffix])
    return files


class ConsoleServer:
    """Startable/stoppable like the other servers of `cadenza.runtime.serve.Server`."""

    def __init__(self, runtime: Runtime, host: str, port: int, token: str | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 bridge: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.runtime = runtime
        self.host, self.port = host, port
        self.token = token
        self.ssl = ssl_context
        self.api = ConsoleApi(runtime, bridge, token_required=token is not None)
        # Saving scenes writes files: only behind a token, or where only this machine
        # can reach the console.
        from ..serve import is_loopback

        self.profiler = Profiler(runtime, saving=token is not None or is_loopback(host))
        self.files = load_static()
        self.server: Server | None = None
        # Callables returning a problem (text) or None; the embedding program adds its own.
        self.health_checks: list[Callable[[], str | None]] = []
        self.ready_checks: list[Callable[[], str | None]] = [self._runtime_ready]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl else 'http'}://{host}:{self.port}/"

    async def start(self) -> None:
        try:
            self.server = await serve(self._api, self.host, self.port, ssl=self.ssl,
                                      process_request=self._route, max_size=MAX_MESSAGE_BYTES,
                                      ping_interval=20, ping_timeout=20, logger=_http_log,
                                      server_header="cadenza")
        except OSError as exc:  # a busy port: one clear line, not a traceback
            raise CadenzaError(f"cannot serve the console on {self.host}:{self.port}: "
                               f"{exc.strerror or exc}; choose another port (cadenza serve "
                               f"--console-port, 0: no console; installations: "
                               f"outputs.serve.console_port)") from exc
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        log.debug("console at %s", self.url)

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()
        self.profiler.close()

    # ------------------------------------------------------------------------ HTTP
    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        path = url.path
        if getattr(request, "method", "GET") != "GET":
            return _response(http.HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n",
                             extra=[("Allow", "GET")])
        if path == API_PATH:
            if not self._authorized(request, url.query):
                self.runtime.metrics.error(TRANSPORT, "unauthenticated")
                return _unauthorized(b"missing or wrong token\n")
            if not _same_origin(request):
                return _response(http.HTTPStatus.FORBIDDEN, b"cross-origin request refused\n")
            return None  # the WebSocket handshake goes on
        if path in ("/", "/index.html"):
            if not self._authorized(request, url.query):
                body, kind = self.files["login.html"]
                return _unauthorized(body, kind, csp=LOGIN_CSP)
            response = self._file("index.html")
            offered = parse_qs(url.query).get("token", [None])[0]
            if self.token is not None and token_matches(offered, self.token):
                # A link carrying the token: the page's own files and sockets need it too.
                response.headers["Set-Cookie"] = (f"{COOKIE}={quote(offered)}; Path=/; "
                                                  f"Max-Age=31536000; SameSite=Strict")
            return response
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name not in self.files or name == "login.html":
                return _response(http.HTTPStatus.NOT_FOUND, b"not found\n")
            if not self._authorized(request, url.query):
                return _unauthorized(b"missing or wrong token\n")
            return self._file(name)
        if path.startswith("/api/recordings/"):
            if not self._authorized(request, url.query):
                return _unauthorized(b"missing or wrong token\n")
            found = self.profiler.recording_file(path[len("/api/recordings/"):])
            if found is None:
                return _response(http.HTTPStatus.NOT_FOUND, b"no such recording\n")
            return _response(http.HTTPStatus.OK, found.read_bytes(), "application/x-ndjson",
                             extra=[("Content-Disposition", f'attachment; filename="{found.name}"'),
                                    ("Cache-Control", "no-store")])
        if path in ("/healthz", "/readyz"):
            checks = self.health_checks if path == "/healthz" else self.ready_checks
            return _probe(checks, b"ok\n" if path == "/healthz" else b"ready\n")
        if path == "/metrics":
            if not self._authorized(request, url.query):
                return _unauthorized(b"missing or wrong bearer token\n")
            return _response(http.HTTPStatus.OK, self.runtime.metrics.exposition(),
                             self.runtime.metrics.content_type)
        return _response(http.HTTPStatus.NOT_FOUND, b"not found\n")

    def _runtime_ready(self) -> str | None:
        rt = self.runtime
        if len(rt.sessions()) >= rt.config.max_sessions:
            return f"at --max-sessions ({rt.config.max_sessions})"
        return None

    def _file(self, name: str) -> Response:
        body, kind = self.files[name]
        return _response(http.HTTPStatus.OK, body, kind, csp=PAGE_CSP if name.endswith(".html")
                         else None, extra=[("Cache-Control", "no-cache")])

    def _authorized(self, request: Request, query: str) -> bool:
        if self.token is None:
            return True
        if token_ok(request.headers.get("Authorization"), self.token):
            return True
        offered = parse_qs(query).get("token", [None])[0]
        if offered is None:
            try:
                morsel = SimpleCookie(request.headers.get("Cookie", "")).get(COOKIE)
            except CookieError:
                morsel = None
            offered = unquote(morsel.value) if morsel is not None else None
        return token_matches(offered, self.token)

    # --------------------------------------------------------------------- the API
    async def _api(self, ws: ServerConnection) -> None:
        with self.runtime.metrics.connected(TRANSPORT):
            try:
                async for frame in ws:
                    await ws.send(await self._dispatch(frame))
            except ConnectionClosed:
                pass


    async def _dispatch(self, frame: str | bytes) -> str:
        """``profiler.*`` ops to the profiler, everything else to the API."""
        if isinstance(frame, str) and '"profiler.' in frame:
            try:
                request = json.loads(frame)
            except ValueError:
                request = None
            if isinstance(request, dict) and str(request.get("op", "")).startswith("profiler."):
                return json.dumps(self.profiler.handle(request), separators=(",", ":"),
                                  allow_nan=False, default=str)
        return await self.api.handle_async(frame)


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on WebSockets; another site's page must not drive the console
    (WebSockets are not subject to CORS). Clients that send no Origin are not browsers."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = request.headers.get("Host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _response(code: http.HTTPStatus, body: bytes, kind: str = "text/plain; charset=utf-8",
              csp: str | None = None, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = Headers([("Content-Type", kind), ("Content-Length", str(len(body))),
                       ("Connection", "close"), ("X-Content-Type-Options", "nosniff"),
                       ("Referrer-Policy", "no-referrer")])
    if csp:
        headers["Content-Security-Policy"] = csp
    for key, value in extra or ():
        headers[key] = value
    return Response(code.value, code.phrase, headers, body)


def _probe(checks: list[Callable[[], str | None]], good: bytes) -> Response:
    for check in checks:
        try:
            problem = check()
        except Exception as exc:  # a probe that fails is an unhealthy answer, not a 500
            problem = f"check failed: {type(exc).__name__}"
        if problem:
            return _response(http.HTTPStatus.SERVICE_UNAVAILABLE, problem.encode()[:512] + b"\n",
                             extra=[("Cache-Control", "no-store")])
    return _response(http.HTTPStatus.OK, good, extra=[("Cache-Control", "no-store")])


def _unauthorized(body: bytes, kind: str = "text/plain; charset=utf-8",
                  csp: str | None = None) -> Response:
    return _response(http.HTTPStatus.UNAUTHORIZED, body, kind, csp=csp,
                     extra=[("WWW-Authenticate", 'Bearer realm="cadenza"'),
                            ("Cache-Control", "no-store")])


__all__ = ["API_PATH", "ConsoleServer", "load_static"]
