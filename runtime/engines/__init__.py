"""Engines and the registry that builds them by name.

Engines are constructed lazily so that optional ones (Magenta RT) import their heavy
packages only when selected; a missing package becomes one clear EngineUnavailable line.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import EngineUnavailable, NotFound
from .base import Engine, EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding

Factory = Callable[..., Engine]


def _procedural(**options: object) -> Engine:
    from .procedural import ProceduralEngine

    return ProceduralEngine(**options)  # type: ignore[arg-type]


_FACTORIES: dict[str, Factory] = {"procedural": _procedural}


def register(name: str, factory: Factory) -> None:
    _FACTORIES[name] = factory


def engine_names() -> list[str]:
    return sorted(_FACTORIES)


def create_engine(name: str, **options: object) -> Engine:
    """Build the engine called ``name``. Raises NotFound for an unknown name and
    EngineUnavailable (with the fix in one line) when it cannot run here."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise NotFound(f"unknown engine {name!r}; available: {', '.join(engine_names())}")
    try:
        return factory(**options)
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} needs a package that is not installed "
                                f"({exc.name or exc})") from exc


__all__ = ["Engine", "EngineInfo", "EngineOutput", "EngineUnavailable", "Knobs", "Prompt",
           "StyleEmbedding", "create_engine", "engine_names", "register"]
