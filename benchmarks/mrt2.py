"""MRT2 serving benchmark: what one batched call costs, where its bytes go, and how many
real-time sessions one GPU should hold. Never run in CI.

CPU mode (any machine; the default): lower the engine's batched call (K = ``--frames``
frames, a ``lax.scan``) of the real mrt2_small / mrt2_base from abstract shapes (nothing
allocated), compile it, and account its FLOPs and bytes per frame per session from the
optimized HLO (``hlo_cost.py``: per op, loop bodies × trip count; checked against XLA's
``cost_analysis()``), for each efficiency lever applied cumulatively:

  official       the official sampler as shipped (fp32 weights, 12,294 logits + full sort)
  +bf16-lm       LM kernels pre-cast to bf16 at load
  +valid         only the 1,024 valid logits per RVQ level (still a sort)
  +top_k         lax.top_k instead of the sort
  +donate        state buffers donated (peak memory; FLOPs/bytes unchanged)
  +bf16-codec    SpectroStream decoding in bf16
  +select-once   inactive rows restored once per call, not per frame
  +codec-block   the codec decodes the K frames of a call at once (the default: ``BEST``)
  no-donate      the default without donation

and from them the roofline prediction of real-time sessions per H100 / H200 (method of
shared/notes/mrt2-physics.md) and the largest bucket that fits 80 / 141 GB.

    python benchmarks/mrt2.py --models mrt2_small mrt2_base --json mrt2.json
    python benchmarks/mrt2.py --breakdown --variants +bf16-codec +codec-block   # per op
    python benchmarks/mrt2.py --throughput                    # tiny, B = 16, before/after
    python benchmarks/mrt2.py --fidelity --tolerance          # bf16 codec SNR, buckets
    benchmarks/gpu_run.sh 480                                 # on a GPU machine
    python benchmarks/mrt2.py --gpu --smoke --json smoke.json # that run on the CPU, tiny

GPU mode (``--gpu [--budget-s S]``): stages in order of value, each writing the JSON before
the next starts (``Stages``): random weights; the official batch-1 loop (a jitted
``step_with_emits`` driven per frame from Python, as ``MagentaRT2System.generate`` does),
cold and warm; ours at each B (aggregate frames/s, per-session real-time factor, p99 block
latency, compile time, GPU memory); then the per-op breakdown on the device.
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
H200 = {"bandwidth": 4.8e12, "bf16": 989e12, "tf32": 494.5e12, "memory": 141e9}
FRAME_S = 0.04
VARIANTS = [  # name, lm_bf16, lean, top_k_max, donate, codec, select_once, codec_block[, ring]
    ("official", False, False, 256, False, "fp32", False, False),
    ("+bf16-lm", True, False, 256, False, "fp32", False, False),
    ("+valid", True, True, 0, False, "fp32", False, False),
    ("+top_k", True, True, 256, False, "fp32", False, False),
    ("+donate", True, True, 256, True, "fp32", False, False),
    ("+bf16-codec", True, True, 256, True, "bf16", False, False),
    ("+select-once", True, True, 256, True, "bf16", True, False),
    ("+codec-block", True, True, 256, True, "bf16", True, True),
    ("no-donate", True, True, 256, False, "bf16", True, True),
    ("+ring", True, True, 256, True, "bf16", True, True, True),
]
BEST = "+codec-block"  # what the engine serves by default (see docs/benchmarks.md)


def _variant(name: str) -> tuple:
    return next(v for v in VARIANTS if v[0] == name)


def _program(arch, variant, params_abstract, frames=1):
    import jax.numpy as jnp

    from cadenza.runtime.engines.magenta_rt2.checkpoint import cast
    from cadenza.runtime.engines.magenta_rt2.program import BatchProgram
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    _, lm_bf16, lean, top_k_max, donate, codec, select_once, codec_block, *ring = variant
    codec_dtype = jnp.bfloat16 if codec == "bf16" else jnp.float32
    params = cast(params_abstract, jnp.bfloat16 if lm_bf16 else None, codec_dtype)
    sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(codec_dtype),
                            lean=lean, top_k_max=top_k_max)
    return BatchProgram(arch, sampler, params, frames, donate=donate, select_once=select_once,
                        codec_block=codec_block, ring_cache=bool(ring and ring[0])), params


def _nbytes(tree) -> int:
    import jax

    return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def _abstract_params(arch):
    import jax

    from cadenza.runtime.engines.magenta_rt2.checkpoint import initializer

    abstract = jax.eval_shape(initializer(arch), {"params": jax.random.PRNGKey(0),
                                                  "random": jax.random.PRNGKey(1)})
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), dict(abstract))


def _measure(program, params, batch: int, frames: int) -> tuple[dict, list]:
    """Compile bucket ``batch`` (compilation only) and account its cost per frame per
    session: XLA's totals and the per-op accounting of ``hlo_cost`` (loops × trip count)."""
    import hlo_cost

    started = time.perf_counter()
    compiled = program.lower_step(batch, params).compile()
    seconds = time.perf_counter() - started
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    memory = compiled.memory_analysis()
    ops = hlo_cost.ops(compiled.as_text())
    per = batch * frames
    row = dict(batch=batch, frames_per_call=frames,
               gflop_per_frame_session=sum(o.flops for o in ops) / per / 1e9,
               mb_per_frame_session=sum(o.bytes for o in ops) / per / 1e6,
               xla_flops_raw=cost["flops"], xla_bytes_raw=cost["bytes accessed"],
               coverage=hlo_cost.coverage(ops, cost["bytes accessed"]),
               state_mb_per_session=_nbytes(program.abstract(batch).state) / batch / 1e6,
               temp_gb=getattr(memory, "temp_size_in_bytes", 0) / 1e9, compile_s=seconds)
    row["gflop_per_step"] = row["gflop_per_frame_session"] * batch
    row["gb_per_step"] = row["mb_per_frame_session"] * batch / 1e3
    return row, ops


def cpu_costs(model: str, batches: list[int], frames: int = 5) -> list[dict]:
    """Each variant at each bucket, compiled from abstract shapes (nothing allocated or run)."""
    import gc

    from cadenza.runtime.engines.magenta_rt2.arch import get_arch

    arch = get_arch(model)
    abstract = _abstract_params(arch)
    rows = []
    for variant in VARIANTS:
        program, params = _program(arch, variant, abstract, frames)
        weights = _nbytes(params)
        for batch in batches:
            measured, _ = _measure(program, params, batch, frames)
            row = dict(model=model, variant=variant[0], weights_gb=weights / 1e9, **measured)
            rows.append(row)
            gc.collect()
            print(f"{model:<10} {variant[0]:<13} B={batch:<5} "
                  f"{row['gflop_per_frame_session']:8.3f} GFLOP {row['mb_per_frame_session']:9.2f} MB "
                  f"/frame/session  state {row['state_mb_per_session']:.2f} MB  "
                  f"temp {row['temp_gb']:.2f} GB  coverage {row['coverage']:.2f}  "
                  f"({row['compile_s']:.1f} s)", flush=True)
    return rows


def breakdown(model: str, batches: list[int], variants: list[str] | None = None,
              frames: int = 5) -> list[dict]:
    """Per-op (per-HLO-fusion) cost of the compiled step: codec vs LM and the top ten ops
    of each, per frame per session, for each variant named (default: official levers off
    after bf16-codec, and the best)."""
    import hlo_cost

    from cadenza.runtime.engines.magenta_rt2.arch import get_arch

    arch = get_arch(model)
    abstract = _abstract_params(arch)
    out = []
    for name in variants or ["+bf16-codec", BEST]:
        program, params = _program(arch, _variant(name), abstract, frames)
        for batch in batches:
            row, ops = _measure(program, params, batch, frames)
            summary = hlo_cost.summarise(ops, batch, frames=frames)
            out.append(dict(model=model, variant=name, weights_gb=_nbytes(params) / 1e9, **row,
                            **summary))
            print(f"\n{model} {name} B={batch} K={frames}: {row['mb_per_frame_session']:.2f} MB, "
                  f"{row['gflop_per_frame_session']:.3f} GFLOP per frame per session "
                  f"(coverage of XLA's total {row['coverage']:.2f}); temp {row['temp_gb']:.2f} GB")
            for part, v in summary["parts"].items():
                print(f"  {part:<12} {v['mb_per_session']:8.2f} MB {v['gflop_per_session']:8.3f} GFLOP"
                      f"  {v['ops']:5d} ops")
            for group in ("codec", "lm", "glue"):
                print(f"  top {group} ops (MB per frame per session):")
                for o in summary["top_" + group]:
                    print(f"    {o['mb_per_session']:7.3f} MB {o['gflop_per_session']:7.4f} GF "
                          f"{o['opcode']:<12} {o['scope'][:34]:<34} {o['shape'][:44]}")
            del ops
    return out


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
        peak = H100["bf16"] if _variant(variant)[5] == "bf16" else H100["tf32"]
        flops_b = (FRAME_S * peak - base_f) / slope_f
        bytes_b = (FRAME_S * H100["bandwidth"] - base_m) / slope_m
        # Memory: weights + B × (state + XLA temp per row), temp linear through the two Bs.
        temp_row = max((b["temp_gb"] - a["temp_gb"]) / (b["batch"] - a["batch"]) * 1e9, 0.0)
        temp_base = max(b["temp_gb"] * 1e9 - temp_row * b["batch"], 0.0)
        per_row = b["state_mb_per_session"] * 1e6 + temp_row
        if not _variant(variant)[4]:  # not donated: the new state is a second copy
            per_row += b["state_mb_per_session"] * 1e6

        def fits(memory, b=b, temp_base=temp_base, per_row=per_row):
            return int(max(0, (memory - b["weights_gb"] * 1e9 - temp_base) / per_row))

        memory_b = fits(H100["memory"])
        sessions = int(max(0, min(flops_b, bytes_b, memory_b)))
        bound = min((flops_b, "compute"), (bytes_b, "bandwidth"), (memory_b, "memory"))[1]
        first = pts[0]
        batch1_ms = max(first["gflop_per_step"] * 1e9 / peak,
                        first["gb_per_step"] * 1e9 / H100["bandwidth"]) * 1e3
        out.append(dict(model=model, variant=variant, sessions_per_h100=sessions, bound=bound,
                        batch1_ms_per_frame=batch1_ms,
                        at_30_50_percent=[int(sessions * 0.3), int(sessions * 0.5)],
                        sessions_per_h200=int(max(0, min(
                            (FRAME_S * peak - base_f) / slope_f,
                            (FRAME_S * H200["bandwidth"] - base_m) / slope_m, fits(H200["memory"])))),
                        largest_bucket_80gb=fits(80e9), largest_bucket_141gb=fits(141e9),
                        temp_mb_per_row=temp_row / 1e6))
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


class Stages:
    """Runs stages in order of value within a time budget; writes the JSON after each, so a
    run cut off by the device's budget still returns every finished stage."""

    def __init__(self, path: str | None, budget_s: float | None, results: dict) -> None:
        self.path, self.budget_s, self.results = path, budget_s, results
        self.started = time.perf_counter()
        results.setdefault("stages", [])

    def left(self) -> float:
        return float("inf") if self.budget_s is None else self.budget_s - (time.perf_counter() - self.started)

    def run(self, name: str, fn, need_s: float = 0.0, record=lambda out: out):
        if self.left() < need_s:
            row = {"stage": name, "skipped": f"budget: {self.left():.0f} s left, needs ~{need_s:.0f} s"}
            print(row, flush=True)
            self.results["stages"].append(row)
            self.write()
            return None
        started = time.perf_counter()
        try:
            out = fn()
            row = {"stage": name, "seconds": time.perf_counter() - started, "result": record(out)}
        except Exception as error:  # a failed stage must not lose the stages after it
            row = {"stage": name, "seconds": time.perf_counter() - started, "error": repr(error)}
            out = None
        print({k: v for k, v in row.items() if k != "result"}, flush=True)
        self.results["stages"].append(row)
        self.write()
        return out

    def write(self) -> None:
        if self.path:
            Path(self.path).write_text(json.dumps(self.results, indent=1, default=float))


def _official(arch, host, frames: int) -> dict:
    """The official batch-1 loop (a jitted ``step_with_emits`` driven per frame from
    Python, every frame handed to the host, as ``MagentaRT2System.generate`` does): cold =
    the first ``frames`` after compiling, warm = the next ``frames`` (what we compare with)."""
    import jax
    import jax.numpy as jnp
    import magenta_rt  # noqa: F401  (before sequence_layers: it activates the vendored copy)
    import sequence_layers.jax as sl

    from cadenza.runtime.engines.base import Knobs
    from cadenza.runtime.engines.magenta_rt2.conditioning import row
    from cadenza.runtime.engines.magenta_rt2.program import COND_OFFSET
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(), lean=False)
    params = jax.device_put(host)
    spec = jax.ShapeDtypeStruct([arch.num_inputs], jnp.int32)

    def init(p):
        return sampler.apply(p, 1, spec, constants={}, training=False,
                             method=sampler.get_initial_state, rngs={"random": jax.random.PRNGKey(0)})

    def official_step(p, x, c, s):
        return sampler.apply(p, x, s, constants=c, training=False, method=sampler.step_with_emits)

    state = jax.jit(init)(params)
    step = jax.jit(official_step, donate_argnums=(3,))
    cond, temperature, top_k = row(None, Knobs(), 256)
    x = sl.Sequence.from_values(jnp.asarray(cond + COND_OFFSET)[None, None, :])
    constants = {"temperature": jnp.array([temperature]), "top_k": jnp.array([top_k], jnp.int32)}
    started = time.perf_counter()
    out, state, _ = step(params, x, constants, state)
    jax.block_until_ready(out.values)
    compile_s = time.perf_counter() - started
    timed = []
    for _ in range(2):
        started = time.perf_counter()
        for _ in range(frames):
            out, state, _ = step(params, x, constants, state)
            np.asarray(out.values)
        timed.append(time.perf_counter() - started)
    cold, warm = (frames / s for s in timed)
    return dict(model=arch.name, mode="official batch-1 loop", frames=frames, compile_s=compile_s,
                cold_frames_per_s=cold, frames_per_s=warm, rtf=warm * FRAME_S)


def _ours(arch, params, batch: int, blocks: int, frames_per_call: int, official_fps: float | None,
          codec: str = "bf16") -> dict:
    import jax

    from cadenza.runtime.engines.base import Knobs
    from cadenza.runtime.engines.magenta_rt2.conditioning import row
    from cadenza.runtime.engines.magenta_rt2.program import BatchProgram
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    lean = build_sampler(arch.depthformer_config(), arch.spectrostream_config(_codec_dtype(codec)))
    program = BatchProgram(arch, lean, params, frames=frames_per_call)
    started = time.perf_counter()
    program.compiled(batch)
    compile_s = time.perf_counter() - started
    cond, temperature, top_k = row(None, Knobs(), 256)
    arrays = program.allocate(batch)
    arrays = program.write(arrays, {i: (cond, temperature, top_k, True, np.array([0, i], np.uint32))
                                    for i in range(batch)})
    device = jax.devices()[0]
    resident = (device.memory_stats() or {}).get("bytes_in_use", 0)
    active = np.ones(batch, bool)
    latencies = []
    for i in range(blocks + 2):  # the first 2 calls after compiling are discarded (warm-up)
        started = time.perf_counter()
        pcm, _, arrays = program.step(arrays, active)
        np.asarray(pcm)
        if i >= 2:
            latencies.append(time.perf_counter() - started)
    total = sum(latencies)
    stats = device.memory_stats() or {}
    fps = batch * frames_per_call * blocks / total
    cost = program.compiled(batch).step.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    memory = program.compiled(batch).step.memory_analysis()
    del arrays
    return dict(model=arch.name, mode="cadenza batched", batch=batch, frames_per_call=frames_per_call,
                codec=codec, frames_per_s=fps, rtf_per_session=frames_per_call * FRAME_S * blocks / total,
                p99_block_ms=float(np.percentile(latencies, 99) * 1e3), compile_s=compile_s,
                resident_gb=resident / 1e9, peak_gpu_gb=stats.get("peak_bytes_in_use", 0) / 1e9,
                xla_temp_gb=getattr(memory, "temp_size_in_bytes", 0) / 1e9,
                xla_mb_per_call_session_raw=cost.get("bytes accessed", 0) / batch / 1e6,  # body once
                vs_official_warm=fps / official_fps if official_fps else None)


def _codec_dtype(codec: str):
    import jax.numpy as jnp

    return jnp.bfloat16 if codec == "bf16" else jnp.float32


def gpu(models: list[str], batches: list[int], stages: Stages, blocks: int = 20,
        official_frames: int = 100, breakdown_batches: tuple[int, ...] = (256, 1024),
        breakdown_variants: list[str] | None = None) -> None:
    """The prepared device run, stages in order of value (see ``benchmarks/gpu_run.sh``)."""
    import jax
    import jax.numpy as jnp

    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import cast, random_params

    device = jax.devices()[0]
    stages.results["device"] = f"{device.platform}: {device.device_kind}"
    print(f"device: {stages.results['device']}", flush=True)
    for model in models:
        arch = get_arch(model)
        host = stages.run(f"{model}: random weights", lambda arch=arch: random_params(arch),
                          record=lambda host: {"parameters": sum(
                              int(np.size(x)) for x in jax.tree.leaves(host))})
        if host is None:
            continue
        official = stages.run(f"{model}: official warm baseline",
                              lambda arch=arch, host=host: _official(arch, host, official_frames),
                              need_s=30)
        fps = official["frames_per_s"] if official else None
        params = jax.device_put(cast(host, jnp.bfloat16, jnp.bfloat16))
        for batch in batches:
            stages.run(f"{model}: ours B={batch}",
                       lambda arch=arch, params=params, batch=batch, fps=fps: _ours(
                           arch, params, batch, blocks, 5, fps),
                       need_s=20 + batch / 64)
        del params, host
    for model in models:
        stages.run(f"{model}: breakdown", lambda model=model: breakdown(
            model, list(breakdown_batches), breakdown_variants or [BEST, "+ring"]), need_s=30,
            record=lambda rows: [{k: v for k, v in r.items() if k != "scopes"} for r in rows])


def smoke(path: str | None) -> dict:
    """``--gpu --smoke``: the device script's stages end to end on the CPU with ``tiny``."""
    results: dict = {"machine": os.uname().nodename, "smoke": True}
    stages = Stages(path, None, results)
    gpu(["tiny"], [1, 4], stages, blocks=2, official_frames=10, breakdown_batches=(4,),
        breakdown_variants=[BEST])
    return results


def throughput(batch: int = 16, calls: int = 10, rounds: int = 3) -> dict:
    """``tiny`` on this CPU, frames/s aggregate at bucket ``batch`` (K = 5): the levers off
    (the previous default: per-frame select and codec) against on, in one run,
    alternating so that load from other jobs hits both alike."""
    import jax.numpy as jnp

    from cadenza.runtime.engines.base import Knobs
    from cadenza.runtime.engines.magenta_rt2.arch import get_arch
    from cadenza.runtime.engines.magenta_rt2.checkpoint import cast, random_params
    from cadenza.runtime.engines.magenta_rt2.conditioning import row
    from cadenza.runtime.engines.magenta_rt2.program import BatchProgram
    from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

    arch = get_arch("tiny")
    host = random_params(arch)
    cond, temperature, top_k = row(None, Knobs(), 256)
    rows = {i: (cond, temperature, top_k, True, np.array([0, i], np.uint32)) for i in range(batch)}
    runs = {}
    for codec in ("fp32", "bf16"):
        params = cast(host, jnp.bfloat16, _codec_dtype(codec))
        sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(_codec_dtype(codec)))
        for name, kw in (("levers off", dict(select_once=False, codec_block=False)),
                         ("select-once + codec-block", {})):
            program = BatchProgram(arch, sampler, params, 5, **kw)
            arrays = program.write(program.allocate(batch), rows)
            for _ in range(2):  # compile + warm
                pcm, _, arrays = program.step(arrays, np.ones(batch, bool))
                np.asarray(pcm)
            runs[(codec, name)] = [program, arrays, []]
    for _ in range(rounds):
        for entry in runs.values():
            program, arrays, rates = entry
            started = time.perf_counter()
            for _ in range(calls):
                pcm, _, arrays = program.step(arrays, np.ones(batch, bool))
                np.asarray(pcm)
            rates.append(batch * 5 * calls / (time.perf_counter() - started))
            entry[1] = arrays
    out = {}
    for (codec, name), (_, _, rates) in runs.items():
        out[f"{codec} codec, {name}"] = {"frames_per_s": float(np.median(rates)), "rounds": rates}
        print(f"tiny B={batch} K=5 {codec} codec, {name:<26} {np.median(rates):7.1f} frames/s "
              f"aggregate (median of {rounds}: {', '.join(f'{r:.0f}' for r in rates)})", flush=True)
    return out


def _print_roofline(rows: list[dict]) -> list[dict]:
    out = roofline(rows)
    print("\nroofline, real-time sessions per H100 (100 % of peak; 30-50 % in brackets); "
          "H200; largest bucket in 80 / 141 GB")
    print(f"{'model':<11}{'variant':<14}{'H100':>6}  bound      [30-50 %]    H200   80 GB  141 GB")
    for r in out:
        lo, hi = r["at_30_50_percent"]
        print(f"{r['model']:<11}{r['variant']:<14}{r['sessions_per_h100']:>6}  {r['bound']:<10} "
              f"[{lo}-{hi}]{'':<4}{r['sessions_per_h200']:>6} {r['largest_bucket_80gb']:>7} "
              f"{r['largest_bucket_141gb']:>7}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["mrt2_small", "mrt2_base"])
    parser.add_argument("--batches", nargs="+", type=int)
    parser.add_argument("--frames", type=int, default=5, help="K, frames per call (default 5)")
    parser.add_argument("--variants", nargs="+", help="subset of: " + " ".join(v[0] for v in VARIANTS))
    parser.add_argument("--fidelity", action="store_true", help="bf16 codec SNR vs fp32")
    parser.add_argument("--tolerance", action="store_true", help="cross-bucket agreement")
    parser.add_argument("--breakdown", action="store_true",
                        help="per-op (per-HLO-fusion) cost at B = 256 and 1,024 (or --batches)")
    parser.add_argument("--throughput", action="store_true",
                        help="tiny on this CPU at B = 16: levers off vs on, same run")
    parser.add_argument("--gpu", action="store_true", help="timed runs on the accelerator")
    parser.add_argument("--smoke", action="store_true", help="with --gpu: every stage on the CPU, tiny")
    parser.add_argument("--budget-s", type=float, help="with --gpu: skip stages past this budget")
    parser.add_argument("--json", help="write the results here (after every stage with --gpu)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # hlo_cost
    results: dict = {"machine": os.uname().nodename}
    if args.gpu and args.smoke:
        smoke(args.json)
        return 0
    if args.gpu:
        stages = Stages(args.json, args.budget_s, results)
        gpu(args.models, args.batches or [1, 64, 256, 1024], stages)
        return 0
    if args.variants:
        VARIANTS[:] = [v for v in VARIANTS if v[0] in args.variants]
    if args.breakdown:
        rows = []
        for model in args.models:
            rows += breakdown(model, args.batches or [256, 1024],
                              [v[0] for v in VARIANTS] if args.variants else None, args.frames)
        results["breakdown"] = rows
        results["roofline_h100"] = _print_roofline(rows)
    elif args.throughput:
        results["throughput"] = throughput()
    elif args.fidelity or args.tolerance:
        if args.fidelity:
            results["fidelity"] = fidelity()
        if args.tolerance:
            results["tolerance"] = tolerance()
    else:
        rows = []
        for model in args.models:
            rows += cpu_costs(model, args.batches or [256, 1024], args.frames)
        results["cpu"] = rows
        results["roofline_h100"] = _print_roofline(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
