"""`manage.py orchestrate`: run search rounds for a problem class and print what each decided.

Portfolio rounds (the default) each seek one more member for the class's portfolio; plan rounds seek one
plan that beats the class's current plan."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.search import STRATEGIES
from opm_site.errors import OpmError
from orchestration.models import RoundKind
from orchestration.orchestrator import RoundSettings, run_portfolio_round, run_round
from orchestration.public_corpus import public_corpus
from orchestration.tasks import orchestrate_round


class Command(BaseCommand):
    help = "Run N search rounds for a problem class: free public search, then private selection and confirmation."

    def _stop_after(self, kind: str, search_round, outcome) -> bool:
        if search_round.state != "finished":
            return True
        return kind == RoundKind.PORTFOLIO and not outcome.shortlist

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--problem-class", required=True, help="toolchain/objective, e.g. llvm/text-bytes.")
        parser.add_argument(
            "--kind",
            choices=RoundKind.values,
            default=RoundKind.PORTFOLIO,
            help="portfolio (default): add members to the class's portfolio; plan: replace its single plan.",
        )
        parser.add_argument(
            "--strategy",
            choices=STRATEGIES,
            default="greedy",
            help="Plan rounds' search strategy (portfolio rounds use the orchestration policy's pool_strategy).",
        )
        parser.add_argument("--rounds", type=int, default=1, help="Rounds to run (stops early when budgets run out).")
        parser.add_argument("--seed", type=int, help="Seed of the first round (default: random, recorded).")
        parser.add_argument("--wait", type=float, default=600.0, help="Seconds to wait for signals per phase.")
        parser.add_argument("--background", action="store_true", help="Enqueue each round as a Django task.")

    def handle(self, *args, problem_class: str, kind: str, strategy: str, rounds: int, **options) -> None:
        if "/" not in problem_class:
            raise CommandError("--problem-class must look like toolchain/objective, e.g. llvm/text-bytes")
        if rounds < 1:
            raise CommandError("--rounds must be at least 1")
        rows = []
        for number in range(rounds):
            # Portfolio rounds keep one seed: the same public pool (cached), a new candidate each round.
            step = 0 if kind == RoundKind.PORTFOLIO else number
            seed = None if options["seed"] is None else options["seed"] + step
            self.stdout.write(self.style.MIGRATE_HEADING(f"{kind} round {number + 1}/{rounds} for {problem_class}"))
            run = run_portfolio_round if kind == RoundKind.PORTFOLIO else run_round
            try:
                if options["background"]:
                    result = orchestrate_round.enqueue(problem_class, strategy, seed, kind)
                    self.stdout.write(f"  enqueued as task {result.id} ({result.status})")
                    continue
                outcome = run(
                    RoundSettings(problem_class, strategy, public_corpus(problem_class), seed, options["wait"]),
                    progress=self.stdout.write,
                )
            except OpmError as exc:
                if rows:  # e.g. the portfolio filled up: the rounds so far stand
                    self.stdout.write(f"  not started: {exc.detail}")
                    break
                raise CommandError(exc.detail) from None
            search_round = outcome.round
            rows.append((search_round, outcome))
            self.stdout.write(f"  {search_round.state}: {search_round.stop_reason}")
            if self._stop_after(kind, search_round, outcome):
                break
        if rows:
            self.stdout.write(self.style.MIGRATE_HEADING("summary"))
            self.stdout.write(f"  {'round':>6} {'state':9} {'shortlist':>9} {'winner':14} {'gain':>16} promoted")
            for search_round, outcome in rows:
                winner = search_round.result.get("winner") or ""
                estimate = outcome.estimates.get(winner)
                gain = f"{estimate['mean']:+.4f}±{estimate['std']:.4f}" if estimate else "-"
                version = f"v{outcome.promoted_version}" if outcome.promoted_version else "no"
                self.stdout.write(
                    f"  {search_round.pk:>6} {search_round.state:9} {len(outcome.shortlist):>9} "
                    f"{winner[:12]:14} {gain:>16} {version}"
                )
