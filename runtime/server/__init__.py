"""The serving core: sessions on live generation loops, shared by every transport.

Transports (gRPC, WebSocket, OSC, MQTT, the console) translate their wire formats into
calls on `Runtime` and relay `Subscription` output; they never touch engines or loops.
"""

from .config import RuntimeConfig
from .runtime import Runtime
from .subscription import Closed, Subscription

__all__ = ["Closed", "Runtime", "RuntimeConfig", "Subscription"]
