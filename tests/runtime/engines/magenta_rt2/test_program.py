"""BatchProgram's levers change how a call is computed, not what it computes: the real
MRT2 code path (tiny random weights), bucket 4, K = 5 frames per call."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cadenza.runtime.engines.base import Knobs
from cadenza.runtime.engines.magenta_rt2.arch import get_arch
from cadenza.runtime.engines.magenta_rt2.checkpoint import load
from cadenza.runtime.engines.magenta_rt2.conditioning import row
from cadenza.runtime.engines.magenta_rt2.program import BatchProgram
from cadenza.runtime.engines.magenta_rt2.sampler import build_sampler

BUCKET = 4
CALLS = 3
INACTIVE = (1, 2)  # (call, slot): this slot sits out this call


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    arch = get_arch("tiny")
    params = load(tiny_checkpoint, codec_dtype=jnp.float32)
    sampler = build_sampler(arch.depthformer_config(), arch.spectrostream_config(jnp.float32))
    return arch, sampler, params


def _rows():
    rows = {}
    for slot in range(BUCKET):
        knobs = Knobs(temperature=0.0 if slot % 2 else 1.0, top_k=40)
        cond, temperature, top_k = row(None, knobs, 256)
        rows[slot] = (cond, temperature, top_k, True, np.array([7, slot], np.uint32))
    return rows


def _run(program: BatchProgram):
    arrays = program.write(program.allocate(BUCKET), _rows())
    pcm, tokens, held = [], [], {}
    for call in range(CALLS):
        active = np.ones(BUCKET, bool)
        if call == INACTIVE[0]:
            active[INACTIVE[1]] = False
            held["before"] = program.read_row(arrays, INACTIVE[1])
        p, t, arrays = program.step(arrays, active)
        if call == INACTIVE[0]:
            held["after"] = program.read_row(arrays, INACTIVE[1])
        pcm.append(np.asarray(p))
        tokens.append(np.asarray(t))
    return np.stack(pcm), np.stack(tokens), held


@pytest.fixture(scope="module")
def runs(tiny):
    arch, sampler, params = tiny
    configs = {"per-frame": dict(select_once=False, codec_block=False),
               "select-once": dict(select_once=True, codec_block=False),
               "codec-block": dict(select_once=True, codec_block=True)}
    return {name: _run(BatchProgram(arch, sampler, params, 5, **kw)) for name, kw in configs.items()}


def _active(array):
    """Every (call, slot) that was active; the inactive one's output is unspecified."""
    keep = np.ones(array.shape[:2], bool)
    keep[INACTIVE] = False
    return array[keep]


def test_select_once_is_bit_identical_for_active_rows(runs):
    ref_pcm, ref_tokens, _ = runs["per-frame"]
    pcm, tokens, _ = runs["select-once"]
    assert np.array_equal(_active(tokens), _active(ref_tokens))
    assert np.array_equal(_active(pcm), _active(ref_pcm))
    assert np.any(ref_pcm != 0)


@pytest.mark.parametrize("name", ["per-frame", "select-once", "codec-block"])
def test_an_inactive_row_keeps_its_state_bit_for_bit(runs, name):
    _, _, held = runs[name]
    before, after = jax.tree.leaves(held["before"]), jax.tree.leaves(held["after"])
    assert len(before) == len(after) > 10
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_codec_block_keeps_tokens_and_audio_within_one_lsb(runs):
    ref_pcm, ref_tokens, _ = runs["select-once"]
    pcm, tokens, _ = runs["codec-block"]
    assert np.array_equal(_active(tokens), _active(ref_tokens))
    ref, test = _active(ref_pcm).astype(np.int64), _active(pcm).astype(np.int64)
    assert np.abs(ref - test).max() <= 1
    snr = 10 * np.log10(np.sum(ref.astype(float) ** 2) / max(np.sum((ref - test) ** 2), 1))
    assert snr >= 30  # measured ≈ 73 dB on this model


def test_a_row_read_and_written_elsewhere_continues_exactly(tiny):
    arch, sampler, params = tiny
    program = BatchProgram(arch, sampler, params, 5)
    arrays = program.write(program.allocate(BUCKET), _rows())
    active = np.ones(BUCKET, bool)
    _, _, arrays = program.step(arrays, active)
    snapshot = program.read_row(arrays, 1)
    ref_pcm, ref_tokens, _ = program.step(arrays, active)

    other = {slot: (c, 1.0, 5, True, np.array([99, slot], np.uint32))
             for slot, (c, *_rest) in _rows().items()}
    moved = program.write(program.allocate(BUCKET), other)
    moved = program.write_state_row(moved, 3, snapshot)
    pcm, tokens, _ = program.step(moved, active)
    assert np.array_equal(np.asarray(tokens)[3], np.asarray(ref_tokens)[1])
    assert np.array_equal(np.asarray(pcm)[3], np.asarray(ref_pcm)[1])
    assert not np.array_equal(np.asarray(pcm)[2], np.asarray(ref_pcm)[1])
