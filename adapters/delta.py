"""Plan deltas (docs/design.md §3, §8): the ops that turn a parent plan into a child plan.

`{"parent": hex, "child": hex, "ops": [...]}`: the parent's and the child's content hashes and ops
applied in order, each against the plan as the ops before it left it:

* `{"op": "insert", "index": i, "step": {"name": ..., "params": {...}}}` — the step lands at index i,
* `{"op": "remove", "index": i}`, `{"op": "replace", "index": i, "step": {...}}`,
* `{"op": "move", "from": i, "to": j}` — the step at i is taken out, then lands at index j,
* `{"op": "set_knob", "group": g, "name": n, "value": v}`, `{"op": "unset_knob", "group": g, "name": n}`.

Deltas come from the network, so they are parsed as strictly as plans: unknown keys, wrong types and
indexes out of range are a one-line `DeltaError` naming the op. Applying one to any plan but its parent is
an error, never a silent merge (docs/design.md §8), and the result must hash to the child.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.plan import KNOBS, PassStep, Plan, PlanError, json_type

Op = dict[str, Any]

# Op name -> its keys besides "op" and their JSON types (`index` kinds are non-negative integers).
OP_KEYS: dict[str, dict[str, str]] = {
    "insert": {"index": "index", "step": "step"},
    "remove": {"index": "index"},
    "move": {"from": "index", "to": "index"},
    "replace": {"index": "index", "step": "step"},
    "set_knob": {"group": "string", "name": "string", "value": "knob"},
    "unset_knob": {"group": "string", "name": "string"},
}
DELTA_KEYS = frozenset({"parent", "child", "ops"})
MAX_OPS = 10_000
"""More ops than any plan has passes and knobs: a bigger delta is refused before any work."""

_HASH = re.compile(r"[0-9a-f]{64}")


class DeltaError(ValueError):
    """A delta is malformed, does not apply to the plan at hand, or does not produce its child (one line)."""


@dataclasses.dataclass(frozen=True)
class Delta:
    """Parent hash, child hash and ops; built through `diff`, `compose` or `from_json`, always well formed."""

    parent: str
    child: str
    ops: tuple[Op, ...] = ()

    def __post_init__(self) -> None:
        for field in ("parent", "child"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _HASH.fullmatch(value):
                raise DeltaError(f"{field}: expected a lowercase hex SHA-256 (64 digits), got {_short(value)}")
        if not isinstance(self.ops, Sequence) or isinstance(self.ops, str | bytes):
            raise DeltaError(f"ops: expected an array, got {json_type(self.ops)}")
        if len(self.ops) > MAX_OPS:
            raise DeltaError(f"ops: {len(self.ops)} ops, more than the {MAX_OPS} allowed")
        # Validated copies: the delta never shares (mutable) op objects with its caller.
        object.__setattr__(self, "ops", tuple(_checked_op(op, f"ops[{index}]") for index, op in enumerate(self.ops)))

    def __hash__(self) -> int:
        return hash((self.parent, self.child, json.dumps(self.ops, sort_keys=True)))

    def to_json(self) -> dict[str, Any]:
        """The wire form `{"parent": hex, "child": hex, "ops": [...]}`."""
        return {"parent": self.parent, "child": self.child, "ops": [_copy_op(op) for op in self.ops]}

    @classmethod
    def from_json(cls, data: Any) -> Delta:
        """Parse and check a decoded delta document (unknown keys, wrong types: DeltaError)."""
        if not isinstance(data, dict):
            raise DeltaError(f"delta: expected an object, got {json_type(data)}")
        unknown = sorted(set(data) - DELTA_KEYS)
        if unknown:
            raise DeltaError(f"{unknown[0]}: unknown key (allowed: {', '.join(sorted(DELTA_KEYS))})")
        for key in sorted(DELTA_KEYS):
            if key not in data:
                raise DeltaError(f"{key}: missing")
        if not isinstance(data["ops"], list):
            raise DeltaError(f"ops: expected an array, got {json_type(data['ops'])}")
        return cls(data["parent"], data["child"], tuple(data["ops"]))


# --- diff -----------------------------------------------------------------------------------------


def diff(parent: Plan, child: Plan) -> Delta:
    """A short op list from `parent` to `child`: pass edits from difflib's matching blocks (replace, remove,
    insert; no moves), then knob changes in sorted order. Deterministic: the same plans, the same delta."""
    if parent.toolchain != child.toolchain:
        raise DeltaError(f"toolchain: a delta cannot turn a {parent.toolchain!r} plan into a {child.toolchain!r} one")
    old = [_step_key(step) for step in parent.passes]
    new = [_step_key(step) for step in child.passes]
    ops: list[Op] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        # Ops so far turned parent[:i1] into child[:j1], so the next untouched parent step sits at index j1.
        shared = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(shared):
            ops.append({"op": "replace", "index": j1 + offset, "step": child.passes[j1 + offset].to_json()})
        if tag in ("replace", "delete"):
            ops.extend({"op": "remove", "index": j1 + shared} for _ in range(i2 - i1 - shared))
        if tag in ("replace", "insert"):
            for index in range(j1 + shared, j2):
                ops.append({"op": "insert", "index": index, "step": child.passes[index].to_json()})
    for group in sorted(set(parent.knobs) | set(child.knobs)):
        before, after = parent.knobs.get(group, {}), child.knobs.get(group, {})
        for name in sorted(set(before) | set(after)):
            if name not in after:
                ops.append({"op": "unset_knob", "group": group, "name": name})
            elif name not in before or not _same_value(before[name], after[name]):
                ops.append({"op": "set_knob", "group": group, "name": name, "value": after[name]})
    return Delta(parent.content_hash(), child.content_hash(), tuple(ops))


# --- apply ----------------------------------------------------------------------------------------


def apply(delta: Delta, plan: Plan) -> Plan:
    """The child plan: `plan` must be the delta's parent, every op must fit, the result must hash to the child."""
    current = plan.content_hash()
    if current != delta.parent:
        raise DeltaError(f"the delta applies to plan {delta.parent[:12]}, not to plan {current[:12]}")
    passes = list(plan.passes)
    knobs = {group: dict(values) for group, values in plan.knobs.items()}
    specs = KNOBS.get(plan.toolchain, {})
    for number, raw in enumerate(delta.ops):
        field = f"ops[{number}]"
        op = _checked_op(raw, field)
        kind = op["op"]
        if kind == "insert":
            passes.insert(_index(op, "index", len(passes) + 1, field), _step(op, field))
        elif kind == "remove":
            del passes[_index(op, "index", len(passes), field)]
        elif kind == "replace":
            passes[_index(op, "index", len(passes), field)] = _step(op, field)
        elif kind == "move":
            step = passes.pop(_index(op, "from", len(passes), field))
            passes.insert(_index(op, "to", len(passes) + 1, field), step)
        elif kind == "set_knob":
            group, name = op["group"], op["name"]
            spec = specs.get(group, {}).get(name)
            if spec is None:
                raise DeltaError(f"{field}: {group}.{name} is not a {plan.toolchain} knob")
            try:
                spec.check(f"{field}.value", op["value"])
            except PlanError as exc:
                raise DeltaError(str(exc)) from None
            knobs.setdefault(group, {})[name] = op["value"]
        else:  # unset_knob
            group, name = op["group"], op["name"]
            if name not in knobs.get(group, {}):
                raise DeltaError(f"{field}: knob {group}.{name} is not set")
            del knobs[group][name]
    document = {
        "toolchain": plan.toolchain,
        "passes": [step.to_json() for step in passes],
        "knobs": {group: values for group, values in knobs.items() if values},
    }
    try:
        result = Plan.from_json(document)
    except PlanError as exc:
        raise DeltaError(f"the delta's result is not a valid plan: {exc}") from None
    produced = result.content_hash()
    if produced != delta.child:
        raise DeltaError(f"the delta produced plan {produced[:12]}, not its child {delta.child[:12]}")
    return result


def apply_all(deltas: Sequence[Delta], plan: Plan) -> Plan:
    """Apply deltas in order (versions k+1..n onto version k); the first that does not fit stops it."""
    for number, delta in enumerate(deltas):
        try:
            plan = apply(delta, plan)
        except DeltaError as exc:
            raise DeltaError(f"delta {number}: {exc}") from None
    return plan


def compose(first: Delta, second: Delta) -> Delta:
    """One delta doing `first` then `second`: `apply(compose(a, b), p) == apply(b, apply(a, p))`."""
    if first.child != second.parent:
        raise DeltaError(
            f"cannot compose: the first delta ends at plan {first.child[:12]}, "
            f"the second starts from plan {second.parent[:12]}"
        )
    return Delta(first.parent, second.child, first.ops + second.ops)


# --- op checking ----------------------------------------------------------------------------------


def _checked_op(op: Any, field: str) -> Op:
    """A validated copy of one op: its name, exactly its keys, each of the right JSON type."""
    if not isinstance(op, Mapping):
        raise DeltaError(f"{field}: expected an object, got {json_type(op)}")
    kind = op.get("op")
    if not isinstance(kind, str) or kind not in OP_KEYS:
        raise DeltaError(f"{field}.op: expected one of {', '.join(OP_KEYS)}, got {_short(kind)}")
    keys = OP_KEYS[kind]
    unknown = sorted(set(op) - set(keys) - {"op"}, key=str)
    if unknown:
        raise DeltaError(f"{field}.{unknown[0]}: unknown key for a {kind} op (allowed: {', '.join(['op', *keys])})")
    checked: Op = {"op": kind}
    for key, kind_of_value in keys.items():
        if key not in op:
            raise DeltaError(f"{field}.{key}: missing")
        value = op[key]
        where = f"{field}.{key}"
        if kind_of_value == "index":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DeltaError(f"{where}: expected a non-negative integer, got {_short(value)}")
        elif kind_of_value == "string":
            if not isinstance(value, str) or not value:
                raise DeltaError(f"{where}: expected a non-empty string, got {_short(value)}")
        elif kind_of_value == "knob":
            if not isinstance(value, bool | int | str):
                raise DeltaError(f"{where}: expected a boolean, integer or string, got {json_type(value)}")
        else:  # a step: checked as the plan module checks a pass entry
            try:
                value = PassStep.from_json(value, where).to_json()
            except PlanError as exc:
                raise DeltaError(str(exc)) from None
        checked[key] = value
    return checked


def _index(op: Op, key: str, bound: int, field: str) -> int:
    """`op[key]`, which must be below `bound` (the number of positions open to it at this point)."""
    value = op[key]
    if value >= bound:
        valid = f"0..{bound - 1}" if bound else "none: the plan has no passes at this point"
        raise DeltaError(f"{field}.{key}: {value} is out of range (valid: {valid})")
    return value


def _step(op: Op, field: str) -> PassStep:
    try:
        return PassStep.from_json(op["step"], f"{field}.step")
    except PlanError as exc:
        raise DeltaError(str(exc)) from None


def _copy_op(op: Op) -> Op:
    copied = dict(op)
    if "step" in copied:
        copied["step"] = {"name": copied["step"]["name"], "params": dict(copied["step"].get("params", {}))}
    return copied


def _step_key(step: PassStep) -> str:
    """Steps compared by their canonical JSON: `{"x": true}` and `{"x": 1}` are different steps."""
    return json.dumps(step.to_json(), sort_keys=True, separators=(",", ":"))


def _same_value(one: Any, two: Any) -> bool:
    return type(one) is type(two) and one == two


def _short(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, bool | int | str | None) else json_type(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["OP_KEYS", "Delta", "DeltaError", "apply", "apply_all", "compose", "diff"]
