"""The built-in procedural engine (numpy only)."""

from .engine import ProceduralEngine, ProceduralState

__all__ = ["ProceduralEngine", "ProceduralState"]
