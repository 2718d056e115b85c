"""Governance (docs/design.md §3): proposals, votes, versioned policies, and the tamper-evident ledger."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from opm_site.constraints import choices_check
from registry.models import AdapterRelease, Contract


class PolicyKind(models.TextChoices):
    PRIVACY = "privacy", "Privacy"
    ORCHESTRATION = "orchestration", "Orchestration"
    GOVERNANCE = "governance", "Governance"


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected"


class Policy(models.Model):
    """A versioned JSON policy document; immutable once proposed, exactly one active per kind."""

    Kind = PolicyKind
    Status = PolicyStatus

    kind = models.CharField(max_length=16, choices=PolicyKind)
    version = models.PositiveIntegerField()
    document = models.JSONField(help_text="The policy's settings, validated by its kind's schema.")
    status = models.CharField(max_length=16, choices=PolicyStatus, default=PolicyStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="policy_unique_kind_version"),
            models.UniqueConstraint(fields=["kind"], condition=Q(status="active"), name="policy_one_active_per_kind"),
            choices_check("kind", PolicyKind, "policy_kind_valid"),
            choices_check("status", PolicyStatus, "policy_status_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="policy_version_positive"),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(activated_at__isnull=False), name="policy_active_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} policy v{self.version} ({self.status})"


class ProposalKind(models.TextChoices):
    APPROVE_RELEASE = "approve_release", "Approve release"
    SUSPEND_RELEASE = "suspend_release", "Suspend release"
    REINSTATE_RELEASE = "reinstate_release", "Reinstate release"
    REVOKE_RELEASE = "revoke_release", "Revoke release"
    APPROVE_CONTRACT = "approve_contract", "Approve contract version"
    ACTIVATE_POLICY = "activate_policy", "Activate policy"
    ADD_BOARD_MEMBER = "add_board_member", "Add board member"
    REMOVE_BOARD_MEMBER = "remove_board_member", "Remove board member"


RELEASE_PROPOSAL_KINDS = [
    ProposalKind.APPROVE_RELEASE,
    ProposalKind.SUSPEND_RELEASE,
    ProposalKind.REINSTATE_RELEASE,
    ProposalKind.REVOKE_RELEASE,
]
MEMBERSHIP_PROPOSAL_KINDS = [ProposalKind.ADD_BOARD_MEMBER, ProposalKind.REMOVE_BOARD_MEMBER]


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Proposal(models.Model):
    """A board motion about exactly one target (a release, a contract version, a policy or a board member)."""

    Kind = ProposalKind
    Status = ProposalStatus

    kind = models.CharField(max_length=20, choices=ProposalKind)
    status = models.CharField(max_length=10, choices=ProposalStatus, default=ProposalStatus.OPEN)
    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    release = models.ForeignKey(
        AdapterRelease, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals"
    )
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="membership_proposals",
        help_text="Membership proposals: the person to add to or remove from the board.",
    )
    rationale = models.TextField(blank=True)
    governance_policy = models.ForeignKey(
        Policy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="governed_proposals",
        help_text="The governance policy whose quorum rules apply, fixed when the proposal opens.",
    )
    opened_at = models.DateTimeField()
    deadline = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            choices_check("kind", ProposalKind, "proposal_kind_valid"),
            choices_check("status", ProposalStatus, "proposal_status_valid"),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind__in=RELEASE_PROPOSAL_KINDS,
                        release__isnull=False,
                        contract__isnull=True,
                        policy__isnull=True,
                        member__isnull=True,
                    )
                    | Q(
                        kind="approve_contract",
                        release__isnull=True,
                        contract__isnull=False,
                        policy__isnull=True,
                        member__isnull=True,
                    )
                    | Q(
                        kind="activate_policy",
                        release__isnull=True,
                        contract__isnull=True,
                        policy__isnull=False,
                        member__isnull=True,
                    )
                    | Q(
                        kind__in=MEMBERSHIP_PROPOSAL_KINDS,
                        release__isnull=True,
                        contract__isnull=True,
                        policy__isnull=True,
                        member__isnull=False,
                    )
                ),
                name="proposal_target_matches_kind",
            ),
            models.CheckConstraint(condition=Q(deadline__gt=F("opened_at")), name="proposal_deadline_after_open"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(decided_at__isnull=True))
                | (~Q(status="open") & Q(decided_at__isnull=False)),
                name="proposal_decided_iff_closed",
            ),
            models.UniqueConstraint(
                fields=["kind", "release"], condition=Q(status="open"), name="proposal_one_open_per_release_kind"
            ),
            models.UniqueConstraint(
                fields=["contract"], condition=Q(status="open"), name="proposal_one_open_per_contract"
            ),
            models.UniqueConstraint(fields=["policy"], condition=Q(status="open"), name="proposal_one_open_per_policy"),
            models.UniqueConstraint(fields=["member"], condition=Q(status="open"), name="proposal_one_open_per_member"),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="proposal_status_deadline")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.target} ({self.status})"

    @property
    def target(self) -> object:
        """What the proposal is about, whatever its kind."""
        return self.release or self.contract or self.policy or self.member


class Elector(models.Model):
    """One board member entitled to vote on a proposal: the electorate is fixed when the proposal opens, so
    membership changes decided later never move an open proposal's quorum."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="electorate")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["proposal", "member"]
        constraints = [models.UniqueConstraint(fields=["proposal", "member"], name="elector_unique_member")]

    def __str__(self) -> str:
        return f"{self.member} on #{self.proposal_id}"


class VoteChoice(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    ABSTAIN = "abstain", "Abstain"


class Vote(models.Model):
    """One board member's vote on a proposal; at most one per member."""

    Choice = VoteChoice

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=8, choices=VoteChoice)
    comment = models.TextField(blank=True)
    cast_at = models.DateTimeField()

    class Meta:
        ordering = ["cast_at"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="vote_one_per_member"),
            choices_check("choice", VoteChoice, "vote_choice_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.voter} voted {self.choice} on #{self.proposal_id}"


# The ledger's tables are append-only in the database itself (docs/design.md §5); SQLite's equivalent
# triggers are created by migration governance.0003.
_REJECT = "RAISE EXCEPTION 'ledger is append-only: % on % rejected', TG_OP, TG_TABLE_NAME;"
APPEND_ONLY_TRIGGERS = [
    pgtrigger.Trigger(
        name="append_only_rows", operation=pgtrigger.Update | pgtrigger.Delete, when=pgtrigger.Before, func=_REJECT
    ),
    pgtrigger.Trigger(
        name="append_only_truncate",
        operation=pgtrigger.Truncate,
        level=pgtrigger.Statement,
        when=pgtrigger.Before,
        func=_REJECT,
    ),
]


class LedgerEntry(models.Model):
    """The seed's AuditLog: one leaf of the append-only Merkle log (docs/design.md §5).

    `leaf` holds the exact RFC 8785 bytes that were hashed; the other columns are copies for queries.
    """

    index = models.BigIntegerField(unique=True, help_text="Gapless position in the log, 0..n-1.")
    time = models.DateTimeField()
    kind = models.CharField(max_length=64)
    actor = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    payload = models.JSONField()
    leaf = models.BinaryField(help_text="RFC 8785 canonical JSON of the entry: the bytes the leaf hash covers.")
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["index"]
        constraints = [
            models.CheckConstraint(condition=Q(index__gte=0), name="ledgerentry_index_nonnegative"),
            models.CheckConstraint(condition=Exact(Length("leaf_hash"), 32), name="ledgerentry_leaf_hash_sha256"),
            models.CheckConstraint(condition=~Q(kind=""), name="ledgerentry_kind_nonempty"),
        ]
        triggers = APPEND_ONLY_TRIGGERS
        indexes = [
            models.Index(fields=["kind", "index"], name="ledgerentry_kind_index"),
            models.Index(fields=["subject", "index"], name="ledgerentry_subject_index"),
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.kind} {self.subject}"


class Checkpoint(models.Model):
    """A signed tree head (C2SP tlog-checkpoint as a signed note); every one ever issued is kept."""

    origin = models.CharField(max_length=200)
    size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField(help_text="The signed note, byte-exact as published.")
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-size"]
        constraints = [
            models.UniqueConstraint(fields=["origin", "size"], name="checkpoint_unique_origin_size"),
            models.CheckConstraint(condition=Q(size__gte=0), name="checkpoint_size_nonnegative"),
            models.CheckConstraint(condition=Exact(Length("root_hash"), 32), name="checkpoint_root_sha256"),
        ]
        triggers = APPEND_ONLY_TRIGGERS  # a published checkpoint is evidence: never rewritten, never withdrawn

    def __str__(self) -> str:
        return f"{self.origin} @ {self.size}"


class LedgerNode(models.Model):
    """Hash of the complete Merkle subtree at (level, index), written once when its last leaf arrives.

    Appends write O(log n) of these; roots and proofs read O(log n) (adapters.ledger.merkle).
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.SmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=0, level__lte=63), name="ledgernode_level_range"),
            models.CheckConstraint(condition=Q(index__gte=0), name="ledgernode_index_nonnegative"),
            models.CheckConstraint(condition=Exact(Length("hash"), 32), name="ledgernode_hash_sha256"),
        ]
        triggers = APPEND_ONLY_TRIGGERS

    def __str__(self) -> str:
        return f"node ({self.level}, {self.index})"


class LedgerHead(models.Model):
    """The log's single lock row: appenders serialise on it (SELECT ... FOR UPDATE) and it holds the size."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="ledgerhead_singleton"),
            models.CheckConstraint(condition=Q(size__gte=0), name="ledgerhead_size_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"ledger head: {self.size} entries"
