"""`magenta-rt2`: Magenta RealTime 2 through the official `magenta-rt` package (JAX).

Importing this package is cheap (no JAX); ``create`` builds the engine and turns a
missing package into one EngineUnavailable line. See docs/magenta.md.
"""

from __future__ import annotations

from ...errors import EngineUnavailable

INSTALL_HINT = "pip install -e '.[magenta]' (installs magenta-rt[jax])"


def create(**options: object):
    try:
        import jax  # noqa: F401
        import magenta_rt.jax.system  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailable(f"engine 'magenta-rt2' needs the Magenta RT package, which is not "
                                f"installed ({exc.name or exc}); run: {INSTALL_HINT}") from exc
    from .engine import MagentaRT2Engine

    return MagentaRT2Engine(**options)  # type: ignore[arg-type]
