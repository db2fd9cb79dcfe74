"""The long fuzzing campaign: >= 100,000 cases over every input surface, then a table and JSON.

    python benchmarks/fuzz.py --cases 100000 --json fuzz.json [--save-corpus]

Per pure target (YAML loader, scene compiler, expression parser, WebSocket codec and
audio frames, MQTT and OSC decoders) it runs the hypothesis strategies of tests/fuzz
(structure-aware) and then byte/character mutations of what they produced plus the
example scenes (fast, for volume). A gRPC server then runs on loopback with a bystander
session streaming while fuzzed CreateSession / ValidateScene / UpdateState requests (and
raw malformed protobuf bytes) arrive; its status codes and the bystander's underruns are
counted. A crash is any exception outside the target's contract, a hang any case over
2 s. ``--save-corpus`` keeps a small, varied sample of inputs (and every crash) under
tests/data/fuzz-corpus/<target>/ for the CI suite to replay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.fuzz.targets (the strategies are shared)

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzz.targets import CORPUS, SCENES, STRATEGIES, TARGETS, corpus, load  # noqa: E402

HANG_S = 2.0
PIECES = ["[", "{", "(", ")", "*a", "&a ", "<<: *a", "\n  ", ": ", "'", '"', "-", "9" * 60,
          "\x00", "\x01", "\ufffe", "nan", "inf", " if ", " else ", "not ", "#", ",", "\n- ",
          "!!python/object ", "é", "\U0001f3b5", "\\u0000", "}", "]", "true", "null", "e999"]


class Stats:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = 0
        self.outcomes: dict[str, int] = {}
        self.crashes: list[tuple[object, str]] = []
        self.hangs = 0
        self.slowest = 0.0
        self.samples: dict[str, object] = {}  # signature -> input, for the corpus

    def run(self, value: object) -> None:
        target, _ = TARGETS[self.name]
        started = time.perf_counter()
        try:
            outcome = target(value)
        except Exception:  # a crash: outside the target's contract
            outcome = "crash"
            self.crashes.append((value, traceback.format_exc(limit=3)))
        elapsed = time.perf_counter() - started
        self.cases += 1
        self.slowest = max(self.slowest, elapsed)
        if elapsed > HANG_S:
            self.hangs += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        size = len(value) if isinstance(value, (str, bytes)) else 0
        signature = f"{outcome}:{min(size.bit_length(), 14)}"
        if signature not in self.samples and size <= 4096:
            self.samples[signature] = value


def mutate(value: str | bytes, rng: random.Random) -> str | bytes:
    if isinstance(value, bytes):
        data = bytearray(value or b"\x00")
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            at = rng.randrange(len(data) + 1)
            if op < 0.4 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op < 0.6:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op < 0.8 and data:
                del data[at:at + rng.randint(1, 16)]
            else:
                data[at:at] = data[at:at + 8] * rng.randint(2, 64)
        return bytes(data[:8192])
    text = value
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(text) + 1)
        op = rng.random()
        piece = rng.choice(PIECES)
        if op < 0.35:
            text = text[:at] + piece + text[at:]
        elif op < 0.55:
            text = text[:at] + text[at + rng.randint(1, 30):]
        elif op < 0.75:
            text = text[:at] + piece * rng.randint(2, 400) + text[at:]
        elif op < 0.9 and text:
            line = rng.choice(text.splitlines() or [text])
            text = text[:at] + "\n" + line + text[at:]
        else:
            code = rng.randrange(0x20000)
            code += 0x800 if 0xD800 <= code < 0xE000 else 0  # no lone surrogates: not text
            text = text[:at] + chr(code) + text[at:]
    return text[:300_000]


def run_target(name: str, cases: int, structured: int, rng: random.Random) -> Stats:
    stats = Stats(name)
    seeds: list[str | bytes] = []
    kind = TARGETS[name][1]
    for path in corpus(name):
        seeds.append(load(path, kind))
    if name in ("yaml_loader", "scene_compiler"):
        seeds.extend(p.read_text(encoding="utf-8") for p in SCENES)

    @settings(max_examples=structured, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[name])
    def structured_run(value):
        stats.run(value)
        if len(seeds) < 2000:
            seeds.append(value)

    structured_run()
    seeds = seeds or ([""] if kind == "text" else [b""])
    while stats.cases < cases:
        stats.run(mutate(rng.choice(seeds), rng))
    return stats


# ------------------------------------------------------------------------------- gRPC
def run_grpc(cases: int, rng: random.Random, samples: list[str]) -> dict:
    import grpc

    from cadenza.runtime.serve import ServeOptions
    from cadenza.runtime.server import RuntimeConfig
    from cadenza.runtime.testing import ServerThread
    from cadenza.sdk import Client
    from cadenza.v1 import runtime_pb2 as pb
    from cadenza.v1 import runtime_pb2_grpc as pb_grpc

    codes: dict[str, int] = {}
    bad: list[str] = []
    slowest = 0.0
    config = RuntimeConfig(idle_timeout_s=120, max_sessions=64)
    with ServerThread(ServeOptions(grpc_port=0, ws_port=0, runtime=config)) as server:
        deadline = time.monotonic() + 60
        while not server.runtime.compile_pool.started and time.monotonic() < deadline:
            time.sleep(0.1)
        client = Client(server.grpc_address)
        bystander = client.create_session(scene="minimal")
        streamed = {"chunks": 0}
        stop = threading.Event()

        def listen() -> None:
            for _ in bystander.stream(seconds=3600):
                streamed["chunks"] += 1
                if stop.is_set():
                    break

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(2.0)  # past the lookahead burst
        underruns_before = client.get_session(bystander.id).underruns
        channel = grpc.insecure_channel(server.grpc_address)
        stub = pb_grpc.RuntimeStub(channel)
        started = time.perf_counter()
        for _ in range(cases):
            pick = rng.random()
            text = mutate(rng.choice(samples), rng) if samples else "scene: x"
            try:
                t0 = time.perf_counter()
                if pick < 0.35:
                    method = "ValidateScene"
                    stub.ValidateScene(pb.ValidateSceneRequest(scene_yaml=text), timeout=10)
                elif pick < 0.6:
                    method = "CreateSession"
                    info = stub.CreateSession(pb.CreateSessionRequest(scene_yaml=text,
                                                                      paused=True), timeout=10)
                    stub.CloseSession(pb.CloseSessionRequest(session_id=info.session_id),
                                      timeout=10)
                elif pick < 0.8:
                    method = "UpdateState"
                    name = rng.choice(["intensity", "danger", "dangér", "x" * 300, ""])
                    value = rng.choice([pb.Value(number=rng.choice([float("nan"), 1e308, -1.0,
                                                                    0.5])),
                                        pb.Value(text=mutate("cave", rng)), pb.Value()])
                    stub.UpdateState(pb.UpdateStateRequest(
                        session_id=rng.choice([bystander.id, mutate(bystander.id, rng)]),
                        values={name: value}), timeout=10)
                else:
                    method = "raw:" + rng.choice(["CreateSession", "ValidateScene", "GetSession",
                                                  "UpdateState", "SetPrompts", "Trigger"])
                    call = channel.unary_unary(f"/cadenza.v1.Runtime/{method[4:]}")
                    call(bytes(rng.randrange(256) for _ in range(rng.randint(1, 120))),
                         timeout=10)
                code = "OK"
            except grpc.RpcError as exc:
                code = exc.code().name
            slowest = max(slowest, time.perf_counter() - t0)
            codes[code] = codes.get(code, 0) + 1
            if code in ("INTERNAL", "UNKNOWN") and len(bad) < 20:
                bad.append(f"{method}: {text[:200]!r}")
        wall = time.perf_counter() - started
        underruns = client.get_session(bystander.id).underruns - underruns_before
        stop.set()
        channel.close()
    return {"cases": cases, "codes": codes, "internal_unknown": codes.get("INTERNAL", 0)
            + codes.get("UNKNOWN", 0), "examples": bad, "slowest_s": round(slowest, 3),
            "wall_s": round(wall, 1), "bystander_underruns": underruns,
            "bystander_chunks": streamed["chunks"]}


def save_corpus(stats: Stats) -> int:
    folder = CORPUS / stats.name
    folder.mkdir(parents=True, exist_ok=True)
    saved = 0
    values = [v for v, _ in stats.crashes] + list(stats.samples.values())[:40]
    for value in values:
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        digest = hashlib.sha1(data).hexdigest()[:16]
        path = folder / f"{digest}.{'txt' if isinstance(value, str) else 'bin'}"
        if not path.exists():
            path.write_bytes(data)
            saved += 1
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="total, all surfaces")
    parser.add_argument("--grpc-share", type=float, default=0.04,
                        help="fraction of the cases sent to the gRPC server")
    parser.add_argument("--structured", type=float, default=0.1,
                        help="fraction of each target's cases from hypothesis strategies")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", default="fuzz.json")
    parser.add_argument("--save-corpus", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    grpc_cases = int(args.cases * args.grpc_share)
    per_target = -(-(args.cases - grpc_cases) // len(TARGETS))  # at least --cases in all
    started = time.perf_counter()
    results = {}
    print(f"{'surface':<18}{'cases':>9}{'ok':>9}{'refused':>9}{'crashes':>9}{'hangs':>7}"
          f"{'slowest s':>11}")
    all_stats = []
    for name in TARGETS:
        stats = run_target(name, per_target, max(1, int(per_target * args.structured)), rng)
        all_stats.append(stats)
        refused = sum(n for o, n in stats.outcomes.items() if o.startswith("refused"))
        results[name] = {"cases": stats.cases, "outcomes": stats.outcomes,
                         "crashes": len(stats.crashes), "hangs": stats.hangs,
                         "slowest_s": round(stats.slowest, 3),
                         "crash_examples": [t for _, t in stats.crashes[:3]]}
        print(f"{name:<18}{stats.cases:>9}{stats.outcomes.get('ok', 0):>9}{refused:>9}"
              f"{len(stats.crashes):>9}{stats.hangs:>7}{stats.slowest:>11.3f}", flush=True)
    scene_samples = [v for s in all_stats if s.name == "scene_compiler"
                     for v in s.samples.values() if isinstance(v, str)]
    scene_samples += [p.read_text(encoding="utf-8") for p in SCENES]
    grpc_result = run_grpc(grpc_cases, rng, scene_samples)
    results["grpc_servicer"] = grpc_result
    print(f"{'grpc_servicer':<18}{grpc_cases:>9}{grpc_result['codes'].get('OK', 0):>9}"
          f"{grpc_cases - grpc_result['codes'].get('OK', 0):>9}"
          f"{grpc_result['internal_unknown']:>9}{'':>7}{grpc_result['slowest_s']:>11.3f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total = sum(r["cases"] for r in results.values())
    crashes = sum(r.get("crashes", 0) for r in results.values())
    hangs = sum(r.get("hangs", 0) for r in results.values())
    summary = {"cases": total, "crashes": crashes, "hangs": hangs,
               "internal_unknown": grpc_result["internal_unknown"],
               "peak_rss_mb": round(peak_mb, 1), "peak_worker_rss_mb": round(children_mb, 1),
               "bystander_underruns": grpc_result["bystander_underruns"],
               "wall_s": round(time.perf_counter() - started, 1)}
    print(f"\ntotal {total} cases: {crashes} crashes, {hangs} hangs, "
          f"{summary['internal_unknown']} INTERNAL/UNKNOWN, peak RSS {peak_mb:.0f} MB "
          f"(compile workers {children_mb:.0f} MB), bystander underruns "
          f"{summary['bystander_underruns']}, {summary['wall_s']:.0f} s")
    if args.save_corpus:
        saved = sum(save_corpus(s) for s in all_stats)
        print(f"saved {saved} new inputs under {CORPUS}")
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), "seed": args.seed,
                   "summary": summary, "results": results}, handle, indent=2)
    return 1 if crashes or hangs or summary["internal_unknown"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
