#!/usr/bin/env bash
# The prepared device run (docs/benchmarks.md, "MRT2 on a GPU"): one command, stages in
# order of value, each writing results/gpu.json before the next starts, so a run cut off
# by the device's budget still returns every finished stage:
#   mrt2_small: random weights, official warm baseline (cold reported too), ours at
#   B = 1, 64, 256, 1,024; then mrt2_base the same; then the per-op breakdown.
# Usage: benchmarks/gpu_run.sh [budget seconds, default 480] [output dir, default $OUT or results]
# Check it on a CPU first:  python benchmarks/mrt2.py --gpu --smoke --json /tmp/smoke.json
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET="${1:-480}"
DIR="${2:-${OUT:-results}}"
mkdir -p "$DIR"
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
python -c "import jax; print('jax', jax.__version__, jax.devices())"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv 2>/dev/null || true
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # peak memory per bucket, not a 75 % pool
python benchmarks/mrt2.py --gpu --budget-s "$BUDGET" --models mrt2_small mrt2_base \
    --batches 1 64 256 1024 --json "$DIR/gpu.json" 2>&1 | tee "$DIR/gpu.log"
