"""Delta-sync: `MarketClient.plan` / `plan_deltas` and `opm-adapter sync` against a small fake plan server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.cli import main
from adapters.delta import diff
from adapters.plan import PassStep, Plan, reference_plan
from adapters.sdk import ApiError, MarketClient
from adapters.sync import SyncState, load_state, sync

BASE_URL = "https://market.test"
CLASS = "llvm/text-bytes"


def promoted_plans() -> list[Plan]:
    """Versions 1..4 of the class: each one edit of the one before (passes, parameters, knobs)."""
    oz = PassStep("default", {"level": "Oz"})
    return [
        Plan("llvm", (oz, PassStep("gvn")), {}),
        Plan("llvm", (oz, PassStep("gvn"), PassStep("licm")), {"opt": {"inline-threshold": 50}}),
        Plan("llvm", (PassStep("sroa"), oz, PassStep("licm")), {"opt": {"inline-threshold": 25}}),
        Plan("llvm", (PassStep("sroa"), oz, PassStep("licm"), PassStep("gvn")), {"llc": {"enable-ipra": True}}),
    ]


class PlanServer:
    """The two public plan endpoints, for one problem class whose version 0 is the llvm reference plan."""

    def __init__(self, versions: int = 3) -> None:
        self.chain = [reference_plan("llvm"), *promoted_plans()[:versions]]
        self.deltas: list[dict[str, Any]] = []
        for sequence in range(1, len(self.chain)):
            wire = diff(self.chain[sequence - 1], self.chain[sequence]).to_json()
            self.deltas.append({"sequence": sequence, **wire})
        self.requests: list[httpx.Request] = []
        self.claimed_version: int | None = None  # a version to answer regardless of the deltas held

    def promote(self, plan: Plan) -> None:
        self.deltas.append({"sequence": len(self.chain), **diff(self.chain[-1], plan).to_json()})
        self.chain.append(plan)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/plans/deltas":
            problem_class, since = request.url.params["problem_class"], int(request.url.params["since"])
            if problem_class != CLASS:
                return problem(404, "not_found", f"no problem class {problem_class!r}")
            version = len(self.deltas) if self.claimed_version is None else self.claimed_version
            return httpx.Response(200, json={"problem_class": CLASS, "version": version, "deltas": self.deltas[since:]})
        if path.startswith("/api/v1/plans/"):
            ref = path.removeprefix("/api/v1/plans/")
            for number, plan in enumerate(self.chain):
                if ref in (str(number + 1), plan.content_hash()):
                    document = {"id": number + 1, "toolchain": "llvm", "content_hash": plan.content_hash()}
                    return httpx.Response(200, json={**document, "body": plan.to_json()})
            return problem(404, "not_found", f"no plan {ref}")
        return problem(404, "not_found", "no such endpoint")


def problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "about:blank", "status": status, "code": code, "detail": detail},
        headers={"Content-Type": "application/problem+json"},
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> PlanServer:
    """The fake server behind every httpx client the CLI makes (no network)."""
    fake = PlanServer()
    real_client = httpx.Client
    monkeypatch.setattr("adapters.sdk.httpx.Client", lambda **kw: real_client(**kw | {"transport": fake.transport()}))
    return fake


@pytest.fixture
def client() -> Iterator[tuple[MarketClient, PlanServer]]:
    fake = PlanServer()
    with MarketClient(BASE_URL, transport=fake.transport(), retries=0) as market:
        yield market, fake


def run_sync(state: Path, *extra: str) -> int:
    return main(["sync", "--server", BASE_URL, "--problem-class", CLASS, "--state", str(state), *extra])


# --- the client -------------------------------------------------------------------------------------------------


def test_a_plan_is_fetched_by_id_or_hash_without_a_key(client: tuple[MarketClient, PlanServer]) -> None:
    market, fake = client
    by_id = market.plan("2")
    assert by_id["content_hash"] == fake.chain[1].content_hash()
    assert Plan.from_json(by_id["body"]).content_hash() == by_id["content_hash"]
    assert market.plan(fake.chain[1].content_hash()) == by_id
    assert [request.url.path for request in fake.requests] == [
        "/api/v1/plans/2",
        f"/api/v1/plans/{fake.chain[1].content_hash()}",
    ]
    assert all("Authorization" not in request.headers for request in fake.requests)
    with pytest.raises(ApiError) as missing:
        market.plan("99")
    assert missing.value.code == "not_found" and missing.value.status == 404


@pytest.mark.parametrize("ref", ["", "abc", "1/../2", "AB" * 32, "-1", "²"])
def test_a_plan_reference_is_an_id_or_a_content_hash(client: tuple[MarketClient, PlanServer], ref: str) -> None:
    with pytest.raises(ValueError, match="expected a numeric id or a 64-digit hex content hash"):
        client[0].plan(ref)
    assert client[1].requests == []


def test_deltas_are_fetched_since_a_version(client: tuple[MarketClient, PlanServer]) -> None:
    market, fake = client
    document = market.plan_deltas(CLASS, 1)
    assert document["version"] == 3 and [delta["sequence"] for delta in document["deltas"]] == [2, 3]
    assert fake.requests[-1].url.path == "/api/v1/plans/deltas"
    assert dict(fake.requests[-1].url.params) == {"problem_class": CLASS, "since": "1"}
    with pytest.raises(ValueError, match="since"):
        market.plan_deltas(CLASS, -1)


def test_a_delta_answer_without_a_list_is_a_bad_response() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"results": []}))
    with MarketClient(BASE_URL, transport=transport, retries=0) as market, pytest.raises(ApiError) as caught:
        market.plan_deltas(CLASS, 0)
    assert caught.value.code == "bad_response"


def test_sync_applies_the_deltas_in_order(client: tuple[MarketClient, PlanServer]) -> None:
    market, fake = client
    synced = sync(market, SyncState(CLASS, 0, reference_plan("llvm")))
    assert synced == SyncState(CLASS, 3, fake.chain[3])


# --- the command ------------------------------------------------------------------------------------------------


def test_sync_starts_from_the_reference_plan_and_writes_the_state(server: PlanServer, tmp_path: Path, capsys) -> None:
    state, plan_out = tmp_path / "state.json", tmp_path / "plan.json"
    assert run_sync(state, "--plan-out", str(plan_out)) == 0
    head = server.chain[3]
    assert capsys.readouterr().out == f"problem class {CLASS}: version 0 -> 3 (plan {head.content_hash()[:12]})\n"
    assert json.loads(state.read_text()) == {"problem_class": CLASS, "version": 3, "plan": head.to_json()}
    assert Plan.from_json(json.loads(plan_out.read_text())) == head
    assert load_state(state, CLASS) == SyncState(CLASS, 3, head)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plan.json", "state.json"]  # no temporary file
    assert all("Authorization" not in request.headers for request in server.requests)


def test_sync_fetches_only_what_is_new(server: PlanServer, tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    assert run_sync(state) == 0
    assert run_sync(state) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"problem class {CLASS}: version 3 -> 3 (plan ")
    server.promote(promoted_plans()[3])
    assert run_sync(state) == 0
    assert f"version 3 -> 4 (plan {server.chain[4].content_hash()[:12]})" in capsys.readouterr().out
    assert [request.url.params["since"] for request in server.requests] == ["0", "3", "3"]
    assert load_state(state, CLASS).plan == server.chain[4]


def test_a_delta_for_another_parent_is_rejected_and_the_state_kept(server: PlanServer, tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    server.deltas = server.deltas[:1]
    server.chain = server.chain[:2]
    assert run_sync(state) == 0
    before = state.read_bytes()
    # Version 2 as a delta from the reference plan, not from version 1: it must not be merged.
    server.deltas.append({"sequence": 2, **diff(reference_plan("llvm"), promoted_plans()[1]).to_json()})
    capsys.readouterr()
    assert run_sync(state) == 1
    err = capsys.readouterr().err
    parent = server.chain[1].content_hash()[:12]
    assert f"delta 2 of {CLASS}: the delta applies to plan {reference_plan('llvm').content_hash()[:12]}" in err
    assert f"not to plan {parent}" in err and err.count("\n") == 1
    assert state.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_a_delta_with_a_tampered_op_is_rejected(server: PlanServer, tmp_path: Path, capsys) -> None:
    state, plan_out = tmp_path / "state.json", tmp_path / "plan.json"
    server.deltas[1]["ops"][-1]["value"] = 51  # the inline-threshold of version 2
    assert run_sync(state, "--plan-out", str(plan_out)) == 1
    assert "delta 2 of llvm/text-bytes: the delta produced plan" in capsys.readouterr().err
    assert not state.exists() and not plan_out.exists() and list(tmp_path.iterdir()) == []


def drop_the_second_delta(server: PlanServer) -> None:
    del server.deltas[1]
    server.claimed_version = 3


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (drop_the_second_delta, "the server sent 2 deltas from version 0 to 3, not 3"),
        (lambda s: s.deltas[1].update(sequence=5), "expected the delta with sequence 2, got 5"),
        (lambda s: s.deltas[0]["ops"].append({"op": "eval", "index": 0}), r"delta 1 of .*ops\[\d+\]\.op: expected one"),
        (lambda s: s.deltas[0].update(parent="x"), "delta 1 of .*parent: expected a lowercase hex SHA-256"),
    ],
)
def test_a_malformed_answer_stops_the_sync(server: PlanServer, tmp_path: Path, capsys, tamper, message) -> None:
    tamper(server)
    assert run_sync(tmp_path / "state.json") == 1
    err = capsys.readouterr().err
    assert err.startswith("opm-adapter: error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


def test_a_server_behind_the_state_is_an_error(server: PlanServer, tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"problem_class": CLASS, "version": 7, "plan": server.chain[3].to_json()}))
    assert run_sync(state) == 1
    assert "the server is at version 3 of llvm/text-bytes, behind this state's 7" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"problem_class": "gcc/text-bytes", "version": 0, "plan": {"toolchain": "gcc", "passes": []}},
            "holds problem",
        ),
        ({"problem_class": CLASS, "version": -1, "plan": {"toolchain": "llvm", "passes": []}}, "version: expected"),
        ({"problem_class": CLASS, "version": 0, "plan": {"toolchain": "gcc", "passes": []}}, "a 'gcc' plan for"),
        ({"problem_class": CLASS, "version": 0}, "exactly the keys"),
        ({"problem_class": CLASS, "version": 0, "plan": {"toolchain": "llvm", "passes": [{"n": 1}]}}, "plan: passes"),
    ],
)
def test_a_bad_state_file_is_a_usage_error(server: PlanServer, tmp_path: Path, capsys, document, message) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(document))
    assert run_sync(state) == 2
    assert message in capsys.readouterr().err and server.requests == []


def test_an_unknown_toolchain_or_server_url_is_a_usage_error(server: PlanServer, tmp_path: Path, capsys) -> None:
    state = str(tmp_path / "state.json")
    assert main(["sync", "--server", BASE_URL, "--problem-class", "nope/size", "--state", state]) == 2
    assert "no reference plan for 'nope'" in capsys.readouterr().err
    assert main(["sync", "--server", "market.test", "--problem-class", CLASS, "--state", state]) == 2
    assert "expected an https URL" in capsys.readouterr().err


def test_a_server_refusal_is_one_line(server: PlanServer, tmp_path: Path, capsys) -> None:
    assert main(["sync", "--server", BASE_URL, "--problem-class", "llvm/other", "--state", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "no problem class 'llvm/other' (not_found, HTTP 404)" in err and err.count("\n") == 1
