"""`magenta-rt1`: the original Magenta RealTime (800 M encoder-decoder, 2 s chunks, 10 s
context) through its own package, which is not on PyPI: users install it themselves from
the magenta-realtime repository, branch ``v1_legacy`` (see docs/magenta.md).
"""

from __future__ import annotations

from ...errors import EngineUnavailable

INSTALL_HINT = ("install the original Magenta RT package yourself from the magenta-realtime "
                "repository, branch v1_legacy (see docs/magenta.md)")


def load_system_class():
    """The v1 ``MagentaRT`` class, or EngineUnavailable saying how to get it.

    The v1 package and the MRT2 package share the import name ``magenta_rt``; only v1 has
    ``magenta_rt.system.MagentaRT``.
    """
    try:
        from magenta_rt import system
    except ImportError as exc:
        raise EngineUnavailable("engine 'magenta-rt1' needs the original Magenta RT package "
                                f"(magenta_rt.system is missing); {INSTALL_HINT}") from exc
    cls = getattr(system, "MagentaRT", None)
    if cls is None:
        raise EngineUnavailable("engine 'magenta-rt1': the installed magenta_rt is not the v1 "
                                f"package (no magenta_rt.system.MagentaRT); {INSTALL_HINT}")
    return cls


def create(**options: object):
    from .engine import MagentaRT1Engine

    return MagentaRT1Engine(**options)  # type: ignore[arg-type]
