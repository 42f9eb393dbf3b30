"""Appending decisions signed elsewhere: the append API's prepare and commit steps.

A decider that keeps its private key to itself (the HTTP append API, trustledger.client)
signs the same canonical payload ``trustledger append`` would have signed, and the ledger
checks everything again before it chains and stores it (docs/DESIGN.md, "The append API:
prepare, then commit"):

``prepare_records`` validates decision documents and returns, for each, the exact payload
text to sign: the RFC 8785 canonical JSON of the validated decision, its personal data
sealed under the subject's key, which only the ledger holds. A subject seen for the first
time gets its key now (``Store.ensure_subject_keys``): the key never leaves the ledger.

``commit_signed`` takes ``{"payload", "signature", "key_id"}`` records and, for each:

1. the payload is I-JSON text; sealed personal data opens under the subject's stored key
   (bound to this decision and subject by its associated data) and nothing else is
   accepted as personal data;
2. the decision it holds is valid, and the payload is exactly the canonical text prepare
   (or ``append``) makes of it: RFC 8785, personal data sealed;
3. the key is an active decider key of the ledger (rule 7) and the signature is its
   Ed25519 signature of ``SIGNING_PREFIX ‖ payload`` (ledger.envelope);
4. then as ``append``: idempotency by decision id (a decision recorded with the same
   plaintext content answers with its position), docs/DECISIONS.md's rules against the ledger as
   it is, all-or-nothing in one write transaction, re-judged when another appender or a
   key event came first (app.append.append_parsed).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trustledger.app.append import AppendOutcome, Problem, append_parsed
from trustledger.app.application import LedgerApplication
from trustledger.app.limits import check_size
from trustledger.app.records import Record
from trustledger.app.shopstates import ShopStates
from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.keyring import KeyringState
from trustledger.domain.rules import RuleSet
from trustledger.errors import (
    BatchRejected,
    InputRejected,
    InvalidDecision,
    KeyRejected,
    SignatureRejected,
)
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.envelope import decode_i_json, signing_message
from trustledger.ledger.keys import VerifierKey, parse_verifier_key
from trustledger.ledger.sealing import is_sealed, new_subject_key, open_personal, seal_personal
from trustledger.storage import Store

_KEY_ID = re.compile(r"[0-9a-f]{8}")
_MEMBERS = frozenset({"payload", "signature", "key_id"})


@dataclass(frozen=True)
class Prepared:
    """The payload to sign for one input record: ``payload`` is the exact text whose
    ``SIGNING_PREFIX ‖ UTF-8(payload)`` the decider signs (ledger.envelope)."""

    line: int
    decision_id: str
    payload: str


def prepare_records(store: Store, records: Iterable[Record]) -> list[Prepared]:
    """The canonical payloads of valid decisions, personal data sealed; nothing recorded.

    Raises BatchRejected listing every record that is not a valid decision or names an
    erased subject, InvalidDecision for an empty input. docs/DECISIONS.md's rules are judged at
    commit, against the ledger as it is then.
    """
    problems: list[Problem] = []
    decisions: list[tuple[int, Decision]] = []
    for record in records:
        if record.error is not None:
            problems.append((record.line, None, record.error))
            continue
        try:
            decision = parse_decision(record.document)
            check_size(decision, canonicalize(decision.document_view(), json_safe=True))
            decisions.append((record.line, decision))
        except InvalidDecision as exc:
            problems.append((record.line, _hint(record.document), str(exc)))
    if not decisions and not problems:
        raise InvalidDecision("no decisions in the input")
    subjects = list(dict.fromkeys(d.subject_id for _, d in decisions if d.subject_id))
    keys = store.subject_keys(subjects) if subjects else {}
    for line, decision in decisions:
        if decision.subject_id and decision.subject_id in keys and not keys[decision.subject_id]:
            problems.append((line, decision.decision_id, _erased(decision.subject_id)))
    if problems:
        raise BatchRejected(sorted(problems, key=lambda p: p[0]))
    new = [(subject, new_subject_key()) for subject in subjects if subject not in keys]
    if new:
        keys.update(store.ensure_subject_keys(new))
    prepared = []
    for line, decision in decisions:
        document = decision.document_view()
        if decision.subject_id:
            key = keys[decision.subject_id]
            if key is None:  # erased between the two reads above
                raise BatchRejected([(line, decision.decision_id, _erased(decision.subject_id))])
            document["personal"] = seal_personal(
                document["personal"], key=key, decision_id=decision.decision_id
            )
        payload = canonicalize(document, json_safe=True).decode("utf-8")
        prepared.append(Prepared(line, decision.decision_id, payload))
    return prepared


@dataclass(frozen=True)
class _Signed:
    payload: str
    payload_bytes: bytes
    signature: bytes
    signature_b64: str
    key_id: str


def commit_signed(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    records: Iterable[Record],
    *,
    rules: RuleSet,
    now: datetime | None = None,
) -> list[AppendOutcome]:
    """Check and append signed records all-or-nothing (the module docstring's steps).

    Raises SignatureRejected (exit 1) when a signature does not verify, listing every
    invalid record; BatchRejected (exit 4) for any other invalid record; NotFound (no
    ledger); Conflict when concurrent appenders kept winning.
    """
    problems: list[Problem] = []
    unsealed: list[tuple[int, dict[str, Any], _Signed]] = []
    for record in records:
        try:
            document, signed = _read_signed(record)
        except InputRejected as exc:
            problems.append((record.line, _hint_payload(record.document), str(exc)))
            continue
        unsealed.append((record.line, document, signed))
    if not unsealed and not problems:
        raise InvalidDecision("no decisions in the input")

    subjects = list(
        dict.fromkeys(
            str(document["personal"]["subject_id"])
            for _, document, _ in unsealed
            if isinstance(document.get("personal"), dict)
        )
    )
    keys = store.subject_keys(subjects) if subjects else {}
    parsed: list[tuple[int, Decision, bytes]] = []
    signed_by_line: dict[int, _Signed] = {}
    for line, document, signed in unsealed:
        try:
            decision, canonical = _plaintext_decision(document, signed, keys)
        except InputRejected as exc:
            problems.append((line, _hint(document), str(exc)))
            continue
        parsed.append((line, decision, canonical))
        signed_by_line[line] = signed

    signing = _PresignedSigning(signed_by_line, {line: d.decision_id for line, d, _ in parsed})
    try:
        return append_parsed(
            app, store, shop_states, parsed, problems, signing, rules=rules, now=now
        )
    except BatchRejected as exc:
        if signing.bad_signatures & {line for line, _, _ in exc.problems}:
            raise SignatureRejected(exc.problems) from exc
        raise


def _read_signed(record: Record) -> tuple[dict[str, Any], _Signed]:
    """The payload's document and the record's parts, checked for shape."""
    if record.error is not None:
        raise InvalidDecision(record.error)
    item = record.document
    if not isinstance(item, dict) or item.keys() != _MEMBERS:
        raise InvalidDecision(
            'a signed record is an object with exactly "payload", "signature" and "key_id"'
        )
    payload, signature, key_id = item["payload"], item["signature"], item["key_id"]
    if not isinstance(payload, str):
        raise InvalidDecision("payload: must be a string (the canonical JSON text signed)")
    if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
        raise InvalidDecision("key_id: must be 8 lowercase hex digits")
    if not isinstance(signature, str):
        raise InvalidDecision("signature: must be a base64 string")
    try:
        raw = binascii.a2b_base64(signature, strict_mode=True)  # RFC 4648 §4
    except binascii.Error as exc:
        raise InvalidDecision(f"signature: not base64 ({exc})") from exc
    if len(raw) != 64 or binascii.b2a_base64(raw, newline=False).decode() != signature:
        raise InvalidDecision("signature: not the canonical base64 of 64 bytes")
    try:
        payload_bytes = payload.encode("utf-8")
        document = decode_i_json(payload)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidDecision(f"payload: not I-JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InvalidDecision("payload: must be a decision (a JSON object)")
    return document, _Signed(payload, payload_bytes, raw, signature, key_id)


def _plaintext_decision(
    document: dict[str, Any], signed: _Signed, keys: dict[str, bytes | None]
) -> tuple[Decision, bytes]:
    """Steps 1 and 2: the decision the payload holds, personal data opened, and the
    canonical bytes of its plaintext document (what idempotency compares)."""
    sealed = document.get("personal")
    plaintext = document
    if sealed is not None:
        if (
            not isinstance(sealed, dict)
            or not is_sealed(sealed)
            or not all(isinstance(value, str) for value in sealed.values())
        ):
            raise InvalidDecision(
                "personal: must be sealed by the ledger: sign the payload that "
                "POST /v1/decisions:prepare returns for this decision"
            )
        subject = sealed["subject_id"]
        key = keys.get(subject) if isinstance(subject, str) else None
        if key is None:
            if isinstance(subject, str) and subject in keys:
                raise InvalidDecision(_erased(subject))
            raise InvalidDecision(
                f"personal: no key for subject {subject!r} in this ledger: sign the payload "
                "that POST /v1/decisions:prepare returns for this decision"
            )
        if not isinstance(document.get("decision_id"), str):
            raise InvalidDecision("decision_id: required")
        plaintext = dict(document)
        plaintext["personal"] = open_personal(sealed, key=key, decision_id=document["decision_id"])
    decision = parse_decision(plaintext)
    canonical = canonicalize(decision.document_view(), json_safe=True)
    check_size(decision, canonical)
    expected = canonical
    if sealed is not None:
        view = decision.document_view()
        view["personal"] = sealed
        expected = canonicalize(view)
    if expected != signed.payload_bytes:
        raise InvalidDecision(
            "payload: not the canonical text of this decision (RFC 8785, as `append` and "
            "POST /v1/decisions:prepare make it): sign the payload as prepared"
        )
    return decision, canonical


class _PresignedSigning:
    """Signatures made by the deciders (app.append.Signing): checked, then stored."""

    def __init__(self, signed: dict[int, _Signed], decision_ids: dict[int, str]) -> None:
        self.signed = signed
        self.decision_ids = decision_ids
        self.bad_signatures: set[int] = set()
        self._verifiers: dict[str, VerifierKey] = {}

    def admit(self, keyring: KeyringState, lines: Iterable[int]) -> list[Problem]:
        refused: list[Problem] = []
        self.bad_signatures = set()
        for line in lines:
            signed = self.signed[line]
            try:
                record = keyring.active_key(signed.key_id)  # rule 7
            except KeyRejected as exc:
                refused.append((line, self.decision_ids[line], str(exc)))
                continue
            verifier = self._verifiers.get(record.verifier_key)
            if verifier is None:
                verifier = self._verifiers[record.verifier_key] = parse_verifier_key(
                    record.verifier_key
                )
            if not verifier.is_valid_signature(
                signed.signature, signing_message(signed.payload_bytes)
            ):
                self.bad_signatures.add(line)
                refused.append(
                    (
                        line,
                        self.decision_ids[line],
                        f"signature does not verify under key {signed.key_id} "
                        f"({record.name}): sign the payload's exact UTF-8 bytes after "
                        '"trustledger/decision/v1\\n"',
                    )
                )
        return refused

    def sign(
        self, line: int, decision: Decision, canonical: bytes, subject_key: bytes | None
    ) -> tuple[str, str, str]:
        signed = self.signed[line]
        return signed.payload, signed.signature_b64, signed.key_id


def _erased(subject: str) -> str:
    return f"subject {subject} was erased: personal data about it can no longer be recorded"


def _hint(document: object) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("decision_id"), str):
        return str(document["decision_id"])
    return None


def _hint_payload(item: object) -> str | None:
    # The decision id of a signed record whose payload is JSON, for the error list.
    if isinstance(item, dict) and isinstance(item.get("payload"), str):
        try:
            return _hint(decode_i_json(item["payload"]))
        except ValueError:
            return None
    return None
