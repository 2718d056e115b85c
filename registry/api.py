"""Public, read-only registry endpoints: approved contracts, discovery and each toolchain's pass catalogue."""

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opm_site.errors import ErrorCode, OpmError
from opm_site.openapi import paginated, problems
from opm_site.pagination import ListPagination
from opm_site.throttling import PublicRateThrottle
from registry import selectors, services
from registry.models import AdapterRelease, Contract, ContractStatus, PassSpec, Toolchain, VendorKey


class ContractOutput(serializers.ModelSerializer):
    class Meta:
        model = Contract
        fields = ["name", "version", "description", "message_schemas", "approved_at"]


class ReleaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()
    vendor = serializers.CharField()
    toolchain = serializers.CharField()
    toolchain_version = serializers.CharField()
    artifact_digest = serializers.CharField()
    contracts = serializers.SerializerMethodField()

    def get_contracts(self, release) -> list[str]:
        return sorted(str(c) for c in release.contracts.all())


class PassOutput(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    parameter_syntax = serializers.CharField()
    parameter_schema = serializers.JSONField()
    description = serializers.CharField()


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]

    def paginate(self, request: Request, queryset, serializer_class) -> Response:
        paginator = ListPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class PublicListView(PublicView, ListAPIView):
    pagination_class = ListPagination
    filter_backends = [filters.DjangoFilterBackend]


class ContractFilter(filters.FilterSet):
    class Meta:
        model = Contract
        fields = {"name": ["exact"], "version": ["exact"]}


class ContractsView(PublicListView):
    """Approved contract versions (the only ones releases may claim)."""

    serializer_class = ContractOutput
    filterset_class = ContractFilter

    def get_queryset(self):
        return Contract.objects.filter(status=ContractStatus.APPROVED).order_by("name", "created_at")


class DiscoveryView(PublicView):
    """Approved releases implementing a contract compatible with `name@<npm range>`, for a toolchain and passes."""

    @extend_schema(
        parameters=[
            OpenApiParameter("contract", OpenApiTypes.STR, required=True, description="e.g. opm-adapter@^1.0"),
            OpenApiParameter("toolchain", OpenApiTypes.STR, enum=Toolchain.values),
            OpenApiParameter("passes", OpenApiTypes.STR, description="Comma-separated pass names to require."),
        ],
        responses={200: paginated(ReleaseOutput), **problems(400)},
    )
    def get(self, request: Request) -> Response:
        contract = request.query_params.get("contract", "")
        if "@" not in contract:
            raise OpmError(ErrorCode.VALIDATION_FAILED, "contract must look like name@^1.2")
        passes = [p for p in request.query_params.get("passes", "").split(",") if p]
        releases = selectors.releases_discover(
            contract=contract, toolchain=request.query_params.get("toolchain") or None, passes=passes
        )
        return self.paginate(request, releases, ReleaseOutput)


class PassFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the pass name.")

    class Meta:
        model = PassSpec
        fields = {"kind": ["exact"]}


class PassCatalogueView(PublicListView):
    """A toolchain's pass catalogue, as read from the toolchain itself (`manage.py passes sync`)."""

    serializer_class = PassOutput
    filterset_class = PassFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no URL
            return PassSpec.objects.none()
        toolchain = self.kwargs["toolchain"]
        if toolchain not in Toolchain.values:
            raise OpmError(ErrorCode.NOT_FOUND, f"unknown toolchain {toolchain!r}", status=404)
        return selectors.pass_catalogue(toolchain=toolchain)

    @extend_schema(responses={200: paginated(PassOutput), **problems(400, 404)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class VendorKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>` for vendors; deployments' keys are not accepted here."""

    def authenticate(self, request: Request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"api-key":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("use `Authorization: Api-Key <key>`")
        return (None, services.vendor_authenticate(key=parts[1].decode("ascii", "replace")))

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class IsVendor(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if not isinstance(request.auth, VendorKey):
            raise NotAuthenticated("this endpoint needs a vendor's API key")
        return True


class VendorView(APIView):
    authentication_classes = [VendorKeyAuthentication]
    permission_classes = [IsVendor]
    throttle_classes = [PublicRateThrottle]


class ConformanceOutput(serializers.Serializer):
    contract = serializers.CharField()
    verdict = serializers.CharField()
    report = serializers.JSONField()
    finished_at = serializers.DateTimeField()


class ReleaseStateOutput(ReleaseOutput):
    state = serializers.CharField()
    conformance_runs = serializers.SerializerMethodField()

    def get_conformance_runs(self, release) -> list[dict]:
        runs = release.conformance_runs.select_related("contract").order_by("-finished_at")
        return [
            {"contract": str(r.contract), "verdict": r.verdict, "report": r.report, "finished_at": r.finished_at}
            for r in runs
        ]


class ReleasesView(VendorView):
    """Submit a release manifest (validated against every claimed contract; all violations listed)."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: ReleaseStateOutput, **problems(400, 401)})
    def post(self, request: Request) -> Response:
        release = services.release_submit(
            manifest=request.data, vendor=request.auth.vendor, actor=f"vendor:{request.auth.vendor}"
        )
        return Response(ReleaseStateOutput(release).data, status=201)


class ReleaseView(VendorView):
    """A release of this vendor: its lifecycle state and conformance runs."""

    @extend_schema(responses={200: ReleaseStateOutput, **problems(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        release = AdapterRelease.objects.filter(pk=pk, vendor=request.auth.vendor).first()
        if release is None:
            raise OpmError(ErrorCode.NOT_FOUND, f"no release {pk} of {request.auth.vendor}", status=404)
        return Response(ReleaseStateOutput(release).data)
