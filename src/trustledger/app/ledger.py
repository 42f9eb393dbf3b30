"""The public use cases of a ledger: the typed API enforcement tooling embeds.

from trustledger import Ledger, load_signing_key

ledger = Ledger.open("sqlite:///ledger.db")
outcomes = ledger.append([decision_dict, ...], signer=load_signing_key(path, passphrase))
report = ledger.verify(trusted_keys=[root_verifier_key])
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from trustledger.app.append import (
    DEFAULT_BATCH_SIZE,
    AppendOutcome,
    DryRunOutcome,
    append_batches,
    append_records,
)
from trustledger.app.application import LedgerApplication
from trustledger.app.policy import TrustPolicy
from trustledger.app.records import Record
from trustledger.app.shopstates import ShopStates
from trustledger.app.signed import Prepared, commit_signed, prepare_records
from trustledger.app.stored_events import StoredEvents
from trustledger.app.verification import Progress, VerifyReport, check_store
from trustledger.domain.aggregates import Keyring
from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger.domain.identity import KEYRING_ID, shop_aggregate_id
from trustledger.domain.keyring import (
    KEY_EVENT_TYPES,
    KeyEvent,
    KeyRecord,
    KeyringState,
    parse_key_event,
)
from trustledger.domain.rules import (
    DEFAULT_RULES,
    PublishedRules,
    RuleBook,
    RuleSet,
    parse_rules,
)
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import (
    Conflict,
    KeyRejected,
    NotFound,
    StorageUnavailable,
    TrustledgerError,
    UsageError,
)
from trustledger.ledger.chain import StoredEntry
from trustledger.ledger.cosignature import CosignerKey
from trustledger.ledger.envelope import canonical_payload, parse_state, sign_payload
from trustledger.ledger.keys import KeyId, SigningKey, VerifierKey, format_verifier_key
from trustledger.ledger.note import parse_note
from trustledger.ledger.sealing import is_sealed, open_personal
from trustledger.storage import Store, open_store
from trustledger.storage.base import describe_failure


@dataclass(frozen=True)
class KeyInfo:
    """A key as ``keys list`` shows it."""

    key_id: str
    name: str
    role: str  # "root" or "decider"
    state: str  # "active" or "revoked"
    verifier_key: str
    registered_at: str | None
    revoked_at: str | None


@dataclass(frozen=True)
class LogEntry:
    """One recorded entry, as ``log`` shows it."""

    position: int | None
    notification_id: int
    decision_id: str | None
    type: str
    shop_id: str | None
    occurred_at: str | None
    recorded_at: str | None
    key_id: str
    document: dict[str, Any]


# Key events are rare; another key event saved between our read and write is retried.
KEY_EVENT_ATTEMPTS = 5


class Ledger:
    """A ledger in a store. Open with ``Ledger.open`` or create with ``Ledger.init``."""

    def __init__(self, store: Store, *, rules: RuleSet = DEFAULT_RULES) -> None:
        self.store = store
        self.rules = rules
        self._app: LedgerApplication | None = None
        self._shop_states = ShopStates(store)

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, read_only: bool = False) -> Ledger:
        """Open an existing ledger; raises NotFound when there is none at ``url``."""
        store = open_store(url, read_only=read_only)
        if not store.exists():
            store.close()
            raise NotFound(
                f"no ledger at {store.url}: run `trustledger init --root-key ROOT.key` first"
            )
        return cls(store)

    @classmethod
    def init(
        cls, url: str | None, root: SigningKey, *, now: datetime | None = None
    ) -> tuple[Ledger, bool]:
        """Create the ledger with ``root`` pinned; idempotent for the same root key.

        Returns (ledger, created). Raises Conflict when the ledger has another root.
        """
        store = open_store(url)
        store.create()
        ledger = cls(store)
        root_text = format_verifier_key(root.verifier)
        if ledger._check_existing_root(root_text):
            return ledger, False
        event = KeyEvent(
            str(uuid.uuid4()),
            "ledger.initialised",
            now or datetime.now(UTC),
            None,
            {"root_key": root_text},
        )
        signed = sign_payload(canonical_payload(event.to_document()), root)
        stored = StoredEvents(datetime.now(UTC), str(signed.key_id)).make(
            "ledger.initialised", KEYRING_ID, 1, signed.payload, signed.signature_b64
        )
        try:
            ledger.app.record_stored([stored])
        except IntegrityError:
            # Another process initialised the ledger between our read and our write: the
            # keyring's first event is unique, so exactly one init wins. Ours is then a
            # no-op if that process pinned the same root, and a conflict if not.
            if ledger._check_existing_root(root_text):
                return ledger, False
            raise
        return ledger, True

    def _check_existing_root(self, root_text: str) -> bool:
        """True when already initialised with ``root_text``; Conflict with another root."""
        keyring = self.app.get_keyring()
        if keyring is None:
            return False
        if keyring.state.root_key != root_text:
            self.close()
            raise Conflict(
                f"{self.store.url} is already initialised with another root key "
                f"({keyring.state.root_key})"
            )
        return True

    @property
    def app(self) -> LedgerApplication:
        if self._app is None:
            self._app = LedgerApplication(self.store)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys -----------------------------------------------------------------------------
    def _keyring(self) -> Keyring:
        keyring = self.app.get_keyring()
        if keyring is None:
            raise NotFound(f"{self.store.url} is not initialised: run `trustledger init`")
        return keyring

    def _record_key_event(
        self,
        event_type: str,
        data: dict[str, str],
        by: SigningKey,
        actor: str | None,
        now: datetime | None = None,
    ) -> KeyringState:
        """Record a key event signed by ``by`` (the root key) at the keyring's next version;
        returns the keyring's state with it. Retried when another key event took that
        version first (the keyring's optimistic versioning, ``IntegrityError``)."""
        event = parse_key_event(
            KeyEvent(
                str(uuid.uuid4()), event_type, now or datetime.now(UTC), actor, data
            ).to_document()
        )
        signed = sign_payload(canonical_payload(event.to_document()), by)
        for attempt in range(KEY_EVENT_ATTEMPTS):
            keyring = self._keyring()
            if keyring.state.root_key != format_verifier_key(by.verifier):
                raise KeyRejected(
                    f"key {by.key_id} ({by.name}) is not this ledger's root key; key events "
                    "must be signed with the root key given to `init`"
                )
            # Checked against the keyring as it is now, so a concurrent registration of
            # the same key turns into a clear Conflict on the retry, not a second record.
            keyring.state.check(event)
            stored = StoredEvents(datetime.now(UTC), str(signed.key_id)).make(
                event_type, KEYRING_ID, keyring.version + 1, signed.payload, signed.signature_b64
            )
            try:
                self.app.record_stored([stored])
            except IntegrityError:
                if attempt == KEY_EVENT_ATTEMPTS - 1:
                    raise
                continue
            except TrustledgerError:
                raise
            except Exception as exc:  # driver errors: the transaction was rolled back whole
                raise StorageUnavailable(
                    f"{event_type} not recorded in {self.store.url}, nothing written: "
                    f"{describe_failure(exc)}"
                ) from exc
            # As replaying the stored event applies it (domain.aggregates.Keyring), to this
            # copy of the keyring (the repository hands out deep copies of what it caches).
            keyring.state.apply(parse_key_event(json.loads(signed.payload)))
            return keyring.state
        raise AssertionError("unreachable")  # pragma: no cover

    def register_key(
        self, key: VerifierKey, *, by: SigningKey, actor: str | None = None
    ) -> KeyRecord:
        """Record a decider key, signed by the root key. Raises Conflict if already there,
        or if it is the key that signs this ledger's checkpoints (the log key)."""
        for stored in self.store.checkpoints():
            if any(s.key_id == key.key_id for s in parse_note(stored.note).signatures):
                raise Conflict(
                    f"key {key.name}+{key.key_id} signs this ledger's checkpoints (the log key); "
                    "a decider needs a key of its own (`trustledger keys generate NAME`)"
                )
        state = self._record_key_event(
            "key.registered", {"key": format_verifier_key(key)}, by, actor
        )
        return state.keys[str(key.key_id)]

    def revoke_key(
        self, key_id: KeyId, *, by: SigningKey, reason: str | None = None, actor: str | None = None
    ) -> KeyRecord:
        """Revoke a decider key from now on, signed by the root key."""
        data = {"key_id": str(key_id)}
        if reason:
            data["reason"] = reason
        state = self._record_key_event("key.revoked", data, by, actor)
        return state.keys[str(key_id)]

    def publish_rules(
        self,
        toml_text: str,
        *,
        by: SigningKey,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> PublishedRules:
        """Publish a rule set (TOML) as a root-signed ``rules.published`` event.

        Decisions that occur from its ``effective_from`` on are judged by it. Raises
        InvalidDecision (bad TOML), Conflict (version already published, or effective_from
        before now: rule sets never apply retroactively), KeyRejected (not the root key).
        """
        published = parse_rules(toml_text)
        data = {
            "version": published.rules.version,
            "sha256": published.sha256,
            "effective_from": format_timestamp(published.effective_from),
            "toml": toml_text,
        }
        self._record_key_event("rules.published", data, by, actor, now)
        return published

    def rule_book(self) -> RuleBook:
        """Every rule set published in this ledger, over this ledger's default rules."""
        book = self._keyring().state.rule_book
        return RuleBook(book.published, self.rules)

    def keys(self) -> list[KeyInfo]:
        """The root key and every decider key with its state."""
        state = self._keyring().state
        assert state.root_key is not None
        root_name, root_id = state.root_key.split("+", 2)[:2]
        infos = [
            KeyInfo(
                root_id,
                root_name,
                "root",
                "active",
                state.root_key,
                _ts(state.initialised_at),
                None,
            )
        ]
        for record in state.keys.values():
            infos.append(
                KeyInfo(
                    record.key_id,
                    record.name,
                    "decider",
                    record.state,
                    record.verifier_key,
                    _ts(record.registered_at),
                    _ts(record.revoked_at),
                )
            )
        return infos

    # -- decisions ----------------------------------------------------------------------------
    def append(
        self,
        documents: Iterable[object] | Iterable[Record],
        *,
        signer: SigningKey,
        now: datetime | None = None,
    ) -> list[AppendOutcome]:
        """Append decisions all-or-nothing (see trustledger.app.append).

        ``documents`` are decision dicts (numbered from 1) or ``Record`` values. Raises
        BatchRejected listing every invalid record, KeyRejected, Conflict.
        """
        # A generator: each Record lives only until its document is parsed.
        records = (
            item if isinstance(item, Record) else Record(number, item)
            for number, item in enumerate(documents, start=1)
        )
        return append_records(
            self.app,
            self.store,
            self._shop_states,
            records,
            signer=signer,
            rules=self.rules,
            now=now,
        )

    def append_batches(
        self,
        records: Iterable[object] | Iterable[Record],
        *,
        signer: SigningKey,
        batch_size: int = DEFAULT_BATCH_SIZE,
        now: datetime | None = None,
    ) -> Iterator[list[AppendOutcome]]:
        """Append a stream of decisions batch by batch, yielding each batch's outcomes once
        it is written (trustledger.app.append.append_batches): memory holds one batch, each
        batch is all-or-nothing, a retry of the whole stream is idempotent.

        Raises BatchRejected listing every invalid record of the refused batch, KeyRejected,
        Conflict, InvalidDecision for an empty stream.
        """
        return append_batches(
            self.app,
            self.store,
            self._shop_states,
            _records(records),
            signer=signer,
            rules=self.rules,
            batch_size=batch_size,
            now=now,
        )

    def check_append(
        self,
        documents: Iterable[object] | Iterable[Record],
        *,
        signer: SigningKey,
        now: datetime | None = None,
    ) -> list[DryRunOutcome]:
        """Judge a batch exactly as ``append`` would and write nothing (a dry run): the
        decisions an append would record are ``new``, the others ``duplicate``. Raises what
        ``append`` raises for the same batch and ledger."""
        records = (
            item if isinstance(item, Record) else Record(number, item)
            for number, item in enumerate(documents, start=1)
        )
        outcomes = append_records(
            self.app,
            self.store,
            self._shop_states,
            records,
            signer=signer,
            rules=self.rules,
            now=now,
            dry_run=True,
        )
        return [DryRunOutcome.of(outcome) for outcome in outcomes]

    def prepare(self, documents: Iterable[object] | Iterable[Record]) -> list[Prepared]:
        """The payloads a decider signs to append these decisions from elsewhere
        (``append_signed``): canonical, personal data sealed (trustledger.app.signed).
        Nothing is recorded but the keys of subjects seen for the first time. Raises
        BatchRejected listing every invalid record."""
        return prepare_records(self.store, _records(documents))

    def append_signed(
        self, records: Iterable[object] | Iterable[Record], *, now: datetime | None = None
    ) -> list[AppendOutcome]:
        """Append decisions signed by their deciders elsewhere, all-or-nothing: each record
        ``{"payload", "signature", "key_id"}``, the payload as ``prepare`` made it. Checks
        everything ``append`` does, and the signatures (trustledger.app.signed).

        Raises SignatureRejected (a signature does not verify) or BatchRejected listing
        every invalid record, NotFound, Conflict.
        """
        return commit_signed(
            self.app, self.store, self._shop_states, _records(records), rules=self.rules, now=now
        )

    def log(
        self,
        *,
        shop_id: str | None = None,
        after: int = 0,
        limit: int | None = None,
        reveal_personal: bool = False,
        types: Sequence[str] = (),
        occurred_from: datetime | None = None,
        occurred_before: datetime | None = None,
        tail: int | None = None,
    ) -> Iterator[LogEntry]:
        """Recorded entries in ledger order, read from the store page by page (memory does
        not grow with the ledger); personal data stays sealed unless ``reveal_personal``
        (then decrypted where the subject is not erased).

        Filters: ``shop_id`` (that shop's decisions), ``after`` (notification ids above it),
        ``types`` (exact types, or prefixes ending in ``.``: ``penalty.``), ``occurred_from``
        (at or after) and ``occurred_before`` (strictly before) on ``occurred_at``.
        ``limit`` keeps the first N matching entries, ``tail`` the last N (holding at most
        N in memory). Raises UsageError for a type no entry can have.
        """
        match_type = _type_matcher(types)
        filtered = bool(types) or occurred_from is not None or occurred_before is not None
        if shop_id is not None:
            entries: Iterable[StoredEntry] = self.store.events_of(shop_aggregate_id(shop_id))
        elif tail is not None and not filtered:
            entries = self._last_entries(tail, after)
        else:
            entries = self.store.iter_entries(after=after)
        selected: Iterator[LogEntry] = (
            entry
            for entry in map(self._log_entry_sealed, entries)
            if match_type(entry.type) and _occurred_within(entry, occurred_from, occurred_before)
        )
        if tail is not None:
            selected = iter(deque(selected, maxlen=tail))
        for number, entry in enumerate(selected):
            if limit is not None and number >= limit:
                return
            yield self._revealed(entry) if reveal_personal else entry

    def _last_entries(self, n: int, after: int) -> Iterator[StoredEntry]:
        """The last ``n`` entries (past notification id ``after``), from the chain's end."""
        size = self.size()
        first = self.store.entry_at(max(size - n, 0)) if size else None
        if first is None:
            return iter(())
        return self.store.iter_entries(after=max(after, first.notification_id - 1))

    def entry(self, ref: str | int, *, reveal_personal: bool = False) -> LogEntry:
        """One entry, by its position in the log (an int or a string of digits) or by its
        decision id (shop decisions and key events alike); personal data as in ``log``.
        Raises NotFound when there is none."""
        entry = self._find_entry(ref)
        return self._revealed(entry) if reveal_personal else entry

    def _find_entry(self, ref: str | int) -> LogEntry:
        if isinstance(ref, int) or ref.isdigit():
            position = int(ref)
            size = self.size()
            stored = self.store.entry_at(position)
            if stored is None:
                raise NotFound(
                    f"no entry at position {position} in {self.store.url}: positions run "
                    + (f"from 0 to {size - 1}" if size else "from 0, and the log is empty")
                )
            return self._log_entry_sealed(stored)
        found = self.store.find_decisions([ref]).get(ref)
        if found is not None:
            stored = self.store.entry_at(found.position)
            if stored is not None:
                return self._log_entry_sealed(stored)
        for key_event in self.store.key_entries():
            entry = self._log_entry_sealed(key_event)
            if entry.decision_id == ref:
                return entry
        raise NotFound(
            f"no decision {ref} in {self.store.url}: give a recorded decision id or a "
            "position (`trustledger log` lists both)"
        )

    def _log_entry_sealed(self, entry: StoredEntry) -> LogEntry:
        envelope = parse_state(entry.state)
        state = json.loads(entry.state)
        document = json.loads(envelope.payload)
        timestamp = state.get("timestamp")
        recorded_at = timestamp.get("_data_") if isinstance(timestamp, dict) else None
        return LogEntry(
            entry.position,
            entry.notification_id,
            document.get("decision_id"),
            document.get("type", "?"),
            document.get("shop_id"),
            document.get("occurred_at"),
            recorded_at,
            str(envelope.key_id),
            document,
        )

    def _revealed(self, entry: LogEntry) -> LogEntry:
        """``entry`` with its personal data decrypted, or marked erased."""
        document = entry.document
        personal = document.get("personal")
        if isinstance(personal, dict) and is_sealed(personal):
            subject_id = personal["subject_id"]
            key = self.store.subject_keys([subject_id]).get(subject_id)
            document["personal"] = (
                open_personal(personal, key=key, decision_id=document["decision_id"])
                if key
                else {"subject_id": subject_id, "erased": True}
            )
        return entry

    def size(self) -> int:
        """How many entries the ledger holds (its chain's length)."""
        head = self.store.chain_head()
        return head.size if head is not None else 0

    def erase(self, subject_id: str) -> bool:
        """Destroy a subject's key: its personal data becomes unreadable for good.

        Returns False when it was already erased; raises NotFound for an unknown subject.
        """
        return self.store.erase_subject(subject_id)

    def verify(
        self,
        *,
        trusted_keys: Sequence[VerifierKey],
        workers: int | None = None,
        progress: Progress | None = None,
        checkpoints: Sequence[tuple[str, bytes]] = (),
        witnesses: Sequence[CosignerKey] = (),
        quorum: int = 0,
        origin: str | None = None,
    ) -> VerifyReport:
        """Verify the whole ledger with public keys only and return the report, intact or
        not (``trustledger.app.verifier.verify_store`` raises instead). ``trusted_keys``
        pin the root and the log key alike (``TrustPolicy`` keeps them apart).

        ``checkpoints`` (name, signed note) held by the auditor must be extended by the log
        and, with ``origin``, name that origin.
        """
        policy = TrustPolicy.of(
            root_keys=trusted_keys,
            log_keys=trusted_keys,
            witness_keys=witnesses,
            quorum=quorum,
            origin=origin,
        )
        return check_store(
            self.store.url,
            policy=policy,
            workers=workers,
            progress=progress,
            checkpoints=checkpoints,
        )


def _type_matcher(types: Sequence[str]) -> Callable[[str], bool]:
    """A test of an entry's type: equal to one of ``types`` or, for those ending in ``.``,
    starting with it. UsageError for a type (or prefix) that no entry can have."""
    if not types:
        return lambda _type: True
    known = SHOP_DECISION_TYPES | KEY_EVENT_TYPES
    for wanted in types:
        if not any(t == wanted or (wanted.endswith(".") and t.startswith(wanted)) for t in known):
            raise UsageError(
                f"no entry has type {wanted!r}: give one of {', '.join(sorted(known))}, "
                "or a prefix ending in '.' (penalty.)"
            )
    exact = frozenset(t for t in types if not t.endswith("."))
    prefixes = tuple(t for t in types if t.endswith("."))
    return lambda type_: type_ in exact or type_.startswith(prefixes)


def _occurred_within(entry: LogEntry, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    if entry.occurred_at is None:
        return False
    when = parse_timestamp(entry.occurred_at, field="occurred_at")
    return (start is None or when >= start) and (end is None or when < end)


def _records(items: Iterable[object] | Iterable[Record]) -> Iterator[Record]:
    # A generator: each Record lives only until its document is parsed.
    return (
        item if isinstance(item, Record) else Record(number, item)
        for number, item in enumerate(items, start=1)
    )


def _ts(value: datetime | None) -> str | None:
    from trustledger.domain.timefmt import format_timestamp

    return format_timestamp(value) if value is not None else None


__all__ = ["AppendOutcome", "KeyInfo", "Ledger", "LogEntry", "TrustledgerError", "VerifyReport"]
