"""zCDP accounting with dp-accounting (docs/design.md §4): Gaussian releases cost rho = 1 / (2 m^2), composition
adds, and a policy's (epsilon, delta) becomes a rho limit through the library's RDP-to-(epsilon, delta)
conversion.

The conversion is `dp_accounting.rdp.RdpAccountant.get_epsilon` over a `ZCDpEvent` (rho-zCDP is RDP with
epsilon(alpha) = rho * alpha at every order), with the replace-one neighbouring relation of our privacy unit.
It is the improved conversion of Canonne, Kamath and Steinke (2020), never looser than the classic
epsilon = rho + 2 sqrt(rho ln(1/delta)) (tests check both). Budgets are integers in nano-rho so that the server
can reserve them with one conditional UPDATE: limits round down, charges round up.
"""

import math
from functools import lru_cache

import dp_accounting
from dp_accounting.privacy_accountant import NeighboringRelation
from dp_accounting.rdp import RdpAccountant

NANO = 1_000_000_000
# Orders dense near 1 and reaching far enough for the small rho of a tight budget.
_ORDERS = [1 + k / 20 for k in range(1, 200)] + [11 + 1.1**k for k in range(0, 90)]


def rho_of_noise_multiplier(noise_multiplier: float) -> float:
    """One Gaussian release with standard deviation m times its sensitivity is (1 / 2m^2)-zCDP."""
    if not math.isfinite(noise_multiplier) or noise_multiplier <= 0:
        raise ValueError(f"noise multiplier must be a positive number, got {noise_multiplier!r}")
    return 1.0 / (2.0 * noise_multiplier**2)


def rho_nano_of_noise_multiplier(noise_multiplier: float) -> int:
    """The integer charge of one release, rounded up (never undercharge)."""
    return math.ceil(NANO * rho_of_noise_multiplier(noise_multiplier) - 1e-6)


@lru_cache(maxsize=4096)
def epsilon_of_rho(rho: float, delta: float) -> float:
    """The (epsilon, delta)-DP guarantee of rho-zCDP at delta, as dp-accounting converts it."""
    if rho <= 0:
        return 0.0
    accountant = RdpAccountant(orders=_ORDERS, neighboring_relation=NeighboringRelation.REPLACE_ONE)
    accountant.compose(dp_accounting.ZCDpEvent(rho))
    return accountant.get_epsilon(delta)


@lru_cache(maxsize=256)
def rho_limit_of(epsilon: float, delta: float) -> float:
    """The largest rho whose conversion stays within (epsilon, delta); bisection on a monotone function."""
    if not (math.isfinite(epsilon) and epsilon > 0 and 0 < delta < 1):
        raise ValueError(f"need epsilon > 0 and 0 < delta < 1, got ({epsilon!r}, {delta!r})")
    low, high = 0.0, max(epsilon, 1.0)
    while epsilon_of_rho(high, delta) <= epsilon:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        if epsilon_of_rho(mid, delta) <= epsilon:
            low = mid
        else:
            high = mid
    return low


def rho_limit_nano(epsilon: float, delta: float) -> int:
    """The policy's limit in nano-rho, rounded down (never over-grant)."""
    return math.floor(rho_limit_of(epsilon, delta) * NANO)


def epsilon_of_rho_nano(rho_nano: int, delta: float) -> float:
    return epsilon_of_rho(rho_nano / NANO, delta)


def releases_within(rho_limit: int, noise_multiplier: float) -> int:
    """How many releases at multiplier m a budget of `rho_limit` nano-rho affords."""
    return rho_limit // rho_nano_of_noise_multiplier(noise_multiplier)
