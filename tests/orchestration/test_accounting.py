"""zCDP accounting (orchestration.accounting) against independently computed values."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration import accounting


def classic_epsilon(rho: float, delta: float) -> float:
    """Bun and Steinke (2016), Proposition 1.3: the bound our conversion must never exceed."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


def ckS_epsilon(rho: float, delta: float) -> float:
    """Canonne, Kamath and Steinke (2020), Proposition 12, minimised over a fine grid of orders (written here
    from the paper, independently of dp-accounting)."""
    best = math.inf
    for k in range(1, 200_000):
        alpha = 1 + k / 1000
        eps = alpha * rho + math.log((alpha - 1) / alpha) - (math.log(delta) + math.log(alpha)) / (alpha - 1)
        best = min(best, eps)
    return max(best, 0.0)


@pytest.mark.parametrize("rho", [0.001, 0.02, 0.0243, 0.5, 2.0])
@pytest.mark.parametrize("delta", [1e-5, 1e-6, 1e-9])
def test_conversion_matches_the_paper_and_beats_the_classic_bound(rho, delta):
    ours = accounting.epsilon_of_rho(rho, delta)
    assert ours <= classic_epsilon(rho, delta)
    assert ours == pytest.approx(ckS_epsilon(rho, delta), rel=2e-3)


def test_gaussian_costs_and_nano_units():
    assert accounting.rho_of_noise_multiplier(1.0) == 0.5
    assert accounting.rho_nano_of_noise_multiplier(1.0) == 500_000_000
    assert accounting.rho_nano_of_noise_multiplier(5.0) == 20_000_000
    assert accounting.rho_nano_of_noise_multiplier(3.0) == 55_555_556  # rounded up: never undercharge
    with pytest.raises(ValueError):
        accounting.rho_of_noise_multiplier(0)


def test_policy_limit_at_epsilon_one():
    limit = accounting.rho_limit_of(1.0, 1e-6)
    assert accounting.epsilon_of_rho(limit, 1e-6) <= 1.0 < accounting.epsilon_of_rho(limit * 1.001, 1e-6)
    assert 0.0243 < limit < 0.0244  # about 20% more than the classic bound's 0.0203
    classic_limit = (math.sqrt(math.log(1e6) + 1) - math.sqrt(math.log(1e6))) ** 2
    assert limit > classic_limit
    assert accounting.rho_limit_nano(1.0, 1e-6) == math.floor(limit * 1e9)


@given(
    epsilon=st.floats(min_value=0.05, max_value=20),
    delta=st.sampled_from([1e-5, 1e-6, 1e-8]),
)
def test_limits_convert_back_within_the_policy(epsilon, delta):
    nano = accounting.rho_limit_nano(epsilon, delta)
    assert accounting.epsilon_of_rho_nano(nano, delta) <= epsilon + 1e-9


@given(m=st.floats(min_value=0.5, max_value=100))
def test_charges_are_never_below_the_true_cost(m):
    assert accounting.rho_nano_of_noise_multiplier(m) >= accounting.rho_of_noise_multiplier(m) * 1e9 - 1e-3
