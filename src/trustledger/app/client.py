"""A client of the append API: decisions signed here, with the decider's key, and posted.

    from trustledger import LedgerClient, load_signing_key

    with LedgerClient("https://ledger.example", token, signer=load_signing_key(path)) as client:
        outcomes = client.append([decision_dict, ...])     # as Ledger.append answers

The private key never leaves this process: the client signs the canonical payload exactly
as ``trustledger append`` does (ledger.envelope.sign_payload), computed here for decisions
without personal data and asked of the server (``POST /v1/decisions:prepare``) for those
with, since only the ledger holds the subjects' keys that seal it. The commit
(``POST /v1/decisions``) is idempotent, so a connection lost mid-request is retried with
the same signed records: they are recorded once (docs/API.md, "HTTP API").
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from trustledger.app.append import AppendOutcome
from trustledger.domain.decision import parse_decision
from trustledger.errors import (
    BatchRejected,
    Conflict,
    InternalError,
    InvalidDecision,
    NotFound,
    SignatureRejected,
    StorageUnavailable,
    TrustledgerError,
    UsageError,
    VerificationFailed,
)
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.envelope import sign_payload
from trustledger.ledger.keys import SigningKey

#: Attempts of one request when the connection fails or the store is unavailable (503).
ATTEMPTS = 5


@dataclass(frozen=True)
class SignedRecord:
    """A decision's canonical payload text, its Ed25519 signature (base64) and key id: what
    ``POST /v1/decisions`` takes."""

    payload: str
    signature: str
    key_id: str

    def to_json(self) -> dict[str, str]:
        return {"payload": self.payload, "signature": self.signature, "key_id": self.key_id}


class LedgerClient:
    """Appends decisions to the ledger served at ``base_url``, signed with ``signer`` (a
    decider key registered in that ledger), posting with the bearer ``token``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        signer: SigningKey,
        timeout: float = 60.0,
        attempts: int = ATTEMPTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.attempts = attempts
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def append(self, documents: Iterable[object]) -> list[AppendOutcome]:
        """Sign and append decisions all-or-nothing, numbered from 1 as ``Ledger.append``
        numbers them; returns each one's outcome ("appended" or "duplicate").

        Raises BatchRejected (every invalid record), SignatureRejected, NotFound,
        StorageUnavailable (the server unreachable or its store down after every
        attempt), UsageError (refused credential, request too large).
        """
        return self.commit(self.sign(documents))

    def sign(self, documents: Iterable[object]) -> list[SignedRecord]:
        """Each decision's payload, signed here. Raises BatchRejected listing every
        invalid document (checked here, and by the server for personal data)."""
        documents = list(documents)
        payloads: dict[int, str] = {}
        problems: list[tuple[int, str | None, str]] = []
        sealed_by_server: list[int] = []
        for index, document in enumerate(documents):
            try:
                decision = parse_decision(document)
            except InvalidDecision as exc:
                problems.append((index + 1, _hint(document), str(exc)))
                continue
            if decision.personal is not None:
                sealed_by_server.append(index)
            else:
                # What `append` signs for a decision without personal data.
                view = decision.document_view()
                payloads[index] = canonicalize(view, json_safe=True).decode("utf-8")
        if problems:
            raise BatchRejected(problems)
        if sealed_by_server:
            try:
                prepared = self._prepare([documents[index] for index in sealed_by_server])
            except BatchRejected as exc:  # numbered within what was sent: renumbered
                raise BatchRejected(
                    [(sealed_by_server[line - 1] + 1, i, d) for line, i, d in exc.problems]
                ) from exc
            for index, payload in zip(sealed_by_server, prepared, strict=True):
                payloads[index] = payload
        records = []
        for index in range(len(documents)):
            signed = sign_payload(payloads[index], self.signer)
            records.append(SignedRecord(signed.payload, signed.signature_b64, str(signed.key_id)))
        return records

    def commit(self, records: Sequence[SignedRecord]) -> list[AppendOutcome]:
        """Post signed records as one all-or-nothing batch; retried when the connection
        fails (the commit is idempotent). Raises as ``append``."""
        body = [record.to_json() for record in records]
        answer = self._post("/v1/decisions", body)
        return [
            AppendOutcome(item["line"], item["decision_id"], item["position"], item["status"])
            for item in answer["outcomes"]
        ]

    def _prepare(self, documents: list[object]) -> list[str]:
        answer = self._post("/v1/decisions:prepare", documents)
        return [item["payload"] for item in answer["prepared"]]

    def _post(self, path: str, body: list[Any]) -> dict[str, Any]:
        failure: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
            try:
                response = self._http.post(path, json=body)
            except httpx.TransportError as exc:
                # The request may or may not have been committed: the retry tells.
                failure = exc
                continue
            if response.status_code == 503:
                failure = _error_of(response)
                continue
            if response.is_success:
                answer: dict[str, Any] = response.json()
                return answer
            raise _error_of(response)
        if isinstance(failure, TrustledgerError):
            raise failure
        raise StorageUnavailable(
            f"{self.base_url}{path}: no answer after {self.attempts} attempts ({failure}); "
            "retry later: the append is idempotent"
        ) from failure


def _hint(document: object) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("decision_id"), str):
        return str(document["decision_id"])
    return None


# The problem's status → the library's error (the inverse of trustledger_server.problems).
_ERRORS: dict[int, type[TrustledgerError]] = {
    400: UsageError,
    401: UsageError,
    404: NotFound,
    409: Conflict,
    413: UsageError,
    422: VerificationFailed,
    503: StorageUnavailable,
}


def _error_of(response: httpx.Response) -> TrustledgerError:
    """The library error a problem details response stands for."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    errors = problem.get("errors")
    if isinstance(errors, list) and errors and response.status_code in (409, 422):
        problems = [
            (int(e.get("line", 0)), e.get("decision_id"), str(e.get("detail", "")))
            for e in errors
            if isinstance(e, dict)
        ]
        if response.status_code == 422:
            return SignatureRejected(problems)
        return BatchRejected(problems)
    kind = _ERRORS.get(response.status_code, InternalError)
    return kind(f"{response.request.url}: {response.status_code} {detail}")
