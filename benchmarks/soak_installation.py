"""Soak: an installation with OSC and MQTT sensors and a rotating WAV recording, for N
minutes, under a simulated gallery day (sped up) with a little garbage and one broker
restart. Not part of the tests (it takes minutes); the figures go to docs/benchmarks.md.

    python benchmarks/soak_installation.py --minutes 10 --json soak.json

Pass/fail: 0 underruns, no gap in the stream, one session throughout, and flat memory:
after warm-up (the engine's bounded note cache fills in the first minute), the last third
of the run sets no new resident-set high above --max-growth-mb. Needs mosquitto.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import MosquittoBroker, free_port
from cadenza.runtime.installation.thread import InstallationThread

ROOT = Path(__file__).resolve().parent.parent
GARBAGE = [b"twelve", b"NaN", b"x" * 3000, b'{"count": "many"}', b"{not json", b"\xff"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (y per x)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx else 0.0


class StreamCheck:
    """Constant-memory listener: counts chunks, gaps and sessions, and the quietest
    second of audio (a long run must not keep every chunk)."""

    def __init__(self) -> None:
        self.chunks = 0
        self.gaps = 0
        self.sessions: set[str] = set()
        self.quietest_s = float("inf")
        self._last: tuple[str, int, int] | None = None
        self._second: list[float] = []

    def on_chunk(self, chunk) -> None:
        import numpy as np

        last = self._last
        if last is not None and last[0] == chunk.session_id and (
                chunk.seq != last[1] + 1 or chunk.stream_time != last[2]):
            self.gaps += 1
        self._last = (chunk.session_id, chunk.seq, chunk.stream_time + chunk.frames)
        self.sessions.add(chunk.session_id)
        self.chunks += 1
        self._second.append(float(np.sqrt(np.mean(np.square(chunk.pcm)))))
        if len(self._second) == 20:
            self.quietest_s = min(self.quietest_s, sum(self._second) / 20)
            self._second.clear()

    def on_event(self, event) -> None:
        pass


class Sensors(threading.Thread):
    """Publishes a sped-up gallery day: visitors over MQTT (2 Hz), light and motion over
    OSC (10 Hz), with ``garbage`` of the readings broken."""

    def __init__(self, osc_port: int, broker_port: int, garbage: float, stop: threading.Event):
        super().__init__(daemon=True, name="sensors")
        self.osc = SimpleUDPClient("127.0.0.1", osc_port)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-sensors")
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async("127.0.0.1", broker_port)
        self.client.loop_start()
        self.garbage = garbage
        self.stop_event = stop
        self.sent = {"osc": 0, "mqtt": 0, "garbage": 0}

    def run(self) -> None:
        started = time.monotonic()
        tick = 0
        while not self.stop_event.is_set():
            hour = (9.5 + (time.monotonic() - started) * 120 / 3600) % 24  # 2 h per minute
            visitors = max(0.0, 60 * math.exp(-((hour - 14) / 2.0) ** 2) + random.gauss(0, 2))
            light = min(1.0, max(0.0, math.sin(math.pi * (hour - 6) / 14)))
            self.osc.send_message("/gallery/light", round(light, 3))
            self.osc.send_message("/gallery/motion", int(random.random() < visitors / 40))
            self.sent["osc"] += 2
            if tick % 5 == 0:
                if random.random() < self.garbage:
                    self.client.publish("gallery/east/visitors", random.choice(GARBAGE))
                    self.osc.send_message("/gallery/light", "bright")
                    self.sent["garbage"] += 2
                else:
                    info = self.client.publish("gallery/east/visitors",
                                               json.dumps({"count": round(min(200, visitors))}))
                    self.sent["mqtt"] += info.rc == mqtt.MQTT_ERR_SUCCESS
            tick += 1
            self.stop_event.wait(max(0.0, started + tick * 0.1 - time.monotonic()))
        self.client.loop_stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--garbage", type=float, default=0.02)
    parser.add_argument("--broker-restart-at", type=float, default=0.5,
                        help="fraction of the run at which the broker is killed and "
                             "restarted 5 s later (0: never)")
    parser.add_argument("--warmup-s", type=float, default=60.0)
    parser.add_argument("--max-growth-mb", type=float, default=10.0,
                        help="largest new RSS high allowed in the last third of the run")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    seconds = args.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="cadenza-soak-"))
    osc_port = free_port(socket.SOCK_DGRAM)
    with MosquittoBroker() as broker:
        (work / "gallery.yaml").write_text(
            (ROOT / "samples/installation/gallery.yaml").read_text(encoding="utf-8"))
        (work / "soak.yaml").write_text(f"""\
installation: soak
scene: gallery.yaml
sources:
  osc:
    port: {osc_port}
    inputs:
      /gallery/light: {{input: light, silence: 2 min}}
      /gallery/motion: {{input: motion, silence: 30s}}
  mqtt:
    broker: {broker.url}
    reconnect: {{min: 0.2s, max: 2s}}
    inputs:
      gallery/east/visitors: {{input: visitors, field: count, silence: 5 min}}
outputs:
  wav: {{dir: recordings, rotate: 2 min, keep: 3}}
status_every: 1 min
log: {{level: warning}}
""")
        config = load_config(work / "soak.yaml")
        probe = StreamCheck()
        memory: list[tuple[float, float]] = []
        cache: list[tuple[float, float]] = []
        stop = threading.Event()
        print(f"soak: {args.minutes:g} min in {work}", flush=True)
        with InstallationThread(config, listeners=[probe]) as running:
            inst = running.installation
            sensors = Sensors(osc_port, broker.port, args.garbage, stop)
            sensors.start()
            started = time.monotonic()
            restart_at = args.broker_restart_at * seconds if args.broker_restart_at else None
            restarted = False
            engine = running.call(lambda: inst.runtime.engine(config.engine))

            def cache_mb() -> float:
                # The procedural engine's note cache: bounded (192 MB) by design, it fills
                # during the first minutes; what must stay flat is everything else.
                synth = getattr(engine, "synth", None)
                return getattr(synth, "_bytes", 0) / 2**20

            while (elapsed := time.monotonic() - started) < seconds:
                memory.append((elapsed, rss_mb()))
                cache.append((elapsed, cache_mb()))
                if restart_at is not None and not restarted and elapsed >= restart_at:
                    broker.stop()
                    time.sleep(5)
                    broker.start()
                    restarted = True
                    print(f"  {elapsed:6.0f}s broker killed and restarted", flush=True)
                if len(memory) % 6 == 1:
                    status = running.call(inst.status)
                    print(f"  {elapsed:6.0f}s rss {memory[-1][1]:6.1f} MB (note cache "
                          f"{cache[-1][1]:5.1f} MB) chunks {status['chunks']} "
                          f"underruns {status['underruns']} accepted {status['accepted']} "
                          f"rejected {status['rejected']} blend {status['blend']}", flush=True)
                time.sleep(10)
            stop.set()
            sensors.join(5)
            wall = time.monotonic() - started
            status = running.call(inst.status)
            loop_underruns = running.call(lambda: sum(lp.stats.underruns
                                                      for lp in inst.runtime.loops.values()))
            files = inst.recorder.files()
            recorded = inst.recorder.stats
            memory.append((wall, rss_mb()))
            cache.append((wall, cache_mb()))

    other = [(t, m - c) for (t, m), (_, c) in zip(memory, cache, strict=True)]
    steady = [p for p in other if p[0] >= args.warmup_s]
    # Flat: the last third of the run sets no new high above the steady state before it
    # (allocator churn moves RSS up and down by tens of MB as the note cache turns over;
    # a leak keeps climbing).
    cut = args.warmup_s + (wall - args.warmup_s) * 2 / 3
    before = [m for t, m in memory if args.warmup_s <= t < cut]
    late = [m for t, m in memory if t >= cut]
    growth = (max(late) - max(before)) if before and late else 0.0
    figures = {
        "minutes": round(wall / 60, 2),
        "chunks": status["chunks"],
        "audio_s": round(status["chunks"] * 0.05, 1),
        "gaps": probe.gaps,
        "sessions": len(probe.sessions),
        "quietest_second_rms": round(probe.quietest_s, 4),
        "underruns_session": status["underruns"],
        "underruns_loop": loop_underruns,
        "readings_accepted": status["accepted"],
        "readings_rejected": status["rejected"],
        "readings_dropped": status["dropped"],
        "sent": sensors.sent,
        "restarts": status["restarts"],
        "broker_restarted": restarted,
        "mqtt_connected_at_end": status.get("mqtt_connected"),
        "wav_files_kept": len(files),
        "wav_files_written": recorded.files,
        "wav_files_deleted": recorded.deleted,
        "wav_frames": recorded.frames,
        "wav_dropped_chunks": recorded.dropped_chunks,
        "rss_mb_start": round(memory[0][1], 1),
        "rss_mb_end": round(memory[-1][1], 1),
        "rss_mb_max": round(max(m for _, m in memory), 1),
        "note_cache_mb_end": round(cache[-1][1], 1),
        "rss_minus_cache_mb_after_warmup": round(steady[0][1], 1) if steady else None,
        "rss_minus_cache_mb_end": round(other[-1][1], 1),
        "rss_mb_max_steady_before_last_third": round(max(before), 1) if before else None,
        "rss_mb_max_last_third": round(max(late), 1) if late else None,
        "rss_new_high_in_last_third_mb": round(growth, 1),
        "rss_minus_cache_slope_mb_per_min": round(slope(steady) * 60, 3),
        "rss_slope_last_half_mb_per_min": round(
            slope([p for p in memory if p[0] >= wall / 2]) * 60, 3),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    ok = (figures["underruns_session"] == 0 and figures["underruns_loop"] == 0
          and figures["gaps"] == 0 and figures["sessions"] == 1
          and growth <= args.max_growth_mb)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
