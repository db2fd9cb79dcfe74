"""MRT2 slot ownership after failures, explicit release, seeds and snapshot/restore, on
random weights of the real architecture (one bucket of 2, so leaks show at once).

Each of the first three tests reproduces a bug of the engine as it was (a failed call
leaked the slots of the rows that joined in it; a session outside a failed call lost its
state to the default key; a ResourceExhausted in the middle of a join let the next new
session continue a departed session's stream)."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.errors import ResourceExhausted

pytest.importorskip("magenta_rt.jax.system", reason="needs the [magenta] extra")


@pytest.fixture(scope="module")
def engine2(make_engine):
    return make_engine(buckets=(2,))


def block(engine, handles, text="calm ambient piano"):
    style = engine.embed(Prompt(text=text)).vector
    out = engine.generate(handles, np.stack([style] * len(handles)), [Knobs()] * len(handles),
                          engine.info.block_frames)
    return [out.pcm[i].copy() for i in range(len(handles))]


def fail_next_steps(monkeypatch, engine, times, consume):
    """Make the next ``times`` device steps fail — after running (the donated batch is
    then gone, like a device fault mid-call) or before (the batch is intact)."""
    real = engine.program.step
    left = [times]

    def step(arrays, active):
        if left[0] > 0:
            left[0] -= 1
            if consume:
                real(arrays, active)
            raise RuntimeError("simulated device fault")
        return real(arrays, active)

    monkeypatch.setattr(engine.program, "step", step)


def cleanup(engine, *handles):
    for h in handles:
        engine.release(h)
    engine.slots.collect()


def test_failed_calls_do_not_leak_the_slots_of_joining_rows(engine2, monkeypatch):
    a, b = engine2.init_state(1), engine2.init_state(2)
    fail_next_steps(monkeypatch, engine2, 3, consume=False)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            block(engine2, [a, b])
    block(engine2, [a, b])  # was: ResourceExhausted (both slots still held by the failures)
    assert len(engine2.slots.occupied) == 2
    cleanup(engine2, a, b)


def test_a_session_outside_a_failed_call_keeps_its_own_stream(engine2, monkeypatch):
    ref = engine2.init_state(7)
    expected = [block(engine2, [ref])[0] for _ in range(3)]
    cleanup(engine2, ref)
    a, b = engine2.init_state(7), engine2.init_state(8)
    block(engine2, [a, b])
    block(engine2, [a, b])
    fail_next_steps(monkeypatch, engine2, 1, consume=False)
    with pytest.raises(RuntimeError):
        block(engine2, [b])
    np.testing.assert_array_equal(block(engine2, [a])[0], expected[2])  # state intact: exact
    # A fault that destroys the device batch: every row restarts from its *own* key.
    fail_next_steps(monkeypatch, engine2, 1, consume=True)
    with pytest.raises(RuntimeError):
        block(engine2, [b])
    np.testing.assert_array_equal(block(engine2, [a])[0], expected[0])
    default = engine2.init_state(0)
    assert not np.array_equal(default.key, a.key)
    cleanup(engine2, a, b, default)


def test_an_exhausted_join_takes_no_slot_and_never_inherits_a_stream(engine2):
    ref = engine2.init_state(30)
    fresh_c = block(engine2, [ref])[0]
    cleanup(engine2, ref)
    a, b = engine2.init_state(10), engine2.init_state(11)
    block(engine2, [a, b])
    a_next = engine2.init_state(10)  # what a's slot would play next if someone inherited it
    cleanup(engine2, a)
    c, d = engine2.init_state(30), engine2.init_state(31)
    with pytest.raises(ResourceExhausted):
        block(engine2, [b, c, d])  # one free slot for two joining rows: none is taken
    assert c.slot is None and d.slot is None
    got = block(engine2, [b, c])[1]
    np.testing.assert_array_equal(got, fresh_c)
    cleanup(engine2, b, c, d, a_next)


def test_release_frees_the_slot_for_the_next_call(engine2):
    a = engine2.init_state(40)
    block(engine2, [a])
    slot = a.slot
    engine2.release(a)
    engine2.release(a)  # idempotent
    assert a.slot is None
    b = engine2.init_state(41)
    block(engine2, [b])
    assert b.slot == slot and engine2.slots.occupied == {slot}
    with pytest.raises(ValueError, match="released"):
        block(engine2, [a])
    cleanup(engine2, b)


def test_seeds_2_pow_32_apart_are_different_streams(engine2):
    low, high = engine2.init_state(5), engine2.init_state(5 + 2**32)
    assert not np.array_equal(low.key, high.key)
    a, b = block(engine2, [low, high])
    assert not np.array_equal(a, b)
    cleanup(engine2, low, high)


def test_snapshot_restore_continues_the_stream_bit_for_bit(engine2):
    """Within a bucket the restored stream is identical (difference 0), mid-stream and
    before the first block; foreign bytes are refused."""
    a = engine2.init_state(50)
    block(engine2, [a])
    block(engine2, [a])
    snap = engine2.snapshot(a)
    expected = [block(engine2, [a])[0] for _ in range(2)]
    cleanup(engine2, a)
    restored = engine2.restore(snap)
    assert restored.seed == 50 and restored.frames == 10
    got = [block(engine2, [restored])[0] for _ in range(2)]
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)
    cleanup(engine2, restored)
    unstarted = engine2.init_state(51)
    twin = engine2.restore(engine2.snapshot(unstarted))
    first, again = block(engine2, [unstarted, twin])
    np.testing.assert_array_equal(first, again)
    for bad in (b"", b"CDZM2garbage", snap[:100]):
        with pytest.raises(ValueError):
            engine2.restore(bad)
    cleanup(engine2, unstarted, twin)
