"""`manage.py proposals`: list open proposals and close those past their deadline."""

from django.core.management.base import BaseCommand, CommandParser

from governance.models import Proposal, ProposalStatus
from governance.services import proposals_expire, tally_of


class Command(BaseCommand):
    help = "List open proposals, or reject those whose deadline has passed (run it from cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,expire}")
        sub.add_parser("list", help="Open proposals with their tally and deadline.")
        sub.add_parser("expire", help="Reject every open proposal past its deadline, ledgering each decision.")

    def handle(self, *args, action: str, **options) -> None:
        if action == "expire":
            expired = proposals_expire()
            for proposal in expired:
                self.stdout.write(f"  #{proposal.pk} {proposal.get_kind_display()}: rejected (deadline passed)")
            self.stdout.write(self.style.SUCCESS(f"{len(expired)} proposals expired"))
            return
        proposals = Proposal.objects.filter(status=ProposalStatus.OPEN).select_related("release", "contract", "policy")
        for proposal in proposals.order_by("deadline"):
            tally = tally_of(proposal)
            target = proposal.release or proposal.contract or proposal.policy
            self.stdout.write(
                f"  #{proposal.pk} {proposal.get_kind_display()} {target}: {tally.yes} yes, {tally.no} no, "
                f"{tally.abstain} abstain; deadline {proposal.deadline:%Y-%m-%d %H:%M}"
            )
        self.stdout.write(f"{proposals.count()} open proposals")
