"""The portfolio rules of orchestration.decisions (pure): the pool, public marginal gains, the shortlist."""

import math

from hypothesis import given
from hypothesis import strategies as st

from adapters.plan import Plan
from orchestration import decisions

OZ = {"toolchain": "llvm", "passes": [{"name": "default", "params": {"level": "Oz"}}]}


def plan(size: int) -> Plan:
    return Plan.from_json({**OZ, "knobs": {"llc": {"tail-merge-size": size}}})


def test_the_pool_keeps_each_improving_plan_once_best_first():
    a, b, c = plan(1), plan(2), plan(3)
    best = [(a, 0.95), (b, 0.90), (a, 0.97), (c, 1.0), (plan(4), 0.99)]
    assert decisions.pool_plans(best) == [b, a, plan(4)]  # c never beat the reference
    assert decisions.pool_plans(best, exclude=[b.content_hash()]) == [a, plan(4)]


def test_public_marginal_gains_are_the_participants_statistic_without_noise():
    reference = [100, 200, 50]
    members = [[90, None, 50]]  # a member: better on the first program, failed on the second
    gains = decisions.public_marginal_gains(reference, members, {"q": [95, 190, 40], "r": [85, 210, None]}, clip=0.1)
    # q: nothing on the first (95 > 90), log(200/190) on the second, log(50/40) clipped to 0.1 on the third.
    assert math.isclose(gains["q"], (0 + math.log(200 / 190) + 0.1) / 3)
    assert math.isclose(gains["r"], math.log(90 / 85) / 3)


sizes = st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=1000)), min_size=3, max_size=3)


@given(st.lists(sizes, max_size=3), sizes, st.floats(min_value=1e-3, max_value=1.0))
def test_a_marginal_gain_lies_in_zero_to_c(members: list, candidate: list, clip: float) -> None:
    reference = [500, 500, 500]
    gain = decisions.public_marginal_gains(reference, members, {"q": candidate}, clip)["q"]
    assert 0.0 <= gain <= clip + 1e-12
    if all(size is None or size >= 500 for size in candidate):
        assert gain == 0.0


def test_the_shortlist_takes_the_largest_untried_positive_gains():
    gains = {"a": 0.01, "b": 0.03, "c": 0.0, "d": 0.03, "e": -0.1}
    assert decisions.portfolio_shortlist(gains, 3) == ["b", "d", "a"]  # ties by hash
    assert decisions.portfolio_shortlist(gains, 3, tried=["b"]) == ["d", "a"]
    assert decisions.portfolio_shortlist({"c": 0.0}, 2) == []


def test_a_marginal_observation_has_half_the_noise_of_a_gain_over_the_reference():
    gain = decisions.Observation("p", 0.01, 200, 15.0, 0.005)
    marginal = decisions.Observation("p", 0.01, 200, 15.0, 0.005, width=1)
    assert math.isclose(marginal.noise_std, gain.noise_std / 2) and math.isclose(marginal.noise_std, 15 * 0.005 / 200)
