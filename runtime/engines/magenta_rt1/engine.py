"""The `magenta-rt1` adapter: the v1 system's 2 s chunks, cut to the runtime's blocks.

The v1 API, as this adapter uses it (nothing else):

* ``MagentaRT(tag=..., device=..., lazy=...)``
* ``embed_style(text_or_waveform) -> 768-d float`` (a ``magenta_rt.audio.Waveform`` for audio)
* ``generate_chunk(state=, style=, seed=, temperature=, topk=, guidance_weight=)
  -> (waveform, state)``: 2 s of 48 kHz stereo (``.samples`` ``[96000, 2]``,
  ``.sample_rate``), crossfaded with the previous chunk inside; ``state`` carries the
  10 s token context and the crossfade tail.

Each session's state holds the v1 state plus the audio of its last chunk not yet handed
out. A new chunk is generated when the buffer runs dry, with the style and knobs of that
call, and seed ``session seed + chunk index`` (so a session is reproducible). The v1 system
runs one chunk at a time: a batch is served row by row. A style change is heard from the
next chunk on (up to 2 s later; the v1 model's stated limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile

from ...errors import EngineError
from ..base import EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding

SAMPLE_RATE = 48_000
CHANNELS = 2
CHUNK_SECONDS = 2.0
DEFAULTS = {"temperature": 1.1, "topk": 40, "guidance_weight": 5.0}


@dataclass(eq=False)
class MRT1Session:
    seed: int
    system_state: Any = None
    buffer: np.ndarray = field(default_factory=lambda: np.zeros((0, CHANNELS), np.float32))
    chunks: int = 0


class MagentaRT1Engine:
    """Options: ``tag`` (large | base), ``device``, ``lazy``, ``block_frames`` (default
    9,600 = 200 ms; must divide the 96,000-sample chunk), ``system`` (an object with the v1
    API; default: ``magenta_rt.system.MagentaRT(tag, device, lazy)``)."""

    def __init__(self, tag: str = "large", device: str | None = None, lazy: bool = True,
                 block_frames: int = 9600, system: Any = None) -> None:
        chunk = round(CHUNK_SECONDS * SAMPLE_RATE)
        if block_frames <= 0 or chunk % block_frames:
            raise ValueError(f"block_frames must divide the {chunk}-sample chunk")
        if system is None:
            from . import load_system_class

            system = load_system_class()(tag=tag, device=device, lazy=lazy)
        self.system = system
        self.block_frames = block_frames
        self._info = EngineInfo(
            name="magenta-rt1", version=f"v1/{tag}", sample_rate=SAMPLE_RATE, channels=CHANNELS,
            block_frames=block_frames, max_batch=8, style_dim=768,
            prompt_kinds=frozenset({"text", "audio"}),
            knobs=frozenset({"temperature", "top_k", "guidance", "seed"}),
            control_latency_s=CHUNK_SECONDS,
            description="Magenta RealTime v1 (your own install): 2 s chunks, 10 s context.")

    @property
    def info(self) -> EngineInfo:
        return self._info

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        if prompt.text is not None:
            vector = self.system.embed_style(prompt.text)
        else:
            from magenta_rt.audio import Waveform

            wave, rate = soundfile.read(prompt.audio, dtype="float32", always_2d=True)
            vector = self.system.embed_style(Waveform(wave, rate))
        return StyleEmbedding(np.asarray(vector, np.float32).reshape(-1))

    def neutral_style(self) -> np.ndarray:
        return np.zeros(self._info.style_dim, np.float32)

    def init_state(self, seed: int) -> MRT1Session:
        return MRT1Session(seed=int(seed))

    def generate(self, states: Sequence[MRT1Session], styles: np.ndarray, knobs: Sequence[Knobs],
                 frames: int) -> EngineOutput:
        if frames % self.block_frames:
            raise ValueError(f"frames must be a multiple of {self.block_frames}")
        pcm = np.empty((len(states), frames, CHANNELS), np.float32)
        for row, (state, style, knob) in enumerate(zip(states, styles, knobs, strict=True)):
            while len(state.buffer) < frames:
                state.buffer = np.concatenate([state.buffer, self._chunk(state, style, knob)])
            pcm[row], state.buffer = state.buffer[:frames], state.buffer[frames:]
        return EngineOutput(pcm=pcm, states=list(states))

    def _chunk(self, state: MRT1Session, style: np.ndarray, knob: Knobs) -> np.ndarray:
        style = np.asarray(style, np.float32)
        waveform, state.system_state = self.system.generate_chunk(
            state=state.system_state, style=style if np.any(style) else None,
            seed=(state.seed + state.chunks) % 2**31,
            temperature=DEFAULTS["temperature"] if knob.temperature is None else float(knob.temperature),
            topk=DEFAULTS["topk"] if knob.top_k is None else int(knob.top_k),
            guidance_weight=DEFAULTS["guidance_weight"] if knob.guidance is None else float(knob.guidance))
        state.chunks += 1
        samples = np.asarray(waveform.samples, np.float32)
        if waveform.sample_rate != SAMPLE_RATE or samples.ndim != 2 or samples.shape[1] != CHANNELS:
            raise EngineError(f"magenta-rt1 returned {samples.shape} at {waveform.sample_rate} Hz; "
                              "expected 48 kHz stereo")
        return samples
