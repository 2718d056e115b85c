"""Delta-sync (DESIGN.md §8): hold a problem class's current plan by applying the market's promoted deltas.

Version 0 of a problem class is its toolchain's reference plan (the part of the class before `/`:
`llvm/text-bytes` -> llvm); the delta with sequence k turns version k-1 into version k. A holder of version
k fetches the deltas after k and applies them in order with `adapters.delta`: a delta that does not fit
(wrong parent, ops out of range, result not its child) stops the sync, never a silent merge. The state file,
`{"problem_class": C, "version": k, "plan": {plan file}}`, is replaced atomically, so a failed or interrupted
sync leaves the previous version in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.delta import Delta, DeltaError, apply
from adapters.plan import Plan, PlanError, reference_plan

if TYPE_CHECKING:
    from adapters.sdk import MarketClient

STATE_KEYS = frozenset({"problem_class", "version", "plan"})
DELTA_FIELDS = ("parent", "child", "ops")
"""What a delta entry of the server's list contributes; other entry fields (its sequence, when it was
promoted) describe the delta and do not change what it does."""


class SyncError(ValueError):
    """A state file or a server answer that cannot be synced from (one line)."""


@dataclasses.dataclass(frozen=True)
class SyncState:
    """The plan a holder has for a problem class, and which version of the class it is."""

    problem_class: str
    version: int
    plan: Plan

    def to_json(self) -> dict[str, Any]:
        return {"problem_class": self.problem_class, "version": self.version, "plan": self.plan.to_json()}


def toolchain_of(problem_class: str) -> str:
    """The toolchain a problem class is about: the part before the first `/`."""
    toolchain = problem_class.partition("/")[0]
    if not toolchain:
        raise SyncError(f"problem class {problem_class!r}: expected TOOLCHAIN/OBJECTIVE, e.g. llvm/text-bytes")
    return toolchain


def initial_state(problem_class: str) -> SyncState:
    """Version 0: the toolchain's reference plan, which every delta chain of the class starts from."""
    try:
        return SyncState(problem_class, 0, reference_plan(toolchain_of(problem_class)))
    except PlanError as exc:
        raise SyncError(f"problem class {problem_class!r}: {exc}") from None


def load_state(path: str | Path, problem_class: str) -> SyncState:
    """The state file, or version 0 when it does not exist yet; it must be for `problem_class`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return initial_state(problem_class)
    except OSError as exc:
        raise SyncError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SyncError(f"{path}: not a JSON document: {exc}") from None
    if not isinstance(data, dict) or set(data) != STATE_KEYS:
        raise SyncError(f"{path}: expected an object with exactly the keys {', '.join(sorted(STATE_KEYS))}")
    if data["problem_class"] != problem_class:
        raise SyncError(f"{path}: holds problem class {data['problem_class']!r}, not {problem_class!r}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SyncError(f"{path}: version: expected an integer >= 0, got {version!r}")
    try:
        plan = Plan.from_json(data["plan"])
    except PlanError as exc:
        raise SyncError(f"{path}: plan: {exc}") from None
    if plan.toolchain != toolchain_of(problem_class):
        raise SyncError(f"{path}: plan: a {plan.toolchain!r} plan for the problem class {problem_class!r}")
    return SyncState(problem_class, version, plan)


def save_state(path: str | Path, state: SyncState) -> None:
    """Replace the state file atomically: readers see the old version or the new one, never a mix."""
    write_atomic(Path(path), json.dumps(state.to_json(), indent=2) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write a sibling temporary file, flush it to disk, then rename it over `path`."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def sync(client: MarketClient, state: SyncState) -> SyncState:
    """Fetch the deltas after `state.version` and apply them in order; DeltaError (naming the delta's
    sequence) if one does not fit, SyncError if the answer is not a complete, ordered list."""
    document = client.plan_deltas(state.problem_class, state.version)
    if document.get("problem_class") != state.problem_class:
        raise SyncError(f"the server answered for problem class {document.get('problem_class')!r}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SyncError(f"the server's version is not an integer: {version!r}")
    if version < state.version:
        raise SyncError(
            f"the server is at version {version} of {state.problem_class}, behind this state's {state.version}: "
            "is it the same market?"
        )
    entries = document["deltas"]
    if len(entries) != version - state.version:
        raise SyncError(
            f"the server sent {len(entries)} deltas from version {state.version} to {version}, "
            f"not {version - state.version}"
        )
    plan = state.plan
    for sequence, entry in enumerate(entries, start=state.version + 1):
        if not isinstance(entry, dict) or entry.get("sequence") != sequence:
            found = entry.get("sequence") if isinstance(entry, dict) else entry
            raise SyncError(f"expected the delta with sequence {sequence}, got {found!r}")
        try:
            delta = Delta.from_json({key: entry[key] for key in DELTA_FIELDS if key in entry})
            plan = apply(delta, plan)
        except DeltaError as exc:
            raise DeltaError(f"delta {sequence} of {state.problem_class}: {exc}") from None
    return SyncState(state.problem_class, version, plan)


__all__ = [
    "SyncError",
    "SyncState",
    "initial_state",
    "load_state",
    "save_state",
    "sync",
    "toolchain_of",
    "write_atomic",
]
