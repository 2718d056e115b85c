"""RFC 9457 problem details for every API error, with the stable error code of opm_site.errors."""

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from opm_site.errors import ErrorCode, OpmError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://openpassmarket.example/problems/"
DATABASE_RETRY_AFTER = 5
"""Seconds a client is asked to wait when the database cannot be reached (a restart takes a few)."""

_DRF_CODES = {
    exceptions.ValidationError: ErrorCode.VALIDATION_FAILED,
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.NOT_AUTHENTICATED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


def problem(code: ErrorCode, status_code: int, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem document: RFC 9457 members plus our `code` and any structured extras."""
    return {
        "type": PROBLEM_TYPE_BASE + code.value,
        "title": code.value.replace("_", " ").capitalize(),
        "status": status_code,
        "detail": detail,
        "code": code.value,
        **extra,
    }


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler first (it rolls the transaction back and sets headers), then our document."""
    if isinstance(exc, OpmError):
        exc = _as_api_exception(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        exc = _database_unavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "opm_code", None) or next(
        (code for cls, code in _DRF_CODES.items() if isinstance(exc, cls)), ErrorCode.SERVER_ERROR
    )
    extra = getattr(exc, "opm_extra", {})
    if isinstance(exc, exceptions.ValidationError):
        extra = {"errors": exc.detail}
        detail = "The request is invalid."
    else:
        detail = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    response.data = problem(code, response.status_code, detail, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        # A 401 must name the scheme to use (RFC 9110 §15.5.2); DRF only adds it for its own auth exceptions,
        # and a domain OpmError (an unknown key) reaches us as a plain APIException.
        view, request = context.get("view"), context.get("request")
        if view is not None and request is not None and (scheme := view.get_authenticate_header(request)):
            response["WWW-Authenticate"] = scheme
    return response


def _as_api_exception(error: OpmError) -> exceptions.APIException:
    api_error = exceptions.APIException(error.detail)
    api_error.status_code = error.status
    api_error.opm_code = error.code
    api_error.opm_extra = error.extra
    return api_error


def _database_unavailable() -> exceptions.APIException:
    """A lost or refused database connection (a restart, a failover) is the server's passing state, not the
    request's fault: 503 with Retry-After, which adapters treat as "try again later" instead of a refusal.
    The transaction was rolled back, unless the connection died during its commit: the client cannot tell,
    so only idempotent calls are retried blindly."""
    error = _as_api_exception(
        OpmError(ErrorCode.SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly", status=503)
    )
    error.wait = DATABASE_RETRY_AFTER  # DRF's handler turns `wait` into Retry-After, as for a throttled call
    return error


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: problem details under /api/, Django's page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    body = problem(ErrorCode.NOT_FOUND, status.HTTP_404_NOT_FOUND, f"No resource at {request.path}.")
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


def server_error(request: HttpRequest) -> HttpResponse:
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    body = problem(ErrorCode.SERVER_ERROR, 500, "The server failed; the error was logged.")
    return JsonResponse(body, status=500, content_type=PROBLEM_CONTENT_TYPE)
