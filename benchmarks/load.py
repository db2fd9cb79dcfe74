"""Load benchmark: N concurrent streaming sessions against a real `cadenza serve`.

    python benchmarks/load.py --sessions 1 8 32 64 --seconds 60 --json load.json

Starts the server as its own process (procedural engine, loopback), then one asyncio
client process streams every session. Reports per session: underruns (counted by the
server), and delivery jitter — how far each chunk's arrival strays from its real-time
slot: interarrival jitter |Δt - chunk length| (p50, p99; 50 ms chunks unless
`--band-chunk-ms`), and lateness behind the real-time schedule (p99, max: the client
buffer needed never to run dry), over all sessions, in steady state (after the first
3 s); and the CPU each process used per 50 ms of audio (server, its band workers, the
client). Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import psutil

from cadenza.sdk.aio import AsyncClient
from cadenza.sdk.errors import CadenzaError, NotFound, ResourceExhausted

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serve import free_port, metric
from _serve import start_server as serve

SCENES = ("dungeon", "museum", "minimal")


def start_server(lookahead: float, *extra: str) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    served = serve(lookahead, *extra, log_env="LOAD_SERVER_LOG", console_port=port)
    return served.process, served.grpc_address, f"http://127.0.0.1:{port}"


async def info_or_none(handle):
    """The session's info, or None when the server no longer has it (a stream that fell
    too far behind is dropped, and a session nobody streams is reaped)."""
    try:
        return await handle.info()
    except NotFound:
        return None


def cpu_seconds(server_pid: int | None) -> tuple[float, float, float]:
    """CPU seconds so far of the server process, of its children (band workers), and of
    this client process (zeros for the server when ``server_pid`` is None)."""
    me = os.times()
    if server_pid is None:
        return 0.0, 0.0, me.user + me.system
    server = psutil.Process(server_pid)
    own = sum(server.cpu_times()[:2])
    children = 0.0
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += sum(child.cpu_times()[:2])
    return own, children, me.user + me.system


async def run_level(address: str, console: str | list[str], sessions: int,
                    seconds: float, server_pid: int | None = None) -> dict:
    """One level against ``address``; ``console``: the server's console URL (or every
    worker's, behind a load balancer) for the concealed seconds; ``server_pid``: the
    server's process, for CPU per 50 ms of audio by process (server, band workers, client)."""
    consoles = [console] if isinstance(console, str) else console
    concealed0 = sum(metric(c, "cadenza_concealed_seconds_total") for c in consoles)
    cpu0 = cpu_seconds(server_pid)
    async with AsyncClient(address, timeout=30) as client:
        handles, refused = [], 0
        for i in range(sessions):  # admission on: a refused session is counted, not retried
            try:
                handles.append(await client.create_session(scene=SCENES[i % len(SCENES)],
                                                           seed=i))
            except ResourceExhausted:
                refused += 1
        arrivals: dict[str, list[float]] = {h.id: [] for h in handles}
        chunk_s: list[float] = []  # the first chunk's length (50 ms; --band-chunk-ms)
        dropped: dict[str, str] = {}  # streams the server ended (too far behind), and why

        async def consume(session):
            try:
                async for chunk in session.stream("s16le", seconds=seconds):
                    arrivals[session.id].append(time.monotonic())
                    if not chunk_s:
                        chunk_s.append(chunk.frames / chunk.sample_rate)
            except CadenzaError as exc:
                dropped[session.id] = str(exc)

        started = time.monotonic()
        # A level far behind real time would take many times ``seconds``: its streams are
        # cut at twice that (plus start-up) and counted as short.
        tasks = [asyncio.ensure_future(consume(h)) for h in handles]
        _, late = await asyncio.wait(tasks, timeout=2 * seconds + 15)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        wall = time.monotonic() - started
        cpu = [b - a for a, b in zip(cpu0, cpu_seconds(server_pid), strict=True)]
        infos = {h.id: await info_or_none(h) for h in handles}
        for h in handles:
            with contextlib.suppress(NotFound):
                await h.close()
    # Steady state: skip the first 3 s (history replay and the lookahead burst).
    period = chunk_s[0] if chunk_s else 0.05
    skip = round(3.0 / period)
    jitter, lateness = [], []
    for times in arrivals.values():
        steady = times[skip:]
        gaps = [b - a for a, b in itertools.pairwise(steady)]
        jitter += [abs(g - period) for g in gaps]
        # Lateness: how much later than the real-time schedule set by the earliest chunk
        # so far a chunk arrives, i.e. the client buffer needed to never run dry.
        earliest = float("inf")
        for i, t in enumerate(steady):
            earliest = min(earliest, t - i * period)
            lateness.append(t - i * period - earliest)
    jitter.sort()
    lateness.sort()

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else 0.0

    underruns = [info.underruns for info in infos.values() if info is not None]
    chunks = sum(len(t) for t in arrivals.values())
    blocks = chunks * period / 0.05  # 50 ms of audio each
    per_block = [round(c / blocks * 1000, 3) if blocks else 0.0 for c in cpu]
    return {
        "concealed_s": round(sum(metric(c, "cadenza_concealed_seconds_total")
                                 for c in consoles) - concealed0, 2),
        "refused": refused,
        "lost": sum(1 for info in infos.values() if info is None),
        "dropped": len(dropped), "dropped_why": sorted(set(dropped.values()))[:3],
        "short": sum(1 for t in arrivals.values() if len(t) < seconds / period - 1),
        "cut": len(late),
        "sessions": sessions, "seconds": seconds, "wall_s": round(wall, 2),
        "chunk_ms": round(period * 1000, 1),
        # CPU per 50 ms of audio received, ms (the server's two only with its pid)
        "cpu_server_ms": per_block[0], "cpu_band_workers_ms": per_block[1],
        "cpu_client_ms": per_block[2], "cpu_cores": round(sum(cpu) / wall, 2),
        "chunks": chunks,
        "underruns_total": sum(underruns), "underruns_max_per_session": max(underruns, default=0),
        "jitter_p50_ms": round(pct(jitter, 0.50), 2), "jitter_p99_ms": round(pct(jitter, 0.99), 2),
        "lateness_p99_ms": round(pct(lateness, 0.99), 2),
        "lateness_max_ms": round(lateness[-1] * 1000, 2) if lateness else 0.0,
        "mean_interarrival_ms": round(statistics.fmean(
            [b - a for t in arrivals.values() for a, b in itertools.pairwise(t[skip:])] or [0.0])
            * 1000, 3),  # 0 when nothing streamed past start-up (every session refused)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lookahead", type=float, default=0.5)
    parser.add_argument("--json", default="load.json")
    parser.add_argument("--admission", action="store_true",
                        help="keep the server's admission control on (default: off, to find "
                             "the raw capacity)")
    parser.add_argument("--band-processes", type=int, default=0, metavar="N",
                        help="the server's `--band-processes` (0: the band in the server)")
    parser.add_argument("--band-chunk-ms", type=int, default=50, metavar="MS",
                        help="the server's `--band-chunk-ms` (audio per step and chunk)")
    args = parser.parse_args()
    extra = ["--max-sessions", "1024"] + ([] if args.admission else ["--no-admission"])
    extra += ["--band-processes", str(args.band_processes),
              "--band-chunk-ms", str(args.band_chunk_ms)]
    results = []
    for n in args.sessions:
        proc, address, console = start_server(args.lookahead, *extra)
        try:
            results.append(asyncio.run(run_level(address, console, n, args.seconds,
                                                 proc.pid)))
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; {args.seconds:.0f} s per level, "
          f"lookahead {args.lookahead} s, band processes {args.band_processes}, "
          f"chunks of {args.band_chunk_ms} ms\n")
    print(f"{'sessions':>8} {'refused':>7} {'lost':>5} {'dropped':>7} {'cut':>4} {'chunks':>8} "
          f"{'underruns':>9} {'concealed':>9} "
          f"{'max/sess':>8} {'jitter p50':>11} {'p99':>8} {'late p99':>9} {'late max':>9} "
          f"{'interarrival':>12} {'cpu/50ms: server':>16} {'band':>6} {'client':>6} "
          f"{'cores':>5}")
    for r in results:
        print(f"{r['sessions']:>8} {r['refused']:>7} {r['lost']:>5} {r['dropped']:>7} "
              f"{r['cut']:>4} {r['chunks']:>8} "
              f"{r['underruns_total']:>9} "
              f"{r['concealed_s']:>8.2f}s "
              f"{r['underruns_max_per_session']:>8} {r['jitter_p50_ms']:>9.1f}ms "
              f"{r['jitter_p99_ms']:>6.1f}ms {r['lateness_p99_ms']:>7.1f}ms "
              f"{r['lateness_max_ms']:>7.1f}ms {r['mean_interarrival_ms']:>10.2f}ms "
              f"{r['cpu_server_ms']:>14.3f}ms {r['cpu_band_workers_ms']:>4.3f}ms "
              f"{r['cpu_client_ms']:>4.3f}ms {r['cpu_cores']:>5.2f}")
    with open(args.json, "w") as handle:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(),
                   "band_processes": args.band_processes,
                   "band_chunk_ms": args.band_chunk_ms, "results": results},
                  handle, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
