"""Cadenza's Python SDK: talk to a Cadenza runtime over gRPC.

Needs only ``grpcio`` and ``protobuf`` (numpy and sounddevice are used when present)::

    from cadenza.sdk import Client

    with Client("127.0.0.1:50051") as client:
        session = client.create_session(scene="dungeon")
        session.update(danger=0.7, biome="cave")
        session.record("dungeon.wav", seconds=10)

For asyncio, use `cadenza.sdk.aio.AsyncClient` (same methods, awaitable).
"""

from .client import Client, Session
from .errors import CadenzaError
from .types import AudioChunk, BeatInfo, EngineInfo, Event, SceneIssue, SessionInfo

__all__ = ["AudioChunk", "BeatInfo", "CadenzaError", "Client", "EngineInfo", "Event", "SceneIssue",
           "Session", "SessionInfo"]
