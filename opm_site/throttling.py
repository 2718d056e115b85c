"""Scoped rate limits: per deployment on the work loop, per client address on the public ledger."""

from rest_framework.throttling import SimpleRateThrottle


class DeploymentRateThrottle(SimpleRateThrottle):
    scope = "deployment"

    def get_cache_key(self, request, view) -> str | None:
        principal = getattr(request, "auth", None)  # a deployment, or a participant enrolling
        if principal is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{type(principal).__name__}:{principal.pk}"}


class PublicRateThrottle(SimpleRateThrottle):
    scope = "public"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
