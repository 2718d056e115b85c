"""`manage.py participants`: add a participant and issue the enrolment key its adapters enrol with."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opm_site.errors import OpmError
from orchestration.models import Participant
from orchestration.services import participant_create, participant_key_issue, participant_set_active


class Command(BaseCommand):
    help = "Add participants, issue or replace their enrolment keys (shown once), list them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,key,deactivate,reactivate,list}")
        add = sub.add_parser("add", help="Create a participant and print its enrolment key once.")
        add.add_argument("name", help="Participant slug, e.g. acme.")
        add.add_argument("--display-name", default="", help="Human-readable name.")
        add.add_argument("--email", default="", help="Contact e-mail.")
        key = sub.add_parser("key", help="Issue a new enrolment key (the old one stops working) and print it once.")
        key.add_argument("name", help="Participant slug.")
        for verb, text in (
            ("deactivate", "Refuse the participant's enrolment key and all its deployments' keys at once (ledgered)."),
            ("reactivate", "Accept the participant's keys again (ledgered)."),
        ):
            sub.add_parser(verb, help=text).add_argument("name", help="Participant slug.")
        sub.add_parser("list", help="List participants, whether they are active and hold an enrolment key.")

    def handle(self, *args, action: str, **options) -> None:
        if action == "list":
            for participant in Participant.objects.all():
                key = "key opm_" + participant.enrolment_key_prefix if participant.enrolment_key_prefix else "no key"
                state = "active" if participant.active else "inactive"
                self.stdout.write(f"{participant.name:20} {participant.display_name:30} {state:8} {key}")
            return
        try:
            if action == "add":
                participant = participant_create(
                    name=options["name"], display_name=options["display_name"], contact_email=options["email"]
                )
            else:
                participant = Participant.objects.filter(name=options["name"]).first()
                if participant is None:
                    raise CommandError(f"no participant {options['name']!r} (add it with `participants add`)")
            if action in ("deactivate", "reactivate"):
                participant_set_active(participant=participant, active=action == "reactivate", actor="operator")
                self.stdout.write(self.style.SUCCESS(f"participant {participant.name}: {action}d"))
                return
            key = participant_key_issue(participant=participant)
        except OpmError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"participant {participant.name}: enrolment key issued"))
        self.stdout.write(f"Enrolment key (shown once, store it now): {key}")
