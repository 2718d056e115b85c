"""Public pages for the markets, rounds, privacy and governance sections: thin views over
`transparency.selectors`, charts from `opm_site.charts`. Read-only, no login, no JavaScript."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from opm_site import charts
from orchestration.charts import budget_spend_chart
from orchestration.selectors import SPEND_SERIES_POINTS
from transparency import selectors
from transparency.csp import public_page

Z95 = NormalDist().inv_cdf(0.975)
"""Two-sided 95% interval of a Gaussian estimate: mean ± 1.96 std (the estimates' noise is Gaussian)."""


def _int_param(request: HttpRequest, name: str) -> int | None:
    """A positive integer query parameter, or None when absent or malformed (a bad link shows page one)."""
    raw = request.GET.get(name, "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def _interval(estimate: dict[str, Any] | None) -> tuple[float, float] | None:
    if not estimate or estimate.get("mean") is None or estimate.get("std") is None:
        return None
    return estimate["mean"] - Z95 * estimate["std"], estimate["mean"] + Z95 * estimate["std"]


def _member_rows(members) -> list[tuple[Any, tuple[float, float] | None, dict[str, float] | None]]:
    """Each member with its marginal estimate's interval and the portfolio's estimated log gain over the reference
    up to and including it: marginal log gains telescope (log size_ref - log size_S1 + log size_S1 - ...), so
    their sum estimates it, with independent noise adding in variance. Each marginal gain is clipped per module,
    so the sum never overstates the true gain. None once a member has no recorded estimate."""
    rows, total, variance = [], 0.0, 0.0
    for member in members:
        estimate = member.estimate
        if estimate is None or variance is None or estimate.get("mean") is None or estimate.get("std") is None:
            variance = None
            rows.append((member, _interval(estimate), None))
            continue
        total += estimate["mean"]
        variance += estimate["std"] ** 2
        rows.append((member, _interval(estimate), {"mean": total, "std": variance**0.5}))
    return rows


# --- markets ------------------------------------------------------------------------------------------


@public_page
@require_safe
def markets(request: HttpRequest) -> HttpResponse:
    return render(request, "transparency/markets/list.html", {"section": "markets", "rows": selectors.markets()})


def _versions_chart(deltas, *, what: str, statistic: str) -> charts.Chart:
    points = []
    for delta in deltas:
        estimate = (delta.evidence or {}).get("estimate") or {}
        if estimate.get("mean") is None:
            continue
        interval = _interval(estimate)
        points.append(
            charts.Point(delta.promoted_at, estimate["mean"], *(interval or (None, None)), label=f"v{delta.sequence}")
        )
    return charts.line_chart(
        title=f"Promoted {what} versions over time",
        description=(
            f"Each point is a promoted {what} version (labelled v1, v2, …) at its promotion time; its height is the "
            f"federated estimate of its {statistic} on fresh confirmation signals, with a 95% interval."
        ),
        series=[charts.Series(f"{what} versions", points, markers=True)],
        x_title="promotion time (UTC)",
        y_title=f"{statistic} (%)",
        y_format=charts.percent_format(1),
        table_format=lambda v: f"{v:+.3%}",
        empty=f"No {what} version promoted yet.",
    )


@public_page
@require_safe
def market(request: HttpRequest, problem_class: str) -> HttpResponse:
    found = selectors.market(problem_class=problem_class)
    if found is None:
        raise Http404(f"no market for {problem_class}")
    member_rows = _member_rows(found.members)
    members_chart = None
    if found.members:
        rows = [
            charts.IntervalRow(member.plan.content_hash[:12], member.estimate["mean"], *interval)
            for member, interval, _ in member_rows
            if interval is not None
        ]
        members_chart = charts.interval_chart(
            title=f"Estimated marginal gain of each member of {problem_class}'s portfolio",
            description=(
                "One bar per member: the federated estimate of the marginal gain it added over the portfolio "
                "before it (log size, clipped per module) when it was promoted, with a 95% interval."
            ),
            rows=rows,
            x_title="marginal gain over the portfolio before it (%)",
            x_format=charts.percent_format(1),
            table_format=lambda v: f"{v:+.3%}",
            label_title="Member plan",
        )
    context = {
        "section": "markets",
        "market": found,
        "plan_summary": selectors.plan_summary(found.plan.child) if found.plan else "",
        "plan_interval": _interval((found.plan.evidence or {}).get("estimate")) if found.plan else None,
        "members_chart": members_chart,
        "member_rows": member_rows,
        "plan_chart": (
            _versions_chart(found.plan_deltas, what="plan", statistic="gain over the reference")
            if found.plan_deltas
            else None
        ),
        "portfolio_chart": (
            _versions_chart(found.portfolio_deltas, what="portfolio", statistic="marginal gain of the added member")
            if found.portfolio_deltas
            else None
        ),
        "shown": selectors.VERSIONS_SHOWN,
    }
    return render(request, "transparency/markets/detail.html", context)


# --- rounds -------------------------------------------------------------------------------------------


@public_page
@require_safe
def rounds(request: HttpRequest) -> HttpResponse:
    problem_class = request.GET.get("class", "")[:100]
    page, next_before = selectors.rounds_page(problem_class=problem_class or None, before=_int_param(request, "before"))
    context = {
        "section": "rounds",
        "rounds": page,
        "next_before": next_before,
        "problem_class": problem_class,
        "classes": selectors.problem_classes(),
        "paged": _int_param(request, "before") is not None,
    }
    return render(request, "transparency/rounds/list.html", context)


def _decision_sentence(detail: selectors.RoundDetail) -> str:
    """The rule the round applied and its outcome, in one sentence, from the policy its `round.started` entry
    recorded."""
    document = (detail.policy.get("orchestration") or {}).get("document") or {}
    result = detail.result
    portfolio = detail.round.kind == "portfolio"
    against = (
        "its marginal gain over the portfolio"
        if portfolio
        else "its gain over the incumbent plan (measured again on the same fresh signals)"
    )
    rule = (
        f"The rule: promote the winner when, on fresh confirmation signals from at least "
        f"{document.get('min_participants', '?')} participants, the one-sided "
        f"{_as_percent(document.get('confidence'))} lower bound of {against} exceeds the margin "
        f"{document.get('min_margin', '?')}."
    )
    decision = result.get("decision")
    if decision:
        outcome = f" Outcome: {decision.get('reason', '')}"
        if result.get("promoted_version"):
            what = "portfolio" if portfolio else "plan"
            outcome += f", so the winner became {what} version {result['promoted_version']}."
        else:
            outcome += ", so nothing was promoted."
    elif detail.round.state in ("running", "planned"):
        outcome = " The round is still running."
    else:
        outcome = f" The round ended before a decision: {detail.round.stop_reason or detail.round.state}."
    return rule + outcome


def _as_percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "?"


@public_page
@require_safe
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    detail = selectors.round_detail(pk=pk)
    if detail is None:
        raise Http404(f"no round {pk}")
    estimates = detail.result.get("estimates") or {}
    ranked = [
        (plan_hash, estimate, _interval(estimate))
        for plan_hash, estimate in sorted(estimates.items(), key=lambda item: -(item[1].get("mean") or 0))
    ]
    rows = [
        charts.IntervalRow(plan_hash[:12], estimate["mean"], *interval)
        for plan_hash, estimate, interval in ranked
        if interval is not None
    ]
    statistic = "marginal gain over the portfolio" if detail.round.kind == "portfolio" else "gain over the reference"
    chart = charts.interval_chart(
        title=f"Round {pk}: noisy selection estimates",
        description=(
            f"One bar per plan of the shortlist that received selection signals: the federated, noisy estimate of "
            f"its {statistic}, with a 95% interval from the known noise."
        ),
        rows=rows,
        x_title=f"estimated {statistic} (%)",
        x_format=charts.percent_format(1),
        table_format=lambda v: f"{v:+.3%}",
        label_title="Plan",
        empty="No selection estimate: the round sent no plan to participants, or no signal arrived.",
    )
    promotion = next((e for e in detail.entries if e.kind in selectors.PROMOTION_KINDS), None)
    confirmation = promotion.payload.get("estimate") if promotion else None
    context = {
        "section": "rounds",
        "detail": detail,
        "round": detail.round,
        "result": detail.result,
        "estimates": ranked,
        "chart": chart,
        "sentence": _decision_sentence(detail),
        "promotion": promotion,
        "confirmation": confirmation,
        "confirmation_interval": _interval(confirmation),
        "statistic": statistic,
        "started": next((e for e in detail.entries if e.kind == "round.started"), None),
        "phases": [(phase, [s for s in detail.signals if s.phase == phase]) for phase in ("selection", "confirmation")],
    }
    return render(request, "transparency/rounds/detail.html", context)


# --- privacy ------------------------------------------------------------------------------------------


@public_page
@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    page, rows = selectors.privacy_page(page=request.GET.get("page") or 1)
    return render(request, "transparency/privacy/list.html", {"section": "privacy", "page": page, "rows": rows})


@public_page
@require_safe
def privacy_participant(request: HttpRequest, name: str) -> HttpResponse:
    row = selectors.privacy_participant(name=name)
    if row is None:
        raise Http404(f"no participant {name}")
    budget = row.budget
    context: dict[str, Any] = {"section": "privacy", "row": row, "participant": row.participant, "budget": budget}
    if budget is not None:
        who = row.participant.display_name or row.participant.name
        context["chart"] = budget_spend_chart(budget=budget, charges=row.charges, who=who)
        context["sampled"] = row.charges > SPEND_SERIES_POINTS
        charges, next_before = selectors.privacy_charges(budget=budget, before=_int_param(request, "before"))
        context |= {
            "charges": charges,
            "next_before": next_before,
            "paged": _int_param(request, "before") is not None,
            "limit_entry": selectors.budget_limit_entry(participant=row.participant),
            "spent_fraction": row.spent_fraction,
        }
    return render(request, "transparency/privacy/detail.html", context)


# --- governance ---------------------------------------------------------------------------------------


@public_page
@require_safe
def governance(request: HttpRequest) -> HttpResponse:
    proposals, next_before = selectors.proposals_page(before=_int_param(request, "before"))
    context = {
        "section": "governance",
        "proposals": proposals,
        "next_before": next_before,
        "paged": _int_param(request, "before") is not None,
        "history": selectors.policy_history(),
    }
    return render(request, "transparency/governance/index.html", context)


@public_page
@require_safe
def proposal(request: HttpRequest, pk: int) -> HttpResponse:
    detail = selectors.proposal_detail(pk=pk)
    if detail is None:
        raise Http404(f"no proposal {pk}")
    votes = {vote.voter_id: vote for vote in detail.votes}
    ballots = [(member, votes.get(member.pk)) for member in detail.electorate]
    return render(
        request,
        "transparency/governance/proposal.html",
        {"section": "governance", "detail": detail, "proposal": detail.proposal, "ballots": ballots},
    )
