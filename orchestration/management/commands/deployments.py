"""`manage.py deployments`: enrol a participant's adapter instance (the API key is shown once) or revoke one."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opm_site.errors import OpmError
from orchestration.models import AdapterDeployment, Participant
from orchestration.services import deployment_enrol, deployment_revoke
from registry.models import AdapterRelease


class Command(BaseCommand):
    help = "Enrol a participant's deployment of an approved release (prints its API key once), or revoke one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{enrol,revoke}")
        enrol = sub.add_parser("enrol", help="Create the participant if new, enrol the deployment, print its key.")
        enrol.add_argument("--participant", required=True, help="Participant slug, e.g. acme.")
        enrol.add_argument("--release", required=True, type=int, help="Id of an approved adapter release.")
        enrol.add_argument("--public-key", required=True, help="The deployment's Ed25519 public key, 64 hex digits.")
        enrol.add_argument("--label", default="main", help="Name of this deployment within the participant.")
        revoke = sub.add_parser("revoke", help="Revoke a deployment's key at once.")
        revoke.add_argument("--participant", required=True)
        revoke.add_argument("--label", default="main")

    def handle(self, *args, action: str, **options) -> None:
        if action == "revoke":
            return self._revoke(options["participant"], options["label"])
        try:
            public_key = bytes.fromhex(options["public_key"])
        except ValueError:
            raise CommandError("--public-key must be hex (64 digits for an Ed25519 key)") from None
        release = AdapterRelease.objects.filter(pk=options["release"]).first()
        if release is None:
            raise CommandError(f"no adapter release with id {options['release']}")
        name = options["participant"]
        participant, _ = Participant.objects.get_or_create(name=name, defaults={"display_name": name})
        try:
            deployment, key = deployment_enrol(
                participant=participant, release=release, public_key=public_key, label=options["label"]
            )
        except OpmError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"enrolled {deployment} on {release}"))
        self.stdout.write(f"API key (shown once, store it now): {key}")

    def _revoke(self, participant: str, label: str) -> None:
        deployment = AdapterDeployment.objects.filter(participant__name=participant, label=label).first()
        if deployment is None:
            raise CommandError(f"no deployment {participant}/{label}")
        deployment_revoke(deployment=deployment, actor="operator")
        self.stdout.write(self.style.SUCCESS(f"revoked {participant}/{label}: its key is refused from now on"))
