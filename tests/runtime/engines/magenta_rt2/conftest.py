"""Random weights of the real MRT2 architecture (the official classes at test size),
built once per run; engines on them share compiled programs per module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import make_random_checkpoint

    return make_random_checkpoint(get_arch("tiny"), tmp_path_factory.mktemp("mrt2") / "tiny.safetensors")


@pytest.fixture(scope="session")
def make_engine(tiny_checkpoint):
    from cadenza.runtime.engines.magenta_rt2.engine import MagentaRT2Engine
    from cadenza.runtime.engines.magenta_rt2.style import LocalMusicCoCa

    def make(**options):
        options.setdefault("buckets", (8,))
        return MagentaRT2Engine(model="tiny", checkpoint=tiny_checkpoint,
                                style_model=LocalMusicCoCa(), **options)

    return make


@pytest.fixture(scope="session")
def engine8(make_engine):
    """The default configuration (lean head, bf16 LM weights, fp32 codec) at bucket 8."""
    return make_engine()
