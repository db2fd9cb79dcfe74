"""The WebSocket bridge server: one WebSocket per session, speaking protocol.py.

Endpoint ``/v1/stream``. The token, when configured, is checked during the HTTP handshake
(``Authorization: Bearer`` header, or ``?token=`` for browsers); a refusal is an HTTP 401.
The first text frame creates or attaches a session; then JSON control and binary audio
flow as docs/websocket-protocol.md describes.
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

from ...errors import CadenzaError, InvalidArgument
from ...server import Closed, Runtime, Subscription
from ...session.chunk import Chunk, EventKind, SessionEvent
from .. import status
from ..auth import token_matches, token_ok
from . import protocol as P

log = logging.getLogger("cadenza.websocket")
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
        try:
            first = await asyncio.wait_for(ws.recv(), FIRST_MESSAGE_TIMEOUT_S)
            message = P.parse_client(first)
            sub, encoding = self._open(message)
        except TimeoutError:
            await self._refuse(ws, InvalidArgument("no 'create' or 'attach' message within "
                                                   f"{FIRST_MESSAGE_TIMEOUT_S:.0f}s"))
            return
        except P.ProtocolError as exc:
            await self._refuse(ws, InvalidArgument(str(exc), exc.field), exc.id)
            return
        except CadenzaError as exc:
            await self._refuse(ws, exc, getattr(message, "id", None))
            return
        except ConnectionClosed:
            return
        reader = asyncio.get_running_loop().create_task(self._read(ws, sub))
        try:
            await self._pump(ws, sub, encoding)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.runtime.unsubscribe(sub)

    def _open(self, message) -> tuple[Subscription, str]:
        if isinstance(message, P.Create):
            session = self.runtime.create_session(
                scene=message.scene, scene_yaml=message.scene_yaml, engine=message.engine,
                seed=message.seed, state=message.state, paused=message.paused,
                record=message.record)
            return self.runtime.subscribe(session.id, beats=message.beat_events), message.encoding
        if isinstance(message, P.Attach):
            return self.runtime.subscribe(message.session_id, message.resume_from_seq,
                                          message.beat_events), message.encoding
        raise InvalidArgument("the first message must be 'create' or 'attach'", "type")

    async def _refuse(self, ws: ServerConnection, exc: BaseException, id: int | None = None) -> None:
        self.runtime.metrics.error("websocket", status.short_code(exc))
        with contextlib.suppress(ConnectionClosed):
            await ws.send(P.encode_error(status.public_message(exc), status.short_code(exc),
                                         status.field_of(exc), id))
            await ws.close(status.ws_close_code(exc), status.public_message(exc)[:120])

    async def _send(self, ws: ServerConnection, data: str | bytes) -> None:
        await asyncio.wait_for(ws.send(data), self.write_timeout_s)

    async def _pump(self, ws: ServerConnection, sub: Subscription, encoding: str) -> None:
        session = self.runtime.get(sub.session_id)
        await self._send(ws, P.encode_json("session", session=session_json(
            session, self.runtime.listeners(session.id), self.runtime.uptime(session.id))))
        last_blend = None
        while True:
            try:
                item = await sub.next()
            except Closed as closed:
                if closed.error is not None:
                    await self._refuse(ws, closed.error)
                else:
                    await ws.close(status.WS_NORMAL, "session ended")
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
                    item.encoded(encoding), (clock.beat, clock.bpm, clock.beats_per_bar,
                                             clock.beat_unit) if clock else None))
                self.runtime.metrics.chunk_delivered("websocket")
            elif isinstance(item, SessionEvent):
                await self._send(ws, event_json(item))
            else:
                await self._send(ws, item)  # an ack or error, already encoded

    async def _read(self, ws: ServerConnection, sub: Subscription) -> None:
        async for frame in ws:
            try:
                message = P.parse_client(frame)
                self._apply(sub.session_id, message, sub)
                reply = P.encode_ack(message.id)
            except P.ProtocolError as exc:
                reply = P.encode_error(str(exc), exc.code, exc.field, exc.id)
                self.runtime.metrics.error("websocket", exc.code)
            except CadenzaError as exc:
                reply = P.encode_error(status.public_message(exc), status.short_code(exc),
                                       status.field_of(exc), getattr(message, "id", None))
                self.runtime.metrics.error("websocket", status.short_code(exc))
            if reply is not None:
                sub.push_first(reply)

    def _apply(self, session_id: str, message, sub: Subscription) -> None:
        rt = self.runtime
        if isinstance(message, P.State):
            rt.update_state(session_id, message.values)
            rt.metrics.state_update("websocket")
        elif isinstance(message, P.Prompts):
            rt.set_prompts(session_id, message.prompts)
        elif isinstance(message, P.Control):
            rt.control(session_id, message.action)
        elif isinstance(message, P.Trigger):
            rt.trigger(session_id, message.stinger)
        elif isinstance(message, P.Ping):
            sub.push_first(P.encode_json("pong", id=message.id))
        else:
            raise P.ProtocolError(f"{type(message).__name__.lower()!r} is only allowed as the "
                                  f"first message", "type", message.id)


def _http(code: http.HTTPStatus, body: str) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(body.encode())))])
    return Response(code.value, code.phrase, headers, body.encode())


def session_json(session, listeners: int = 0, uptime: float = 0.0) -> dict:
    blend = session.blend
    return {
        "session_id": session.id, "scene": session.scene.name, "engine": session.engine_name,
        "seed": session.seed, "state": session.state.value, "sample_rate": session.sample_rate,
        "channels": 2, "seq": session.seq, "stream_time": session.stream_time,
        "inputs": dict(session.inputs), "input_names": list(session.scene.inputs),
        "blend": P.blend_list(blend.weights, {n: p.key for n, p in blend.prompts.items()})
        if blend else [],
        "underruns": session.counters.underruns, "listeners": listeners,
        "uptime_seconds": round(uptime, 3), "error": session.error or "",
        "clock": clock_json(session.clock), "stingers": list(session.scene.stingers),
        "recording": str(session.recorder.path) if session.recorder else "",
        "heard_bpm": session.heard_bpm,
    }


def clock_json(clock) -> dict | None:
    if clock is None:
        return None
    return {"beat": round(clock.beat, 6), "bar": clock.bar, "beat_in_bar": clock.beat_in_bar,
            "phase": round(clock.phase, 6), "bpm": round(clock.bpm, 4),
            "beats_per_bar": clock.beats_per_bar, "beat_unit": clock.beat_unit}


def event_json(event: SessionEvent) -> str:
    d = event.detail
    fields: dict = {"kind": event.kind.value, "stream_time": event.stream_time}
    if event.kind == EventKind.BLEND_CHANGED:
        fields["blend"] = P.blend_list(d.get("weights", {}), d.get("prompts", {}))
    elif event.kind == EventKind.ENDED:
        fields["reason"] = d.get("reason", "")
    else:
        fields.update(d)
    return P.encode_json("event", **fields)
