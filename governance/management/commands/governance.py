"""`manage.py governance bootstrap`: the genesis governance policy, the one activation without a vote."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_bootstrap
from opm_site.errors import OpmError


class Command(BaseCommand):
    help = "Activate the first governance policy (quorum rules) so that the board can start voting."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{bootstrap}")
        boot = sub.add_parser("bootstrap", help="Activate the genesis governance policy, ledgered as a bootstrap.")
        boot.add_argument("--operator", required=True, help="Username of the superuser doing it (ledgered).")
        boot.add_argument("--document", help="The policy as JSON (default: quorum 3, 2/3 yes, 7 days).")

    def handle(self, *args, action: str, operator: str, document: str | None, **options) -> None:
        user = get_user_model().objects.filter(username=operator, is_superuser=True).first()
        if user is None:
            raise CommandError(f"no superuser named {operator!r}")
        try:
            parsed = json.loads(document) if document else DEFAULT_DOCUMENTS["governance"]
        except json.JSONDecodeError as exc:
            raise CommandError(f"--document is not valid JSON: {exc}") from None
        try:
            policy = policy_bootstrap(document=parsed, operator=user)
        except OpmError as exc:
            details = "; ".join(exc.extra.get("errors", []))
            raise CommandError(f"{exc.detail}{': ' + details if details else ''}") from None
        self.stdout.write(self.style.SUCCESS(f"governance policy v{policy.version} is active: {policy.document}"))
