"""`manage.py proposals`: list open proposals, close those past their deadline, propose a membership change."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import Proposal, ProposalKind, ProposalStatus
from governance.services import proposal_open, proposals_expire, tally_of
from opm_site.admin import describe
from opm_site.errors import OpmError


class Command(BaseCommand):
    help = "List open proposals, reject those past their deadline (cron), or propose a board membership change."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,expire,member}")
        sub.add_parser("list", help="Open proposals with their tally and deadline.")
        sub.add_parser("expire", help="Reject every open proposal past its deadline, ledgering each decision.")
        member = sub.add_parser("member", help="Propose adding a person to the board or removing one (ledgered).")
        change = member.add_mutually_exclusive_group(required=True)
        change.add_argument("--add", metavar="USERNAME", help="The account to seat on the board.")
        change.add_argument("--remove", metavar="USERNAME", help="The board member to unseat.")
        member.add_argument("--proposer", required=True, help="Username of the board member proposing it.")
        member.add_argument("--rationale", default="", help="Why (recorded in the ledger).")

    def handle(self, *args, action: str, **options) -> None:
        if action == "member":
            self.propose_member(**options)
            return
        if action == "expire":
            expired = proposals_expire()
            for proposal in expired:
                self.stdout.write(f"  #{proposal.pk} {proposal.get_kind_display()}: rejected (deadline passed)")
            self.stdout.write(self.style.SUCCESS(f"{len(expired)} proposals expired"))
            return
        proposals = Proposal.objects.filter(status=ProposalStatus.OPEN).select_related(
            "release", "contract", "policy", "member"
        )
        for proposal in proposals.order_by("deadline"):
            tally = tally_of(proposal)
            self.stdout.write(
                f"  #{proposal.pk} {proposal.get_kind_display()} {proposal.target}: {tally.yes} yes, {tally.no} no, "
                f"{tally.abstain} abstain; deadline {proposal.deadline:%Y-%m-%d %H:%M}"
            )
        self.stdout.write(f"{proposals.count()} open proposals")

    def propose_member(self, *, add: str | None, remove: str | None, proposer: str, rationale: str, **_) -> None:
        users = get_user_model().objects
        author = users.filter(username=proposer).first()
        if author is None:
            raise CommandError(f"no user named {proposer!r}")
        name = add or remove
        person = users.filter(username=name).first()
        if person is None:
            raise CommandError(f"no user named {name!r} (create the account first)")
        kind = ProposalKind.ADD_BOARD_MEMBER if add else ProposalKind.REMOVE_BOARD_MEMBER
        try:
            proposal = proposal_open(kind=kind, proposer=author, member=person, rationale=rationale)
        except OpmError as exc:
            raise CommandError(describe(exc)) from None
        electorate = ", ".join(sorted(e.member.get_username() for e in proposal.electorate.select_related("member")))
        self.stdout.write(self.style.SUCCESS(f"opened {proposal}; electorate: {electorate}"))
