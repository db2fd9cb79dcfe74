"""The example scenes shipped with Cadenza (YAML files beside this module).

Copy one to start your own: ``cadenza scene check my_scene.yaml`` validates it.
"""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent


def path_of(name: str) -> Path:
    """The file of the example scene ``name`` (without .yaml)."""
    return DIRECTORY / f"{name}.yaml"


def names() -> list[str]:
    return sorted(p.stem for p in DIRECTORY.glob("*.yaml"))
