"""Attention caches as ring buffers written in place: our step for the official attention
layers, installed around a traced call with ``ring_attention()``.

The official step of ``LocalDotProductSelfAttention`` (the temporal and depth
self-attention) and ``StreamingLocalDotProductAttention`` (the temporal cross-attention)
shifts each layer's whole K/V cache every frame (concatenate the new frame, keep the last
P, and again with the sink values); with the cache read as f32 for the dot, that is most of
the temporal stack's bytes. Ours:

* reads the cache once, where it lies: logits and context are multiply-and-reduce over the
  ``[B, P, N, H]`` cache (a per-row matrix-vector product), accumulated in f32;
* attends over the cache, the new key and the sinks with the official dtypes (bf16 logits,
  softmax in f32, bf16 probabilities, one rounding of the context);
* writes the new K/V/mask into slot ``t mod P`` of each row (one select over the cache).

The cache's order does not matter because MRT2 uses no positional embedding (NoPE) and each
entry carries its own validity; the slot is the row's own count of frames (the self-
attention's ``time_step``; for the cross-attention, the sampler's per-row ``step``, passed as
the constant ``RING_STEP``), so rows that joined at different times, or sat out calls,
stay exact. The state layout is the official one (same leaves, shapes and dtypes), but the
entries of a row's cache are in ring order: a state is only continued by the same kind of
step. Layers this step cannot serve exactly (a future horizon, relative positions, RoPE,
grouped heads, several frames per step, training) take the official step.

Not bit-identical to the official step: the sums run in another order, so logits can differ
in the last bf16 place (measured and tested in test_attention.py). On the CPU's cost
accounting it saves nothing (the CPU copies bf16 caches to f32 for every read either way:
docs/benchmarks.md), so ``BatchProgram`` keeps it off until a GPU measures it.
"""

from __future__ import annotations

import contextlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import magenta_rt  # noqa: F401  (first: it activates the vendored sequence_layers)
import sequence_layers.jax as sl
from sequence_layers.jax import utils
from sequence_layers.jax.attention import common

RING_STEP = "cadenza.ring_step"  # constant: [B] int32, frames the row has stepped
_SELF = sl.LocalDotProductSelfAttention
_CROSS = sl.StreamingLocalDotProductAttention


def _servable(module, x, training: bool) -> bool:
    cfg = module.config
    return (not training and x.shape[1] == 1 and cfg.max_future_horizon == 0
            and cfg.max_past_horizon > 0 and module.relative_position_embedding is None
            and not getattr(cfg, "num_kv_heads", None)
            and not getattr(cfg, "attention_probabilities_distance_aware_dropout", False)
            and not cfg.use_sink_scalars
            and all(n is None or _position_free(n) for n in
                    (module.query_network, module.key_network, module.value_network)))


def _position_free(network) -> bool:
    # NoPE networks are names and identities; anything else (RoPE) depends on the order.
    layers = getattr(network, "layers", None)
    return layers is not None and all(isinstance(la, (sl.CheckpointName, sl.Identity))
                                      for la in layers)


def _networks(module, q, k, v, qs, ks, vs, constants):
    if module.query_network:
        q, qs = module.query_network.step(q, qs, training=False, constants=constants)
    if module.key_network:
        k, ks = module.key_network.step(k, ks, training=False, constants=constants)
    if module.value_network:
        v, vs = module.value_network.step(v, vs, training=False, constants=constants)
    return q, k, v.mask_invalid(), qs, ks, vs


def _attend(module, queries, cache_k, cache_v, cache_mask, new_k, new_v, new_mask):
    """Context ``[B, 1, N, H]`` and probabilities ``[B, 1, N, S + P + 1]`` (sinks, cache in
    ring order, the new frame) of one query frame, with the official dtypes: everything in
    the queries' dtype, the softmax in f32."""
    cfg = module.config
    dtype = queries.dtype
    f32 = jnp.float32
    q = common._scale_query(queries, module._per_dim_scale, cfg.query_scale)[:, 0]  # [B, N, H]

    def logits_of(keys):  # [B, T, N, H] -> [B, N, T]
        return jnp.sum(q[:, None].astype(f32) * keys.astype(f32), axis=-1).astype(
            dtype).transpose(0, 2, 1)

    cap = cfg.attention_logits_soft_cap
    parts = [logits_of(cache_k), logits_of(new_k)]
    if cap:
        parts = [common._soft_cap_attention_logits(p, cap) for p in parts]
    parts = [common._mask_attention_logits(p, m[:, None, :])
             for p, m in zip(parts, (cache_mask, new_mask), strict=True)]
    sinks = cfg.num_sink_embeddings
    if sinks:  # as the official: from the unscaled queries, in the sink keys' dtype
        sink = jnp.einsum("BNH,KNH->BNK", queries[:, 0], module._sink_key_embeddings)
        parts.insert(0, common._soft_cap_attention_logits(sink, cap) if cap else sink)
    logits = jnp.concatenate([p.astype(f32) for p in parts], axis=-1)  # [B, N, S+P+1]
    probs = jax.nn.softmax(logits, axis=-1).astype(dtype)
    if cfg.zero_fully_masked:
        seen = jnp.any(cache_mask, axis=-1) | jnp.any(new_mask, axis=-1)
        probs = jnp.where(seen[:, None, None], probs, jnp.zeros_like(probs))
    probs32 = probs.astype(f32)
    p_sink, p_cache, p_new = probs32[..., :sinks], probs32[..., sinks:-1], probs32[..., -1]
    context = jnp.sum(p_cache.transpose(0, 2, 1)[..., None] * cache_v.astype(f32), axis=1)
    context = context + p_new[..., None] * new_v[:, 0].astype(f32)  # [B, N, H]
    if sinks:
        values = module._sink_value_embeddings.astype(dtype).astype(f32)
        context = context + jnp.einsum("BNK,KNH->BNH", p_sink, values)
    return context.astype(dtype)[:, None], probs[:, None]


def _ring_write(caches, news, slot):
    """Each cache ``[B, P, ...]`` with row b's entry ``slot[b]`` set to its ``new[b, 0]``.

    A select, not a scatter: XLA's CPU backend scatters bf16 through f32 copies of the
    whole cache, and by XLA's accounting either form reads and writes the cache once."""
    hit = jnp.arange(caches[0].shape[1])[None, :] == slot[:, None]  # [B, P]
    return tuple(jnp.where(hit.reshape(hit.shape + (1,) * (c.ndim - 2)), n, c)
                 for c, n in zip(caches, news, strict=True))


def _self_step(module, x, state, constants):
    keys_cache, values_cache, mask_cache, time_step, qs, ks, vs, delay = state
    q, k, v = module.get_qkv(module.config.input_projection, x)
    q, k, v, qs, ks, vs = _networks(module, q, k, v, qs, ks, vs, constants)
    new_mask = utils.combine_mask(k.mask, v.mask)
    context, probs = _attend(module, q.values, keys_cache, values_cache, mask_cache,
                             k.values, v.values, new_mask)
    caches = _ring_write((keys_cache, values_cache, mask_cache), (k.values, v.values, new_mask),
                         time_step % keys_cache.shape[1])
    state = (*caches, time_step + 1, qs, ks, vs, delay)
    emits = common.SelfAttentionEmits(sl.Sequence(probs, q.mask))
    return sl.Sequence(context, q.mask), state, emits


def _cross_step(module, x, state, constants):
    keys_cache, values_cache, mask_cache, qs, ks, vs, delay, time_step = state
    source = common.get_source(module, module.config.source_name, constants)
    q = module.get_q(module.config.input_projection, x)
    k, v = module.get_kv(module.config.input_projection, source)
    q, k, v, qs, ks, vs = _networks(module, q, k, v, qs, ks, vs, constants)
    new_mask = utils.combine_mask(k.mask, v.mask)
    context, probs = _attend(module, q.values, keys_cache, values_cache, mask_cache,
                             k.values, v.values, new_mask)
    slot = jnp.asarray(constants[RING_STEP], jnp.int32) % keys_cache.shape[1]
    caches = _ring_write((keys_cache, values_cache, mask_cache), (k.values, v.values, new_mask),
                         slot)
    state = (*caches, qs, ks, vs, delay, time_step)
    emits = common.CrossAttentionEmits({module.config.source_name: sl.Sequence(probs, q.mask)})
    return sl.Sequence(context, q.mask), state, emits


def _interceptor(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name != "step_with_emits" or not isinstance(module, (_SELF, _CROSS)):
        return next_fun(*args, **kwargs)
    x, state = args[0], args[1]
    training = kwargs.get("training", False)
    constants = kwargs.get("constants") or {}
    if not _servable(module, x, training):
        return next_fun(*args, **kwargs)
    if isinstance(module, _CROSS):
        if RING_STEP not in constants:
            return next_fun(*args, **kwargs)
        return _cross_step(module, x, state, constants)
    return _self_step(module, x, state, constants)


@contextlib.contextmanager
def ring_attention():
    """Within this context, traced attention steps use the ring-buffer step (see the module
    docstring). Only for tracing the compiled step: it never changes parameters."""
    with nn.intercept_methods(_interceptor):
        yield
