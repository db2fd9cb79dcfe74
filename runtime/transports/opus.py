"""Opus on the wire, sans-I/O: a session's chunks become Opus packets once, for every
listener that asked for ``encoding: opus``.

The codec is libopus through ``opuslib`` (ctypes; Debian's ``libopus0``). Frames are 20 ms
(960 samples at 48 kHz), stereo, ``bitrate`` bit/s (64-160 kbit/s, default 96), in-band
FEC on with a 5 % expected loss so a lost packet is concealed by the next one.

Chunks (50 ms blocks for the procedural engine) are not a whole number of 20 ms frames,
so a session's encoder carries the remainder from chunk to chunk: a chunk's payload holds
the packets *completed* inside it. The payload (the ``pcm`` bytes of an OPUS chunk on gRPC
and WebSocket alike; docs/websocket-protocol.md and runtime.proto describe it) is::

    u8  version (1)          u8  packet count       u16 frame size (samples, 960)
    u16 pre-skip (samples)   i32 offset of the first packet's first sample from the
                                 chunk's stream_time (<= 0: it began in an earlier chunk)
    then per packet: u16 length, the packet

All little-endian. A decoder started at any chunk decodes its packets in order and drops
``pre-skip`` samples once, at its start: sample ``k`` it then outputs is stream sample
``stream_time + offset + k`` of the chunk it started at.

Threading: `SharedEncoders` is used from the event loop's thread only (both transports
deliver there). It owns one encoder per session, created on the first Opus listener and
dropped after ``idle_s`` without one.
"""

from __future__ import annotations

import atexit
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..session.chunk import Chunk

SAMPLE_RATE = 48000
CHANNELS = 2
FRAME = 960  # 20 ms
MIN_BITRATE, MAX_BITRATE, DEFAULT_BITRATE = 64_000, 160_000, 96_000
HEADER = struct.Struct("<BBHHi")
LENGTH = struct.Struct("<H")
VERSION = 1


def _opuslib():
    try:
        import opuslib
        import opuslib.api.ctl
        import opuslib.api.encoder
    except (ImportError, OSError) as exc:  # no package, or no libopus on the machine
        raise RuntimeError("Opus needs the 'opuslib' package and libopus "
                           "(pip install 'cadenza[opus]'; apt-get install libopus0)") from exc
    return opuslib


def available() -> bool:
    try:
        _opuslib()
    except RuntimeError:
        return False
    return True


def check_bitrate(bitrate: int) -> int:
    if not MIN_BITRATE <= bitrate <= MAX_BITRATE:
        raise ValueError(f"opus bitrate must be {MIN_BITRATE}..{MAX_BITRATE} bit/s, got {bitrate}")
    return bitrate


@dataclass(frozen=True)
class Payload:
    """One chunk's Opus packets: ``offset`` places the first packet's first sample
    relative to the chunk's ``stream_time``."""

    packets: tuple[bytes, ...]
    offset: int
    frame_size: int = FRAME
    pre_skip: int = 312


def pack(payload: Payload) -> bytes:
    out = [HEADER.pack(VERSION, len(payload.packets), payload.frame_size, payload.pre_skip,
                       payload.offset)]
    for packet in payload.packets:
        out.append(LENGTH.pack(len(packet)))
        out.append(packet)
    return b"".join(out)


def unpack(data: bytes) -> Payload:
    """Parse a payload; raises ValueError naming what is wrong."""
    if len(data) < HEADER.size:
        raise ValueError(f"opus payload shorter than its {HEADER.size}-byte header")
    version, count, frame_size, pre_skip, offset = HEADER.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"unsupported opus payload version {version}")
    pos, packets = HEADER.size, []
    for i in range(count):
        if pos + LENGTH.size > len(data):
            raise ValueError(f"opus payload truncated at packet {i}")
        (length,) = LENGTH.unpack_from(data, pos)
        pos += LENGTH.size
        if pos + length > len(data):
            raise ValueError(f"opus payload truncated inside packet {i}")
        packets.append(bytes(data[pos:pos + length]))
        pos += length
    return Payload(tuple(packets), offset, frame_size, pre_skip)


class StreamEncoder:
    """One session's encoder: feed chunks in order, get each one's payload. A chunk that
    does not follow the previous one (a listener-less gap) restarts the frame grid there."""

    def __init__(self, bitrate: int = DEFAULT_BITRATE, complexity: int = 9) -> None:
        opuslib = _opuslib()
        self._enc = opuslib.Encoder(SAMPLE_RATE, CHANNELS, opuslib.APPLICATION_AUDIO)
        self._enc.bitrate = check_bitrate(bitrate)
        self._enc.complexity = complexity
        # opuslib's inband_fec property passes no value (a bug in 3.0.1): set it by its ctl.
        opuslib.api.encoder.encoder_ctl(self._enc.encoder_state, opuslib.api.ctl.set_inband_fec, 1)
        self._enc.packet_loss_perc = 5
        self.pre_skip = int(self._enc.lookahead)
        self._carry = np.zeros((0, CHANNELS), dtype=np.int16)
        self.next_time: int | None = None
        self.next_seq: int | None = None

    def encode(self, seq: int, stream_time: int, pcm: np.ndarray) -> Payload:
        """``pcm``: float32 [frames, 2] in [-1, 1], the chunk starting at ``stream_time``."""
        if stream_time != self.next_time:
            self._carry = self._carry[:0]
        samples = np.clip(np.round(pcm * 32767.0), -32768, 32767).astype("<i2")
        buf = np.concatenate([self._carry, samples]) if len(self._carry) else samples
        offset = -len(self._carry)
        whole = len(buf) // FRAME * FRAME
        packets = tuple(self._enc.encode(buf[i:i + FRAME].tobytes(), FRAME)
                        for i in range(0, whole, FRAME))
        self._carry = buf[whole:].copy()
        self.next_time = stream_time + len(samples)
        self.next_seq = seq + 1
        return Payload(packets, offset, FRAME, self.pre_skip)


@dataclass
class _Entry:
    encoder: StreamEncoder
    used: float = field(default_factory=time.monotonic)
    chunks: int = 0  # chunks encoded for this session


class SharedEncoders:
    """Encodes each chunk once per session, whatever the number of Opus listeners; the
    bytes are cached on the chunk, so a second listener (or a resume that re-sends a
    chunk) gets the same bytes. A chunk older than the session's encoder (a resume from
    history that no Opus listener heard live) is encoded by a throw-away encoder."""

    def __init__(self, bitrate: int = DEFAULT_BITRATE, idle_s: float = 30.0) -> None:
        self.bitrate = check_bitrate(bitrate)
        self.idle_s = idle_s
        self._sessions: dict[str, _Entry] = {}
        self._sweep_at = time.monotonic() + idle_s
        self.encoded_chunks = 0

    def configure(self, bitrate: int) -> None:
        """Bitrate for encoders created from now on."""
        self.bitrate = check_bitrate(bitrate)

    def payload(self, chunk: Chunk) -> bytes:
        cached = chunk._encoded.get("opus")
        if cached is not None:
            return cached
        now = time.monotonic()
        entry = self._sessions.get(chunk.session_id)
        if entry is None:
            entry = self._sessions[chunk.session_id] = _Entry(StreamEncoder(self.bitrate))
        entry.used = now
        enc = entry.encoder
        if enc.next_seq is not None and chunk.seq < enc.next_seq:
            enc = StreamEncoder(self.bitrate)
        data = pack(enc.encode(chunk.seq, chunk.stream_time, chunk.pcm))
        chunk._encoded["opus"] = data
        self.encoded_chunks += 1
        entry.chunks += 1
        if now >= self._sweep_at:
            self._sweep(now)
        return data

    def chunks_encoded(self, session_id: str) -> int:
        """Chunks of the session encoded so far (0 once it is forgotten)."""
        entry = self._sessions.get(session_id)
        return entry.chunks if entry else 0

    def forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _sweep(self, now: float) -> None:
        self._sweep_at = now + self.idle_s
        for sid in [s for s, e in self._sessions.items() if now - e.used > self.idle_s]:
            del self._sessions[sid]

    def __len__(self) -> int:
        return len(self._sessions)


SHARED = SharedEncoders()
# opuslib's __del__ needs its modules: free the encoders before interpreter teardown.
atexit.register(SHARED._sessions.clear)


class StreamDecoder:
    """Decodes a sequence of payloads (the SDK side, and tests) into int16 PCM."""

    def __init__(self) -> None:
        self._dec = _opuslib().Decoder(SAMPLE_RATE, CHANNELS)
        self._skip: int | None = None
        self.start: int | None = None  # stream sample of the first sample returned

    def decode(self, stream_time: int, data: bytes) -> np.ndarray:
        """int16 [frames, 2] for one chunk's payload."""
        payload = unpack(data)
        if self._skip is None:
            self._skip = payload.pre_skip
            self.start = stream_time + payload.offset
        out = [np.frombuffer(self._dec.decode(p, payload.frame_size), dtype="<i2")
               for p in payload.packets]
        pcm = np.concatenate(out).reshape(-1, CHANNELS) if out else \
            np.zeros((0, CHANNELS), dtype=np.int16)
        if self._skip:
            cut = min(self._skip, len(pcm))
            pcm, self._skip = pcm[cut:], self._skip - cut
        return pcm


def decode_all(chunks: Iterable[tuple[int, bytes]]) -> tuple[int, np.ndarray]:
    """(first stream sample, int16 [frames, 2]) for (stream_time, payload) pairs in order."""
    dec = StreamDecoder()
    parts = [dec.decode(t, d) for t, d in chunks]
    pcm = np.concatenate(parts) if parts else np.zeros((0, CHANNELS), dtype=np.int16)
    return (dec.start or 0), pcm
