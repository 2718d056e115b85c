"""`manage.py vendors key --vendor NAME`: issue a vendor's API key for submitting releases (shown once)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opm_site.errors import OpmError
from registry.services import vendor_key_issue


class Command(BaseCommand):
    help = "Issue a pass vendor's API key for `POST /api/v1/registry/releases` (printed once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{key}")
        key = sub.add_parser("key", help="Issue a new key for a vendor.")
        key.add_argument("--vendor", required=True, help="The vendor's name, as its releases will carry it.")

    def handle(self, *args, action: str, vendor: str, **options) -> None:
        try:
            record, key = vendor_key_issue(vendor=vendor)
        except OpmError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"issued {record}"))
        self.stdout.write(f"API key (shown once, store it now): {key}")
