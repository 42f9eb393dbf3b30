"""``POST /add-checkpoint`` (C2SP tlog-witness) over a real socket: each status code of the
spec, rollbacks and forks refused, concurrent requests never both cosigned."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import serving
from tests.server.witnessing import FORK, ORIGIN, body, checkpoint, consistency, post
from trustledger.app.witness import STATE_FILE, Witness, load_state
from trustledger.ledger.checkpoint import add_signatures, parse_checkpoint
from trustledger.ledger.cosignature import CosignerKey, verify_cosignature_quorum
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.ledger.note import parse_note, parse_signature_line
from trustledger_server.problems import PROBLEM_JSON
from trustledger_server.witness import MAX_BODY_BYTES, create_witness_app

LOG = generate_signing_key(ORIGIN)
IMPOSTOR = generate_signing_key(ORIGIN)  # the log's name, another key
W1 = generate_signing_key("w1.example")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "w1"


@pytest.fixture
def base(state: Path) -> Iterator[str]:
    witness = Witness(W1, state, {ORIGIN: [LOG.verifier]})
    with serving(create_witness_app(witness)) as url:
        yield url


def cosigned_size(state: Path) -> int:
    return load_state(state)[ORIGIN].checkpoint.size


def cosign(base: str, old: int, size: int) -> None:
    response = post(base, body(old, size, LOG))
    assert response.status_code == 200, response.text


def assert_problem(response: httpx.Response, status: int, title: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["title"] == title
    detail: str = problem["detail"]
    return detail


def test_a_consistent_checkpoint_is_cosigned(base: str, state: Path) -> None:
    before = int(time.time())
    response = post(base, body(0, 5, LOG))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("— w1.example ") and response.text.count("\n") == 1
    line = parse_signature_line(response.text[:-1])
    note = add_signatures(parse_note(checkpoint(5, LOG)), [line])
    [(_, at)] = verify_cosignature_quorum(
        note, witnesses=[CosignerKey.from_verifier(W1.verifier)], quorum=1
    )
    assert before <= at <= time.time()
    assert cosigned_size(state) == 5
    response = post(base, body(5, 9, LOG))
    assert response.status_code == 200
    assert cosigned_size(state) == 9
    cosign(base, 9, 9)  # the same checkpoint again: cosigned again


def test_a_stale_old_size_is_409_with_the_size_cosigned(base: str, state: Path) -> None:
    response = post(base, body(3, 9, LOG))  # never cosigned anything: its size is 0
    assert (response.status_code, response.text) == (409, "0\n")
    assert response.headers["content-type"] == "text/x.tlog.size"
    cosign(base, 0, 5)
    for old in (0, 3, 7):
        response = post(base, body(old, 9, LOG))
        assert (response.status_code, response.text) == (409, "5\n")
        assert response.headers["content-type"] == "text/x.tlog.size"
    assert cosigned_size(state) == 5


def test_an_unknown_origin_is_404(base: str, state: Path) -> None:
    other = generate_signing_key("example.com/other")
    response = post(base, body(0, 5, other, origin="example.com/other"))
    detail = assert_problem(response, 404, "UnknownLog")
    assert detail == "this witness does not follow the log 'example.com/other'"
    assert not (state / STATE_FILE).exists()


@pytest.mark.parametrize("signer", [IMPOSTOR, generate_signing_key("someone-else")])
def test_a_checkpoint_no_trusted_key_verifies_is_403(base: str, signer: SigningKey) -> None:
    response = post(base, body(0, 5, signer))
    assert_problem(response, 403, "LogSignatureRejected")


def test_a_proof_that_does_not_verify_is_422(base: str, state: Path) -> None:
    cosign(base, 0, 5)
    proof = consistency(5, 9)
    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    detail = assert_problem(post(base, body(5, 9, LOG, proof=flipped)), 422, "ProofRejected")
    assert detail.startswith("refusing to cosign: consistency proof 5→9 does not match")
    empty = assert_problem(post(base, body(5, 9, LOG, proof=[])), 422, "ProofRejected")
    assert empty == "refusing to cosign: empty consistency proof"
    assert cosigned_size(state) == 5


def test_a_non_empty_proof_from_size_zero_is_422(base: str) -> None:
    response = post(base, body(0, 9, LOG, proof=consistency(5, 9)))
    assert assert_problem(response, 422, "ProofRejected") == (
        "the consistency proof from size 0 must be empty"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello\n",
        b"old 05\n\n" + checkpoint(5, LOG),
        b"old 5\nnot base64\n\n" + checkpoint(5, LOG),
        b"old 0\n\nnot a checkpoint\n\n\xe2\x80\x94 x AAAA\n",
        body(9, 5, LOG),  # old size above the checkpoint's
        body(3, 9, LOG, proof=[bytes(32)] * 64),  # more than 63 proof lines
    ],
)
def test_a_malformed_request_is_400(base: str, state: Path, data: bytes) -> None:
    assert_problem(post(base, data), 400, "MalformedRequest")
    assert not (state / STATE_FILE).exists()


def test_a_body_too_large_is_413_and_other_methods_405(base: str) -> None:
    response = post(base, b"old 0\n" + b"A" * MAX_BODY_BYTES)
    assert_problem(response, 413, "Content Too Large")
    assert httpx.get(base + "/add-checkpoint").status_code == 405


def test_a_rollback_is_refused(base: str, state: Path) -> None:
    cosign(base, 0, 9)
    detail = assert_problem(post(base, body(9, 5, LOG)), 400, "RollbackRefused")
    assert detail == "refusing to cosign a rollback: size 5 after size 9"
    response = post(base, body(5, 5, LOG))
    assert (response.status_code, response.text) == (409, "9\n")
    assert cosigned_size(state) == 9


def test_a_fork_is_refused(base: str, state: Path) -> None:
    cosign(base, 0, 9)
    # Another root for the size cosigned: 409 (not the size conflict: no size body).
    detail = assert_problem(post(base, body(9, 9, LOG, leaves=FORK)), 409, "ForkRefused")
    assert detail.startswith("refusing to cosign a fork: size 9 was cosigned with root ")
    # A larger tree that does not extend it: no proof can verify.
    forked = body(9, 12, LOG, leaves=FORK, proof=consistency(9, 12, FORK))
    assert_problem(post(base, forked), 422, "ProofRejected")
    assert load_state(state)[ORIGIN].checkpoint == parse_checkpoint(
        parse_note(checkpoint(9, LOG)).text
    )


def test_concurrent_requests_never_cosign_two_views(base: str, state: Path) -> None:
    # 16 clients all from size 5: half the log (sizes 6..13), half a fork of it that
    # agrees up to size 5. Whichever is recorded first, every other one is stale.
    cosign(base, 0, 5)
    bodies = [body(5, 6 + i // 2, LOG, leaves=FORK) if i % 2 else body(5, 6 + i // 2, LOG)
              for i in range(16)]  # fmt: skip
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response] = []

    def client(data: bytes) -> None:
        barrier.wait()
        responses.append(post(base, data))

    threads = [threading.Thread(target=client, args=(data,)) for data in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 15
    size = cosigned_size(state)
    assert {r.text for r in responses if r.status_code == 409} == {f"{size}\n"}


def test_a_state_it_cannot_trust_is_503_and_left_as_found(base: str, state: Path) -> None:
    cosign(base, 0, 5)
    (state / STATE_FILE).write_text(json.dumps({"origins": {ORIGIN: None}}))
    detail = assert_problem(post(base, body(5, 9, LOG)), 503, "WitnessStateInvalid")
    assert f"the witness state {state / STATE_FILE} is not valid: " in detail
    assert json.loads((state / STATE_FILE).read_text()) == {"origins": {ORIGIN: None}}
