"""The installation's scene: reloaded when its file changes, the last good one kept.

`SceneFile.check()` is called about once a second (a stat: cheap, and it works on every
filesystem, network mounts and SD cards included, with no extra dependency). A changed
file is recompiled; a compile error is returned once (not every second) and the old
scene keeps playing until the file is fixed.

`InstallationScenes` stands in for the runtime's scene library so that the runtime
(session restarts, `replace_scene`, monitoring clients asking for the scene by name)
always gets the last *good* compile of the installation's scene, never a broken file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SceneError
from ..scene import Scene, load_scene


class SceneFile:
    def __init__(self, path: Path, scene: Scene) -> None:
        self.path = Path(path)
        self.scene = scene
        self._stamp = self._stat()
        self._text = scene.source

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def check(self) -> Scene | SceneError | None:
        """None: unchanged. A Scene: the file changed and compiles (now current). A
        SceneError: it changed and does not compile (the current scene stays)."""
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # mid-save or briefly missing: the next check sees the result
        if text == self._text:
            return None
        self._text = text
        try:
            scene = load_scene(self.path)
        except SceneError as exc:
            return exc
        self.scene = scene
        return scene


class InstallationScenes:
    """A scene library serving ``name`` from memory (the last good compile), and any
    other name from the wrapped library."""

    def __init__(self, inner, name: str, scene: Scene) -> None:
        self.inner = inner
        self.name = name
        self.scene = scene
        self.directory = inner.directory

    def names(self) -> list[str]:
        return sorted({*self.inner.names(), self.name})

    def get(self, name: str) -> Scene:
        if name == self.name:
            return self.scene
        return self.inner.get(name)

    def check_all(self) -> list[SceneError]:
        return [e for e in self.inner.check_all()
                if not any(i.file.endswith(f"{self.name}.yaml") for i in e.issues)]
