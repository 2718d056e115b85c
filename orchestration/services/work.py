"""The adapters' work loop (docs/design.md §6): enrolment, local problems, leases that charge the budget, signed
signals, and expiry. Every write is ledgered in its own transaction."""

import datetime as dt
import json
import math
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import IntegrityError, transaction
from django.utils import timezone

from adapters.contract import SIGNAL_PAYLOAD_COPIES
from adapters.privacy import GAUSSIAN, PARAMETER_KEYS, RANGE_WIDTH, SIGNAL_KEYS, statistic_for
from governance.services.ledger import ledger_append_citing
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting, work_store
from orchestration.models import (
    AdapterDeployment,
    EvaluationTask,
    LocalProblem,
    PerformanceSignal,
    TaskState,
)
from orchestration.services.budgets import budget_reserve

DEFAULT_LEASE = dt.timedelta(minutes=10)
MAX_LEASE = dt.timedelta(hours=2)


def local_problem_register(
    *, deployment: AdapterDeployment, handle: str, problem_class: str, corpus_size: int, commitment: str
) -> LocalProblem:
    """Register a private corpus by handle, class, size n and a salted commitment (nothing else is sent)."""
    if not isinstance(corpus_size, int) or corpus_size < 1:
        raise OpmError(ErrorCode.VALIDATION_FAILED, "corpus_size must be a positive integer")
    if len(commitment) != 64 or any(c not in "0123456789abcdef" for c in commitment):
        raise OpmError(ErrorCode.VALIDATION_FAILED, "commitment must be 64 lower-case hex digits (SHA-256)")
    try:
        with transaction.atomic(durable=True):
            return LocalProblem.objects.create(
                participant=deployment.participant,
                deployment=deployment,
                handle=handle,
                problem_class=problem_class,
                toolchain=deployment.release.toolchain,
                corpus_size=corpus_size,
                commitment=commitment,
            )
    except IntegrityError:
        raise OpmError(ErrorCode.VALIDATION_FAILED, f"handle {handle!r} is already registered") from None


def tasks_lease(
    *, deployment: AdapterDeployment, limit: int = 1, lease: dt.timedelta = DEFAULT_LEASE, problem: str | None = None
) -> list:
    """Lease up to `limit` queued tasks of this deployment's problems (only of the problem with handle `problem`,
    when named: an adapter works on one corpus, and a deployment may register several of one class), charging
    the budget for each in the same transaction; the first task the budget cannot afford stops the lease."""
    lease = min(max(lease, dt.timedelta(seconds=10)), MAX_LEASE)
    leased: list[EvaluationTask] = []
    now = timezone.now()
    mine = {"local_problem__deployment": deployment}
    if problem is not None:
        if not LocalProblem.objects.filter(deployment=deployment, handle=problem).exists():
            raise OpmError(
                ErrorCode.NOT_FOUND, f"this deployment registered no problem {problem!r}", status=404, problem=problem
            )
        mine["local_problem__handle"] = problem
    with transaction.atomic(durable=True):
        candidates = (
            EvaluationTask.objects.select_for_update(skip_locked=True, of=("self",))  # base is an outer join
            .filter(state=TaskState.QUEUED, **mine)
            .select_related("plan", "local_problem", "base")
            .order_by("created_at", "pk")[: max(1, min(limit, 50))]
        )
        for task in candidates:
            rho_nano = accounting.rho_nano_of_noise_multiplier(task.noise_multiplier)
            try:
                with transaction.atomic():  # a savepoint: an unaffordable task leaves the earlier leases intact
                    budget_reserve(participant=deployment.participant, task=task, rho_nano=rho_nano)
            except OpmError as exc:
                if exc.code == ErrorCode.BUDGET_EXHAUSTED and leased:
                    break
                raise
            task.state, task.deployment = TaskState.LEASED, deployment
            task.leased_at, task.lease_expires_at = now, now + lease
            task.save(update_fields=["state", "deployment", "leased_at", "lease_expires_at"])
            leased.append(task)
    return leased


def task_heartbeat(*, deployment: AdapterDeployment, task: EvaluationTask, lease: dt.timedelta = DEFAULT_LEASE):
    """Extend a lease the deployment still holds."""
    with transaction.atomic(durable=True):
        locked = EvaluationTask.objects.select_for_update().get(pk=task.pk)
        _check_lease(locked, deployment)
        locked.lease_expires_at = timezone.now() + min(max(lease, dt.timedelta(seconds=10)), MAX_LEASE)
        locked.save(update_fields=["lease_expires_at"])
    return locked


def _check_lease(task: EvaluationTask | work_store.TaskStanding, deployment: AdapterDeployment) -> None:
    if task.deployment_id != deployment.pk:
        raise OpmError(ErrorCode.NOT_YOUR_TASK, f"task {task.pk} is not leased to this deployment", status=403)
    if task.state != TaskState.LEASED:
        raise OpmError(ErrorCode.TASK_NOT_LEASED, f"task {task.pk} is {task.state}", status=409)
    expired = (
        task.lease_expired if isinstance(task, work_store.TaskStanding) else task.lease_expires_at <= timezone.now()
    )
    if expired:
        raise OpmError(ErrorCode.LEASE_EXPIRED, f"the lease on task {task.pk} expired", status=409)


def _parse_signal(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise OpmError(ErrorCode.INVALID_SIGNAL, "the signal body is not JSON") from None
    if not isinstance(document, dict) or set(document) != SIGNAL_KEYS:
        raise OpmError(
            ErrorCode.INVALID_SIGNAL,
            f"a signal is the full signed statement (contract opm-adapter 2.0) with exactly the keys "
            f"{sorted(SIGNAL_KEYS)}",
        )
    try:
        if rfc8785.dumps(document) != body:
            raise OpmError(ErrorCode.INVALID_SIGNAL, "the signal body must be RFC 8785 canonical JSON")
    except rfc8785.CanonicalizationError as exc:
        raise OpmError(ErrorCode.INVALID_SIGNAL, f"the signal body cannot be canonical JSON: {exc}") from None
    return document


def signal_submit(*, deployment: AdapterDeployment, body: bytes, signature: bytes) -> tuple[PerformanceSignal, bool]:
    """Accept a signed, noised release for a leased task. Returns (signal, created): the same body again is
    idempotent; a different body for a finished task is a conflict."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes(deployment.public_key)).verify(signature, body)
    except (InvalidSignature, ValueError):
        raise OpmError(ErrorCode.BAD_SIGNATURE, "the signature does not verify with this deployment's key") from None
    document = _parse_signal(body)
    if not isinstance(document["task"], int) or isinstance(document["task"], bool):
        raise OpmError(ErrorCode.INVALID_SIGNAL, "task must be an integer id")
    if not 0 < document["task"] < 2**63:  # ids are positive 64-bit integers (canonical JSON stops at 2**53)
        raise OpmError(ErrorCode.NOT_YOUR_TASK, f"no task {document['task']} for this deployment", status=404)
    now = timezone.now()
    with transaction.atomic(durable=True):
        task = work_store.task_finish_for_signal(document["task"], deployment.pk, now)
        if task is None:  # not this deployment's live lease: a replay, or an error to explain
            return _signal_again(document["task"], deployment, body, now), False
        _check_signal_values(document, task)  # raising rolls the task's state back
        signal = PerformanceSignal(
            task_id=task.pk,
            value=document["value"],
            corpus_size=document["n"],
            mechanism=document["mechanism"],
            parameters=document["parameters"],
            body=body,
            signature=signature,
            received_at=now,
        )
        # The ledger entry last, with the signal row in the same statement: the log's lock is then held only
        # for that statement and the commit.
        entry, signal.pk = ledger_append_citing(
            kind="signal.accepted",
            actor=f"deployment:{deployment.pk}",
            subject=f"task:{task.pk}",
            payload=signal_payload(participant=deployment.participant.name, body=document, signature=signature),
            table=PerformanceSignal._meta.db_table,
            row=work_store.signal_row(signal),
            index_column="ledger_index",
        )
        signal.ledger_index = entry.index
        signal._state.adding = False
    return signal, True


def _signal_again(task_id: int, deployment: AdapterDeployment, body: bytes, now: dt.datetime) -> PerformanceSignal:
    """The stored signal if this exact body was accepted before (idempotency); otherwise the reason why not."""
    standing = work_store.task_standing(task_id, now)
    if standing is None:
        raise OpmError(ErrorCode.NOT_YOUR_TASK, f"no task {task_id!r} for this deployment", status=404)
    if standing.signal_body is not None and standing.deployment_id == deployment.pk:
        if standing.signal_body == body:
            return PerformanceSignal.objects.get(pk=standing.signal_id)
        raise OpmError(ErrorCode.SIGNAL_CONFLICT, f"task {task_id} already has a different signal", status=409)
    _check_lease(standing, deployment)
    raise OpmError(ErrorCode.TASK_NOT_LEASED, f"task {task_id} has no live lease", status=409)


def signal_payload(*, participant: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
    """The `signal.accepted` payload: the signed statement and its signature, the participant (the signing
    deployment's, as enrolled), and readable copies of the statement's fields that the backtest checks."""
    copies = {field: body[key] for field, key in SIGNAL_PAYLOAD_COPIES.items()}
    return {**copies, "participant": participant, "body": body, "signature": signature.hex()}


def _statement_of(task: work_store.SignalTask) -> dict[str, Any]:
    """What a signal for this task must state about it, field by field (the value and parameters apart)."""
    return {
        "task": task.pk,
        "round": task.round_id,
        "problem": task.problem_handle,
        "phase": task.phase,
        "plan": task.plan_hash,
        "base": task.base_hash,
        "statistic": statistic_for(task.base_hash),
        "n": task.corpus_size,
        "mechanism": GAUSSIAN,
    }


def _check_signal_values(document: dict[str, Any], task: work_store.SignalTask) -> None:
    """The signed statement describes exactly this leased task, and its value is one this mechanism can give."""
    expected = _statement_of(task)
    differing = sorted(key for key, value in expected.items() if document[key] != value or type(document[key]) is bool)
    if differing:
        raise OpmError(
            ErrorCode.INVALID_SIGNAL,
            f"the signed statement does not describe task {task.pk}: {', '.join(differing)} differ from the task's",
            fields=differing,
        )
    value, n, parameters = document["value"], document["n"], document["parameters"]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise OpmError(ErrorCode.INVALID_SIGNAL, "value must be a finite number")
    if not isinstance(parameters, dict) or set(parameters) != PARAMETER_KEYS:
        raise OpmError(ErrorCode.INVALID_SIGNAL, f"the mechanism's parameters are exactly {sorted(PARAMETER_KEYS)}")
    if parameters["noise_multiplier"] != task.noise_multiplier or parameters["clip_bound"] != task.clip_bound:
        raise OpmError(
            ErrorCode.INVALID_SIGNAL,
            "the mechanism parameters must be the task's",
            fields=[k for k in ("noise_multiplier", "clip_bound") if parameters[k] != getattr(task, k)],
        )
    # gains over the reference lie in [-c, c]; marginal gains over a portfolio in [0, c]
    width = RANGE_WIDTH[expected["statistic"]]
    sensitivity = width * task.clip_bound / n
    std = task.noise_multiplier * sensitivity
    for key, derived in (("sensitivity", sensitivity), ("std", std)):
        stated = parameters[key]
        if isinstance(stated, bool) or not isinstance(stated, (int, float)) or not math.isclose(stated, derived):
            raise OpmError(ErrorCode.INVALID_SIGNAL, f"parameters.{key} must be {derived!r} for this task")
    lower = task.clip_bound * (1 - width)
    if not lower - 40 * std <= value <= task.clip_bound + 40 * std:  # beyond 40 sigma: not this mechanism
        raise OpmError(ErrorCode.INVALID_SIGNAL, "value is outside the mechanism's range")


def tasks_expire(*, now: dt.datetime | None = None) -> list[EvaluationTask]:
    """Expired leases return their work to the queue as new tasks; the charge stays spent (never refunded)."""
    now = now or timezone.now()
    requeued = []
    with transaction.atomic(durable=True):
        for task in EvaluationTask.objects.select_for_update(skip_locked=True).filter(
            state=TaskState.LEASED, lease_expires_at__lte=now
        ):
            task.state, task.finished_at, task.failure_reason = TaskState.EXPIRED, now, "lease expired"
            task.save(update_fields=["state", "finished_at", "failure_reason"])
            requeued.append(
                EvaluationTask.objects.create(
                    round=task.round,
                    plan=task.plan,
                    base=task.base,
                    local_problem=task.local_problem,
                    noise_multiplier=task.noise_multiplier,
                    clip_bound=task.clip_bound,
                    phase=task.phase,
                    requeued_from=task,
                )
            )
    return requeued


def task_fail(*, deployment: AdapterDeployment, task: EvaluationTask, reason: str) -> EvaluationTask:
    """The adapter could not evaluate the task; the charge stays spent, the task is not retried."""
    with transaction.atomic(durable=True):
        locked = EvaluationTask.objects.select_for_update().get(pk=task.pk)
        _check_lease(locked, deployment)
        locked.state, locked.finished_at, locked.failure_reason = TaskState.FAILED, timezone.now(), reason[:200]
        locked.save(update_fields=["state", "finished_at", "failure_reason"])
    return locked
