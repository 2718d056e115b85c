"""The public log pages (transparency.log_views): content against the database, search, keyset paging, bad
parameters, and a fixed number of queries per page whatever the log's length."""

import base64
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adapters.ledger import merkle
from adapters.ledger.checkpoint import open_checkpoint
from governance.log_key import log_signer
from governance.models import Checkpoint, LedgerEntry
from governance.services import ledger_append
from tests.transparency.log_data import KINDS, grow_log
from transparency.log_views import CHECKPOINTS_PER_PAGE, ENTRIES_PER_PAGE

pytestmark = pytest.mark.django_db

LOG_PAGES = ("/log/", "/log/checkpoints/", "/log/entries/")


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def row_indexes(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-index="(\d+)"', text)]


def row_sizes(text: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-size="(\d+)"', text)]


def link(text: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', text)
    return html.unescape(found.group(1)) if found else None


def b64(data) -> str:
    return base64.b64encode(bytes(data)).decode()


# --- An empty log -----------------------------------------------------------------------------------------------


def test_an_empty_log_says_so_on_every_page(client):
    assert "No checkpoint has been issued yet" in page(client, "/log/")
    assert "No checkpoint has been issued yet" in page(client, "/log/checkpoints/")
    assert "No entries" in page(client, "/log/entries/")
    assert "The log is empty: there is no entry 0." in page(client, "/log/entries/0/", status=404)


# --- /log/ ------------------------------------------------------------------------------------------------------


def test_the_log_page_shows_the_latest_checkpoint_its_note_and_the_key(client):
    grow_log(7, checkpoint_every=3)
    with_newer = ledger_append(kind="test.late", actor="ada", subject="late", payload={})
    latest = Checkpoint.objects.order_by("-size").first()
    text = page(client, "/log/")
    assert latest.size == 7 and with_newer.index == 7
    assert f'<span id="checkpoint-size">{latest.size}</span> entries (the log holds 8;' in text
    assert f'<code class="hash" id="checkpoint-root">{b64(latest.root_hash)}</code>' in text
    assert bytes(latest.root_hash).hex() in text
    note = html.unescape(re.search(r'<pre class="note" id="checkpoint-note">(.*?)</pre>', text, re.S).group(1))
    assert note == latest.note
    verifier = log_signer().verifier
    assert open_checkpoint(note.encode(), verifier).size == 7
    assert f'<pre class="note" id="vkey">{verifier.vkey}</pre>' in text
    assert "manage.py ledger verify --export DIR" in text
    assert "tlog.CheckRecord" in text and "/api/v1/ledger/proofs/inclusion" in text
    assert "Witnessed by 0 of 0 participants</strong>." in text  # nobody enrolled, so nobody cosigned


def test_the_log_is_in_the_sites_navigation(client):
    text = page(client, "/")
    assert '<a href="/log/">Log</a>' in text
    assert '<a href="/log/" aria-current="page">Log</a>' in page(client, "/log/")


@pytest.mark.parametrize("url", [*LOG_PAGES, "/log/entries/0/", "/log/entries/?index=-1", "/log/entries/9/"])
def test_log_pages_forbid_inline_scripts_and_other_origins(client, url):
    """Error pages too: the policy is the page's, whatever its status."""
    grow_log(2)
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    text = response.content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)", text) == []  # only script files, never inline
    assert " style=" not in text
    assert re.findall(r'(?:src|href)="(?:https?:)?//', text) == []


# --- /log/checkpoints/ ------------------------------------------------------------------------------------------


def test_checkpoints_are_listed_newest_first_in_keyset_pages(client):
    grow_log(CHECKPOINTS_PER_PAGE + 12)
    expected = list(Checkpoint.objects.order_by("-size").values_list("size", flat=True))
    assert len(expected) == CHECKPOINTS_PER_PAGE + 12  # one per entry; the last checkpoint_issue is the same

    first = page(client, "/log/checkpoints/")
    assert row_sizes(first) == expected[:CHECKPOINTS_PER_PAGE]
    latest = Checkpoint.objects.order_by("-size").first()
    assert b64(latest.root_hash) in first
    assert link(first, "prev") is None and link(first, "first") is None
    second = page(client, link(first, "next"))
    assert row_sizes(second) == expected[CHECKPOINTS_PER_PAGE:]
    assert link(second, "next") is None
    back = page(client, link(second, "prev"))
    assert row_sizes(back) == expected[:CHECKPOINTS_PER_PAGE]
    below_all = page(client, "/log/checkpoints/?size=0")  # the first checkpoint has size 1
    assert "No checkpoint at this size or below." in below_all
    assert row_sizes(page(client, link(below_all, "prev"))) == expected[-CHECKPOINTS_PER_PAGE:]
    older = expected[-1]
    assert f"/api/v1/ledger/proofs/consistency?first={older}&amp;second={latest.size}" in second
    assert f"/api/v1/ledger/checkpoints?size={older}" in second


# --- /log/entries/ ----------------------------------------------------------------------------------------------


def test_entries_are_listed_newest_first_with_links_to_their_pages(client):
    grow_log(ENTRIES_PER_PAGE + 5, checkpoint_every=100)
    expected = list(LedgerEntry.objects.order_by("-index").values_list("index", "kind", "subject"))
    first = page(client, "/log/entries/")
    assert row_indexes(first) == [i for i, _, _ in expected[:ENTRIES_PER_PAGE]]
    for index, kind, subject in expected[:ENTRIES_PER_PAGE]:
        assert f'<a href="/log/entries/{index}/">{index}</a>' in first
        assert f"<td><code>{kind}</code></td>" in first and f'<td class="wrap">{subject}</td>' in first
    second = page(client, link(first, "next"))
    assert row_indexes(second) == [i for i, _, _ in expected[ENTRIES_PER_PAGE:]]
    assert row_indexes(page(client, link(second, "prev"))) == row_indexes(first)


def test_the_kind_select_offers_exactly_the_kinds_in_the_log(client):
    grow_log(4)
    ledger_append(kind="zz.rare_kind", actor="ada", subject="rare", payload={})
    text = page(client, "/log/entries/")
    offered = re.findall(r'<option value="([^"]*)"', text)
    assert offered == ["", *sorted(set(LedgerEntry.objects.values_list("kind", flat=True)))]
    assert offered[1:] == [*sorted(KINDS), "zz.rare_kind"]


def test_search_by_kind_and_jump_to_an_index(client):
    grow_log(3 * ENTRIES_PER_PAGE + 30, checkpoint_every=1000)
    beta = list(LedgerEntry.objects.filter(kind="test.beta").order_by("-index").values_list("index", flat=True))
    text = page(client, "/log/entries/?kind=test.beta")
    assert row_indexes(text) == beta[:ENTRIES_PER_PAGE]
    assert '<option value="test.beta" selected>' in text
    assert row_indexes(page(client, link(text, "next"))) == beta[ENTRIES_PER_PAGE:]

    text = page(client, "/log/entries/?index=70")
    assert row_indexes(text) == list(range(70, 70 - ENTRIES_PER_PAGE, -1))
    newer = page(client, link(text, "prev"))
    assert row_indexes(newer) == list(range(120, 70, -1))
    assert link(text, "first") == "/log/entries/"

    text = page(client, "/log/entries/?kind=test.beta&index=70")
    assert row_indexes(text) == [i for i in beta if i <= 70][:ENTRIES_PER_PAGE]
    assert link(text, "first") == "/log/entries/?kind=test.beta"


def test_an_index_past_the_end_shows_the_newest_page(client):
    grow_log(5)
    assert row_indexes(page(client, "/log/entries/?index=999999")) == [4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    "query, message",
    [
        ("kind=no.such_kind", "Select a valid choice"),
        ("kind=%00", "Select a valid choice"),
        ("index=-1", "greater than or equal to 0"),
        ("index=abc", "Enter a whole number"),
        ("index=1e3", "Enter a whole number"),
        (f"index={2**63}", "less than or equal to"),
    ],
)
def test_bad_entry_searches_are_a_clear_400_page(client, query, message):
    grow_log(2)
    text = page(client, f"/log/entries/?{query}", status=400)
    assert "this search cannot be answered" in text and message in text


@pytest.mark.parametrize("query", ["size=abc", "size=-5", f"size={2**64}"])
def test_bad_checkpoint_pages_are_a_clear_400_page(client, query):
    assert "this search cannot be answered" in page(client, f"/log/checkpoints/?{query}", status=400)


def test_unknown_query_parameters_are_ignored(client):
    grow_log(2)
    assert row_indexes(page(client, "/log/entries/?page=7&offset=3")) == [1, 0]


# --- /log/entries/<index>/ --------------------------------------------------------------------------------------


def test_an_entry_page_shows_the_entry_its_payload_and_a_proof_that_verifies(client):
    grow_log(11, checkpoint_every=5)
    entry = LedgerEntry.objects.get(index=6)
    checkpoint = Checkpoint.objects.order_by("-size").first()
    text = page(client, "/log/entries/6/")
    assert "<h1>Entry 6: <code>test.alpha</code></h1>" in text
    assert f'<dd class="wrap">{entry.actor}</dd>' in text and f'<dd class="wrap">{entry.subject}</dd>' in text
    assert '<th scope="row"><code>detail.ok</code></th><td class="wrap">true</td>' in text
    assert '<th scope="row"><code>detail.tags</code></th><td class="wrap">[&quot;x&quot;, 6]</td>' in text
    assert '<th scope="row"><code>note</code></th><td class="wrap">entry &lt;6&gt; &amp; co</td>' in text
    leaf = html.unescape(re.search(r'<pre class="leaf" id="leaf-json">(.*?)</pre>', text, re.S).group(1))
    assert leaf.encode() == bytes(entry.leaf)
    assert b64(entry.leaf_hash) in text

    assert f'<span id="proof-tree-size">{checkpoint.size}</span>' in text
    hashes_html = re.search(r'<ol class="hashes" id="proof-hashes">(.*?)</ol>', text, re.S).group(1)
    proof = [base64.b64decode(h) for h in re.findall(r'<code class="hash">([^<]+)</code>', hashes_html)]
    merkle.verify_inclusion(merkle.leaf_hash(leaf.encode()), 6, checkpoint.size, proof, bytes(checkpoint.root_hash))
    assert f"manage.py ledger proof --index 6 --tree-size {checkpoint.size}" in text
    assert 'id="browser-check" hidden' in text  # the button appears only when proof.js runs
    assert '<script src="/static/transparency/proof.js" defer></script>' in text


def test_an_entry_newer_than_the_latest_checkpoint_has_no_proof_yet(client):
    grow_log(3)
    late = ledger_append(kind="test.late", actor="ada", subject="late", payload={})
    text = page(client, f"/log/entries/{late.index}/")
    assert "This entry is newer than the latest checkpoint (size 3)" in text
    assert "proof.js" not in text and "This entry has an empty payload." in text


@pytest.mark.parametrize("index", ["5", "99999999999999999999999"])
def test_an_unknown_entry_is_a_404_page(client, index):
    grow_log(5)
    text = page(client, f"/log/entries/{index}/", status=404)
    assert f"there is no entry {index}" in text and "numbered 0 to 4" in text


def test_the_log_pages_are_read_only(client):
    for url in [*LOG_PAGES, "/log/entries/0/"]:
        assert client.post(url).status_code == 405


# --- Queries per page do not grow with the log ------------------------------------------------------------------


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


QUERY_PAGES = [
    "/log/",
    "/log/checkpoints/",
    "/log/checkpoints/?size=3",
    "/log/entries/",
    "/log/entries/?kind=test.beta",
    "/log/entries/?index=3",
    "/log/entries/?kind=test.gamma&index=4",
    "/log/entries/1/",
]


def test_queries_per_log_page_do_not_grow_with_entries_and_checkpoints(client):
    grow_log(5)
    small = {url: queries(client, url) for url in QUERY_PAGES}
    grow_log(3 * ENTRIES_PER_PAGE + 10)  # past several pages of entries and of checkpoints
    large = {url: queries(client, url) for url in QUERY_PAGES}
    assert large == small
    assert min(small.values()) >= 1 and max(small.values()) <= 6


def test_query_counts_are_counted(client):
    """The guard above counts real queries: each page's figure is what it runs, not what a stale log leaves."""
    grow_log(2)
    assert [queries(client, url) for url in ("/log/entries/", "/log/entries/", "/log/entries/1/")] == [3, 3, 5]
