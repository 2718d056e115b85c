"""The Graph of Contracts (docs/design.md §3, registry): contracts, passes, adapter releases and their edges."""

import pgtrigger
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from opm_site.constraints import choices_check

# The release lifecycle (docs/design.md §3): rejected and revoked are final. registry.services.releases walks
# this table; the database refuses any other state change (pgtrigger here, SQLite triggers by migration).
RELEASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("in_review",),
    "in_review": ("approved", "rejected"),
    "approved": ("suspended", "revoked"),
    "suspended": ("approved", "revoked"),
    "rejected": (),
    "revoked": (),
}


def _allowed_transition() -> pgtrigger.Q:
    allowed = pgtrigger.Q(old__state=pgtrigger.F("new__state"))
    for source, targets in RELEASE_TRANSITIONS.items():
        for target in targets:
            allowed |= pgtrigger.Q(old__state=source, new__state=target)
    return allowed


class Toolchain(models.TextChoices):
    LLVM = "llvm", "LLVM"
    GCC = "gcc", "GCC"
    CRANELIFT = "cranelift", "Cranelift"
    SYNTHETIC = "synthetic", "Synthetic benchmark"


class ContractStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Contract(models.Model):
    """A versioned message contract (semver); usable by releases only once the board approves it."""

    Status = ContractStatus

    name = models.SlugField(max_length=100)
    version = models.CharField(max_length=64, help_text="Semantic version, e.g. 1.2.0.")
    description = models.TextField(blank=True)
    message_schemas = models.JSONField(
        default=dict, help_text="JSON Schema of each message the contract defines, keyed by message name."
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PROPOSED)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.ManyToManyField(
        "self", symmetrical=False, through="ContractSupersession", related_name="superseded_by", blank=True
    )

    class Meta:
        ordering = ["name", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="contract_unique_name_version"),
            choices_check("status", ContractStatus, "contract_status_valid"),
            models.CheckConstraint(
                condition=Q(status="approved", approved_at__isnull=False) | ~Q(status="approved"),
                name="contract_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


class ContractSupersession(models.Model):
    """Edge: a newer contract version supersedes an older one of the same name."""

    newer = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="supersession_edges")
    older = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="superseded_edges")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["newer", "older"], name="supersession_unique_edge"),
            models.CheckConstraint(condition=~Q(newer=F("older")), name="supersession_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.newer} supersedes {self.older}"


class PassKind(models.TextChoices):
    MODULE = "module", "Module pass"
    CGSCC = "cgscc", "CGSCC pass"
    FUNCTION = "function", "Function pass"
    LOOP = "loop", "Loop pass"
    FLAG = "flag", "Compiler flag"
    SETTING = "setting", "Code generator setting"
    SYNTHETIC = "synthetic", "Synthetic step"


class PassSpec(models.Model):
    """One pass (or option) of a toolchain as its own registry reports it, e.g. LLVM's `gvn`."""

    Kind = PassKind

    toolchain = models.CharField(max_length=16, choices=Toolchain)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind)
    parameter_syntax = models.CharField(
        max_length=1000, blank=True, help_text="The toolchain's own parameter syntax, e.g. `max-offset=N;merge-const`."
    )
    parameter_schema = models.JSONField(default=dict, blank=True)
    description = models.TextField()
    toolchain_version = models.CharField(max_length=64, help_text="Version of the toolchain it was read from.")
    available = models.BooleanField(
        default=True, help_text="False once the latest catalogue sync no longer found the pass."
    )
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["toolchain", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["toolchain", "name"], name="passspec_unique_toolchain_name"),
            choices_check("toolchain", Toolchain, "passspec_toolchain_valid"),
            choices_check("kind", PassKind, "passspec_kind_valid"),
            models.CheckConstraint(condition=~Q(description=""), name="passspec_has_description"),
        ]

    def __str__(self) -> str:
        return f"{self.toolchain}:{self.name}"


class DependencyKind(models.TextChoices):
    REQUIRES_BEFORE = "requires_before", "requires before"
    CONFLICTS_WITH = "conflicts_with", "conflicts with"


class PassDependency(models.Model):
    """Edge between two passes of one toolchain: `requires_before` orders them, `conflicts_with` excludes."""

    Kind = DependencyKind

    kind = models.CharField(max_length=20, choices=Kind)
    source = models.ForeignKey(PassSpec, on_delete=models.CASCADE, related_name="dependencies_out")
    target = models.ForeignKey(PassSpec, on_delete=models.CASCADE, related_name="dependencies_in")
    rationale = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "pass dependencies"
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "target"], name="passdependency_unique_edge"),
            models.CheckConstraint(condition=~Q(source=F("target")), name="passdependency_not_self"),
            choices_check("kind", DependencyKind, "passdependency_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.source.name} {self.get_kind_display()} {self.target.name}"


class ReleaseState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"


class AdapterRelease(models.Model):
    """The seed's "adapter": one published, immutable version of a vendor's adapter and its lifecycle state."""

    State = ReleaseState

    name = models.SlugField(max_length=100)
    version = models.CharField(max_length=64)
    vendor = models.CharField(max_length=200, help_text="The publishing vendor's name.")
    toolchain = models.CharField(max_length=16, choices=Toolchain)
    toolchain_version = models.CharField(max_length=64)
    manifest = models.JSONField(help_text="The manifest as submitted, validated against the claimed contract.")
    artifact_digest = models.CharField(max_length=71, help_text="`sha256:` followed by 64 hex digits.")
    state = models.CharField(max_length=16, choices=State, default=State.SUBMITTED)
    submitted_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    contracts = models.ManyToManyField(Contract, through="ContractImplementation", related_name="releases")
    passes = models.ManyToManyField(PassSpec, through="PassOffer", related_name="releases")

    class Meta:
        ordering = ["name", "submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="release_unique_name_version"),
            choices_check("state", ReleaseState, "release_state_valid"),
            choices_check("toolchain", Toolchain, "release_toolchain_valid"),
            models.CheckConstraint(
                condition=Exact(Length("artifact_digest"), 71) & Q(artifact_digest__startswith="sha256:"),
                name="release_digest_sha256",
            ),
        ]
        indexes = [models.Index(fields=["toolchain", "state"], name="release_toolchain_state")]
        triggers = [
            pgtrigger.Trigger(
                name="release_valid_transition",
                operation=pgtrigger.Update,
                when=pgtrigger.Before,
                condition=~_allowed_transition(),
                func="RAISE EXCEPTION 'invalid release transition: % -> %', OLD.state, NEW.state;",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.toolchain})"


class ContractImplementation(models.Model):
    """Edge: an adapter release implements a contract version."""

    release = models.ForeignKey(AdapterRelease, on_delete=models.CASCADE, related_name="implementations")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="implementations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "contract"], name="implementation_unique_edge"),
        ]

    def __str__(self) -> str:
        return f"{self.release} implements {self.contract}"


class PassOffer(models.Model):
    """Edge: an adapter release offers a pass of its toolchain."""

    release = models.ForeignKey(AdapterRelease, on_delete=models.CASCADE, related_name="offers")
    pass_spec = models.ForeignKey(PassSpec, on_delete=models.PROTECT, related_name="offers")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "pass_spec"], name="offer_unique_edge")]

    def __str__(self) -> str:
        return f"{self.release} offers {self.pass_spec}"


class ConformanceVerdict(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"


class ConformanceRun(models.Model):
    """A release checked against a contract version's conformance suite; gates its approval."""

    Verdict = ConformanceVerdict

    release = models.ForeignKey(AdapterRelease, on_delete=models.CASCADE, related_name="conformance_runs")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="conformance_runs")
    verdict = models.CharField(max_length=8, choices=Verdict)
    report = models.JSONField(help_text="The harness's JSON report, as produced.")
    harness_version = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-finished_at"]
        constraints = [
            choices_check("verdict", ConformanceVerdict, "conformance_verdict_valid"),
            models.CheckConstraint(condition=Q(finished_at__gte=F("started_at")), name="conformance_time_order"),
        ]
        indexes = [models.Index(fields=["release", "-finished_at"], name="conformance_release_latest")]

    def __str__(self) -> str:
        return f"{self.release} vs {self.contract}: {self.verdict}"


class VendorKey(models.Model):
    """A pass vendor's API key for submitting releases: only its prefix and SHA-256 are stored."""

    vendor = models.CharField(max_length=200, help_text="The vendor's name, as recorded on its releases.")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor", "created_at"]
        constraints = [models.CheckConstraint(condition=Exact(Length("key_hash"), 64), name="vendorkey_hash_sha256")]

    def __str__(self) -> str:
        return f"{self.vendor} key {self.prefix}"
