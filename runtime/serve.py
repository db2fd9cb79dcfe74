"""`cadenza serve`: the runtime on the network (gRPC + WebSocket bridge), the main job."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CadenzaError
from .server import Runtime, RuntimeConfig
from .transports.grpc.server import GrpcServer
from .transports.websocket.server import PATH, WebSocketServer

log = logging.getLogger("cadenza.serve")


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    ws_port: int = 8765
    token: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    engines: dict = field(default_factory=dict)  # engines already built, by name (reused)
    console_port: int | None = None  # web console + /metrics; None: off, 0: any free port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """Everything `cadenza serve` runs, startable and stoppable in-process (tests use it)."""

    def __init__(self, options: ServeOptions, runtime: Runtime | None = None) -> None:
        self.options = options
        self.runtime = runtime or Runtime(options.runtime, engines=options.engines)
        tls = None
        ssl_context = None
        if options.tls_cert and options.tls_key:
            tls = (options.tls_key.read_bytes(), options.tls_cert.read_bytes())
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(options.tls_cert, options.tls_key)
        check_ports(options.host, {"--grpc-port": options.grpc_port, "--ws-port": options.ws_port})
        self.grpc = GrpcServer(self.runtime, options.host, options.grpc_port, options.token, tls)
        self.ws = WebSocketServer(self.runtime, options.host, options.ws_port, options.token,
                                  ssl_context)
        self.extras: list = []  # more servers (console, OSC ...) with start()/stop()
        self.console = None
        if options.console_port is not None:
            from .console import ConsoleServer

            ws = self.ws
            self.console = ConsoleServer(
                self.runtime, options.host, options.console_port, options.token, ssl_context,
                bridge=lambda: {"port": ws.port, "path": PATH, "tls": ws.ssl is not None})
            self.extras.append(self.console)

    @property
    def grpc_port(self) -> int:
        return self.grpc.port

    @property
    def ws_port(self) -> int:
        return self.ws.port

    async def start(self) -> None:
        await self.runtime.start()
        await self.grpc.start()
        try:
            await self.ws.start()
        except OSError as exc:  # taken between check_ports and now
            await self.grpc.stop(0)
            await self.runtime.stop()
            raise CadenzaError(f"cannot serve WebSockets on {self.options.host}:"
                               f"{self.options.ws_port}: {exc.strerror or exc}; choose another "
                               f"--ws-port (0: any free port)") from None
        started = []
        try:
            for extra in self.extras:
                await extra.start()
                started.append(extra)
        except BaseException:  # e.g. the console's port is taken: stop what runs, cleanly
            for extra in reversed(started):
                await extra.stop()
            await self.grpc.stop(0)
            await self.ws.stop()
            await self.runtime.stop()
            raise

    async def stop(self) -> None:
        for extra in reversed(self.extras):
            await extra.stop()
        await self.grpc.stop()
        await self.ws.stop()
        await self.runtime.stop()


def check_ports(host: str, ports: dict[str, int]) -> None:
    """Raise a one-line CadenzaError naming the flag when a port is taken (gRPC's own
    bind error is a RuntimeError with no errno, raised from a constructor)."""
    for flag, port in ports.items():
        if not port:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CadenzaError(f"port {port} on {host} is not free ({exc.strerror or exc}): "
                                   f"another cadenza serve or program holds it; choose another "
                                   f"{flag} (0: any free port)") from None


def warn_if_exposed(options: ServeOptions) -> None:
    if not is_loopback(options.host) and not options.token:
        banner = ("!" * 78 + "\n"
                  f"WARNING: serving on {options.host} WITHOUT A TOKEN. Anyone who can reach "
                  "this\nmachine can create sessions and use its CPU/GPU. Pass --token or "
                  "--token-file.\n" + "!" * 78)
        print(banner, file=sys.stderr, flush=True)
        log.warning("serving on %s without authentication", options.host)


async def serve_forever(options: ServeOptions, build=None) -> None:
    """Run until SIGINT/SIGTERM. ``build`` may add extra servers to the Server."""
    warn_if_exposed(options)
    server = Server(options)
    if build:
        build(server)
    await server.start()
    scheme = "wss" if options.tls_cert else "ws"
    engine = server.runtime.config.default_engine
    if getattr(server.runtime.engine(engine), "random_weights", False):
        engine += " (model tiny: RANDOM weights of the real architecture, not music)"
    print(f"cadenza serving engine {engine}: gRPC {options.host}:{server.grpc_port}, "
          f"WebSocket {scheme}://{options.host}:{server.ws_port}{PATH}, scenes: "
          f"{', '.join(server.runtime.library.names())}"
          + (f", console {server.console.url}" if server.console else "")
          + (", token required" if options.token else ""), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
