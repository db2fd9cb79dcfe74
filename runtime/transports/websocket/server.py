"""The WebSocket bridge server: one WebSocket per session, speaking protocol.py.

Endpoint ``/v1/stream``. The token, when configured, is checked during the HTTP handshake
(``Authorization: Bearer`` header, or ``?token=`` for browsers); a refusal is an HTTP 401.
The first text frame creates or attaches a session; then JSON control and binary audio
flow as docs/websocket-protocol.md describes.

A thin codec over the edge kit: each client message becomes an edge `Command` applied by
`Runtime.apply_async`; the session and events are rendered from the kit's views; every
error (ours included: RecursionError, a bug) goes through the one reporter, is counted
in ``cadenza_errors_total`` and reaches the client as the documented error frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import ssl
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ...edge import commands as C
from ...edge.report import report
from ...edge.status import WS_NORMAL
from ...edge.views import ClockView, EventView, SessionView
from ...errors import InvalidArgument
from ...server import Closed, Runtime, Subscription
from ...session.chunk import Chunk, EventKind, SessionEvent
from .. import opus
from ..auth import token_matches, token_ok
from . import protocol as P

log = logging.getLogger("cadenza.websocket")
TRANSPORT = "websocket"
PATH = "/v1/stream"
MAX_MESSAGE_BYTES = 1 << 20
FIRST_MESSAGE_TIMEOUT_S = 10.0


class WebSocketServer:
    def __init__(self, runtime: Runtime, host: str, port: int, token: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, write_timeout_s: float = 10.0) -> None:
        self.runtime = runtime
        self.host, self.port = host, port
        self.token = token
        self.ssl = ssl_context
        self.write_timeout_s = write_timeout_s
        self.server: Server | None = None

    async def start(self) -> None:
        self.server = await serve(self._handle, self.host, self.port, ssl=self.ssl,
                                  process_request=self._check, max_size=MAX_MESSAGE_BYTES,
                                  ping_interval=20, ping_timeout=20)
        self.port = self.server.sockets[0].getsockname()[1] if self.port == 0 else self.port

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    # ------------------------------------------------------------------- handshake
    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path != PATH:
            return _http(http.HTTPStatus.NOT_FOUND, f"no WebSocket endpoint at {url.path}; "
                                                    f"use {PATH}\n")
        if self.token is None:
            return None
        header = request.headers.get("Authorization")
        query = parse_qs(url.query).get("token", [None])[0]
        if token_ok(header, self.token) or token_matches(query, self.token):
            return None
        self.runtime.metrics.error("websocket", "unauthenticated")
        return _http(http.HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")

    # ---------------------------------------------------------------------- session
    async def _handle(self, ws: ServerConnection) -> None:
        with self.runtime.metrics.connected("websocket"):
            await self._session(ws)

    async def _session(self, ws: ServerConnection) -> None:
        message = None
        try:
            first = await asyncio.wait_for(ws.recv(), FIRST_MESSAGE_TIMEOUT_S)
        except TimeoutError:
            await self._refuse(ws, InvalidArgument("no 'create' or 'attach' message within "
                                                   f"{FIRST_MESSAGE_TIMEOUT_S:.0f}s"))
            return
        except ConnectionClosed:
            return
        try:
            message = P.parse_client(first)
            sub, encoding = await self._open(message)
        except P.ProtocolError as exc:
            await self._refuse(ws, InvalidArgument(str(exc), exc.field), exc.id)
            return
        except ConnectionClosed:
            return
        except Exception as exc:  # ours or the client's: the reporter tells them apart
            await self._refuse(ws, exc, getattr(message, "id", None))
            return
        reader = asyncio.get_running_loop().create_task(self._read(ws, sub))
        try:
            await self._pump(ws, sub, encoding)
        except (ConnectionClosed, TimeoutError):
            pass
        except Exception as exc:  # a bug while streaming: an error frame, counted, not 1011
            await self._refuse(ws, exc)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.runtime.unsubscribe(sub)

    async def _open(self, message) -> tuple[Subscription, str]:
        self._check_encoding(getattr(message, "encoding", "s16le"))
        rt = self.runtime
        if isinstance(message, P.Create):
            session = await rt.apply_async(C.Create(
                scene=message.scene, scene_yaml=message.scene_yaml, engine=message.engine,
                seed=message.seed, state=message.state, paused=message.paused,
                record=message.record))
            return await rt.apply_async(C.Attach(session.id, None, message.beat_events)), \
                message.encoding
        if isinstance(message, P.Attach):
            return await rt.apply_async(C.Attach(message.session_id, message.resume_from_seq,
                                                 message.beat_events)), message.encoding
        raise InvalidArgument("the first message must be 'create' or 'attach'", "type")

    @staticmethod
    def _check_encoding(encoding: str) -> None:
        if encoding == "opus" and not opus.available():
            raise InvalidArgument("opus is not available on this server (no opuslib/libopus)",
                                  "encoding")

    async def _refuse(self, ws: ServerConnection, exc: BaseException, id: int | None = None) -> None:
        error = report(exc, self.runtime.metrics, TRANSPORT)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(P.encode_error(error.message, error.code, error.field, id,
                                         error.retry_after_s))
            await ws.close(error.ws_close, error.close_reason)

    async def _send(self, ws: ServerConnection, data: str | bytes) -> None:
        await asyncio.wait_for(ws.send(data), self.write_timeout_s)

    async def _pump(self, ws: ServerConnection, sub: Subscription, encoding: str) -> None:
        rt = self.runtime
        session = rt.get(sub.session_id)
        view = SessionView.of(session, rt.listeners(session.id), rt.uptime(session.id),
                              rt.loop_of(session.id).engine.info.knobs)
        await self._send(ws, P.encode_json("session", session=session_json(view)))
        last_blend = None
        while True:
            try:
                item = await sub.next()
            except Closed as closed:
                if closed.error is not None:
                    await self._refuse(ws, closed.error)
                else:
                    await ws.close(WS_NORMAL, "session ended")
                return
            if isinstance(item, Chunk):
                if item.weights != last_blend:  # the blend's mapping is never mutated
                    # The blend that produced the frames from this seq on.
                    await self._send(ws, P.encode_json("blend", seq=item.seq,
                                                       stream_time=item.stream_time,
                                                       blend=P.blend_list(item.weights,
                                                                          item.prompts)))
                    last_blend = item.weights
                clock = item.clock
                await self._send(ws, P.encode_audio(
                    item.seq, item.stream_time, item.sample_rate, item.channels, encoding,
                    opus.SHARED.payload(item) if encoding == "opus" else item.encoded(encoding),
                    (clock.beat, clock.bpm, clock.beats_per_bar, clock.beat_unit)
                    if clock else None))
                self.runtime.metrics.chunk_delivered("websocket")
            elif isinstance(item, SessionEvent):
                await self._send(ws, event_json(item))
            else:
                await self._send(ws, item)  # an ack or error, already encoded

    async def _read(self, ws: ServerConnection, sub: Subscription) -> None:
        async for frame in ws:
            message = None
            try:
                message = P.parse_client(frame)
                if isinstance(message, P.Ping):
                    sub.push_first(P.encode_json("pong", id=message.id))
                    continue
                command = command_of(message, sub.session_id)
                result = await self.runtime.apply_async(command)
                if isinstance(command, C.Update):
                    self.runtime.metrics.state_update(TRANSPORT)
                if isinstance(command, C.SetConfig):
                    reply = P.encode_ack(message.id, config=dict(result.config),
                                         unsupported=list(result.unsupported))
                else:
                    reply = P.encode_ack(message.id)
            except P.ProtocolError as exc:
                error = report(InvalidArgument(str(exc), exc.field), self.runtime.metrics,
                               TRANSPORT)
                reply = P.encode_error(error.message, exc.code, error.field, exc.id)
            except Exception as exc:  # ours included: an error frame, counted, never 1011
                error = report(exc, self.runtime.metrics, TRANSPORT)
                reply = P.encode_error(error.message, error.code, error.field,
                                       getattr(message, "id", None), error.retry_after_s)
            if reply is not None:
                sub.push_first(reply)


def command_of(message: P.ClientMessage, session_id: str) -> C.Command:
    """The edge command of a message on an open session (create/attach come first only)."""
    if isinstance(message, P.State):
        return C.Update(session_id, message.values)
    if isinstance(message, P.Prompts):
        return C.SetPrompts(session_id, message.prompts)
    if isinstance(message, P.Control):
        return C.Control(session_id, message.action)
    if isinstance(message, P.Trigger):
        return C.Trigger(session_id, message.stinger)
    if isinstance(message, P.Config):
        return C.SetConfig(session_id, message.config, message.clear)
    raise P.ProtocolError(f"{type(message).__name__.lower()!r} is only allowed as the "
                          f"first message", "type", message.id)


def _http(code: http.HTTPStatus, body: str) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(body.encode())))])
    return Response(code.value, code.phrase, headers, body.encode())


def session_json(view: SessionView) -> dict:
    return {
        "session_id": view.session_id, "scene": view.scene, "engine": view.engine,
        "seed": view.seed, "state": view.state, "sample_rate": view.sample_rate,
        "channels": view.channels, "seq": view.seq, "stream_time": view.stream_time,
        "inputs": dict(view.inputs), "input_names": list(view.input_names),
        "blend": _blend(view.blend), "underruns": view.underruns, "listeners": view.listeners,
        "uptime_seconds": round(view.uptime_s, 3), "error": view.error,
        "clock": clock_json(view.clock), "stingers": list(view.stingers),
        "recording": view.recording, "heard_bpm": view.heard_bpm,
        "config": dict(view.config), "unsupported_knobs": list(view.unsupported_knobs),
    }


def _blend(entries) -> list[dict]:
    return [{"name": e.name, "text": e.text, "weight": round(e.weight, 6)} for e in entries]


def clock_json(clock: ClockView | None) -> dict | None:
    if clock is None:
        return None
    return {"beat": round(clock.beat, 6), "bar": clock.bar, "beat_in_bar": clock.beat_in_bar,
            "phase": round(clock.phase, 6), "bpm": round(clock.bpm, 4),
            "beats_per_bar": clock.beats_per_bar, "beat_unit": clock.beat_unit}


def event_json(event: SessionEvent | EventView) -> str:
    view = EventView.of(event) if isinstance(event, SessionEvent) else event
    fields: dict = {"kind": view.kind.value, "stream_time": view.stream_time}
    if view.kind == EventKind.BLEND_CHANGED:
        fields["blend"] = _blend(view.blend)
    elif view.kind == EventKind.ENDED:
        fields["reason"] = view.text("reason")
    else:
        fields.update(view.detail)
    return P.encode_json("event", **fields)
