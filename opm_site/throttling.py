"""Scoped rate limits: per deployment (or enrolling participant) on the work loop, per peer address on the
public endpoints.

An authenticated caller is counted by who it is, so two keys never share a limit and changing address does not
reset one. An anonymous caller is counted by its peer address (DRF's get_ident with NUM_PROXIES set, never
None: REMOTE_ADDR, or behind OPM_NUM_PROXIES reverse proxies the address the outermost appended), so a
client-supplied X-Forwarded-For cannot buy a fresh limit. The counts live in Django's default cache, which
settings make shared by every worker process (a file cache under var/ unless OPM_CACHE_URL says otherwise).
"""

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
