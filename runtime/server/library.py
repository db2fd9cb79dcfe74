"""The served scenes folder: scene name -> compiled scene (recompiled when the file changes).

A name comes from clients: anything that is not a plain file name of at most
``MAX_NAME_CHARS`` characters is simply not found (never an OS error such as
ENAMETOOLONG). Safe to call from worker threads (the cache is a dict of immutable pairs).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import NotFound, SceneError
from ..scene import Scene, load_scene
from ..scene.limits import DEFAULT_LIMITS, SceneLimits

MAX_NAME_CHARS = 200


class SceneLibrary:
    def __init__(self, directory: Path, limits: SceneLimits = DEFAULT_LIMITS) -> None:
        self.directory = Path(directory)
        self.limits = limits
        self._cache: dict[str, tuple[float, Scene]] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def path_of(self, name: str) -> Path:
        """The file of scene ``name``. Raises NotFound."""
        if (not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS
                or "/" in name or "\\" in name or name.startswith(".")
                or not name.isprintable()):
            raise NotFound(f"no scene {_shown(name)}")
        path = self.directory / f"{name}.yaml"
        try:
            found = path.is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            raise NotFound(f"no scene {_shown(name)} in {self.directory} (available: "
                           f"{', '.join(self.names()) or 'none'})")
        return path

    def get(self, name: str) -> Scene:
        """The compiled scene ``name``. Raises NotFound, or SceneError if it is broken."""
        path = self.path_of(name)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            raise NotFound(f"no scene {_shown(name)}") from None
        cached = self._cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
        scene = load_scene(path, limits=self.limits)
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


def _shown(name: object, limit: int = 60) -> str:
    text = repr(name)
    return text if len(text) <= limit else text[:limit - 3] + "..."
