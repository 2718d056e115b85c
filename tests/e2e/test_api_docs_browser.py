"""The API docs work offline: Redoc and Swagger UI render in a real browser that may reach only our server.

Every request to another origin (a CDN, Google Fonts, an online validator) is refused and recorded; the test
fails if there was any, or if the docs did not render the schema.
"""

import shutil

import pytest

from tests.e2e.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (test.sh installs it)"),
]

PAGES = {
    "/api/v1/schema/redoc/": "h1:has-text('OpenPassMarket API')",
    "/api/v1/schema/swagger/": ".swagger-ui .opblock-summary-path:has-text('/api/v1/tasks/lease')",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", PAGES)
def test_the_docs_render_without_leaving_the_server(path, browser, live_server):
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_our_server(route) -> None:
        url = route.request.url
        if url.startswith((live_server.url, "data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_our_server)
    page = context.new_page()
    page.goto(live_server.url + path)
    page.wait_for_selector(PAGES[path], timeout=30_000)
    page.wait_for_load_state("networkidle")
    context.close()
    assert elsewhere == []
