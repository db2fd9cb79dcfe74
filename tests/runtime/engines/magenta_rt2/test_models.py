"""Weights on disk, the `cadenza models` command and the one-line failures (no JAX, no
network: the Hugging Face cache is an empty folder and offline)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cadenza.runtime.cli import main
from cadenza.runtime.engines import create_engine
from cadenza.runtime.engines.magenta_rt2 import models
from cadenza.runtime.errors import EngineUnavailable


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGENTA_HOME", str(tmp_path / "magenta"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def test_missing_weights_is_one_line_with_the_fix():
    pytest.importorskip("magenta_rt.jax.system")
    with pytest.raises(models.MissingWeights) as info:
        create_engine("magenta-rt2", model="mrt2_small")
    assert str(info.value) == ("weights for mrt2_small are not downloaded; run: cadenza models "
                               "download mrt2_small")


def test_serve_with_missing_weights_prints_the_fix(capsys):
    pytest.importorskip("magenta_rt.jax.system")
    code = main(["serve", "--engine", "magenta-rt2", "--model", "mrt2_base", "--grpc-port", "0",
                 "--ws-port", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == "cadenza: weights for mrt2_base are not downloaded; run: cadenza models download mrt2_base"


def test_missing_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "magenta_rt", None)
    monkeypatch.setitem(sys.modules, "magenta_rt.jax.system", None)
    with pytest.raises(EngineUnavailable) as info:
        create_engine("magenta-rt2")
    assert "pip install -e '.[magenta]'" in str(info.value) and "\n" not in str(info.value)


def test_models_list_and_the_official_layout(empty_caches, capsys):
    assert main(["models", "list"]) == 0
    assert "mrt2_small  not downloaded" in capsys.readouterr().out
    home = empty_caches / "magenta" / "magenta-rt-v2"
    (home / "checkpoints").mkdir(parents=True)
    (home / "checkpoints" / "mrt2_small.safetensors").write_bytes(b"0" * 1000)
    (home / "resources" / "musiccoca").mkdir(parents=True)
    files = models.locate("mrt2_small")
    assert files.musiccoca == home / "resources" / "musiccoca"
    assert main(["models", "list"]) == 0
    assert "present" in capsys.readouterr().out


def test_models_download_asks_huggingface_hub(monkeypatch, tmp_path):
    import huggingface_hub

    seen = {}

    def fake_snapshot_download(repo_id, **kwargs):
        seen.update(kwargs, repo_id=repo_id)
        root = tmp_path / "snapshot"
        (root / "checkpoints").mkdir(parents=True, exist_ok=True)
        (root / "checkpoints" / "mrt2_small.safetensors").write_bytes(b"0")
        return str(root)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert main(["models", "download", "mrt2_small", "--token", "hf_x"]) == 0
    assert seen["repo_id"] == "google/magenta-realtime-2" and seen["token"] == "hf_x"
    assert "checkpoints/mrt2_small.safetensors" in seen["allow_patterns"]
    assert "resources/musiccoca/*" in seen["allow_patterns"]


def test_the_base_cli_does_not_import_jax():
    code = ("import sys; from cadenza.runtime.cli import build_parser; build_parser(); "
            "sys.exit(1 if 'jax' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
