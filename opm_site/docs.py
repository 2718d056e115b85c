"""The API's documentation pages (Redoc, Swagger UI), which must work offline.

Their scripts and styles come from drf-spectacular-sidecar (SPECTACULAR_SETTINGS), Redoc's page loads no web
fonts (templates/api/redoc.html), and a Content-Security-Policy keeps the browser on our server: Redoc's
bundle would otherwise fetch its "by Redocly" logo from a CDN on every visit.
"""

from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

DOCS_CSP = {
    "default-src": [CSP.SELF],
    # The pages' inline start-up scripts and both UIs' inline styles; their workers run from blob: URLs.
    "script-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "worker-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
}

redoc = csp_override(DOCS_CSP)(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"))
swagger_ui = csp_override(DOCS_CSP)(SpectacularSwaggerView.as_view(url_name="schema"))
