"""adapters.delta: diff, apply and compose plan deltas; strict parsing of deltas from the network."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.delta import Delta, DeltaError, apply, apply_all, compose, diff
from adapters.plan import KNOBS, PassStep, Plan, reference_plan

PASS_NAMES = ("default", "gvn", "sroa", "instcombine", "licm", "inline")
PARAMS = {"level": st.sampled_from(("Oz", "Os", "O2")), "pre": st.booleans(), "threshold": st.integers(0, 3)}


@st.composite
def steps(draw: st.DrawFn) -> PassStep:
    keys = draw(st.lists(st.sampled_from(sorted(PARAMS)), unique=True, max_size=2))
    return PassStep(draw(st.sampled_from(PASS_NAMES)), {key: draw(PARAMS[key]) for key in keys})


@st.composite
def knob_values(draw: st.DrawFn) -> dict[str, dict[str, bool | int | str]]:
    knobs: dict[str, dict[str, bool | int | str]] = {}
    for group, specs in sorted(KNOBS["llvm"].items()):
        for name in draw(st.lists(st.sampled_from(sorted(specs)), unique=True, max_size=3)):
            spec = specs[name]
            if spec.type is bool:
                value: bool | int | str = draw(st.booleans())
            elif spec.type is str:
                value = draw(st.sampled_from(spec.choices))
            else:  # small values, so that two plans often share one
                value = draw(st.sampled_from((spec.minimum or 0, (spec.minimum or 0) + 1, spec.maximum or 0)))
            knobs.setdefault(group, {})[name] = value
    return knobs


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    # Plans share steps often (a small alphabet), so diffs mix equal runs with every kind of edit.
    return Plan("llvm", tuple(draw(st.lists(steps(), max_size=8))), draw(knob_values()))


def same_plan(one: Plan, two: Plan) -> bool:
    return one.content_hash() == two.content_hash() and one.to_json() == two.to_json()


# --- properties -------------------------------------------------------------------------------------


@given(plans(), plans())
def test_applying_the_diff_of_two_plans_gives_the_child(parent: Plan, child: Plan) -> None:
    delta = diff(parent, child)
    assert delta.parent == parent.content_hash() and delta.child == child.content_hash()
    assert same_plan(apply(delta, parent), child)
    assert diff(parent, child) == delta  # deterministic
    knob_names = {(g, n) for plan in (parent, child) for g, values in plan.knobs.items() for n in values}
    # small: no op per untouched step (at most a removal per parent step and an insertion per child step),
    # and at most one per knob either plan sets
    assert len(delta.ops) <= len(parent.passes) + len(child.passes) + len(knob_names)
    wire = json.loads(json.dumps(delta.to_json()))
    assert Delta.from_json(wire) == delta and set(wire) == {"parent", "child", "ops"}


@given(plans(), plans(), plans())
def test_a_composed_delta_equals_applying_both_in_order(first: Plan, second: Plan, third: Plan) -> None:
    one, two = diff(first, second), diff(second, third)
    composed = compose(one, two)
    assert composed.parent == one.parent and composed.child == two.child
    assert same_plan(apply(composed, first), apply(two, apply(one, first)))
    assert same_plan(apply_all([one, two], first), third)


@given(plans(), st.data())
def test_a_move_takes_the_step_out_then_puts_it_at_the_target(plan: Plan, data: st.DataObject) -> None:
    if not plan.passes:
        plan = Plan("llvm", (PassStep("gvn"),), plan.knobs)
    source = data.draw(st.integers(0, len(plan.passes) - 1))
    target = data.draw(st.integers(0, len(plan.passes) - 1))
    passes = list(plan.passes)
    passes.insert(target, passes.pop(source))
    expected = Plan("llvm", tuple(passes), plan.knobs)
    delta = Delta(plan.content_hash(), expected.content_hash(), ({"op": "move", "from": source, "to": target},))
    assert same_plan(apply(delta, plan), expected)


@given(plans(), plans(), plans())
def test_a_delta_applied_to_another_plan_is_an_error(parent: Plan, child: Plan, other: Plan) -> None:
    if other.content_hash() == parent.content_hash():
        return
    with pytest.raises(DeltaError, match=f"applies to plan {parent.content_hash()[:12]}, not to plan"):
        apply(diff(parent, child), other)


@given(plans(), plans())
def test_an_extra_op_fails_the_child_hash_check(parent: Plan, child: Plan) -> None:
    delta = diff(parent, child).to_json()
    delta["ops"].append({"op": "insert", "index": len(child.passes), "step": {"name": "gvn", "params": {}}})
    with pytest.raises(DeltaError, match="not its child"):
        apply(Delta.from_json(delta), parent)


@given(plans(), plans())
def test_a_tampered_step_fails_the_child_hash_check(parent: Plan, child: Plan) -> None:
    delta = diff(parent, child).to_json()
    edits = [op for op in delta["ops"] if "step" in op]
    if not edits:
        return
    edits[0]["step"] = {"name": "tampered", "params": {}}
    with pytest.raises(DeltaError, match="not its child"):
        apply(Delta.from_json(delta), parent)


def test_a_tampered_knob_value_fails_the_child_hash_check() -> None:
    parent = reference_plan("llvm")
    child = Plan("llvm", parent.passes, {"opt": {"inline-threshold": 50}})
    wire = diff(parent, child).to_json()
    assert wire["ops"] == [{"op": "set_knob", "group": "opt", "name": "inline-threshold", "value": 50}]
    wire["ops"][0]["value"] = 51
    with pytest.raises(DeltaError, match=f"produced plan .* not its child {child.content_hash()[:12]}"):
        apply(Delta.from_json(wire), parent)


# --- examples ---------------------------------------------------------------------------------------


def test_a_diff_reads_as_the_edit() -> None:
    parent = Plan("llvm", (PassStep("default", {"level": "Oz"}), PassStep("gvn"), PassStep("licm")), {})
    child = Plan(
        "llvm",
        (PassStep("default", {"level": "Oz"}), PassStep("sroa"), PassStep("licm"), PassStep("inline")),
        {"llc": {"enable-ipra": True}},
    )
    assert diff(parent, child).ops == (
        {"op": "replace", "index": 1, "step": {"name": "sroa", "params": {}}},
        {"op": "insert", "index": 3, "step": {"name": "inline", "params": {}}},
        {"op": "set_knob", "group": "llc", "name": "enable-ipra", "value": True},
    )
    assert diff(child, parent).ops[-1] == {"op": "unset_knob", "group": "llc", "name": "enable-ipra"}


def test_a_boolean_and_an_integer_parameter_are_different_steps() -> None:
    parent = Plan("llvm", (PassStep("gvn", {"pre": True}),), {})
    child = Plan("llvm", (PassStep("gvn", {"pre": 1}),), {})
    assert diff(parent, child).ops and same_plan(apply(diff(parent, child), parent), child)


def test_the_empty_delta_applies_to_its_own_plan_only() -> None:
    plan = reference_plan("llvm")
    assert diff(plan, plan).ops == () and apply(diff(plan, plan), plan) == plan
    with pytest.raises(DeltaError, match="applies to plan"):
        apply(diff(plan, plan), Plan("llvm", (), {}))


def test_compose_refuses_deltas_that_do_not_chain() -> None:
    first = diff(reference_plan("llvm"), Plan("llvm", (), {}))
    with pytest.raises(DeltaError, match="cannot compose: the first delta ends at plan"):
        compose(first, first)


def test_a_delta_cannot_change_the_toolchain() -> None:
    with pytest.raises(DeltaError, match="cannot turn a 'llvm' plan into a 'gcc' one"):
        diff(reference_plan("llvm"), reference_plan("gcc"))


# --- strict parsing ----------------------------------------------------------------------------------

HASH = "ab" * 32


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ("insert", r"ops\[0\]: expected an object, got a string"),
        ({"op": "rotate", "index": 0}, r"ops\[0\]\.op: expected one of insert, remove"),
        ({"index": 0}, r"ops\[0\]\.op: expected one of"),
        ({"op": "remove", "index": 0, "extra": 1}, r"ops\[0\]\.extra: unknown key for a remove op"),
        ({"op": "remove"}, r"ops\[0\]\.index: missing"),
        ({"op": "remove", "index": "0"}, r"ops\[0\]\.index: expected a non-negative integer, got \"0\""),
        ({"op": "remove", "index": True}, r"ops\[0\]\.index: expected a non-negative integer, got true"),
        ({"op": "remove", "index": -1}, r"ops\[0\]\.index: expected a non-negative integer, got -1"),
        ({"op": "remove", "index": 1.0}, r"ops\[0\]\.index: expected a non-negative integer"),
        ({"op": "move", "from": 0}, r"ops\[0\]\.to: missing"),
        ({"op": "insert", "index": 0, "step": "gvn"}, r"ops\[0\]\.step: expected an object"),
        ({"op": "insert", "index": 0, "step": {"name": "gvn", "x": 1}}, r"ops\[0\]\.step\.x: unknown key"),
        ({"op": "insert", "index": 0, "step": {"name": "gvn;rm"}}, r"ops\[0\]\.step\.name: 'gvn;rm' is not a pass"),
        (
            {"op": "replace", "index": 0, "step": {"name": "gvn", "params": {"a": "x,y"}}},
            r"ops\[0\]\.step\.params\.a: .* not allowed",
        ),
        ({"op": "set_knob", "group": "opt", "name": "inline-threshold"}, r"ops\[0\]\.value: missing"),
        ({"op": "set_knob", "group": "opt", "name": "x", "value": 1.5}, r"ops\[0\]\.value: expected a boolean, int"),
        ({"op": "set_knob", "group": "opt", "name": "x", "value": None}, r"ops\[0\]\.value: expected a boolean"),
        ({"op": "unset_knob", "group": 1, "name": "x"}, r"ops\[0\]\.group: expected a non-empty string, got 1"),
    ],
)
def test_malformed_ops_are_rejected_with_one_line(op: Any, message: str) -> None:
    with pytest.raises(DeltaError, match=message) as caught:
        Delta.from_json({"parent": HASH, "child": HASH, "ops": [op]})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "delta: expected an object, got an array"),
        ({"parent": HASH, "child": HASH}, "ops: missing"),
        ({"parent": HASH, "child": HASH, "ops": [], "sequence": 1}, "sequence: unknown key"),
        ({"parent": HASH, "child": HASH, "ops": {}}, "ops: expected an array, got an object"),
        ({"parent": HASH.upper(), "child": HASH, "ops": []}, "parent: expected a lowercase hex SHA-256"),
        ({"parent": HASH, "child": "abc", "ops": []}, "child: expected a lowercase hex SHA-256"),
        ({"parent": HASH, "child": 7, "ops": []}, "child: expected a lowercase hex SHA-256 .* got 7"),
    ],
)
def test_malformed_deltas_are_rejected(document: Any, message: str) -> None:
    with pytest.raises(DeltaError, match=message):
        Delta.from_json(document)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "remove", "index": 1}, r"ops\[0\]\.index: 1 is out of range \(valid: 0\.\.0\)"),
        ({"op": "replace", "index": 5, "step": {"name": "gvn"}}, r"ops\[0\]\.index: 5 is out of range"),
        ({"op": "insert", "index": 2, "step": {"name": "gvn"}}, r"ops\[0\]\.index: 2 is out of range \(valid: 0\.\.1"),
        ({"op": "move", "from": 1, "to": 0}, r"ops\[0\]\.from: 1 is out of range"),
        ({"op": "move", "from": 0, "to": 1}, r"ops\[0\]\.to: 1 is out of range \(valid: 0\.\.0\)"),
        ({"op": "set_knob", "group": "opt", "name": "no-such", "value": 1}, r"opt\.no-such is not a llvm knob"),
        ({"op": "set_knob", "group": "ld", "name": "x", "value": 1}, r"ld\.x is not a llvm knob"),
        (
            {"op": "set_knob", "group": "opt", "name": "inline-threshold", "value": -5},
            r"ops\[0\]\.value: -5 is outside the allowed range",
        ),
        (
            {"op": "set_knob", "group": "llc", "name": "enable-ipra", "value": 1},
            r"ops\[0\]\.value: expected a boolean",
        ),
        ({"op": "unset_knob", "group": "opt", "name": "inline-threshold"}, r"knob opt\.inline-threshold is not set"),
    ],
)
def test_ops_that_do_not_fit_the_plan_are_rejected(op: dict[str, Any], message: str) -> None:
    plan = reference_plan("llvm")  # one pass, no knobs
    delta = Delta(plan.content_hash(), HASH, (op,))
    with pytest.raises(DeltaError, match=message):
        apply(delta, plan)


def test_ops_after_a_remove_see_the_shorter_plan() -> None:
    plan = reference_plan("llvm")
    delta = Delta(plan.content_hash(), HASH, ({"op": "remove", "index": 0}, {"op": "remove", "index": 0}))
    with pytest.raises(DeltaError, match=r"ops\[1\]\.index: 0 is out of range \(valid: none"):
        apply(delta, plan)


def test_a_delta_never_shares_its_ops_with_the_caller() -> None:
    ops = [{"op": "insert", "index": 1, "step": {"name": "gvn"}}]
    parent = reference_plan("llvm")
    child = Plan("llvm", (*parent.passes, PassStep("gvn")), {})
    delta = Delta(parent.content_hash(), child.content_hash(), tuple(ops))
    ops[0]["index"] = 0
    delta.to_json()["ops"][0]["step"]["name"] = "sroa"
    assert apply(delta, parent) == child
