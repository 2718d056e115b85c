"""Scoped rate limits: per deployment (or enrolling participant) on the work loop, per peer address on the
public endpoints.

An authenticated caller is counted by who it is, so two keys never share a limit and changing address does not
reset one. An anonymous caller is counted by its peer address (DRF's get_ident with NUM_PROXIES set, never
None: REMOTE_ADDR, or behind OPM_NUM_PROXIES reverse proxies the address the outermost appended), so a
client-supplied X-Forwarded-For cannot buy a fresh limit. The counts live in Django's default cache, which
settings make shared by every worker process (a file cache under var/ unless OPM_CACHE_URL says otherwise).
"""

from rest_framework.throttling import SimpleRateThrottle


class WindowRateThrottle(SimpleRateThrottle):
    """A count per caller over a window that opens at the caller's first request, kept as one small
    (start, count) pair. DRF's own throttle keeps the time of every request in the window and rewrites that
    whole list on each request: with a shared file cache, at hundreds of signals a second, pickling and
    writing it cost the signal path more CPU than its ledger append. Like DRF's, the read and the write are
    not one atomic step, so requests racing from one caller may be under-counted by the number racing."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        entry = self.cache.get(self.key)
        start, count = entry if isinstance(entry, tuple) and len(entry) == 2 else (self.now, 0)
        if self.now - start >= self.duration:
            start, count = self.now, 0
        self.window_end = start + self.duration
        if count >= self.num_requests:
            return self.throttle_failure()
        self.cache.set(self.key, (start, count + 1), max(1, int(self.window_end - self.now) + 1))
        return True

    def wait(self) -> float:
        """Seconds until the caller's window closes (Retry-After)."""
        return max(self.window_end - self.now, 0.0)


class DeploymentRateThrottle(WindowRateThrottle):
    scope = "deployment"

    def get_cache_key(self, request, view) -> str | None:
        principal = getattr(request, "auth", None)  # a deployment, or a participant enrolling
        if principal is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{type(principal).__name__}:{principal.pk}"}


class PublicRateThrottle(WindowRateThrottle):
    scope = "public"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
