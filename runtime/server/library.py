"""The served scenes folder: scene name -> compiled scene (recompiled when the file changes)."""

from __future__ import annotations

from pathlib import Path

from ..errors import NotFound, SceneError
from ..scene import Scene, load_scene


class SceneLibrary:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, tuple[float, Scene]] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def get(self, name: str) -> Scene:
        """The compiled scene ``name``. Raises NotFound, or SceneError if it is broken."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise NotFound(f"no scene {name!r}")
        path = self.directory / f"{name}.yaml"
        if not path.is_file():
            raise NotFound(f"no scene {name!r} in {self.directory} (available: "
                           f"{', '.join(self.names()) or 'none'})")
        mtime = path.stat().st_mtime
        cached = self._cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
        scene = load_scene(path)
        self._cache[name] = (mtime, scene)
        return scene

    def check_all(self) -> list[SceneError]:
        errors = []
        for name in self.names():
            try:
                self.get(name)
            except SceneError as exc:
                errors.append(exc)
        return errors
