"""MRT2 checkpoints in the official layout (one safetensors file; keys are the Flax
variable paths joined by ``/``, e.g. ``params/depthformer/decoder/...``), loaded with the
LM weights pre-cast once, and random checkpoints of any architecture for tests.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .arch import Arch

CODEC_SCOPE = "soundstream"  # the official sampler's name for its SpectroStream
PRECAST = ("kernel",)  # LM leaves pre-cast: dense/attention matrices (see ``load``)


def load(path: str | Path, lm_dtype=jnp.bfloat16, codec_dtype=jnp.float32) -> dict:
    """Load a checkpoint as the nested variable dict ``sampler.apply`` takes.

    LM kernels (every dense and attention matrix) are cast to ``lm_dtype`` here, once: the
    official layers cast them to bf16 on every call anyway, so this halves the weight
    bytes read per step and leaves every token bit-identical (tested). Embedding tables
    stay float32: the official embedder scales and averages embeddings before rounding, so
    pre-casting them changes tokens (measured: 9 % of greedy tokens within 10 frames); a
    step gathers only a few of their rows anyway. Vectors (norm scales, biases) stay
    float32. Codec parameters are cast to ``codec_dtype``.
    """
    from safetensors.numpy import load_file

    flat = load_file(str(path))
    tree: dict = {}
    for key, value in flat.items():
        parts = key.split("/")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return jax.device_put(cast(tree, lm_dtype, codec_dtype))


def cast(tree: dict, lm_dtype=jnp.bfloat16, codec_dtype=jnp.float32, path: tuple = ()) -> dict:
    """The dtype policy of ``load`` applied to a nested tree of arrays or of
    ``jax.ShapeDtypeStruct`` (abstract parameters, for lowering without allocating)."""
    out = {}
    for key, value in tree.items():
        where = (*path, key)
        if isinstance(value, dict):
            out[key] = cast(value, lm_dtype, codec_dtype, where)
            continue
        dtype = value.dtype
        if dtype == np.float32:
            if len(where) > 1 and where[1] == CODEC_SCOPE:
                dtype = codec_dtype
            elif lm_dtype is not None and len(value.shape) >= 2 and key in PRECAST:
                dtype = lm_dtype
        if isinstance(value, jax.ShapeDtypeStruct):
            out[key] = jax.ShapeDtypeStruct(value.shape, dtype)
        else:
            out[key] = value if dtype == value.dtype else value.astype(dtype)
    return out


def save(params: dict, path: str | Path) -> Path:
    from safetensors.numpy import save_file

    flat: dict[str, np.ndarray] = {}

    def walk(node, prefix):
        for key, value in node.items():
            name = f"{prefix}/{key}" if prefix else key
            if isinstance(value, dict):
                walk(value, name)
            else:
                flat[name] = np.asarray(value)

    walk(params, "")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(flat, str(tmp))
    tmp.replace(path)
    return path


def random_params(arch: Arch, seed: int = 0) -> dict:
    """Random parameters of ``arch`` from the official classes' own initialisers.

    The official initialiser zeroes ``mulan_dequantizer`` (the style-token embedding), which
    would make style tokens inert; it is re-randomised so style conditioning matters.
    """
    import flax

    init = initializer(arch)
    rngs = {"params": jax.random.PRNGKey(seed), "random": jax.random.PRNGKey(seed + 1)}
    variables = jax.device_get(jax.jit(init)(rngs))
    variables = jax.tree.map(np.asarray, flax.core.unfreeze(variables))

    def rerandomise(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                rerandomise(value, (*path, key))
            elif "mulan_dequantizer" in path and key == "embedding":
                rng = np.random.default_rng(seed + 7)
                node[key] = (rng.standard_normal(value.shape) * 0.02).astype(value.dtype)

    rerandomise(variables, ())
    return variables


def initializer(arch: Arch):
    """``rngs -> variables`` of the official sampler of ``arch`` (``jax.eval_shape`` it for
    the shapes of a model too big to allocate)."""
    import flax
    import sequence_layers.jax as sl

    from .sampler import build_sampler

    sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(), lean=False)
    spec = jax.ShapeDtypeStruct([arch.num_inputs], jnp.int32)

    def init(rngs):
        state, _ = sampler.init_with_output(rngs, 1, spec, constants={}, training=False,
                                            method=sampler.get_initial_state)
        x = sl.Sequence.from_values(jnp.zeros((1, 1, arch.num_inputs), jnp.int32))
        constants = {"temperature": jnp.ones([1]), "top_k": jnp.ones([1], jnp.int32)}
        _, variables = sampler.init_with_output(rngs, x, state, constants=constants,
                                                training=False, method=sampler.step_with_emits)
        return flax.core.meta.unbox(variables)

    return init


def make_random_checkpoint(arch: Arch, path: str | Path, seed: int = 0) -> Path:
    """Write a random checkpoint of ``arch`` at ``path`` in the layout ``load`` reads."""
    return save(random_params(arch, seed), path)
