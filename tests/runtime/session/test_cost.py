"""The cost model: the scheduler follows a slowdown at once; admission's steady cost
rides out a burst of contention but follows a lasting slowdown."""

from __future__ import annotations

import pytest

from cadenza.runtime.session.cost import WINDOW, CostModel


def test_a_burst_moves_the_schedulers_estimate_but_not_the_steady_cost():
    cost = CostModel(per_call=False)
    for _ in range(200):
        cost.observe(8, 8, 8 * 0.001)  # 1 ms a row
    for _ in range(40):
        cost.observe(8, 8, 8 * 0.004)  # a few seconds of contention: 4 ms a row
    assert cost.estimate(8, 8) == pytest.approx(8 * 0.004, rel=0.01)
    assert cost.steady() == pytest.approx(0.001)


def test_a_lasting_slowdown_moves_the_steady_cost():
    cost = CostModel(per_call=True)
    for _ in range(WINDOW):
        cost.observe(4, 3, 0.010)
    for _ in range(WINDOW):
        cost.observe(4, 4, 0.030)
    assert cost.steady(4) == pytest.approx(0.030)
    assert cost.steady(8) is None


def test_a_per_row_engines_capacity_is_bounded_by_what_rows_cost_the_process():
    from cadenza.runtime.engines.procedural import ProceduralEngine
    from cadenza.runtime.session.loop import GenerationLoop

    loop = GenerationLoop(ProceduralEngine(), admission_headroom=0.6, admission_cpu=0.7)
    for i in range(64):
        loop.cost.observe(32, 32, 32 * 0.0005)  # the engine: 0.5 ms a row -> 60 rows fit
        loop.cost.observe_process(i * 32 * 0.0005, 32)  # the process: the engine alone
    assert loop.capacity() == 60
    for i in range(64, 64 + 2 * WINDOW):  # transports cost the process as much again
        loop.cost.observe(32, 32, 32 * 0.0005)
        loop.cost.observe_process(i * 32 * 0.002, 32)
    # 0.7 cores / (2 ms of CPU a row x 20 rows a second) = 17 sessions
    assert loop.capacity() == 17
