"""The append API over real sockets (uvicorn on 127.0.0.1, httpx): the client signs, the
server checks everything again; all-or-nothing, idempotent, per-line problems, limits and
the credential (both stores)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.conftest import BUYER_NAME, LedgerEnv, shop_history
from tests.domain.builders import digest, doc, ts
from tests.server.live import serving
from trustledger import BatchRejected, Ledger, LedgerClient, SignatureRejected
from trustledger.app.transparency import create_checkpoint
from trustledger.errors import UsageError
from trustledger.ledger.envelope import parse_state
from trustledger.ledger.keys import format_private_key, generate_signing_key
from trustledger_cli.main import main
from trustledger_server import standings, writes
from trustledger_server.app import Service, create_app
from trustledger_server.problems import PROBLEM_JSON

TOKEN = "s3cret-token-for-tests"


@dataclass
class Served:
    base: str
    ledger: LedgerEnv

    def client(self, **kwargs: Any) -> LedgerClient:
        return LedgerClient(self.base, TOKEN, signer=self.ledger.bot, **kwargs)

    def post(self, path: str, content: bytes | str, token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(self.base + path, content=content, headers=headers, timeout=30)


def serve(ledger: LedgerEnv, **limits: Any) -> Iterator[Served]:
    service = Service(ledger.url, append_tokens=frozenset({TOKEN, "another"}), **limits)
    with serving(create_app(service, [writes.routes, standings.routes])) as base:
        yield Served(base, ledger)


@pytest.fixture
def served(ledger: LedgerEnv) -> Iterator[Served]:
    yield from serve(ledger)


def signed_body(served: Served, documents: list[dict[str, Any]]) -> str:
    with served.client() as client:
        return json.dumps([r.to_json() for r in client.sign(documents)])


def envelopes(ledger: LedgerEnv) -> list[tuple[bytes, bytes, str]]:
    with ledger.open() as opened:
        states = [parse_state(e.state) for e in opened.store.iter_entries()]
    return [(s.payload, s.signature, str(s.key_id)) for s in states]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- the happy path ---------------------------------------------------------------------------
def test_the_client_appends_what_a_cli_append_stores(served: Served, tmp_path: Path) -> None:
    documents = [doc("shop.registered", shop_id=f"s-{i}") for i in range(5)]
    with served.client() as client:
        outcomes = client.append(documents)
    assert [(o.line, o.position, o.status) for o in outcomes] == [
        (i + 1, i + 2, "appended") for i in range(5)
    ]
    assert served.ledger.verify().intact

    # A CLI append of the same decisions, with the same key, in a twin ledger: the signed
    # payloads, signatures and key ids are the same bytes (the recording time differs).
    twin = LedgerEnv(tmp_path / "twin.db", served.ledger.root, served.ledger.bot)
    Ledger.init(twin.url, twin.root)[0].close()
    with twin.open() as opened:
        opened.register_key(twin.bot.verifier, by=twin.root)
    key_file = tmp_path / "bot.key"
    key_file.write_bytes(format_private_key(twin.bot, b"pw"))
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(json.dumps(d) + "\n" for d in documents))
    result = CliRunner(env={"TRUSTLEDGER_KEY_PASSPHRASE": "pw"}).invoke(
        main, ["append", "--key", str(key_file), "--db", twin.url, str(decisions)]
    )
    assert result.exit_code == 0, result.output
    assert envelopes(served.ledger)[2:] == envelopes(twin)[2:]


def test_personal_data_is_sealed_by_the_server_and_signed_by_the_client(served: Served) -> None:
    with served.client() as client:
        outcomes = client.append(shop_history("s-1"))
    assert [o.status for o in outcomes] == ["appended"] * 8
    with served.ledger.open() as opened:
        complaint = list(opened.log(reveal_personal=True))[5]
        stored = list(opened.log())[5]
    assert complaint.document["personal"]["name"] == BUYER_NAME
    assert set(stored.document["personal"]) == {"subject_id", "alg", "nonce", "ciphertext"}
    assert served.ledger.verify().intact


def test_a_retried_batch_answers_with_the_same_positions(served: Served) -> None:
    documents = shop_history("s-1")
    with served.client() as client:
        records = client.sign(documents)
        first = client.commit(records)
        again = client.commit(records)
        resigned = client.append(documents)  # prepared again: another nonce, same decision
    assert [o.position for o in again] == [o.position for o in first]
    assert {o.status for o in again} == {"duplicate"}
    assert [(o.position, o.status) for o in resigned] == [(o.position, "duplicate") for o in first]
    assert served.ledger.entry_count() == 2 + 8


# -- refusals ---------------------------------------------------------------------------------
def test_a_bad_signature_is_422_with_its_line_and_nothing_written(served: Served) -> None:
    documents = [doc("shop.registered", shop_id="s-1"), doc("shop.registered", shop_id="s-2")]
    records = json.loads(signed_body(served, documents))
    records[1]["signature"] = base64.b64encode(bytes(64)).decode()
    body = assert_problem(served.post("/v1/decisions", json.dumps(records)), 422)
    assert body["title"] == "SignatureRejected"
    assert [(e["line"], e["decision_id"]) for e in body["errors"]] == [
        (2, documents[1]["decision_id"])
    ]
    assert "does not verify" in body["errors"][0]["detail"]
    assert served.ledger.entry_count() == 2


def test_a_revoked_key_is_409_per_line(served: Served) -> None:
    body = signed_body(served, [doc("shop.registered", shop_id="s-1")])
    with served.ledger.open() as opened:
        opened.revoke_key(served.ledger.bot.verifier.key_id, by=served.ledger.root)
    problem = assert_problem(served.post("/v1/decisions", body), 409)
    assert problem["title"] == "BatchRejected"
    assert [e["line"] for e in problem["errors"]] == [1]
    assert "revoked" in problem["errors"][0]["detail"]
    with served.client() as client, pytest.raises(BatchRejected, match="revoked"):
        client.append([doc("shop.registered", shop_id="s-2")])
    assert served.ledger.entry_count() == 3


def test_a_rule_violation_is_409_per_line_and_nothing_is_written(served: Served) -> None:
    documents = [
        doc("shop.registered", shop_id="s-1"),
        doc("shop.registered", shop_id="s-2"),
        doc("complaint.substantiated", shop_id="s-1", occurred_at=ts(days=1)),
    ]
    problem = assert_problem(served.post("/v1/decisions", signed_body(served, documents)), 409)
    assert [(e["line"], e["decision_id"]) for e in problem["errors"]] == [
        (3, documents[2]["decision_id"])
    ]
    with served.client() as client, pytest.raises(BatchRejected) as caught:
        client.append(documents)
    assert [line for line, _, _ in caught.value.problems] == [3]
    assert served.ledger.entry_count() == 2


def test_an_invalid_document_with_personal_data_is_named_by_its_line(served: Served) -> None:
    good = doc("shop.registered", shop_id="s-1")
    bad = doc("complaint.filed", shop_id="s-1", personal={"subject_id": "b-1", "x": 1.5})
    with served.client() as client, pytest.raises(BatchRejected) as caught:
        client.append([good, bad])
    assert [line for line, _, _ in caught.value.problems] == [2]


def test_the_decision_size_limits_hold_on_both_routes(served: Served) -> None:
    # personal data goes through :prepare, the rest is signed by the client: both refuse.
    chatty = doc("shop.registered", shop_id="s-1",
                 personal={"subject_id": "owner-1", "note": "x" * 20_000})  # fmt: skip
    big = doc("complaint.filed", shop_id="s-1", evidence=[digest(f"e-{i}") for i in range(1_100)])
    with served.client() as client, pytest.raises(BatchRejected) as caught:
        client.append([chatty])
    [(line, _, detail)] = caught.value.problems
    assert (line, detail.split(";")[0]) == (1, "personal: 20,034 bytes encoded")
    body = signed_body(served, [doc("shop.registered", shop_id="s-1"), big])
    problem = assert_problem(served.post("/v1/decisions", body), 409)
    [error] = problem["errors"]
    assert error["line"] == 2 and error["detail"].startswith("the decision is 7")
    assert "at most 65,535 are accepted" in error["detail"]
    assert served.ledger.entry_count() == 2


def test_a_forged_signature_is_a_signature_rejected(served: Served) -> None:
    other = generate_signing_key("bot")  # same name, another key: another key id
    with (
        LedgerClient(served.base, TOKEN, signer=other) as client,
        pytest.raises(BatchRejected, match="not registered"),
    ):
        client.append([doc("shop.registered")])
    records = json.loads(signed_body(served, [doc("shop.registered", shop_id="s-1")]))
    records[0]["payload"] = records[0]["payload"].replace('"s-1"', '"s-2"')
    with served.client() as client:
        from trustledger.app.client import SignedRecord

        with pytest.raises(SignatureRejected):
            client.commit([SignedRecord(**records[0])])


def test_malformed_json_is_400_naming_the_line(served: Served) -> None:
    good = json.loads(signed_body(served, [doc("shop.registered")]))[0]
    body = json.dumps(good) + '\n{"payload": "x", oops\n'
    problem = assert_problem(served.post("/v1/decisions", body), 400)
    assert [e["line"] for e in problem["errors"]] == [2]
    assert problem["detail"].startswith("line 2: malformed JSON")
    problem = assert_problem(served.post("/v1/decisions", b"\xff\xfe"), 400)
    assert "not UTF-8" in problem["detail"]
    assert_problem(served.post("/v1/decisions", ""), 400)
    assert served.ledger.entry_count() == 2


@pytest.mark.sqlite_only
def test_an_oversized_body_is_413(ledger: LedgerEnv) -> None:
    for served in serve(ledger, max_request_bytes=4096):
        big = "[" + ",".join(["{}"] * 3000) + "]"
        problem = assert_problem(served.post("/v1/decisions", big), 413)
        assert "4096 bytes" in problem["detail"]

        # No Content-Length (chunked): counted as the bytes arrive.
        def chunks() -> Iterator[bytes]:
            for _ in range(100):
                yield b" " * 100

        response = httpx.post(
            served.base + "/v1/decisions",
            content=chunks(),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413)
        with served.client() as client, pytest.raises(UsageError, match="413"):
            client.append([doc("shop.registered", shop_id=f"s-{i}") for i in range(40)])
    assert ledger.entry_count() == 2


@pytest.mark.sqlite_only
def test_more_records_than_a_batch_allows_is_413(ledger: LedgerEnv) -> None:
    for served in serve(ledger, max_batch=3):
        documents = [doc("shop.registered", shop_id=f"s-{i}") for i in range(4)]
        problem = assert_problem(served.post("/v1/decisions", signed_body(served, documents)), 413)
        assert "more than 3 records" in problem["detail"]
        with served.client() as client:
            assert len(client.append(documents[:3])) == 3


def test_posting_needs_a_valid_bearer_token_and_reads_none(served: Served) -> None:
    body = signed_body(served, [doc("shop.registered", shop_id="s-1")])
    for token in (None, "wrong", TOKEN + "x", ""):
        response = served.post("/v1/decisions", body, token=token)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_problem(served.post("/v1/decisions:prepare", "{}", token=token), 401)
    response = httpx.post(
        served.base + "/v1/decisions", content=body, headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert_problem(response, 401)
    with (
        LedgerClient(served.base, "wrong", signer=served.ledger.bot) as client,
        pytest.raises(UsageError, match="401"),
    ):
        client.append([doc("shop.registered", shop_id="s-2")])
    assert served.ledger.entry_count() == 2
    assert served.post("/v1/decisions", body, token="another").status_code == 200
    # Reads need no credential.
    assert httpx.get(served.base + "/v1/shops/s-1/standing").status_code == 200


def test_writes_are_disabled_without_configured_tokens(ledger: LedgerEnv) -> None:
    service = Service(ledger.url)
    with serving(create_app(service, [writes.routes])) as base:
        response = httpx.post(base + "/v1/decisions", content="[]", headers={"Authorization": ""})
        assert_problem(response, 401)


# -- concurrency ------------------------------------------------------------------------------
CLIENTS = 8
BATCHES = 4
PER_BATCH = 10


def test_eight_concurrent_clients_lose_nothing_and_double_nothing(served: Served) -> None:
    with served.client() as client:
        client.append([doc("shop.registered", shop_id="shared")])
    positions: list[list[int]] = [[] for _ in range(CLIENTS)]
    failures: list[BaseException] = []
    start = threading.Barrier(CLIENTS)

    def post(worker: int) -> None:
        try:
            with served.client() as client:
                shops = [f"w{worker}-{i}" for i in range(PER_BATCH)]
                start.wait()
                out = client.append([doc("shop.registered", shop_id=s) for s in shops])
                positions[worker] += [o.position for o in out]
                for batch in range(BATCHES):
                    documents = [
                        doc(
                            "complaint.filed",
                            shop_id=shop,
                            occurred_at=ts(hours=1),
                            complaint_id=f"c-{worker}-{batch}",
                        )
                        for shop in [*shops, "shared"]
                    ]
                    records = client.sign(documents)
                    out = client.commit(records)
                    assert client.commit(records) == [
                        type(o)(o.line, o.decision_id, o.position, "duplicate") for o in out
                    ]
                    positions[worker] += [o.position for o in out]
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(w,)) for w in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    every = [p for worker in positions for p in worker]
    expected = CLIENTS * (PER_BATCH + BATCHES * (PER_BATCH + 1))
    assert len(every) == expected
    assert sorted(every) == list(range(3, 3 + expected))  # none lost, none doubled
    assert served.ledger.entry_count() == 3 + expected
    assert served.ledger.verify().intact


# -- standing ---------------------------------------------------------------------------------
def test_the_standing_of_a_shop_with_the_size_and_checkpoint(served: Served) -> None:
    with served.client() as client:
        client.append(shop_history("s-1"))
    url = served.base + "/v1/shops/s-1/standing"
    answer = httpx.get(url, params={"at": ts(days=6)}).json()
    assert answer["shop_id"] == "s-1"
    assert answer["as_of"] == ts(days=6)
    assert answer["ledger_size"] == 10
    assert answer["checkpoint"] is None
    # The standing is the CLI's, replayed from the same entries.
    args = ["standing", "s-1", "--as-of", ts(days=6), "--at-position", "9", "--json"]
    cli = CliRunner().invoke(main, [*args, "--db", served.ledger.url])
    assert cli.exit_code == 0, cli.output
    assert {k: v for k, v in answer.items() if k not in ("ledger_size", "checkpoint")} == (
        json.loads(cli.stdout)
    )

    log_key = generate_signing_key("log")
    with served.ledger.open() as opened:
        note = create_checkpoint(opened.store, log_key)
    with served.client() as client:
        client.append([doc("shop.registered", shop_id="s-2")])
    answer = httpx.get(url, params={"at": ts(days=30)}).json()
    assert answer["ledger_size"] == 11
    assert answer["checkpoint"]["size"] == 10
    assert answer["checkpoint"]["note"] == note.decode()
    assert answer["checkpoint"]["root_hash"] == note.decode().split("\n")[2]  # C2SP checkpoint

    before = httpx.get(url, params={"at": ts(hours=-1)})
    assert_problem(before, 404)  # not registered by then
    assert_problem(httpx.get(served.base + "/v1/shops/nope/standing"), 404)
    bad = assert_problem(httpx.get(url, params={"at": "yesterday"}), 400)
    assert "at" in bad["detail"]
