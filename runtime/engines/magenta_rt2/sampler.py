"""The official MRT2 sampler, configured for serving many sessions: one subclass of the
depth decoder, nothing copied.

``LeanDecoder`` replaces only the per-frame depth loop of the official
``MultivariateDecoder``: it reuses the official embedder, temporal stack and depth trunk
(``depth_body`` minus its last layer, by calling their own ``step``) and then

* computes the 1,024 valid logits of each RVQ level only (a slice of the official
  ``to_logits`` kernel and bias) instead of all 12,294 and masking;
* picks the top-k threshold with ``lax.top_k`` (a static ``top_k_max``; top-k knobs above
  it are clamped) instead of a full sort (``top_k_max=0``: sort the valid slice);
* samples with the row's own key (Gumbel-max; temperature 0 is an exact argmax).

The parameter tree, the state layout (``(rng, frame, temporal_state, step)`` per row) and
the RNG schedule (the key folded with the step after each level) are the official ones, so
an official checkpoint loads unchanged and a lean and an official sampler share one state.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import magenta_rt  # noqa: F401  (first: it activates the vendored sequence_layers)
import sequence_layers.jax as sl
from magenta_rt.jax import depthformer
from magenta_rt.jax import system as official

from .attention import RING_STEP


class LeanDecoder(depthformer.MultivariateDecoder):
    """The official decoder with a lean sampling head (see the module docstring)."""

    @dataclasses.dataclass(frozen=True)
    class Config(depthformer.MultivariateDecoder.Config):
        top_k_max: int = 256

        def make(self) -> LeanDecoder:
            return LeanDecoder(self, name=self.name)

    def step_with_emits(self, x, state, *, training, constants=None):
        del x
        rng, previous, temporal_state, step = state
        constants = {**(constants or {}), RING_STEP: step}  # the cross-attention's ring slot
        batch = previous.shape[0]
        cfg = self.config

        frame = self.embedder(previous, training=training).apply_values(jnp.mean, axis=-2)
        hidden, temporal_state = self.temporal_body.step(
            frame, temporal_state, training=training, constants=constants)

        trunk = self.depth_body.layers[:-1]
        head = self.depth_body.layers[-1]
        kernel = head.variables["params"]["kernel"]
        bias = head.variables["params"]["bias"]
        depth_state = self.depth_body.get_initial_state(
            batch_size=batch, input_spec=hidden.channel_spec, training=training)
        trunk_state = list(depth_state[: len(trunk)])

        temperature = jnp.asarray(constants["temperature"], jnp.float32).reshape(batch)
        top_k = jnp.asarray(constants["top_k"], jnp.int32).reshape(batch)
        kmax = min(max(cfg.top_k_max, 1), cfg.codebook_size)
        kth = jnp.clip(top_k, 1, kmax) - 1

        tokens = []
        h = hidden
        for level in range(cfg.num_codebooks):
            for i, layer in enumerate(trunk):
                h, trunk_state[i] = layer.step(h, trunk_state[i], training=training)
            lo = cfg.num_reserved_tokens + level * cfg.codebook_size
            hi = lo + cfg.codebook_size
            dtype = h.dtype
            logits = jnp.einsum("btd,dv->btv", h.values, kernel[:, lo:hi].astype(dtype))
            logits = logits + bias[lo:hi].astype(dtype)
            if cfg.soft_cap_logits is not None:
                logits = jnp.tanh(logits / cfg.soft_cap_logits) * cfg.soft_cap_logits
            logits = logits.astype(jnp.float32)[:, 0]  # [B, 1024]
            if cfg.top_k_max > 0:
                top = jax.lax.top_k(logits, kmax)[0]
                threshold = jnp.take_along_axis(top, kth[:, None], axis=-1)
            else:  # a full sort of the valid slice (kept to measure what top_k saves)
                ordered = jax.lax.sort(logits, dimension=-1)
                k = jnp.clip(top_k, 1, cfg.codebook_size)
                threshold = jnp.take_along_axis(ordered, (cfg.codebook_size - k)[:, None], axis=-1)
            logits = jnp.where(logits >= threshold, logits, -jnp.inf)
            noise = jax.vmap(lambda key: jax.random.gumbel(key, (cfg.codebook_size,)))(rng)
            noisy = jnp.where(temperature[:, None] > 0, logits + noise * temperature[:, None], logits)
            token = (jnp.argmax(noisy, axis=-1) + lo).astype(jnp.int32)[:, None]  # [B, 1]
            rng = jax.vmap(jax.random.fold_in)(rng, step)
            tokens.append(token)
            h = self.embedder(sl.Sequence.from_values(token), training=training)
        samples = sl.Sequence.from_values(jnp.stack(tokens, axis=-1))  # [B, 1, Q]
        return samples, (rng, samples, temporal_state, step + 1), None


def lean_depthformer(config: depthformer.EncoderDecoder.Config, top_k_max: int = 256):
    """The official depthformer config with its decoder swapped for ``LeanDecoder``."""
    fields = {f.name: getattr(config.decoder, f.name)
              for f in dataclasses.fields(depthformer.MultivariateDecoder.Config)}
    decoder = LeanDecoder.Config(**fields, top_k_max=top_k_max)
    return dataclasses.replace(config, decoder=decoder)


def build_sampler(depthformer_config, spectrostream_config, lean: bool = True,
                  top_k_max: int = 256) -> official.MagentaRT2Sampler:
    """The official ``MagentaRT2Sampler`` (LM → codes → SpectroStream → int16 PCM), with
    the lean decoder when ``lean``."""
    if lean:
        depthformer_config = lean_depthformer(depthformer_config, top_k_max)
    return official.MagentaRT2Sampler.Config(
        depthformer=depthformer_config, spectrostream=spectrostream_config).make()
