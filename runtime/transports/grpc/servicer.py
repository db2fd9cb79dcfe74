"""The gRPC servicer: thin. Each method translates proto -> a `Runtime` call -> proto, and
maps errors through `transports.status`. Nothing here knows an engine."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import grpc

from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

from ...engines import engine_names
from ...errors import CadenzaError, InvalidArgument
from ...server import Closed, Runtime
from ...session.chunk import Chunk, SessionEvent
from .. import status
from . import convert

log = logging.getLogger("cadenza.grpc")


async def abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    if not isinstance(exc, CadenzaError):
        log.exception("internal error in an RPC", exc_info=exc)
    field = status.field_of(exc)
    if field:
        context.set_trailing_metadata((("cadenza-field", field),))
    await context.abort(status.grpc_status(exc), status.public_message(exc))


def unary(method):
    """Map runtime errors of a unary RPC to its status code."""

    @functools.wraps(method)
    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except Exception as exc:  # ours or not: abort() logs what is our fault and hides it
            if isinstance(exc, ValueError):
                exc = InvalidArgument(str(exc))
            self.runtime.metrics.error("grpc", status.short_code(exc))
            await abort(context, exc)

    return wrapper


class RuntimeServicer(pb_grpc.RuntimeServicer):
    def __init__(self, runtime: Runtime, write_timeout_s: float = 10.0) -> None:
        self.runtime = runtime
        self.write_timeout_s = write_timeout_s

    def _info(self, session) -> pb.SessionInfo:
        rt = self.runtime
        try:
            return convert.session_pb(session, rt.listeners(session.id), rt.uptime(session.id))
        except CadenzaError:  # already gone
            return convert.session_pb(session)

    # ------------------------------------------------------------------------ unary
    @unary
    async def CreateSession(self, request, context):
        seed = request.seed if request.HasField("seed") else None
        session = self.runtime.create_session(
            scene=request.scene or None, scene_yaml=request.scene_yaml or None,
            engine=request.engine or None, seed=seed,
            state=convert.values_from_pb(request.state), paused=request.paused,
            record=request.record)
        return self._info(session)

    @unary
    async def GetSession(self, request, context):
        return self._info(self.runtime.get(request.session_id))

    @unary
    async def ListSessions(self, request, context):
        return pb.ListSessionsResponse(sessions=[self._info(s) for s in self.runtime.sessions()])

    @unary
    async def CloseSession(self, request, context):
        self.runtime.close(request.session_id)
        return pb.CloseSessionResponse()

    @unary
    async def UpdateState(self, request, context):
        session = self.runtime.update_state(request.session_id,
                                            convert.values_from_pb(request.values))
        self.runtime.metrics.state_update("grpc")
        return pb.UpdateStateResponse(stream_time=session.stream_time)

    @unary
    async def Control(self, request, context):
        action = convert.ACTION.get(request.action)
        if action is None:
            raise InvalidArgument("action must be PLAY, PAUSE, STOP or RESET_CONTEXT",
                                  field="action")
        session = self.runtime.control(request.session_id, action)
        return pb.ControlResponse(state=convert.STATE[session.state])

    @unary
    async def SetPrompts(self, request, context):
        unknown = self.runtime.set_prompts(request.session_id,
                                           convert.prompts_from_pb(request.prompts))
        return pb.SetPromptsResponse(unknown=[pb.UnknownWords(prompt=p, words=w)
                                              for p, w in unknown.items()])

    @unary
    async def Trigger(self, request, context):
        session = self.runtime.trigger(request.session_id, request.stinger)
        return pb.TriggerResponse(stream_time=session.applies_at)

    @unary
    async def GetEngineInfo(self, request, context):
        info = self.runtime.engine_info(request.engine or None)
        return convert.engine_pb(info, engine_names())

    @unary
    async def ValidateScene(self, request, context):
        issues, summary = self.runtime.validate_scene(
            request.scene_yaml, request.filename or "<scene>", request.engine or None)
        ok = not any(i.severity == "error" for i in issues)
        return pb.ValidateSceneResponse(ok=ok, issues=[convert.issue_pb(i) for i in issues],
                                        summary=summary)

    # ----------------------------------------------------------------------- stream
    async def Stream(self, request_iterator, context):
        first = await context.read()
        if first is grpc.aio.EOF or first.WhichOneof("message") != "attach":
            self.runtime.metrics.error("grpc", "invalid_argument")
            await abort(context, InvalidArgument("the first message on a stream must be "
                                                 "'attach'", field="attach"))
            return
        attach = first.attach
        encoding = convert.ENCODING.get(attach.encoding)
        try:
            if encoding is None:
                raise InvalidArgument("unknown encoding", field="encoding")
            resume = attach.resume_from_seq if attach.HasField("resume_from_seq") else None
            sub = self.runtime.subscribe(attach.session_id, resume,
                                         convert.BEATS.get(attach.beat_events))
        except CadenzaError as exc:
            self.runtime.metrics.error("grpc", status.short_code(exc))
            await abort(context, exc)
            return
        self.runtime.metrics.client_connected("grpc")
        reader = asyncio.get_running_loop().create_task(self._read(context, attach.session_id,
                                                                   sub))
        try:
            session = self.runtime.get(attach.session_id)
            await self._write(context, pb.ServerMessage(attached=self._info(session)))
            while True:
                try:
                    item = await sub.next()
                except Closed as closed:
                    if closed.error is not None:
                        self.runtime.metrics.error("grpc", status.short_code(closed.error))
                        await abort(context, closed.error)
                    return
                await self._write(context, self._message(item, encoding))
                if isinstance(item, Chunk):
                    self.runtime.metrics.chunk_delivered("grpc")
        except TimeoutError:
            log.warning("stream of session %s not reading for %.0fs: dropped",
                        attach.session_id, self.write_timeout_s)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.runtime.unsubscribe(sub)
            self.runtime.metrics.client_disconnected("grpc")

    async def _write(self, context, message: pb.ServerMessage) -> None:
        # A client that stops reading blocks this write (HTTP/2 flow control); its queue
        # fills and it is dropped, without the session or anyone else noticing.
        await asyncio.wait_for(context.write(message), self.write_timeout_s)

    @staticmethod
    def _message(item, encoding: str) -> pb.ServerMessage:
        if isinstance(item, Chunk):
            return pb.ServerMessage(audio=convert.chunk_pb(item, encoding))
        if isinstance(item, SessionEvent):
            return pb.ServerMessage(event=convert.event_pb(item))
        return pb.ServerMessage(ack=item)

    async def _read(self, context, session_id: str, sub) -> None:
        """Apply client messages as they arrive; answer each with an Ack that jumps the
        audio queue. A bad message gets an error Ack; the stream goes on."""
        while True:
            message = await context.read()
            if message is grpc.aio.EOF:
                return
            kind = message.WhichOneof("message")
            try:
                if kind == "state":
                    self.runtime.update_state(session_id,
                                              convert.values_from_pb(message.state.values))
                    self.runtime.metrics.state_update("grpc")
                elif kind == "prompts":
                    self.runtime.set_prompts(session_id,
                                             convert.prompts_from_pb(message.prompts.prompts))
                elif kind == "control":
                    action = convert.ACTION.get(message.control.action)
                    if action is None:
                        raise InvalidArgument("unknown action", field="action")
                    self.runtime.control(session_id, action)
                elif kind == "trigger":
                    self.runtime.trigger(session_id, message.trigger.stinger)
                else:
                    raise InvalidArgument(f"unexpected message {kind!r} on an attached stream",
                                          field=kind or "message")
                if message.request_id:
                    sub.push_first(pb.Ack(request_id=message.request_id, ok=True))
            except CadenzaError as exc:
                self.runtime.metrics.error("grpc", status.short_code(exc))
                sub.push_first(pb.Ack(request_id=message.request_id, ok=False,
                                      code=status.grpc_status(exc).name,
                                      message=status.public_message(exc),
                                      field=status.field_of(exc)))
