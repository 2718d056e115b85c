"""adapters.portfolio: the file format, identity, per-module choice and marginal gains (pure, no toolchain)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.delta import DeltaError
from adapters.plan import Plan, PlanError, reference_plan
from adapters.portfolio import (
    MAX_MEMBERS,
    Portfolio,
    PortfolioDelta,
    apply_delta,
    best_size,
    choose,
    diff,
    load,
)
from adapters.privacy import marginal_gain

OZ = reference_plan("llvm").to_json()


def knobbed(**llc) -> Plan:
    return Plan.from_json({**OZ, "knobs": {"llc": llc}})


IPRA, BASIC = knobbed(**{"enable-ipra": True}), knobbed(regalloc="basic")


def test_identity_is_the_canonical_json_of_members_in_order() -> None:
    one, two = Portfolio("llvm", (IPRA, BASIC)), Portfolio("llvm", (BASIC, IPRA))
    assert one.content_hash() != two.content_hash()  # order matters: ties go to the earlier member
    again = Portfolio.from_json(json.loads(json.dumps(one.to_json())))
    assert again == one and again.content_hash() == one.content_hash()
    assert one.candidates() == (reference_plan("llvm"), IPRA, BASIC)


def test_with_member_appends_once_and_never_the_reference() -> None:
    base = Portfolio("llvm", (IPRA,))
    assert base.with_member(BASIC).members == (IPRA, BASIC)
    assert base.with_member(IPRA) is base
    assert base.with_member(reference_plan("llvm")) is base
    assert base.with_member(BASIC).without_member(IPRA).members == (BASIC,)
    assert Portfolio.of(reference_plan("llvm")).members == ()
    assert Portfolio.of(IPRA).members == (IPRA,)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "portfolio: expected an object"),
        ({"toolchain": "llvm"}, "members: missing"),
        ({"members": []}, "toolchain: missing"),
        ({"toolchain": "llvm", "members": [], "extra": 1}, "extra: unknown key"),
        ({"toolchain": "msvc", "members": []}, "toolchain: unknown toolchain 'msvc'"),
        ({"toolchain": "llvm", "members": {}}, "members: expected an array"),
        ({"toolchain": "llvm", "members": [{"toolchain": "llvm"}]}, "members[0].passes: missing"),
        ({"toolchain": "llvm", "members": [OZ]}, "members[0]: the reference pipeline is always an implicit member"),
        ({"toolchain": "gcc", "members": [IPRA.to_json()]}, "members[0].toolchain: a 'llvm' plan in a 'gcc'"),
        ({"toolchain": "llvm", "members": [IPRA.to_json(), IPRA.to_json()]}, "members[1]: the same plan twice"),
    ],
)
def test_bad_documents_are_one_line_errors(document: object, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        Portfolio.from_json(document)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_too_many_members_are_refused() -> None:
    plans = tuple(knobbed(**{"tail-merge-size": size}) for size in range(1, MAX_MEMBERS + 2))
    with pytest.raises(PlanError, match=f"at most {MAX_MEMBERS}"):
        Portfolio("llvm", plans)


def test_load_accepts_a_portfolio_or_a_plan_file(tmp_path: Path) -> None:
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps(Portfolio("llvm", (IPRA, BASIC)).to_json()))
    assert load(portfolio).members == (IPRA, BASIC)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(IPRA.to_json()))
    assert load(plan).members == (IPRA,)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PlanError, match=r"bad\.json: not a JSON document"):
        load(tmp_path / "bad.json")


sizes = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)), min_size=1, max_size=10)


@given(sizes)
def test_choice_is_the_first_smallest_verified_size(candidates: list[int | None]) -> None:
    chosen = choose(candidates)
    verified = [size for size in candidates if size is not None]
    if not verified:
        assert chosen is None and best_size(candidates) is None
        return
    assert candidates[chosen] == min(verified) == best_size(candidates)
    assert all(size is None or size > min(verified) for size in candidates[:chosen])


@given(sizes, st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)))
def test_adding_a_candidate_never_makes_a_module_larger(base: list[int | None], candidate: int | None) -> None:
    before, after = best_size(base), best_size([*base, candidate])
    if before is not None:
        assert after is not None and after <= before
    assert marginal_gain(before, after, 1.0) >= 0


@given(
    st.integers(min_value=1, max_value=10**7),
    st.integers(min_value=0, max_value=10**7),
    st.floats(min_value=1e-6, max_value=1.0),
)
def test_marginal_gain_lies_in_zero_to_c(base: int, candidate: int, clip: float) -> None:
    with_candidate = min(base, candidate)
    gain = marginal_gain(base, with_candidate, clip)
    assert 0.0 <= gain <= clip
    if 0 < with_candidate < base:
        assert gain == pytest.approx(min(clip, math.log(base / with_candidate)))


def test_marginal_gain_examples() -> None:
    assert marginal_gain(1000, 950, 0.1) == pytest.approx(math.log(1000 / 950))
    assert marginal_gain(1000, 500, 0.1) == 0.1  # clipped
    assert marginal_gain(1000, 1000, 0.1) == 0.0
    assert marginal_gain(None, None, 0.1) == 0.0  # no reference: nothing to gain
    assert marginal_gain(0, 0, 0.1) == 0.0  # no code


# --- deltas ------------------------------------------------------------------------------------------------

PLANS = [knobbed(**{"tail-merge-size": size}) for size in range(1, 7)]
portfolios = st.lists(st.sampled_from(range(len(PLANS))), unique=True, max_size=len(PLANS)).map(
    lambda picks: Portfolio("llvm", tuple(PLANS[pick] for pick in picks))
)


@given(portfolios, portfolios)
def test_a_diff_applied_to_its_parent_gives_the_child(parent: Portfolio, child: Portfolio) -> None:
    delta = diff(parent, child)
    assert apply_delta(PortfolioDelta.from_json(json.loads(json.dumps(delta.to_json()))), parent) == child


@given(portfolios, portfolios, portfolios)
def test_a_delta_never_applies_to_another_parent(parent: Portfolio, child: Portfolio, other: Portfolio) -> None:
    if other.content_hash() == parent.content_hash():
        return
    with pytest.raises(DeltaError, match="the delta applies to portfolio"):
        apply_delta(diff(parent, child), other)


def test_adding_a_member_is_one_add_op() -> None:
    base = Portfolio("llvm", (IPRA,))
    delta = diff(base, base.with_member(BASIC))
    assert delta.ops == ({"op": "add", "position": 1, "plan": BASIC.to_json()},)


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([{"op": "move"}], "expected add or remove"),
        ([{"op": "remove", "plan": "x"}], "a remove op is"),
        ([{"op": "add", "position": True, "plan": {}}], "an add op is"),
        ([{"op": "add", "position": -1, "plan": {}}], "outside"),
        ([{"op": "add", "position": 0, "plan": []}], "expected a plan body"),
    ],
)
def test_malformed_ops_are_refused(ops: list, message: str) -> None:
    with pytest.raises(DeltaError, match=message):
        PortfolioDelta.from_json({"parent": "a" * 64, "child": "b" * 64, "ops": ops})


def test_a_delta_whose_result_is_not_its_child_is_refused() -> None:
    base = Portfolio("llvm", ())
    forged = PortfolioDelta(base.content_hash(), "c" * 64, ({"op": "add", "position": 0, "plan": IPRA.to_json()},))
    with pytest.raises(DeltaError, match="not the delta's child"):
        apply_delta(forged, base)
    bad_plan = PortfolioDelta(base.content_hash(), "c" * 64, ({"op": "add", "position": 0, "plan": {"x": 1}},))
    with pytest.raises(DeltaError, match=r"ops\[0\]\.plan\."):
        apply_delta(bad_plan, base)
