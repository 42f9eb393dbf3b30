"""Appending decisions: validate everything, then sign, then one write transaction.

The order matters (docs/DECISIONS.md rules 7 and 8, docs/DESIGN.md threats T9 and T10):

1. parse every record; collect every problem with its line number;
2. the signer's key must be registered and not revoked (rule 7);
3. idempotency: a decision id already recorded with the same content is a no-op that
   answers with the original position, with other content a conflict (T9);
4. docs/DECISIONS.md's rules, decision by decision, on each shop's state as this process keeps it
   (app.shopstates; forgotten on any failure), so that a batch is judged as a whole and
   nothing is half-applied (rule 8);
5. only if nothing was wrong: seal personal data, canonicalise and sign (in this process,
   before the write transaction), then save every event in one transaction; the recorder
   chains them and writes the idempotency index in that same transaction (T10).

A dry run (``dry_run=True``) takes steps 1 to 5 but the write: it judges the batch under
the keyring and the shop states as recorded now, seals under throwaway keys and signs to
learn each entry's size, and records nothing (no event, no index row, no subject key).

Whatever the batch was judged on and another process may change meanwhile is checked
again by that transaction, which then refuses the write and the batch is judged anew: the
shops' versions (the events' primary key), the decision ids (the index's unique key), the
keyring's version (keys, revocations, rule sets) and the erasure of the subjects whose
keys seal personal data in it (storage.base.AppendWrite).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Final, Protocol

from eventsourcing.persistence import IntegrityError, StoredEvent

from trustledger.app.application import LedgerApplication
from trustledger.app.eligibility import ineligible_reasons, recorded_decisions
from trustledger.app.limits import check_size
from trustledger.app.records import Record
from trustledger.app.shopstates import ShopStates
from trustledger.app.stored_events import StoredEvents
from trustledger.domain.aggregates import Keyring
from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.identity import KEYRING_ID, shop_aggregate_id
from trustledger.domain.keyring import KeyringState
from trustledger.domain.rules import RuleBook, RuleSet
from trustledger.domain.shop import ShopState, UnusableSnapshot, check_owner_not_banned
from trustledger.errors import (
    BatchRejected,
    Conflict,
    InputRejected,
    InvalidDecision,
    KeyRejected,
    NotFound,
    RuleViolation,
    StorageUnavailable,
    UsageError,
)
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.chain import entry_size
from trustledger.ledger.envelope import signing_message
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.sealing import new_subject_key, seal_personal
from trustledger.ledger.tiles import MAX_ENTRY_SIZE
from trustledger.storage import Store
from trustledger.storage.base import (
    WRITE_KWARG,
    AppendWrite,
    KeyringChanged,
    RecordedDecision,
    describe_failure,
)

MAX_ATTEMPTS = 10  # optimistic-concurrency retries when another appender wins a race


@dataclass(frozen=True)
class AppendOutcome:
    """What happened to one record."""

    line: int
    decision_id: str
    position: int  # -1 for a dry run's "new" decision (and its repeats in the batch)
    status: str  # "appended" or "duplicate"; in a dry run "new" or "duplicate"


@dataclass(frozen=True)
class DryRunOutcome:
    """What a dry run says of one record: ``new`` (an append would record it; no
    position yet) or ``duplicate`` (recorded at ``position``, or a repeat of an earlier
    line of the batch, whose position it shares)."""

    line: int
    decision_id: str
    position: int | None
    status: str

    @classmethod
    def of(cls, outcome: AppendOutcome) -> DryRunOutcome:
        position = None if outcome.position == -1 else outcome.position
        return cls(outcome.line, outcome.decision_id, position, outcome.status)


def content_digest(canonical_document: bytes, subject_key: bytes | None) -> bytes:
    """The idempotency digest of a decision's canonical plaintext document.

    Keyed by the subject's key when the decision carries personal data, so the stored
    digest reveals nothing about that data, and nothing at all once the key is erased.
    """
    pads = _hmac_pads.get(subject_key or b"")
    if pads is None:
        pads = _hmac_pads[subject_key or b""] = _pads(subject_key or b"")
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(canonical_document)
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest


def _pads(key: bytes) -> tuple[Any, Any]:
    # RFC 2104 §2 with SHA-256 (B = 64): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ text)), K zero-padded
    # (keys longer than B hashed first). Computed once per key and copied: the one-shot
    # hmac.digest costs ~5 µs per call under OpenSSL 3 (the digest is looked up each time),
    # five times the hashing itself.
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD))
    outer = hashlib.sha256(key.translate(_OPAD))
    if len(_hmac_pads) >= 4096:  # subject keys: bounded, most decisions use the empty key
        _hmac_pads.clear()
    return inner, outer


_hmac_pads: dict[bytes, tuple[Any, Any]] = {}
_IPAD = bytes(b ^ 0x36 for b in range(256))  # translation tables: K ⊕ ipad, K ⊕ opad
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _appended(line: int, decision_id: str, position: int) -> AppendOutcome:
    # AppendOutcome(line, decision_id, position, "appended") without the frozen dataclass's
    # object.__setattr__ per field (~1.5 % of a batched append).
    outcome: AppendOutcome = object.__new__(AppendOutcome)
    vars(outcome).update(line=line, decision_id=decision_id, position=position, status="appended")
    return outcome


# The keyring last read by each application. Appends judge under it optimistically, as
# they judge under the warm shop states: the write checks, in its transaction, that the
# keyring is still at that version (AppendWrite.keyring_version), so a stale keyring costs
# a retry, never a decision judged without a revocation or a rule set recorded before it.
_keyrings: weakref.WeakKeyDictionary[LedgerApplication, Keyring] = weakref.WeakKeyDictionary()


def _keyring(app: LedgerApplication, store: Store, *, reread: bool) -> tuple[Keyring, bool]:
    """The keyring to judge a batch under, and whether it was read from the store just now
    (``reread``, or on this application's first append); NotFound before ``init``."""
    cached = None if reread else _keyrings.get(app)
    if cached is not None:
        return cached, False
    keyring = app.get_keyring()
    if keyring is None:
        raise NotFound(
            f"{store.url} is not initialised: run `trustledger init --root-key ROOT.key`"
        )
    _keyrings[app] = keyring
    return keyring, True


def _keyring_is_current(store: Store, keyring: Keyring) -> bool:
    return store.current_versions([KEYRING_ID]).get(KEYRING_ID) == keyring.version


def _hint_decision_id(document: object) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("decision_id"), str):
        return str(document["decision_id"])
    return None


def append_records(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    records: Iterable[Record],
    *,
    signer: SigningKey,
    rules: RuleSet,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[AppendOutcome]:
    """Append a batch all-or-nothing; see the module docstring for the steps. With
    ``dry_run``, judge it the same way and write nothing.

    Raises BatchRejected (every invalid line), KeyRejected, NotFound (no ledger), or
    Conflict when concurrent appenders kept winning for MAX_ATTEMPTS attempts.
    """
    problems: list[Problem] = []
    parsed: list[tuple[int, Decision, bytes]] = []
    for record in records:
        if record.error is not None:
            problems.append((record.line, None, record.error))
            continue
        try:
            decision = parse_decision(record.document)
            canonical = canonicalize(decision.document_view(), json_safe=True)
            check_size(decision, canonical)
            parsed.append((record.line, decision, canonical))
        except InvalidDecision as exc:
            problems.append((record.line, _hint_decision_id(record.document), str(exc)))
    if not parsed and not problems:
        raise InvalidDecision("no decisions in the input")
    return append_parsed(
        app,
        store,
        shop_states,
        parsed,
        problems,
        LocalSigning(signer),
        rules=rules,
        now=now,
        dry_run=dry_run,
    )


DEFAULT_BATCH_SIZE: Final = 5_000
"""Records judged and written together by a streamed append (``append_batches``): what the
append holds in memory, and its unit of all-or-nothing."""


def append_batches(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    records: Iterable[Record],
    *,
    signer: SigningKey,
    rules: RuleSet,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> Iterator[list[AppendOutcome]]:
    """Append ``records`` in batches of ``batch_size``, each as ``append_records`` appends
    one, and yield each batch's outcomes once it is written; the next batch is read only
    then, so memory holds one batch whatever the input's length.

    Each batch is all-or-nothing (docs/DECISIONS.md rule 8, per batch): a refused batch stops the
    append with the batches before it written and nothing of it or after it. Appending the
    whole input again is idempotent (recorded decision ids are no-ops), so a retry after
    a refusal, a crash or a kill completes it. Raises what ``append_records`` raises; a
    BatchRejected after the first batch says up to which line earlier batches were written,
    and InvalidDecision for an input with no records.
    """
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    written_through = 0  # the last line of the batches written
    for batch in _batched(records, batch_size):
        try:
            outcomes = append_records(
                app, store, shop_states, batch, signer=signer, rules=rules, now=now
            )
        except BatchRejected as exc:
            if not written_through:
                raise
            raise BatchRejected(
                exc.problems,
                written=f"nothing from line {batch[0].line} on was written (lines up to "
                f"{written_through} were, in earlier batches)",
            ) from exc
        written_through = batch[-1].line
        yield outcomes
    if not written_through:
        raise InvalidDecision("no decisions in the input")


def _batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class AppendTally:
    """What a streamed append has written so far: counts, the positions of the decisions it
    appended and the last input line of the batches written."""

    appended: int = 0
    duplicates: int = 0
    first_position: int | None = None
    last_position: int | None = None
    through_line: int = 0

    def add(self, outcomes: list[AppendOutcome]) -> None:
        """Count one written batch's outcomes."""
        for outcome in outcomes:
            if outcome.status == "appended":
                self.appended += 1
                position = outcome.position
                if self.first_position is None or position < self.first_position:
                    self.first_position = position
                if self.last_position is None or position > self.last_position:
                    self.last_position = position
            else:
                self.duplicates += 1
        if outcomes:
            self.through_line = max(self.through_line, outcomes[-1].line)


# A problem with one record: (line, decision id if known, reason), as BatchRejected lists.
Problem = tuple[int, str | None, str]


class Signing(Protocol):
    """Who signs a batch's decisions, and how: here with a key (``LocalSigning``), or
    elsewhere before the batch came (app.signed)."""

    def admit(self, keyring: KeyringState, lines: Iterable[int]) -> list[Problem]:
        """Rule 7 under ``keyring`` for the records at ``lines``: the lines it refuses,
        with why (those are not judged further); raises KeyRejected to refuse them all."""

    def sign(
        self, line: int, decision: Decision, canonical: bytes, subject_key: bytes | None
    ) -> tuple[str, str, str]:
        """The stored payload text of an admitted, valid decision (its personal data sealed
        under ``subject_key``), the payload's signature in base64 and the signer's key id."""


class LocalSigning:
    """Seal and sign in this process with ``signer``, a decider key (``trustledger append``,
    ``Ledger.append``)."""

    def __init__(self, signer: SigningKey) -> None:
        self.signer = signer
        self.key_id = str(signer.key_id)

    def admit(self, keyring: KeyringState, lines: Iterable[int]) -> list[Problem]:
        keyring.active_key(self.key_id)  # rule 7; KeyRejected for the batch
        return []

    def sign(
        self, line: int, decision: Decision, canonical: bytes, subject_key: bytes | None
    ) -> tuple[str, str, str]:
        if subject_key is not None:
            # The stored document is the decision with its personal data sealed: the
            # envelope seal_personal builds is JSON (str values, the subject id checked by
            # parse_decision), so it is canonicalised as it is.
            stored = decision.document_view()
            stored["personal"] = seal_personal(
                stored["personal"], key=subject_key, decision_id=decision.decision_id
            )
            canonical = canonicalize(stored, json_safe=True)
        # Without personal data the stored document is the decision itself, whose
        # canonical bytes are already at hand. What envelope.sign_payload does, from them.
        signature = base64.b64encode(self.signer.sign(signing_message(canonical))).decode()
        return canonical.decode("utf-8"), signature, self.key_id


def append_parsed(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    parsed: list[tuple[int, Decision, bytes]],
    problems: list[Problem],
    signing: Signing,
    *,
    rules: RuleSet,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[AppendOutcome]:
    """Steps 2 to 5 for records already parsed (line, decision, canonical bytes of its
    plaintext document), ``problems`` those that were not; signed by ``signing``; with
    ``dry_run``, all but the write.

    Raises BatchRejected (every invalid line), KeyRejected, NotFound (no ledger), or
    Conflict when concurrent appenders kept winning for MAX_ATTEMPTS attempts.
    """
    # A dry run has no write to catch a keyring read before another appender's: it reads
    # the keyring as recorded now.
    reread = dry_run
    for attempt in range(1, MAX_ATTEMPTS + 1):
        keyring, fresh = _keyring(app, store, reread=reread)
        try:
            refused = signing.admit(keyring.state, (line for line, _, _ in parsed))
            admitted = parsed
            if refused:
                lines = {line for line, _, _ in refused}
                admitted = [item for item in parsed if item[0] not in lines]
            # Each decision is judged by the rule set in force when it occurred; ``rules``
            # is the default before any published rule set takes effect.
            book = RuleBook(keyring.state.rule_book.published, rules)
            return _append_once(
                app,
                store,
                shop_states,
                admitted,
                problems + refused,
                signing=signing,
                rules=book,
                now=now,
                keyring_version=keyring.version,
                dry_run=dry_run,
            )
        except (KeyRejected, BatchRejected):
            # Final if judged under the keyring as recorded; a keyring read earlier may miss
            # a key or rule set that another process has recorded since.
            if fresh or attempt == MAX_ATTEMPTS or _keyring_is_current(store, keyring):
                raise
            reread = True
        except KeyringChanged as exc:
            # The write found keys or rule sets recorded since the keyring was read: judge
            # the batch again under them (no backoff: no appender is in the way).
            reread = True
            if attempt == MAX_ATTEMPTS:
                raise Conflict(
                    f"gave up after {MAX_ATTEMPTS} attempts: the ledger's keys kept changing "
                    "during the append; retry the batch (it is idempotent)"
                ) from exc
        except UnusableSnapshot as exc:
            # A snapshot section read while judging was corrupt (sections are decoded on
            # first read): judge again with that shop and every shop of the batch replayed
            # from their events (their snapshots are rewritten by this batch's write).
            shops = [decision.shop_id for _, decision, _ in parsed]
            shop_states.distrust([*shops, exc.shop_id] if exc.shop_id else shops)
            if attempt == MAX_ATTEMPTS:
                raise
        except StaleShopStates as exc:
            if attempt == MAX_ATTEMPTS:
                raise Conflict(
                    f"gave up after {MAX_ATTEMPTS} attempts: concurrent appends kept "
                    "changing the same shops; retry the batch (it is idempotent)"
                ) from exc
        except IntegrityError as exc:
            # Another appender recorded a conflicting event or the same decision id first:
            # re-judge the whole batch against what is now recorded.
            shop_states.forget(decision.shop_id for _, decision, _ in parsed)
            # Randomised exponential backoff, so that racing appenders stop colliding.
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempt)))
            if attempt == MAX_ATTEMPTS:
                raise Conflict(
                    f"gave up after {MAX_ATTEMPTS} attempts: concurrent appends kept "
                    "changing the same shops; retry the batch (it is idempotent)"
                ) from exc
    raise AssertionError("unreachable")


def _append_once(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    parsed: list[tuple[int, Decision, bytes]],
    parse_problems: list[Problem],
    *,
    signing: Signing,
    rules: RuleBook,
    now: datetime | None,
    keyring_version: int,
    dry_run: bool = False,
) -> list[AppendOutcome]:
    recorded_at = now or datetime.now(UTC)
    recorded = store.find_decisions([d.decision_id for _, d, _ in parsed])
    subjects = [str(d.personal["subject_id"]) for _, d, _ in parsed if d.personal]
    known_keys = store.subject_keys(subjects) if subjects else {}
    shops = dict.fromkeys(d.shop_id for _, d, _ in parsed if d.decision_id not in recorded)
    # Rule 12: the recorded shops of every owner registering a shop here, judged on their
    # states like the batch's own shops (one query for all owners; none without a
    # registration).
    owners = sorted(
        {
            d.data["owner_subject_id"]
            for _, d, _ in parsed
            if d.type == "shop.registered" and d.decision_id not in recorded
        }
    )
    owner_shops = store.shops_of_owners(owners) if owners else {}
    # An owner may hold thousands of shops: rule 12 needs the states of only those ever
    # given a permanent ban (one query), and the versions of all of them, which the write
    # checks again under its lock (a ban recorded meanwhile makes the batch judged again).
    owned = {shop: shop_aggregate_id(shop) for shops_ in owner_shops.values() for shop in shops_}
    owned_versions: dict[str, int] = {}
    if owned:
        banned = store.ever_banned(list(owned.values()))
        shops.update(
            dict.fromkeys(shop for shop, aggregate in owned.items() if aggregate in banned)
        )
        versions_now = store.current_versions(list(owned.values()))
        owned_versions = {shop: versions_now.get(aggregate, 0) for shop, aggregate in owned.items()}
    states = shop_states.load(shops)

    # The states are the cache's own objects (ShopStates.load): whatever goes wrong before
    # they are remembered as committed, they must not stay cached.
    try:
        try:
            outcomes, fresh, seen = _judge(
                parsed,
                parse_problems,
                recorded,
                known_keys,
                states,
                rules,
                recorded_at,
                {
                    owner: [shop for shop in owner_shops.get(owner, ()) if shop in states]
                    for owner in owners
                },
                store,
            )
        except BatchRejected:
            # A state kept warm may be stale (another appender recorded more for its shop
            # since): the write would have caught it, a refusal must be checked here.
            if _any_stale(store, states):
                raise StaleShopStates from None
            raise
        appended = _write(
            app,
            store,
            shop_states,
            fresh,
            states,
            known_keys,
            signing,
            recorded_at,
            keyring_version,
            {owner: owner_shops.get(owner, []) for owner in owners},
            owned_versions,
            dry_run=dry_run,
        )
        if dry_run:
            # No write checks the states judged on: they must be those recorded now. The
            # decisions applied to them were not recorded, so they leave the cache.
            if _any_stale(store, states):
                raise StaleShopStates
            shop_states.forget(states)
    except BaseException:
        shop_states.forget(states)
        raise
    return _in_line_order(outcomes, appended, seen)


class StaleShopStates(Exception):
    """A batch was refused under a shop state that another appender has since moved on:
    it is judged again from the store (the states were forgotten)."""


def _any_stale(store: Store, states: dict[str, tuple[int, ShopState]]) -> bool:
    ids = {shop_aggregate_id(shop_id): version for shop_id, (version, _) in states.items()}
    current = store.current_versions(list(ids))
    return any(current.get(aggregate_id, 0) != version for aggregate_id, version in ids.items())


# A parsed record: its line, its decision and the decision's canonical bytes.
_Parsed = tuple[int, Decision, bytes]


def _judge(
    parsed: list[_Parsed],
    parse_problems: list[Problem],
    recorded: dict[str, RecordedDecision],
    known_keys: dict[str, bytes | None],
    states: dict[str, tuple[int, ShopState]],
    rules: RuleBook,
    recorded_at: datetime,
    owner_shops: dict[str, list[str]],
    store: Store,
) -> tuple[dict[int, AppendOutcome], list[_Parsed], dict[str, _Parsed]]:
    """Steps 3 and 4: each record against what is recorded, earlier lines and the rules,
    applying the accepted ones to ``states``. Returns the duplicates' outcomes by line (a
    position of -1 for a repeat within the batch), the new decisions and, by decision id,
    the parsed record of its first occurrence. Raises BatchRejected.

    ``owner_shops`` (owner -> shop ids, each in ``states``) gains the shops this batch
    registers, so that rule 12 sees a ban of an earlier line's shop; ``store`` is read for
    rule 14's eligibility (``app.eligibility``)."""
    problems = list(parse_problems)
    outcomes: dict[int, AppendOutcome] = {}
    fresh: list[_Parsed] = []
    # The parsed tuples themselves go into ``fresh`` and ``seen``: a batch's live objects
    # are what sets off the garbage collector, which finds nothing to collect in them.
    seen: dict[str, _Parsed] = {}

    def eligibility(enrolment: Decision) -> Sequence[str]:
        return _eligibility(store, fresh, enrolment, rules)

    for item in parsed:
        line, decision, canonical = item
        subject = str(decision.personal["subject_id"]) if decision.personal else None
        previous = recorded.get(decision.decision_id)
        if previous is not None:
            key = known_keys.get(subject) if subject else None
            if subject and key is None:
                problems.append(
                    (
                        line,
                        decision.decision_id,
                        f"decision {decision.decision_id} is already recorded at position "
                        f"{previous.position}; its personal data can no longer be compared "
                        "(the subject was erased)",
                    )
                )
            elif hmac.compare_digest(previous.digest, content_digest(canonical, key)):
                outcomes[line] = AppendOutcome(
                    line, decision.decision_id, previous.position, "duplicate"
                )
            else:
                problems.append(
                    (
                        line,
                        decision.decision_id,
                        f"conflict: decision {decision.decision_id} is already recorded at "
                        f"position {previous.position} with different content",
                    )
                )
            continue
        if decision.decision_id in seen:
            first_line, _, first_canonical = seen[decision.decision_id]
            if first_canonical != canonical:
                problems.append(
                    (
                        line,
                        decision.decision_id,
                        f"conflict: decision {decision.decision_id} appears on line "
                        f"{first_line} with different content",
                    )
                )
            else:
                outcomes[line] = AppendOutcome(line, decision.decision_id, -1, "duplicate")
            continue
        seen[decision.decision_id] = item
        if subject is not None and subject in known_keys and known_keys[subject] is None:
            problems.append(
                (
                    line,
                    decision.decision_id,
                    f"subject {subject} was erased: personal data about it can no longer be "
                    "recorded",
                )
            )
            continue
        state = states[decision.shop_id][1]
        try:
            state.check(
                decision,
                rules=rules.in_force(decision.occurred_at),
                recorded_at=recorded_at,
                eligibility=eligibility,
            )
            if decision.type == "shop.registered":
                owned = owner_shops[decision.data["owner_subject_id"]]
                check_owner_not_banned(decision, (states[shop][1] for shop in owned))
        except RuleViolation as exc:
            problems.append((line, decision.decision_id, str(exc)))
            continue
        state.apply(decision)
        # ``owner_shops`` holds the shops that may be banned (see _append_once): a shop of
        # the batch joins its owner's list when it is given a permanent ban, not on every
        # registration, so a batch registering thousands of one owner's shops stays linear.
        owner = state.owner_subject_id
        if (
            decision.type == "penalty.imposed"
            and owner in owner_shops
            and decision.shop_id not in owner_shops[owner]
            and any(m["type"] == "permanent_ban" for m in decision.data["measures"])
        ):
            owner_shops[owner].append(decision.shop_id)
        fresh.append(item)

    if problems:
        raise BatchRejected(sorted(problems, key=lambda p: p[0]))
    return outcomes, fresh, seen


def _eligibility(
    store: Store, fresh: list[_Parsed], enrolment: Decision, rules: RuleBook
) -> Sequence[str]:
    """Rule 14: the shop's ineligible reasons at ``enrolment``'s time, over its recorded
    decisions and those of this batch accepted before it."""
    shop_id = enrolment.shop_id
    history = recorded_decisions(store, shop_id)
    history += [decision for _, decision, _ in fresh if decision.shop_id == shop_id]
    return ineligible_reasons(shop_id, history, at=enrolment.occurred_at, rules=rules)


def _write(
    app: LedgerApplication,
    store: Store,
    shop_states: ShopStates,
    fresh: list[tuple[int, Decision, bytes]],
    states: dict[str, tuple[int, ShopState]],
    known_keys: dict[str, bytes | None],
    signing: Signing,
    recorded_at: datetime,
    keyring_version: int,
    owners_read: dict[str, list[str]],
    owned_versions: dict[str, int],
    *,
    dry_run: bool = False,
) -> list[AppendOutcome]:
    """Step 5: seal, sign and write the new decisions in one transaction; remember the
    shops' states as committed. Returns their outcomes, in the order of ``fresh``. With
    ``dry_run``, everything but the write: the new subject keys are dropped unrecorded.
    ``owners_read``: the recorded shops of the owners rule 12 judged (owner -> shop ids);
    ``owned_versions``: their versions as read before judging (those of shops this batch
    writes to are the versions it writes, checked after its events are inserted)."""
    # Everything is valid: seal, sign, and write in one transaction. Events are built at
    # version + 1 of what was loaded, so a concurrent write to the same shop is refused by
    # the store's primary key instead of being overwritten or forked.
    # Keys of subjects seen for the first time are made here and written by the recorder
    # in the events' transaction: a key exists exactly when something was sealed under it.
    # Subjects whose stored keys seal something here are named to the recorder, which
    # checks in the write transaction that none was erased meanwhile.
    subject_keys = {s: key for s, key in known_keys.items() if key is not None}
    new_keys: list[tuple[str, bytes]] = []
    sealed_subjects: dict[str, None] = {}
    for _, decision, _ in fresh:
        if decision.personal:
            subject = str(decision.personal["subject_id"])
            if subject not in subject_keys:
                subject_keys[subject] = new_subject_key()
                new_keys.append((subject, subject_keys[subject]))
            elif subject in known_keys:
                sealed_subjects[subject] = None
    versions = {shop_id: version for shop_id, (version, _) in states.items()}
    index: list[tuple[Any, int, str, bytes]] = []
    owner_rows: list[tuple[int, str, str]] = []
    events: list[StoredEvent] = []
    makers: dict[str, Any] = {}  # StoredEvents(...).make by key id: one key in most batches
    for line, decision, canonical in fresh:
        subject_key = None
        if decision.personal:
            subject_key = subject_keys[str(decision.personal["subject_id"])]
        payload, signature, key_id = signing.sign(line, decision, canonical, subject_key)
        make_event = makers.get(key_id)
        if make_event is None:
            make_event = makers[key_id] = StoredEvents(recorded_at, key_id).make
        aggregate_id = shop_aggregate_id(decision.shop_id)
        version = versions[decision.shop_id] + 1
        versions[decision.shop_id] = version
        if decision.type == "shop.registered":
            owner_rows.append((len(events), decision.data["owner_subject_id"], decision.shop_id))
        events.append(make_event(decision.type, aggregate_id, version, payload, signature))
        index.append(
            (
                aggregate_id,
                version,
                decision.decision_id,
                content_digest(canonical, subject_key),
            )
        )

    _refuse_oversized(fresh, events)
    if dry_run:
        return [AppendOutcome(line, decision.decision_id, -1, "new") for line, decision, _ in fresh]
    if events:
        # The snapshot of each shop written, as of its last event here, in the same
        # transaction (app.shopstates reads them back on a cache miss).
        snapshots = (
            [
                (shop_id, version, states[shop_id][1].to_bytes())
                for shop_id, version in versions.items()
                if version != states[shop_id][0] and shop_states.snapshot_due(shop_id, version)
            ]
            if shop_states.snapshotting
            else []
        )
        try:
            write = AppendWrite(
                decisions={},
                ordered=index,
                subject_keys=new_keys,
                keyring_version=keyring_version,
                sealed_subjects=list(sealed_subjects),
                shop_owners=owner_rows,
                shop_states=snapshots,
                # What rule 12 read, as the store will hold it once this batch is written.
                owners_read={
                    owner: tuple(
                        (
                            shop_aggregate_id(shop),
                            shop,
                            versions.get(shop, owned_versions.get(shop, 0)),
                        )
                        for shop in shops
                    )
                    for owner, shops in owners_read.items()
                },
            )
            app.record_stored(events, **{WRITE_KWARG: write})
        except IntegrityError:
            raise
        except InputRejected:
            raise
        except Exception as exc:  # driver errors: the transaction was rolled back whole
            raise StorageUnavailable(
                f"append to {store.url} failed, nothing written: {describe_failure(exc)}"
            ) from exc
        written = {shop_id for shop_id, _, _ in snapshots}
        for shop_id, version in versions.items():
            shop_states.remember(
                shop_id, version, states[shop_id][1], snapshot_written=shop_id in written
            )

    appended = [
        _appended(
            line,
            decision.decision_id,
            write.position_of(offset, event.originator_id, event.originator_version),
        )
        for offset, ((line, decision, _), event) in enumerate(zip(fresh, events, strict=True))
    ]
    return appended


def _refuse_oversized(fresh: list[_Parsed], events: list[StoredEvent]) -> None:
    """Raise BatchRejected naming every decision whose entry (docs/FORMAT.md §6, as
    stored: personal data sealed, signed) exceeds ``MAX_ENTRY_SIZE`` bytes, the largest
    entry a C2SP tlog-tiles entry bundle can carry (docs/FORMAT.md §17)."""
    problems: list[tuple[int, str | None, str]] = [
        (
            line,
            decision.decision_id,
            f"decision {decision.decision_id} would be an entry of {size:,} bytes; the log "
            f"serves entries of at most {MAX_ENTRY_SIZE:,} bytes (docs/FORMAT.md §17): "
            "make the decision smaller",
        )
        for (line, decision, _), event in zip(fresh, events, strict=True)
        if (size := entry_size(event.topic, event.state)) > MAX_ENTRY_SIZE
    ]
    if problems:
        raise BatchRejected(problems)


def _in_line_order(
    outcomes: dict[int, AppendOutcome],
    appended: list[AppendOutcome],
    seen: dict[str, _Parsed],
) -> list[AppendOutcome]:
    """Every line's outcome in line order: the duplicates' and the appended ones."""
    if not outcomes:  # nothing was a duplicate: the appended ones are every line, in order
        return appended
    outcomes.update((outcome.line, outcome) for outcome in appended)
    # Duplicates within the batch answer with the position of their first occurrence.
    final = []
    for line in sorted(outcomes):
        outcome = outcomes[line]
        if outcome.position == -1 and outcome.status == "duplicate":
            first = seen[outcome.decision_id][0]
            outcome = AppendOutcome(
                line, outcome.decision_id, outcomes[first].position, "duplicate"
            )
        final.append(outcome)
    return final
