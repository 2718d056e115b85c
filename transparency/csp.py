"""The public pages' Content-Security-Policy: scripts, styles, images and fetches from this server only.

No inline script or style is allowed, so the pages' one script (the in-browser proof check) is a static file,
and the browser makes no request to another origin whatever a page shows.
"""

from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

PUBLIC_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

public_page = csp_override(PUBLIC_CSP)
"""Decorate a public view with it."""
