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
