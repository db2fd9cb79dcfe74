"""Egress per listener: PCM (s16le) vs Opus at several bitrates, over the real WebSocket
bridge, bytes on the wire (frame headers included), plus the encoder's CPU cost.

    python benchmarks/egress.py --seconds 10 --listeners 4 --json egress.json

Each case: one session, ``--listeners`` WebSocket listeners resuming from seq 0, counting
every byte of every binary frame until each has ``--seconds`` of audio. Opus is encoded
once per session (``SHARED.encoded_chunks`` is checked), so CPU does not grow with
listeners.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time

import numpy as np
from websockets.sync.client import connect

from cadenza.runtime import analysis
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.runtime.transports import opus
from cadenza.runtime.transports.websocket.protocol import decode_audio
from cadenza.sdk import Client

RATE = 48_000


def listen(url: str, session_id: str, encoding: str, listeners: int, seconds: float):
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url)) for _ in range(listeners)]
        for ws in sockets:
            ws.send(json.dumps({"type": "attach", "session_id": session_id,
                                "resume_from_seq": 0, "encoding": encoding}))
        wire, frames = [0] * listeners, [[] for _ in range(listeners)]
        for i, ws in enumerate(sockets):
            audio = 0
            while audio < seconds * RATE:
                data = ws.recv(30)
                if isinstance(data, bytes):
                    frame = decode_audio(data)
                    wire[i] += len(data)
                    frames[i].append(frame)
                    audio += frame.frames
        return wire, frames


def pcm_of(frames) -> np.ndarray:
    return (np.frombuffer(b"".join(f.pcm for f in frames), "<i2").astype(np.float32)
            / 32767).reshape(-1, 2)


def encode_cost(bitrate: int, seconds: float = 10.0) -> float:
    """Encoder CPU seconds per second of audio (one session)."""
    t = np.arange(int(seconds * RATE)) / RATE
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)[:, None] * np.ones((1, 2))).astype(np.float32)
    enc = opus.StreamEncoder(bitrate)
    start = time.process_time()
    for i in range(0, len(audio) - 2400, 2400):
        enc.encode(i // 2400, i, audio[i:i + 2400])
    return (time.process_time() - start) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--listeners", type=int, default=4)
    parser.add_argument("--bitrates", type=int, nargs="+", default=[64_000, 96_000, 160_000])
    parser.add_argument("--json", default="egress.json")
    args = parser.parse_args()
    options = ServeOptions(grpc_port=0, ws_port=0,
                           runtime=RuntimeConfig(history_s=args.seconds + 5, idle_timeout_s=60))
    results = []
    with ServerThread(options) as server, Client(server.grpc_address) as client:
        cases = [("s16le", 0)] + [("opus", b) for b in args.bitrates]
        for encoding, bitrate in cases:
            if bitrate:
                opus.SHARED.configure(bitrate)
            session = client.create_session("minimal", seed=3, state={"intensity": 0.7})
            time.sleep(0.2)
            before = opus.SHARED.encoded_chunks
            wire, frames = listen(server.ws_url, session.id, encoding, args.listeners, args.seconds)
            chunks = max(f.seq for fs in frames for f in fs) + 1
            audio_s = sum(f.frames for f in frames[0]) / RATE
            row = {"encoding": encoding, "bitrate": bitrate, "listeners": args.listeners,
                   "kbit_per_s_per_listener": round(8 * np.mean(wire) / audio_s / 1000, 1),
                   "mb_per_listener_hour": round(np.mean(wire) / audio_s * 3600 / 1e6, 1)}
            if encoding == "opus":
                row["encoded_chunks"] = opus.SHARED.encoded_chunks - before
                row["chunks"] = chunks
                row["encoder_cpu_per_audio_s"] = round(encode_cost(bitrate), 4)
                _, pcm = opus.decode_all((f.stream_time, f.pcm) for f in frames[0])
                row["decoded_rms_db"] = round(analysis.rms_db(pcm.astype(np.float32) / 32767), 2)
            else:
                row["decoded_rms_db"] = round(analysis.rms_db(pcm_of(frames[0])), 2)
            results.append(row)
            session.close()
    base = results[0]["kbit_per_s_per_listener"]
    print(f"{'encoding':>9} {'bitrate':>8} {'kbit/s/listener':>16} {'MB/listener-h':>14} "
          f"{'vs PCM':>7} {'enc CPU':>8}")
    for r in results:
        r["fraction_of_pcm"] = round(r["kbit_per_s_per_listener"] / base, 4)
        print(f"{r['encoding']:>9} {r['bitrate'] or '-':>8} {r['kbit_per_s_per_listener']:>16} "
              f"{r['mb_per_listener_hour']:>14} {r['fraction_of_pcm']:>7.3f} "
              f"{r.get('encoder_cpu_per_audio_s', 0):>8.4f}")
    with open(args.json, "w") as handle:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), "results": results},
                  handle, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
