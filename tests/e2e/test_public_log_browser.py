"""The public site's log pages in a real browser (Debian's Chromium through Playwright): with and without
JavaScript, at 1366 px and on a phone, content against the database, no horizontal overflow, no request to
another origin, axe-core's accessibility scan, and the in-browser inclusion check passing on a real entry
and failing on a tampered one."""

import base64
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from governance.models import Checkpoint, LedgerEntry
from tests.transparency.log_data import grow_log

from .conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 375, "height": 740}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (test.sh installs it)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def log_key_with_a_plus(settings, tmp_path):
    """A log key whose verifier key has a "+" inside its base64 (about half of all keys do): the browser must
    split the key's fields on the first two "+" only."""
    from adapters.ledger.note import generate_signer_key

    while "+" not in (pair := generate_signer_key(settings.OPM_LOG_ORIGIN))[1].split("+", 2)[2]:
        pass
    settings.OPM_KEY_DIR = tmp_path / "keys"
    settings.OPM_KEY_DIR.mkdir()
    (settings.OPM_KEY_DIR / "log.skey").write_text(pair[0] + "\n")
    return pair[1]


@pytest.fixture
def public_log(board, log_key_with_a_plus):
    """The board's own entries (real governance services), then test entries and checkpoints; one entry newer
    than the latest checkpoint."""
    grow_log(60, checkpoint_every=7)
    from governance.services import ledger_append

    ledger_append(kind="test.after_checkpoint", actor="ada", subject="late", payload={"late": True})
    return Checkpoint.objects.order_by("-size").first()


def b64(data) -> str:
    return base64.b64encode(bytes(data)).decode()


def open_page(browser, *, javascript: bool, viewport: str, bypass_csp: bool = False):
    """A fresh page recording every URL it requests."""
    context = browser.new_context(java_script_enabled=javascript, viewport=VIEWPORTS[viewport], bypass_csp=bypass_csp)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    return page


def check_layout(page, where: str) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{where} overflows horizontally at {page.viewport_size['width']} px"


def rows(page, attribute: str) -> list[int]:
    return [
        int(v)
        for v in page.eval_on_selector_all(f"tr[{attribute}]", f"rows => rows.map(r => r.dataset.{attribute[5:]})")
    ]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_log_page_shows_the_database_and_fits(browser, live_server, axe, public_log, javascript, viewport):
    latest = public_log
    entry = LedgerEntry.objects.get(index=latest.size - 3)
    page = open_page(browser, javascript=javascript, viewport=viewport, bypass_csp=javascript)
    visited = []

    def visit(path: str) -> None:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        visited.append(path)
        check_layout(page, path)
        if javascript:
            assert axe(page) == [], path

    visit("/log/")
    assert page.inner_text("#checkpoint-size") == str(latest.size)
    assert page.inner_text("#checkpoint-root") == b64(latest.root_hash)
    assert page.text_content("#checkpoint-note") == latest.note
    assert "manage.py ledger verify --export DIR" in page.inner_text("#offline")
    assert page.get_attribute("nav[aria-label=Sections] a[aria-current=page]", "href") == "/log/"

    visit("/log/checkpoints/")
    sizes = list(Checkpoint.objects.order_by("-size").values_list("size", flat=True))
    assert rows(page, "data-size") == sizes[:50]

    visit("/log/entries/")
    newest = list(LedgerEntry.objects.order_by("-index").values_list("index", flat=True))
    assert rows(page, "data-index") == newest[:50]
    page.select_option("#id_kind", "test.beta")
    page.click("form.search button[type=submit]")
    visited.append(page.url)
    check_layout(page, "entries of one kind")
    beta = list(LedgerEntry.objects.filter(kind="test.beta").order_by("-index").values_list("index", flat=True))
    assert "kind=test.beta" in page.url and rows(page, "data-index") == beta[:50]
    page.fill("#id_index", str(entry.index))
    page.select_option("#id_kind", "")
    page.click("form.search button[type=submit]")
    assert rows(page, "data-index")[0] == entry.index
    page.click(f"a[href='/log/entries/{entry.index}/']")
    visited.append(page.url)

    assert page.inner_text("h1") == f"Entry {entry.index}: {entry.kind}"
    assert page.text_content("#leaf-json") == bytes(entry.leaf).decode()
    assert page.inner_text("#leaf-hash") == b64(entry.leaf_hash)
    assert page.inner_text("#proof-tree-size") == str(latest.size)
    check_layout(page, "entry page")
    page.click("details summary")  # the canonical JSON, opened, must wrap too
    check_layout(page, "entry page with the leaf open")
    assert page.is_visible("#check-button") is javascript  # the check needs JavaScript; the page does not
    if javascript:
        assert axe(page) == []

    foreign = [url for url in page.requested if urlsplit(url).netloc != urlsplit(live_server.url).netloc]
    assert foreign == [] and len(visited) >= 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"public-log-entry-{viewport}-{'js' if javascript else 'nojs'}.png"))


def run_check(page) -> str:
    page.click("#check-button")
    page.wait_for_selector("#check-verdict")
    return page.inner_text("#check-result")


def test_the_browser_check_passes_on_a_real_entry_under_the_sites_policy(browser, live_server, public_log):
    entry = LedgerEntry.objects.get(index=public_log.size - 1)
    page = open_page(browser, javascript=True, viewport="desktop")  # the site's own CSP in force
    errors = []
    # script errors, and any CSP refusal (the browser's own favicon probe, a 404, is no error of the page)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{live_server.url}/log/entries/{entry.index}/")
    assert page.get_attribute("#check-result", "aria-live") == "polite"
    result = run_check(page)
    assert result.startswith("Passed: this entry is included in the log's latest signed checkpoint."), result
    assert f"size {public_log.size}, root {b64(public_log.root_hash)}" in result
    assert f"Leaf hash SHA-256(0x00 ‖ leaf): {b64(entry.leaf_hash)}" in result
    assert "the checkpoint's signature verifies with the log's key" in result
    assert errors == []
    assert all(urlsplit(url).netloc == urlsplit(live_server.url).netloc for url in page.requested)
    page.screenshot(path=str(ARTIFACTS / "public-log-proof-passed.png"))


def flip_byte(text: str, at: int = 0) -> str:
    data = bytearray(base64.b64decode(text))
    data[at] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


def tamper_proof(body: dict) -> dict:
    body["hashes"][0] = flip_byte(body["hashes"][0])
    return body


def tamper_leaf(body: dict) -> dict:
    leaf = base64.b64decode(body["entries"][0]["leaf_b64"]).replace(b'"actor":"', b'"actor":"x', 1)
    body["entries"][0]["leaf_b64"] = base64.b64encode(leaf).decode()
    return body


@pytest.mark.parametrize(
    "pattern, tamper, says",
    [
        ("**/api/v1/ledger/proofs/inclusion?*", tamper_proof, "not the checkpoint's root"),
        ("**/api/v1/ledger/entries?*", tamper_leaf, "differs from the canonical JSON shown on this page"),
    ],
    ids=["proof-hash", "leaf"],
)
def test_the_browser_check_fails_on_a_tampered_response(browser, live_server, public_log, pattern, tamper, says):
    page = open_page(browser, javascript=True, viewport="phone")
    page.goto(f"{live_server.url}/log/entries/{public_log.size - 5}/")

    def alter(route):
        response = route.fetch()
        route.fulfill(response=response, body=json.dumps(tamper(response.json())))

    page.route(pattern, alter)
    result = run_check(page)
    assert result.startswith("FAILED: this entry could not be shown to be in the log's latest checkpoint."), result
    assert says in result
    assert page.get_attribute("#check-verdict", "class") == "verdict bad"


def test_the_browser_check_fails_on_a_forged_checkpoint_signature(browser, live_server, public_log):
    page = open_page(browser, javascript=True, viewport="desktop")
    page.goto(f"{live_server.url}/log/entries/3/")

    def forge(route):
        # the blob is key ID (4 bytes) || Ed25519 signature: alter the signature, keep the key ID
        text, signature = route.fetch().text().rsplit(" ", 1)
        route.fulfill(status=200, content_type="text/plain", body=f"{text} {flip_byte(signature.strip(), at=10)}\n")

    page.route("**/api/v1/ledger/checkpoint", forge)
    result = run_check(page)
    assert result.startswith("FAILED"), result
    assert "lead to the checkpoint's root" in result  # the proof itself still holds: only the signature fails
    assert "the checkpoint's signature does not verify with the log's key" in result


def test_an_entry_newer_than_the_checkpoint_offers_no_check(browser, live_server, public_log):
    page = open_page(browser, javascript=True, viewport="phone")
    page.goto(f"{live_server.url}/log/entries/{public_log.size}/")
    assert "newer than the latest checkpoint" in page.inner_text("#no-proof")
    assert page.query_selector("#check-button") is None
    assert [u for u in page.requested if "proof.js" in u] == []
