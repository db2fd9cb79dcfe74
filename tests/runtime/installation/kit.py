"""Shared by the installation and sources tests: a small scene with fast glides and a
config writer (real files, real ports; nothing mocked)."""

from __future__ import annotations

from pathlib import Path

ROOM = """\
scene: room
inputs:
  visitors: {type: number, min: 0, max: 100, default: 0}
  light:    {type: number, min: 0, max: 1, default: 0.5}
  motion:   {type: bool, default: false}
prompts:
  quiet: "calm ambient pads, soft piano"
  crowd: "energetic drums, bass, synth"
mix:
  quiet: "1 - visitors / 100"
  crowd: "visitors / 100"
transitions:
  default: {glide: 0.05s}
stingers:
  chime: {phrase: "rising bell", play_at: beat, cooldown: 0.5s}
"""


def write_installation(tmp_path: Path, body: str, scene: str = ROOM) -> Path:
    """Write room.yaml and installation.yaml (``body`` is appended after the header)."""
    (tmp_path / "room.yaml").write_text(scene, encoding="utf-8")
    config = tmp_path / "installation.yaml"
    config.write_text("installation: test-room\nscene: room.yaml\nseed: 3\n"
                      "status_every: 1h\n" + body, encoding="utf-8")
    return config


def near(weights: dict, prompt: str, value: float, tolerance: float = 0.03) -> bool:
    return abs(weights.get(prompt, 0.0) - value) <= tolerance
