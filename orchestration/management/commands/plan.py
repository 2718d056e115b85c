"""`manage.py plan export`: write a plan file (DESIGN.md §7) by id or content hash, or a class's promoted plan."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestration import selectors
from orchestration.services import plan_current


class Command(BaseCommand):
    help = "Export a plan as a plan file: by id or content hash, or the current promoted plan of a problem class."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{export}")
        export = sub.add_parser("export", help="Write the plan file (JSON) to -o FILE, or stdout with -o -.")
        export.add_argument("ref", nargs="?", help="Plan id or 64-hex content hash.")
        export.add_argument("--promoted", metavar="CLASS", help="The current plan of this problem class instead.")
        export.add_argument("-o", "--output", required=True, help="Output file, or - for stdout.")

    def handle(self, *args, action: str, ref: str | None, promoted: str | None, output: str, **options) -> None:
        if bool(ref) == bool(promoted):
            raise CommandError("give either a plan id/hash or --promoted CLASS")
        if promoted:
            version, plan = plan_current(problem_class=promoted)
            note = f"{promoted} v{version}"
        else:
            plan = selectors.plan_by_ref(ref=ref)
            if plan is None:
                raise CommandError(f"no plan {ref!r} (give an id or a 64-hex content hash)")
            note = f"plan {plan.pk}"
        text = json.dumps(plan.body, indent=2, sort_keys=True) + "\n"
        if output == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        self.stdout.write(self.style.SUCCESS(f"{note} ({plan.content_hash[:12]}) written to {path}"))
