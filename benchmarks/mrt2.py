"""MRT2 serving benchmark: what one batched step costs, and how many real-time sessions
one GPU should hold. Never run in CI.

CPU mode (any machine; the default): lower the batched step (one 40 ms frame) of the real
mrt2_small / mrt2_base from abstract shapes (nothing allocated), compile it, and read
XLA's ``cost_analysis()``: FLOPs and bytes per frame per session for each batch size,
for each efficiency lever applied cumulatively:

  official     the official sampler as shipped (fp32 weights, 12,294 logits + full sort)
  +bf16-lm     LM kernels pre-cast to bf16 at load
  +valid       only the 1,024 valid logits per RVQ level (still a sort)
  +top_k       lax.top_k instead of the sort
  +donate      state buffers donated (peak memory; FLOPs/bytes unchanged)
  +bf16-codec  SpectroStream decoding in bf16

and from them the roofline prediction of real-time sessions per H100 (method of
shared/notes/mrt2-physics.md): the largest batch whose step fits in 40 ms at 3.35 TB/s and
989 TFLOP/s bf16 (494.5 TF32 while the codec is fp32), capped by 80 GB of memory.

    python benchmarks/mrt2.py --models mrt2_small mrt2_base --json mrt2.json
    python benchmarks/mrt2.py --fidelity --tolerance          # bf16 codec SNR, buckets
    python benchmarks/mrt2.py --gpu --json gpu.json           # on a GPU machine

GPU mode: random weights at real size on the device; the official batch-1 loop (a jitted
``step_with_emits`` driven per frame from Python, as ``MagentaRT2System.generate`` does)
against ours at B = 1, 16, 64, 256, 1024: aggregate frames/s, per-session real-time
factor, p99 block latency, compile time, GPU memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

H100 = {"bandwidth": 3.35e12, "bf16": 989e12, "tf32": 494.5e12, "memory": 80e9}
FRAME_S = 0.04
VARIANTS = [  # name, lm_bf16, lean, top_k_max, donate, codec
    ("official", False, False, 256, False, "fp32"),
    ("+bf16-lm", True, False, 256, False, "fp32"),
    ("+valid", True, True, 0, False, "fp32"),
    ("+top_k", True, True, 256, False, "fp32"),
    ("+donate", True, True, 256, True, "fp32"),
    ("+bf16-codec", True, True, 256, True, "bf16"),
]


def _program(arch, variant, params_abstract, frames=1):
    import jax.numpy as jnp

    from cadenza.runtime.engines.magenta_rt2.checkpoint import cast
    from cadenza.runtime.engines.magenta_rt2.program import BatchProgram
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    _, lm_bf16, lean, top_k_max, donate, codec = variant
    codec_dtype = jnp.bfloat16 if codec == "bf16" else jnp.float32
    params = cast(params_abstract, jnp.bfloat16 if lm_bf16 else None, codec_dtype)
    sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(codec_dtype),
                            lean=lean, top_k_max=top_k_max)
    return BatchProgram(arch, sampler, params, frames, donate=donate), params


def _nbytes(tree) -> int:
    import jax

    return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def cpu_costs(model: str, batches: list[int]) -> list[dict]:
    import jax

    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import initializer

    arch = get_arch(model)
    abstract = jax.eval_shape(initializer(arch), {"params": jax.random.PRNGKey(0),
                                                  "random": jax.random.PRNGKey(1)})
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), dict(abstract))
    rows = []
    for variant in VARIANTS:
        program, params = _program(arch, variant, abstract)
        weights = _nbytes(params)
        for batch in batches:
            started = time.perf_counter()
            lowered = program.lower_step(batch, params)
            compiled = lowered.compile()
            seconds = time.perf_counter() - started
            cost = compiled.cost_analysis()
            cost = cost[0] if isinstance(cost, list) else cost
            memory = compiled.memory_analysis()
            state = _nbytes(program.abstract(batch).state) / batch
            row = dict(model=model, variant=variant[0], batch=batch,
                       gflop_per_frame_session=cost["flops"] / batch / 1e9,
                       mb_per_frame_session=cost["bytes accessed"] / batch / 1e6,
                       gflop_per_step=cost["flops"] / 1e9, gb_per_step=cost["bytes accessed"] / 1e9,
                       state_mb_per_session=state / 1e6, weights_gb=weights / 1e9,
                       temp_gb=getattr(memory, "temp_size_in_bytes", 0) / 1e9,
                       compile_s=seconds)
            rows.append(row)
            print(f"{model:<10} {variant[0]:<11} B={batch:<5} "
                  f"{row['gflop_per_frame_session']:8.3f} GFLOP {row['mb_per_frame_session']:9.2f} MB "
                  f"/frame/session  state {row['state_mb_per_session']:.2f} MB  "
                  f"temp {row['temp_gb']:.2f} GB  ({seconds:.1f} s)", flush=True)
    return rows


def roofline(rows: list[dict]) -> list[dict]:
    """Sessions per H100: largest B with max(F(B)/peak, M(B)/bandwidth) <= 40 ms and
    weights + B * state within memory; F and M linear in B through the two largest Bs."""
    out = []
    keys = sorted({(r["model"], r["variant"]) for r in rows}, key=lambda k: (k[0], [
        v[0] for v in VARIANTS].index(k[1])))
    for model, variant in keys:
        pts = sorted((r for r in rows if r["model"] == model and r["variant"] == variant),
                     key=lambda r: r["batch"])
        if len(pts) < 2:
            continue  # a line needs two batch sizes
        a, b = pts[-2], pts[-1]
        slope_f = (b["gflop_per_step"] - a["gflop_per_step"]) / (b["batch"] - a["batch"]) * 1e9
        slope_m = (b["gb_per_step"] - a["gb_per_step"]) / (b["batch"] - a["batch"]) * 1e9
        base_f = b["gflop_per_step"] * 1e9 - slope_f * b["batch"]
        base_m = b["gb_per_step"] * 1e9 - slope_m * b["batch"]
        peak = H100["bf16"] if variant == "+bf16-codec" else H100["tf32"]
        flops_b = (FRAME_S * peak - base_f) / slope_f
        bytes_b = (FRAME_S * H100["bandwidth"] - base_m) / slope_m
        memory_b = (H100["memory"] - b["weights_gb"] * 1e9) / (b["state_mb_per_session"] * 1e6)
        sessions = int(max(0, min(flops_b, bytes_b, memory_b)))
        bound = min((flops_b, "compute"), (bytes_b, "bandwidth"), (memory_b, "memory"))[1]
        first = pts[0]
        batch1_ms = max(first["gflop_per_step"] * 1e9 / peak,
                        first["gb_per_step"] * 1e9 / H100["bandwidth"]) * 1e3
        out.append(dict(model=model, variant=variant, sessions_per_h100=sessions, bound=bound,
                        batch1_ms_per_frame=batch1_ms,
                        at_30_50_percent=[int(sessions * 0.3), int(sessions * 0.5)]))
    return out


def fidelity() -> dict:
    """bf16 vs fp32 SpectroStream on the same tokens, real codec size (random weights)."""
    import tempfile

    from cadenza.runtime.engines.base import Knobs, Prompt
    from cadenza.runtime.engines.magenta_rt2 import arch as archs
    from cadenza.runtime.engines.magenta_rt2.checkpoint import random_params, save
    from cadenza.runtime.engines.magenta_rt2.engine import MagentaRT2Engine
    from cadenza.runtime.engines.magenta_rt2.style import LocalMusicCoCa

    arch = archs.Arch("tiny-lm+real-codec", archs.TinyModel())
    path = Path(tempfile.mkdtemp()) / "ckpt.safetensors"
    save(random_params(arch), path)
    archs_get = archs.get_arch
    archs.get_arch = lambda name: arch if name == arch.name else archs_get(name)
    import cadenza.runtime.engines.magenta_rt2.engine as engine_module

    engine_module.get_arch = archs.get_arch
    pcm = {}
    for codec in ("fp32", "bf16"):
        engine = MagentaRT2Engine(model=arch.name, checkpoint=path, style_model=LocalMusicCoCa(),
                                  buckets=(2,), codec=codec)
        styles = np.stack([engine.embed(Prompt(text=t)).vector for t in ("piano", "drums")])
        handles = [engine.init_state(s) for s in (1, 2)]
        out = engine.generate(handles, styles, [Knobs(temperature=0.0)] * 2, 5 * engine.info.block_frames)
        pcm[codec] = out.pcm
    ref, test = pcm["fp32"], pcm["bf16"]
    snr = [10 * np.log10(np.sum(ref[i] ** 2) / max(np.sum((ref[i] - test[i]) ** 2), 1e-30))
           for i in range(len(ref))]
    result = {"codec_bf16_snr_db": snr, "frames": 25, "codec": "official SpectroStream size, random weights"}
    print(f"bf16 codec vs fp32, same tokens, 25 frames: SNR {', '.join(f'{s:.1f}' for s in snr)} dB")
    return result


def tolerance(batches=(1, 2, 8, 64)) -> dict:
    """Greedy tokens and audio of one session at several bucket sizes (tiny model)."""
    import tempfile

    from cadenza.runtime.engines.base import Knobs, Prompt
    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import make_random_checkpoint
    from cadenza.runtime.engines.magenta_rt2.engine import MagentaRT2Engine
    from cadenza.runtime.engines.magenta_rt2.style import LocalMusicCoCa

    path = make_random_checkpoint(get_arch("tiny"), Path(tempfile.mkdtemp()) / "tiny.safetensors")
    runs = {}
    for batch in batches:
        engine = MagentaRT2Engine(model="tiny", checkpoint=path, style_model=LocalMusicCoCa(),
                                  buckets=(batch,))
        style = engine.embed(Prompt(text="calm ambient piano")).vector[None]
        handle = engine.init_state(4)
        out = engine.generate([handle], style, [Knobs(temperature=0.0)], 5 * engine.info.block_frames)
        runs[batch] = (out.pcm[0], handle.last_tokens)
    ref_pcm, _ = runs[batches[-1]]
    result = {}
    ref_tokens = runs[batches[-1]][1]
    for batch, (pcm, tok) in runs.items():
        diff = np.sum((pcm - ref_pcm) ** 2)
        snr = float("inf") if diff == 0 else 10 * np.log10(np.sum(ref_pcm**2) / diff)
        first = int(np.argmax(np.any(pcm != ref_pcm, axis=1))) if diff else None
        same = float((tok == ref_tokens).mean())
        result[batch] = {"pcm_snr_db": snr, "first_differing_sample": first, "tokens_equal": same}
        print(f"bucket {batch:>3} vs {batches[-1]}: PCM SNR {snr:.1f} dB over 1 s, first differing "
              f"sample {first}, {same:.0%} of the last block's tokens equal")
    return result


def gpu(models: list[str], batches: list[int], blocks: int = 20) -> list[dict]:
    import jax
    import jax.numpy as jnp
    import sequence_layers.jax as sl

    from cadenza.runtime.engines.base import Knobs
    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import cast, random_params
    from cadenza.runtime.engines.magenta_rt2.conditioning import row
    from cadenza.runtime.engines.magenta_rt2.program import COND_OFFSET, BatchProgram
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    device = jax.devices()[0]
    print(f"device: {device.device_kind}", flush=True)
    results = []
    for model in models:
        arch = get_arch(model)
        host = random_params(arch)
        # The official batch-1 loop.
        sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(), lean=False)
        params = jax.device_put(host)
        spec = jax.ShapeDtypeStruct([arch.num_inputs], jnp.int32)
        def init(p, sampler=sampler, spec=spec):
            return sampler.apply(p, 1, spec, constants={}, training=False,
                                 method=sampler.get_initial_state,
                                 rngs={"random": jax.random.PRNGKey(0)})

        def official_step(p, x, c, s, sampler=sampler):
            return sampler.apply(p, x, s, constants=c, training=False,
                                 method=sampler.step_with_emits)

        state = jax.jit(init)(params)
        step = jax.jit(official_step, donate_argnums=(3,))
        cond, temperature, top_k = row(None, Knobs(), 256)
        x = sl.Sequence.from_values(jnp.asarray(cond + COND_OFFSET)[None, None, :])
        constants = {"temperature": jnp.array([temperature]), "top_k": jnp.array([top_k], jnp.int32)}
        started = time.perf_counter()
        out, state, _ = step(params, x, constants, state)
        jax.block_until_ready(out.values)
        compile_s = time.perf_counter() - started
        frames = 100
        started = time.perf_counter()
        for _ in range(frames):
            out, state, _ = step(params, x, constants, state)
            np.asarray(out.values)  # the official loop hands every frame to the host
        seconds = time.perf_counter() - started
        official = dict(model=model, mode="official batch-1 loop", frames_per_s=frames / seconds,
                        rtf=frames * FRAME_S / seconds, compile_s=compile_s)
        print(official, flush=True)
        results.append(official)
        del params, state
        # Ours.
        params = jax.device_put(cast(host, jnp.bfloat16, jnp.bfloat16))
        lean = build_sampler(arch.depthformer_config(), arch.spectrostream_config(jnp.bfloat16))
        for batch in batches:
            program = BatchProgram(arch, lean, params, frames=5)
            started = time.perf_counter()
            program.compiled(batch)
            compile_s = time.perf_counter() - started
            arrays = program.allocate(batch)
            key = np.zeros(2, np.uint32)
            arrays = program.write(arrays, {i: (cond, temperature, top_k, True, key + i)
                                            for i in range(batch)})
            active = np.ones(batch, bool)
            latencies = []
            for i in range(blocks + 2):
                started = time.perf_counter()
                pcm, _, arrays = program.step(arrays, active)
                np.asarray(pcm)
                if i >= 2:
                    latencies.append(time.perf_counter() - started)
            total = sum(latencies)
            stats = device.memory_stats() or {}
            ours = dict(model=model, mode="cadenza batched", batch=batch,
                        frames_per_s=batch * 5 * blocks / total,
                        rtf_per_session=5 * FRAME_S * blocks / total,
                        p99_block_ms=float(np.percentile(latencies, 99) * 1e3),
                        compile_s=compile_s,
                        peak_gpu_gb=stats.get("peak_bytes_in_use", 0) / 1e9,
                        vs_official=batch * 5 * blocks / total / official["frames_per_s"])
            print(ours, flush=True)
            results.append(ours)
            del arrays
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mrt2_small", "mrt2_base"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 256, 1024])
    parser.add_argument("--variants", nargs="+", help="subset of: " + " ".join(v[0] for v in VARIANTS))
    parser.add_argument("--fidelity", action="store_true", help="bf16 codec SNR vs fp32")
    parser.add_argument("--tolerance", action="store_true", help="cross-bucket agreement")
    parser.add_argument("--gpu", action="store_true", help="timed runs on the accelerator")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.variants:
        VARIANTS[:] = [v for v in VARIANTS if v[0] in args.variants]
    results: dict = {"machine": os.uname().nodename}
    if args.gpu:
        results["gpu"] = gpu(args.models, [b for b in args.batches if b] or [1, 16, 64, 256, 1024])
    elif args.fidelity or args.tolerance:
        if args.fidelity:
            results["fidelity"] = fidelity()
        if args.tolerance:
            results["tolerance"] = tolerance()
    else:
        rows = []
        for model in args.models:
            rows += cpu_costs(model, args.batches)
        results["cpu"] = rows
        results["roofline_h100"] = roofline(rows)
        print("\nroofline, real-time sessions per H100 (100 % of peak; 30-50 % in brackets)")
        print(f"{'model':<11}{'variant':<13}{'sessions':>9}  bound      batch-1 ms/frame")
        for r in results["roofline_h100"]:
            print(f"{r['model']:<11}{r['variant']:<13}{r['sessions_per_h100']:>9}  {r['bound']:<10} "
                  f"{r['batch1_ms_per_frame']:.2f}   [{r['at_30_50_percent'][0]}-{r['at_30_50_percent'][1]}]")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
