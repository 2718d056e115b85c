"""The public markets, rounds, privacy and governance pages: what they show matches the database (and the demo's
report), unknown names are 404s, bad parameters are never 500s, participant-supplied text is escaped, and the
number of queries per page does not grow with the data."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from governance.models import LedgerEntry, Policy, Proposal
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_create, proposal_open, proposal_vote
from orchestration import accounting, selectors
from orchestration.models import (
    EvaluationTask,
    Participant,
    PerformanceSignal,
    Plan,
    PlanDelta,
    PortfolioDelta,
    PortfolioMember,
    PrivacyCharge,
    SearchRound,
)
from orchestration.selectors import SPEND_SERIES_POINTS, budget_spend_series
from tests.governance.factories import LedgerEntryFactory, PolicyFactory, ProposalFactory, UserFactory, VoteFactory
from tests.orchestration.factories import (
    AdapterDeploymentFactory,
    LocalProblemFactory,
    PlanDeltaFactory,
    PlanFactory,
    PortfolioDeltaFactory,
    PortfolioFactory,
    PrivacyBudgetFactory,
    SearchRoundFactory,
)
from tests.orchestration.federation import PROBLEM_CLASS
from tests.registry.factories import AdapterReleaseFactory
from transparency import selectors as public

from .market_data import run_market

pytestmark = pytest.mark.django_db


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def entry_link(index: int) -> str:
    return f'href="/log/entries/{index}/"'


@pytest.fixture
def market(tmp_path, monkeypatch, adapter_contract):
    return run_market(tmp_path, monkeypatch)


def test_the_market_pages_show_the_promoted_plan_and_portfolio_with_the_demos_numbers(client, market):
    listing = page(client, "/markets/")
    assert f'href="{reverse("public:market", args=[PROBLEM_CLASS])}"' in listing
    plan = PlanDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    portfolio = PortfolioDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    assert f'version 1 <span class="hash">{plan.child.content_hash[:12]}</span>' in listing
    assert "version 1, 1 member" in listing

    detail = page(client, f"/markets/{PROBLEM_CLASS}/")
    # The demo prints each promotion as `{mean:+.3%} ± {std:.3%}`: the page shows the same figures.
    for delta in (plan, portfolio):
        estimate = delta.evidence["estimate"]
        assert f"{estimate['mean']:+.3%} ± {estimate['std']:.3%}" in detail
        assert f"{estimate['participants']} participants" in detail or estimate["participants"] == 4
    member = PortfolioMember.objects.get(portfolio=portfolio.child)
    assert member.plan.content_hash[:12] in detail
    # One member: the portfolio's gain over the reference so far is that member's marginal gain.
    estimate = portfolio.evidence["estimate"]
    assert f'<td class="num">{estimate["mean"]:+.3%} ± {estimate["std"]:.3%}</td>\n    <td>v1' in detail
    assert f'href="/rounds/{portfolio.round_id}/"' in detail and f'href="/rounds/{plan.round_id}/"' in detail
    # Three charts, each an accessible SVG with its numbers in a table.
    assert detail.count('role="img"') == 3 and detail.count("<details>") == 3
    assert "promotion time (UTC)" in detail and "marginal gain over the portfolio before it (%)" in detail


def test_the_round_pages_show_shortlist_estimates_decision_and_every_backing_entry(client, market):
    _, outcomes = market
    listing = page(client, "/rounds/")
    for outcome in outcomes:
        assert f'href="/rounds/{outcome.round.pk}/"' in listing
    assert re.findall(r'href="/rounds/\d+/"', page(client, f"/rounds/?class={PROBLEM_CLASS}"))
    assert not re.findall(r'href="/rounds/\d+/"', page(client, "/rounds/?class=nothing/here"))
    for outcome in outcomes:
        search_round = SearchRound.objects.get(pk=outcome.round.pk)
        detail = page(client, f"/rounds/{search_round.pk}/")
        assert f"<dt>Seed</dt><dd>{search_round.seed}</dd>" in detail
        assert search_round.get_strategy_display() in detail
        for plan_hash in search_round.result["shortlist"]:
            assert plan_hash[:12] in detail
        for estimate in search_round.result["estimates"].values():
            assert f"{estimate['mean']:+.3%} ± {estimate['std']:.3%}" in detail
        decision = search_round.result["decision"]
        assert escape(decision["reason"]) in detail and "so the winner became" in detail
        entries = LedgerEntry.objects.filter(subject=f"round:{search_round.pk}").values_list("index", flat=True)
        assert len(entries) >= 4
        for index in entries:
            assert entry_link(index) in detail
        for signal in PerformanceSignal.objects.filter(task__round=search_round).select_related("task__charge"):
            assert entry_link(signal.ledger_index) in detail and entry_link(signal.task.charge.ledger_index) in detail
        promoted = LedgerEntry.objects.get(kind__endswith=".promoted", payload__round=search_round.pk)
        assert entry_link(promoted.index) in detail
        assert 'role="img"' in detail


def test_the_privacy_pages_show_epsilon_spent_at_delta_as_the_demo_prints_it(client, market):
    listing = page(client, "/privacy/")
    views = selectors.budget_views()
    assert len(views) == 4
    for view in views:
        name = view.budget.participant.name
        row = re.search(rf'href="/privacy/{name}/".*?</tr>', listing, re.S).group(0)
        # The demo's report: `{spent_epsilon:.3f}` of `{budget.epsilon}` with `{charges}` releases.
        assert f'<td class="num">{view.spent_epsilon:.3f}</td><td class="num">{view.budget.epsilon}</td>' in row
        assert f'<td class="num">{view.charges}</td>' in row

        detail = page(client, f"/privacy/{name}/")
        assert (
            f"ε spent <strong>{view.spent_epsilon:.3f}</strong> of limit <strong>{view.budget.epsilon}</strong>"
            in detail
        )
        assert f"at δ = {view.budget.delta:g} (privacy policy version" in detail
        for charge in PrivacyCharge.objects.filter(budget=view.budget):
            assert entry_link(charge.ledger_index) in detail
        # The over-time series ends at the total spent, converted the same way.
        last = PrivacyCharge.objects.filter(budget=view.budget).order_by("-charged_at", "-pk").first()
        assert last.spent_after_nano == view.budget.rho_spent_nano
        assert f"{accounting.epsilon_of_rho_nano(last.spent_after_nano, view.budget.delta):.3f}" in detail
        assert "zCDP" in detail and f"limit ε = {view.budget.epsilon:g}" in detail


@pytest.fixture
def decided(board, tmp_path):
    """A privacy policy activated by a board vote (3 yes of 4), with a rationale and comments in HTML."""
    ada, bob, cy, di = board
    for user in board:
        user.email = f"{user.username}@secret.example"
        user.save(update_fields=["email"])
    policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=ada)
    first = Policy.objects.get(kind="privacy")
    proposal = proposal_open(kind="activate_policy", proposer=ada, policy=first, rationale="<b>start</b>")
    for voter in (bob, cy, di):
        proposal_vote(proposal=proposal, voter=voter, choice="yes", comment="<script>alert(1)</script>")
    second = policy_create(kind="privacy", document={**DEFAULT_DOCUMENTS["privacy"], "epsilon": 0.5}, created_by=ada)
    pending = proposal_open(kind="activate_policy", proposer=bob, policy=second)
    proposal_vote(proposal=pending, voter=cy, choice="no")
    proposal.refresh_from_db()
    return proposal, pending, board


def test_the_governance_pages_show_votes_by_member_outcomes_and_policy_history(client, decided):
    accepted, pending, board = decided
    assert accepted.status == "accepted"
    index = page(client, "/governance/")
    for proposal in (accepted, pending):
        assert f'href="/governance/proposals/{proposal.pk}/"' in index
    assert "3 / 0 / 0" in index and "0 / 1 / 0" in index
    # The privacy policy's history: version 2 changes epsilon from 1.0 to 0.5, version 1 is active.
    history = index[index.index("Privacy policy") :]
    assert "<code>epsilon</code></td><td>1.0</td><td>0.5</td>" in history
    activation = LedgerEntry.objects.get(kind="policy.activated", payload__kind="privacy")
    assert entry_link(activation.index) in history

    detail = page(client, f"/governance/proposals/{accepted.pk}/")
    for user in board:
        assert user.username in detail
    assert detail.count(">Yes</td>") == 3 and "(proposer)" in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert" not in detail
    assert "&lt;b&gt;start&lt;/b&gt;" in detail
    for entry in LedgerEntry.objects.filter(subject=f"proposal:{accepted.pk}"):
        assert entry_link(entry.index) in detail
    for html in (index, detail, page(client, f"/governance/proposals/{pending.pk}/")):
        assert "secret.example" not in html and "@" not in re.sub(r"<[^>]+>", "", html)


def test_unknown_names_and_ids_are_404s(client, db):
    for url in (
        "/markets/llvm/text-bytes/",
        "/markets/no-slash/",
        "/rounds/999999/",
        "/privacy/nobody/",
        "/governance/proposals/999999/",
        "/rounds/abc/",
    ):
        assert client.get(url).status_code == 404, url


def test_bad_query_parameters_never_fail(client, db):
    participant = Participant.objects.create(name="acme", display_name="Acme")
    PrivacyBudgetFactory(participant=participant)
    for url in (
        "/rounds/?before=abc",
        "/rounds/?before=-1",
        "/rounds/?before=99999999999999999999999",
        "/rounds/?before=²",
        "/rounds/?class=%3Cscript%3E&before=0",
        "/rounds/?class=" + "x" * 5000,
        "/privacy/?page=abc",
        "/privacy/?page=-3",
        "/privacy/?page=99999",
        "/privacy/acme/?before=zz",
        "/privacy/acme/?before=0",
        "/governance/?before=%00",
        "/governance/?before=1e9",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<script>" not in response.content
    assert client.post("/rounds/").status_code == 405


def test_participant_supplied_strings_are_escaped(client, db):
    participant = Participant.objects.create(name="evil", display_name='<img src=x onerror="alert(1)">')
    budget = PrivacyBudgetFactory(participant=participant, rho_spent_nano=20_000)
    problem = LocalProblemFactory(
        deployment=AdapterDeploymentFactory(participant=participant), problem_class="llvm/<b>x</b>"
    )
    task = EvaluationTask.objects.create(
        plan=PlanFactory(),
        local_problem=problem,
        deployment=problem.deployment,
        noise_multiplier=5,
        clip_bound=0.1,
        state="leased",
        leased_at=timezone.now(),
        lease_expires_at=timezone.now(),
    )
    PrivacyCharge.objects.create(
        budget=budget, task=task, rho_nano=20_000, spent_after_nano=20_000, charged_at=timezone.now()
    )
    for url in ("/privacy/", "/privacy/evil/", "/markets/"):
        html = page(client, url)
        assert "<img src=x" not in html and "<b>x</b>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page(client, "/privacy/evil/")


def test_a_long_spending_history_is_drawn_from_a_sample_read_in_one_query(client, db):
    participant = Participant.objects.create(name="busy", display_name="Busy")
    budget = PrivacyBudgetFactory(participant=participant, rho_limit_nano=20_000_000)
    problem = LocalProblemFactory(deployment=AdapterDeploymentFactory(participant=participant))
    plan = PlanFactory()
    start = timezone.now() - dt.timedelta(days=3)
    total = 1000
    tasks = EvaluationTask.objects.bulk_create(
        EvaluationTask(
            plan=plan,
            local_problem=problem,
            deployment=problem.deployment,
            noise_multiplier=100,
            clip_bound=0.1,
            state="done",
            leased_at=start,
            lease_expires_at=start,
        )
        for _ in range(total)
    )
    PrivacyCharge.objects.bulk_create(
        PrivacyCharge(
            budget=budget,
            task=task,
            rho_nano=10_000,
            spent_after_nano=10_000 * (i + 1),
            charged_at=start + dt.timedelta(minutes=i),
        )
        for i, task in enumerate(tasks)
    )
    budget.rho_spent_nano = 10_000 * total
    budget.save()
    with CaptureQueriesContext(connection) as queries:
        series = budget_spend_series(budget=budget, total=total)
    assert len(queries) == 1
    assert len(series) <= SPEND_SERIES_POINTS + 2
    assert series[0].spent_nano == 10_000 and series[-1].spent_nano == 10_000 * total
    assert [p.spent_nano for p in series] == sorted(p.spent_nano for p in series)
    html = page(client, "/privacy/busy/")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<path") <= 3 and "draws a sample" in html
    assert html.count("/log/entries/") == 0  # these charges have no ledger entry: none is invented
    assert html.count("<tr><td>20") == public.CHARGES_PAGE_SIZE


# --- query counts -------------------------------------------------------------------------------------


def work(budget, problem, search_round, k: int):
    """k signals of the round from the problem's participant, each charged to its budget with its entries."""
    now = timezone.now()
    plan = PlanFactory()
    tasks = EvaluationTask.objects.bulk_create(
        EvaluationTask(
            round=search_round,
            plan=plan,
            local_problem=problem,
            deployment=problem.deployment,
            noise_multiplier=20,
            clip_bound=0.1,
            phase="selection",
            state="done",
            leased_at=now,
            lease_expires_at=now,
        )
        for _ in range(k)
    )
    spent = budget.rho_spent_nano
    for i, task in enumerate(tasks):
        spent += 1000
        entry = LedgerEntryFactory(kind="budget.charged", subject=f"participant:{budget.participant.name}")
        PrivacyCharge.objects.create(
            budget=budget, task=task, rho_nano=1000, spent_after_nano=spent, charged_at=now, ledger_index=entry.index
        )
        PerformanceSignal.objects.create(
            task=task,
            value=0.01 * i,
            corpus_size=100,
            parameters={"noise_multiplier": 20},
            body=b"{}",
            signature=b"\x02" * 64,
            received_at=now,
            ledger_index=LedgerEntryFactory(kind="signal.accepted", subject=f"task:{task.pk}").index,
        )
    budget.rho_spent_nano = spent
    budget.save()
    return plan


def grow(k: int, release, board_users) -> None:
    """k more of everything: rounds (with signals), participants (with k charges each), proposals (with
    votes), plan and portfolio versions, policies and ledger entries."""
    now = timezone.now()
    for _ in range(k):
        participant = Participant.objects.create(name=f"p-{Participant.objects.count()}", display_name="P")
        budget = PrivacyBudgetFactory(participant=participant, rho_limit_nano=10**9)
        deployment = AdapterDeploymentFactory(participant=participant, release=release)
        problem = LocalProblemFactory(deployment=deployment, problem_class="llvm/text-bytes")
        search_round = SearchRoundFactory(
            state="finished", result={"shortlist": [], "estimates": {}, "decision": None}, started_at=now
        )
        plan = work(budget, problem, search_round, k)
        LedgerEntryFactory(kind="round.started", subject=f"round:{search_round.pk}", payload={"policy": {}})
        sequence = PlanDelta.objects.count() + 1
        PlanDeltaFactory(sequence=sequence, round=search_round, evidence={"estimate": {"mean": 0.01, "std": 0.002}})
        child = PortfolioFactory()
        PortfolioMember.objects.create(portfolio=child, plan=plan, position=0)
        PortfolioDeltaFactory(sequence=PortfolioDelta.objects.count() + 1, child=child, round=search_round)
        proposal = ProposalFactory(proposer=board_users[0])
        for user in board_users[1:]:
            proposal.electorate.create(member=user)
            VoteFactory(proposal=proposal, voter=user)
        LedgerEntryFactory(kind="proposal.opened", subject=f"proposal:{proposal.pk}")
        PolicyFactory(kind="orchestration", document={"round": Policy.objects.count()})


def query_counts(client, urls: list[str]) -> dict[str, int]:
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        counts[url] = len(queries)
    return counts


def test_query_counts_do_not_grow_with_the_data(client, db):
    release = AdapterReleaseFactory(state="approved")
    board_users = [UserFactory(username=f"voter{i}") for i in range(4)]
    grow(2, release, board_users)
    first_round = SearchRound.objects.order_by("pk").first()
    first_participant = Participant.objects.order_by("pk").first()
    first_proposal = Proposal.objects.order_by("pk").first()
    urls = [
        "/markets/",
        "/markets/llvm/text-bytes/",
        "/rounds/",
        "/rounds/?class=llvm/text-bytes",
        f"/rounds/?before={first_round.pk + 1}",
        f"/rounds/{first_round.pk}/",
        "/privacy/",
        "/privacy/?page=2",
        f"/privacy/{first_participant.name}/",
        f"/privacy/{first_participant.name}/?before=999999999",
        "/governance/",
        f"/governance/?before={first_proposal.pk + 1}",
        f"/governance/proposals/{first_proposal.pk}/",
    ]
    small = query_counts(client, urls)
    # Grow everything past a page, and the first round, participant and proposal's own rows too.
    grow(28, release, board_users)
    budget = first_participant.budget
    work(budget, first_participant.problems.first(), first_round, 30)
    more = [UserFactory(username=f"late{i}") for i in range(30)]
    for user in more:
        first_proposal.electorate.create(member=user)
        VoteFactory(proposal=first_proposal, voter=user, choice="no")
    large = query_counts(client, urls)
    assert large == small, (small, large)
    assert max(small.values()) <= 12, small


def test_rounds_and_proposals_page_newest_first_without_gaps(client, db):
    rounds = [SearchRoundFactory(problem_class="llvm/text-bytes" if i % 2 else "gcc/text-bytes") for i in range(60)]
    proposals = [ProposalFactory() for _ in range(30)]
    shown_rounds, url = [], "/rounds/?class=llvm/text-bytes"
    while url:
        html = page(client, url)
        shown_rounds += [int(pk) for pk in re.findall(r'href="/rounds/(\d+)/"', html)]
        found = re.search(r'href="(\?class=[^"]*before=\d+)"', html)
        url = "/rounds/" + found.group(1).replace("&amp;", "&") if found else None
    assert shown_rounds == sorted((r.pk for r in rounds if r.problem_class == "llvm/text-bytes"), reverse=True)
    shown_proposals, url = [], "/governance/"
    while url:
        html = page(client, url)
        shown_proposals += [int(pk) for pk in re.findall(r'href="/governance/proposals/(\d+)/"', html)]
        found = re.search(r'href="(\?before=\d+)"', html)
        url = "/governance/" + found.group(1) if found else None
    assert shown_proposals == sorted((p.pk for p in proposals), reverse=True)


def test_a_members_gain_over_the_reference_sums_the_marginal_gains_before_it():
    """Marginal log gains telescope, so the portfolio's gain over the reference up to a member is their sum, with
    independent noise adding in variance; a member without a recorded estimate ends the running figure."""
    from types import SimpleNamespace

    from transparency.market_views import _member_rows

    members = [
        SimpleNamespace(estimate={"mean": 0.03, "std": 0.003}),
        SimpleNamespace(estimate={"mean": 0.01, "std": 0.004}),
        SimpleNamespace(estimate=None),
        SimpleNamespace(estimate={"mean": 0.02, "std": 0.001}),
    ]
    cumulative = [row[2] for row in _member_rows(members)]
    assert cumulative[0]["mean"] == pytest.approx(0.03) and cumulative[0]["std"] == pytest.approx(0.003)
    assert cumulative[1]["mean"] == pytest.approx(0.04) and cumulative[1]["std"] == pytest.approx(0.005)
    assert cumulative[2] is None and cumulative[3] is None


def test_plans_that_differ_only_in_knobs_read_differently():
    from transparency.selectors import plan_summary

    base = {"toolchain": "llvm", "passes": [{"name": "default", "params": {"level": "Oz"}}]}
    one = Plan(body={**base, "knobs": {"llc": {"enable-ipra": True, "disable-lsr": True}}})
    two = Plan(body={**base, "knobs": {"llc": {"terminal-rule": False}, "opt": {"inline-threshold": 5}}})
    assert plan_summary(one) == "default(level=Oz) (1 pass); llc: disable-lsr, enable-ipra"
    assert plan_summary(two) == "default(level=Oz) (1 pass); llc: terminal-rule=false; opt: inline-threshold=5"
