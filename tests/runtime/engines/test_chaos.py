"""The chaos switch: spec parser, each fault, and forwarding of the engine contract."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.engines.base import Batched, BeatGrid, Knobs, PhraseMaker, Prompt
from cadenza.runtime.engines.chaos import (
    ChaosEngine,
    ChaosFault,
    ChaosSpecError,
    Fault,
    parse_chaos,
)
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.testing import BucketCostEngine, DelayedEngine, ManualClock


@pytest.fixture(scope="module")
def procedural():
    return ProceduralEngine()


def step(engine, states, text: str = "calm piano"):
    style = engine.embed(Prompt(text=text)).vector
    styles = np.stack([style] * len(states))
    return engine.generate(states, styles, [Knobs()] * len(states), engine.info.block_frames)


class SimClock:
    """Simulated seconds: sleeping advances it, and so does each inner call (call_s)."""

    def __init__(self) -> None:
        self.manual = ManualClock()
        self.slept: list[float] = []

    def now(self) -> float:
        return self.manual.now()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.manual.advance(seconds)


# ------------------------------------------------------------------------ parser
@pytest.mark.parametrize("spec, faults", [
    ("stall=300ms,every=2s", [Fault("stall", 0.3, every=2.0, text="stall=300ms,every=2s")]),
    ("fail=0.01", [Fault("fail", 0.01, text="fail=0.01")]),
    ("fail=1,seed=666", [Fault("fail", 1.0, seed=666, text="fail=1,seed=666")]),
    ("hang=5s,after=30s", [Fault("hang", 5.0, after=30.0, text="hang=5s,after=30s")]),
    ("slow=1.5x", [Fault("slow", 1.5, text="slow=1.5x")]),
    ("slow=2", [Fault("slow", 2.0, text="slow=2")]),
    ("fail=2%", [Fault("fail", 0.02, text="fail=2%")]),
    ("stall=1.5s, every=1m ; fail=1,seed=7",
     [Fault("stall", 1.5, every=60.0, text="stall=1.5s,every=1m"),
      Fault("fail", 1.0, seed=7, text="fail=1,seed=7")]),
    ("stall=300ms,every=2s,fail=0.5,after=10s",  # a new fault starts a new clause
     [Fault("stall", 0.3, every=2.0, text="stall=300ms,every=2s"),
      Fault("fail", 0.5, after=10.0, text="fail=0.5,after=10s")]),
])
def test_parse_valid_specs(spec, faults):
    assert list(parse_chaos(spec).faults) == faults


@pytest.mark.parametrize("spec, message", [
    ("", "chaos spec is empty"),
    ("stall", "clause 'stall': expected key=value"),
    ("stall=0", "clause 'stall=0': stall must be longer than 0 s"),
    ("stall=fast", "clause 'stall=fast': stall='fast' is not a duration"),
    ("every=2s", "clause 'every=2s': 'every' must follow a fault"),
    ("boom=1", "clause 'boom=1': unknown fault 'boom'; faults are stall, hang, fail, slow"),
    ("fail=2", "clause 'fail=2': fail='2' must be a probability within [0, 1]"),
    ("fail=nan", "clause 'fail=nan': fail='nan' must be finite"),
    ("slow=0.5x", "clause 'slow=0.5x': slow='0.5x' must be a factor of at least 1"),
    ("fail=1,every=2s", "clause 'every=2s': 'every' does not apply to fail"),
    ("stall=1s,every=1s,every=2s", "clause 'every=2s': 'every' given twice for one stall"),
    ("fail=1,seed=six", "clause 'seed=six': seed='six' is not a whole number"),
    ("stall=1s,,fail=1", "empty clause"),
    ("stall=1s;every=2s", "clause 'every=2s': 'every' must follow a fault"),
])
def test_parse_errors_name_the_clause(spec, message):
    with pytest.raises(ChaosSpecError) as info:
        parse_chaos(spec)
    assert message in str(info.value)
    if spec:
        assert f"chaos spec {spec.strip()!r}" in str(info.value)


# ------------------------------------------------------------------------ faults
def test_stall_every_two_seconds_blocks_inside_generate(procedural):
    sim = SimClock()
    inner = BucketCostEngine(procedural, sim.manual, call_s=0.1)
    engine = ChaosEngine(inner, "stall=300ms,every=2s", clock=sim.now, sleep=sim.sleep)
    states = [engine.init_state(1)]
    while sim.now() < 10.0:
        states = step(engine, states).states
    # First stall 2 s after the first call, then every 2 s: at 2, 4, 6, 8 (not owed twice).
    assert sim.slept == [0.3] * 4
    assert [i.at for i in engine.injections] == pytest.approx([2.0, 4.0, 6.0, 8.0], abs=0.11)
    assert engine.injected_seconds() == pytest.approx(1.2)
    assert {i.kind for i in engine.injections} == {"stall"}


def test_hang_once_after_thirty_seconds(procedural):
    sim = SimClock()
    engine = ChaosEngine(BucketCostEngine(procedural, sim.manual, call_s=1.0),
                         "hang=5s,after=30s", clock=sim.now, sleep=sim.sleep)
    states = [engine.init_state(1)]
    while sim.now() < 60.0:
        states = step(engine, states).states
    assert sim.slept == [5.0]
    assert engine.injections[0].kind == "hang" and engine.injections[0].at == pytest.approx(30.0)


def test_stall_targeted_at_one_seed_spares_calls_without_it(procedural):
    sim = SimClock()
    engine = ChaosEngine(BucketCostEngine(procedural, sim.manual, call_s=0.5),
                         "stall=1s,after=0s,seed=9", clock=sim.now, sleep=sim.sleep)
    other = [engine.init_state(1)]
    for _ in range(10):
        other = step(engine, other).states
    assert sim.slept == []
    both = [*other, engine.init_state(9)]
    both = step(engine, both).states
    assert sim.slept == [1.0] and engine.injections[0].seeds == (9,)


def test_slow_factor_stretches_each_call(procedural):
    sim = SimClock()
    engine = ChaosEngine(BucketCostEngine(procedural, sim.manual, call_s=0.2), "slow=1.5x",
                         clock=sim.now, sleep=sim.sleep)
    states = [engine.init_state(1)]
    for _ in range(3):
        before = sim.now()
        states = step(engine, states).states
        assert sim.now() - before == pytest.approx(0.3)
    assert sim.slept == pytest.approx([0.1] * 3)


def test_fail_targets_one_seed_and_the_rest_of_the_batch_runs(procedural):
    engine = ChaosEngine(procedural, "fail=1,seed=666")
    good, bad = engine.init_state(1), engine.init_state(666)
    with pytest.raises(ChaosFault, match=r"fail=1,seed=666.*seed\(s\) 666"):
        step(engine, [good, bad])
    out = step(engine, [good])  # the loop's bisecting retry: the good row alone succeeds
    assert out.pcm.shape == (1, procedural.info.block_frames, 2) and np.abs(out.pcm).max() > 0
    with pytest.raises(ChaosFault):
        step(engine, [bad])
    assert [i.seeds for i in engine.injections] == [(666,), (666,)]


def test_fail_probability_is_deterministic_and_stable_under_retry(procedural):
    def failing(engine, rounds: int = 2) -> list[set[int]]:
        alive = {seed: engine.init_state(seed) for seed in range(150)}
        out = []
        for _ in range(rounds):  # each round: every live session's next block
            failed = set()
            for seed, state in list(alive.items()):
                try:
                    alive[seed] = step(engine, [state]).states[0]
                except ChaosFault:
                    # A retry of the same block gives the same answer (bisection isolates it).
                    with pytest.raises(ChaosFault):
                        step(engine, [state])
                    failed.add(seed)
                    del alive[seed]
            out.append(failed)
        return out

    first = failing(ChaosEngine(procedural, "fail=0.2"))
    assert first == failing(ChaosEngine(procedural, "fail=0.2"))
    assert 0.1 < len(first[0]) / 150 < 0.3
    assert 0.1 < len(first[1]) / (150 - len(first[0])) < 0.3  # later blocks draw afresh


def test_fail_after_a_delay(procedural):
    sim = SimClock()
    engine = ChaosEngine(BucketCostEngine(procedural, sim.manual, call_s=1.0),
                         "fail=1,after=3s", clock=sim.now, sleep=sim.sleep)
    states = [engine.init_state(1)]
    for _ in range(3):
        states = step(engine, states).states
    with pytest.raises(ChaosFault):
        step(engine, states)


def test_after_counts_from_the_targeted_sessions_first_block(procedural):
    sim = SimClock()
    engine = ChaosEngine(BucketCostEngine(procedural, sim.manual, call_s=1.0),
                         "fail=1,seed=7,after=2s", clock=sim.now, sleep=sim.sleep)
    early = [engine.init_state(1)]
    for _ in range(5):
        early = step(engine, early).states
    late = engine.init_state(7)  # joins 5 s in: plays 2 s of its own, then fails
    for _ in range(2):
        early[0], late = step(engine, [early[0], late]).states
    with pytest.raises(ChaosFault):
        step(engine, [early[0], late])
    assert engine.injections[0].at == pytest.approx(7.0)


def test_states_without_a_seed_attribute_are_tracked(procedural):
    inner = DelayedEngine(procedural, latency_blocks=2)  # its states are (key, state) tuples
    engine = ChaosEngine(inner, "fail=1,seed=5")
    states = [engine.init_state(4)]
    for _ in range(3):
        states = step(engine, states).states  # new tuples each call: followed by position
    assert engine.seed_of(states[0]) == 4
    target = engine.init_state(5)
    with pytest.raises(ChaosFault):
        step(engine, [*states, target])


# -------------------------------------------------------------------- forwarding
def test_forwards_the_engine_contract(procedural):
    engine = ChaosEngine(procedural, "fail=0")
    assert engine.info is procedural.info and engine.random_weights is False
    prompt = Prompt(text="dark techno")
    assert np.array_equal(engine.embed(prompt).vector, procedural.embed(prompt).vector)
    assert np.array_equal(engine.neutral_style(), procedural.neutral_style())
    # Same audio as the bare engine, block for block.
    a, b = [engine.init_state(3)], [procedural.init_state(3)]
    for _ in range(3):
        out_a, out_b = step(engine, a), step(procedural, b)
        a, b = out_a.states, out_b.states
        assert np.array_equal(out_a.pcm, out_b.pcm)
    # snapshot / restore continue the stream bit for bit.
    data = engine.snapshot(a[0])
    restored = engine.restore(data)
    assert np.array_equal(step(engine, [restored]).pcm, step(procedural, b).pcm)
    # Optional capabilities: exactly those of the inner engine.
    assert isinstance(engine, BeatGrid) and isinstance(engine, PhraseMaker)
    assert engine.beat_clock(restored) == procedural.beat_clock(restored)
    assert np.array_equal(engine.phrase(restored, "fanfare", 2.0),
                          procedural.phrase(restored, "fanfare", 2.0))
    assert isinstance(engine, Batched) == hasattr(procedural, "bucket_for")
    engine.release(restored)


def test_bucket_for_and_release_forwarded_only_when_present(procedural):
    bucketed = BucketCostEngine(procedural, ManualClock(), call_s=0.01, buckets=(1, 4))
    engine = ChaosEngine(bucketed, "slow=1x")
    assert isinstance(engine, Batched) and isinstance(engine, ChaosEngine)
    state = engine.init_state(1)
    assert bucketed.open == 1 and engine.bucket_for(2) == 4
    engine.release(state)
    assert bucketed.open == 0
    assert not isinstance(engine, BeatGrid) and not hasattr(engine, "beat_clock")
    assert not hasattr(engine, "phrase")


# ------------------------------------------------------------------ serve --chaos
def test_serve_flag_parses_and_wraps(procedural, capsys):
    from cadenza.runtime.cli import build_parser
    from cadenza.runtime.engines.chaos import serve_chaos

    args = build_parser().parse_args(["serve", "--chaos", "stall=300ms,every=2s"])
    assert args.chaos == "stall=300ms,every=2s" and not args.chaos_force
    assert build_parser().parse_args(["serve"]).chaos is None  # off by default
    engine = serve_chaos(procedural, args.chaos, "127.0.0.1")
    assert isinstance(engine, ChaosEngine) and engine.inner is procedural
    assert "CHAOS ON (testing aid)" in capsys.readouterr().err


def test_serve_chaos_refuses_a_bad_spec_and_an_exposed_host(procedural):
    from cadenza.runtime.engines.chaos import serve_chaos

    with pytest.raises(SystemExit, match=r"--chaos: .*clause 'evry=2s': unknown key 'evry'"):
        serve_chaos(procedural, "stall=1s,evry=2s", "127.0.0.1")
    with pytest.raises(SystemExit, match=r"refused with --host 0.0.0.0 .*--chaos-force"):
        serve_chaos(procedural, "fail=0.01", "0.0.0.0")
    assert isinstance(serve_chaos(procedural, "fail=0.01", "0.0.0.0", force=True), ChaosEngine)
    assert isinstance(serve_chaos(procedural, "fail=0.01", "localhost"), ChaosEngine)


def test_cadenza_serve_chaos_end_to_end():
    """`cadenza serve --chaos fail=1,seed=666` as a user runs it: the startup says chaos is
    on; the seed-666 session fails (and is forgotten), another plays."""
    import re
    import subprocess
    import sys
    import time

    from cadenza.sdk import Client, NotFound

    base = [sys.executable, "-m", "cadenza.runtime.cli", "serve", "--grpc-port", "0",
            "--ws-port", "0", "--console-port", "0"]
    server = subprocess.Popen([*base, "--chaos", "fail=1,seed=666"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any("cadenza serving" in line for line in lines):
            line = server.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert any("CHAOS ON (testing aid)" in line and "fail=1,seed=666" in line
                   for line in lines)
        port = re.search(r"gRPC 127\.0\.0\.1:(\d+)", lines[-1]).group(1)
        with Client(f"127.0.0.1:{port}") as client:
            good = client.create_session(scene="minimal", seed=1)
            bad = client.create_session(scene="minimal", seed=666)
            events = []
            try:
                assert list(bad.stream(seconds=5.0, on_event=events.append)) == []
                assert [e.kind for e in events][-2:] == ["error", "ended"]
            except NotFound:  # failed and already forgotten by the runtime (within 1 s)
                pass
            with pytest.raises(NotFound):  # never "playing"
                for _ in range(40):
                    assert client.get_session(bad.id).state == "failed"
                    time.sleep(0.05)
            assert sum(c.frames for c in good.stream(seconds=1.0)) >= 48_000
            good.close()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
