"""Served vs engine-alone: how many MRT2 sessions `cadenza serve` holds in real time.

    python benchmarks/serve_mrt2.py --levels 4 8 12 16 --seconds 20 --json serve_mrt2.json

Stage 1 (engine alone, in this process): the `magenta-rt2` engine with the served
configuration (model tiny — random weights of the real architecture —, K = 5 frames per
call, buckets precompiled), B sessions at once: seconds per call, frames/s aggregate, and
the real-time factor each session gets (audio seconds per call / call seconds). Sessions
it sustains: the largest B whose factor is ≥ 1.

Stage 2 (served): `cadenza serve --engine magenta-rt2 --model tiny` as its own process,
then N sessions streamed over gRPC by one asyncio client for ``--seconds``: underruns
(counted by the server), seconds the fallback voice covered (cadenza_concealed_seconds),
rows per engine call (from /metrics: cadenza_batch_size sum / count), the server's
cadenza_realtime_factor. Sessions it sustains: the largest N with 0 underruns and nothing
concealed after the start-up (the first STARTUP_S seconds, while every session's first
blocks are being generated at once). The ratio served / engine-alone is the figure of merit
(same machine, same run). Prints a table, writes JSON after each stage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serve import free_port, metric

STARTUP_S = 5.0
PROMPTS = ["calm ambient piano", "fast aggressive drums", "dark drones", "lo-fi hip hop",
           "epic orchestral", "warm jazz trio", "synthwave", "celtic fiddle"]


def engine_alone(levels: list[int], calls: int) -> list[dict]:
    from cadenza.runtime.engines.base import Knobs, Prompt
    from cadenza.runtime.engines.magenta_rt2.engine import MagentaRT2Engine

    engine = MagentaRT2Engine(model="tiny", max_sessions=max(levels), precompile="all")
    rows = []
    for b in levels:
        handles = [engine.init_state(i) for i in range(b)]
        styles = np.stack([engine.embed(Prompt(text=PROMPTS[i % len(PROMPTS)])).vector
                           for i in range(b)])
        knobs = [Knobs()] * b
        frames = engine.info.block_frames
        for _ in range(3):  # warm: first calls after joining write rows, may resize
            engine.generate(handles, styles, knobs, frames)
        started = time.perf_counter()
        for _ in range(calls):
            engine.generate(handles, styles, knobs, frames)
        per_call = (time.perf_counter() - started) / calls
        audio = frames / engine.info.sample_rate
        rows.append({"sessions": b, "call_s": round(per_call, 4),
                     "frames_per_s": round(b * engine.frames_per_call / per_call, 1),
                     "rtf_each": round(audio / per_call, 3)})
        for h in handles:
            engine.release(h)
        print(f"engine alone B={b}: {per_call * 1000:.1f} ms per call, "
              f"{rows[-1]['rtf_each']}x real time each", flush=True)
    return rows


async def stream_level(address: str, console: str, n: int, seconds: float) -> dict:
    from cadenza.sdk.aio import AsyncClient

    def scrape() -> dict[str, float]:
        names = ("cadenza_batch_size_count", "cadenza_batch_size_sum",
                 "cadenza_concealed_seconds_total", "cadenza_realtime_factor")
        return {n: metric(console, n, engine="magenta-rt2") for n in names}

    async with AsyncClient(address, timeout=60) as client:
        before = scrape()
        handles = [await client.create_session(scene="minimal", seed=i) for i in range(n)]
        counts = dict.fromkeys((h.id for h in handles), 0)

        async def consume(session):
            async for _chunk in session.stream("s16le", seconds=seconds):
                counts[session.id] += 1

        async def startup() -> dict[str, float]:
            await asyncio.sleep(STARTUP_S)
            return scrape()

        marks = await asyncio.gather(startup(), *(consume(h) for h in handles))
        settled = marks[0]
        infos = [await h.info() for h in handles]
        after = scrape()
        for h in handles:
            await h.close()

    def moved(name: str) -> float:
        return after[name] - before[name]

    calls = moved("cadenza_batch_size_count")
    return {"sessions": n, "seconds": seconds,
            "underruns": sum(i.underruns for i in infos),
            "rows_per_call": round(moved("cadenza_batch_size_sum") / calls, 2) if calls else 0.0,
            "engine_calls": int(calls),
            "realtime_factor": round(after["cadenza_realtime_factor"], 3),
            "concealed_s": round(moved("cadenza_concealed_seconds_total"), 2),
            "concealed_steady_s": round(after["cadenza_concealed_seconds_total"]
                                        - settled["cadenza_concealed_seconds_total"], 2),
            "chunks": sum(counts.values())}


def served(levels: list[int], seconds: float) -> list[dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadenza.runtime.cli", "serve", "--engine", "magenta-rt2",
         "--model", "tiny", "--max-sessions", str(max(levels)), "--grpc-port", "0",
         "--ws-port", "0", "--console-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        grpc = re.search(r"gRPC ([\d.]+:\d+)", line)
        console = re.search(r"console (https?://[\d.]+:\d+)", line)
        if not grpc or not console:
            raise SystemExit(f"server did not start: {line!r}")
        rows = []
        for n in levels:
            rows.append(asyncio.run(stream_level(grpc.group(1), console.group(1), n, seconds)))
            r = rows[-1]
            print(f"served N={n}: {r['underruns']} underruns, {r['rows_per_call']} rows/call",
                  flush=True)
        return rows
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[4, 8, 12, 16])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--calls", type=int, default=20, help="timed calls per engine-alone level")
    parser.add_argument("--json", default="serve_mrt2.json")
    args = parser.parse_args()
    out: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                 "python": platform.python_version()}

    def save() -> None:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)

    out["engine_alone"] = engine_alone(args.levels, args.calls)
    save()
    out["served"] = served(args.levels, args.seconds)
    alone = max((r["sessions"] for r in out["engine_alone"] if r["rtf_each"] >= 1.0), default=0)
    serve = max((r["sessions"] for r in out["served"]
                 if r["underruns"] == 0 and r["concealed_steady_s"] == 0), default=0)
    out["sustained"] = {"engine_alone": alone, "served": serve,
                        "ratio": round(serve / alone, 2) if alone else None}
    save()
    print(f"\n{out['machine']}, Python {out['python']}\n")
    print(f"{'sessions':>8} {'alone ms/call':>13} {'alone rtf':>9} {'served underruns':>16} "
          f"{'concealed':>9} {'after start-up':>14} {'rows/call':>9} {'served rtf':>10}")
    for a, s in zip(out["engine_alone"], out["served"], strict=True):
        print(f"{a['sessions']:>8} {a['call_s'] * 1000:>13.1f} {a['rtf_each']:>9.2f} "
              f"{s['underruns']:>16} {s['concealed_s']:>8.2f}s {s['concealed_steady_s']:>13.2f}s "
              f"{s['rows_per_call']:>9.2f} "
              f"{s['realtime_factor']:>10.2f}")
    print(f"\nsustained: engine alone {alone}, served {serve}, ratio {out['sustained']['ratio']}")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
