"""OpenAPI pieces shared by the API modules: the problem-details schema and responses, and the API-key schemes.

Every error the API returns is an `application/problem+json` document rendered by opm_site.problems; the schema
says so for every operation. `ProblemAutoSchema` documents the statuses a view's own machinery can answer with
(authentication, permissions, throttling, parsing, validation, content negotiation); views declare the rest,
their domain's statuses (409 and the like), with `problems(...)`.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from opm_site.problems import PROBLEM_CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with our stable error `code`."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="A stable error code (opm_site.errors.ErrorCode).")
    errors = serializers.JSONField(required=False, help_text="Every violation, for validation failures.")


def problems(*statuses: int) -> dict:
    """`@extend_schema(responses=...)` entries for a view's own error statuses, as problem documents."""
    return {(status, PROBLEM_CONTENT_TYPE): ProblemSerializer for status in statuses}


PROBLEM_DESCRIPTIONS = {
    400: "The request is invalid (problem details; `errors` lists every violation for validation failures).",
    401: "No credentials, or credentials that are not valid (problem details).",
    403: "The credentials do not allow this (problem details).",
    404: "No such resource, or not one of yours (problem details).",
    406: "The Accept header asks for a media type this endpoint cannot produce (problem details).",
    409: "The request conflicts with the resource's state (problem details).",
    413: "The request body is over the size limit (problem details).",
    415: "The request body's Content-Type is not accepted (problem details).",
    429: "Too many requests: the rate limit is spent; Retry-After says when to try again (problem details).",
}

_PROBLEM_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "required": True,
            "description": "The scheme to authenticate with: `Api-Key`.",
        }
    },
    429: {
        "Retry-After": {
            "schema": {"type": "string", "pattern": r"^[0-9]+$"},
            "required": True,
            "description": "Seconds until a request may succeed again.",
        }
    },
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's schema, with every problem response each operation can return documented."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        problem = {"schema": self.resolve_serializer(ProblemSerializer, "response").ref}
        for status in self.problem_statuses(operation):
            responses.setdefault(str(status), {"content": {PROBLEM_CONTENT_TYPE: problem}})
        for code, response in responses.items():
            if PROBLEM_CONTENT_TYPE in response.get("content", {}):
                response["description"] = response.get("description") or PROBLEM_DESCRIPTIONS.get(int(code), "")
                if headers := _PROBLEM_HEADERS.get(int(code)):
                    response["headers"] = {**headers, **response.get("headers", {})}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def problem_statuses(self, operation: dict) -> set[int]:
        """The statuses DRF and our middleware answer with for this view and method, whatever the view does."""
        statuses = {406}  # content negotiation: every view renders a fixed set of media types
        locations = {p["in"] for p in operation.get("parameters", [])}
        takes_body = self.method in _BODY_METHODS and "requestBody" in operation
        if takes_body or "query" in locations:
            statuses.add(400)
        if takes_body:
            statuses |= {413, 415}
        if "path" in locations:
            statuses.add(404)
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses |= {401, 403}  # a bad key is 401; a key of the wrong kind, or a suspended one, 403
        if any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses.add(403)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses


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
