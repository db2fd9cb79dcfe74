"""Engine state snapshots as bytes: a versioned header, then a pickle that only ever
rebuilds classes from an allow-list of modules (the engine's own, numpy's), so bytes read
back from a shared store cannot run arbitrary code on restore."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable

MAGIC = b"CDZS1"

_NUMPY = ("numpy", "numpy._core.numeric", "numpy.core.numeric", "numpy.core.multiarray",
          "numpy._core.multiarray", "numpy.random",
          "numpy.random._pickle", "numpy.random.bit_generator", "numpy.random._pcg64",
          "numpy.random._generator", "numpy.dtypes", "collections", "builtins")
_BUILTINS = frozenset({"tuple", "list", "dict", "set", "frozenset", "complex", "bytearray",
                       "slice", "range", "int", "float", "bool", "str", "bytes"})


class _Restricted(pickle.Unpickler):
    def __init__(self, data: bytes, modules: tuple[str, ...]) -> None:
        super().__init__(io.BytesIO(data))
        self.modules = modules

    def find_class(self, module: str, name: str):
        if module == "builtins":
            if name in _BUILTINS:
                return super().find_class(module, name)
        elif module in _NUMPY or any(module == m or module.startswith(m + ".")
                                     for m in self.modules):
            return super().find_class(module, name)
        raise ValueError(f"a snapshot may not contain {module}.{name}")


def dump(engine: str, state: object) -> bytes:
    """``state`` as snapshot bytes tagged with the engine's name."""
    tag = engine.encode()
    return MAGIC + bytes([len(tag)]) + tag + pickle.dumps(state, protocol=5)


def load(engine: str, data: bytes, modules: Iterable[str]) -> object:
    """The state in ``data``; ValueError when it is not a snapshot of ``engine`` or holds
    a class outside ``modules`` (and numpy)."""
    tag = engine.encode()
    head = MAGIC + bytes([len(tag)]) + tag
    if not isinstance(data, (bytes, bytearray, memoryview)) or bytes(data[:len(head)]) != head:
        raise ValueError(f"not a {engine} snapshot")
    try:
        return _Restricted(bytes(data[len(head):]), tuple(modules)).load()
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"corrupt {engine} snapshot: {type(exc).__name__}") from None
