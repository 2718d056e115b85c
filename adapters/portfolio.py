"""Plan portfolios: what the market promotes per problem class, applied per module on the participant's side.

A portfolio is an ordered set of plans for one toolchain: `{"toolchain": "llvm", "members": [plan, ...]}`.
The toolchain's reference pipeline is always an implicit member that goes first, so a module built with a
portfolio is never larger than the reference: every member builds the module, each result is verified,
and the smallest verified object wins (ties go to the earlier member, the reference before all).
Which member won a module is the participant's own business: it never leaves the machine.

A portfolio's identity is the SHA-256 of its RFC 8785 canonical JSON (members in order); a single plan
is a portfolio of one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from adapters.delta import DeltaError
from adapters.plan import KNOBS, Plan, PlanError, is_reference, json_type, read_document, reference_plan

PORTFOLIO_KEYS = frozenset({"toolchain", "members"})
_HASH = re.compile(r"[0-9a-f]{64}")
MAX_MEMBERS = 64  # every member builds every module: a bound on the work a portfolio file can ask for


@dataclass(frozen=True)
class Portfolio:
    """An ordered tuple of distinct plans of one toolchain; the reference is implicit, never listed."""

    toolchain: str
    members: tuple[Plan, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, member in enumerate(self.members):
            where = f"members[{index}]"
            if member.toolchain != self.toolchain:
                raise PlanError(f"{where}.toolchain: a {member.toolchain!r} plan in a {self.toolchain!r} portfolio")
            digest = member.content_hash()
            if digest in seen:
                raise PlanError(f"{where}: the same plan twice")
            if is_reference(member):
                raise PlanError(f"{where}: the reference pipeline is always an implicit member; do not list it")
            seen.add(digest)
        if len(self.members) > MAX_MEMBERS:
            raise PlanError(f"members: {len(self.members)} plans, at most {MAX_MEMBERS}")

    @classmethod
    def from_json(cls, data: Any) -> Portfolio:
        """Parse and validate a portfolio document (a decoded JSON object); PlanError names the field."""
        if not isinstance(data, dict):
            raise PlanError(f"portfolio: expected an object, got {json_type(data)}")
        unknown = sorted(set(data) - PORTFOLIO_KEYS)
        if unknown:
            raise PlanError(f"{unknown[0]}: unknown key (allowed: {', '.join(sorted(PORTFOLIO_KEYS))})")
        for key in ("toolchain", "members"):
            if key not in data:
                raise PlanError(f"{key}: missing")
        toolchain, members = data["toolchain"], data["members"]
        if not isinstance(toolchain, str):
            raise PlanError(f"toolchain: expected a string, got {json_type(toolchain)}")
        if toolchain not in KNOBS:
            raise PlanError(f"toolchain: unknown toolchain {toolchain!r} (known: {', '.join(sorted(KNOBS))})")
        if not isinstance(members, list):
            raise PlanError(f"members: expected an array, got {json_type(members)}")
        plans = []
        for index, member in enumerate(members):
            try:
                plans.append(Plan.from_json(member))
            except PlanError as exc:
                raise PlanError(f"members[{index}].{exc}") from None
        return cls(toolchain, tuple(plans))

    @classmethod
    def of(cls, plan: Plan) -> Portfolio:
        """The portfolio of one plan (of none when `plan` is the reference itself)."""
        return cls(plan.toolchain, () if is_reference(plan) else (plan,))

    def to_json(self) -> dict[str, Any]:
        return {"toolchain": self.toolchain, "members": [member.to_json() for member in self.members]}

    def content_hash(self) -> str:
        """Hex SHA-256 of the RFC 8785 canonical JSON: the portfolio's identity."""
        return hashlib.sha256(rfc8785.dumps(self.to_json())).hexdigest()

    def with_member(self, plan: Plan) -> Portfolio:
        """This portfolio with `plan` appended (S + q); a plan already in it (or the reference) changes nothing."""
        if is_reference(plan) or plan in self.members:
            return self
        return Portfolio(self.toolchain, (*self.members, plan))

    def without_member(self, plan: Plan) -> Portfolio:
        return Portfolio(self.toolchain, tuple(member for member in self.members if member != plan))

    def candidates(self) -> tuple[Plan, ...]:
        """The plans a module is built with, in order: the reference first, then the members."""
        return (reference_plan(self.toolchain), *self.members)


def load(path: str | Path) -> Portfolio:
    """Read a portfolio file; any problem is a one-line PlanError starting with the file name.

    A plan file is accepted too, as the portfolio of that one plan."""
    path = Path(path)
    data = read_document(path)
    try:
        if isinstance(data, dict) and "passes" in data and "members" not in data:
            return Portfolio.of(Plan.from_json(data))
        return Portfolio.from_json(data)
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None


# --- portfolio deltas ------------------------------------------------------------------------------------

PORTFOLIO_DELTA_KEYS = frozenset({"parent", "child", "ops"})
MAX_DELTA_OPS = 2 * MAX_MEMBERS


@dataclass(frozen=True)
class PortfolioDelta:
    """`{"parent": hex, "child": hex, "ops": [...]}`: the ops that turn the parent portfolio into the child,
    applied in order, each against the member list the ops before it left:

    * `{"op": "add", "position": i, "plan": {...}}` — the plan (its whole body) lands at position i,
    * `{"op": "remove", "plan": "<hex content hash>"}` — that member leaves.

    Applying a delta to any portfolio but its parent, or getting anything but its child, is a DeltaError:
    never a silent merge."""

    parent: str
    child: str
    ops: tuple[dict[str, Any], ...]

    @classmethod
    def from_json(cls, data: Any) -> PortfolioDelta:
        if not isinstance(data, dict) or set(data) != PORTFOLIO_DELTA_KEYS:
            raise DeltaError(f"a portfolio delta is an object with exactly {', '.join(sorted(PORTFOLIO_DELTA_KEYS))}")
        for key in ("parent", "child"):
            if not isinstance(data[key], str) or not _HASH.fullmatch(data[key]):
                raise DeltaError(f"{key}: expected a 64-hex content hash")
        if not isinstance(data["ops"], list) or len(data["ops"]) > MAX_DELTA_OPS:
            raise DeltaError(f"ops: expected an array of at most {MAX_DELTA_OPS} ops")
        return cls(
            data["parent"], data["child"], tuple(_checked_op(op, f"ops[{i}]") for i, op in enumerate(data["ops"]))
        )

    def to_json(self) -> dict[str, Any]:
        return {"parent": self.parent, "child": self.child, "ops": [dict(op) for op in self.ops]}


def diff(parent: Portfolio, child: Portfolio) -> PortfolioDelta:
    """Removes for the parent's members the child drops (or reorders), then adds at the child's positions."""
    kept: list[Plan] = []
    cursor = 0
    for member in parent.members:  # members kept in the child's order; the rest go
        if member in child.members[cursor:]:
            cursor = child.members.index(member, cursor) + 1
            kept.append(member)
    ops: list[dict[str, Any]] = [
        {"op": "remove", "plan": member.content_hash()} for member in parent.members if member not in kept
    ]
    for position, member in enumerate(child.members):
        if member not in kept:
            ops.append({"op": "add", "position": position, "plan": member.to_json()})
    return PortfolioDelta(parent.content_hash(), child.content_hash(), tuple(ops))


def apply_delta(delta: PortfolioDelta, portfolio: Portfolio) -> Portfolio:
    """The child portfolio; DeltaError unless `portfolio` is the delta's parent and the result its child."""
    if portfolio.content_hash() != delta.parent:
        raise DeltaError(f"the delta applies to portfolio {delta.parent[:12]}, not to {portfolio.content_hash()[:12]}")
    members = list(portfolio.members)
    for index, op in enumerate(delta.ops):
        if op["op"] == "remove":
            found = [member for member in members if member.content_hash() == op["plan"]]
            if not found:
                raise DeltaError(f"ops[{index}]: no member {op['plan'][:12]} to remove")
            members.remove(found[0])
        else:
            if op["position"] > len(members):
                raise DeltaError(f"ops[{index}].position: {op['position']} is past the end ({len(members)} members)")
            try:
                members.insert(op["position"], Plan.from_json(op["plan"]))
            except PlanError as exc:
                raise DeltaError(f"ops[{index}].plan.{exc}") from None
    try:
        child = Portfolio(portfolio.toolchain, tuple(members))
    except PlanError as exc:
        raise DeltaError(f"the result is not a portfolio: {exc}") from None
    if child.content_hash() != delta.child:
        raise DeltaError(f"the result is {child.content_hash()[:12]}, not the delta's child {delta.child[:12]}")
    return child


def _checked_op(op: Any, field: str) -> dict[str, Any]:
    if not isinstance(op, dict) or op.get("op") not in ("add", "remove"):
        raise DeltaError(f"{field}.op: expected add or remove")
    if op["op"] == "remove":
        if set(op) != {"op", "plan"} or not isinstance(op["plan"], str) or not _HASH.fullmatch(op["plan"]):
            raise DeltaError(f"{field}: a remove op is {{op, plan: <64-hex hash>}}")
        return dict(op)
    position = op.get("position")
    if set(op) != {"op", "position", "plan"} or isinstance(position, bool) or not isinstance(position, int):
        raise DeltaError(f"{field}: an add op is {{op, position: <integer>, plan: <plan body>}}")
    if not 0 <= position < MAX_MEMBERS:
        raise DeltaError(f"{field}.position: {position} is outside [0, {MAX_MEMBERS})")
    if not isinstance(op["plan"], dict):
        raise DeltaError(f"{field}.plan: expected a plan body (an object)")
    return {"op": "add", "position": position, "plan": op["plan"]}


# --- per-module choice and gains -------------------------------------------------------------------------


def choose(sizes: Sequence[int | None]) -> int | None:
    """The index of the smallest verified size (None: that candidate failed); ties go to the earlier one.
    Index 0 is the reference in `Portfolio.candidates` order; None when every candidate failed."""
    best: int | None = None
    for index, size in enumerate(sizes):
        if size is not None and (best is None or size < sizes[best]):  # type: ignore[operator]
            best = index
    return best


def best_size(sizes: Iterable[int | None]) -> int | None:
    """The smallest verified size among the candidates, None when none verified."""
    verified = [size for size in sizes if size is not None]
    return min(verified) if verified else None


__all__ = [
    "MAX_MEMBERS",
    "Portfolio",
    "PortfolioDelta",
    "apply_delta",
    "best_size",
    "choose",
    "diff",
    "load",
]
