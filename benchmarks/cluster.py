"""Cluster benchmark: failover time (kill -9 -> first restored audio at the client) and
Redis traffic per session, on a local cluster (redis-server, N workers, Envoy).

    python benchmarks/cluster.py --workers 3 --sessions 6 --kills 100 --json cluster.json

Each kill: the worker holding the most sessions is killed with SIGKILL; for each of its
sessions, the time from the kill to the first chunk the client receives after it (through
Envoy, from the worker that restored it) is one failover sample. The worker is started
again before the next kill. Redis traffic: commands and bytes into Redis per session per
minute in a quiet window (no kill), from Redis's own INFO counters.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import threading
import time

import redis

from cadenza.runtime.cluster.local import LocalCluster
from cadenza.runtime.cluster.redis_server import RedisServer
from cadenza.runtime.cluster.store import ClusterStore
from cadenza.sdk import Client


class Tap:
    """Streams one session forever (until stopped), recording (wall time, seq)."""

    def __init__(self, session) -> None:
        self.session = session
        self.rows: list[tuple[float, int]] = []
        self.stop = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            for chunk in self.session.stream("s16le", max_retries=30):
                self.rows.append((time.monotonic(), chunk.seq))
                if self.stop:
                    return
        except BaseException as exc:
            self.error = exc

    def first_after(self, t: float, timeout: float = 15.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [w for w, _ in self.rows if w > t]
            if later:
                return later[0]
            time.sleep(0.01)
        return None


def redis_counters(url: str) -> tuple[int, int]:
    info = redis.Redis.from_url(url).info()
    return int(info["total_commands_processed"]), int(info["total_net_input_bytes"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--quiet-seconds", type=float, default=20.0)
    parser.add_argument("--descriptor-every", type=int, default=None, metavar="BLOCKS",
                        help="the workers' --descriptor-every (default: theirs)")
    parser.add_argument("--json", default="cluster.json")
    args = parser.parse_args()
    samples: list[float] = []
    lost = 0
    extra = () if args.descriptor_every is None else \
        ("--descriptor-every", str(args.descriptor_every))
    with RedisServer() as rs, LocalCluster(rs.url, args.workers, extra_args=extra) as cluster, \
            Client(cluster.grpc_address) as client:
        store = ClusterStore(rs.url)
        sessions = [client.create_session("minimal", seed=i) for i in range(args.sessions)]
        taps = [Tap(s) for s in sessions]
        time.sleep(3.0)
        c0, b0 = redis_counters(rs.url)
        time.sleep(args.quiet_seconds)
        c1, b1 = redis_counters(rs.url)
        per_min = 60.0 / args.quiet_seconds / args.sessions
        redis_row = {"commands_per_session_minute": round((c1 - c0) * per_min, 1),
                     "bytes_per_session_minute": round((b1 - b0) * per_min)}
        for k in range(args.kills):
            placed: dict[str, str] = {sid: o.partition("#")[0] for sid, o, _ in store.sessions()}
            counts = {w.address: sum(o == w.address for o in placed.values())
                      for w in cluster.workers}
            victim = max(cluster.workers, key=lambda w: counts[w.address])
            doomed = [t for t in taps if placed.get(t.session.id) == victim.address]
            index = cluster.workers.index(victim)
            killed = time.monotonic()
            cluster.kill(index)
            for tap in doomed:
                first = tap.first_after(killed)
                if first is None:
                    lost += 1
                else:
                    samples.append(first - killed)
            cluster.start_worker(index)
            time.sleep(1.5)
            print(f"kill {k + 1}/{args.kills}: {len(doomed)} sessions, "
                  f"p50 so far {statistics.median(samples) if samples else float('nan'):.3f}s",
                  flush=True)
        for tap in taps:
            tap.stop = True
        errors = [repr(t.error) for t in taps if t.error is not None]
        gaps = sum(1 for t in taps for a, b in zip(t.rows, t.rows[1:], strict=False)
                   if b[1] != a[1] + 1)
        for s in sessions:
            with contextlib.suppress(Exception):
                s.close()
    result = {
        "machine": platform.platform(), "cpus": os.cpu_count(), "workers": args.workers,
        "sessions": args.sessions, "kills": args.kills,
        "descriptor_every": args.descriptor_every, "failovers": len(samples),
        "lost": lost, "stream_errors": errors, "seq_gaps": gaps,
        "failover_p50_s": round(statistics.median(samples), 3) if samples else None,
        "failover_p99_s": round(percentile(samples, 0.99), 3) if samples else None,
        "failover_max_s": round(max(samples), 3) if samples else None,
        **redis_row,
    }
    print(json.dumps(result, indent=2))
    with open(args.json, "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
