"""`manage.py budgets`: every participant's privacy budget, in nano-rho and as epsilon."""

from django.core.management.base import BaseCommand

from orchestration import selectors


class Command(BaseCommand):
    help = "Print each participant's privacy budget: limit and spent in nano-rho, epsilon spent of the limit, charges."

    def handle(self, *args, **options) -> None:
        views = selectors.budget_views()
        header = (
            f"{'participant':24} {'limit (nano-rho)':>17} {'spent':>13} {'eps spent':>10} {'of eps':>7} "
            f"{'rho used':>9} {'charges':>8}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for view in views:
            b = view.budget
            self.stdout.write(
                f"{b.participant.name:24} {b.rho_limit_nano:>17,} {b.rho_spent_nano:>13,} "
                f"{view.spent_epsilon:>10.3f} {view.limit_epsilon:>7.3f} {view.share_spent:>9.0%} {view.charges:>8}"
            )
        self.stdout.write(
            f"{len(views)} budgets (epsilon at each budget's delta; privacy loss adds up in rho, so the epsilon left "
            "is not the limit minus the epsilon spent)"
        )
