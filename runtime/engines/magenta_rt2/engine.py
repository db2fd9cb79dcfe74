"""`magenta-rt2`: Magenta RealTime 2 (the official ``magenta-rt`` package, JAX), many
sessions per device call.

One ``generate`` call = one (or more) batched device calls of K frames (``lax.scan``) over
the rows of a persistent batch. Each session owns a slot (row) from its first block until
its state object is dropped (the runtime drops it when the session closes or resets);
its conditioning is written into the slot once and afterwards only when it changes. The
batch runs at the smallest compiled bucket that holds the occupied slots, so sessions join
and leave without compiling anything new within a bucket.

Threading: ``generate`` from one thread at a time (the loop's executor); ``embed`` may run
on another thread between calls; state objects may be garbage-collected on any thread
(their slot is released at the next ``generate``).
"""

from __future__ import annotations

import logging
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

from ..base import EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding
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
    frames: int = 0  # frames generated so far
    last_tokens: np.ndarray | None = None  # [frames of the last call, 12] unique-code tokens


@dataclass
class EngineStats:
    steps: int = 0
    writes: int = 0
    rows_written: int = 0
    resizes: int = 0
    last_bucket: int = 0
    step_seconds: float = 0.0


class MagentaRT2Engine:
    """Options (all keyword): ``model`` (mrt2_small | mrt2_base | tiny), ``checkpoint``
    (a path; default: the downloaded one), ``cache_dir``, ``style_model`` (a MusicCoCa
    object; default the official MusicCoCa on the downloaded resources),
    ``frames_per_call`` (K, 5 = 200 ms), ``buckets``, ``lm_bf16`` (pre-cast LM weights),
    ``codec`` (fp32 | tf32 | bf16), ``lean`` (valid-logits head + lax.top_k),
    ``top_k_max``, ``donate``, ``precompile`` (bucket sizes to compile at start)."""

    def __init__(self, model: str = "mrt2_small", checkpoint: str | Path | None = None,
                 cache_dir: str | Path | None = None, style_model=None, frames_per_call: int = 5,
                 buckets: Sequence[int] = DEFAULT_BUCKETS, lm_bf16: bool = True, codec: str = "fp32",
                 lean: bool = True, top_k_max: int = 256, donate: bool = True,
                 precompile: Sequence[int] = ()) -> None:
        if not 1 <= frames_per_call <= 5:
            raise ValueError("frames_per_call must be 1..5 (control latency ≤ 200 ms)")
        if codec not in CODEC_DTYPES:
            raise ValueError(f"codec must be one of {', '.join(CODEC_DTYPES)}")
        from magenta_rt import __version__ as mrt_version

        self.arch = get_arch(model)
        files = None
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
        self.slots = SlotTable(tuple(buckets))
        self.stats = EngineStats()
        self._arrays: SlotArrays | None = None
        self._mirror: dict[int, tuple[np.ndarray, float, int]] = {}  # slot → written row
        self._embed_lock = threading.Lock()
        block = frames_per_call * SAMPLES_PER_FRAME
        self._info = EngineInfo(
            name="magenta-rt2", version=f"{mrt_version}/{model}", sample_rate=SAMPLE_RATE,
            channels=CHANNELS, block_frames=block, max_batch=self.slots.capacity,
            style_dim=style_model.config.embedding_dim, prompt_kinds=frozenset({"text", "audio"}),
            knobs=frozenset({"temperature", "top_k", "guidance", "seed", "mute_drums", "scale"}),
            control_latency_s=frames_per_call / FRAME_RATE,
            description=f"Magenta RealTime 2 ({model}), {frames_per_call} frames per batched call; "
                        "notes/drums via Knobs.extra.")
        for size in precompile:
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
        key = np.asarray(jax.random.key_data(jax.random.PRNGKey(int(seed) & 0xFFFFFFFF)), np.uint32)
        return MRT2Session(seed=int(seed), key=key)

    def _join(self, handle: MRT2Session) -> None:
        slot = self.slots.acquire()
        handle.slot = slot
        weakref.finalize(handle, self.slots.release, slot)

    def _arrays_for(self, size: int) -> SlotArrays:
        if self._arrays is None:
            self._arrays = self.program.allocate(size)
        elif self._arrays.size != size:
            self._arrays = self.program.resize(self._arrays, size)
            self.stats.resizes += 1
        return self._arrays

    def generate(self, states: Sequence[MRT2Session], styles: np.ndarray, knobs: Sequence[Knobs],
                 frames: int) -> EngineOutput:
        block = self._info.block_frames
        if frames % block:
            raise ValueError(f"frames must be a multiple of {block}")
        for slot in self.slots.collect():
            self._mirror.pop(slot, None)
        wanted = []  # validate every row before touching any slot
        for style, knob in zip(styles, knobs, strict=True):
            style = np.asarray(style, np.float32)
            tokens = self.tokenizer(style) if np.any(style) else None
            wanted.append(conditioning.row(tokens, knob, self.top_k_max))
        rows = {}
        for handle, (cond, temperature, top_k) in zip(states, wanted, strict=True):
            reset = handle.slot is None
            if reset:
                self._join(handle)
            written = self._mirror.get(handle.slot)
            if reset or written is None or written[1:] != (temperature, top_k) or \
                    not np.array_equal(written[0], cond):
                rows[handle.slot] = (cond, temperature, top_k, reset, handle.key if reset else None)
                self._mirror[handle.slot] = (cond, temperature, top_k)
        slots = np.array([h.slot for h in states], np.int64)
        pcm_blocks, token_blocks = [], []
        started = time.perf_counter()
        try:
            arrays = self._arrays_for(self.slots.needed(self._arrays.size if self._arrays else None))
            if rows:
                arrays = self.program.write(arrays, rows)
                self.stats.writes += 1
                self.stats.rows_written += len(rows)
            active = np.zeros(arrays.size, bool)
            active[slots] = True
            for _ in range(frames // block):
                pcm, tokens, arrays = self.program.step(arrays, active)
                pcm_blocks.append(np.asarray(pcm)[slots])
                token_blocks.append(np.asarray(tokens)[slots])
        except Exception:
            # The device arrays of this call are gone (donated): start every row afresh
            # rather than ever serving a row whose state we cannot vouch for.
            self._arrays = None
            self._mirror.clear()
            for handle in states:
                handle.slot = None  # the finalizer still releases the old slot
            raise
        self._arrays = arrays
        self.stats.steps += frames // block
        self.stats.last_bucket = arrays.size
        self.stats.step_seconds += time.perf_counter() - started
        pcm = np.concatenate(pcm_blocks, axis=1).astype(np.float32) / 32768.0
        tokens = np.concatenate(token_blocks, axis=1)
        for row, handle in enumerate(states):
            handle.frames += frames // SAMPLES_PER_FRAME
            handle.last_tokens = tokens[row]
        return EngineOutput(pcm=pcm, states=list(states))

    # ------------------------------------------------------------------ inspection
    @property
    def compiles(self) -> int:
        """Executables built so far (step/write per bucket, resizes)."""
        return self.program.stats.compiles
