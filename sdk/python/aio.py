"""The asyncio client: the same API as `cadenza.sdk.Client`, awaitable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

import grpc

from cadenza.v1 import runtime_pb2 as pb
from cadenza.v1 import runtime_pb2_grpc as pb_grpc

from ._channel import (
    CREATE_ATTEMPTS,
    MOVED_ATTEMPTS,
    auth_metadata,
    moved,
    open_channel,
    routing_metadata,
    worker_full,
)
from ._stream import StreamCursor
from .client import ACTIONS, BeatCallbacks, config_request, config_result
from .errors import CadenzaError, NotFound
from .types import (
    STATES,
    AudioChunk,
    EngineInfo,
    Event,
    GenerationConfig,
    SceneIssue,
    SessionInfo,
    create_request,
    prompts_pb,
    state_pb,
)


class AsyncClient:
    def __init__(self, address: str = "127.0.0.1:50051", token: str | None = None,
                 tls: bool = False, root_certificates: bytes | None = None,
                 timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self._metadata = auth_metadata(token)
        self._channel = open_channel(grpc.aio, address, tls, root_certificates)
        self._stub = pb_grpc.RuntimeStub(self._channel)

    async def _call(self, method: str, request):
        for attempt in range(MOVED_ATTEMPTS):
            try:
                return await getattr(self._stub, method)(request, metadata=self._metadata
                                                         + routing_metadata(request),
                                                         timeout=self.timeout)
            except grpc.RpcError as exc:
                error = CadenzaError.from_rpc(exc, self.address)
                if not moved(error) or attempt == MOVED_ATTEMPTS - 1:
                    raise error from None
                await asyncio.sleep(0.1)  # a cluster is handing the session over
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def create_session(self, scene: str | None = None, *, scene_yaml: str | None = None,
                             engine: str | None = None, seed: int | None = None,
                             state: Mapping[str, object] | None = None,
                             paused: bool = False, record: bool = False) -> AsyncSession:
        request = create_request(scene, scene_yaml, engine, seed, state, paused, record)
        for attempt in range(CREATE_ATTEMPTS):
            try:  # each attempt sends a fresh routing id: a cluster picks another worker
                info = SessionInfo.from_pb(await self._call("CreateSession", request))
                break
            except CadenzaError as exc:
                if not worker_full(exc) or attempt == CREATE_ATTEMPTS - 1:
                    raise
        return AsyncSession(self, info.session_id, info)

    async def get_session(self, session_id: str) -> SessionInfo:
        return SessionInfo.from_pb(await self._call("GetSession",
                                                    pb.GetSessionRequest(session_id=session_id)))

    async def sessions(self) -> list[SessionInfo]:
        response = await self._call("ListSessions", pb.ListSessionsRequest())
        return [SessionInfo.from_pb(s) for s in response.sessions]

    async def engine_info(self, engine: str | None = None) -> EngineInfo:
        return EngineInfo.from_pb(await self._call("GetEngineInfo",
                                                   pb.GetEngineInfoRequest(engine=engine or "")))

    async def validate_scene(self, scene_yaml: str, filename: str = "<scene>",
                             engine: str | None = None) -> tuple[bool, list[SceneIssue], str]:
        r = await self._call("ValidateScene", pb.ValidateSceneRequest(
            scene_yaml=scene_yaml, filename=filename, engine=engine or ""))
        return r.ok, [SceneIssue.from_pb(i) for i in r.issues], r.summary


class AsyncSession:
    def __init__(self, client: AsyncClient, session_id: str,
                 info: SessionInfo | None = None) -> None:
        self.client = client
        self.id = session_id
        self.created = info
        # Where the next stream() picks up: from the first chunk for a session this handle
        # created (the server keeps a few seconds of history), then from where the last
        # stream stopped; None (live) for a handle on an existing session.
        self.next_seq: int | None = 0 if info is not None and info.seq == 0 else None
        self.callbacks = BeatCallbacks()

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc) -> None:
        with contextlib.suppress(NotFound):  # already ended
            await self.stop()

    async def info(self) -> SessionInfo:
        return await self.client.get_session(self.id)

    def on_beat(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        """As `Session.on_beat` (the callback runs in the task iterating `stream`)."""
        self.callbacks.beat.append(callback)
        return callback

    def on_bar(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        self.callbacks.bar.append(callback)
        return callback

    async def set_generation_config(self, config: Mapping[str, object] | None = None, /, *,
                                    clear: str | Iterable[str] = (),
                                    **fields: object) -> GenerationConfig:
        """As `Session.set_generation_config`."""
        r = await self.client._call("SetGenerationConfig",
                                    config_request(self.id, config, clear, fields))
        return config_result(r)

    async def stop(self) -> None:
        """End the session, as Lyria's stop()."""
        await self._control("stop")

    async def update(self, values: Mapping[str, object] | None = None, /, **more: object) -> int:
        merged = {**(values or {}), **more}
        r = await self.client._call("UpdateState", pb.UpdateStateRequest(
            session_id=self.id, values=state_pb(merged)))
        return r.stream_time

    async def set_prompts(self, prompts: Mapping[str, float] | None) -> dict[str, list[str]]:
        r = await self.client._call("SetPrompts", pb.SetPromptsRequest(
            session_id=self.id, prompts=prompts_pb(prompts or {})))
        return {u.prompt: list(u.words) for u in r.unknown}

    async def trigger(self, stinger: str) -> int:
        r = await self.client._call("Trigger", pb.TriggerRequest(session_id=self.id,
                                                                 stinger=stinger))
        return r.stream_time

    async def _control(self, action: str) -> str:
        r = await self.client._call("Control", pb.ControlRequest(session_id=self.id,
                                                                 action=ACTIONS[action]))
        return STATES.get(r.state, "unknown")

    async def play(self) -> str:
        return await self._control("play")

    async def pause(self) -> str:
        return await self._control("pause")

    async def reset(self) -> str:
        return await self._control("reset")

    async def close(self) -> None:
        await self.client._call("CloseSession", pb.CloseSessionRequest(session_id=self.id))

    async def stream(self, encoding: str = "s16le", *, seconds: float | None = None,
                     on_event: Callable[[Event], None] | None = None, reconnect: bool = True,
                     max_retries: int = 8, resume_from_seq: int | None = None,
                     beat_events: str | None = None) -> AsyncIterator[AudioChunk]:
        """As `Session.stream`: gapless chunks, reconnecting and resuming on drops."""
        cursor = StreamCursor(self, encoding, seconds, self.callbacks.wrap(on_event), reconnect,
                              max_retries, resume_from_seq, self.callbacks.wanted(beat_events))
        while True:
            call = self.client._stub.Stream(metadata=self.client._metadata
                                            + routing_metadata(session_id=self.id))
            try:
                await call.write(cursor.attach())
                await call.done_writing()
                async for message in call:
                    chunk = cursor.accept(message)
                    if chunk is not None:
                        yield chunk
                    if cursor.done:
                        return
                return
            except grpc.RpcError as exc:
                await asyncio.sleep(cursor.retry_after(exc))
            finally:
                call.cancel()
