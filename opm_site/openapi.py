"""OpenAPI pieces shared by the API modules: the problem-details schema and the API-key scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with our stable error `code`."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="A stable error code (opm_site.errors.ErrorCode).")
    errors = serializers.JSONField(required=False, help_text="Every violation, for validation failures.")


def problems(*statuses: int) -> dict:
    return {status: ProblemSerializer for status in statuses}


class DeploymentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "orchestration.api.DeploymentKeyAuthentication"
    name = "DeploymentApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key opm_<prefix>_<secret>`, issued once at enrolment.",
        }


class VendorKeyScheme(OpenApiAuthenticationExtension):
    target_class = "registry.api.VendorKeyAuthentication"
    name = "VendorApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key opm_<prefix>_<secret>`, issued to a vendor by `manage.py vendors key`.",
        }


def paginated(child: type[serializers.Serializer]) -> serializers.Serializer:
    """The limit/offset page our list endpoints return, for the schema."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name=f"Paginated{child.__name__.removesuffix('Output')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": child(many=True),
        },
    )
