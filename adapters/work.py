"""The adapter's work loop (docs/design.md §4, §6): register the corpus, then lease, evaluate, release, sign, submit.

What leaves the machine: the problem's handle, class, size n and salted commitment once, then per task one
signed signal body (a noised clipped mean and the mechanism's public parameters) or a failure reason from a
fixed vocabulary. Per-program sizes, file names and code stay here. Every leased task ends in a signal or a
reported failure (`interrupted` when the operator stops the adapter mid-task), never in a silent lease.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rfc8785

from adapters.contract import SIGNAL_PAYLOAD_COPIES
from adapters.drivers import CorpusError, Driver, get_driver
from adapters.drivers.base import OK
from adapters.evaluate import (
    NO_REFERENCE,
    EvaluationReport,
    ProgramResult,
    corpus_programs,
    evaluate,
    evaluate_portfolio,
)
from adapters.keyfile import DeploymentKey, LogPin, ProblemRecord
from adapters.ledger.checkpoint import Checkpoint
from adapters.ledger.cosignature import CosignatureError, WitnessVerifier, cosign, witness_name
from adapters.ledger.note import Verifier
from adapters.measurements import MeasurementStore
from adapters.plan import Plan, PlanError
from adapters.portfolio import Portfolio, best_size
from adapters.privacy import (
    CLIPPED_GAIN,
    LocalBudgetExceeded,
    PrivacyError,
    SpendRecord,
    clipped_gain,
    marginal_gain,
    release,
    rho_nano,
    statistic_for,
)
from adapters.sdk import LEDGER_EMPTY, ApiError, LogVerificationError, MarketClient, Task
from adapters.toolchains import ToolchainUnavailable

EXIT_OK, EXIT_FAILED = 0, 1

# Failure reasons sent to the server: a fixed vocabulary, so nothing private rides along in free text.
LOCAL_BUDGET_EXCEEDED = "local budget exceeded"
LOCAL_RECORD_ERROR = "local spend record unusable"
INTERRUPTED = "interrupted"
INVALID_PLAN = "invalid plan"
PLAN_HASH_MISMATCH = "plan hash mismatch"
CORPUS_ERROR = "corpus error"
CORPUS_CHANGED = "corpus size changed since registration"
TOOLCHAIN_UNAVAILABLE = "toolchain unavailable"
EVALUATION_ERROR = "evaluation error"
RELEASE_ERROR = "release refused by the privacy checks"
SIGNAL_REFUSED = "signal refused"
NOISE_BELOW_FLOOR = "noise multiplier below this adapter's floor"
OTHER_PROBLEM = "task for a problem this adapter did not register"
DEFAULT_MIN_NOISE_MULTIPLIER = 1.0
"""The adapter's own floor: a server asking for less noise (m = 0.01 would release an almost exact mean) is
refused whatever its policy says. Participants set their own with `opm-adapter run --min-noise-multiplier`."""

LEASE_LOST = frozenset({"lease_expired", "task_not_leased", "not_your_task"})
FATAL_CODES = frozenset({"invalid_key", "not_authenticated", "deployment_revoked", "release_not_active"})
BUDGET_EXHAUSTED = "budget_exhausted"
COSIGNATURE_CONFLICT = "cosignature_conflict"
SALT_BYTES = 32
POLL_SECONDS = 0.1  # how often the main thread looks for a stop request while a task evaluates


class WorkStopped(Exception):
    """Work cannot go on (local budget spent, corpus broken, key refused); the message says why, in one line."""


def corpus_commitment(programs: Sequence[Path], salt: bytes) -> str:
    """Hex SHA-256(salt || the sorted SHA-256 digests of the programs' bytes).

    It binds the participant to one corpus without revealing it: the digests are sorted so that file names
    and order play no part, and the random salt (kept locally) stops anyone testing guessed corpora.
    """
    digests = sorted(hashlib.sha256(Path(program).read_bytes()).digest() for program in programs)
    return hashlib.sha256(salt + b"".join(digests)).hexdigest()


def plan_hash_matches(task: Task) -> bool:
    """The server names a plan by the SHA-256 of its RFC 8785 body; accept that or our canonical form's hash."""
    if hashlib.sha256(rfc8785.dumps(task.plan)).hexdigest() == task.plan_hash:
        return True
    try:
        return Plan.from_json(task.plan).content_hash() == task.plan_hash
    except PlanError:
        return False


@dataclasses.dataclass(frozen=True)
class WorkOptions:
    """What to work on and how long to go on: `once` leases a single time; `max_tasks` caps tasks handled."""

    corpus: Path
    problem: str
    problem_class: str
    toolchain: str
    reference: str | None = None
    jobs: int = 1
    lease_seconds: int = 600
    heartbeat_seconds: float | None = None  # default: a third of the lease
    once: bool = False
    max_tasks: int | None = None
    idle_initial: float = 1.0
    idle_max: float = 60.0
    min_noise_multiplier: float = DEFAULT_MIN_NOISE_MULTIPLIER
    witness: bool = True
    """Cosign each checkpoint the log check verified (C2SP tlog-cosignature), so that others can see this
    participant vouches for it; `opm-adapter run --no-witness` turns it off."""


def _stderr(message: str) -> None:
    print(f"opm-adapter [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class _Heartbeat:
    """Extends the lease in a background thread while a task evaluates; notes when the lease is lost."""

    def __init__(
        self, client: MarketClient, task: Task, lease_seconds: int, interval: float, log: Callable[[str], None]
    ) -> None:
        self._client = client
        self._task = task
        self._lease_seconds = lease_seconds
        self._interval = interval
        self._log = log
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{task.id}", daemon=True)
        self.lost: ApiError | None = None
        self.beats = 0

    def _beat(self) -> None:
        while not self._done.wait(self._interval):
            try:
                self._client.heartbeat(self._task.id, lease_seconds=self._lease_seconds)
                self.beats += 1
            except ApiError as exc:
                if exc.code in LEASE_LOST:
                    self.lost = exc
                    self._log(f"task {self._task.id}: lease lost ({exc.code}); its result will not be sent")
                    return
                self._log(f"task {self._task.id}: heartbeat failed, will try again: {exc}")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()


class WorkLoop:
    """One deployment working on one local problem until stopped, out of work, or unable to go on.

    `request_stop` is what SIGINT/SIGTERM call: the loop leases nothing more, a task whose evaluation is
    running is reported `interrupted`, one already evaluated is finished, and `run` returns 0.
    """

    def __init__(
        self,
        client: MarketClient,
        key: DeploymentKey,
        options: WorkOptions,
        *,
        spend: SpendRecord | None = None,
        log: Callable[[str], None] = _stderr,
        driver_factory: Callable[[str], Driver] = get_driver,
    ) -> None:
        self.client = client
        self.key = key
        self.options = options
        self.spend = spend
        self.log = log
        self._driver_factory = driver_factory
        self._drivers: dict[str, Driver] = {}
        self._stop = threading.Event()
        self._stop_reason = ""
        self.handled = 0
        self.accepted: list[tuple[int, int | None, bytes]] = []  # (task, ledger index, body)

    # --- control ---------------------------------------------------------------------------------------------

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop after the current step; safe to call from a signal handler or another thread, more than once."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        """Check the log, register the problem, then work; 0 on a clean stop, 1 if work cannot go on."""
        try:
            self.check_log()
            self.problem_ensure()
            self._work()
            self._final_log_check()
        except (WorkStopped, ApiError, LogVerificationError) as exc:
            self.log(f"error: {exc}")
            return EXIT_FAILED
        if self._stop_reason:
            self.log(f"stopped ({self._stop_reason}) after {self.handled} task(s)")
        else:
            self.log(f"done: {self.handled} task(s) handled, {len(self.accepted)} signal(s) accepted")
        return EXIT_OK

    # --- the market log --------------------------------------------------------------------------------------

    def check_log(self) -> Checkpoint | None:
        """Verify the latest checkpoint with the pinned log key (pinned on first use) and, if this key file
        saw an earlier checkpoint, that the new one extends it. Fails loudly if the log was rewritten."""
        pin = self.key.log
        try:
            checkpoint, vkey = self.client.verified_checkpoint(pin.vkey if pin else None)
        except ApiError as exc:
            if exc.code == LEDGER_EMPTY:
                self.log("the market log has no checkpoint yet; nothing to verify")
                return None
            raise
        except LogVerificationError as exc:
            raise LogVerificationError(
                f'{exc} (if the operator announced a new log key, remove "log" from {self.key.path})'
            ) from None
        if pin is None:
            self.log(f"pinned the market log key {Verifier.from_vkey(vkey).name} (first use)")
        elif pin.size:
            previous = Checkpoint(pin.origin or checkpoint.origin, pin.size, base64.b64decode(pin.root))
            self.client.verify_consistency(previous, checkpoint)
        if pin is None or checkpoint.size >= pin.size:
            root = base64.b64encode(checkpoint.root).decode("ascii")
            cosigned = pin.cosigned if pin else None
            self.key.log = LogPin(
                vkey=vkey, origin=checkpoint.origin, size=checkpoint.size, root=root, cosigned=cosigned
            )
            self.key.save()
        seen = f", consistent with size {pin.size} seen before" if pin and pin.size else ""
        self.log(f"market log verified: {checkpoint.origin} size {checkpoint.size}{seen}")
        self._cosign(checkpoint)
        return checkpoint

    def _cosign(self, checkpoint: Checkpoint) -> None:
        """Witness the checkpoint `check_log` just verified: cosign it (C2SP tlog-cosignature v1) with this
        deployment's signing key under its witness name and submit the line. Only a checkpoint that extends
        everything this key file saw gets here (an inconsistent one stops the adapter first). Each checkpoint
        is cosigned once; any failure is a warning, never a reason to stop working."""
        pin = self.key.log
        if not self.options.witness or pin is None or (pin.cosigned is not None and pin.cosigned >= checkpoint.size):
            return
        try:
            identity = self.client.witness_identity()
            name = witness_name(checkpoint.origin, str(identity["participant"]), identity["deployment"])
            if identity["name"] != name:
                raise CosignatureError(f"the server names this witness {identity['name']!r}, expected {name!r}")
            if WitnessVerifier.from_vkey(str(identity["vkey"])).public_key != self.key.public_key:
                raise CosignatureError("the server holds another signing key for this deployment")
            cosignature = cosign(
                checkpoint.text, name=name, private_key=self.key.signing_key, timestamp=int(time.time())
            )
            self.client.submit_cosignature(checkpoint.size, cosignature.line)
        except ApiError as exc:
            if exc.code != COSIGNATURE_CONFLICT:
                self.log(f"warning: could not cosign checkpoint {checkpoint.size}: {exc}")
                return
            self.log(f"checkpoint {checkpoint.size} was cosigned by this deployment before")
        except (CosignatureError, KeyError, TypeError, ValueError) as exc:
            self.log(f"warning: not cosigning checkpoint {checkpoint.size}: {exc}")
            return
        else:
            self.log(f"cosigned checkpoint {checkpoint.size} as witness {name}")
        pin.cosigned = checkpoint.size
        self.key.save()

    def _final_log_check(self) -> None:
        """On the way out: the log still extends what we saw, and our signals that a checkpoint covers are in
        it with exactly the bodies we signed. Network trouble here is reported, not fatal."""
        if not self.accepted:
            return
        try:
            checkpoint = self.check_log()
            if checkpoint is None:
                return
            covered = [entry for entry in self.accepted if entry[1] is not None and entry[1] < checkpoint.size]
            for task_id, index, body in covered:
                assert index is not None
                leaf = self.client.verify_inclusion(index, checkpoint)
                payload = leaf.get("payload") or {}
                signed = json.loads(body)
                if (
                    leaf.get("kind") != "signal.accepted"
                    or payload.get("body") != signed
                    or any(payload.get(field) != signed[key] for field, key in SIGNAL_PAYLOAD_COPIES.items())
                ):
                    raise LogVerificationError(f"ledger entry {index} is not the signal we sent for task {task_id}")
            pending = len(self.accepted) - len(covered)
            later = f"; {pending} not yet covered by a checkpoint" if pending else ""
            self.log(f"{len(covered)} of our signal(s) proven in the signed log{later}")
        except ApiError as exc:
            self.log(f"warning: could not check the log on the way out: {exc}")

    # --- the problem -----------------------------------------------------------------------------------------

    def _driver(self, toolchain: str) -> Driver:
        if toolchain not in self._drivers:
            self._drivers[toolchain] = self._driver_factory(toolchain)
        return self._drivers[toolchain]

    def problem_ensure(self) -> ProblemRecord:
        """Register the corpus (handle, class, n, salted commitment) unless the server already knows it.

        The salt is saved before the server hears of the commitment, so a registered commitment is never
        left without the salt that opens it.
        """
        options = self.options
        try:
            programs = corpus_programs(options.corpus, self._driver(options.toolchain))
        except KeyError as exc:
            raise WorkStopped(str(exc.args[0])) from None
        except CorpusError as exc:
            raise WorkStopped(str(exc)) from None
        record = self.key.problems.get(options.problem)
        if record is None:
            salt = secrets.token_bytes(SALT_BYTES)
            record = ProblemRecord(salt.hex(), len(programs), corpus_commitment(programs, salt))
            self.key.problems[options.problem] = record
            self.key.save()
        elif record.corpus_size != len(programs):
            raise WorkStopped(
                f"{options.corpus} has {len(programs)} programs but problem {options.problem!r} was registered "
                f"with n = {record.corpus_size}: restore the corpus or register it under a new --problem handle"
            )
        elif corpus_commitment(programs, bytes.fromhex(record.salt)) != record.commitment:
            self.log(f"warning: the corpus changed since problem {options.problem!r} was registered (same size)")
        try:
            self.client.register_problem(
                handle=options.problem,
                problem_class=options.problem_class,
                corpus_size=record.corpus_size,
                commitment=record.commitment,
            )
            self.log(f"registered problem {options.problem!r} ({options.problem_class}, n = {record.corpus_size})")
        except ApiError as exc:
            if not exc.already_registered:
                raise
            self.log(f"problem {options.problem!r} is already registered")
        return record

    # --- the loop --------------------------------------------------------------------------------------------

    def _work(self) -> None:
        options = self.options
        idle = 0
        while not self.stopping:
            if options.max_tasks is not None and self.handled >= options.max_tasks:
                return
            try:
                tasks = self.client.lease(limit=1, lease_seconds=options.lease_seconds, problem=options.problem)
            except ApiError as exc:
                if exc.code == BUDGET_EXHAUSTED:
                    self.log(f"the server's privacy budget for this participant is spent: {exc.detail}")
                elif not exc.transient or options.once:
                    raise
                else:
                    self.log(f"lease failed, will try again: {exc}")
                if options.once:
                    return
                self._idle(idle, announce=False)
                idle += 1
                continue
            if not tasks:
                if options.once:
                    self.log("no task available")
                    return
                self._idle(idle)
                idle += 1
                continue
            idle = 0
            for task in tasks:
                self.work_on(task)
                self.handled += 1
            if options.once:
                return

    def _idle(self, attempt: int, *, announce: bool = True) -> None:
        delay = min(self.options.idle_max, self.options.idle_initial * 2**attempt)
        if announce:
            self.log(f"no task available; next lease in {delay:g} s")
        self._stop.wait(delay)

    def work_on(self, task: Task) -> None:
        """Evaluate one leased task and submit its signal, or report why not."""
        self.log(
            f"task {task.id}: leased (plan {task.plan_hash[:12]}, noise multiplier {task.noise_multiplier:g}, "
            f"clip bound {task.clip_bound:g})"
        )
        if self.stopping:
            self._report_failure(task, INTERRUPTED)
            return
        if task.problem != self.options.problem:  # another corpus, even of the same class, is not ours to measure
            self._report_failure(task, OTHER_PROBLEM)
            return
        if task.noise_multiplier < self.options.min_noise_multiplier:
            self.log(
                f"task {task.id}: noise multiplier {task.noise_multiplier:g} < {self.options.min_noise_multiplier:g}"
            )
            self._report_failure(task, NOISE_BELOW_FLOOR)
            return
        if not plan_hash_matches(task):
            self._report_failure(task, PLAN_HASH_MISMATCH)
            return
        try:
            plan = Plan.from_json(task.plan)
            driver = self._driver(plan.toolchain)
            driver.check_plan(plan)
            base = None if task.base is None else Portfolio.from_json(task.base)
            for member in base.members if base is not None else ():
                driver.check_plan(member)
        except (PlanError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            self.log(f"task {task.id}: {INVALID_PLAN}: {message}")  # the detail stays here
            self._report_failure(task, INVALID_PLAN)
            return
        if base is not None and (base.content_hash() != task.base_hash or base.toolchain != plan.toolchain):
            self._report_failure(task, PLAN_HASH_MISMATCH)
            return
        self._charge_locally(task)
        interval = self.options.heartbeat_seconds or max(5.0, self.options.lease_seconds / 3)
        with _Heartbeat(self.client, task, self.options.lease_seconds, interval, self.log) as heartbeat:
            try:
                report = self._evaluate(plan, driver, base)
            except CorpusError as exc:
                self.log(f"task {task.id}: {exc}")  # names a file: stays local
                self._report_failure(task, CORPUS_ERROR)
                raise WorkStopped(f"the corpus cannot be evaluated: {exc}") from None
            except ToolchainUnavailable as exc:
                self._report_failure(task, TOOLCHAIN_UNAVAILABLE)
                raise WorkStopped(str(exc)) from None
            except PlanError as exc:
                self.log(f"task {task.id}: {INVALID_PLAN}: {exc}")
                self._report_failure(task, INVALID_PLAN)
                return
            except Exception as exc:  # a driver bug must cost one task, not the worker
                self.log(f"task {task.id}: evaluation failed: {type(exc).__name__}: {exc}")
                self._report_failure(task, EVALUATION_ERROR)
                return
        if report is None:
            self._report_failure(task, INTERRUPTED)
            return
        if heartbeat.lost is not None:
            return
        self._release_and_submit(task, report, base)

    def _charge_locally(self, task: Task) -> None:
        """Charge our own record before any work: the server charged at lease, and we refuse what our own
        limit does not allow. A refusal ends the loop, as every further lease would be charged again."""
        if self.spend is None:
            return
        try:
            self.spend.charge(task.id, rho_nano(task.noise_multiplier))
        except LocalBudgetExceeded as exc:
            self._report_failure(task, LOCAL_BUDGET_EXCEEDED)
            raise WorkStopped(f"local budget exhausted, stopping so that no further lease is charged: {exc}") from None
        except PrivacyError as exc:
            self._report_failure(task, LOCAL_RECORD_ERROR)
            raise WorkStopped(str(exc)) from None

    def _evaluate(self, plan: Plan, driver: Driver, base: Portfolio | None) -> EvaluationReport | None:
        """Evaluate in a worker thread so that a stop request is answered at once; None if interrupted.

        A portfolio task evaluates S + q per module; measurements are kept in the driver's cache, so the
        members of S are built once for all the tasks that ask about S."""
        outcome: dict[str, Any] = {}
        finished = threading.Event()
        store = MeasurementStore.for_driver(driver)
        options = self.options

        def work() -> None:
            try:
                if base is None:
                    outcome["report"] = evaluate(
                        plan, options.corpus, options.reference, options.jobs, driver=driver, store=store
                    )
                else:
                    outcome["report"] = evaluate_portfolio(
                        base.with_member(plan),
                        options.corpus,
                        options.reference,
                        options.jobs,
                        driver=driver,
                        store=store,
                    )
            except BaseException as exc:  # handed to the main thread
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=work, name="evaluate", daemon=True).start()
        while not finished.wait(POLL_SECONDS):
            if self.stopping:
                return None
        if "error" in outcome:
            raise outcome["error"]
        return outcome["report"]

    def _release_and_submit(self, task: Task, report: EvaluationReport, base: Portfolio | None) -> None:
        statistic = statistic_for(base)
        gains = [_gain(result, task, statistic, report.members) for result in report.programs]
        record = self.key.problems.get(task.problem)
        if record is not None and record.corpus_size != len(gains):
            self._report_failure(task, CORPUS_CHANGED)
            raise WorkStopped(f"the corpus now has {len(gains)} programs, registered n = {record.corpus_size}")
        try:
            released = release(gains, clip=task.clip_bound, noise_multiplier=task.noise_multiplier, statistic=statistic)
        except PrivacyError as exc:
            self.log(f"task {task.id}: {exc}")
            self._report_failure(task, RELEASE_ERROR)
            return
        body = task.signal_statement(released)
        try:
            receipt = self.client.submit_signal(body, self.key.signing_key)
        except ApiError as exc:
            if exc.code in FATAL_CODES:
                raise
            if exc.code in LEASE_LOST:
                self.log(f"task {task.id}: the server no longer holds our lease ({exc.code}); signal dropped")
                return
            if exc.transient:
                self.log(f"task {task.id}: signal not delivered ({exc}); the lease will expire on the server")
                return
            self._report_failure(task, f"{SIGNAL_REFUSED}: {exc.code}")
            if exc.code == "bad_signature":
                raise WorkStopped(
                    f"the server does not accept this key file's signatures ({exc.detail}): was the deployment "
                    f"enrolled with public key {self.key.public_key_hex}?"
                ) from None
            return
        self.accepted.append((task.id, receipt.ledger_index, body))
        counted = "-c" if statistic == CLIPPED_GAIN else "0"
        failed = sum(result.verdict != OK for result in report.programs if result.verdict != NO_REFERENCE)
        unbuilt = sum(result.verdict == NO_REFERENCE for result in report.programs)
        failures = f", {failed} program(s) failed and count as {counted}" if failed else ""
        failures += f", {unbuilt} without a working reference count as 0" if unbuilt else ""
        replay = "" if receipt.created else " (already accepted earlier)"
        self.log(
            f"task {task.id}: signal accepted{replay}, ledger entry {receipt.ledger_index} (n = {len(gains)}{failures})"
        )

    def _report_failure(self, task: Task, reason: str) -> None:
        """Tell the server a leased task will not produce a signal, so it is not left leased silently."""
        self.log(f"task {task.id}: reporting failure: {reason}")
        try:
            self.client.fail(task.id, reason)
        except ApiError as exc:
            if exc.code in LEASE_LOST:
                return  # already finished or expired: nothing is left leased
            self.log(f"task {task.id}: could not report the failure ({exc}); the lease will expire on the server")


def _gain(result: ProgramResult, task: Task, statistic: str, members: int) -> float:
    """One program's clipped statistic. A program without a working reference counts 0 (neither the plan
    nor the reference can build it). For a portfolio task the candidate is the last member of S + q; when
    it was already in S (or is the reference), S + q is S and every gain is 0."""
    if result.verdict == NO_REFERENCE or not result.reference_bytes:
        return 0.0
    if statistic == CLIPPED_GAIN:
        return clipped_gain(result.reference_bytes, result.plan_bytes if result.ok else None, task.clip_bound)
    candidates = result.candidate_bytes
    if len(candidates) != members + 1 or task.base is None or members == len(task.base.get("members", [])):
        return 0.0  # q added nothing to S's member list
    return marginal_gain(best_size(candidates[:-1]), best_size(candidates), task.clip_bound)


__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "INTERRUPTED",
    "LOCAL_BUDGET_EXCEEDED",
    "WorkLoop",
    "WorkOptions",
    "WorkStopped",
    "corpus_commitment",
    "plan_hash_matches",
]
