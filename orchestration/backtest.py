"""Backtests (docs/design.md §8): replay a ledger export offline and check every orchestration decision.

The replay reads only the export (no database, no network, no toolchain): it verifies the export against its
signed checkpoint, follows every deployment's chain of signing keys (each rotation signed by the key it
replaces), checks every signal's Ed25519 signature over its full statement with the key its deployment held
then, refuses an entry whose payload says anything its signed statement does not, or a statement (or task)
cited twice, runs
each round's strategy again from its recorded seed and recorded public scores, recomputes the aggregates,
the winner and the promotion decision with today's rules, and applies every promoted delta to its parent.
The attestation states what was replayed and the verdict; it carries no clock, so two runs are identical.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters import delta as plan_delta
from adapters.contract import SIGNAL_PAYLOAD_COPIES, rotation_statement
from adapters.ledger.export import ENTRIES_FILE, ExportReport, verify_export
from adapters.ledger.note import NoteError, Signer, Verifier, open_note, sign_note
from adapters.plan import Plan, PlanError, problem_toolchain, reference_plan
from adapters.portfolio import Portfolio, PortfolioDelta, apply_delta
from adapters.privacy import MARGINAL_LOG_GAIN, RANGE_WIDTH, SIGNAL_KEYS, statistic_for
from adapters.search import Evaluation
from orchestration import decisions

ATTESTATION_FORMAT = "opm-backtest/1"


class Divergence(Exception):
    """The replay reached a different decision than the ledger records (or the history is inconsistent)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"entry {index}: {message}")
        self.index = index


def code_version() -> str:
    try:
        return f"openpassmarket {version('openpassmarket')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "openpassmarket (uninstalled)"


@dataclasses.dataclass
class _Round:
    number: int
    problem_class: str
    strategy: str
    seed: int
    incumbent: str
    incumbent_body: dict[str, Any]
    space: dict[str, Any]
    policy: dict[str, Any]
    shortlist: list[str] = dataclasses.field(default_factory=list)
    bodies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    dispatched: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    observations: dict[tuple[str, str], list[decisions.Observation]] = dataclasses.field(default_factory=dict)
    evidence: list[int] = dataclasses.field(default_factory=list)
    promotion: tuple[int, dict[str, Any]] | None = None
    tried: set[str] = dataclasses.field(default_factory=set)
    """Plans dispatched by earlier rounds from the same incumbent (the shortlist leaves them out)."""
    asked: set[str] = dataclasses.field(default_factory=set)
    """Plans this round dispatched as tasks to at least one participant."""
    kind: str = "plan"
    """`plan`, or `portfolio`: then `incumbent` is the portfolio the round seeks a member for."""
    privacy: dict[str, Any] = dataclasses.field(default_factory=dict)


SIGNAL_PAYLOAD_KEYS = frozenset({*SIGNAL_PAYLOAD_COPIES, "participant", "body", "signature"})
"""A `signal.accepted` payload holds exactly these: the signed statement, its signature, the signing
deployment's participant and the statement's readable copies (`orchestration.services.work.signal_payload`)."""


@dataclasses.dataclass
class _Signers:
    """Who could sign what at this point of the replayed history, and which statements were already cited."""

    keys: dict[str, bytes] = dataclasses.field(default_factory=dict)  # "deployment:<id>" -> its current key
    participants: dict[str, str] = dataclasses.field(default_factory=dict)  # "deployment:<id>" -> participant
    tasks: dict[int, int] = dataclasses.field(default_factory=dict)  # task -> the entry that cited its signal
    statements: dict[bytes, int] = dataclasses.field(default_factory=dict)  # signed bytes -> the entry citing them


@dataclasses.dataclass(frozen=True)
class Replay:
    export: ExportReport
    decisions: list[dict[str, Any]]
    divergence: str | None

    @property
    def verdict(self) -> str:
        return "reproduced" if self.divergence is None else "diverged"

    def attestation(self) -> dict[str, Any]:
        return {
            "format": ATTESTATION_FORMAT,
            "checkpoint": {
                "origin": self.export.origin,
                "size": self.export.size,
                "root": base64.b64encode(self.export.root).decode(),
            },
            "code_version": code_version(),
            "rounds": len(self.decisions),
            "promotions": sum(1 for d in self.decisions if d.get("promoted")),
            "decisions_digest": hashlib.sha256(rfc8785.dumps(self.decisions)).hexdigest(),
            "verdict": self.verdict,
            "divergence": self.divergence,
        }


def _entries(directory: Path) -> Iterator[dict[str, Any]]:
    with (directory / ENTRIES_FILE).open("rb") as lines:
        for line in lines:
            yield json.loads(line)


def replay(directory: str | Path, progress: Callable[[int], None] | None = None) -> Replay:
    """Verify the export (ExportError if it does not verify), then replay it; a Divergence becomes the verdict."""
    directory = Path(directory)
    report = verify_export(directory, progress)
    made: list[dict[str, Any]] = []
    try:
        _replay(_entries(directory), made)
    except Divergence as exc:
        return Replay(report, made, str(exc))
    return Replay(report, made, None)


def _replay(entries: Iterator[dict[str, Any]], made: list[dict[str, Any]]) -> None:
    signers = _Signers()
    current: dict[str, tuple[int, str, dict[str, Any]]] = {}  # class -> (version, hash, body)
    portfolios: dict[str, tuple[int, str, dict[str, Any]]] = {}  # class -> (version, hash, body)
    rounds: dict[int, _Round] = {}
    for entry in entries:
        index, kind, payload = entry["index"], entry["kind"], entry["payload"]
        try:
            _replay_entry(index, kind, payload, entry, signers, current, portfolios, rounds, made)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            # A tampered or foreign export: a verdict naming the entry, never a traceback.
            raise Divergence(index, f"a malformed {kind} entry ({type(exc).__name__}: {exc})") from None


def _replay_entry(
    index: int,
    kind: str,
    payload: dict[str, Any],
    entry: dict[str, Any],
    signers: _Signers,
    current: dict[str, tuple[int, str, dict[str, Any]]],
    portfolios: dict[str, tuple[int, str, dict[str, Any]]],
    rounds: dict[int, _Round],
    made: list[dict[str, Any]],
) -> None:
    if kind == "deployment.enrolled":
        deployment = f"deployment:{payload['deployment']}"
        signers.keys[deployment] = bytes.fromhex(payload["public_key"])
        signers.participants[deployment] = payload["participant"]
    elif kind == "deployment.key_rotated" and "public_key" in payload:
        _rotated(index, entry, signers)
    elif kind == "round.started":
        started = _started(index, payload, portfolios if payload.get("kind") == "portfolio" else current)
        # What the orchestrator left out as already asked about: plans earlier rounds from the same start
        # dispatched to at least one participant (a dispatch that found no participant asked nothing).
        started.tried = {
            plan
            for earlier in rounds.values()
            if (earlier.kind, earlier.problem_class, earlier.incumbent)
            == (started.kind, started.problem_class, started.incumbent)
            for plan in earlier.asked
        }
        rounds[payload["round"]] = started
    elif kind == "round.shortlisted":
        _shortlisted(index, payload, _round_of(rounds, payload, index))
    elif kind == "round.pooled":
        _pooled(index, payload, _round_of(rounds, payload, index))
    elif kind == "round.dispatched":
        _dispatched(index, payload, _round_of(rounds, payload, index))
    elif kind == "signal.accepted":
        body = _signed_statement(index, entry, signers)
        if body["round"] is not None:
            _signal(index, payload, body, _round_of(rounds, body, index))
    elif kind in ("plan.promoted", "portfolio.promoted"):
        state = _round_of(rounds, payload, index)
        if (kind == "portfolio.promoted") != (state.kind == "portfolio"):
            raise Divergence(index, f"round {state.number} is a {state.kind} round; it cannot record {kind}")
        state.promotion = (index, payload)
    elif kind == "round.finished":
        state = _round_of(rounds, payload, index)
        made.append(_finished(index, payload, state, portfolios if state.kind == "portfolio" else current))


def _round_of(rounds: dict[int, _Round], payload: dict[str, Any], index: int) -> _Round:
    found = rounds.get(payload.get("round"))
    if found is None:
        raise Divergence(index, f"round {payload.get('round')} was never started")
    return found


def _plan_hash(body: dict[str, Any], index: int) -> str:
    try:
        return Plan.from_json(body).content_hash()
    except PlanError as exc:
        raise Divergence(index, f"a recorded plan is malformed: {exc}") from None


def _started(index: int, payload: dict[str, Any], held: dict[str, tuple[int, str, dict[str, Any]]]) -> _Round:
    """A round's start, checked against the replayed history: a plan round starts from the class's current plan
    (version 0: the reference), a portfolio round from its current portfolio (version 0: the empty one)."""
    problem_class = payload["problem_class"]
    kind = "portfolio" if payload.get("kind") == "portfolio" else "plan"
    if problem_class not in held:
        toolchain = problem_toolchain(problem_class)
        first = Portfolio(toolchain, ()) if kind == "portfolio" else reference_plan(toolchain)
        held[problem_class] = (0, first.content_hash(), first.to_json())
    version_, start_hash, _ = held[problem_class]
    start = payload["base"] if kind == "portfolio" else payload["incumbent"]
    if (start["version"], start["hash"]) != (version_, start_hash):
        raise Divergence(
            index,
            f"round {payload['round']} starts from {problem_class}'s {kind} v{start['version']}, "
            f"but the replayed history is at v{version_} ({start_hash[:12]})",
        )
    if kind == "plan" and _plan_hash(payload["space"]["start"], index) != start_hash:
        raise Divergence(index, f"round {payload['round']}'s search does not start from the current plan")
    return _Round(
        number=payload["round"],
        problem_class=problem_class,
        strategy=payload["strategy"],
        seed=payload["seed"],
        incumbent=start_hash,
        incumbent_body=start["body"],
        space=payload["space"],
        policy=payload["policy"]["orchestration"]["document"],
        kind=kind,
        privacy=payload["policy"]["privacy"]["document"],
    )


def _shortlisted(index: int, payload: dict[str, Any], state: _Round) -> None:
    recorded = [(plan_hash, math.inf if score is None else score) for plan_hash, score in payload["evaluations"]]
    scores = dict(recorded)
    space = decisions.space_from_json(state.space)

    def lookup(plan: Plan) -> Evaluation | None:
        score = scores.get(plan.content_hash())
        return None if score is None else Evaluation(plan, score, (), None if score != math.inf else "failed")

    replayed = decisions.drive_strategy(
        state.strategy,
        space,
        state.seed,
        state.policy["public_budget"],
        lookup,
        start_score=payload["start_score"],
    )
    replayed_hashes = [e.plan.content_hash() for e in replayed]
    if replayed_hashes != [plan_hash for plan_hash, _ in recorded]:
        at = next((i for i, (a, b) in enumerate(zip(replayed_hashes, recorded, strict=False)) if a != b[0]), None)
        raise Divergence(
            index,
            f"round {state.number}: the {state.strategy} strategy with seed {state.seed} proposes a different "
            f"sequence (first difference at evaluation {at if at is not None else min(len(replayed), len(recorded))})",
        )
    short = [
        plan.content_hash()
        for plan in decisions.shortlist(replayed, state.policy["shortlist_size"], payload["start_score"], state.tried)
    ]
    recorded_short = [item["hash"] for item in payload["shortlist"]]
    if short != recorded_short:
        raise Divergence(index, f"round {state.number}: the shortlist differs from the recorded one")
    for item in payload["shortlist"]:
        if _plan_hash(item["body"], index) != item["hash"]:
            raise Divergence(index, f"round {state.number}: a shortlisted plan's body does not match its hash")
        state.bodies[item["hash"]] = item["body"]
    state.shortlist = short


def _pooled(index: int, payload: dict[str, Any], state: _Round) -> None:
    """Recompute the public marginal gains and the shortlist from the recorded public sizes. The pool itself
    comes from a per-program search anyone can run again with the toolchain (seed and space are recorded);
    the replay, having no toolchain, takes its sizes as recorded and checks what was decided from them."""
    members = [_plan_hash(member, index) for member in state.incumbent_body["members"]]
    if sorted(payload["base_sizes"]) != sorted(members):
        raise Divergence(index, f"round {state.number}: the pool's sizes do not cover the portfolio's members")
    sizes: dict[str, list[int | None]] = {}
    for item in payload["candidates"]:
        if _plan_hash(item["body"], index) != item["hash"]:
            raise Divergence(index, f"round {state.number}: a pool plan's body does not match its hash")
        if item["hash"] in members:
            raise Divergence(index, f"round {state.number}: the pool holds a member of the portfolio")
        state.bodies[item["hash"]] = item["body"]
        sizes[item["hash"]] = item["sizes"]
    clip = state.privacy["clip_bound"]
    gains = decisions.public_marginal_gains(
        payload["reference"], [payload["base_sizes"][member] for member in members], sizes, clip
    )
    if gains != payload["gains"]:
        raise Divergence(index, f"round {state.number}: the public marginal gains differ from the recorded ones")
    short = decisions.portfolio_shortlist(gains, state.policy["shortlist_size"], state.tried)
    if short != payload["shortlist"]:
        raise Divergence(index, f"round {state.number}: the shortlist differs from the recorded one")
    state.shortlist = short


def _dispatched(index: int, payload: dict[str, Any], state: _Round) -> None:
    phase, plans = payload["phase"], payload["plans"]
    if payload["tasks"] > 0:
        state.asked.update(plans)
    if state.kind == "portfolio" and payload.get("base") != state.incumbent:
        raise Divergence(index, f"round {state.number}: tasks were asked against another portfolio")
    if phase == "selection" and state.kind == "portfolio":
        if len(plans) < 2 or plans != state.shortlist[: len(plans)]:
            raise Divergence(index, f"round {state.number}: selection dispatched plans other than the shortlist's best")
    elif phase == "selection":
        chosen = plans[:-1] if plans and plans[-1] == state.incumbent else plans
        if not chosen or chosen != state.shortlist[: len(chosen)]:
            raise Divergence(index, f"round {state.number}: selection dispatched plans other than the shortlist's best")
    if phase == "confirmation":
        winner = _winner(state)
        # A plan round confirms its incumbent beside the winner; a portfolio round the winner alone.
        if not plans or plans[0] != winner or (state.kind == "portfolio" and len(plans) != 1):
            raise Divergence(
                index,
                f"round {state.number}: confirmation of {plans[0][:12] if plans else 'nothing'}, but the "
                f"replayed selection chooses {winner[:12] if winner else 'nothing'}",
            )
    state.dispatched[phase] = plans


def _rotated(index: int, entry: dict[str, Any], signers: _Signers) -> None:
    """A new signing key counts only if the key it replaces signed the rotation statement naming it."""
    payload, deployment = entry["payload"], entry["subject"]
    old, new = signers.keys.get(deployment), bytes.fromhex(payload["public_key"])
    try:
        if old is None or "old_key_signature" not in payload:
            raise InvalidSignature
        statement = rotation_statement(
            deployment=int(deployment.removeprefix("deployment:")), old_public_key=old, new_public_key=new
        )
        Ed25519PublicKey.from_public_bytes(old).verify(bytes.fromhex(payload["old_key_signature"]), statement)
    except (InvalidSignature, ValueError):
        raise Divergence(index, f"{deployment}'s new signing key is not signed over by the key it replaces") from None
    signers.keys[deployment] = new


def _signed_statement(index: int, entry: dict[str, Any], signers: _Signers) -> dict[str, Any]:
    """The signal's statement, once its signature, its payload's copies, its participant and its uniqueness are
    checked: an operator cannot cite a signal for another plan, phase, problem or round, nor cite one twice."""
    payload = entry["payload"]
    body = payload["body"]
    task = payload["task"]
    if set(payload) != SIGNAL_PAYLOAD_KEYS or not isinstance(body, dict) or set(body) != SIGNAL_KEYS:
        raise Divergence(index, f"the signal for task {task} is not a full signed statement (opm-adapter 2.0)")
    signed = rfc8785.dumps(body)
    key = signers.keys.get(entry["actor"])
    try:
        if key is None:
            raise InvalidSignature
        Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(payload["signature"]), signed)
    except (InvalidSignature, ValueError):
        raise Divergence(index, f"the signal for task {task} does not verify with its deployment's key") from None
    differing = sorted(field for field, name in SIGNAL_PAYLOAD_COPIES.items() if payload[field] != body[name])
    if entry["subject"] != f"task:{body['task']}":
        differing.append("subject")
    if payload["participant"] != signers.participants.get(entry["actor"]):
        differing.append("participant")
    if differing:
        raise Divergence(
            index, f"the signal for task {task}: the entry's {', '.join(differing)} differ from what was signed"
        )
    for seen, what, name in ((signers.tasks, body["task"], "task"), (signers.statements, signed, "statement")):
        if what in seen:
            raise Divergence(
                index, f"the signal for task {body['task']}: its {name} was already cited by entry {seen[what]}"
            )
        seen[what] = index
    return body


def _signal(index: int, payload: dict[str, Any], body: dict[str, Any], state: _Round) -> None:
    """A signed statement as an observation of its round: it must measure what the round dispatched."""
    task = body["task"]
    marginal = body["statistic"] == MARGINAL_LOG_GAIN
    if body["statistic"] != statistic_for(body["base"]):
        raise Divergence(index, f"the signal for task {task} names a statistic its base does not ask for")
    if marginal != (state.kind == "portfolio") or body["base"] != (state.incumbent if marginal else None):
        raise Divergence(index, f"the signal for task {task} does not measure what its round asked")
    if body["plan"] not in state.dispatched.get(body["phase"], []):
        raise Divergence(index, f"the signal for task {task} measures a plan its round's {body['phase']} never asked")
    observation = decisions.Observation(
        participant=payload["participant"],
        value=body["value"],
        corpus_size=body["n"],
        noise_multiplier=body["parameters"]["noise_multiplier"],
        clip_bound=body["parameters"]["clip_bound"],
        width=RANGE_WIDTH[body["statistic"]],
    )
    state.observations.setdefault((body["phase"], body["plan"]), []).append(observation)
    state.evidence.append(index)


def _estimates(state: _Round, phase: str) -> dict[str, decisions.Estimate | None]:
    return {
        plan: decisions.aggregate(state.observations.get((phase, plan), [])) for plan in state.dispatched.get(phase, [])
    }


def _winner(state: _Round, selection: dict[str, decisions.Estimate | None] | None = None) -> str | None:
    if state.kind == "portfolio" and "selection" not in state.dispatched:
        return state.shortlist[0] if state.shortlist else None  # the public ranking chose
    estimates = _estimates(state, "selection") if selection is None else selection
    return decisions.select_winner({p: e for p, e in estimates.items() if p != state.incumbent})


def _finished(
    index: int, payload: dict[str, Any], state: _Round, current: dict[str, tuple[int, str, dict[str, Any]]]
) -> dict[str, Any]:
    selection = _estimates(state, "selection")
    shown = {p: e.to_json() for p, e in selection.items() if e is not None}
    # A round stopped while waiting records the estimates it had seen, and a signal may still have landed
    # before its round.finished: those are notes, not decisions, so only a finished round's must agree.
    if payload["state"] != "stopped" and shown != payload["estimates"]:
        raise Divergence(index, f"round {state.number}: the selection estimates differ from the recorded ones")
    decision = None
    winner = None
    # A round stopped by an operational event (signals that never came) records no decision to recompute.
    if "confirmation" in state.dispatched and payload["state"] != "stopped":
        winner = _winner(state, selection)
        confirmed = _estimates(state, "confirmation")
        base = confirmed.get(state.incumbent) if state.incumbent in state.dispatched["confirmation"] else None
        if state.kind == "portfolio":
            base = None  # a marginal gain is already measured against the portfolio
        decision = decisions.promotion_decision(confirmed.get(winner), base, state.policy)
        if payload["decision"] is None or decision.to_json() != payload["decision"]:
            recorded = payload["decision"] and payload["decision"]["promote"]
            raise Divergence(
                index,
                f"round {state.number}: today's promotion rule decides promote={decision.promote} "
                f"({decision.reason}), the ledger recorded promote={recorded}",
            )
        if payload["winner"] != winner:
            raise Divergence(index, f"round {state.number}: the recorded winner is not the replayed one")
    elif payload["decision"] is not None:
        raise Divergence(index, f"round {state.number}: a decision was recorded without a confirmation phase")
    promoted = None
    if decision is not None and decision.promote:
        promoted = _apply_promotion(index, state, winner, current)
    elif state.promotion is not None:
        raise Divergence(state.promotion[0], f"round {state.number}: a promotion the rule does not support")
    made = {
        "round": state.number,
        "problem_class": state.problem_class,
        "strategy": state.strategy,
        "seed": state.seed,
        "incumbent": state.incumbent,
        "shortlist": state.shortlist,
        "winner": winner,
        "decision": decision.to_json() if decision else None,
        "promoted": promoted,
    }
    if state.kind == "portfolio":  # plan rounds' decisions keep the shape (and digest) they always had
        made["kind"] = state.kind
    return made


def _apply_promotion(
    index: int, state: _Round, winner: str | None, held: dict[str, tuple[int, str, dict[str, Any]]]
) -> dict[str, Any]:
    """Check the round's recorded promotion against the rule's winner and apply it to the replayed history: the
    class's next plan (a plan round) or next portfolio, the old one plus the winner (a portfolio round)."""
    if state.promotion is None:
        raise Divergence(
            index, f"round {state.number}: the rule promotes {str(winner)[:12]}, the ledger has no promotion"
        )
    at, promotion = state.promotion
    version_, parent_hash, parent_body = held[state.problem_class]
    named = promotion["member"] if state.kind == "portfolio" else promotion["child"]
    if (promotion["version"], promotion["parent"], named) != (version_ + 1, parent_hash, winner):
        raise Divergence(
            at, f"round {state.number}: the promotion is not v{version_ + 1} made from v{version_} and the winner"
        )
    if sorted(promotion["evidence"]) != sorted(state.evidence):
        raise Divergence(at, f"round {state.number}: the promotion cites other signals than the round's")
    try:
        if state.kind == "portfolio":
            parent = Portfolio.from_json(parent_body)
            fields = {"parent": parent_hash, "child": promotion["child"], "ops": promotion["ops"]}
            child: Plan | Portfolio = apply_delta(PortfolioDelta.from_json(fields), parent)
            if child != parent.with_member(Plan.from_json(state.bodies[str(winner)])):
                raise Divergence(at, f"round {state.number}: the promoted portfolio is not the old one plus the winner")
        else:
            fields = {"parent": parent_hash, "child": winner, "ops": promotion["ops"]}
            child = plan_delta.apply(plan_delta.Delta.from_json(fields), Plan.from_json(parent_body))
    except (plan_delta.DeltaError, PlanError) as exc:
        raise Divergence(at, f"round {state.number}: the promoted delta does not apply: {exc}") from None
    held[state.problem_class] = (version_ + 1, child.content_hash(), child.to_json())
    return {"version": version_ + 1, "child": child.content_hash(), "ops": promotion["ops"]}


# --- attestations as signed notes ---------------------------------------------------------------------


def sign_attestation(body: dict[str, Any], signer: Signer) -> bytes:
    """The attestation's canonical JSON as the text of a signed note (one line, newline-terminated)."""
    return sign_note(rfc8785.dumps(body).decode() + "\n", signer)


def open_attestation(note: bytes, vkey: str) -> dict[str, Any]:
    """Check the note's signature with the operator's verifier key and return the attestation (NoteError else)."""
    opened = open_note(note, Verifier.from_vkey(vkey.strip()))
    text = opened.text.rstrip("\n")
    body = json.loads(text)
    if rfc8785.dumps(body).decode() != text or body.get("format") != ATTESTATION_FORMAT:
        raise NoteError("the note does not hold a canonical OpenPassMarket attestation")
    return body
