"""Channel setup shared by the sync and asyncio clients (``grpc`` or ``grpc.aio``)."""

from __future__ import annotations

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
