"""Overload: ask a real `cadenza serve` (procedural engine, admission on) for several times
its measured capacity; the admitted sessions must stream without underruns, the rest be
refused at once with RESOURCE_EXHAUSTED and a retry hint, and nobody hang.

    python benchmarks/overload.py --factor 3 --seconds 60 --json overload.json

A few sessions warm the engine so its cost per call is measured; the capacity is read
from /metrics (cadenza_admission_capacity); then ``factor`` × capacity more sessions are
asked for, one after the other, each streamed as soon as it is admitted. Prints a table,
writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time

from cadenza.sdk.aio import AsyncClient
from cadenza.sdk.errors import ResourceExhausted

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _serve import free_port, metric, start_server


async def run(address: str, console: str, factor: float, seconds: float, warm: int,
              settle: float) -> dict:
    async with AsyncClient(address, timeout=30) as client:
        streams, admitted, refused, hints, slowest = [], [], 0, [], 0.0
        counts: dict[str, int] = {}

        async def consume(session):
            counts[session.id] = 0
            async for _chunk in session.stream("s16le", seconds=seconds):
                counts[session.id] += 1

        async def ask(i: int) -> bool:
            nonlocal refused, slowest
            started = time.monotonic()
            try:
                session = await client.create_session(scene="minimal", seed=i)
            except ResourceExhausted as exc:
                refused += 1
                hints.append(exc.retry_after)
                return False
            finally:
                slowest = max(slowest, time.monotonic() - started)
            admitted.append(session)
            streams.append(asyncio.ensure_future(consume(session)))
            return True

        for i in range(warm):
            await ask(i)
        await asyncio.sleep(settle)  # calls measured at this load, past the start-up bursts
        capacity = int(metric(console, "cadenza_admission_capacity"))
        asked = max(1, int(factor * capacity))
        t0 = time.monotonic()
        timeline: list[tuple] = []  # (s since asking began, admitted, underruns, concealed s)

        async def watch():
            while True:
                await asyncio.sleep(2.0)
                total = 0
                for s in list(admitted):
                    info = await s.info()
                    total += info.underruns
                concealed = await asyncio.to_thread(metric, console,
                                                    "cadenza_concealed_seconds_total")
                timeline.append((round(time.monotonic() - t0, 1), len(admitted), total,
                                 round(concealed, 2)))

        watcher = asyncio.ensure_future(watch())
        for i in range(warm, warm + asked):
            await ask(i)
            await asyncio.sleep(0.02)
        await asyncio.gather(*streams)
        watcher.cancel()
        concealed = metric(console, "cadenza_concealed_seconds_total")
        infos = [await s.info() for s in admitted]
        for s in admitted:
            await s.close()
    return {"capacity_measured": capacity, "asked": warm + asked, "admitted": len(admitted),
            "refused": refused, "retry_hints": sorted({h for h in hints if h is not None}),
            "refused_without_hint": sum(1 for h in hints if h is None),
            "underruns_admitted": sum(i.underruns for i in infos),
            "concealed_s_total": round(concealed, 2),
            "short_streams": sum(1 for n in counts.values() if n < seconds / 0.05 - 1),
            "slowest_create_s": round(slowest, 3), "seconds": seconds,
            "underruns_over_time": timeline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm", type=int, default=16)
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds the warm sessions stream before the capacity is read")
    parser.add_argument("--json", default="overload.json")
    args = parser.parse_args()
    console_port = free_port()
    # The server's log (underrun and concealment lines) is shown when $OVERLOAD_SERVER_LOG
    # is set. Admission stays on: it is what this benchmark measures.
    served = start_server(0.5, log_env="OVERLOAD_SERVER_LOG", console_port=console_port)
    try:
        result = asyncio.run(run(served.grpc_address, f"http://127.0.0.1:{console_port}",
                                 args.factor, args.seconds, args.warm, args.settle))
    finally:
        served.stop()
    result["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    with open(args.json, "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
