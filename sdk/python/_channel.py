"""Channel setup shared by the sync and asyncio clients (``grpc`` or ``grpc.aio``)."""

from __future__ import annotations

import secrets

import grpc

OPTIONS = [("grpc.max_receive_message_length", 8 << 20)]


def open_channel(module, address: str, tls: bool, root_certificates: bytes | None):
    """A channel from ``module`` (``grpc`` or ``grpc.aio``), TLS when asked."""
    if tls:
        creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        return module.secure_channel(address, creds, options=OPTIONS)
    return module.insecure_channel(address, options=OPTIONS)


def auth_metadata(token: str | None) -> tuple:
    return (("authorization", f"Bearer {token}"),) if token else ()


SESSION_HEADER = "x-cadenza-session"  # a cluster's Envoy hashes on it (docs/cluster.md)


def routing_metadata(request=None, session_id: str | None = None) -> tuple:
    """The session routing header for a request: its session id, or for CreateSession a
    fresh id the server adopts, so a cluster routes the create and every later call of
    the session to the same worker. Harmless against a single server."""
    if session_id is None and request is not None:
        if request.DESCRIPTOR.name == "CreateSessionRequest":
            session_id = secrets.token_urlsafe(12)
        else:
            session_id = getattr(request, "session_id", "") or None
    # A header must stay small (gRPC caps metadata at 16 KiB): a longer id cannot be a
    # real session's, and the server answers it with NOT_FOUND without the header.
    return ((SESSION_HEADER, session_id),) if session_id and len(session_id) <= 256 else ()


# Each retry of a refused create hashes to a worker at random: with 2 of 3 workers full,
# 6 tries all missed the free one 8.8 % of the time ((2/3)^6, a CI flake); 24 tries miss
# it 0.006 % of the time (9 of 10 full: 8 %). A refusal is one quick round trip.
CREATE_ATTEMPTS = 24


def worker_full(exc) -> bool:
    """A CreateSession refused because that server is at its session limit: behind a
    cluster's Envoy, a retry with a fresh routing id lands on another worker (and the
    session's id still hashes to the worker that holds it)."""
    return getattr(exc, "code", "") == "RESOURCE_EXHAUSTED" and "limit of" in getattr(
        exc, "message", "")


MOVED_ATTEMPTS = 40


def moved(exc) -> bool:
    """The server answered "moved": a cluster is handing the session to another worker
    (a retry in a moment reaches it)."""
    return getattr(exc, "code", "") == "UNAVAILABLE" and getattr(exc, "message", "").startswith(
        "moved")
