"""`cadenza cluster envoy-config | up | status`, and `cadenza serve --cluster` wiring."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", metavar="redis://HOST:PORT/N",
                   help="join a cluster: register in this Redis and keep session descriptors "
                        "there (docs/cluster.md)")
    p.add_argument("--advertise", metavar="HOST:PORT",
                   help="the gRPC address peers and Envoy reach this worker at "
                        "(default: --host and the gRPC port)")
    p.add_argument("--descriptor-every", type=_blocks, default=20, metavar="BLOCKS",
                   help="write each session's descriptor every BLOCKS chunks (1-400; default "
                        "20: 1 s with the procedural engine). Fewer: a faster failover (a "
                        "restore runs the engine ahead from the last one), more Redis traffic")
    p.add_argument("--opus-bitrate", type=int, default=96_000,
                   help="bit/s of Opus streams (64000-160000; encoded once per session)")


def _blocks(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of blocks: {text!r}") from None
    if not 1 <= value <= 400:
        raise argparse.ArgumentTypeError(f"{value} blocks: must be 1-400")
    return value


def serve_build(args: argparse.Namespace):
    """The `serve_forever` build hook for these flags (None when there is nothing to add)."""
    from ..transports import opus

    if opus.available():
        opus.SHARED.configure(args.opus_bitrate)
    if not getattr(args, "cluster", None):
        return None

    def build(server) -> None:
        from .worker import ClusterWorker

        server.extras.append(ClusterWorker(server, args.cluster, args.advertise or "",
                                           every_blocks=args.descriptor_every))

    return build


def add_parsers(sub) -> None:
    p = sub.add_parser("cluster", help="many workers behind Envoy, sessions in Redis")
    csub = p.add_subparsers(dest="cluster_command", required=True)

    e = csub.add_parser("envoy-config", help="write the Envoy config for a cluster's workers")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--workers-from", metavar="redis://...", help="the workers now live in Redis")
    src.add_argument("--worker", action="append", metavar="HOST:GRPC_PORT[,WS_PORT]",
                     help="a worker (repeat)")
    e.add_argument("--port", type=int, default=10000, help="Envoy's gRPC (+WebSocket) port")
    e.add_argument("--ws-port", type=int, help="a separate WebSocket port (default: --port)")
    e.add_argument("--admin-port", type=int, default=9901)
    e.add_argument("--listen", default="0.0.0.0", help="address Envoy listens on")
    e.add_argument("--lb", default="RING_HASH", choices=["RING_HASH", "MAGLEV"])
    e.add_argument("--out", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_envoy_config)

    u = csub.add_parser("up", help="start Envoy and N workers on loopback (Redis is yours)")
    u.add_argument("--workers", type=int, default=3)
    u.add_argument("--redis", required=True, metavar="redis://HOST:PORT/N")
    u.add_argument("--grpc-port", type=int, default=10000)
    u.add_argument("--ws-port", type=int, default=10001)
    u.add_argument("--max-sessions", type=int, default=256, help="per worker")
    u.set_defaults(func=cmd_up)

    s = csub.add_parser("status", help="list the cluster's workers and sessions")
    s.add_argument("--redis", required=True, metavar="redis://HOST:PORT/N")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)


def cmd_envoy_config(args: argparse.Namespace) -> int:
    from . import envoy

    if args.workers_from:
        from .store import ClusterStore

        live = ClusterStore(args.workers_from).workers()
        workers = [envoy.Upstream(w.address.rpartition(":")[0], int(w.address.rpartition(":")[2]),
                                  int(w.ws_address.rpartition(":")[2]))
                   for w in live]
    else:
        try:
            workers = [envoy.parse_worker(w) for w in args.worker]
        except ValueError as exc:
            raise SystemExit(f"cadenza: {exc}") from None
    try:
        text = envoy.dump(envoy.config(workers, args.port, args.ws_port, args.admin_port, args.lb,
                                       host=args.listen))
    except ValueError as exc:
        raise SystemExit(f"cadenza: {exc}") from None
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from .local import LocalCluster

    cluster = LocalCluster(args.redis, args.workers, args.grpc_port, args.ws_port,
                           args.max_sessions)
    try:
        cluster.start()
    except RuntimeError as exc:
        raise SystemExit(f"cadenza: {exc}") from None
    print(f"cadenza cluster of {args.workers} workers: gRPC {cluster.grpc_address}, "
          f"WebSocket {cluster.ws_url}, workers: "
          f"{', '.join(w.address for w in cluster.workers)}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        while not done.wait(1.0):
            if cluster.envoy is not None and cluster.envoy.poll() is not None:
                print("cadenza: envoy exited", file=sys.stderr)
                return 1
    finally:
        for i in range(len(cluster.workers)):
            cluster.workers[i].process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        time.sleep(0.5)
        cluster.stop()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .store import ClusterStore

    store = ClusterStore(args.redis)
    workers = store.workers()
    sessions = store.sessions()
    alive = {w.id for w in workers}
    if args.json:
        print(json.dumps({"workers": [w.as_json() for w in workers],
                          "sessions": [{"id": s, "worker": o, "generation": g,
                                        "worker_alive": o in alive}
                                       for s, o, g in sessions]}, indent=2))
        return 0
    print(f"{len(workers)} workers")
    print(f"  {'address':<22} {'pid':>7} {'engine':<11} {'capacity':>8} {'sessions':>8}")
    for w in workers:
        print(f"  {w.address:<22} {w.pid:>7} {w.engine:<11} {w.capacity:>8} {w.sessions:>8}")
    print(f"{len(sessions)} sessions")
    for sid, owner, gen in sessions:
        note = "" if owner in alive else "  (worker gone: restored on the next attach)"
        print(f"  {sid:<20} {owner.partition('#')[0]:<22} gen {gen}{note}")
    return 0
