"""The built-in procedural engine (numpy only).

The engine is imported on first use, so that ``python -m
cadenza.runtime.engines.procedural.vocabulary`` runs without loading it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import ProceduralEngine, ProceduralState

__all__ = ["ProceduralEngine", "ProceduralState"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
