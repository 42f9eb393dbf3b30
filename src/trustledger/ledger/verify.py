"""Verification of ledger entries given as plain data, as numbered steps that fail loudly.

Nothing here reads a database: a caller streams ``StoredEntry`` values in position order
(possibly one range per worker process) and stitches the range results together.

Per entry, in this order (docs/AUDITOR.md):

1. the event has a chain row, at the next position;
2. notification ids strictly increase (PostgreSQL's may have gaps; order is what counts);
3. the recomputed chain hash equals the stored one (T1 T2 T3 T4 T10), and so does the
   stored leaf hash where a store gives one (check ``leaf``);
4. the state is a trustledger envelope: an I-JSON object with payload, canonical base64
   signature and a lowercase key id (docs/FORMAT.md §5);
5. the payload is an I-JSON object with a string decision_id, in RFC 8785 canonical form,
   whose type matches the topic and whose shop (or the keyring, for key events, which name
   no shop) matches the aggregate the event was stored under;
6. the signer was allowed at this position: the pinned root for key events, otherwise a
   decider key registered before this position and not revoked before it (T8);
7. the Ed25519 signature over the payload verifies (T1 T4).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger.domain.identity import (
    KEY_EVENT_TYPES,
    KEYRING_ID,
    TOPIC_PREFIX,
    shop_aggregate_id,
)
from trustledger.domain.keyring import check_rules_event, parse_key_event
from trustledger.errors import InvalidDecision, TrustledgerError, UsageError, VerificationFailed
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.chain import (
    MalformedEntry,
    StoredEntry,
    encode_entry,
    leaf_hash,
    next_chain_hash,
)
from trustledger.ledger.envelope import (
    MalformedState,
    decode_i_json,
    parse_state,
    signing_message,
)
from trustledger.ledger.keys import KeyId, VerifierKey, format_verifier_key, parse_verifier_key
from trustledger.ledger.merkle import CompactRange


@dataclass(frozen=True)
class Failure:
    """The first thing found wrong, with where it is."""

    check: str
    message: str
    position: int | None = None
    notification_id: int | None = None
    decision_id: str | None = None

    def describe(self) -> str:
        where = []
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.notification_id is not None:
            where.append(f"notification {self.notification_id}")
        if self.decision_id is not None:
            where.append(f"decision {self.decision_id}")
        return f"{self.check} failed at {', '.join(where) or 'the ledger'}: {self.message}"


class LedgerNotIntact(VerificationFailed):
    """Verification found the ledger altered; ``failure`` says first where and how, and
    ``report`` (set by the public ``trustledger.app.verifier.verify_*``) what was checked."""

    def __init__(self, failure: Failure, report: Any = None) -> None:
        self.failure = failure
        self.report = report
        super().__init__(failure.describe())


@dataclass(frozen=True)
class KeyWindow:
    """When a decider key may sign: after ``registered_at``, before ``revoked_at``."""

    key: VerifierKey
    registered_at: int
    revoked_at: int | None = None


@dataclass(frozen=True)
class Keyring:
    """The root key and every decider key's window, as recorded in the ledger."""

    root: VerifierKey
    deciders: dict[KeyId, KeyWindow] = field(default_factory=dict)
    key_event_positions: frozenset[int] = frozenset()  # no idempotency row (check index)


class _EntryProblem(Exception):
    def __init__(self, check: str, message: str, decision_id: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.message = message
        self.decision_id = decision_id


def _decode_payload(payload: str) -> dict[str, object]:
    try:
        # _check_canonical follows: the RFC 8785 comparison refuses the rest of I-JSON.
        document = decode_i_json(payload, canonical_after=True)
    except ValueError as exc:
        raise _EntryProblem("payload", f"payload is not I-JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise _EntryProblem("payload", "payload is not a JSON object")
    return document


def _check_canonical(document: dict[str, object], payload: bytes, decision_id: str) -> None:
    # docs/FORMAT.md §3: the payload is JCS(document). Re-encoding what was parsed catches
    # whitespace, key order, escapes and number spellings alike: signed bytes that parsers
    # may read differently are refused, so every verifier sees the one signed document.
    try:
        # decode_i_json(canonical_after=True) left only JSON types and safe integers.
        canonical = canonicalize(document, json_safe=True)
    except InvalidDecision as exc:  # not I-JSON: an integer beyond ±(2^53 − 1), say
        raise _EntryProblem("payload", f"payload is not I-JSON: {exc}", decision_id) from exc
    if canonical != payload:
        raise _EntryProblem(
            "payload", "payload is not in RFC 8785 canonical form (docs/FORMAT.md §3)",
            decision_id,
        )  # fmt: skip


def _decision_id(document: dict[str, object]) -> str:
    # docs/FORMAT.md §8: every entry, key events included, carries a string decision_id;
    # without one an entry would escape the check for copied decisions (T9).
    decision_id = document.get("decision_id")
    if not isinstance(decision_id, str):
        raise _EntryProblem("payload", "payload has no decision_id string")
    return decision_id


def _check_placement(entry: StoredEntry, document: dict[str, object], decision_id: str) -> str:
    event_type = document.get("type")
    if not isinstance(event_type, str) or entry.topic != TOPIC_PREFIX + event_type:
        raise _EntryProblem(
            "payload",
            f"payload type {event_type!r} does not match the stored topic {entry.topic!r}",
            decision_id,
        )
    if event_type not in KEY_EVENT_TYPES and event_type not in SHOP_DECISION_TYPES:
        raise _EntryProblem(
            "payload", f"payload type {event_type!r} is not a decision type", decision_id
        )
    if event_type in KEY_EVENT_TYPES:
        if "shop_id" in document:  # docs/FORMAT.md §2: key events have no shop
            raise _EntryProblem("payload", "key event payload has a shop_id", decision_id)
        expected: UUID = KEYRING_ID
    else:
        shop_id = document.get("shop_id")
        if not isinstance(shop_id, str):
            raise _EntryProblem("payload", "payload has no shop_id", decision_id)
        expected = shop_aggregate_id(shop_id)
    if entry.originator_id != expected:
        raise _EntryProblem(
            "payload",
            f"decision stored under aggregate {entry.originator_id}, expected {expected}",
            decision_id,
        )
    return event_type


def _signer(keyring: Keyring, key_id: KeyId, event_type: str, position: int) -> VerifierKey:
    if event_type in KEY_EVENT_TYPES:
        if key_id != keyring.root.key_id:
            raise _EntryProblem("signer", f"key event signed by {key_id}, not by the root key")
        return keyring.root
    window = keyring.deciders.get(key_id)
    if window is None:
        raise _EntryProblem("signer", f"signed by key {key_id}, which is not registered")
    if position <= window.registered_at:
        raise _EntryProblem(
            "signer",
            f"signed by key {key_id} before its registration at position {window.registered_at}",
        )
    if window.revoked_at is not None and position > window.revoked_at:
        raise _EntryProblem(
            "signer", f"signed by key {key_id}, revoked at position {window.revoked_at}"
        )
    return window.key


def verify_entry_signature(entry: StoredEntry, keyring: Keyring) -> tuple[str, dict[str, object]]:
    """Steps 4–7 for one entry; returns its decision id and payload document.

    Raises _EntryProblem (internal) describing the failed step.
    """
    try:
        envelope = parse_state(entry.state)
    except MalformedState as exc:
        raise _EntryProblem("envelope", str(exc)) from exc
    document = _decode_payload(envelope.payload_text)
    decision_id = _decision_id(document)
    event_type = _check_placement(entry, document, decision_id)
    _check_canonical(document, envelope.payload, decision_id)
    position = entry.position if entry.position is not None else -1
    try:
        key = _signer(keyring, envelope.key_id, event_type, position)
    except _EntryProblem as exc:
        exc.decision_id = decision_id
        raise
    if not key.is_valid_signature(envelope.signature, signing_message(envelope.payload)):
        raise _EntryProblem(
            "signature", f"Ed25519 signature by key {envelope.key_id} does not verify", decision_id
        )
    return decision_id, document


@dataclass(frozen=True)
class RangeResult:
    """What one contiguous run of entries proved, for stitching runs together."""

    entries: int
    first_position: int | None
    previous_chain_hash: bytes | None  # the stored chain hash the first entry chained onto
    last_position: int | None
    last_chain_hash: bytes | None
    last_notification_id: int | None
    redacted: int
    failure: Failure | None
    # The payload's decision_id of each entry counted, in order: the caller looks for a
    # decision recorded twice across all ranges (T9).
    decision_ids: tuple[str, ...] = ()


def verify_entries(
    entries: Iterable[StoredEntry],
    *,
    keyring: Keyring,
    previous_chain_hash: bytes,
    previous_position: int,
    previous_notification_id: int = 0,
    erased_subjects: frozenset[str] = frozenset(),
    tree: CompactRange | None = None,
    chained: bool = True,
) -> RangeResult:
    """Run steps 1–7 over consecutive entries; stops at the first failure.

    ``previous_*`` describe the entry before the first one (chain[-1] and position -1
    for the start of the ledger). Never raises for a bad entry: the failure is returned,
    so that a parallel caller can report the earliest one. Each leaf hash whose chain
    hash checked out is appended to ``tree`` (the Merkle tree over the same leaves,
    RFC 9162 §2.1.1), so a verifier hashes every entry once for both structures.

    ``chained=False`` is for entries read from tiles (C2SP tlog-tiles carry no chain hash
    and no notification id): steps 1–3 then only check the position, and the caller
    checks the Merkle root of ``tree`` against a signed checkpoint instead.
    """
    count = redacted = 0
    first_position: int | None = None
    decision_ids: list[str] = []
    chain = previous_chain_hash
    position = previous_position
    notification_id = previous_notification_id
    iterator = iter(entries)
    while True:
        try:
            entry = next(iterator)
        except StopIteration:
            break
        except MalformedEntry as exc:
            failure = Failure("chain", str(exc), None, exc.notification_id)
            return RangeResult(
                count, first_position, previous_chain_hash, position, chain,
                notification_id, redacted, failure, tuple(decision_ids),
            )  # fmt: skip
        try:
            # 1. a chain row, at the next position
            if entry.position is None or (chained and entry.chain_hash is None):
                raise _EntryProblem("chain", "event has no chain row (inserted outside the ledger)")
            if entry.position != position + 1:
                raise _EntryProblem(
                    "sequence", f"expected position {position + 1}, found {entry.position}"
                )
            # 2. notification order
            if chained and entry.notification_id <= notification_id:
                raise _EntryProblem("sequence", "notification ids are not increasing")
            # 3. the chain, over the exact stored bytes
            leaf = leaf_hash(
                encode_entry(
                    entry.originator_id, entry.originator_version, entry.topic, entry.state
                )
            )
            if chained:
                assert entry.chain_hash is not None
                calculated = next_chain_hash(chain, leaf)
                if calculated != entry.chain_hash:
                    raise _EntryProblem(
                        "chain",
                        f"chain hash mismatch: stored {entry.chain_hash.hex()}, "
                        f"calculated {calculated.hex()}",
                    )
            # 3a. the stored leaf hash (a store's; proofs are served from it), same leaf
            if entry.leaf_hash is not None and entry.leaf_hash != leaf:
                raise _EntryProblem(
                    "leaf",
                    f"leaf hash mismatch: stored {entry.leaf_hash.hex()}, calculated {leaf.hex()}",
                )
            if tree is not None:
                tree.append_leaf(leaf)
            # 4–7. envelope, placement, signer, signature
            decision_id, document = verify_entry_signature(entry, keyring)
        except _EntryProblem as problem:
            failure = Failure(
                problem.check,
                problem.message,
                entry.position,
                entry.notification_id,
                problem.decision_id or _best_effort_decision_id(entry),
            )
            return RangeResult(
                count,
                first_position,
                previous_chain_hash,
                position,
                chain,
                notification_id,
                redacted,
                failure,
                tuple(decision_ids),
            )
        if first_position is None:
            first_position = entry.position
        decision_ids.append(decision_id)
        personal = document.get("personal")
        if isinstance(personal, dict) and personal.get("subject_id") in erased_subjects:
            redacted += 1
        count += 1
        chain = entry.chain_hash if chained and entry.chain_hash is not None else chain
        position = entry.position
        notification_id = entry.notification_id
    return RangeResult(
        count,
        first_position,
        previous_chain_hash,
        position if count else None,
        chain if count else None,
        notification_id if count else None,
        redacted,
        None,
        tuple(decision_ids),
    )


def _best_effort_decision_id(entry: StoredEntry) -> str | None:
    try:
        envelope = parse_state(entry.state)
        document = json.loads(envelope.payload)
    except (MalformedState, ValueError, UnicodeDecodeError):
        return None
    value = document.get("decision_id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def build_keyring(
    key_entries: Sequence[StoredEntry], *, trusted_roots: Sequence[VerifierKey]
) -> Keyring:
    """Read the keyring's entries (in order) into key windows, checking each root signature.

    The first key entry must be the ledger's genesis (``ledger.initialised``), naming a root
    key that is one of ``trusted_roots``. Raises LedgerNotIntact on the first problem and
    UsageError when no trusted root was given.
    """
    if not trusted_roots:
        raise UsageError("verification needs the pinned root key: pass --trusted-key")
    if not key_entries:
        raise LedgerNotIntact(Failure("genesis", "the ledger has no genesis entry"))
    genesis = key_entries[0]
    try:
        envelope = parse_state(genesis.state)
        document = _decode_payload(envelope.payload_text)
    except (MalformedState, _EntryProblem) as exc:
        raise LedgerNotIntact(
            Failure("genesis", str(exc), genesis.position, genesis.notification_id)
        ) from exc
    if document.get("type") != "ledger.initialised" or genesis.position != 0:
        raise LedgerNotIntact(
            Failure(
                "genesis",
                "the entry at position 0 is not the ledger's genesis (ledger.initialised); "
                f"the keyring's first entry is at position {genesis.position}",
                0,
                genesis.notification_id,
                _best_effort_decision_id(genesis),
            )
        )
    data = document.get("data")
    root_text = data.get("root_key") if isinstance(data, dict) else None
    try:
        root = parse_verifier_key(str(root_text))
    except UsageError as exc:
        raise LedgerNotIntact(
            Failure("genesis", f"genesis root key unreadable: {exc}", 0, genesis.notification_id)
        ) from exc
    trusted = {key.key_id: key for key in trusted_roots}
    if trusted.get(root.key_id) != root:
        raise LedgerNotIntact(
            Failure(
                "root",
                f"the ledger's root key {root.name}+{root.key_id} is not a trusted key "
                f"(trusted: {', '.join(f'{k.name}+{k.key_id}' for k in trusted_roots)})",
                0,
                genesis.notification_id,
                str(document.get("decision_id")),
            )
        )
    return extend_keyring(Keyring(root=root), key_entries, genesis=genesis)


def extend_keyring(
    keyring: Keyring, key_entries: Sequence[StoredEntry], *, genesis: StoredEntry | None = None
) -> Keyring:
    """``keyring`` with the key events ``key_entries`` applied in position order, each
    checked (root signature, one registration per public key, active revocations, valid
    rule sets). ``genesis`` is the one entry allowed to be a ``ledger.initialised``: a
    monitor extends the keyring it kept from an earlier run with none. Raises
    LedgerNotIntact on the first problem."""
    root = keyring.root
    deciders = dict(keyring.deciders)
    # docs/FORMAT.md §8.2: a public key is registered at most once, whatever the name it
    # comes under (a new name gives a new key id, so ids alone would let a revoked key
    # sign again), and never the root's.
    public_keys = {root.public_key, *(window.key.public_key for window in deciders.values())}
    positions = set(keyring.key_event_positions)
    # Key windows open and close in position order, whatever order the entries came in.
    for entry in sorted(key_entries, key=lambda e: -1 if e.position is None else e.position):
        try:
            if entry.position is None:
                raise _EntryProblem("chain", "key event has no chain row")
            decision_id, document = verify_entry_signature(entry, keyring)
            data = document.get("data")
            if not isinstance(data, dict):
                raise _EntryProblem("payload", "key event has no data", decision_id)
            if document["type"] == "key.registered":
                key = _registered_key(data.get("key"), decision_id)
                if key.public_key in public_keys:
                    raise _EntryProblem(
                        "keyring",
                        f"key {key.name}+{key.key_id}: its public key is already registered "
                        "(or is the root's); a public key is registered at most once (a "
                        "ledger an earlier build let do this: docs/FORMAT.md §16, migrate)",
                        decision_id,
                    )
                public_keys.add(key.public_key)
                deciders[key.key_id] = KeyWindow(key, entry.position)
            elif document["type"] == "key.revoked":
                key_id = KeyId.parse(str(data.get("key_id")))
                window = deciders.get(key_id)
                if window is None or window.revoked_at is not None:
                    raise _EntryProblem(
                        "keyring", f"revocation of key {key_id}, which is not active", decision_id
                    )
                deciders[key_id] = KeyWindow(window.key, window.registered_at, entry.position)
            elif document["type"] == "rules.published":
                # Signed by the root (step 6); its TOML must match its content hash.
                try:
                    check_rules_event(parse_key_event(document))
                except TrustledgerError as exc:
                    raise _EntryProblem("keyring", str(exc), decision_id) from exc
            elif entry is not genesis:
                raise _EntryProblem("keyring", "a second genesis entry", decision_id)
        except (_EntryProblem, UsageError) as exc:
            check = exc.check if isinstance(exc, _EntryProblem) else "keyring"
            failing_id = exc.decision_id if isinstance(exc, _EntryProblem) else None
            raise LedgerNotIntact(
                Failure(check, str(exc), entry.position, entry.notification_id, failing_id)
            ) from exc
        positions.add(entry.position)
    return Keyring(root, deciders, frozenset(positions))


def _registered_key(text: object, decision_id: str) -> VerifierKey:
    # docs/FORMAT.md §2: data.key is a verifier key text, exactly as format_verifier_key
    # writes it (8 lowercase hex digits, canonical base64): one text per key.
    try:
        key = parse_verifier_key(text) if isinstance(text, str) else None
    except UsageError as exc:
        raise _EntryProblem("keyring", f"key.registered: {exc}", decision_id) from exc
    if key is None or format_verifier_key(key) != text:
        raise _EntryProblem(
            "keyring",
            f"key.registered: {str(text)[:80]!r} is not a verifier key text in its one "
            "spelling (name+8 lowercase hex+canonical base64)",
            decision_id,
        )
    return key
