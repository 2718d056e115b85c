"""`manage.py plan export`: write a plan or portfolio file by id or content hash, or a class's promoted portfolio."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.plan import Plan as PlanFile
from adapters.portfolio import Portfolio
from orchestration import selectors
from orchestration.selectors import portfolio_current
from orchestration.services import plan_current


class Command(BaseCommand):
    help = "Export a plan or portfolio file: by id or content hash (a 12-digit prefix will do), or --promoted CLASS."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{export}")
        export = sub.add_parser(
            "export", help="Write the plan or portfolio file (JSON) to -o FILE, or stdout with -o -."
        )
        export.add_argument(
            "ref", nargs="?", help="Plan or portfolio id, content hash, or a unique prefix of at least 8 hex digits."
        )
        export.add_argument(
            "--promoted",
            metavar="CLASS",
            help="The problem class's promoted portfolio instead (a class promoted by plan rounds only: the portfolio "
            "of its current plan).",
        )
        export.add_argument("-o", "--output", required=True, help="Output file, or - for stdout.")

    def handle(self, *args, action: str, ref: str | None, promoted: str | None, output: str, **options) -> None:
        if bool(ref) == bool(promoted):
            raise CommandError("give either a plan or portfolio id/hash, or --promoted CLASS")
        if promoted:
            body, digest, note = self._promoted(promoted)
        else:
            plan, portfolio = selectors.plan_by_ref(ref=ref), selectors.portfolio_by_ref(ref=ref)
            if plan is not None and portfolio is not None:
                raise CommandError(
                    f"{ref!r} names both plan {plan.content_hash[:16]} and portfolio {portfolio.content_hash[:16]}: "
                    "give more of the hash"
                )
            found = plan or portfolio
            if found is None:
                raise CommandError(
                    f"no plan or portfolio {ref!r} (give an id, a 64-hex content hash or a unique prefix of "
                    f"at least {selectors.MIN_HASH_PREFIX} hex digits)"
                )
            body, digest = found.body, found.content_hash
            note = f"{found._meta.verbose_name} {found.pk}"
        text = json.dumps(body, indent=2, sort_keys=True) + "\n"
        if output == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"-o {output}: the directory {path.parent} does not exist")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        self.stdout.write(self.style.SUCCESS(f"{note} ({digest[:12]}) written to {path}"))

    def _promoted(self, problem_class: str) -> tuple[dict, str, str]:
        """The class's portfolio, or for a class whose plans were promoted one at a time, that plan alone."""
        version, portfolio = portfolio_current(problem_class=problem_class)
        if version > 0:
            return portfolio.to_json(), portfolio.content_hash(), f"{problem_class} portfolio v{version}"
        plan_version, plan = plan_current(problem_class=problem_class)
        single = Portfolio.of(PlanFile.from_json(plan.body))
        label = f"{problem_class} plan v{plan_version}, as a portfolio of {len(single.members)}"
        return single.to_json(), single.content_hash(), label
