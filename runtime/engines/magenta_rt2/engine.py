"""`magenta-rt2`: Magenta RealTime 2 (the official ``magenta-rt`` package, JAX), many
sessions per device call.

One ``generate`` call = one (or more) batched device calls of K frames (``lax.scan``) over
the rows of a persistent batch. Each session owns a slot (row) from its first block until
``release`` (the runtime calls it when the session closes or resets; garbage collection is
only a safety net, and a late one can never free a slot another session owns now). Its
conditioning is written into the slot once and afterwards only when it changes. The batch
runs at the smallest compiled bucket that holds the occupied slots, so sessions join and
leave without compiling anything new within a bucket; the next bucket is compiled on a
background thread before it is needed.

Threading: ``generate``, ``release``, ``snapshot`` and ``restore`` from one thread at a time
(the loop's engine thread); ``embed`` may run on another thread between calls.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import soundfile

from ..base import EngineInfo, EngineOutput, Knobs, Prompt, StyleChange, StyleEmbedding
from . import conditioning
from .arch import CHANNELS, FRAME_RATE, SAMPLE_RATE, SAMPLES_PER_FRAME, get_arch
from .checkpoint import load
from .program import BatchProgram, SlotArrays
from .sampler import build_sampler
from .slots import DEFAULT_BUCKETS, SlotTable
from .style import StyleTokenizer

log = logging.getLogger("cadenza.mrt2")

CODEC_DTYPES = {"fp32": jnp.float32, "tf32": jnp.float32, "bf16": jnp.bfloat16}


@dataclass(eq=False)
class MRT2Session:
    """One session's handle: its seed and slot. The audio state lives on the device."""

    seed: int
    key: np.ndarray  # the row's initial RNG key, [2] uint32
    slot: int | None = None
    token: int = 0  # ownership of ``slot`` in the slot table
    frames: int = 0  # frames generated so far
    last_tokens: np.ndarray | None = None  # [frames of the last call, 12] unique-code tokens
    restored: list[np.ndarray] | None = None  # a snapshot's device row, written on joining
    fresh: bool = True  # the device row must be (re)initialised from ``key`` when it joins
    released: bool = False


SNAPSHOT_MAGIC = b"CDZM2"


def row_key(seed: int) -> np.ndarray:
    """The RNG key of a session: distinct for every seed in [0, 2^63) (the high 32 bits
    are folded in, so seeds 2^32 apart no longer collide)."""
    seed = int(seed)
    key = jax.random.PRNGKey(seed & 0xFFFFFFFF)
    if seed >> 32:
        key = jax.random.fold_in(key, (seed >> 32) & 0xFFFFFFFF)
    return np.asarray(jax.random.key_data(key), np.uint32)


@dataclass
class EngineStats:
    steps: int = 0
    writes: int = 0
    rows_written: int = 0
    resizes: int = 0
    last_bucket: int = 0
    step_seconds: float = 0.0


class MagentaRT2Engine:
    """Options (all keyword): ``model`` (mrt2_small | mrt2_base | tiny: random weights of
    the real architecture, built locally and cached, for demos and CPU tests),
    ``checkpoint`` (a path; default: the downloaded one), ``cache_dir``, ``style_model`` (a
    MusicCoCa object; default the official MusicCoCa on the downloaded resources),
    ``frames_per_call`` (K, 5 = 200 ms), ``buckets``, ``max_sessions`` (drop larger
    buckets), ``lm_bf16`` (pre-cast LM weights), ``codec`` (fp32 | tf32 | bf16 | auto: bf16
    on an accelerator, fp32 on a CPU), ``lean`` (valid-logits head + lax.top_k),
    ``top_k_max``, ``donate``, ``precompile`` (bucket sizes to compile at start; "all":
    every bucket), ``grow_ahead`` (compile the next bucket in the background)."""

    def __init__(self, model: str = "mrt2_small", checkpoint: str | Path | None = None,
                 cache_dir: str | Path | None = None, style_model=None, frames_per_call: int = 5,
                 buckets: Sequence[int] = DEFAULT_BUCKETS, lm_bf16: bool = True,
                 codec: str = "auto", lean: bool = True, top_k_max: int = 256,
                 donate: bool = True, precompile: Sequence[int] | str = (),
                 max_sessions: int | None = None, grow_ahead: bool = True) -> None:
        if not 1 <= frames_per_call <= 5:
            raise ValueError("frames_per_call must be 1..5 (control latency ≤ 200 ms)")
        if codec == "auto":
            codec = "fp32" if jax.default_backend() == "cpu" else "bf16"
        if codec not in CODEC_DTYPES:
            raise ValueError(f"codec must be auto or one of {', '.join(CODEC_DTYPES)}")
        from magenta_rt import __version__ as mrt_version

        self.arch = get_arch(model)
        self.random_weights = False
        files = None
        if checkpoint is None and model == "tiny":
            checkpoint, self.random_weights = tiny_checkpoint(cache_dir), True
            if style_model is None:
                from .style import LocalMusicCoCa

                style_model = LocalMusicCoCa()
        if checkpoint is None:
            from .models import locate

            files = locate(model, cache_dir)
            checkpoint = files.checkpoint
        if style_model is None:
            from magenta_rt.musiccoca import MusicCoCa

            from .models import MissingWeights

            if files is None or files.musiccoca is None:
                raise MissingWeights("MusicCoCa resources are not downloaded; run: cadenza models "
                                     f"download {model}")
            style_model = MusicCoCa(resource_dir=files.musiccoca)
        self.model = model
        self.style_model = style_model
        self.tokenizer = StyleTokenizer(style_model)
        self.frames_per_call = frames_per_call
        self.top_k_max = top_k_max
        self.codec = codec
        started = time.perf_counter()
        params = load(checkpoint, lm_dtype=jnp.bfloat16 if lm_bf16 else None,
                      codec_dtype=CODEC_DTYPES[codec])
        sampler = build_sampler(self.arch.depthformer_config(),
                                self.arch.spectrostream_config(CODEC_DTYPES[codec]),
                                lean=lean, top_k_max=top_k_max)
        if codec == "tf32":
            jax.config.update("jax_default_matmul_precision", "tensorfloat32")
        self.program = BatchProgram(self.arch, sampler, params, frames_per_call, donate=donate)
        self.load_seconds = time.perf_counter() - started
        buckets = tuple(buckets)
        if max_sessions is not None:
            limit = next((b for b in buckets if b >= max_sessions), buckets[-1])
            buckets = tuple(b for b in buckets if b <= limit)
        self.slots = SlotTable(buckets)
        self.stats = EngineStats()
        self._arrays: SlotArrays | None = None
        self._mirror: dict[int, tuple[np.ndarray, float, int]] = {}  # slot → written row
        self._handles: dict[int, weakref.ref] = {}  # slot → its session's handle
        self._embed_lock = threading.Lock()
        self._grow = grow_ahead
        self._occupancy = (0, 0)  # (highest occupied slot + 1, slots occupied) after a call
        self._growing: threading.Thread | None = None
        block = frames_per_call * SAMPLES_PER_FRAME
        weights = "RANDOM weights (tiny: a demo, not music)" if self.random_weights else model
        self._info = EngineInfo(
            name="magenta-rt2", version=f"{mrt_version}/{model}", sample_rate=SAMPLE_RATE,
            channels=CHANNELS, block_frames=block, max_batch=self.slots.capacity,
            style_dim=style_model.config.embedding_dim, prompt_kinds=frozenset({"text", "audio"}),
            knobs=frozenset({"temperature", "top_k", "guidance", "seed", "mute_drums", "scale"}),
            control_latency_s=frames_per_call / FRAME_RATE,
            description=f"Magenta RealTime 2 ({weights}), {frames_per_call} frames per batched "
                        f"call, {codec} codec; notes/drums via Knobs.extra.")
        sizes = self.slots.buckets if precompile == "all" else tuple(precompile)
        for size in sizes:
            self.program.compiled(size)

    @property
    def info(self) -> EngineInfo:
        return self._info

    # ------------------------------------------------------------------------ style
    def embed(self, prompt: Prompt) -> StyleEmbedding:
        with self._embed_lock:  # TFLite interpreters are not thread-safe
            if prompt.text is not None:
                vector = self.style_model.embed(prompt.text)
            else:
                from magenta_rt.audio import Waveform

                wave, rate = soundfile.read(prompt.audio, dtype="float32", always_2d=True)
                vector = self.style_model.embed(Waveform(wave, rate))
        return StyleEmbedding(np.asarray(vector, np.float32))

    def neutral_style(self) -> np.ndarray:
        """All zeros: no style (the style tokens are masked)."""
        return np.zeros(self._info.style_dim, np.float32)

    # --------------------------------------------------------------------- sessions
    def init_state(self, seed: int) -> MRT2Session:
        return MRT2Session(seed=int(seed), key=row_key(seed))

    def release(self, state: MRT2Session) -> None:
        """Free the session's slot now (reusable from the next call). Idempotent."""
        state.released = True
        if state.slot is not None:
            self.slots.release(state.slot, state.token)
            state.slot = None

    def bucket_for(self, rows: int) -> int:
        """The bucket a call would run at with ``rows`` rows, some possibly joining. Safe
        from another thread (the scheduler's): reads only what the last call left."""
        top, occupied = self._occupancy
        arrays = self._arrays
        current = arrays.size if arrays is not None else None
        want = self.slots.bucket_for(min(max(top, rows, occupied + max(0, rows - occupied), 1),
                                         self.slots.capacity))
        return want if current is None or want > current or want * 4 <= current else current

    def _join(self, handles: list[MRT2Session]) -> None:
        """Give every handle a slot, all or none (ResourceExhausted before any is taken)."""
        for handle, (slot, token) in zip(handles, self.slots.acquire_many(len(handles)),
                                         strict=True):
            handle.slot, handle.token = slot, token
            self._handles[slot] = weakref.ref(handle)
            self._mirror.pop(slot, None)
            weakref.finalize(handle, self.slots.release, slot, token)

    def _arrays_for(self, size: int) -> SlotArrays:
        if self._arrays is None:
            self._arrays = self.program.allocate(size)
        elif self._arrays.size != size:
            self._arrays = self.program.resize(self._arrays, size)
            self.stats.resizes += 1
        return self._arrays

    def generate(self, states: Sequence[MRT2Session], styles: np.ndarray, knobs: Sequence[Knobs],
                 frames: int, changes: Sequence[StyleChange | None] | None = None) -> EngineOutput:
        """``changes`` are not sample-accurate here (never passed by the loop)."""
        block = self._info.block_frames
        if frames % block:
            raise ValueError(f"frames must be a multiple of {block}")
        if any(h.released for h in states):
            raise ValueError("a released session state was passed to generate")
        for slot in self.slots.collect():
            self._mirror.pop(slot, None)
            self._handles.pop(slot, None)
        wanted = []  # validate every row before touching any slot
        for style, knob in zip(styles, knobs, strict=True):
            style = np.asarray(style, np.float32)
            tokens = self.tokenizer(style) if np.any(style) else None
            wanted.append(conditioning.row(tokens, knob, self.top_k_max))
        joining = [h for h in states if h.slot is None]
        self._join(joining)
        rows, restores = {}, {}
        for handle, (cond, temperature, top_k) in zip(states, wanted, strict=True):
            written = self._mirror.get(handle.slot)
            reset = handle.fresh and handle.restored is None
            if handle.fresh or written is None or written[1:] != (temperature, top_k) or \
                    not np.array_equal(written[0], cond):
                rows[handle.slot] = (cond, temperature, top_k, reset, handle.key if reset else None)
            if handle.fresh and handle.restored is not None:
                restores[handle.slot] = handle.restored
        slots = np.array([h.slot for h in states], np.int64)
        pcm_blocks, token_blocks = [], []
        started = time.perf_counter()
        try:
            arrays = self._arrays_for(self.slots.needed(self._arrays.size if self._arrays else None))
            if rows:
                arrays = self._arrays = self.program.write(arrays, rows)
                self.stats.writes += 1
                self.stats.rows_written += len(rows)
            if restores:
                arrays = self._arrays = self._write_state_rows(arrays, restores)
            for slot, (cond, temperature, top_k, _, _) in rows.items():
                self._mirror[slot] = (cond, temperature, top_k)
            for handle in states:
                handle.fresh, handle.restored = False, None
            active = np.zeros(arrays.size, bool)
            active[slots] = True
            for _ in range(frames // block):
                pcm, tokens, arrays = self.program.step(arrays, active)
                self._arrays = arrays
                pcm_blocks.append(np.asarray(pcm)[slots])
                token_blocks.append(np.asarray(tokens)[slots])
        except Exception:
            self._recover(joining)
            raise
        self.stats.steps += frames // block
        self.stats.last_bucket = arrays.size
        self.stats.step_seconds += time.perf_counter() - started
        pcm = np.concatenate(pcm_blocks, axis=1).astype(np.float32) / 32768.0
        tokens = np.concatenate(token_blocks, axis=1)
        for row, handle in enumerate(states):
            handle.frames += frames // SAMPLES_PER_FRAME
            handle.last_tokens = tokens[row]
        occupied = self.slots.occupied
        self._occupancy = (max(occupied, default=-1) + 1, len(occupied))
        self._grow_ahead()
        return EngineOutput(pcm=pcm, states=list(states), bucket=arrays.size)

    def _recover(self, joining: list[MRT2Session]) -> None:
        """After a failed call: the sessions that joined in it give their slots back (they
        join afresh next time); every written row is rewritten; and if the device batch
        itself is gone (donated to the failed program), every session restarts from its
        own key — never from a neighbour's or a default state."""
        for handle in joining:
            if handle.slot is not None:
                self.slots.release(handle.slot, handle.token)
                self._handles.pop(handle.slot, None)
                handle.slot = None
            handle.fresh = True
        self._mirror.clear()
        arrays = self._arrays
        if arrays is not None and any(
                getattr(leaf, "is_deleted", lambda: False)()
                for leaf in jax.tree.leaves((arrays.state, arrays.cond))):
            self._arrays = None
            for ref in self._handles.values():
                handle = ref()
                if handle is not None:
                    handle.fresh = True
            log.warning("MRT2 device batch lost in a failed call: its sessions restart")

    def _grow_ahead(self) -> None:
        """Compile the next bucket in the background once three quarters of this one are
        taken, so a growing crowd never waits for a compile inside a live call."""
        if not self._grow or self._arrays is None:
            return
        size = self._arrays.size
        bigger = [b for b in self.slots.buckets if b > size]
        if not bigger or len(self.slots.occupied) * 4 < size * 3:
            return
        if bigger[0] in self.program._compiled or (self._growing and self._growing.is_alive()):
            return
        self._growing = threading.Thread(target=self.program.compiled, args=(bigger[0],),
                                         name=f"mrt2-compile-{bigger[0]}", daemon=True)
        self._growing.start()

    # ------------------------------------------------------------- snapshot/restore
    def snapshot(self, state: MRT2Session) -> bytes:
        """The session's whole device row (attention caches, codec state, RNG key) plus
        its seed and position: `restore` continues the stream bit for bit within a bucket.
        Call between ``generate`` calls, on the engine's thread."""
        meta = np.array([state.seed, state.frames], np.int64)
        arrays = {"meta": meta, "key": state.key}
        if state.restored is not None:
            leaves = state.restored
        elif state.slot is not None and not state.fresh and self._arrays is not None:
            leaves = [np.asarray(leaf[state.slot]) for leaf in jax.tree.leaves(self._arrays.state)]
        else:
            leaves = []  # nothing generated yet: the stream starts from the key
        for i, leaf in enumerate(leaves):  # raw bytes: bfloat16 has no .npy dtype
            arrays[f"leaf{i}"] = np.frombuffer(np.ascontiguousarray(leaf).tobytes(), np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return SNAPSHOT_MAGIC + buffer.getvalue()

    def restore(self, data: bytes) -> MRT2Session:
        if not isinstance(data, (bytes, bytearray)) or not data.startswith(SNAPSHOT_MAGIC):
            raise ValueError("not a magenta-rt2 snapshot")
        try:
            with np.load(io.BytesIO(bytes(data[len(SNAPSHOT_MAGIC):])), allow_pickle=False) as z:
                seed, frames = (int(v) for v in z["meta"])
                key = np.asarray(z["key"], np.uint32)
                raw = [z[f"leaf{i}"] for i in range(len(z.files) - 2)]
        except Exception as exc:
            raise ValueError(f"corrupt magenta-rt2 snapshot ({type(exc).__name__})") from None
        template = jax.tree.leaves(self.program.init1)
        leaves = []
        if raw:
            if len(raw) != len(template):
                raise ValueError("the snapshot is of another model or configuration")
            for data_, t in zip(raw, template, strict=True):
                dtype, shape = np.dtype(t.dtype), t.shape[1:]
                if data_.dtype != np.uint8 or data_.size != dtype.itemsize * int(np.prod(shape)):
                    raise ValueError("the snapshot is of another model or configuration")
                leaves.append(np.frombuffer(data_.tobytes(), dtype).reshape(shape))
        if key.shape != (2,):
            raise ValueError("corrupt magenta-rt2 snapshot (key)")
        return MRT2Session(seed=seed, key=key, frames=frames, restored=leaves or None)

    def _write_state_rows(self, arrays: SlotArrays, rows: dict[int, list[np.ndarray]]) -> SlotArrays:
        index = np.array(sorted(rows), np.int32)
        leaves, tree = jax.tree.flatten(arrays.state)
        leaves = [leaf.at[index].set(np.stack([rows[s][i] for s in sorted(rows)]))
                  for i, leaf in enumerate(leaves)]
        return SlotArrays(arrays.size, jax.tree.unflatten(tree, leaves), arrays.cond,
                          arrays.temperature, arrays.top_k)

    # ------------------------------------------------------------------ inspection
    @property
    def compiles(self) -> int:
        """Executables built so far (step/write per bucket, resizes)."""
        return self.program.stats.compiles


def tiny_checkpoint(cache_dir: str | Path | None = None) -> Path:
    """The ``tiny`` model's random weights (the real architecture at test size), built
    once and cached under ``cache_dir`` (default ``~/.cache/cadenza/mrt2``)."""
    from .checkpoint import make_random_checkpoint

    root = Path(cache_dir) if cache_dir else Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cadenza" / "mrt2"
    path = root / "tiny-random-seed0.safetensors"
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        make_random_checkpoint(get_arch("tiny"), partial)
        os.replace(partial, path)
    return path
