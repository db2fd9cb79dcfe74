"""Shared fixtures: tiny real objects (engines, scenes), no mocks of our own code."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza import scenes
from cadenza.runtime.engines.procedural import ProceduralEngine

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def engine() -> ProceduralEngine:
    """One procedural engine for the whole run (its note cache makes later tests fast)."""
    return ProceduralEngine()


@pytest.fixture(scope="session")
def scenes_dir() -> Path:
    return scenes.DIRECTORY


@pytest.fixture(scope="session")
def timelines_dir() -> Path:
    return SAMPLES / "timelines"
