"""The compiled batched programs of one loaded model: per batch-size bucket, a K-frame
scan of the sampler step, a row writer and a resizer, each compiled once (ahead of time,
so compilations are counted and ``cost_analysis`` is at hand).

All per-session data lives on the device in *slots* (rows of the batch):

* ``state``  — the official sampler state, batch-major (attention caches, codec state,
  the row's RNG key ``state[0][2][0]`` and step counter);
* ``cond``   — ``[B, 144]`` raw conditioning tokens (12 style, 128 notes, 1 drums,
  3 CFG-scale tokens; ``-1`` = masked);
* ``temperature`` ``[B]`` and ``top_k`` ``[B]``.

``write`` changes only the rows named (new sessions: their whole row, and their state
reset to the initial state with the session's own key); ``step`` advances the rows whose
``active`` flag is set and leaves the others bit-for-bit unchanged. Rows never read each
other, so within one bucket a session's tokens and audio do not depend on its slot or its
neighbours.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import magenta_rt  # noqa: F401  (first: it activates the vendored sequence_layers)
import numpy as np
import sequence_layers.jax as sl
from magenta_rt.config import NUM_RESERVED_TOKENS

from .arch import Arch
from .attention import ring_attention

COND_OFFSET = NUM_RESERVED_TOKENS + 1  # reserved tokens + the dropout token


@dataclass
class SlotArrays:
    """The device-resident batch of one bucket size."""

    size: int
    state: Any
    cond: jax.Array
    temperature: jax.Array
    top_k: jax.Array


@dataclass
class Compiled:
    step: Any
    write: Any
    seconds: float


@dataclass
class ProgramStats:
    compiles: int = 0  # executables built (step, write and resize programs)
    compile_seconds: float = 0.0
    buckets: list[int] = field(default_factory=list)


def _rows(mask: jax.Array, leaf: jax.Array) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (leaf.ndim - 1))


def _set_keys(state, keys):
    """The state with its per-row RNG keys (``state[0][2][0]``) replaced."""
    head = state[0]
    sampler_state = head[2]
    sampler_state = (keys, *tuple(sampler_state)[1:])
    head = (*tuple(head)[:2], sampler_state, *tuple(head)[3:])
    return (head, *tuple(state)[1:])


def keys_of(state) -> jax.Array:
    return state[0][2][0]


def tokens_of(state) -> jax.Array:
    """The RVQ tokens (unique-code form) sampled for each row's last frame: ``[B, Q]``."""
    return state[0][1].values[:, 0]


class BatchProgram:
    """Builds and caches the programs of one sampler + parameters, per bucket.

    ``frames`` is K, the frames each ``step`` call generates (a ``lax.scan``). Thread
    safety: the engine calls everything from its one generation thread.

    Two levers change how a call is computed, not what it computes (measured in
    ``benchmarks/mrt2.py``, tested in tests/runtime/engines/magenta_rt2/test_program.py):

    * ``select_once``: inactive rows are restored from the call's input state once, after
      the K frames, instead of after every frame (tokens and audio of active rows
      bit-identical; an inactive row's output of that call is garbage, as before);
    * ``codec_block``: the LM is scanned frame by frame and the codec (codes →
      SpectroStream → int16) decodes the K frames' tokens in one call (tokens
      bit-identical; int16 audio within ±1 LSB of frame-by-frame decoding);
    * ``ring_cache`` (off by default): the attention caches as ring buffers written in
      place (``attention.py``); each layer matches the official step to its dtype's last
      place, so tokens drift apart after a near-tie. On the CPU's accounting it saves
      nothing (docs/benchmarks.md), so it waits for a GPU measurement to earn the default.
    """

    def __init__(self, arch: Arch, sampler, params, frames: int, donate: bool = True,
                 select_once: bool = True, codec_block: bool = True,
                 ring_cache: bool = False) -> None:
        self.arch = arch
        self.sampler = sampler
        self.params = params
        self.frames = frames
        self.donate = donate
        self.select_once = select_once
        self.codec_block = codec_block
        self.ring_cache = ring_cache
        self.channels = arch.num_inputs
        self.stats = ProgramStats()
        self._compiled: dict[int, Compiled] = {}
        self._resizers: dict[tuple[int, int], Any] = {}
        self._row_reader: Any = None
        self._row_writer: Any = None
        self._lock = threading.Lock()
        spec = jax.ShapeDtypeStruct([self.channels], jnp.int32)
        def init(p):
            return sampler.apply(p, 1, spec, constants={}, training=False,
                                 method=sampler.get_initial_state,
                                 rngs={"random": jax.random.PRNGKey(0)})

        if any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(params)):
            self.init1 = jax.eval_shape(init, params)  # abstract: for lowering/cost analysis
        else:
            self.init1 = jax.jit(init)(params)  # one row of initial state, for reset rows
        self._spec = spec

    # ------------------------------------------------------------------ the programs
    def _step_fn(self, params, state, cond, temperature, top_k, active):
        # Traced inside the context: the compiled step writes its caches in place.
        with ring_attention() if self.ring_cache else contextlib.nullcontext():
            return self._step_body(params, state, cond, temperature, top_k, active)

    def _step_body(self, params, state, cond, temperature, top_k, active):
        sampler = self.sampler
        notes = slice(self.arch.input_configs[0].rvq_truncation_level,
                      self.arch.input_configs[0].rvq_truncation_level
                      + self.arch.input_configs[1].rvq_truncation_level)
        held = cond.at[:, notes].set(jnp.where(cond[:, notes] == 2, 1, cond[:, notes]))
        constants = {"temperature": temperature, "top_k": top_k}

        def keep(new, old):  # inactive rows keep their state bit for bit
            return jax.tree.map(lambda n, o: jnp.where(_rows(active, n), n, o), new, old)

        def frame_input(index):
            # An onset (2) sounds on the block's first frame; the note is held after.
            raw = jnp.where(index == 0, cond, held)
            return sl.Sequence.from_values((raw + COND_OFFSET)[:, None, :])

        batch = cond.shape[0]
        if self.codec_block:
            # The LM frame by frame, then the codec once over the K frames' tokens.
            def lm(carry, index):
                out, new, _ = sampler.apply(params, frame_input(index), carry, constants=constants,
                                            training=False, method=_lm_step)
                if not self.select_once:
                    new = keep(new, carry)
                return new, out.values[:, 0]

            lm_state, tokens = jax.lax.scan(lm, state[0], jnp.arange(self.frames))
            tokens = jnp.moveaxis(tokens, 0, 1)  # [B, K, Q]
            out, codec_state = sampler.apply(params, sl.Sequence.from_values(tokens), state[1:],
                                             training=False, method=_codec_step)
            new = (lm_state, *codec_state)
            pcm = out.values.reshape(batch, -1, out.values.shape[-1])  # [B, K*1920, 2]
            return pcm, tokens, keep(new, state)

        def body(carry, index):
            out, new, _ = sampler.apply(params, frame_input(index), carry, constants=constants,
                                        training=False, method=sampler.step_with_emits)
            if not self.select_once:
                new = keep(new, carry)
            return new, (out.values, tokens_of(new))

        new, (pcm, tokens) = jax.lax.scan(body, state, jnp.arange(self.frames))
        pcm = jnp.moveaxis(pcm, 0, 1).reshape(batch, -1, pcm.shape[-1])  # [B, K*1920, 2]
        return pcm, jnp.moveaxis(tokens, 0, 1), keep(new, state) if self.select_once else new

    def _write_fn(self, state, cond, temperature, top_k, index, rows_cond, rows_temperature,
                  rows_top_k, reset, keys):
        size = cond.shape[0]
        cond = cond.at[index].set(rows_cond, mode="drop")
        temperature = temperature.at[index].set(rows_temperature, mode="drop")
        top_k = top_k.at[index].set(rows_top_k, mode="drop")
        mask = jnp.zeros([size], bool).at[index].set(reset, mode="drop")
        row_keys = keys_of(state).at[index].set(keys, mode="drop")
        state = jax.tree.map(lambda s, i: jnp.where(_rows(mask, s), i.astype(s.dtype), s),
                             state, self.init1)
        state = _set_keys(state, jnp.where(mask[:, None], row_keys, keys_of(state)))
        return state, cond, temperature, top_k

    # -------------------------------------------------------------------- building
    def abstract(self, size: int) -> SlotArrays:
        """Shapes of a bucket's arrays, without allocating them."""
        state = jax.eval_shape(lambda i: jax.tree.map(
            lambda a: jnp.broadcast_to(a, (size, *a.shape[1:])), i), self.init1)
        return SlotArrays(size, state, jax.ShapeDtypeStruct((size, self.channels), jnp.int32),
                          jax.ShapeDtypeStruct((size,), jnp.float32),
                          jax.ShapeDtypeStruct((size,), jnp.int32))

    def lower_step(self, size: int, params=None):
        """The lowered step program for bucket ``size`` (``params`` may be abstract)."""
        a = self.abstract(size)
        donate = (1,) if self.donate else ()
        return jax.jit(self._step_fn, donate_argnums=donate).lower(
            self.params if params is None else params, a.state, a.cond, a.temperature,
            a.top_k, jax.ShapeDtypeStruct((size,), jnp.bool_))

    def compiled(self, size: int) -> Compiled:
        found = self._compiled.get(size)  # lock-free when built: a compile of another
        if found is not None:  # bucket on a background thread never stalls a live step
            return found
        with self._lock:
            found = self._compiled.get(size)
            if found is not None:
                return found
            started = time.perf_counter()
            step = self.lower_step(size).compile()
            a = self.abstract(size)
            donate = (0, 1, 2, 3) if self.donate else ()
            write = jax.jit(self._write_fn, donate_argnums=donate).lower(
                a.state, a.cond, a.temperature, a.top_k,
                jax.ShapeDtypeStruct((size,), jnp.int32), a.cond, a.temperature, a.top_k,
                jax.ShapeDtypeStruct((size,), jnp.bool_),
                jax.ShapeDtypeStruct((size, 2), jnp.uint32)).compile()
            seconds = time.perf_counter() - started
            found = self._compiled[size] = Compiled(step, write, seconds)
            self.stats.compiles += 2
            self.stats.compile_seconds += seconds
            self.stats.buckets.append(size)
            return found

    # ------------------------------------------------------------------ slot arrays
    def allocate(self, size: int) -> SlotArrays:
        state = jax.jit(functools.partial(_broadcast_rows, size=size))(self.init1)
        return SlotArrays(size, state, jnp.full((size, self.channels), -1, jnp.int32),
                          jnp.ones((size,), jnp.float32), jnp.ones((size,), jnp.int32))

    def resize(self, arrays: SlotArrays, size: int) -> SlotArrays:
        """The same rows in a batch of ``size`` (rows past ``size`` are dropped; new rows
        are initial state, masked conditioning)."""
        key = (arrays.size, size)
        fn = self._resizers.get(key)
        if fn is None:
            self.stats.compiles += 1
            fn = self._resizers[key] = jax.jit(
                functools.partial(_resize, size=size, channels=self.channels),
                donate_argnums=(0,) if self.donate else ())
        state, cond, temperature, top_k = fn(
            (arrays.state, arrays.cond, arrays.temperature, arrays.top_k), self.init1)
        return SlotArrays(size, state, cond, temperature, top_k)

    def write(self, arrays: SlotArrays, rows: dict[int, tuple[np.ndarray, float, int, bool, np.ndarray]]
              ) -> SlotArrays:
        """Write ``rows`` (slot → (cond, temperature, top_k, reset, key)) into ``arrays``."""
        size = arrays.size
        index = np.full(size, size, np.int32)  # out of range: dropped
        cond = np.full((size, self.channels), -1, np.int32)
        temperature = np.ones(size, np.float32)
        top_k = np.ones(size, np.int32)
        reset = np.zeros(size, bool)
        keys = np.zeros((size, 2), np.uint32)
        for i, (slot, (c, t, k, r, key)) in enumerate(sorted(rows.items())):
            index[i], cond[i], temperature[i], top_k[i], reset[i] = slot, c, t, k, r
            if key is not None:
                keys[i] = key
        program = self.compiled(size)
        state, c, t, k = program.write(arrays.state, arrays.cond, arrays.temperature,
                                       arrays.top_k, index, cond, temperature, top_k, reset, keys)
        return SlotArrays(size, state, c, t, k)

    def read_row(self, arrays: SlotArrays, slot: int) -> dict:
        """One slot's device data on the host (numpy): ``state`` (the sampler state pytree
        of that row; every leaf keeps a batch dimension of 1), ``cond``, ``temperature``,
        ``top_k`` (likewise ``[1, ...]``). With
        ``write_state_row`` this snapshots and restores a session exactly within one model
        (the row's RNG key and step counter are part of ``state``)."""
        take = self._row_reader
        if take is None:
            take = self._row_reader = jax.jit(lambda tree, i: jax.tree.map(
                lambda a: jax.lax.dynamic_slice_in_dim(a, i, 1), tree))
        row = take((arrays.state, arrays.cond, arrays.temperature, arrays.top_k), np.int32(slot))
        state, cond, temperature, top_k = jax.device_get(row)
        return {"state": state, "cond": cond, "temperature": temperature, "top_k": top_k}

    def write_state_row(self, arrays: SlotArrays, slot: int, row: dict) -> SlotArrays:
        """``arrays`` with slot ``slot`` set to ``row`` (as ``read_row`` returns it); the
        other rows are unchanged. ``arrays`` is donated when the program donates."""
        put = self._row_writer
        if put is None:
            def put_fn(tree, i, value):
                return jax.tree.map(lambda a, v: jax.lax.dynamic_update_slice_in_dim(
                    a, jnp.asarray(v, a.dtype), i, 0), tree, value)

            put = self._row_writer = jax.jit(put_fn, donate_argnums=(0,) if self.donate else ())
        value = (row["state"], row["cond"], row["temperature"], row["top_k"])
        state, cond, temperature, top_k = put(
            (arrays.state, arrays.cond, arrays.temperature, arrays.top_k), np.int32(slot), value)
        return SlotArrays(arrays.size, state, cond, temperature, top_k)

    def step(self, arrays: SlotArrays, active: np.ndarray) -> tuple[jax.Array, jax.Array, SlotArrays]:
        program = self.compiled(arrays.size)
        pcm, tokens, state = program.step(self.params, arrays.state, arrays.cond,
                                          arrays.temperature, arrays.top_k, active)
        return pcm, tokens, SlotArrays(arrays.size, state, arrays.cond, arrays.temperature,
                                       arrays.top_k)


def _lm_step(sampler, x, state, *, constants, training):
    """The official sampler's first layer (the depthformer's sampling step) alone."""
    return sampler.layers[0].step_with_emits(x, state, constants=constants, training=training)


def _codec_step(sampler, tokens, states, *, training):
    """The official sampler's remaining layers (codes → SpectroStream → int16) over a block
    of frames: ``tokens`` ``[B, K, Q]``, ``states`` the layers' states after the first."""
    x, new = tokens, []
    for layer, state in zip(sampler.layers[1:], states, strict=True):
        x, state, _ = layer.step_with_emits(x, state, training=training)
        new.append(state)
    return x, tuple(new)


def _broadcast_rows(init1, size):
    # A real copy per leaf (never a shared buffer), so the state can be donated.
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (size, *a.shape[1:])) + jnp.zeros((), a.dtype),
                        init1)


def _resize(arrays, init1, size, channels):
    state, cond, temperature, top_k = arrays
    old = cond.shape[0]
    if size <= old:
        return jax.tree.map(lambda a: a[:size], (state, cond, temperature, top_k))
    extra = size - old
    state = jax.tree.map(
        lambda a, i: jnp.concatenate([a, jnp.broadcast_to(i.astype(a.dtype), (extra, *a.shape[1:]))]),
        state, init1)
    cond = jnp.concatenate([cond, jnp.full((extra, channels), -1, cond.dtype)])
    temperature = jnp.concatenate([temperature, jnp.ones((extra,), temperature.dtype)])
    top_k = jnp.concatenate([top_k, jnp.ones((extra,), top_k.dtype)])
    return state, cond, temperature, top_k
