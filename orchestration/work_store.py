"""The signal path's reads and writes in plain SQL (like governance.ledger_store): every signal runs them, and
compiling the ORM's joins cost more than the database's work (benchmarks/api.py). Portable between SQLite
and PostgreSQL; the services keep the rules, this module only moves rows."""

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection

from orchestration.models import (
    AdapterDeployment,
    EvaluationTask,
    LocalProblem,
    Participant,
    PerformanceSignal,
    Plan,
    Portfolio,
)
from registry.models import AdapterRelease

_D, _P, _R = AdapterDeployment._meta.db_table, Participant._meta.db_table, AdapterRelease._meta.db_table
_DEPLOYMENT_COLUMNS = ("id", "participant_id", "release_id", "label", "public_key", "api_key_hash", "status")
_DEPLOYMENT_BY_PREFIX = f"""
    SELECT {", ".join(f"d.{c}" for c in _DEPLOYMENT_COLUMNS)}, p.name, p.active, r.name, r.version, r.toolchain, r.state
    FROM {_D} d JOIN {_P} p ON p.id = d.participant_id JOIN {_R} r ON r.id = d.release_id
    WHERE d.api_key_prefix = %s
"""


def deployment_by_prefix(prefix: str) -> AdapterDeployment | None:
    """The deployment with its participant's name and standing and its release's state loaded, other columns
    deferred (`from_db`: reading one loads it, saving never overwrites what was not read)."""
    with connection.cursor() as cursor:
        cursor.execute(_DEPLOYMENT_BY_PREFIX, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    columns = dict(zip(_DEPLOYMENT_COLUMNS, row, strict=False))
    columns["public_key"] = bytes(columns["public_key"])  # memoryview on PostgreSQL
    name, active, release_name, release_version, toolchain, state = row[len(_DEPLOYMENT_COLUMNS) :]
    deployment = _loaded(AdapterDeployment, columns)
    deployment.participant = _loaded(Participant, {"id": deployment.participant_id, "name": name, "active": active})
    deployment.release = _loaded(
        AdapterRelease,
        {
            "id": deployment.release_id,
            "name": release_name,
            "version": release_version,
            "toolchain": toolchain,
            "state": state,
        },
    )
    return deployment


def _loaded(model, columns: dict):
    """An instance as the ORM would load it with only these columns (`from_db` wants the model's order)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in columns]
    return model.from_db("default", names, [columns[name] for name in names])


@dataclass(frozen=True)
class SignalTask:
    """What accepting a signal needs to know about its task."""

    pk: int
    noise_multiplier: float
    clip_bound: float
    round_id: int | None
    phase: str
    plan_id: int
    plan_hash: str
    problem_handle: str
    corpus_size: int
    base_hash: str | None
    """A portfolio task's portfolio (its content hash); None for a plan against the reference."""


@dataclass(frozen=True)
class TaskStanding:
    """Why a task cannot take a signal now (read when finishing it matched no row)."""

    pk: int
    state: str
    deployment_id: int | None
    lease_expired: bool
    signal_id: int | None
    signal_body: bytes | None


_T, _PL, _LP, _S, _PF = (
    EvaluationTask._meta.db_table,
    Plan._meta.db_table,
    LocalProblem._meta.db_table,
    PerformanceSignal._meta.db_table,
    Portfolio._meta.db_table,
)
_FINISH_FOR_SIGNAL = f"""
    UPDATE {_T} SET state = 'done', finished_at = %s
    WHERE id = %s AND deployment_id = %s AND state = 'leased' AND lease_expires_at > %s
    RETURNING id, noise_multiplier, clip_bound, round_id, phase, plan_id,
              (SELECT content_hash FROM {_PL} WHERE {_PL}.id = {_T}.plan_id),
              (SELECT handle FROM {_LP} WHERE {_LP}.id = {_T}.local_problem_id),
              (SELECT corpus_size FROM {_LP} WHERE {_LP}.id = {_T}.local_problem_id),
              (SELECT content_hash FROM {_PF} WHERE {_PF}.id = {_T}.base_id)
"""
_STANDING = f"""
    SELECT t.id, t.state, t.deployment_id, CASE WHEN t.lease_expires_at <= %s THEN 1 ELSE 0 END, s.id, s.body
    FROM {_T} t LEFT JOIN {_S} s ON s.task_id = t.id WHERE t.id = %s
"""


def task_finish_for_signal(task_id: int, deployment_id: int, now: dt.datetime) -> SignalTask | None:
    """Mark the task done if this deployment holds an unexpired lease on it, in one statement that also takes
    the row lock (a concurrent submission waits, then finds it done); None if it does not qualify. The
    caller's transaction rolls this back if the signal then fails its checks."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_FINISH_FOR_SIGNAL, [at, task_id, deployment_id, at])
        row = cursor.fetchone()
    return None if row is None else SignalTask(*row)


def task_standing(task_id: int, now: dt.datetime) -> TaskStanding | None:
    with connection.cursor() as cursor:
        cursor.execute(_STANDING, [connection.ops.adapt_datetimefield_value(now), task_id])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, state, deployment_id, expired, signal_id, body = row
    return TaskStanding(pk, state, deployment_id, bool(expired), signal_id, None if body is None else bytes(body))


def signal_row(signal: PerformanceSignal) -> dict:
    """A new signal's columns as database-ready values (the ledger inserts the row with its entry)."""
    return {
        "task_id": signal.task_id,
        "value": signal.value,
        "corpus_size": signal.corpus_size,
        "mechanism": signal.mechanism,
        "parameters": json.dumps(signal.parameters),
        "verifier_report": json.dumps(signal.verifier_report),
        "body": signal.body,
        "signature": signal.signature,
        "received_at": connection.ops.adapt_datetimefield_value(signal.received_at),
    }
