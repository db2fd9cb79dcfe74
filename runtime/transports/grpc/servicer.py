"""The gRPC servicer: a thin codec. Each method decodes its request into an edge
`Command` (`convert`), applies it with `Runtime.apply_async`, and renders the result's
view; every error goes through the edge kit's one reporter (`edge.report`), so the
status comes from the error class's own code and every detail is ASCII and bounded.

`add_to_server` registers the service with deserializers that never raise: malformed
request bytes become a `Malformed` marker, answered with INVALID_ARGUMENT (not UNKNOWN
with protobuf's DecodeError). Nothing here knows an engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

from ...cluster import routing
from ...edge import commands as C
from ...edge.report import ErrorReport, report
from ...edge.views import SessionView
from ...engines import engine_names
from ...errors import CadenzaError, InvalidArgument
from ...server import Closed, Runtime
from ...session.chunk import Chunk, SessionEvent
from . import convert

log = logging.getLogger("cadenza.grpc")
TRANSPORT = "grpc"
SERVICE = "cadenza.v1.Runtime"


@dataclass(frozen=True)
class Malformed:
    """What a request that does not parse as its message type deserializes to."""

    message_type: str


def _safe_parser(cls):
    def parse(data: bytes):
        try:
            return cls.FromString(data)
        except (DecodeError, RuntimeError, ValueError):  # never let the library's text out
            return Malformed(cls.DESCRIPTOR.name)
    return parse


def _check(request) -> None:
    if isinstance(request, Malformed):
        raise InvalidArgument(f"the request is not a valid {request.message_type} message",
                              field="request")


async def abort(context: grpc.aio.ServicerContext, result: ErrorReport) -> None:
    trailers = []
    if result.raw_field:
        trailers.append(("cadenza-field", result.trailer))
    if result.retry_after_s is not None:
        trailers.append(("cadenza-retry-after", f"{result.retry_after_s:.3f}"))
    if trailers:
        context.set_trailing_metadata(tuple(trailers))
    await context.abort(grpc.StatusCode[result.grpc], result.message)


def unary(method):
    """Map every error of a unary RPC through the edge reporter."""

    @functools.wraps(method)
    async def wrapper(self, request, context):
        try:
            _check(request)
            return await method(self, request, context)
        except Exception as exc:  # ours or not: the reporter logs our faults and hides them
            await abort(context, report(exc, self.runtime.metrics, TRANSPORT))

    return wrapper


class RuntimeServicer(pb_grpc.RuntimeServicer):
    def __init__(self, runtime: Runtime, write_timeout_s: float = 10.0) -> None:
        self.runtime = runtime
        self.write_timeout_s = write_timeout_s

    def view(self, session) -> SessionView:
        rt = self.runtime
        try:
            knobs = rt.loop_of(session.id).engine.info.knobs
            return SessionView.of(session, rt.listeners(session.id), rt.uptime(session.id), knobs)
        except CadenzaError:  # already gone
            return SessionView.of(session)

    def _info(self, session) -> pb.SessionInfo:
        return convert.session_pb(self.view(session))

    # ------------------------------------------------------------------------ unary
    @unary
    async def CreateSession(self, request, context):
        seed = request.seed if request.HasField("seed") else None
        routing.REQUESTED.set(routing.from_metadata(context.invocation_metadata()))
        session = await self.runtime.apply_async(C.Create(
            scene=request.scene or None, scene_yaml=request.scene_yaml or None,
            engine=request.engine or None, seed=seed,
            state=convert.values_from_pb(request.state), paused=request.paused,
            record=request.record))
        return self._info(session)

    @unary
    async def GetSession(self, request, context):
        return self._info(self.runtime.get(request.session_id))

    @unary
    async def ListSessions(self, request, context):
        return pb.ListSessionsResponse(sessions=[self._info(s) for s in self.runtime.sessions()])

    @unary
    async def CloseSession(self, request, context):
        await self.runtime.apply_async(C.Close(request.session_id))
        return pb.CloseSessionResponse()

    @unary
    async def UpdateState(self, request, context):
        session = await self.runtime.apply_async(
            C.Update(request.session_id, convert.values_from_pb(request.values)))
        self.runtime.metrics.state_update(TRANSPORT)
        return pb.UpdateStateResponse(stream_time=session.stream_time)

    @unary
    async def Control(self, request, context):
        session = await self.runtime.apply_async(
            C.Control(request.session_id, convert.action_of(request.action)))
        return pb.ControlResponse(state=convert.STATE[session.state])

    @unary
    async def SetPrompts(self, request, context):
        unknown = await self.runtime.apply_async(
            C.SetPrompts(request.session_id, convert.prompts_from_pb(request.prompts)))
        return pb.SetPromptsResponse(unknown=[pb.UnknownWords(prompt=p, words=w)
                                              for p, w in unknown.items()])

    @unary
    async def SetGenerationConfig(self, request, context):
        result = await self.runtime.apply_async(C.SetConfig(
            request.session_id, convert.config_from_pb(request.config), tuple(request.clear)))
        return pb.SetGenerationConfigResponse(config=convert.config_pb(result.config),
                                              unsupported=list(result.unsupported),
                                              stream_time=result.stream_time)

    @unary
    async def Trigger(self, request, context):
        session = await self.runtime.apply_async(C.Trigger(request.session_id, request.stinger))
        return pb.TriggerResponse(stream_time=session.applies_at)

    @unary
    async def GetEngineInfo(self, request, context):
        info = self.runtime.engine_info(request.engine or None)
        return convert.engine_pb(info, engine_names())

    @unary
    async def ValidateScene(self, request, context):
        issues, summary = await self.runtime.apply_async(C.Validate(
            request.scene_yaml, request.filename or "<scene>", request.engine or None))
        ok = not any(i.severity == "error" for i in issues)
        return pb.ValidateSceneResponse(ok=ok, issues=[convert.issue_pb(i) for i in issues],
                                        summary=summary)

    # ----------------------------------------------------------------------- stream
    async def Stream(self, request_iterator, context):
        try:
            first = await context.read()
            _check(first)
            if first is grpc.aio.EOF or first.WhichOneof("message") != "attach":
                raise InvalidArgument("the first message on a stream must be 'attach'",
                                      field="attach")
            attach = first.attach
            encoding = convert.ENCODING.get(attach.encoding)
            if encoding is None:
                raise InvalidArgument("unknown encoding", field="encoding")
            resume = attach.resume_from_seq if attach.HasField("resume_from_seq") else None
            sub = await self.runtime.apply_async(C.Attach(
                attach.session_id, resume, convert.BEATS.get(attach.beat_events)))
        except Exception as exc:
            await abort(context, report(exc, self.runtime.metrics, TRANSPORT))
            return
        self.runtime.metrics.client_connected(TRANSPORT)
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
                        await abort(context, report(closed.error, self.runtime.metrics,
                                                    TRANSPORT))
                    return
                await self._write(context, self._message(item, encoding))
                if isinstance(item, Chunk):
                    self.runtime.metrics.chunk_delivered(TRANSPORT)
        except TimeoutError:
            log.warning("stream of session %s not reading for %.0fs: dropped",
                        attach.session_id, self.write_timeout_s)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.runtime.unsubscribe(sub)
            self.runtime.metrics.client_disconnected(TRANSPORT)

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
            request_id = 0 if isinstance(message, Malformed) else message.request_id
            try:
                _check(message)
                command = convert.command_of(message, session_id)
                result = await self.runtime.apply_async(command)
                if isinstance(command, C.Update):
                    self.runtime.metrics.state_update(TRANSPORT)
                if request_id:
                    ack = pb.Ack(request_id=request_id, ok=True)
                    if isinstance(command, C.SetConfig):
                        ack.config.CopyFrom(convert.config_pb(result.config))
                        ack.unsupported.extend(result.unsupported)
                    sub.push_first(ack)
            except Exception as exc:
                error = report(exc, self.runtime.metrics, TRANSPORT)
                sub.push_first(pb.Ack(request_id=request_id, ok=False, code=error.grpc,
                                      message=error.message, field=error.field))


def add_to_server(servicer: RuntimeServicer, server: grpc.aio.Server) -> None:
    """Register ``servicer`` (as the generated ``add_RuntimeServicer_to_server`` does) with
    deserializers that turn malformed bytes into `Malformed` instead of raising."""
    service = pb.DESCRIPTOR.services_by_name["Runtime"]
    handlers = {}
    for method in service.methods:
        parse = _safe_parser(getattr(pb, method.input_type.name))
        output = getattr(pb, method.output_type.name)
        kind = {(False, False): grpc.unary_unary_rpc_method_handler,
                (True, True): grpc.stream_stream_rpc_method_handler,
                (False, True): grpc.unary_stream_rpc_method_handler,
                (True, False): grpc.stream_unary_rpc_method_handler}[
            (method.client_streaming, method.server_streaming)]
        handlers[method.name] = kind(getattr(servicer, method.name), request_deserializer=parse,
                                     response_serializer=output.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
