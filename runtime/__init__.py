"""Cadenza runtime: engines, scenes, sessions, the generation loop, transports and sinks.

The data path (see docs/architecture.md):

    state update -> Session -> Scene.evaluate -> Blend -> StyleCache -> Engine.generate
                 -> Chunk -> sinks and transports
"""

__version__ = "0.1.0"
