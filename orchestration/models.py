"""Orchestration (docs/design.md §3): participants, deployments, budgets, plans, deltas, tasks, signals, rounds."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from governance.models import APPEND_ONLY_TRIGGERS
from opm_site.constraints import choices_check
from registry.models import AdapterRelease, Toolchain


class Participant(models.Model):
    """A company or project that evaluates plans on its private code and owns a privacy budget."""

    name = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    enrolment_key_prefix = models.CharField(
        max_length=16, unique=True, null=True, blank=True, help_text="Public prefix of the enrolment key."
    )
    enrolment_key_hash = models.CharField(
        max_length=200, blank=True, help_text="Hash of the key that enrols deployments; the key is never stored."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(enrolment_key_prefix__isnull=True, enrolment_key_hash="")
                | Q(enrolment_key_prefix__isnull=False) & ~Q(enrolment_key_hash=""),
                name="participant_enrolment_key_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name


class DeploymentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class AdapterDeployment(models.Model):
    """A participant's running instance of an approved release; authenticates by API key, signs with Ed25519."""

    Status = DeploymentStatus

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="deployments")
    release = models.ForeignKey(AdapterRelease, on_delete=models.PROTECT, related_name="deployments")
    label = models.SlugField(max_length=100)
    public_key = models.BinaryField(max_length=32, help_text="Raw Ed25519 public key (32 bytes).")
    api_key_prefix = models.CharField(max_length=16, unique=True, help_text="Public prefix that finds the key.")
    api_key_hash = models.CharField(max_length=200, help_text="Hash of the API key; the key itself is never stored.")
    status = models.CharField(max_length=10, choices=DeploymentStatus, default=DeploymentStatus.ACTIVE)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "label"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "label"], name="deployment_unique_label"),
            models.CheckConstraint(condition=Exact(Length("public_key"), 32), name="deployment_pubkey_ed25519"),
            choices_check("status", DeploymentStatus, "deployment_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.name}/{self.label}"


class LocalProblem(models.Model):
    """A participant's private corpus, known to the server only by handle, class, size and a commitment."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="problems")
    deployment = models.ForeignKey(AdapterDeployment, on_delete=models.PROTECT, related_name="problems")
    handle = models.CharField(max_length=100, help_text="Opaque identifier chosen by the participant.")
    problem_class = models.CharField(max_length=100, help_text="Toolchain + objective, e.g. `llvm/text-bytes`.")
    toolchain = models.CharField(max_length=16, choices=Toolchain)
    corpus_size = models.PositiveIntegerField(help_text="n, the number of programs (public: it sets sensitivity).")
    commitment = models.CharField(max_length=64, help_text="Hex SHA-256 salted commitment to the corpus.")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participant", "handle"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "handle"], name="problem_unique_handle"),
            models.CheckConstraint(condition=Q(corpus_size__gte=1), name="problem_corpus_nonempty"),
            models.CheckConstraint(condition=Exact(Length("commitment"), 64), name="problem_commitment_sha256"),
            choices_check("toolchain", Toolchain, "problem_toolchain_valid"),
        ]
        indexes = [models.Index(fields=["problem_class"], name="problem_class_idx")]

    def __str__(self) -> str:
        return f"{self.participant.name}:{self.handle} ({self.problem_class}, n={self.corpus_size})"


class PrivacyBudget(models.Model):
    """A participant's zCDP budget: rho limit and rho spent in integer nano-units (docs/design.md §4)."""

    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="budget")
    policy = models.ForeignKey(
        "governance.Policy", on_delete=models.PROTECT, related_name="budgets", help_text="Privacy policy in force."
    )
    epsilon = models.FloatField()
    delta = models.FloatField()
    rho_limit_nano = models.BigIntegerField()
    rho_spent_nano = models.BigIntegerField(default=0)
    own_epsilon = models.FloatField(
        null=True, blank=True, help_text="A stricter epsilon the participant set for itself, if the policy allows."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["participant"]
        constraints = [
            models.CheckConstraint(condition=Q(rho_spent_nano__gte=0), name="budget_spent_nonnegative"),
            models.CheckConstraint(condition=Q(rho_spent_nano__lte=F("rho_limit_nano")), name="budget_within_limit"),
            models.CheckConstraint(condition=Q(epsilon__gt=0), name="budget_epsilon_positive"),
            models.CheckConstraint(condition=Q(delta__gt=0, delta__lt=1), name="budget_delta_open_unit"),
            models.CheckConstraint(
                condition=Q(own_epsilon__isnull=True) | Q(own_epsilon__gt=0), name="budget_own_epsilon_positive"
            ),
        ]

    def __str__(self) -> str:
        # The limit as the policy states it; what is spent is converted on the pages that show it (orchestration
        # selectors), since a model's name should not run the accountant.
        return f"budget of {self.participant.name} (limit ε {self.epsilon:g} at δ {self.delta:g})"


class Plan(models.Model):
    """An ordered pass plan for a toolchain (docs/design.md §7 plan file); content-addressed by its body's hash."""

    toolchain = models.CharField(max_length=16, choices=Toolchain)
    body = models.JSONField(help_text="The plan file: toolchain, passes with params, knobs.")
    content_hash = models.CharField(max_length=64, unique=True, help_text="Hex SHA-256 of the RFC 8785 body.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Exact(Length("content_hash"), 64), name="plan_hash_sha256"),
            choices_check("toolchain", Toolchain, "plan_toolchain_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.toolchain} plan {self.content_hash[:12]}"


class PlanDelta(models.Model):
    """The ops that turn a parent plan into a promoted child; version `sequence` within its problem class."""

    problem_class = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField(help_text="Plan version k of the problem class this delta produces.")
    parent = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="child_deltas")
    child = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="parent_deltas")
    ops = models.JSONField(help_text="insert / remove / move / replace operations, applied in order.")
    evidence = models.JSONField(default=dict, help_text="Ledger indexes of the signals the promotion rests on.")
    round = models.ForeignKey("SearchRound", on_delete=models.PROTECT, null=True, blank=True, related_name="deltas")
    promoted_at = models.DateTimeField()
    ledger_index = models.BigIntegerField(
        null=True, blank=True, help_text="Its `plan.promoted` ledger entry: a checkpoint covering it makes it final."
    )

    class Meta:
        ordering = ["problem_class", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["problem_class", "sequence"], name="delta_unique_sequence"),
            models.CheckConstraint(condition=~Q(parent=F("child")), name="delta_changes_plan"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="delta_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.problem_class} v{self.sequence}"


class Portfolio(models.Model):
    """An ordered set of plans for a toolchain (the reference is an implicit first member, never listed);
    content-addressed by the RFC 8785 hash of its body `{toolchain, members}`, like a portfolio file."""

    toolchain = models.CharField(max_length=16, choices=Toolchain)
    body = models.JSONField(help_text="The portfolio file: toolchain and member plan bodies, in order.")
    content_hash = models.CharField(max_length=64, unique=True, help_text="Hex SHA-256 of the RFC 8785 body.")
    plans = models.ManyToManyField(Plan, through="PortfolioMember", related_name="portfolios")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Exact(Length("content_hash"), 64), name="portfolio_hash_sha256"),
            choices_check("toolchain", Toolchain, "portfolio_toolchain_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.toolchain} portfolio {self.content_hash[:12]}"


class PortfolioMember(models.Model):
    """One plan of a portfolio at its position (positions 0..k-1; earlier members win ties)."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="memberships")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="memberships")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["portfolio", "position"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "position"], name="portfolio_member_unique_position"),
            models.UniqueConstraint(fields=["portfolio", "plan"], name="portfolio_member_unique_plan"),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio} #{self.position}: {self.plan}"


class PortfolioDelta(models.Model):
    """The ops (add / remove a member) that turn a parent portfolio into a promoted child; version `sequence`
    of its problem class's portfolio (version 0 is the empty portfolio: the reference alone)."""

    problem_class = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField(help_text="Portfolio version k of the problem class this delta produces.")
    parent = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="child_deltas")
    child = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="parent_deltas")
    ops = models.JSONField(help_text="add / remove operations, applied in order.")
    evidence = models.JSONField(default=dict, help_text="Ledger indexes of the signals the promotion rests on.")
    round = models.ForeignKey(
        "SearchRound", on_delete=models.PROTECT, null=True, blank=True, related_name="portfolio_deltas"
    )
    promoted_at = models.DateTimeField()
    ledger_index = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Its `portfolio.promoted` ledger entry: a checkpoint covering it makes it final.",
    )

    class Meta:
        ordering = ["problem_class", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["problem_class", "sequence"], name="portfolio_delta_unique_sequence"),
            models.CheckConstraint(condition=~Q(parent=F("child")), name="portfolio_delta_changes_portfolio"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="portfolio_delta_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.problem_class} portfolio v{self.sequence}"


class RoundKind(models.TextChoices):
    PLAN = "plan", "Plan"
    PORTFOLIO = "portfolio", "Portfolio member"


class RoundStrategy(models.TextChoices):
    RANDOM = "random", "Random"
    GREEDY = "greedy", "Greedy"
    BEAM = "beam", "Beam"
    EVOLUTIONARY = "evolutionary", "Evolutionary"
    LOCAL = "local", "Local (iterated first improvement)"


class RoundState(models.TextChoices):
    PLANNED = "planned", "Planned"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    STOPPED = "stopped", "Stopped"
    FAILED = "failed", "Failed"


class SearchRound(models.Model):
    """One orchestration run for a problem class; its seed makes the strategy replayable."""

    Strategy = RoundStrategy
    State = RoundState
    Kind = RoundKind

    problem_class = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=10, choices=RoundKind, default=RoundKind.PLAN, help_text="What the round may promote."
    )
    toolchain = models.CharField(max_length=16, choices=Toolchain)
    strategy = models.CharField(max_length=16, choices=RoundStrategy)
    seed = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=RoundState, default=RoundState.PLANNED)
    incumbent = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    base = models.ForeignKey(
        Portfolio,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Portfolio rounds: the portfolio a member is sought for.",
    )
    stop_reason = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(seed__gte=0), name="round_seed_nonnegative"),
            choices_check("strategy", RoundStrategy, "round_strategy_valid"),
            choices_check("state", RoundState, "round_state_valid"),
            choices_check("kind", RoundKind, "round_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="plan", base__isnull=True) | Q(kind="portfolio", base__isnull=False),
                name="round_portfolio_has_base",
            ),
            choices_check("toolchain", Toolchain, "round_toolchain_valid"),
        ]
        indexes = [models.Index(fields=["problem_class", "state"], name="round_class_state")]

    def __str__(self) -> str:
        return f"round {self.pk} {self.problem_class} ({self.strategy}, {self.state})"


class TaskState(models.TextChoices):
    QUEUED = "queued", "Queued"
    LEASED = "leased", "Leased"
    DONE = "done", "Done"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class EvaluationTask(models.Model):
    """A plan to evaluate on one local problem with given noise parameters, leased to one deployment."""

    State = TaskState

    round = models.ForeignKey(SearchRound, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="tasks")
    base = models.ForeignKey(
        Portfolio,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        help_text="A portfolio task: the portfolio the plan would join (its marginal gain is asked for).",
    )
    local_problem = models.ForeignKey(LocalProblem, on_delete=models.PROTECT, related_name="tasks")
    deployment = models.ForeignKey(
        AdapterDeployment, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    noise_multiplier = models.FloatField()
    clip_bound = models.FloatField()
    phase = models.CharField(
        max_length=16, blank=True, help_text="The round's phase: selection among the shortlist, or confirmation."
    )
    state = models.CharField(max_length=8, choices=TaskState, default=TaskState.QUEUED)
    requeued_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="requeued_as"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            choices_check("state", TaskState, "task_state_valid"),
            models.CheckConstraint(condition=Q(phase__in=["", "selection", "confirmation"]), name="task_phase_valid"),
            models.CheckConstraint(condition=Q(noise_multiplier__gt=0), name="task_noise_positive"),
            models.CheckConstraint(condition=Q(clip_bound__gt=0), name="task_clip_positive"),
            models.CheckConstraint(
                condition=Q(state="queued")
                | Q(deployment__isnull=False, leased_at__isnull=False, lease_expires_at__isnull=False),
                name="task_lease_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "lease_expires_at"], name="task_state_expiry"),
            models.Index(fields=["local_problem", "state"], name="task_problem_state"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.state})"


class PrivacyCharge(models.Model):
    """One immutable zCDP charge, taken when a task is leased and never refunded."""

    budget = models.ForeignKey(PrivacyBudget, on_delete=models.PROTECT, related_name="charges")
    task = models.OneToOneField(EvaluationTask, on_delete=models.PROTECT, related_name="charge")
    rho_nano = models.BigIntegerField()
    spent_after_nano = models.BigIntegerField(help_text="The budget's spent total right after this charge.")
    ledger_index = models.BigIntegerField(null=True, blank=True, help_text="Its `budget.charged` ledger entry.")
    charged_at = models.DateTimeField()

    class Meta:
        ordering = ["charged_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rho_nano__gt=0), name="charge_positive"),
            models.CheckConstraint(condition=Q(spent_after_nano__gte=F("rho_nano")), name="charge_spent_covers"),
        ]

    def __str__(self) -> str:
        return f"{self.rho_nano} nano-rho for task {self.task_id}"


class PerformanceSignal(models.Model):
    """The released, noised statistic of one task with its mechanism, verifier report and signature."""

    task = models.OneToOneField(EvaluationTask, on_delete=models.PROTECT, related_name="signal")
    value = models.FloatField(help_text="Noised clipped mean gain over the reference.")
    corpus_size = models.PositiveIntegerField()
    mechanism = models.CharField(max_length=32, default="gaussian")
    parameters = models.JSONField(help_text="Mechanism parameters: noise multiplier, clip bound, std.")
    verifier_report = models.JSONField(default=dict)
    body = models.BinaryField(help_text="RFC 8785 bytes the deployment signed.")
    signature = models.BinaryField(max_length=64)
    ledger_index = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(corpus_size__gte=1), name="signal_corpus_nonempty"),
            models.CheckConstraint(condition=Exact(Length("signature"), 64), name="signal_signature_ed25519"),
        ]

    def __str__(self) -> str:
        return f"signal for task {self.task_id}: {self.value:+.4f}"


class AttestationVerdict(models.TextChoices):
    REPRODUCED = "reproduced", "Reproduced"
    DIVERGED = "diverged", "Diverged"


class Attestation(models.Model):
    """A signed backtest result over a ledger export (docs/design.md §8)."""

    Verdict = AttestationVerdict

    origin = models.CharField(max_length=200)
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    code_version = models.CharField(max_length=100)
    decisions_digest = models.CharField(max_length=64)
    verdict = models.CharField(max_length=12, choices=AttestationVerdict)
    body = models.TextField(help_text="RFC 8785 canonical JSON of the attestation.")
    note = models.TextField(help_text="The body signed as a note with the operator's key.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(tree_size__gte=0), name="attestation_size_nonnegative"),
            models.CheckConstraint(condition=Exact(Length("root_hash"), 32), name="attestation_root_sha256"),
            choices_check("verdict", AttestationVerdict, "attestation_verdict_valid"),
        ]

    def __str__(self) -> str:
        return f"attestation {self.origin}@{self.tree_size}: {self.verdict}"


class CheckpointCosignature(models.Model):
    """A deployment's witness statement about a checkpoint (C2SP tlog-cosignature v1, Ed25519): its adapter
    verified that the checkpoint extends every checkpoint it saw before. Kept append-only like the checkpoints
    themselves; served appended to the checkpoint's note, so anyone can check it with the published witness keys.

    It lives in orchestration, next to the deployment that signs it, with a foreign key to governance's
    Checkpoint: orchestration already depends on governance, never the other way round."""

    checkpoint = models.ForeignKey("governance.Checkpoint", on_delete=models.PROTECT, related_name="cosignatures")
    deployment = models.ForeignKey(AdapterDeployment, on_delete=models.PROTECT, related_name="cosignatures")
    witness_name = models.CharField(max_length=300, help_text="The key name: <log origin>/witness/<participant>/<id>.")
    public_key = models.BinaryField(max_length=32, help_text="The Ed25519 key it verified with (the deployment's).")
    key_id = models.BinaryField(max_length=4, help_text="SHA-256(name || 0x0A || 0x04 || public key)[:4].")
    timestamp = models.BigIntegerField(help_text="When the witness cosigned, POSIX seconds (signed).")
    signature = models.BinaryField(max_length=64, help_text="Ed25519 over cosignature/v1, the time and the body.")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["checkpoint", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "deployment"], name="cosignature_one_per_deployment"),
            models.CheckConstraint(condition=~Q(witness_name=""), name="cosignature_witness_named"),
            models.CheckConstraint(condition=Exact(Length("public_key"), 32), name="cosignature_pubkey_ed25519"),
            models.CheckConstraint(condition=Exact(Length("key_id"), 4), name="cosignature_key_id_4_bytes"),
            models.CheckConstraint(condition=Q(timestamp__gte=0), name="cosignature_timestamp_nonnegative"),
            models.CheckConstraint(condition=Exact(Length("signature"), 64), name="cosignature_signature_ed25519"),
        ]
        triggers = APPEND_ONLY_TRIGGERS  # evidence, like the checkpoint it vouches for

    def __str__(self) -> str:
        return f"{self.witness_name} on checkpoint {self.checkpoint_id}"
