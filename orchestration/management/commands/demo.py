"""`manage.py demo`: the main job run by `bash run.sh`.

Today it prepares the site a board can work in: the real LLVM pass catalogue and the board's accounts.
Later issues grow it into the federated run (DESIGN.md §8).
"""

import json
import secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from governance import selectors as governance_selectors
from governance import services as governance_services
from governance.models import Policy, PolicyStatus
from governance.policy_schemas import DEFAULT_DOCUMENTS
from registry import selectors as registry_selectors
from registry.contract_defs import ADAPTER_CONTRACT_NAME, ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
from registry.models import Contract, ContractStatus
from registry.services import contract_create

BOARD = ["ada", "barbara", "grace", "frances"]
OPERATOR = "operator"


def _credentials(path: Path, usernames: list[str]) -> dict[str, str]:
    """Demo passwords, generated once and kept outside git (mode 0600) so re-runs print the same ones."""
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in usernames if name not in known]
    if missing:
        known.update({name: secrets.token_urlsafe(12) for name in missing})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return known


class Command(BaseCommand):
    help = "Run the OpenPassMarket demo: pass catalogue, board, quorum decisions, ledger verification, login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-passes", action="store_true", help="Do not sync the LLVM pass catalogue (offline tests)."
        )

    def handle(self, *args, skip_passes: bool, **options) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING("1. The LLVM pass catalogue, from LLVM's own pass registry"))
        if not skip_passes:
            call_command("passes", "sync", "--toolchain", "llvm", stdout=self.stdout, stderr=self.stderr)

        self.stdout.write(self.style.MIGRATE_HEADING("2. The governance board and the operator"))
        passwords = _credentials(Path(settings.VAR_DIR) / "demo-credentials.json", [*BOARD, OPERATOR])
        for name in BOARD:
            _, created = governance_services.board_member_ensure(
                username=name, password=passwords[name], email=f"{name}@board.example"
            )
            self.stdout.write(f"  board member {name:10} {'created' if created else 'ready'}")
        operator, created = governance_services.operator_ensure(username=OPERATOR, password=passwords[OPERATOR])
        self.stdout.write(f"  operator     {OPERATOR:10} {'created' if created else 'ready'} (superuser)")

        self.stdout.write(self.style.MIGRATE_HEADING("3. Governance: quorum votes, every step in the ledger"))
        self._governance(operator)

        self.stdout.write(self.style.MIGRATE_HEADING("4. What exists"))
        for app_label in ("registry", "governance", "orchestration"):
            counts = ", ".join(
                f"{model._meta.verbose_name_plural}: {model.objects.count()}"
                for model in apps.get_app_config(app_label).get_models()
            )
            self.stdout.write(f"  {app_label}: {counts}")
        by_toolchain = registry_selectors.pass_counts_by_toolchain()
        self.stdout.write(f"  pass catalogue: {by_toolchain or 'empty'}")

        call_command("ledger", "verify", "--no-progress", stdout=self.stdout, stderr=self.stderr)

        self.stdout.write(self.style.MIGRATE_HEADING("5. Log in"))
        self.stdout.write(
            "  Start the site with `bash run.sh serve`, then open https://127.0.0.1:8443/admin/ "
            "(a self-signed certificate: var/tls/cert.pem)"
        )
        for name in [*BOARD, OPERATOR]:
            self.stdout.write(f"    {name:10} {passwords[name]}")
        self.stdout.write(f"  (passwords are kept in {Path(settings.VAR_DIR) / 'demo-credentials.json'})")
        self.stdout.write(self.style.SUCCESS("Demo finished."))

    def _governance(self, operator) -> None:
        """Bootstrap quorum rules, then let the board approve the adapter contract and the first policies."""
        users = {u.username: u for u in get_user_model().objects.filter(username__in=BOARD)}
        proposer, voters = users[BOARD[0]], [users[name] for name in BOARD[1:]]
        if governance_selectors.policy_active(kind="governance") is None:
            governance_services.policy_bootstrap(document=DEFAULT_DOCUMENTS["governance"], operator=operator)
            self.stdout.write("  governance policy v1 bootstrapped by the operator: quorum 3, 2/3 yes, 7 days")
        contract = Contract.objects.filter(name=ADAPTER_CONTRACT_NAME, version=ADAPTER_CONTRACT_VERSION).first()
        if contract is None:
            contract = contract_create(
                name=ADAPTER_CONTRACT_NAME,
                version=ADAPTER_CONTRACT_VERSION,
                message_schemas=ADAPTER_CONTRACT_SCHEMAS,
                description="Manifest and signal messages every OpenPassMarket adapter exchanges.",
            )
        if contract.status == ContractStatus.PROPOSED:
            self._decide(proposer, voters, kind="approve_contract", contract=contract)
        for kind in ("privacy", "orchestration"):
            if governance_selectors.policy_active(kind=kind) is None:
                policy = Policy.objects.filter(kind=kind, status=PolicyStatus.PROPOSED).first()
                policy = policy or governance_services.policy_create(
                    kind=kind, document=DEFAULT_DOCUMENTS[kind], created_by=proposer
                )
                self._decide(proposer, voters, kind="activate_policy", policy=policy)

    def _decide(self, proposer, voters, **target) -> None:
        proposal = governance_services.proposal_open(proposer=proposer, **target)
        for voter in voters:
            if proposal.status != "open":
                break
            governance_services.proposal_vote(proposal=proposal, voter=voter, choice="yes")
        self.stdout.write(
            f"  #{proposal.pk} {proposal.get_kind_display()} {proposal.contract or proposal.policy}: "
            f"{proposal.status} ({proposal.decision_reason})"
        )
