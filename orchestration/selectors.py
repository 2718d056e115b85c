"""Orchestration reads."""

import bisect
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, F, FloatField, Max, Q, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import Cast, NullIf, RowNumber

from adapters import privacy
from adapters.contract import ADAPTER_CONTRACT_RANGE
from adapters.ledger.cosignature import CosignatureError, WitnessVerifier, witness_name
from adapters.plan import problem_toolchain
from adapters.portfolio import Portfolio as PortfolioFile
from governance.models import Checkpoint, LedgerEntry
from governance.policy_schemas import ORCHESTRATION_DEFAULTS
from governance.selectors import policy_active
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting
from orchestration.models import (
    AdapterDeployment,
    CheckpointCosignature,
    DeploymentStatus,
    EvaluationTask,
    LocalProblem,
    Participant,
    PerformanceSignal,
    Plan,
    PlanDelta,
    Portfolio,
    PortfolioDelta,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
    TaskState,
)
from registry.models import ReleaseState
from registry.selectors import releases_discover


@dataclass(frozen=True)
class BudgetView:
    """A budget as people read it: epsilon spent of the limit at the policy's delta, and the share of rho used.

    zCDP composes in rho, not in epsilon: both epsilons are their rho converted at delta (dp-accounting), so the
    epsilon left is not the limit minus the spent epsilon, and the share used is a share of rho."""

    budget: PrivacyBudget
    charges: int

    @property
    def remaining_nano(self) -> int:
        return self.budget.rho_limit_nano - self.budget.rho_spent_nano

    @property
    def spent_epsilon(self) -> float:
        return accounting.epsilon_of_rho_nano(self.budget.rho_spent_nano, self.budget.delta)

    @property
    def limit_epsilon(self) -> float:
        """The epsilon the enforced rho limit is worth at delta (the policy's, or the participant's own)."""
        return accounting.epsilon_of_rho_nano(self.budget.rho_limit_nano, self.budget.delta)

    @property
    def share_spent(self) -> float:
        """The part of the rho limit spent, 0..1 (what the next charges are taken from)."""
        limit = self.budget.rho_limit_nano
        return self.budget.rho_spent_nano / limit if limit > 0 else 1.0

    @property
    def epsilon_text(self) -> str:
        """Epsilon spent of the limit at delta, e.g. `ε 0.501 of 1.000 at δ = 1e-06`: the figures `manage.py demo`
        and `manage.py budgets` print."""
        return f"ε {self.spent_epsilon:.3f} of {self.limit_epsilon:.3f} at δ = {self.budget.delta:g}"

    @property
    def share_text(self) -> str:
        return f"{self.share_spent:.0%} of ρ used"

    @property
    def rho_text(self) -> str:
        return f"{self.budget.rho_spent_nano:,} of {self.budget.rho_limit_nano:,} nano-rho spent"


def budget_views() -> list[BudgetView]:
    budgets = PrivacyBudget.objects.select_related("participant", "policy").annotate(n=Count("charges"))
    return [BudgetView(budget=b, charges=b.n) for b in budgets.order_by("participant__name")]


def budget_view(*, budget: PrivacyBudget) -> BudgetView:
    return BudgetView(budget=budget, charges=budget.charges.count())


def budgets_most_spent(*, limit: int = 10) -> list[BudgetView]:
    """The budgets with the largest share of their rho limit spent: one query, whatever their number."""
    share = Cast("rho_spent_nano", FloatField()) / NullIf(Cast("rho_limit_nano", FloatField()), 0.0)
    budgets = (
        PrivacyBudget.objects.select_related("participant")
        .annotate(share=share, n=Count("charges"))
        .order_by(F("share").desc(nulls_first=True), "participant__name")[:limit]
    )
    return [BudgetView(budget=b, charges=b.n) for b in budgets]


def budget_charges(*, budget: PrivacyBudget) -> QuerySet[PrivacyCharge]:
    return budget.charges.order_by("charged_at", "pk")


def deployments_eligible_for_work() -> QuerySet[AdapterDeployment]:
    """Deployments that may lease tasks: active, of an approved release. Suspending or revoking a release
    removes its deployments from this set at once (the lease service reads it in its transaction)."""
    return AdapterDeployment.objects.filter(
        status=DeploymentStatus.ACTIVE, release__state=ReleaseState.APPROVED, participant__active=True
    ).select_related("participant", "release")


def plan_latest_delta(*, problem_class: str) -> PlanDelta | None:
    """The delta that made the class's current plan version (None: still the reference, version 0)."""
    return PlanDelta.objects.filter(problem_class=problem_class).select_related("child").order_by("-sequence").first()


def plan_deltas_since(*, problem_class: str, since: int) -> QuerySet[PlanDelta]:
    return (
        PlanDelta.objects.filter(problem_class=problem_class, sequence__gt=since)
        .select_related("parent", "child")
        .order_by("sequence")
    )


MIN_HASH_PREFIX = 8


def plan_by_ref(*, ref: str) -> Plan | None:
    """A plan by numeric id, by its 64-hex content hash, or by a prefix of it (at least 8 hex digits, as
    the demo and the admin print 12) that names exactly one plan."""
    return _by_ref(Plan, ref)


def portfolio_by_ref(*, ref: str) -> Portfolio | None:
    """A portfolio by numeric id, 64-hex content hash, or a unique prefix of at least 8 hex digits."""
    return _by_ref(Portfolio, ref)


def _by_ref(model, ref: str):
    ref = ref.strip().lower()
    # An id: ASCII digits only (str.isdigit also accepts "²", which int() refuses), at most 18 of them (beyond
    # that it cannot be a 64-bit one).
    if ref.isascii() and ref.isdigit() and len(ref) <= 18:
        found = model.objects.filter(pk=int(ref)).first()
        if found is not None or len(ref) < MIN_HASH_PREFIX:
            return found
    if len(ref) < MIN_HASH_PREFIX or len(ref) > 64 or any(c not in "0123456789abcdef" for c in ref):
        return None
    matches = list(model.objects.filter(content_hash__startswith=ref)[:2])
    return matches[0] if len(matches) == 1 else None


def portfolio_latest_delta(*, problem_class: str) -> PortfolioDelta | None:
    """The delta that made the class's current portfolio version (None: still empty, version 0)."""
    return (
        PortfolioDelta.objects.filter(problem_class=problem_class).select_related("child").order_by("-sequence").first()
    )


def portfolio_current(*, problem_class: str) -> tuple[int, PortfolioFile]:
    """The class's current portfolio version and file; version 0 is the empty portfolio (the reference alone).
    A read: it creates no row (a round stores the portfolio it starts from)."""
    latest = portfolio_latest_delta(problem_class=problem_class)
    if latest is not None:
        return latest.sequence, PortfolioFile.from_json(latest.child.body)
    return 0, PortfolioFile(problem_toolchain(problem_class), ())


def portfolio_deltas_since(*, problem_class: str, since: int) -> QuerySet[PortfolioDelta]:
    return (
        PortfolioDelta.objects.filter(problem_class=problem_class, sequence__gt=since)
        .select_related("parent", "child")
        .order_by("sequence")
    )


def portfolio_candidates_tried(*, problem_class: str, base: Portfolio) -> set[str]:
    """Content hashes of plans already sent to participants as candidates for this portfolio."""
    return set(
        EvaluationTask.objects.filter(round__problem_class=problem_class, base=base)
        .values_list("plan__content_hash", flat=True)
        .distinct()
    )


def problems_for_class(*, problem_class: str) -> list[LocalProblem]:
    """Problems of a class whose deployment may work now, one per participant (its first registered), of
    releases implementing the contract version this server signs statements for (`ADAPTER_CONTRACT_RANGE`):
    an older adapter's signals would be refused, so it is never asked (nor charged)."""
    problems = (
        LocalProblem.objects.filter(
            problem_class=problem_class,
            deployment__in=deployments_eligible_for_work(),
            deployment__release__in=releases_discover(contract=ADAPTER_CONTRACT_RANGE).order_by().values("pk"),
            participant__active=True,
        )
        .select_related("participant", "deployment")
        .order_by("participant__name", "registered_at", "pk")
    )
    first: dict[int, LocalProblem] = {}
    for problem in problems:
        first.setdefault(problem.participant_id, problem)
    return list(first.values())


def round_signals(*, search_round: SearchRound, phase: str) -> list[PerformanceSignal]:
    return list(
        PerformanceSignal.objects.filter(task__round=search_round, task__phase=phase)
        .select_related("task__plan", "task__local_problem__participant")
        .order_by("ledger_index")
    )


def round_open_tasks(*, search_round: SearchRound, phase: str) -> int:
    return EvaluationTask.objects.filter(
        round=search_round, phase=phase, state__in=[TaskState.QUEUED, TaskState.LEASED]
    ).count()


def budget_remaining_nano(*, participant) -> int:
    budget = PrivacyBudget.objects.filter(participant=participant).first()
    return 0 if budget is None else budget.rho_limit_nano - budget.rho_spent_nano


def plans_tried(*, problem_class: str, incumbent: Plan) -> set[str]:
    """Content hashes of plans already sent to participants in earlier rounds from this incumbent."""
    return set(
        EvaluationTask.objects.filter(round__problem_class=problem_class, round__incumbent=incumbent)
        .values_list("plan__content_hash", flat=True)
        .distinct()
    )


def deployment_signing_keys(*, deployment: AdapterDeployment) -> set[bytes]:
    """Every Ed25519 key the deployment has signed with, from its ledgered enrolment and rotations (the ledger
    is append-only, so a key once held stays listed)."""
    entries = LedgerEntry.objects.filter(
        subject=f"deployment:{deployment.pk}", kind__in=("deployment.enrolled", "deployment.key_rotated")
    ).values_list("payload", flat=True)
    return {bytes.fromhex(payload["public_key"]) for payload in entries if payload.get("public_key")}


# --- witnesses: participants' cosignatures of checkpoints, and the finality of promotions ----------------------


@dataclass(frozen=True)
class Witnessing:
    """Who vouched for a checkpoint: `witnesses` distinct participants (`names`, their slugs) of the
    `participants` who could (those with an active deployment): "witnessed by k of n"."""

    witnesses: int
    participants: int
    names: tuple[str, ...]


def witness_participants_total() -> int:
    """n: active participants with an active deployment, the ones whose adapters cosign what they verify."""
    return Participant.objects.filter(active=True, deployments__status=DeploymentStatus.ACTIVE).distinct().count()


def checkpoint_witnesses(*, checkpoint: Checkpoint) -> Witnessing:
    return checkpoints_witnesses(checkpoints=[checkpoint])[checkpoint.pk]


def checkpoints_witnesses(*, checkpoints: Iterable[Checkpoint]) -> dict[int, Witnessing]:
    """`Witnessing` per checkpoint id, for a list of checkpoints in two queries, whatever their number."""
    ids = [checkpoint.pk for checkpoint in checkpoints]
    total = witness_participants_total()
    names: dict[int, set[str]] = defaultdict(set)
    pairs = (
        CheckpointCosignature.objects.filter(checkpoint_id__in=ids)
        .values_list("checkpoint_id", "deployment__participant__name")
        .distinct()
    )
    for checkpoint_id, name in pairs:
        names[checkpoint_id].add(name)
    return {pk: Witnessing(len(names[pk]), total, tuple(sorted(names[pk]))) for pk in ids}


def deployment_cosigned_size(*, deployment: AdapterDeployment) -> int | None:
    """The largest checkpoint size the deployment cosigned, or None: where its adapter's witnessing stands."""
    return (
        CheckpointCosignature.objects.filter(deployment=deployment)
        .order_by("-checkpoint__size")
        .values_list("checkpoint__size", flat=True)
        .first()
    )


def checkpoint_cosignatures(*, checkpoint: Checkpoint) -> QuerySet[CheckpointCosignature]:
    """A checkpoint's cosignatures in the order they arrived (served appended to its note, in that order)."""
    return CheckpointCosignature.objects.filter(checkpoint=checkpoint).order_by("id")


def deployment_witness_name(*, deployment: AdapterDeployment) -> str:
    """The key name the deployment cosigns under (adapters.ledger.cosignature.witness_name), for this log."""
    try:
        return witness_name(settings.OPM_LOG_ORIGIN, deployment.participant.name, deployment.pk)
    except CosignatureError as exc:
        raise OpmError(ErrorCode.VALIDATION_FAILED, f"deployment {deployment.pk} cannot witness: {exc}") from None


@dataclass(frozen=True)
class WitnessKey:
    """One witness verifier key: a deployment's name and one Ed25519 key it holds or cosigned with."""

    participant: str
    deployment: int
    verifier: WitnessVerifier
    current: bool
    active: bool


def witness_keys() -> list[WitnessKey]:
    """Every witness key a stored cosignature was made with or a deployment holds now, one per (deployment,
    key), so that anyone can check every served cosignature offline, those made before a key rotation too.
    Two queries."""
    used: dict[int, set[bytes]] = defaultdict(set)
    for deployment_id, public_key in CheckpointCosignature.objects.values_list(
        "deployment_id", "public_key"
    ).distinct():
        used[deployment_id].add(bytes(public_key))
    keys = []
    for deployment in AdapterDeployment.objects.select_related("participant").order_by("participant__name", "pk"):
        try:
            name = witness_name(settings.OPM_LOG_ORIGIN, deployment.participant.name, deployment.pk)
        except CosignatureError:
            continue  # a participant slug that cannot be a key name: it cannot cosign either
        current = bytes(deployment.public_key)
        active = deployment.status == DeploymentStatus.ACTIVE and deployment.participant.active
        for public_key in sorted(used[deployment.pk] | {current}):
            verifier = WitnessVerifier.from_public_key(name, public_key)
            keys.append(WitnessKey(deployment.participant.name, deployment.pk, verifier, public_key == current, active))
    return keys


def witness_requirement() -> int:
    """k: distinct participants whose cosignatures make a promotion final (the orchestration policy's
    `min_witnesses`; 0, the default, means every promotion is final at once)."""
    policy = policy_active(kind="orchestration")
    document = {**ORCHESTRATION_DEFAULTS, **(policy.document if policy else {})}
    return int(document["min_witnesses"])


def _witnessed_sizes(*, above: int = -1) -> list[tuple[int, int]]:
    """(size, distinct participants) of the log's cosigned checkpoints larger than `above`, smallest first."""
    rows = (
        CheckpointCosignature.objects.filter(checkpoint__origin=settings.OPM_LOG_ORIGIN, checkpoint__size__gt=above)
        .values("checkpoint__size")
        .annotate(witnesses=Count("deployment__participant", distinct=True))
        .order_by("checkpoint__size")
    )
    return [(row["checkpoint__size"], row["witnesses"]) for row in rows]


def witnessed_size(*, required: int) -> int:
    """The size of the largest checkpoint cosigned by at least `required` distinct participants (0: none):
    every ledger entry below it is final."""
    sizes = [size for size, witnesses in _witnessed_sizes() if witnesses >= required]
    return max(sizes, default=0)


@dataclass(frozen=True)
class Finality:
    """Whether a promotion counts as final: a checkpoint covering its ledger entry was cosigned by at least
    `required` distinct participants. `witnesses` is the most distinct participants on one covering checkpoint;
    `checkpoint` the size of the first covering checkpoint that has enough of them (None while not final, or
    when nothing is required)."""

    final: bool
    required: int
    witnesses: int
    checkpoint: int | None


def promotion_finality(*, promotion: PlanDelta | PortfolioDelta, required: int | None = None) -> Finality:
    return promotions_finality(promotions=[promotion], required=required)[0]


def promotions_finality(
    *, promotions: Sequence[PlanDelta | PortfolioDelta], required: int | None = None
) -> list[Finality]:
    """`Finality` of each promotion (plan or portfolio deltas, mixed or not), in order: at most two queries
    (the policy, unless `required` is given, and the cosigned checkpoints' counts), whatever the numbers."""
    if required is None:
        required = witness_requirement()
    indexes = [p.ledger_index for p in promotions if p.ledger_index is not None]
    sizes = _witnessed_sizes(above=min(indexes)) if indexes else []
    keys = [size for size, _ in sizes]
    # From the right: the most witnesses on any checkpoint from position j on, and the first position >= j that
    # has enough of them.
    most = [0] * (len(sizes) + 1)
    enough: list[int | None] = [None] * (len(sizes) + 1)
    for j in range(len(sizes) - 1, -1, -1):
        most[j] = max(most[j + 1], sizes[j][1])
        enough[j] = j if sizes[j][1] >= required else enough[j + 1]
    result = []
    for promotion in promotions:
        if promotion.ledger_index is None:  # no known entry: final only when nothing is required
            result.append(Finality(required == 0, required, 0, None))
            continue
        j = bisect.bisect_right(keys, promotion.ledger_index)  # the first checkpoint with size > index
        first = enough[j]
        checkpoint = sizes[first][0] if first is not None and required > 0 else None
        result.append(Finality(required == 0 or first is not None, required, most[j], checkpoint))
    return result


@dataclass(frozen=True)
class ServedDeltas:
    """What delta-sync serves participants: the deltas after `since` up to `version`, the latest final one
    (or `since` itself, when the caller already holds a later one), and how many promotions past it are
    `pending` (promoted, not yet final)."""

    version: int
    pending: int
    deltas: list


def _deltas_served(model, since_of, *, problem_class: str, since: int) -> ServedDeltas:
    promoted = model.objects.filter(problem_class=problem_class)
    latest = promoted.aggregate(latest=Max("sequence"))["latest"] or 0
    required = witness_requirement()
    if required == 0:
        final = latest
    else:
        frontier = witnessed_size(required=required)
        final = promoted.filter(ledger_index__lt=frontier).aggregate(final=Max("sequence"))["final"] or 0
    version = max(min(since, latest), final)
    deltas = list(since_of(problem_class=problem_class, since=since).filter(sequence__lte=version))
    return ServedDeltas(version=version, pending=latest - version, deltas=deltas)


def plan_deltas_served(*, problem_class: str, since: int) -> ServedDeltas:
    """The plan deltas participants may sync after `since`: only final promotions (see `promotions_finality`)."""
    return _deltas_served(PlanDelta, plan_deltas_since, problem_class=problem_class, since=since)


def portfolio_deltas_served(*, problem_class: str, since: int) -> ServedDeltas:
    """The portfolio deltas participants may sync after `since`: only final promotions."""
    return _deltas_served(PortfolioDelta, portfolio_deltas_since, problem_class=problem_class, since=since)


# --- rounds and signals as the admin shows them -----------------------------------------------------------


def rounds_recent(*, limit: int = 10) -> QuerySet[SearchRound]:
    """The latest rounds, newest first: one query (their outcome is on the row)."""
    return SearchRound.objects.order_by("-created_at", "-pk")[:limit]


def round_outcome(search_round: SearchRound) -> str:
    """One sentence on how the round ended (or where it stands), from the round's own record."""
    result = search_round.result if isinstance(search_round.result, dict) else {}
    reason = search_round.stop_reason or "no reason recorded"
    version = result.get("promoted_version")
    winner = result.get("winner")
    if search_round.state == "finished" and version:
        plan = f"plan {winner[:12]}" if isinstance(winner, str) else "a plan"
        where = f"portfolio version {version}" if search_round.kind == "portfolio" else f"plan version {version}"
        return f"Promoted {plan} ({where}): {reason}."
    if search_round.state == "finished":
        return f"Finished without a promotion: {reason}."
    if search_round.state in ("stopped", "failed"):
        return f"{search_round.get_state_display()}: {reason}."
    return f"{search_round.get_state_display()}."


@dataclass(frozen=True)
class RoundCandidate:
    """A plan the round considered: its public score, its selection estimate and what became of it."""

    plan_hash: str
    plan_id: int | None
    role: str
    public_gain: float | None
    estimate: dict[str, Any] | None
    outcome: str


@dataclass(frozen=True)
class RoundSignal:
    signal: PerformanceSignal
    entry_id: int | None


@dataclass(frozen=True)
class RoundSummary:
    """A round as the board reads it: the outcome, the candidates, the decision and the ledger entries."""

    search_round: SearchRound
    outcome: str
    candidates: list[RoundCandidate]
    decision: dict[str, Any] | None
    confirmation: dict[str, Any] | None
    promoted: PlanDelta | PortfolioDelta | None
    entries: list[tuple[int, int, str]] = field(default_factory=list)
    """(ledger index, entry id, kind) of the round's own entries and its promotion."""
    signals: list[RoundSignal] = field(default_factory=list)
    rule: dict[str, Any] = field(default_factory=dict)
    """The promotion rule the round ran under (`min_margin`, `confidence`), from its `round.started` entry."""


def _public_gains(entries: list[LedgerEntry]) -> dict[str, float]:
    """Each plan's free public score as a gain: 1 - size ratio (plan rounds), or the marginal gain (portfolio)."""
    gains: dict[str, float] = {}
    for entry in entries:
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        if entry.kind == "round.shortlisted":
            for item in payload.get("evaluations") or []:
                if isinstance(item, list) and len(item) == 2 and isinstance(item[1], int | float):
                    gains[str(item[0])] = max(gains.get(str(item[0]), float("-inf")), 1.0 - item[1])
        elif entry.kind == "round.pooled" and isinstance(payload.get("gains"), dict):
            gains.update({k: v for k, v in payload["gains"].items() if isinstance(v, int | float)})
    return gains


def _promotion_rule(entries: list[LedgerEntry]) -> dict[str, Any]:
    for entry in entries:
        if entry.kind == "round.started" and isinstance(entry.payload, dict):
            document = ((entry.payload.get("policy") or {}).get("orchestration") or {}).get("document") or {}
            return {k: document[k] for k in ("min_margin", "confidence") if isinstance(document.get(k), int | float)}
    return {}


def _candidate_outcome(
    plan_hash: str, result: dict[str, Any], estimate: object, asked: set[tuple[str, str]], promoted: bool
) -> str:
    decision = result.get("decision") if isinstance(result.get("decision"), dict) else None
    if plan_hash == result.get("winner"):
        if promoted:
            return f"winner, confirmed on fresh signals and promoted as version {result.get('promoted_version')}"
        if decision:
            return f"winner, not promoted: {decision.get('reason', '')}"
        return "winner when the round stopped"
    if estimate is not None:
        return "a lower estimate than the winner"
    if (plan_hash, "selection") in asked:
        return "asked, but no signal arrived"
    if result.get("winner") and not result.get("estimates"):
        return "not asked: the public ranking's best went straight to confirmation"
    return "not asked (the budget covered fewer plans, or the round stopped first)"


def round_summary(*, search_round: SearchRound) -> RoundSummary:
    """Everything the round's page shows, in a fixed number of queries."""
    result = search_round.result if isinstance(search_round.result, dict) else {}
    promoted = (
        search_round.portfolio_deltas.select_related("child").first()
        or search_round.deltas.select_related("child").first()
    )
    promotion_subject = None
    if promoted is not None:
        what = "portfolio" if isinstance(promoted, PortfolioDelta) else "plan"
        promotion_subject = Q(kind=f"{what}.promoted", subject=f"{what}:{promoted.child.content_hash}")
    signals = list(
        PerformanceSignal.objects.filter(task__round=search_round)
        .select_related("task__plan", "task__local_problem__participant")
        .order_by("ledger_index", "pk")
    )
    own = Q(subject=f"round:{search_round.pk}") | Q(index__in=[s.ledger_index for s in signals if s.ledger_index])
    if promotion_subject is not None:
        own |= promotion_subject
    entries = list(LedgerEntry.objects.filter(own).only("pk", "index", "kind", "subject", "payload").order_by("index"))
    entry_ids = {entry.index: entry.pk for entry in entries}
    round_entries = [
        (e.index, e.pk, e.kind)
        for e in entries
        if e.subject == f"round:{search_round.pk}" or e.kind.endswith("promoted")
    ]

    estimates = result.get("estimates") if isinstance(result.get("estimates"), dict) else {}
    shortlist = [h for h in result.get("shortlist") or [] if isinstance(h, str)]
    hashes = list(dict.fromkeys([*shortlist, *estimates]))
    plan_ids = dict(Plan.objects.filter(content_hash__in=hashes).values_list("content_hash", "pk"))
    asked = set(EvaluationTask.objects.filter(round=search_round).values_list("plan__content_hash", "phase").distinct())
    public = _public_gains(entries)
    incumbent = search_round.incumbent.content_hash if search_round.incumbent_id else None
    candidates = [
        RoundCandidate(
            plan_hash=h,
            plan_id=plan_ids.get(h),
            role="incumbent" if h == incumbent else "shortlisted" if h in shortlist else "compared",
            public_gain=public.get(h),
            estimate=estimates.get(h) if isinstance(estimates.get(h), dict) else None,
            outcome=(
                "the incumbent, measured beside the candidates"
                if h == incumbent
                else _candidate_outcome(h, result, estimates.get(h), asked, promoted is not None)
            ),
        )
        for h in hashes
    ]
    evidence = promoted.evidence if promoted is not None and isinstance(promoted.evidence, dict) else {}
    return RoundSummary(
        search_round=search_round,
        outcome=round_outcome(search_round),
        candidates=candidates,
        decision=result.get("decision") if isinstance(result.get("decision"), dict) else None,
        confirmation=evidence.get("estimate") if isinstance(evidence.get("estimate"), dict) else None,
        promoted=promoted,
        entries=round_entries,
        signals=[RoundSignal(signal=s, entry_id=entry_ids.get(s.ledger_index)) for s in signals],
        rule=_promotion_rule(entries),
    )


@dataclass(frozen=True)
class SignalReading:
    """A released signal as people read it: which statistic, in which unit, with how much noise."""

    statistic: str
    unit: str
    value: float
    noise_std: float | None
    statement: dict[str, Any]


UNITS = {
    privacy.CLIPPED_GAIN: "mean clipped gain over the reference (size saved per program, clipped at ±c)",
    privacy.MARGINAL_LOG_GAIN: "marginal log gain over the portfolio (log size saved per program, clipped at c)",
}


def signal_reading(*, signal: PerformanceSignal) -> SignalReading:
    """The signed statement's statistic (or, for a statement without one, the task's) and the noise std."""
    try:
        statement = json.loads(bytes(signal.body))
    except (ValueError, TypeError):
        statement = {}
    statement = statement if isinstance(statement, dict) else {}
    statistic = statement.get("statistic") or privacy.statistic_for(signal.task.base_id)
    parameters = signal.parameters if isinstance(signal.parameters, dict) else {}
    std = parameters.get("std")
    if not isinstance(std, int | float):
        m, c = parameters.get("noise_multiplier"), parameters.get("clip_bound")
        width = privacy.RANGE_WIDTH.get(statistic, 2)
        valid = isinstance(m, int | float) and isinstance(c, int | float) and signal.corpus_size
        std = m * width * c / signal.corpus_size if valid else None
    return SignalReading(
        statistic=str(statistic),
        unit=UNITS.get(statistic, str(statistic)),
        value=signal.value,
        noise_std=std,
        statement=statement,
    )


# --- a budget's spending over time -----------------------------------------------------------------------------

SPEND_SERIES_POINTS = 200
"""At most this many points in a spending series: a participant with 10,000 charges gets a readable chart."""


@dataclass(frozen=True)
class SpendPoint:
    at: datetime
    spent_nano: int
    charge: int
    """The charge's position (1-based) among the participant's charges."""


def budget_spend_series(*, budget: PrivacyBudget, total: int, points: int = SPEND_SERIES_POINTS) -> list[SpendPoint]:
    """The running total after each charge, downsampled in the database to at most `points` (+2) charges:
    every k-th, the first and the last. Spent only grows, so the sampled step chart is exact at each point."""
    if total <= 0:
        return []
    stride = max(1, math.ceil(total / points))
    numbered = PrivacyCharge.objects.filter(budget=budget).annotate(
        number=Window(RowNumber(), order_by=[F("charged_at").asc(), F("pk").asc()])
    )
    if stride > 1:
        numbered = numbered.annotate(bucket=F("number") % stride).filter(Q(bucket=0) | Q(number=1) | Q(number=total))
    rows = numbered.order_by("charged_at", "pk").values_list("charged_at", "spent_after_nano", "number")
    return [SpendPoint(at, spent, number) for at, spent, number in rows]
