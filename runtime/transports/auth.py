"""The bearer token, checked the same way by every edge (gRPC, WebSocket, console).

No transport library here: the WebSocket bridge and the console use it without loading
gRPC.
"""

from __future__ import annotations

import hmac

BEARER = "Bearer "


def token_matches(offered: str | None, token: str) -> bool:
    """True when ``offered`` is the token (constant-time comparison)."""
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


def token_ok(header: str | None, token: str) -> bool:
    """True when an Authorization ``header`` is ``Bearer <token>``."""
    return bool(header) and header.startswith(BEARER) and token_matches(header[len(BEARER):],
                                                                        token)
