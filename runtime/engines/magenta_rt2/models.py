"""MRT2 weights: download from Hugging Face, find them on disk, list what is present.

Files come from the Hugging Face repo ``google/magenta-realtime-2`` through
``huggingface_hub`` (its cache, resumable downloads, progress bars, a token for gated
access): ``checkpoints/<model>.safetensors`` plus the shared resources
``resources/musiccoca/*`` (MusicCoCa TFLite files, ``spm.model``) and
``resources/spectrostream/*``. A layout made by the official ``mrt`` CLI under
``$MAGENTA_HOME/magenta-rt-v2`` is found too. Nothing here imports JAX.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import EngineUnavailable

REPO = "google/magenta-realtime-2"
MODELS = {
    "mrt2_small": "Magenta RealTime 2 small (≈ 280 M parameters with the codec)",
    "mrt2_base": "Magenta RealTime 2 base (≈ 2.5 B parameters with the codec)",
}
RESOURCES = ("resources/musiccoca/*", "resources/spectrostream/*")


class MissingWeights(EngineUnavailable):
    """The model's files are not on this machine; the message is the one-line fix."""


@dataclass(frozen=True)
class ModelFiles:
    name: str
    checkpoint: Path
    musiccoca: Path | None  # folder of the MusicCoCa resources (None: not downloaded)


def _patterns(name: str) -> list[str]:
    return [f"checkpoints/{name}.safetensors", *RESOURCES]


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def download(name: str, token: str | None = None, cache_dir: str | Path | None = None) -> ModelFiles:
    """Fetch ``name`` and the shared resources into the Hugging Face cache (or
    ``cache_dir``). Resumes partial files; shows progress bars; ``token`` for gated access
    (else ``$HF_TOKEN`` / ``hf auth login``)."""
    _check_name(name)
    from huggingface_hub import snapshot_download

    root = snapshot_download(REPO, allow_patterns=_patterns(name), token=token,
                             cache_dir=str(cache_dir) if cache_dir else None)
    return _files_in(Path(root), name)


def _files_in(root: Path, name: str) -> ModelFiles:
    musiccoca = root / "resources" / "musiccoca"
    return ModelFiles(name, root / "checkpoints" / f"{name}.safetensors",
                      musiccoca if musiccoca.is_dir() else None)


def _magenta_home() -> Path:
    base = Path(os.environ.get("MAGENTA_HOME", Path.home() / "Documents" / "Magenta"))
    return base / "magenta-rt-v2"


def find(name: str, cache_dir: str | Path | None = None) -> ModelFiles | None:
    """The files of ``name`` on this machine, or None. Never touches the network."""
    _check_name(name)
    try:
        from huggingface_hub import snapshot_download

        root = snapshot_download(REPO, allow_patterns=_patterns(name), local_files_only=True,
                                 cache_dir=str(cache_dir) if cache_dir else None)
        files = _files_in(Path(root), name)
        if files.checkpoint.is_file():
            return files
    except Exception:  # not in the cache (or no huggingface_hub): try the official layout
        pass
    home = _magenta_home()
    checkpoint = home / "checkpoints" / f"{name}.safetensors"
    if checkpoint.is_file():
        musiccoca = home / "resources" / "musiccoca"
        return ModelFiles(name, checkpoint, musiccoca if musiccoca.is_dir() else None)
    return None


def locate(name: str, cache_dir: str | Path | None = None) -> ModelFiles:
    """Like ``find`` but raises ``MissingWeights`` with the command that fixes it."""
    files = find(name, cache_dir)
    if files is None:
        raise MissingWeights(f"weights for {name} are not downloaded; run: cadenza models download {name}")
    return files


def listing(cache_dir: str | Path | None = None) -> list[tuple[str, str, str]]:
    """(model, status, where) for every known model."""
    rows = []
    for name, description in MODELS.items():
        files = find(name, cache_dir)
        if files is None:
            rows.append((name, "not downloaded", description))
            continue
        size = files.checkpoint.stat().st_size / 1e9
        style = "MusicCoCa ok" if files.musiccoca else "MusicCoCa missing"
        rows.append((name, f"present, {size:.2f} GB, {style}", str(files.checkpoint)))
    return rows
