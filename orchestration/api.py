"""The adapters' side of the REST API (docs/design.md §6): problems, leases, heartbeats, failures and signals.

Deployments authenticate with `Authorization: Api-Key opm_<prefix>_<secret>`; a suspended or revoked
release's keys are refused at once. Signals are the exact RFC 8785 bytes the deployment signed, with the
Ed25519 signature in `X-OPM-Signature` (base64).
"""

import base64
import datetime as dt
from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opm_site.errors import ErrorCode, OpmError
from opm_site.openapi import problems
from opm_site.pagination import ListPagination
from opm_site.throttling import DeploymentRateThrottle, PublicRateThrottle
from orchestration import selectors, services
from orchestration.models import AdapterDeployment, EvaluationTask, LocalProblem, Participant, Plan, Portfolio
from registry.models import AdapterRelease


class DeploymentKeyAuthentication(BaseAuthentication):
    """A deployment's API key, or (where a view allows it) the participant's enrolment key.

    `request.auth` is then the AdapterDeployment or the Participant; views check which they accept.
    """

    keyword = b"api-key"

    def authenticate(self, request: Request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("use `Authorization: Api-Key <key>`")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("the API key is not valid") from None
        return (None, services.principal_authenticate(key=key))

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class IsDeployment(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if isinstance(request.auth, Participant):
            raise PermissionDenied("an enrolment key only enrols, rotates and revokes deployments")
        if not isinstance(request.auth, AdapterDeployment):
            raise NotAuthenticated("this endpoint needs a deployment's API key")
        return True


class IsParticipant(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if isinstance(request.auth, AdapterDeployment):
            raise PermissionDenied("this endpoint needs the participant's enrolment key, not a deployment's key")
        if not isinstance(request.auth, Participant):
            raise NotAuthenticated("this endpoint needs the participant's enrolment key")
        return True


class IsParticipantOrDeployment(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if not isinstance(request.auth, Participant | AdapterDeployment):
            raise NotAuthenticated("this endpoint needs an enrolment key or a deployment's API key")
        return True


def _signature(text: str, where: str) -> bytes:
    """A base64 Ed25519 signature (64 bytes), or the `bad_signature` problem naming where it was expected."""
    try:
        signature = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        signature = b""
    if len(signature) != 64:
        raise OpmError(ErrorCode.BAD_SIGNATURE, f"{where} must hold a base64 Ed25519 signature")
    return signature


class RawBodyParser(BaseParser):
    """Signals are verified over their exact bytes, so they are not parsed before the signature check."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()


class DeploymentView(APIView):
    authentication_classes = [DeploymentKeyAuthentication]
    permission_classes = [IsDeployment]
    throttle_classes = [DeploymentRateThrottle]

    def task(self, pk: int) -> EvaluationTask:
        task = EvaluationTask.objects.filter(pk=pk, deployment=self.request.auth).first()
        if task is None:
            raise OpmError(ErrorCode.NOT_YOUR_TASK, f"task {pk} is not leased to this deployment", status=404)
        return task


class ProblemInput(serializers.Serializer):
    handle = serializers.RegexField(r"^[A-Za-z0-9._-]{1,100}$")
    problem_class = serializers.RegexField(r"^[a-z0-9._/-]{1,100}$")
    corpus_size = serializers.IntegerField(min_value=1, max_value=10_000_000)
    commitment = serializers.RegexField(r"^[0-9a-f]{64}$")


class ProblemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    problem_class = serializers.CharField()


class ProblemListOutput(serializers.ModelSerializer):
    class Meta:
        model = LocalProblem
        fields = ["id", "handle", "problem_class", "toolchain", "corpus_size", "commitment", "registered_at"]


class ProblemFilter(filters.FilterSet):
    class Meta:
        model = LocalProblem
        fields = {"problem_class": ["exact"], "toolchain": ["exact"], "handle": ["exact"]}


class DeploymentListView(DeploymentView, ListAPIView):
    """A paginated, filterable list of what belongs to the calling deployment's participant."""

    pagination_class = ListPagination
    filter_backends = [filters.DjangoFilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return self.filterset_class.Meta.model.objects.none()
        return self.owned(self.request.auth)


class ProblemsView(DeploymentListView):
    """Register a private corpus (POST: an opaque handle, its class, its size n and a salted commitment), or
    list the participant's registered problems (GET)."""

    serializer_class = ProblemListOutput
    filterset_class = ProblemFilter

    def owned(self, deployment: AdapterDeployment):
        return LocalProblem.objects.filter(participant=deployment.participant).order_by("id")

    @extend_schema(
        request=ProblemInput,
        responses={201: ProblemOutput, **problems(400, 401, 403)},
        examples=[
            OpenApiExample(
                "A corpus of 250 modules",
                request_only=True,
                value={
                    "handle": "musl-1of4",
                    "problem_class": "llvm/text-bytes",
                    "corpus_size": 250,
                    "commitment": "9f" * 32,
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = ProblemInput(data=request.data)
        data.is_valid(raise_exception=True)
        problem = services.local_problem_register(deployment=request.auth, **data.validated_data)
        return Response(
            {"id": problem.pk, "handle": problem.handle, "problem_class": problem.problem_class},
            status=status.HTTP_201_CREATED,
        )


class TaskListOutput(serializers.ModelSerializer):
    problem = serializers.CharField(source="local_problem.handle")
    plan_hash = serializers.CharField(source="plan.content_hash")
    base_hash = serializers.CharField(source="base.content_hash", allow_null=True, default=None)

    class Meta:
        model = EvaluationTask
        fields = [
            "id",
            "problem",
            "plan_hash",
            "base_hash",
            "state",
            "noise_multiplier",
            "clip_bound",
            "leased_at",
            "lease_expires_at",
            "finished_at",
            "failure_reason",
        ]


class TaskFilter(filters.FilterSet):
    problem = filters.CharFilter(field_name="local_problem__handle")

    class Meta:
        model = EvaluationTask
        fields = {"state": ["exact"]}


class TasksView(DeploymentListView):
    """The tasks leased to this deployment, newest first (filter by state or problem handle)."""

    serializer_class = TaskListOutput
    filterset_class = TaskFilter

    def owned(self, deployment: AdapterDeployment):
        return (
            EvaluationTask.objects.filter(deployment=deployment)
            .select_related("local_problem", "plan", "base")
            .order_by("-id")
        )


class LeaseInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=1)
    lease_seconds = serializers.IntegerField(min_value=10, max_value=7200, default=600)


class TaskLeaseInput(LeaseInput):
    problem = serializers.RegexField(
        r"^[A-Za-z0-9._-]{1,100}$",
        required=False,
        help_text="Lease only this problem's tasks (the handle the adapter registered and evaluates on); "
        "without it, tasks of any problem this deployment registered.",
    )


class TaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    problem = serializers.CharField(help_text="The handle of the local problem to evaluate on.")
    plan = serializers.JSONField(help_text="The plan file (docs/design.md §7); for a portfolio task, the candidate.")
    plan_hash = serializers.CharField()
    base = serializers.JSONField(
        allow_null=True,
        help_text="A portfolio task: the portfolio file the plan would join (its marginal gain is asked for); "
        "null: the plan's gain over the reference.",
    )
    base_hash = serializers.CharField(allow_null=True, help_text="Content hash of `base`, or null.")
    round = serializers.IntegerField(allow_null=True, help_text="The search round that asked, or null.")
    phase = serializers.CharField(allow_blank=True, help_text="The round's phase: selection, confirmation or empty.")
    noise_multiplier = serializers.FloatField()
    clip_bound = serializers.FloatField()
    lease_expires_at = serializers.DateTimeField()


class LeaseOutput(serializers.Serializer):
    tasks = TaskOutput(many=True)


def _task_out(task: EvaluationTask) -> dict:
    return {
        "id": task.pk,
        "problem": task.local_problem.handle,
        "plan": task.plan.body,
        "plan_hash": task.plan.content_hash,
        "base": task.base.body if task.base else None,
        "base_hash": task.base.content_hash if task.base else None,
        "round": task.round_id,
        "phase": task.phase,
        "noise_multiplier": task.noise_multiplier,
        "clip_bound": task.clip_bound,
        "lease_expires_at": task.lease_expires_at.isoformat(),
    }


class LeaseView(DeploymentView):
    """Lease up to `limit` tasks; each lease charges the participant's privacy budget in the same transaction."""

    @extend_schema(request=TaskLeaseInput, responses={200: LeaseOutput, **problems(400, 401, 403, 404, 409)})
    def post(self, request: Request) -> Response:
        data = TaskLeaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        tasks = services.tasks_lease(
            deployment=request.auth,
            limit=data.validated_data["limit"],
            lease=dt.timedelta(seconds=data.validated_data["lease_seconds"]),
            problem=data.validated_data.get("problem"),
        )
        return Response({"tasks": [_task_out(t) for t in tasks]})


class HeartbeatOutput(serializers.Serializer):
    id = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()


class HeartbeatView(DeploymentView):
    """Extend a lease during a long evaluation."""

    @extend_schema(request=LeaseInput, responses={200: HeartbeatOutput, **problems(400, 401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        data = LeaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_heartbeat(
            deployment=request.auth,
            task=self.task(pk),
            lease=dt.timedelta(seconds=data.validated_data["lease_seconds"]),
        )
        return Response({"id": task.pk, "lease_expires_at": task.lease_expires_at.isoformat()})


class FailureInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class TaskStateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class FailureView(DeploymentView):
    """Report that the task could not be evaluated (its charge stays spent)."""

    @extend_schema(request=FailureInput, responses={200: TaskStateOutput, **problems(400, 401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        data = FailureInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_fail(deployment=request.auth, task=self.task(pk), reason=data.validated_data["reason"])
        return Response({"id": task.pk, "state": task.state})


class SignalParameters(serializers.Serializer):
    noise_multiplier = serializers.FloatField(help_text="The task's noise multiplier m.")
    clip_bound = serializers.FloatField(help_text="The task's clip bound c.")
    std = serializers.FloatField(help_text="The noise's standard deviation, m times the sensitivity.")
    sensitivity = serializers.FloatField(help_text="The mean's sensitivity: 2c/n (clipped gain) or c/n (marginal).")


class SignalBody(serializers.Serializer):
    """The statement the deployment signs (contract opm-adapter 2.0): exactly these keys, as RFC 8785 canonical
    JSON bytes. Every field but the value and std must be the leased task's, or the signal is refused."""

    task = serializers.IntegerField()
    round = serializers.IntegerField(allow_null=True, help_text="The task's search round, or null.")
    problem = serializers.CharField(help_text="The handle of the problem (corpus) it was measured on.")
    phase = serializers.ChoiceField(choices=["", "selection", "confirmation"])
    plan = serializers.CharField(help_text="Content hash of the plan measured (a portfolio task: the candidate).")
    base = serializers.CharField(allow_null=True, help_text="A portfolio task: the portfolio's hash; else null.")
    statistic = serializers.ChoiceField(choices=["clipped_gain", "marginal_log_gain"])
    n = serializers.IntegerField(help_text="The corpus size registered for the problem.")
    mechanism = serializers.ChoiceField(choices=["gaussian"])
    parameters = SignalParameters()
    value = serializers.FloatField(help_text="The noised statistic (clipped mean gain, or mean marginal gain).")


class SignalOutput(serializers.Serializer):
    task = serializers.IntegerField()
    ledger_index = serializers.IntegerField(help_text="The `signal.accepted` entry in the public ledger.")


class SignalsView(DeploymentView):
    """Submit a signed signal; the same body again returns the same 200, a different one for a done task 409."""

    parser_classes = [RawBodyParser]

    @extend_schema(
        request=SignalBody,
        parameters=[
            OpenApiParameter(
                "X-OPM-Signature",
                location=OpenApiParameter.HEADER,
                required=True,
                description="base64 Ed25519 signature, by the deployment's key, over the exact body bytes.",
            )
        ],
        responses={201: SignalOutput, 200: SignalOutput, **problems(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        signature = _signature(request.headers.get("X-OPM-Signature", ""), "X-OPM-Signature")
        signal, created = services.signal_submit(deployment=request.auth, body=request.data, signature=signature)
        return Response(
            {"task": signal.task_id, "ledger_index": signal.ledger_index},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- enrolment and keys: the participant's enrolment key, or a deployment acting on itself ----------------


class EnrolInput(serializers.Serializer):
    release = serializers.IntegerField(help_text="Id of an approved adapter release.")
    label = serializers.SlugField(max_length=100, default="main", help_text="Name of this deployment.")
    public_key = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="Raw Ed25519 public key, 64 hex digits.")


class DeploymentOutput(serializers.ModelSerializer):
    participant = serializers.CharField(source="participant.name")
    public_key = serializers.SerializerMethodField()

    class Meta:
        model = AdapterDeployment
        fields = ["id", "participant", "label", "release", "status", "public_key", "enrolled_at", "last_seen_at"]

    def get_public_key(self, deployment) -> str:
        return bytes(deployment.public_key).hex()


class KeyOutput(DeploymentOutput):
    api_key = serializers.CharField(help_text="The deployment's API key: shown once, store it now.")

    class Meta(DeploymentOutput.Meta):
        fields = [*DeploymentOutput.Meta.fields, "api_key"]


class DeploymentFilter(filters.FilterSet):
    class Meta:
        model = AdapterDeployment
        fields = {"status": ["exact"], "label": ["exact"], "release": ["exact"]}


class DeploymentsView(DeploymentListView):
    """Enrol a deployment of an approved release (POST, enrolment key; the API key is shown once) or list
    the participant's deployments (GET)."""

    permission_classes = [IsParticipant]
    serializer_class = DeploymentOutput
    filterset_class = DeploymentFilter

    def owned(self, participant: Participant):
        return AdapterDeployment.objects.filter(participant=participant).select_related("participant")

    @extend_schema(
        request=EnrolInput,
        responses={201: KeyOutput, **problems(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "Enrol the main deployment",
                request_only=True,
                value={"release": 1, "label": "main", "public_key": "3d" * 32},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = EnrolInput(data=request.data)
        data.is_valid(raise_exception=True)
        release = AdapterRelease.objects.filter(pk=data.validated_data["release"]).first()
        if release is None:
            raise OpmError(ErrorCode.NOT_FOUND, f"no adapter release {data.validated_data['release']}", status=404)
        deployment, key = services.deployment_enrol(
            participant=request.auth,
            release=release,
            public_key=bytes.fromhex(data.validated_data["public_key"]),
            label=data.validated_data["label"],
        )
        return Response({**DeploymentOutput(deployment).data, "api_key": key}, status=status.HTTP_201_CREATED)


class RotateInput(serializers.Serializer):
    public_key = serializers.RegexField(
        r"^[0-9a-f]{64}$", required=False, help_text="A new Ed25519 public key for signals (optional)."
    )
    old_key_signature = serializers.CharField(
        required=False,
        max_length=200,
        help_text="With `public_key`: base64 Ed25519 signature, by the current signing key, over the RFC 8785 "
        'rotation statement {"purpose": "opm-signing-key-rotation", "deployment", "old_public_key", '
        '"new_public_key"} (keys in hex).',
    )


class DeploymentActionView(DeploymentView):
    permission_classes = [IsParticipantOrDeployment]

    def deployment(self, pk: int) -> AdapterDeployment:
        """The participant's own deployment, or the calling deployment itself; never another's (404)."""
        auth = self.request.auth
        owner = auth if isinstance(auth, Participant) else auth.participant
        deployment = AdapterDeployment.objects.filter(pk=pk, participant=owner).select_related("participant").first()
        if deployment is None or (isinstance(auth, AdapterDeployment) and deployment.pk != auth.pk):
            raise OpmError(ErrorCode.NOT_FOUND, f"no deployment {pk} of yours", status=404)
        return deployment

    def actor(self) -> str:
        auth = self.request.auth
        return f"participant:{auth.name}" if isinstance(auth, Participant) else f"deployment:{auth.pk}"


class RotateKeyView(DeploymentActionView):
    """Replace a deployment's API key (the old one stops working at once), optionally with a new signing key:
    that needs `old_key_signature`, the current signing key's signature over the rotation statement."""

    @extend_schema(request=RotateInput, responses={200: KeyOutput, **problems(400, 401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        data = RotateInput(data=request.data)
        data.is_valid(raise_exception=True)
        public_key = data.validated_data.get("public_key")
        proof_text = data.validated_data.get("old_key_signature") if public_key else None
        proof = None if proof_text is None else _signature(proof_text, "old_key_signature")
        deployment, key = services.deployment_key_rotate(
            deployment=self.deployment(pk),
            public_key=bytes.fromhex(public_key) if public_key else None,
            old_key_signature=proof,
            actor=self.actor(),
        )
        return Response({**DeploymentOutput(deployment).data, "api_key": key})


class RevokeView(DeploymentActionView):
    """Revoke a deployment: its key is refused from the next request on. Revoking twice is harmless."""

    @extend_schema(request=None, responses={200: DeploymentOutput, **problems(401, 403, 404)})
    def post(self, request: Request, pk: int) -> Response:
        deployment = services.deployment_revoke(deployment=self.deployment(pk), actor=self.actor())
        return Response(DeploymentOutput(deployment).data)


# --- plans and delta-sync: public, like the ledger they are recorded in -----------------------------------


class PlanOutput(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "toolchain", "content_hash", "body", "created_at"]


class PublicPlansView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


class PlanView(PublicPlansView):
    """A plan by id or by its content hash (SHA-256 of its RFC 8785 body)."""

    @extend_schema(responses={200: PlanOutput, **problems(404)})
    def get(self, request: Request, ref: str) -> Response:
        plan = selectors.plan_by_ref(ref=ref)
        if plan is None:
            raise OpmError(ErrorCode.NOT_FOUND, f"no plan {ref!r}", status=404)
        return Response(PlanOutput(plan).data)


class DeltaOutput(serializers.Serializer):
    sequence = serializers.IntegerField(help_text="The plan version this delta produces.")
    parent = serializers.CharField(help_text="Content hash of the plan it applies to.")
    child = serializers.CharField(help_text="Content hash of the plan it produces.")
    ops = serializers.JSONField(help_text="insert / remove / move / replace / set_knob / unset_knob ops.")
    round = serializers.IntegerField(allow_null=True)
    promoted_at = serializers.DateTimeField()


class DeltasOutput(serializers.Serializer):
    problem_class = serializers.CharField()
    version = serializers.IntegerField(
        help_text="The version the deltas lead to: the class's latest final plan version (0: the reference plan), "
        "or `since` when the caller already holds a later one."
    )
    pending = serializers.IntegerField(
        help_text="Promotions after `version` not served yet: not final until a checkpoint covering them is "
        "cosigned by the number of participants the orchestration policy requires (`min_witnesses`)."
    )
    deltas = DeltaOutput(many=True)


class DeltasInput(serializers.Serializer):
    problem_class = serializers.RegexField(r"^[a-z0-9._-]+/[a-z0-9._/-]+$", max_length=100)
    since = serializers.IntegerField(min_value=0, default=0, help_text="The version the caller holds.")


def _deltas_since(request: Request, latest_of, served, what: str) -> dict[str, Any]:
    """The shared part of plan and portfolio delta-sync: validate the query, refuse a version from the future,
    list the final deltas after `since` in order (promotions not final yet are counted as `pending`)."""
    data = DeltasInput(data=request.query_params)
    data.is_valid(raise_exception=True)
    problem_class, since = data.validated_data["problem_class"], data.validated_data["since"]
    latest = latest_of(problem_class=problem_class)
    current = latest.sequence if latest else 0
    if since > current:
        raise OpmError(
            ErrorCode.INVALID_RANGE, f"{problem_class}'s {what} is at version {current}; there is no version {since}"
        )
    sync = served(problem_class=problem_class, since=since)
    deltas = [
        {
            "sequence": d.sequence,
            "parent": d.parent.content_hash,
            "child": d.child.content_hash,
            "ops": d.ops,
            "round": d.round_id,
            "promoted_at": d.promoted_at,
        }
        for d in sync.deltas
    ]
    return {"problem_class": problem_class, "version": sync.version, "pending": sync.pending, "deltas": deltas}


class DeltasView(PublicPlansView):
    """Delta-sync: the deltas that take a problem class's plan from version `since` to the latest final one."""

    @extend_schema(parameters=[DeltasInput], responses={200: DeltasOutput, **problems(400)})
    def get(self, request: Request) -> Response:
        document = _deltas_since(request, selectors.plan_latest_delta, selectors.plan_deltas_served, "plan")
        return Response(DeltasOutput(document).data)


# --- portfolios and their delta-sync: public too ----------------------------------------------------------


class PortfolioOutput(serializers.ModelSerializer):
    class Meta:
        model = Portfolio
        fields = ["id", "toolchain", "content_hash", "body", "created_at"]


class PortfolioView(PublicPlansView):
    """A portfolio by id or by its content hash (SHA-256 of its RFC 8785 body `{toolchain, members}`)."""

    @extend_schema(responses={200: PortfolioOutput, **problems(404)})
    def get(self, request: Request, ref: str) -> Response:
        portfolio = selectors.portfolio_by_ref(ref=ref)
        if portfolio is None:
            raise OpmError(ErrorCode.NOT_FOUND, f"no portfolio {ref!r}", status=404)
        return Response(PortfolioOutput(portfolio).data)


class PortfolioDeltaOutput(DeltaOutput):
    sequence = serializers.IntegerField(help_text="The portfolio version this delta produces.")
    parent = serializers.CharField(help_text="Content hash of the portfolio it applies to.")
    child = serializers.CharField(help_text="Content hash of the portfolio it produces.")
    ops = serializers.JSONField(help_text="add (position, plan body) / remove (plan hash) ops, in order.")


class PortfolioDeltasOutput(serializers.Serializer):
    problem_class = serializers.CharField()
    version = serializers.IntegerField(
        help_text="The version the deltas lead to: the class's latest final portfolio version (0: the empty "
        "portfolio), or `since` when the caller already holds a later one."
    )
    pending = serializers.IntegerField(help_text="Promotions after `version` not final yet, so not served.")
    deltas = PortfolioDeltaOutput(many=True)


class PortfolioDeltasView(PublicPlansView):
    """Delta-sync of portfolios: the deltas from version `since` to the class's latest final portfolio."""

    @extend_schema(parameters=[DeltasInput], responses={200: PortfolioDeltasOutput, **problems(400)})
    def get(self, request: Request) -> Response:
        document = _deltas_since(
            request, selectors.portfolio_latest_delta, selectors.portfolio_deltas_served, "portfolio"
        )
        return Response(PortfolioDeltasOutput(document).data)
