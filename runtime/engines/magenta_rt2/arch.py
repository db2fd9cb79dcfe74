"""Which MRT2 network to build: the official model classes, and a tiny configuration of
the same classes for tests and CPU demos.

``mrt2_small`` and ``mrt2_base`` are the official ``MagentaRT2ModelSmall`` /
``MagentaRT2ModelBase`` with the official 40 ms 48 kHz stereo SpectroStream. ``tiny``
subclasses the small model with every LM part one layer deep and 64 wide, and narrows the
SpectroStream convolutions (same strides, same 1,920 samples × 2 channels per frame), so
the whole real code path runs on a CPU in seconds with random weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax.numpy as jnp
from magenta_rt.config import ModelSpec
from magenta_rt.jax import model as official_models
from magenta_rt.jax import spectrostream

FRAME_RATE = 25  # frames per second (40 ms)
SAMPLES_PER_FRAME = 1920  # at 48 kHz
SAMPLE_RATE = 48_000
CHANNELS = 2

_TINY_TEMPORAL = ModelSpec(num_layers=1, model_dims=64, hidden_dims=128, num_heads=2,
                           dim_per_head=32, ffn_use_gated_activation=False)
_TINY_DEPTH = dataclasses.replace(_TINY_TEMPORAL, model_dims=48, dim_per_head=24)


class TinyModel(official_models.MagentaRT2ModelSmall):
    """The small model's classes at test size (≈ 11 M LM parameters, mostly embeddings)."""

    encoder_size = _TINY_TEMPORAL
    decoder_temporal_size = _TINY_TEMPORAL
    decoder_depth_size = _TINY_DEPTH
    encoder_max_past_horizon = 8
    decoder_temporal_self_attention_max_past_horizon = 8
    decoder_temporal_cross_attention_max_past_horizon = 8


@dataclass(frozen=True)
class Arch:
    name: str
    model: official_models.MagentaRT2ModelBase
    codec_width: int | None = None  # None: the official SpectroStream widths

    def depthformer_config(self):
        return self.model.depthformer_config()

    def spectrostream_config(self, compute_dtype=jnp.float32):
        config = spectrostream.stft_spectrostream_40ms_generic_48khz_stereo_config(
            rvq_truncation_level=self.model.spectrostream.rvq_truncation_level,
            use_unique_codes=False, compute_dtype=compute_dtype)
        if self.codec_width is not None:
            config = dataclasses.replace(config, decoder_base_conv_depth=self.codec_width,
                                         encoder_base_conv_depth=self.codec_width)
        return config

    @property
    def input_configs(self):
        return self.model.input_configs

    @property
    def num_inputs(self) -> int:
        return self.model.input_num_channels

    @property
    def codebooks(self) -> int:
        return self.model.spectrostream.rvq_truncation_level


def get_arch(name: str) -> Arch:
    if name == "tiny":
        return Arch("tiny", TinyModel(), codec_width=4)
    if name in official_models.MODEL_REGISTRY:
        return Arch(name, official_models.get_model_class(name)())
    raise ValueError(f"unknown MRT2 model {name!r}; known: mrt2_small, mrt2_base, tiny")
