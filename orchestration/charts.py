"""A privacy budget's spending drawn as a chart, for the public privacy page and the board's budget page alike:
ε spent at the budget's δ after each charge (converted from the ρ total, which is what adds up), against the
limit, from a series sampled in the database so that a long history stays one query and a readable picture."""

from opm_site import charts
from orchestration import accounting
from orchestration.models import PrivacyBudget
from orchestration.selectors import budget_spend_series


def budget_spend_chart(*, budget: PrivacyBudget, charges: int, who: str) -> charts.Chart:
    """`charges` is the budget's number of charges (the caller usually has it counted already)."""
    series = budget_spend_series(budget=budget, total=charges)
    points = [charts.Point(p.at, accounting.epsilon_of_rho_nano(p.spent_nano, budget.delta), label="") for p in series]
    sampled = len(series) < charges
    return charts.line_chart(
        title=f"Privacy spent by {who}",
        description=(
            f"ε spent at δ = {budget.delta:g} after each charge (a step: it holds until the next charge), "
            f"against the limit ε = {budget.epsilon:g}."
            + (f" Every charge up to {charges} is counted; the line shows {len(series)} of them." if sampled else "")
        ),
        series=[charts.Series("ε spent", points, step=True, markers=len(points) <= 40)],
        x_title="charge time (UTC)",
        y_title=f"ε spent at δ = {budget.delta:g}",
        y_format=lambda v: f"{v:.2f}",
        table_format=lambda v: f"{v:.3f}",
        limit=charts.Limit(budget.epsilon, f"limit ε = {budget.epsilon:g}"),
        y_zero=True,
        empty="No charge yet: nothing spent.",
    )
