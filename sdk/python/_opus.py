"""Decoding an OPUS stream in the SDK: payloads (runtime.proto, Encoding.OPUS) in, 16-bit
PCM out, placed on the session's stream time. libopus through ``opuslib`` (install
``cadenza[opus]`` and Debian's ``libopus0``). No I/O; one decoder per stream, not shared
between threads."""

from __future__ import annotations

import struct

HEADER = struct.Struct("<BBHHi")  # version, packets, frame size, pre-skip, offset
LENGTH = struct.Struct("<H")
CHANNELS = 2


def packets(data: bytes) -> tuple[list[bytes], int, int, int]:
    """(packets, frame size, pre-skip, offset) of one payload; ValueError if malformed."""
    if len(data) < HEADER.size:
        raise ValueError("opus payload shorter than its header")
    version, count, frame_size, pre_skip, offset = HEADER.unpack_from(data)
    if version != 1:
        raise ValueError(f"unsupported opus payload version {version}")
    pos, out = HEADER.size, []
    for _ in range(count):
        (length,) = LENGTH.unpack_from(data, pos)
        pos += LENGTH.size
        if pos + length > len(data):
            raise ValueError("opus payload truncated")
        out.append(bytes(data[pos:pos + length]))
        pos += length
    return out, frame_size, pre_skip, offset


class OpusStreamDecoder:
    """Feed each chunk's (stream_time, payload) in order; get (first stream sample, PCM
    s16le bytes). When a payload does not continue where the previous one ended (a
    reconnect that landed on another worker), the decoder starts afresh there."""

    def __init__(self, sample_rate: int = 48000) -> None:
        try:
            import opuslib
        except (ImportError, OSError) as exc:
            raise RuntimeError("encoding 'opus' needs opuslib and libopus "
                               "(pip install 'cadenza[opus]'; apt-get install libopus0)") from exc
        self._opuslib = opuslib
        self.sample_rate = sample_rate
        self._dec = None
        self._skip = 0
        self._next: int | None = None  # stream sample the next payload should start at
        self._out = 0

    def decode(self, stream_time: int, data: bytes) -> tuple[int, bytes]:
        found, frame_size, pre_skip, offset = packets(data)
        start = stream_time + offset
        if self._dec is None or start != self._next:
            self._dec = self._opuslib.Decoder(self.sample_rate, CHANNELS)
            self._skip = pre_skip * CHANNELS * 2
            self._out = start  # after the pre-skip, output sample k is stream sample start + k
        self._next = start + len(found) * frame_size
        pcm = b"".join(self._dec.decode(p, frame_size) for p in found)
        if self._skip:
            cut = min(self._skip, len(pcm))
            pcm, self._skip = pcm[cut:], self._skip - cut
        at = self._out
        self._out += len(pcm) // (CHANNELS * 2)
        return at, pcm
