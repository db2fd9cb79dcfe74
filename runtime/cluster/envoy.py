"""The Envoy configuration for a Cadenza cluster, as a plain dict (written as YAML).

One listener serves gRPC (HTTP/2) and the WebSocket bridge (HTTP/1.1 upgrade): ``codec_type:
AUTO``. Routing:

* gRPC ``/cadenza.v1.Runtime/*`` -> cluster ``cadenza_grpc``; WebSocket ``/v1/stream`` ->
  cluster ``cadenza_ws`` (upgrade allowed). Both use consistent hashing (``RING_HASH`` or
  ``MAGLEV``) on the header ``x-cadenza-session``, and for WebSocket on the query
  parameter ``session`` (browsers cannot set headers), so every call and reconnect of a
  session lands on the worker that holds it while that worker is healthy.
* Active health checks on gRPC health (``grpc.health.v1``) of every worker, twice a
  second: a draining or dead worker leaves the ring within about a second.
* Retries: calls that find a worker gone (connect failure, refused stream, reset) go to
  another host (``previous_hosts`` predicate), up to 3 times. A worker at its
  session limit answers ``CreateSession`` with ``RESOURCE_EXHAUSTED``; the SDKs retry with
  a fresh routing id, which hashes to another worker (see ``_retry``).

Workers are static (``--worker HOST:GRPC_PORT[,WS_PORT]``) or read from Redis at generation
time; production uses EDS or DNS discovery instead (docs/cluster.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

SESSION_HEADER = "x-cadenza-session"
SESSION_QUERY = "session"


@dataclass(frozen=True)
class Upstream:
    host: str
    grpc_port: int
    ws_port: int


def parse_worker(text: str) -> Upstream:
    """``HOST:GRPC_PORT`` or ``HOST:GRPC_PORT,WS_PORT`` (WebSocket default: grpc port + 1)."""
    addr, _, ws = text.partition(",")
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"--worker {text!r}: expected HOST:GRPC_PORT[,WS_PORT]")
    if ws and not ws.isdigit():
        raise ValueError(f"--worker {text!r}: the WebSocket port must be a number")
    return Upstream(host, int(port), int(ws) if ws else int(port) + 1)


def _endpoints(workers: Sequence[Upstream], which: str) -> list[dict]:
    return [{"endpoint": {"address": {"socket_address": {
        "address": w.host, "port_value": w.grpc_port if which == "grpc" else w.ws_port}}}}
        for w in workers]


def _cluster(name: str, workers: Sequence[Upstream], which: str, lb: str,
             health_interval_s: float) -> dict:
    cluster: dict = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "0.5s",
        "lb_policy": lb,
        "load_assignment": {"cluster_name": name,
                            "endpoints": [{"lb_endpoints": _endpoints(workers, which)}]},
        "health_checks": [{
            "timeout": "1s", "interval": f"{health_interval_s}s",
            "unhealthy_threshold": 2, "healthy_threshold": 1,
            "no_traffic_interval": f"{health_interval_s}s",
            "grpc_health_check": {},
        }],
        "common_lb_config": {"healthy_panic_threshold": {"value": 0.0}},
        # A worker whose port refuses a connection is dead: out of the ring at the first
        # refusal (the health checks take a second), so the retry and every reconnect of
        # its sessions hash to a live worker.
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 1,
            "enforcing_consecutive_local_origin_failure": 100,
            "consecutive_5xx": 1000000, "enforcing_consecutive_5xx": 0,
            "consecutive_gateway_failure": 1000000, "enforcing_consecutive_gateway_failure": 0,
            "enforcing_success_rate": 0,
            "interval": "0.5s", "base_ejection_time": "2s", "max_ejection_percent": 67,
        },
    }
    if which == "grpc":
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}}}
    else:
        # gRPC health checks need HTTP/2: the WebSocket port is checked by TCP connect
        # (a draining worker answers attaches with "moved" itself).
        cluster["health_checks"][0].pop("grpc_health_check")
        cluster["health_checks"][0]["tcp_health_check"] = {}
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}}}}
    if lb == "RING_HASH":
        cluster["ring_hash_lb_config"] = {"minimum_ring_size": 1024}
    return cluster


def _retry() -> dict:
    # Not resource-exhausted: a full worker's CreateSession is retried by the SDK with a
    # fresh routing id, so the session lands where its id hashes (Envoy's retry would put
    # it on a host its later calls never reach).
    # Not unavailable either: a worker answers "moved" while it restores a session, and
    # the session must be asked for again at the same worker, not raced on another.
    return {"retry_on": "connect-failure,refused-stream,reset",
            "num_retries": 3, "per_try_timeout": "0s",
            "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
                                      "typed_config": {"@type": "type.googleapis.com/envoy."
                                                       "extensions.retry.host.previous_hosts."
                                                       "v3.PreviousHostsPredicate"}}],
            "host_selection_retry_max_attempts": 5}


def config(workers: Sequence[Upstream], port: int = 10000, ws_port: int | None = None,
           admin_port: int = 0, lb: str = "RING_HASH", health_interval_s: float = 0.5,
           host: str = "127.0.0.1") -> dict:
    """The whole bootstrap. ``ws_port``: a second listener just for WebSocket (None: the
    gRPC listener serves both)."""
    if not workers:
        raise ValueError("no workers: give --worker HOST:PORT or a Redis with live workers")
    if lb not in ("RING_HASH", "MAGLEV"):
        raise ValueError("lb must be RING_HASH or MAGLEV")
    hashing = [{"header": {"header_name": SESSION_HEADER}},
               {"query_parameter": {"name": SESSION_QUERY}}]
    routes = [
        {"match": {"prefix": "/v1/stream"},
         "route": {"cluster": "cadenza_ws", "hash_policy": hashing, "timeout": "0s",
                   "upgrade_configs": [{"upgrade_type": "websocket"}]}},
        {"match": {"prefix": "/", "grpc": {}},
         "route": {"cluster": "cadenza_grpc", "hash_policy": hashing, "timeout": "0s",
                   "max_stream_duration": {"grpc_timeout_header_max": "0s"},
                   "retry_policy": _retry()}},
    ]

    def listener(name: str, listen_port: int) -> dict:
        return {
            "name": name,
            "address": {"socket_address": {"address": host, "port_value": listen_port}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network."
                             "http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": name, "codec_type": "AUTO",
                    "stream_idle_timeout": "0s",
                    "upgrade_configs": [{"upgrade_type": "websocket"}],
                    "route_config": {"name": "cadenza", "virtual_hosts": [
                        {"name": "cadenza", "domains": ["*"], "routes": routes}]},
                    "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                }}]}],
        }

    listeners = [listener("cadenza", port)]
    if ws_port is not None:
        listeners.append(listener("cadenza_ws", ws_port))
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": admin_port}}},
        "static_resources": {
            "listeners": listeners,
            "clusters": [_cluster("cadenza_grpc", workers, "grpc", lb, health_interval_s),
                         _cluster("cadenza_ws", workers, "ws", lb, health_interval_s)],
        },
    }


def dump(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)
