"""Quorum and threshold arithmetic (governance.quorum), including the edges."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.quorum import Rules, Tally, outcome

TWO_THIRDS = Rules(quorum=3, numerator=2, denominator=3)


@pytest.mark.parametrize(
    ("tally", "remaining", "expected"),
    [
        (Tally(yes=2), 1, None),  # below quorum, still reachable
        (Tally(yes=3), 0, "accepted"),
        (Tally(yes=2, no=1), 0, "accepted"),  # exactly 2/3
        (Tally(yes=2, abstain=1), 0, "accepted"),  # abstentions count to quorum only
        (Tally(yes=1, no=1, abstain=1), 1, None),  # 2 of 3 would still pass
        (Tally(yes=1, no=2), 0, "rejected"),
        (Tally(no=2), 1, "rejected"),  # even a yes leaves 1/3
        (Tally(abstain=3), 0, "rejected"),  # quorum but no yes at all
        (Tally(yes=1), 1, "rejected"),  # quorum out of reach
    ],
)
def test_outcomes(tally, remaining, expected):
    result = outcome(tally, remaining, TWO_THIRDS)
    assert (result[0] if result else None) == expected


def test_threshold_is_exact_not_floating_point():
    rules = Rules(quorum=1, numerator=1, denominator=3)
    assert outcome(Tally(yes=1, no=2), 0, rules)[0] == "accepted"  # 1/3 >= 1/3 exactly


votes = st.integers(min_value=0, max_value=12)


@given(yes=votes, no=votes, abstain=votes, remaining=votes, q=st.integers(1, 10), num=st.integers(1, 5))
def test_decisions_are_final_and_consistent(yes, no, abstain, remaining, q, num):
    rules = Rules(quorum=q, numerator=num, denominator=num + 1)
    result = outcome(Tally(yes, no, abstain), remaining, rules)
    if result and result[0] == "accepted":
        assert yes + no + abstain >= q and yes * (num + 1) >= num * (yes + no)
    if result and result[0] == "rejected":
        # no way of casting the remaining votes accepts it
        for extra_yes in range(remaining + 1):
            for extra_no in range(remaining - extra_yes + 1):
                later = outcome(Tally(yes + extra_yes, no + extra_no, abstain), 0, rules)
                assert later is None or later[0] == "rejected"
