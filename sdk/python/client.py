"""The synchronous client. Thread-safe for unary calls; one stream per iterator.

Beat callbacks (`Session.on_beat`, `Session.on_bar`) run on the thread iterating
`Session.stream`, as each beat arrives; each event's ``stream_time`` is the sample of the
beat, so schedule against your playback position (the audio arrives ahead of time).
"""

from __future__ import annotations

import contextlib
import time
import wave
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

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
from .errors import CadenzaError, NotFound
from .types import (
    STATES,
    AudioChunk,
    EngineInfo,
    Event,
    GenerationConfig,
    SceneIssue,
    SessionInfo,
    config_from_pb,
    config_pb,
    create_request,
    prompts_pb,
    state_pb,
)

ACTIONS = {"play": pb.PLAY, "pause": pb.PAUSE, "stop": pb.STOP, "reset": pb.RESET_CONTEXT}


class Client:
    """A connection to a Cadenza runtime.

    ``address`` is ``host:port`` of its gRPC endpoint; ``token`` the bearer token if the
    server requires one; ``tls=True`` (optionally with ``root_certificates`` PEM bytes)
    for a TLS server.
    """

    def __init__(self, address: str = "127.0.0.1:50051", token: str | None = None,
                 tls: bool = False, root_certificates: bytes | None = None,
                 timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self._metadata = auth_metadata(token)
        self._channel = open_channel(grpc, address, tls, root_certificates)
        self._stub = pb_grpc.RuntimeStub(self._channel)

    # ----------------------------------------------------------------------- plumbing
    def _call(self, method: str, request):
        for attempt in range(MOVED_ATTEMPTS):
            try:
                return getattr(self._stub, method)(request, metadata=self._metadata
                                                   + routing_metadata(request),
                                                   timeout=self.timeout)
            except grpc.RpcError as exc:
                error = CadenzaError.from_rpc(exc, self.address)
                if not moved(error) or attempt == MOVED_ATTEMPTS - 1:
                    raise error from None
                time.sleep(0.1)  # a cluster is handing the session over: ask again
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------------- sessions
    def create_session(self, scene: str | None = None, *, scene_yaml: str | None = None,
                       engine: str | None = None, seed: int | None = None,
                       state: Mapping[str, object] | None = None,
                       paused: bool = False, record: bool = False) -> Session:
        """Create a session from a served scene name (or inline ``scene_yaml``)."""
        request = create_request(scene, scene_yaml, engine, seed, state, paused, record)
        for attempt in range(CREATE_ATTEMPTS):
            try:  # each attempt sends a fresh routing id: a cluster picks another worker
                info = SessionInfo.from_pb(self._call("CreateSession", request))
                break
            except CadenzaError as exc:
                if not worker_full(exc) or attempt == CREATE_ATTEMPTS - 1:
                    raise
        return Session(self, info.session_id, info)

    def session(self, session_id: str) -> Session:
        """A handle on an existing session (e.g. to reconnect after a restart); its
        stream() starts live unless given resume_from_seq."""
        session = Session(self, session_id, self.get_session(session_id))
        session.next_seq = None
        return session

    def get_session(self, session_id: str) -> SessionInfo:
        return SessionInfo.from_pb(self._call("GetSession",
                                              pb.GetSessionRequest(session_id=session_id)))

    def sessions(self) -> list[SessionInfo]:
        response = self._call("ListSessions", pb.ListSessionsRequest())
        return [SessionInfo.from_pb(s) for s in response.sessions]

    def engine_info(self, engine: str | None = None) -> EngineInfo:
        return EngineInfo.from_pb(self._call("GetEngineInfo",
                                             pb.GetEngineInfoRequest(engine=engine or "")))

    def validate_scene(self, scene_yaml: str, filename: str = "<scene>",
                       engine: str | None = None) -> tuple[bool, list[SceneIssue], str]:
        """(ok, issues, summary): the same file:line field: messages as the CLI."""
        r = self._call("ValidateScene", pb.ValidateSceneRequest(
            scene_yaml=scene_yaml, filename=filename, engine=engine or ""))
        return r.ok, [SceneIssue.from_pb(i) for i in r.issues], r.summary


class BeatCallbacks:
    """``on_beat`` / ``on_bar`` callbacks of one session handle (shared by the sync and
    asyncio sessions). A BAR callback also fires for a BEAT event on a downbeat."""

    def __init__(self) -> None:
        self.beat: list[Callable[[Event], None]] = []
        self.bar: list[Callable[[Event], None]] = []

    def wanted(self, beat_events: str | None) -> str | None:
        """The stream's beat_events: as asked, else what the callbacks need."""
        if beat_events is not None:
            return beat_events
        return "beats" if self.beat else "bars" if self.bar else None

    def wrap(self, on_event: Callable[[Event], None] | None) -> Callable[[Event], None] | None:
        if not self.beat and not self.bar:
            return on_event

        def dispatch(event: Event) -> None:
            if event.kind == "beat":
                for callback in self.beat:
                    callback(event)
            if event.kind == "bar" or (event.kind == "beat" and event.clock is not None
                                       and event.clock.beat_in_bar == 0):
                for callback in self.bar:
                    callback(event)
            if on_event is not None:
                on_event(event)

        return dispatch


def config_request(session_id: str, values: Mapping[str, object] | None, clear,
                   more: Mapping[str, object]) -> pb.SetGenerationConfigRequest:
    merged = {**(values or {}), **more}
    cleared = [name for name, v in merged.items() if v is None]
    return pb.SetGenerationConfigRequest(
        session_id=session_id,
        config=config_pb({k: v for k, v in merged.items() if v is not None}),
        clear=[*([clear] if isinstance(clear, str) else list(clear)), *cleared])


def config_result(r: pb.SetGenerationConfigResponse) -> GenerationConfig:
    return GenerationConfig(config_from_pb(r.config), tuple(r.unsupported), r.stream_time)


class Session:
    """A handle on one session. Control calls are unary RPCs; `stream()` iterates audio.

    A context manager: ``with client.create_session("dungeon") as session:`` ends the
    session on leaving the block (`stop`), whatever happened inside.
    """

    def __init__(self, client: Client, session_id: str, info: SessionInfo | None = None) -> None:
        self.client = client
        self.id = session_id
        self.created = info
        # Where the next stream() picks up: from the first chunk for a session this handle
        # created (the server keeps a few seconds of history), then from where the last
        # stream stopped; None (live) for a handle on an existing session.
        self.next_seq: int | None = 0 if info is not None and info.seq == 0 else None
        self.callbacks = BeatCallbacks()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(NotFound):  # already ended
            self.stop()

    def info(self) -> SessionInfo:
        return self.client.get_session(self.id)

    def on_beat(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        """Call ``callback(event)`` on every beat while a `stream` runs (usable as a
        decorator). ``event.clock`` has the beat, bar and tempo; ``event.stream_time`` the
        sample of the beat."""
        self.callbacks.beat.append(callback)
        return callback

    def on_bar(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        """Call ``callback(event)`` on every downbeat while a `stream` runs."""
        self.callbacks.bar.append(callback)
        return callback

    def set_generation_config(self, config: Mapping[str, object] | None = None, /, *,
                              clear: str | Iterable[str] = (), **fields: object) -> GenerationConfig:
        """Live generation config, as Lyria RealTime's ``set_music_generation_config``:
        ``session.set_generation_config(bpm=100, mute_drums=True)``. Each field set
        overrides the scene's expression for it until cleared: ``clear=["bpm"]`` (or a
        field given None; ``clear="*"`` clears all). Fields: temperature, top_k, guidance,
        seed (from the next reset), bpm, density, brightness, scale (e.g.
        "C_MAJOR_A_MINOR"), mute_bass, mute_drums, only_bass_and_drums, mode ("quality",
        "diversity", "vocalization"). Returns the override in effect and the fields the
        engine does not honour."""
        r = self.client._call("SetGenerationConfig",
                              config_request(self.id, config, clear, fields))
        return config_result(r)

    def update(self, values: Mapping[str, object] | None = None, /, **more: object) -> int:
        """Push state: ``session.update(danger=0.7, biome="cave")``. Returns the stream time
        (samples) at which the server accepted it; it is heard from the next block."""
        merged = {**(values or {}), **more}
        r = self.client._call("UpdateState", pb.UpdateStateRequest(session_id=self.id,
                                                                   values=state_pb(merged)))
        return r.stream_time

    def set_prompts(self, prompts: Mapping[str, float] | None) -> dict[str, list[str]]:
        """Steer with weighted text prompts, bypassing the scene; ``None`` or ``{}`` returns
        to the scene. Returns words the engine did not understand, per prompt."""
        r = self.client._call("SetPrompts", pb.SetPromptsRequest(
            session_id=self.id, prompts=prompts_pb(prompts or {})))
        return {u.prompt: list(u.words) for u in r.unknown}

    def trigger(self, stinger: str) -> int:
        """Fire one of the scene's stingers; it plays at its next play_at boundary (a
        ``stinger`` event on the stream says where, or that its cooldown suppressed it).
        Returns the stream time from which the trigger applies."""
        r = self.client._call("Trigger", pb.TriggerRequest(session_id=self.id, stinger=stinger))
        return r.stream_time

    def _control(self, action: str) -> str:
        r = self.client._call("Control", pb.ControlRequest(session_id=self.id,
                                                           action=ACTIONS[action]))
        return STATES.get(r.state, "unknown")

    def play(self) -> str:
        return self._control("play")

    def pause(self) -> str:
        return self._control("pause")

    def reset(self) -> str:
        """Clear the musical context: the music starts afresh in the same session."""
        return self._control("reset")

    def stop(self) -> None:
        """End the session (its streams end with an 'ended' event), as Lyria's stop()."""
        self._control("stop")

    def close(self) -> None:
        """End the session (its streams end with an 'ended' event)."""
        self.client._call("CloseSession", pb.CloseSessionRequest(session_id=self.id))

    # ------------------------------------------------------------------------ audio
    def stream(self, encoding: str = "s16le", *, seconds: float | None = None,
               on_event: Callable[[Event], None] | None = None, reconnect: bool = True,
               max_retries: int = 8, resume_from_seq: int | None = None,
               beat_events: str | None = None) -> Iterator[AudioChunk]:
        """Iterate the session's audio chunks (gapless, in order).

        On a dropped connection the stream reconnects with back-off and resumes from the
        next ``seq`` (the server re-sends what it still holds). Ends after ``seconds`` of
        audio, when the session ends, or when the caller stops iterating.
        """
        cursor = StreamCursor(self, encoding, seconds, self.callbacks.wrap(on_event), reconnect,
                              max_retries, resume_from_seq, self.callbacks.wanted(beat_events))
        while True:
            call = self.client._stub.Stream(iter([cursor.attach()]),
                                            metadata=self.client._metadata
                                            + routing_metadata(session_id=self.id))
            try:
                for message in call:
                    chunk = cursor.accept(message)
                    if chunk is not None:
                        yield chunk
                    if cursor.done:
                        return
                return
            except grpc.RpcError as exc:
                time.sleep(cursor.retry_after(exc))
            finally:
                call.cancel()

    def record(self, path: str | Path, seconds: float, **stream_options) -> int:
        """Stream ``seconds`` of audio into a 16-bit WAV file; returns frames written."""
        frames = 0
        with contextlib.closing(wave.open(str(path), "wb")) as out:
            for i, chunk in enumerate(self.stream("s16le", seconds=seconds, **stream_options)):
                if i == 0:
                    out.setnchannels(chunk.channels)
                    out.setsampwidth(2)
                    out.setframerate(chunk.sample_rate)
                out.writeframes(chunk.pcm)
                frames += chunk.frames
        return frames

    def play_to_device(self, seconds: float | None = None, device: int | str | None = None,
                       **stream_options) -> None:
        """Play to the sound card (needs ``pip install sounddevice``)."""
        from .playback import play

        play(self.stream("f32le", seconds=seconds, **stream_options), device=device)
