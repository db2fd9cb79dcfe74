"""The WebSocket bridge: a sans-I/O codec (protocol.py) and an asyncio server (server.py)."""
