"""Delta-sync (docs/design.md §8): hold a problem class's current plan, or its current portfolio, by applying
the market's promoted deltas.

Version 0 of a class's plan is its toolchain's reference plan (the part of the class before `/`:
`llvm/text-bytes` -> llvm), version 0 of its portfolio the empty portfolio (the reference alone); the delta
with sequence k turns version k-1 into version k. A holder of version k fetches the deltas after k and
applies them in order (`adapters.delta` for plans, `adapters.portfolio` for portfolios): a delta that does not
fit (wrong parent, ops out of range, result not its child) stops the sync, never a silent merge. The state
file, `{"problem_class": C, "version": k, "plan": {plan file}}` or `{..., "portfolio": {portfolio file}}`, is
replaced atomically, so a failed or interrupted sync leaves the previous version in place.
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
from adapters.plan import Plan, PlanError, problem_toolchain, reference_plan
from adapters.portfolio import Portfolio, PortfolioDelta, apply_delta

if TYPE_CHECKING:
    from adapters.sdk import MarketClient

STATE_KEYS = frozenset({"problem_class", "version", "plan"})
PORTFOLIO_STATE_KEYS = frozenset({"problem_class", "version", "portfolio"})
DELTA_FIELDS = ("parent", "child", "ops")
"""What a delta entry of the server's list contributes; other entry fields (its sequence, when it was
promoted) describe the delta and do not change what it does."""


class SyncError(ValueError):
    """A state file or a server answer that cannot be synced from (one line)."""


@dataclasses.dataclass(frozen=True)
class SyncState:
    """The plan (or the portfolio) a holder has for a problem class, and which version of it."""

    problem_class: str
    version: int
    held: Plan | Portfolio

    @property
    def kind(self) -> str:
        return "portfolio" if isinstance(self.held, Portfolio) else "plan"

    @property
    def plan(self) -> Plan | None:
        return None if isinstance(self.held, Portfolio) else self.held

    @property
    def portfolio(self) -> Portfolio | None:
        return self.held if isinstance(self.held, Portfolio) else None

    def to_json(self) -> dict[str, Any]:
        return {"problem_class": self.problem_class, "version": self.version, self.kind: self.held.to_json()}


def toolchain_of(problem_class: str) -> str:
    """The toolchain a problem class is about: the part before the first `/`."""
    toolchain = problem_toolchain(problem_class)
    if not toolchain:
        raise SyncError(f"problem class {problem_class!r}: expected TOOLCHAIN/OBJECTIVE, e.g. llvm/text-bytes")
    return toolchain


def initial_state(problem_class: str, kind: str = "plan") -> SyncState:
    """Version 0: the toolchain's reference plan (or the empty portfolio), which every delta chain of the
    class starts from."""
    try:
        plan = reference_plan(toolchain_of(problem_class))
    except PlanError as exc:
        raise SyncError(f"problem class {problem_class!r}: {exc}") from None
    return SyncState(problem_class, 0, Portfolio(plan.toolchain, ()) if kind == "portfolio" else plan)


def load_state(path: str | Path, problem_class: str, kind: str = "plan") -> SyncState:
    """The state file, or version 0 when it does not exist yet; it must be for `problem_class` and hold
    a `kind` (plan or portfolio)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return initial_state(problem_class, kind)
    except OSError as exc:
        raise SyncError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SyncError(f"{path}: not a JSON document: {exc}") from None
    keys = PORTFOLIO_STATE_KEYS if kind == "portfolio" else STATE_KEYS
    if not isinstance(data, dict) or set(data) != keys:
        raise SyncError(f"{path}: expected an object with exactly the keys {', '.join(sorted(keys))}")
    if data["problem_class"] != problem_class:
        raise SyncError(f"{path}: holds problem class {data['problem_class']!r}, not {problem_class!r}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SyncError(f"{path}: version: expected an integer >= 0, got {version!r}")
    try:
        held = Portfolio.from_json(data[kind]) if kind == "portfolio" else Plan.from_json(data[kind])
    except PlanError as exc:
        raise SyncError(f"{path}: {kind}: {exc}") from None
    if held.toolchain != toolchain_of(problem_class):
        raise SyncError(f"{path}: {kind}: a {held.toolchain!r} {kind} for the problem class {problem_class!r}")
    return SyncState(problem_class, version, held)


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
    if state.portfolio is not None:
        document = client.portfolio_deltas(state.problem_class, state.version)
    else:
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
    held = state.held
    for sequence, entry in enumerate(entries, start=state.version + 1):
        if not isinstance(entry, dict) or entry.get("sequence") != sequence:
            found = entry.get("sequence") if isinstance(entry, dict) else entry
            raise SyncError(f"expected the delta with sequence {sequence}, got {found!r}")
        fields = {key: entry[key] for key in DELTA_FIELDS if key in entry}
        try:
            if isinstance(held, Portfolio):
                held = apply_delta(PortfolioDelta.from_json(fields), held)
            else:
                held = apply(Delta.from_json(fields), held)
        except DeltaError as exc:
            raise DeltaError(f"delta {sequence} of {state.problem_class}: {exc}") from None
    return SyncState(state.problem_class, version, held)


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
