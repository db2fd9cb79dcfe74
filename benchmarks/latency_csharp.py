"""Latency benchmark: a state change → the first audio reflecting it, end to end through
the C# client of the Unity package (sdk/unity), procedural engine.

    python benchmarks/latency_csharp.py --trials 100 --lookahead 0.5 0.1 --json latency.json

Builds the package with Mono (sdk/unity/Tests~/build.sh), starts `cadenza serve` as its
own process for each server lookahead, and runs the test program's latency mode: the
client streams the `minimal` scene into its jitter buffer, read by AudioPlayout on a
thread paced like a 48 kHz sound card (10 ms blocks, 0.1 s prebuffer). Each trial waits
for the blend to settle, then calls SetState("intensity", ...) (alternating 0.2 / 0.3)
and measures, from that call:

- received: the first audio frame whose blend reflects the change reaches the client
  (it follows the server's "blend" message announcing it);
- heard: the paced playout reaches that frame's first sample. Add the engine's own
  output latency (Unity's DSP buffer: 20-40 ms) for what a player hears.

Prints p50/p90/p99/max per lookahead and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import start_server as serve

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "sdk" / "unity" / "Tests~" / "build.sh"


def start_server(lookahead: float) -> tuple[subprocess.Popen, str]:
    served = serve(lookahead, log_env="LATENCY_SERVER_LOG")
    return served.process, served.ws_url


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--lookahead", type=float, nargs="+", default=[0.5, 0.1],
                        help="server lookahead(s) in seconds to measure (default: 0.5 0.1)")
    parser.add_argument("--prebuffer", type=float, default=0.1, help="client prebuffer, seconds")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if not (shutil.which("mcs") and shutil.which("mono")):
        raise SystemExit("needs Mono: apt-get install mono-devel")

    results = []
    with tempfile.TemporaryDirectory() as build:
        subprocess.run(["bash", str(BUILD), build], check=True, stdout=subprocess.DEVNULL)
        for lookahead in args.lookahead:
            proc, url = start_server(lookahead)
            try:
                out = Path(build) / f"latency-{lookahead}.json"
                run = subprocess.run(["mono", str(Path(build) / "CadenzaTests.exe"), "latency", "--url", url,
                                      "--trials", str(args.trials), "--prebuffer", str(args.prebuffer),
                                      "--out", str(out)], capture_output=True, text=True,
                                     timeout=args.trials * 6 + 60)
                if run.returncode != 0 or not out.is_file():
                    raise SystemExit(f"latency run failed:\n{run.stdout}\n{run.stderr}")
                report = json.loads(out.read_text())
            finally:
                proc.terminate()
                proc.wait(10)
            report["lookahead_s"] = lookahead
            results.append(report)

    print(f"machine: {os.cpu_count()} CPUs, {cpu_name()}, Python {platform.python_version()}, "
          f"{subprocess.run(['mono', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}")
    print(f"{'lookahead':>9} {'trials':>6} | {'received p50':>12} {'p90':>6} {'p99':>6} {'max':>6} | "
          f"{'heard p50':>9} {'p90':>6} {'p99':>6} {'max':>6} | underruns")
    for r in results:
        rec, heard = r["received_ms"], r["heard_ms"]
        print(f"{r['lookahead_s']:>8.2f}s {r['trials']:>6} | {rec['p50']:>12.1f} {rec['p90']:>6.1f} "
              f"{rec['p99']:>6.1f} {rec['max']:>6.1f} | {heard['p50']:>9.1f} {heard['p90']:>6.1f} "
              f"{heard['p99']:>6.1f} {heard['max']:>6.1f} | {r['underruns']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
