"""Engines and the registry that builds them by name.

Engines are constructed lazily so that optional ones (Magenta RT) import their heavy
packages only when selected; a missing package becomes one clear EngineUnavailable line.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import EngineUnavailable, NotFound
from .base import Engine, EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding

Factory = Callable[..., Engine]


def _procedural(processes: int = 0, **options: object) -> Engine:
    from .procedural import ProceduralEngine

    if processes:
        from .procedural.processes import BandProcesses

        return BandProcesses(processes, **options)  # type: ignore[arg-type,return-value]
    return ProceduralEngine(**options)  # type: ignore[arg-type]


def _magenta_rt2(**options: object) -> Engine:
    from .magenta_rt2 import create

    return create(**options)


def _magenta_rt1(**options: object) -> Engine:
    from .magenta_rt1 import create

    return create(**options)


_FACTORIES: dict[str, Factory] = {"procedural": _procedural, "magenta-rt2": _magenta_rt2,
                                  "magenta-rt1": _magenta_rt1}
_OPTIONS: dict[str, dict[str, object]] = {}


def register(name: str, factory: Factory) -> None:
    _FACTORIES[name] = factory


def configure(name: str, **options: object) -> None:
    """Default options for engine ``name`` (e.g. ``model=`` from ``cadenza serve --model``),
    used by every later ``create_engine(name)``; explicit options win."""
    _OPTIONS[name] = {**_OPTIONS.get(name, {}), **options}


def engine_names() -> list[str]:
    return sorted(_FACTORIES)


def create_engine(name: str, **options: object) -> Engine:
    """Build the engine called ``name``. Raises NotFound for an unknown name and
    EngineUnavailable (with the fix in one line) when it cannot run here."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise NotFound(f"unknown engine {name!r}; available: {', '.join(engine_names())}")
    try:
        return factory(**{**_OPTIONS.get(name, {}), **options})
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} needs a package that is not installed "
                                f"({exc.name or exc})") from exc


__all__ = ["Engine", "EngineInfo", "EngineOutput", "EngineUnavailable", "Knobs", "Prompt",
           "StyleEmbedding", "configure", "create_engine", "engine_names", "register"]
