"""Cadenza's Python SDK: talk to a Cadenza runtime over gRPC.

Needs only ``grpcio`` and ``protobuf`` (numpy and sounddevice are used when present)::

    from cadenza.sdk import Client

    with Client("127.0.0.1:50051") as client:
        session = client.create_session(scene="dungeon")
        session.update(danger=0.7, biome="cave")
        session.record("dungeon.wav", seconds=10)

    with client.create_session("dungeon") as session:     # stopped on leaving the block
        session.set_generation_config(bpm=100, mute_drums=True)   # Lyria's names
        session.on_beat(lambda e: print("beat", e.clock.beat_in_bar, "at", e.stream_time))
        session.trigger("hit")
        for chunk in session.stream(seconds=5): ...

For asyncio, use `cadenza.sdk.aio.AsyncClient` (same methods, awaitable).
"""

from .client import Client, Session
from .errors import (
    CadenzaError,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServerUnavailable,
    Unauthenticated,
    Unavailable,
)
from .types import AudioChunk, BeatInfo, EngineInfo, Event, GenerationConfig, SceneIssue, SessionInfo

__all__ = ["AudioChunk", "BeatInfo", "CadenzaError", "Client", "DeadlineExceeded", "EngineInfo",
           "Event", "FailedPrecondition", "GenerationConfig", "Internal", "InvalidArgument",
           "NotFound", "PermissionDenied", "ResourceExhausted", "SceneIssue", "ServerUnavailable",
           "Session", "SessionInfo", "Unauthenticated", "Unavailable"]
