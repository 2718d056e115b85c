"""Page-shaped public reads for the markets, rounds, privacy and governance sections.

Each function answers one page in a fixed number of queries, whatever the number of ledger entries, rounds,
participants, charges or proposals: lists are keyset- or offset-paginated in the database, time series are
downsampled there, and related rows come with `select_related` or one `IN` query. Only public fields leave
here (participants by name and display name, board members by username; never an email or a key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT

from adapters.plan import Plan as PlanFile
from governance.models import LedgerEntry, Policy, PolicyStatus, Proposal, Vote
from orchestration.models import (
    LocalProblem,
    Participant,
    PerformanceSignal,
    Plan,
    PlanDelta,
    PortfolioDelta,
    PortfolioMember,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
)
from orchestration.selectors import BudgetView, Finality, promotions_finality

PAGE_SIZE = 25
CHARGES_PAGE_SIZE = 50
VERSIONS_SHOWN = 200
"""A market page shows its latest versions (the chart and table), never an unbounded history."""
PROMOTION_KINDS = ("plan.promoted", "portfolio.promoted")


def _summary(body: dict[str, Any]) -> str:
    """A plan in one line: its passes (with their parameters) and the tool settings (knobs) it changes, e.g.
    `default(level=Oz) (1 pass); llc: enable-ipra, disable-lsr; opt: disable-lftr` — plans that share their
    passes and differ only in knobs must read differently."""

    def step(item: Any) -> str:
        if not isinstance(item, dict):
            return "?"
        params = item.get("params") or {}
        inner = ", ".join(f"{key}={value}" for key, value in params.items()) if isinstance(params, dict) else ""
        return f"{item.get('name', '?')}({inner})" if inner else str(item.get("name", "?"))

    def knob(name: str, value: Any) -> str:
        return name if value is True else f"{name}={str(value).lower() if isinstance(value, bool) else value}"

    passes = [step(item) for item in body.get("passes", [])]
    shown = ", ".join(passes[:6]) + (", …" if len(passes) > 6 else "")
    text = f"{shown or '(no passes)'} ({len(passes)} pass{'es' if len(passes) != 1 else ''})"
    knobs = body.get("knobs") or {}
    if isinstance(knobs, dict):
        for tool, settings in sorted(knobs.items()):
            if isinstance(settings, dict) and settings:
                text += f"; {tool}: " + ", ".join(knob(name, value) for name, value in sorted(settings.items()))
    return text


def _plan_hash(body: dict[str, Any]) -> str | None:
    try:
        return PlanFile.from_json(body).content_hash()
    except Exception:  # a body the plan format refuses has no hash to link: shown without one
        return None


# --- markets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRow:
    problem_class: str
    plan: PlanDelta | None
    portfolio: PortfolioDelta | None
    rounds: int
    participants: int


def problem_classes() -> list[str]:
    """Every problem class the market knows: from promotions, rounds and registered local problems (one query)."""
    union = (
        PlanDelta.objects.order_by()
        .values_list("problem_class", flat=True)
        .union(
            PortfolioDelta.objects.order_by().values_list("problem_class", flat=True),
            SearchRound.objects.order_by().values_list("problem_class", flat=True),
            LocalProblem.objects.order_by().values_list("problem_class", flat=True),
        )
        .order_by()
    )
    return sorted(set(union))


def _latest(model, classes: Iterable[str] | None = None) -> dict[str, Any]:
    """The latest delta of each class (one query): the class's current version."""
    newest = model.objects.filter(problem_class=OuterRef("problem_class")).order_by("-sequence").values("pk")[:1]
    rows = model.objects.filter(pk=Subquery(newest)).select_related("child")
    if classes is not None:
        rows = rows.filter(problem_class__in=list(classes))
    return {row.problem_class: row for row in rows}


def markets() -> list[MarketRow]:
    classes = problem_classes()
    plans, portfolios = _latest(PlanDelta), _latest(PortfolioDelta)
    rounds = dict(SearchRound.objects.values_list("problem_class").annotate(n=Count("pk")).order_by())
    participants = dict(
        LocalProblem.objects.values_list("problem_class").annotate(n=Count("participant", distinct=True)).order_by()
    )
    return [MarketRow(c, plans.get(c), portfolios.get(c), rounds.get(c, 0), participants.get(c, 0)) for c in classes]


@dataclass(frozen=True)
class Member:
    """A current portfolio member with the estimate of the promotion that added it."""

    position: int
    plan: Plan
    summary: str
    added_by: PortfolioDelta | None

    @property
    def estimate(self) -> dict[str, Any] | None:
        return (self.added_by.evidence or {}).get("estimate") if self.added_by else None


@dataclass(frozen=True)
class Market:
    problem_class: str
    plan_deltas: list[PlanDelta]
    portfolio_deltas: list[PortfolioDelta]
    members: list[Member]
    rounds: int
    participants: int
    plan_finality: Finality | None = None
    portfolio_finality: Finality | None = None

    @property
    def plan(self) -> PlanDelta | None:
        return self.plan_deltas[-1] if self.plan_deltas else None

    @property
    def portfolio(self) -> PortfolioDelta | None:
        return self.portfolio_deltas[-1] if self.portfolio_deltas else None


def market(*, problem_class: str) -> Market | None:
    """One class's current plan and portfolio, each member's estimate and the promotions' history (at most
    `VERSIONS_SHOWN` latest of each); None for a class the market does not know."""
    plan_deltas = list(
        PlanDelta.objects.filter(problem_class=problem_class)
        .select_related("child")
        .order_by("-sequence")[:VERSIONS_SHOWN]
    )[::-1]
    portfolio_deltas = list(
        PortfolioDelta.objects.filter(problem_class=problem_class)
        .select_related("child")
        .order_by("-sequence")[:VERSIONS_SHOWN]
    )[::-1]
    rounds = SearchRound.objects.filter(problem_class=problem_class).count()
    participants = LocalProblem.objects.filter(problem_class=problem_class).values("participant").distinct().count()
    if not (plan_deltas or portfolio_deltas or rounds or participants):
        return None
    members: list[Member] = []
    if portfolio_deltas:
        current = portfolio_deltas[-1]
        # The delta that added each member: the latest `add` of its plan among the deltas shown.
        added: dict[str, PortfolioDelta] = {}
        for delta in portfolio_deltas:
            for op in delta.ops:
                if op.get("op") == "add" and (digest := _plan_hash(op.get("plan") or {})):
                    added[digest] = delta
        rows = PortfolioMember.objects.filter(portfolio=current.child_id).select_related("plan").order_by("position")
        members = [
            Member(row.position, row.plan, _summary(row.plan.body), added.get(row.plan.content_hash)) for row in rows
        ]
    latest: list[PlanDelta | PortfolioDelta] = [*plan_deltas[-1:], *portfolio_deltas[-1:]]
    finality = promotions_finality(promotions=latest) if latest else []
    plan_finality = finality[0] if plan_deltas else None
    portfolio_finality = finality[-1] if portfolio_deltas else None
    return Market(
        problem_class, plan_deltas, portfolio_deltas, members, rounds, participants, plan_finality, portfolio_finality
    )


def plan_summary(plan: Plan) -> str:
    return _summary(plan.body)


# --- rounds -------------------------------------------------------------------------------------------


def rounds_page(*, problem_class: str | None = None, before: int | None = None, size: int = PAGE_SIZE):
    """Rounds newest first, `size` at a time below id `before` (keyset: no count, no offset); returns (rounds,
    the `before` of the next page or None). The result JSON stays in the database: only its outcome is read."""
    rounds = SearchRound.objects.defer("result").annotate(promoted_version=KT("result__promoted_version"))
    if problem_class:
        rounds = rounds.filter(problem_class=problem_class)
    if before is not None:
        rounds = rounds.filter(pk__lt=before)
    page = list(rounds.order_by("-pk")[: size + 1])
    return page[:size], (page[size - 1].pk if len(page) > size else None)


@dataclass(frozen=True)
class SignalRow:
    phase: str
    plan: str
    participant: str
    participant_display: str
    value: float
    corpus_size: int
    noise_std: float | None
    ledger_index: int | None
    charge_index: int | None


@dataclass
class RoundDetail:
    round: SearchRound
    entries: list[LedgerEntry]
    signals: list[SignalRow]
    plans: dict[str, Plan]
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> dict[str, Any]:
        return self.round.result or {}

    def entry(self, kind: str, phase: str | None = None) -> list[LedgerEntry]:
        return [e for e in self.entries if e.kind == kind and (phase is None or e.payload.get("phase") == phase)]


def round_detail(*, pk: int) -> RoundDetail | None:
    """A round with its ledger entries (its own steps and its promotion), its signals with their entries and
    the charges that paid for them, and the plans it names (four queries)."""
    search_round = SearchRound.objects.select_related("incumbent", "base").filter(pk=pk).first()
    if search_round is None:
        return None
    entries = list(
        LedgerEntry.objects.filter(Q(subject=f"round:{pk}") | Q(kind__in=PROMOTION_KINDS, payload__round=pk))
        .defer("leaf")
        .order_by("index")
    )
    signals = [
        SignalRow(
            phase=row["task__phase"],
            plan=row["task__plan__content_hash"],
            participant=row["task__local_problem__participant__name"],
            participant_display=row["task__local_problem__participant__display_name"],
            value=row["value"],
            corpus_size=row["corpus_size"],
            noise_std=(row["parameters"] or {}).get("std") if isinstance(row["parameters"], dict) else None,
            ledger_index=row["ledger_index"],
            charge_index=row["task__charge__ledger_index"],
        )
        for row in PerformanceSignal.objects.filter(task__round=search_round)
        .order_by("ledger_index", "pk")
        .values(
            "task__phase",
            "task__plan__content_hash",
            "task__local_problem__participant__name",
            "task__local_problem__participant__display_name",
            "value",
            "corpus_size",
            "parameters",
            "ledger_index",
            "task__charge__ledger_index",
        )
    ]
    result = search_round.result or {}
    hashes = set(result.get("shortlist", [])) | set(result.get("estimates", {})) | {s.plan for s in signals}
    if result.get("winner"):
        hashes.add(result["winner"])
    plans = {plan.content_hash: plan for plan in Plan.objects.filter(content_hash__in=sorted(hashes))}
    started = next((e for e in entries if e.kind == "round.started"), None)
    policy = (started.payload.get("policy") or {}) if started else {}
    return RoundDetail(search_round, entries, signals, plans, policy)


# --- privacy ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivacyRow:
    """A participant's budget as the public reads it: epsilon spent of its limit at the policy's delta."""

    participant: Participant
    budget: PrivacyBudget | None
    charges: int

    @property
    def view(self) -> BudgetView | None:
        """The budget as the board's pages and `manage.py demo` read it: one conversion for every page."""
        return BudgetView(budget=self.budget, charges=self.charges) if self.budget is not None else None

    @property
    def spent_epsilon(self) -> float | None:
        return self.view.spent_epsilon if self.budget is not None else None

    @property
    def spent_fraction(self) -> float | None:
        """Spent over limit in rho, the quantity that adds up (the share of releases the budget had)."""
        if self.budget is None or self.budget.rho_limit_nano <= 0:
            return None
        return self.view.share_spent


def _privacy_rows() -> QuerySet[Participant]:
    return (
        Participant.objects.select_related("budget__policy")
        .annotate(n_charges=Count("budget__charges"))
        .only(
            "name",
            "display_name",
            "active",
            "budget__epsilon",
            "budget__delta",
            "budget__rho_limit_nano",
            "budget__rho_spent_nano",
            "budget__own_epsilon",
            "budget__participant",
            "budget__policy__version",
            "budget__policy__kind",
        )
    )


def privacy_page(*, page: int = 1, size: int = PAGE_SIZE) -> tuple[Page, list[PrivacyRow]]:
    """Participants by name with their budgets, a page at a time (a count and a slice)."""
    paginator = Paginator(_privacy_rows().order_by("name"), size)
    current = paginator.get_page(page)
    rows = [PrivacyRow(p, getattr(p, "budget", None), p.n_charges) for p in current.object_list]
    return current, rows


def privacy_participant(*, name: str) -> PrivacyRow | None:
    participant = _privacy_rows().filter(name=name).first()
    if participant is None:
        return None
    return PrivacyRow(participant, getattr(participant, "budget", None), participant.n_charges)


def privacy_charges(
    *, budget: PrivacyBudget, before: int | None = None, size: int = CHARGES_PAGE_SIZE
) -> tuple[list[PrivacyCharge], int | None]:
    """The latest charges first, `size` at a time below id `before` (keyset), with their task's round."""
    charges = PrivacyCharge.objects.filter(budget=budget).select_related("task").only(
        "rho_nano", "spent_after_nano", "ledger_index", "charged_at", "task__round_id", "task__phase",
        "task__noise_multiplier",
    )  # fmt: skip
    if before is not None:
        charges = charges.filter(pk__lt=before)
    page = list(charges.order_by("-pk")[: size + 1])
    return page[:size], (page[size - 1].pk if len(page) > size else None)


def budget_limit_entry(*, participant: Participant) -> LedgerEntry | None:
    """The ledger entry that set the participant's current limit."""
    return (
        LedgerEntry.objects.filter(subject=f"participant:{participant.name}", kind="budget.limit_set")
        .defer("leaf")
        .order_by("-index")
        .first()
    )


# --- governance ---------------------------------------------------------------------------------------


def proposals_page(*, before: int | None = None, size: int = PAGE_SIZE) -> tuple[list[Proposal], int | None]:
    """Proposals newest first with their target and tally, `size` at a time below id `before` (keyset)."""
    proposals = Proposal.objects.select_related("proposer", "release", "contract", "policy", "member").annotate(
        yes=Count("votes", filter=Q(votes__choice="yes"), distinct=True),
        no=Count("votes", filter=Q(votes__choice="no"), distinct=True),
        abstain=Count("votes", filter=Q(votes__choice="abstain"), distinct=True),
        electors=Count("electorate", distinct=True),
    )
    if before is not None:
        proposals = proposals.filter(pk__lt=before)
    page = list(proposals.order_by("-pk")[: size + 1])
    return page[:size], (page[size - 1].pk if len(page) > size else None)


@dataclass
class ProposalDetail:
    proposal: Proposal
    votes: list[Vote]
    electorate: list[Any]
    entries: list[LedgerEntry]

    @property
    def not_voted(self) -> list[Any]:
        voted = {vote.voter_id for vote in self.votes}
        return [member for member in self.electorate if member.pk not in voted]


def proposal_detail(*, pk: int) -> ProposalDetail | None:
    proposal = (
        Proposal.objects.select_related("proposer", "release", "contract", "policy", "member", "governance_policy")
        .filter(pk=pk)
        .first()
    )
    if proposal is None:
        return None
    votes = list(Vote.objects.filter(proposal=proposal).select_related("voter").order_by("cast_at", "pk"))
    electorate = list(
        get_user_model().objects.filter(pk__in=proposal.electorate.values("member_id")).only("username")
        .order_by("username")
    )  # fmt: skip
    entries = list(LedgerEntry.objects.filter(subject=f"proposal:{pk}").defer("leaf").order_by("index"))
    return ProposalDetail(proposal, votes, electorate, entries)


@dataclass(frozen=True)
class PolicyVersion:
    policy: Policy
    changes: list[tuple[str, object, object]]
    """(key, the previous version's value, this version's value) for each top-level key that differs."""
    activation: int | None
    """The index of its `policy.activated` ledger entry."""


def policy_history() -> dict[str, list[PolicyVersion]]:
    """Every kind's versions, newest first, each with its diff from the version before it (two queries)."""
    activations = {
        (kind, str(version)): index
        for index, kind, version in LedgerEntry.objects.filter(kind="policy.activated").values_list(
            "index", KT("payload__kind"), KT("payload__version")
        )
    }
    history: dict[str, list[PolicyVersion]] = {}
    previous: dict[str, dict] = {}
    for policy in Policy.objects.order_by("kind", "version"):
        old = previous.get(policy.kind, {})
        missing = "—"
        keys = sorted(set(old) | set(policy.document))
        changes = [
            (k, old.get(k, missing), policy.document.get(k, missing))
            for k in keys
            if old.get(k) != policy.document.get(k)
        ]
        history.setdefault(policy.kind, []).insert(
            0, PolicyVersion(policy, changes, activations.get((policy.kind, str(policy.version))))
        )
        previous[policy.kind] = policy.document
    return history


def policies_active() -> list[Policy]:
    return list(Policy.objects.filter(status=PolicyStatus.ACTIVE).order_by("kind"))
