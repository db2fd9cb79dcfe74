"""Aggregate sessions: one worker against three behind Envoy, on this machine.

    python benchmarks/cluster_capacity.py --workers 1 3 --sessions 24 32 48 64 --seconds 20

For each worker count: redis-server, a local cluster (admission off, to find the raw
capacity), Envoy in front; then each level of N streaming sessions from one asyncio client
through Envoy, measured as `benchmarks/load.py` measures one server (underruns counted by
the workers, concealed seconds from every worker's /metrics, streams lost, lateness). A
level is sustained with 0 underruns, 0 streams lost and at most 0.1 s a session concealed
(the start-up). Prints a table and
the ratio of sustained sessions, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys

from cadenza.runtime.cluster.local import LocalCluster
from cadenza.runtime.cluster.redis_server import RedisServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import run_level


def sustained(row: dict) -> bool:
    """No underrun, no stream lost, and at most 0.1 s a session concealed (the start-up:
    every new session's first blocks are generated at once)."""
    return row["underruns_total"] == 0 and row["lost"] == 0 and \
        row["concealed_s"] <= 0.1 * row["sessions"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--sessions", type=int, nargs="+", default=[24, 32, 48, 64])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", default="cluster_capacity.json")
    args = parser.parse_args()
    out: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                            f"{os.cpu_count()} CPUs", "seconds": args.seconds, "runs": {}}
    for workers in args.workers:
        rows = []
        with RedisServer() as rs, LocalCluster(rs.url, workers, max_sessions=1024,
                                               extra_args=("--no-admission",),
                                               consoles=True) as cluster:
            consoles = [f"http://127.0.0.1:{w.console_port}" for w in cluster.workers]
            for n in args.sessions:
                row = asyncio.run(run_level(cluster.grpc_address, consoles, n, args.seconds))
                rows.append(row)
                print(f"{workers} worker(s), {n} sessions: {row['underruns_total']} underruns, "
                      f"{row['concealed_s']} s concealed, {row['lost']} lost, lateness p99 "
                      f"{row['lateness_p99_ms']} ms", flush=True)
                if not sustained(row):
                    break  # past the capacity: the next levels only fail harder
        out["runs"][str(workers)] = {
            "levels": rows,
            "sustained": max((r["sessions"] for r in rows if sustained(r)), default=0)}
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)
    print(f"\n{out['machine']}, {args.seconds:.0f} s per level\n")
    print(f"{'workers':>7} {'sustained sessions':>18}")
    for workers, run in out["runs"].items():
        print(f"{workers:>7} {run['sustained']:>18}")
    runs = out["runs"]
    if "1" in runs and runs["1"]["sustained"]:
        for workers, run in runs.items():
            if workers != "1":
                print(f"ratio {workers} : 1 = {run['sustained'] / runs['1']['sustained']:.2f}")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
