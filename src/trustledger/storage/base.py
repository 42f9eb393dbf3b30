"""What the application needs from a store, whichever database is behind it."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from trustledger.ledger.chain import StoredEntry
from trustledger.storage.url import LOCK_TIMEOUT_ENV, lock_timeout

# Table names shared by every backend (docs/FORMAT.md §Storage).
CHAIN_TABLE = "trustledger_chain"
DECISIONS_TABLE = "trustledger_decisions"
SUBJECT_KEYS_TABLE = "trustledger_subject_keys"
EVENTS_TABLE = "stored_events"
MERKLE_TABLE = "trustledger_merkle"  # (level, idx) → hash of a complete perfect subtree
CHECKPOINTS_TABLE = "trustledger_checkpoints"  # every checkpoint the log signed, in order
COSIGNATURES_TABLE = "trustledger_cosignatures"  # witness cosignature lines per checkpoint
# Derived, not signed: the owner of every registered shop (docs/DECISIONS.md rule 12), one row per
# shop.registered event, written with it; rebuilt from the events by Store.rebuild_shop_owners.
SHOP_OWNERS_TABLE = "trustledger_shop_owners"
# A cache, not a record: the latest rule state of each shop (ShopState.to_bytes) and the
# version of the shop it is the state at, written in the transaction of the shop's events so
# that an appender whose own cache misses reads one row instead of replaying the shop. Never
# signed, never read by verify; emptied by `db repair`; a missing, stale or unreadable row
# costs a replay (docs/DESIGN.md "Shop state snapshots").
SHOP_STATES_TABLE = "trustledger_shop_states"

# The tables whose rows the database refuses to change (docs/DESIGN.md: append-only, enforced by
# the database). Subject keys are not among them: erasure destroys a key in place.
APPEND_ONLY_TABLES = (
    EVENTS_TABLE,
    CHAIN_TABLE,
    DECISIONS_TABLE,
    MERKLE_TABLE,
    CHECKPOINTS_TABLE,
    COSIGNATURES_TABLE,
)

# Passed with the events to the recorder's insert_events(**kwargs): an AppendWrite.
WRITE_KWARG = "trustledger_write"


@dataclass
class AppendWrite:
    """What an append writes besides the events, in the same transaction (T9, T10).

    The recorder inserts the idempotency index rows and the new subjects' keys, and notes
    the chain position it gave each event (``positions``, or ``first_position`` when the
    positions are contiguous in the order of the events), so that the appender needs no
    second query to answer with positions.

    The index entries are given either as ``decisions`` keyed by (aggregate, version), or
    as ``ordered``: (aggregate, version, decision id, digest) in the order of the events
    saved, which spares hashing every aggregate id again.

    ``keyring_version`` is the version of the keyring (keys, revocations, rule sets) the
    batch was judged under. The recorder reads the keyring's version inside the write
    transaction, after it holds the write lock, and refuses the write with
    ``KeyringChanged`` if it differs: a key revoked (or a rule set published) by another
    process after the batch was judged can then never be followed by decisions judged
    without it, which verify would report as signed by a revoked key.

    ``sealed_subjects`` are the subjects whose already stored keys sealed personal data in
    this batch. The recorder checks, in the same transaction and holding what ``erase``
    needs to destroy a key, that none of them was erased since the batch was judged, and
    refuses the write with ``SubjectErased`` otherwise: personal data about a subject is
    never recorded after its erasure, not even sealed under the destroyed key.
    """

    decisions: dict[tuple[Any, int], tuple[str, bytes]]  # (aggregate, version) -> (id, digest)
    subject_keys: list[tuple[str, bytes]] = field(default_factory=list)  # new subjects only
    positions: dict[tuple[Any, int], int] = field(default_factory=dict)
    ordered: list[tuple[Any, int, str, bytes]] = field(default_factory=list)
    first_position: int | None = None
    keyring_version: int | None = None
    sealed_subjects: list[str] = field(default_factory=list)
    #: (index of the event among those saved, owner_subject_id, shop_id) of every
    #: shop.registered: the rows of the shop owners table written with the events.
    shop_owners: list[tuple[int, str, str]] = field(default_factory=list)
    #: Rule 12 judged the batch's registrations on these owners' shops as they were then:
    #: owner -> ((shop aggregate id, shop id, version), ...). The recorder reads both again
    #: inside the write transaction and refuses the write with ``ShopsChanged`` if another
    #: appender registered a shop to one of these owners or recorded anything for one of
    #: their shops since (a ban recorded meanwhile must not let a registration through).
    owners_read: dict[str, tuple[tuple[Any, str, int], ...]] = field(default_factory=dict)
    #: (shop_id, version, ShopState.to_bytes()) of each shop this write records events for,
    #: as of its last event here: the rows of the shop states table, upserted with the events.
    shop_states: list[tuple[str, int, bytes]] = field(default_factory=list)

    def check_keyring(self, recorded_version: int | None) -> None:
        """Raise KeyringChanged unless the keyring is still at ``keyring_version``
        (``recorded_version``: its version read inside the write transaction)."""
        if self.keyring_version is not None and recorded_version != self.keyring_version:
            raise KeyringChanged(
                f"the keyring is at version {recorded_version}; the batch was judged under "
                f"version {self.keyring_version}"
            )

    def check_subjects(self, erased: Sequence[str]) -> None:
        """Raise SubjectErased unless ``erased`` (those of ``sealed_subjects`` found
        erased inside the write transaction) is empty."""
        if erased:
            raise SubjectErased(
                f"subject {sorted(erased)[0]} was erased after the batch was judged"
            )

    def check_owners(self, shops_now: dict[str, set[str]], versions_now: dict[Any, int]) -> None:
        """Raise ShopsChanged unless ``owners_read`` still holds: ``shops_now`` (owner ->
        shop ids) and ``versions_now`` (shop aggregate id -> last version), as read inside
        the write transaction."""
        for owner, shops in self.owners_read.items():
            if shops_now.get(owner, set()) != {shop_id for _, shop_id, _ in shops}:
                raise ShopsChanged(f"owner {owner} registered another shop meanwhile")
            for aggregate_id, shop_id, version in shops:
                if versions_now.get(aggregate_id, 0) != version:
                    raise ShopsChanged(f"shop {shop_id} of owner {owner} changed meanwhile")

    def owner_rows(self, notification_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(notification_id, owner_subject_id, shop_id): the shop owners table's new rows."""
        return [(notification_ids[i], owner, shop) for i, owner, shop in self.shop_owners]

    def index_rows(
        self,
        stored_events: Sequence[Any],
        notification_ids: Sequence[int],
        first_position: int | None = None,
        *,
        blob: Callable[[bytes], Any] | None = None,
    ) -> list[tuple[str, int, Any]]:
        """(decision_id, notification_id, digest) for each event that records a decision,
        the digest passed through ``blob`` if given (the type a driver binds fastest).

        With ``first_position`` (the chain position of the first event; positions are
        contiguous) this also notes the events' positions, as ``note_positions`` does.
        """
        if first_position is not None:
            self.first_position = first_position
        ordered = self.ordered
        if len(ordered) == len(stored_events) and all(
            event.originator_id is entry[0] and event.originator_version == entry[1]
            for event, entry in zip(stored_events, ordered, strict=True)
        ):
            return [
                (entry[2], notification_id, entry[3] if blob is None else blob(entry[3]))
                for entry, notification_id in zip(ordered, notification_ids, strict=True)
            ]
        decisions = self.decisions or {(a, v): (d, g) for a, v, d, g in ordered}
        rows = []
        for event, notification_id in zip(stored_events, notification_ids, strict=True):
            found = decisions.get((event.originator_id, event.originator_version))
            if found is not None:
                digest = found[1] if blob is None else blob(found[1])
                rows.append((found[0], notification_id, digest))
        return rows

    def note_positions(self, stored_events: Sequence[Any], first_position: int) -> None:
        self.first_position = first_position
        for offset, event in enumerate(stored_events):
            key = (event.originator_id, event.originator_version)
            self.positions[key] = first_position + offset

    def position_of(self, index: int, aggregate: Any, version: int) -> int:
        """The position noted for the ``index``-th event saved, (aggregate, version)."""
        if self.first_position is not None:
            return self.first_position + index
        return self.positions[(aggregate, version)]


# SQLSTATE 55P03 lock_not_available: PostgreSQL's lock_timeout expired (its appendix A).
_LOCK_NOT_AVAILABLE = "55P03"


def as_uuid(value: Any) -> UUID:
    """``value`` (a UUID or its text) as a UUID, not parsed again when it is one: the
    append path asks for a thousand shops' ids a batch on a large ledger."""
    return value if type(value) is UUID else UUID(str(value))


def describe_failure(exc: BaseException) -> str:
    """A database error in words for a message, never empty.

    A write lock waited on past the timeout (SQLite's "database is locked", PostgreSQL's
    SQLSTATE 55P03) says so and what to do. Otherwise the error's text, else its cause's,
    else its type and SQLSTATE: a session the server terminated can come with no text.
    """
    chain = [e for e in (exc, exc.__cause__, exc.__context__) if e is not None]
    for error in chain:
        if getattr(error, "sqlstate", None) == _LOCK_NOT_AVAILABLE or "database is locked" in str(
            error
        ):
            return (
                f"another session held the ledger's write lock for more than {lock_timeout()} s "
                f"(a long append or an open transaction); retry when it has finished, or wait "
                f"longer with {LOCK_TIMEOUT_ENV}=SECONDS"
            )
    for error in chain:
        text = str(error).strip()
        if text:
            return text
    sqlstate = next(
        (getattr(e, "sqlstate", None) for e in chain if getattr(e, "sqlstate", None)), None
    )
    return (
        f"{type(exc).__name__}"
        + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
        + (" with no message from the database driver")
    )


class KeyringChanged(IntegrityError):
    """The write of a batch judged under another version of the keyring (AppendWrite):
    nothing was written, and the appender judges the batch again under the keyring as it is
    now recorded."""


class ShopsChanged(IntegrityError):
    """The write of a batch whose registrations were judged (rule 12) on an owner's shops
    that another appender has changed since (AppendWrite.owners_read): nothing was written,
    and the appender judges the batch again."""


class SubjectErased(IntegrityError):
    """The write of a batch sealing personal data under the key of a subject erased since
    the batch was judged (AppendWrite): nothing was written, and the appender judges the
    batch again, which then refuses that personal data."""


def write_of(kwargs: dict[str, Any]) -> AppendWrite | None:
    """The AppendWrite among a recorder's kwargs (None for eventsourcing's own callers)."""
    write = kwargs.get(WRITE_KWARG)
    if write is None or isinstance(write, AppendWrite):
        return write
    return AppendWrite(decisions=dict(write))  # a plain {(aggregate, version): (id, digest)}


@dataclass(frozen=True)
class RecordedDecision:
    decision_id: str
    notification_id: int
    position: int
    digest: bytes


@dataclass(frozen=True)
class ChainHead:
    size: int
    chain_hash: bytes
    notification_id: int


# The side tables whose rows are derived from the entries alone (leaf hashes: a column
# of the chain table), rebuilt by ``Store.replace_derived`` (``trustledger db repair``).
DERIVED_TABLES = (CHAIN_TABLE, MERKLE_TABLE, DECISIONS_TABLE)


@dataclass(frozen=True)
class DerivedRows:
    """Every row derived from a log's verified entries: what the side tables must hold."""

    leaf_hashes: Sequence[tuple[int, bytes]]  # (position, leaf hash) of every entry
    merkle_nodes: Sequence[tuple[int, int, bytes]]  # (level, index, hash), levels ≥ 1
    index_rows: Sequence[tuple[str, int, bytes]]  # (decision id, notification id, digest)


@dataclass(frozen=True)
class DerivedChanges:
    """What ``Store.replace_derived`` changed: rows rewritten, removed and added."""

    leaf_hashes: int = 0
    merkle_removed: int = 0
    merkle_added: int = 0
    index_removed: int = 0
    index_added: int = 0

    @property
    def total(self) -> int:
        return (
            self.leaf_hashes
            + self.merkle_removed
            + self.merkle_added
            + self.index_removed
            + self.index_added
        )


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint the log signed: its row id (signing order), size, root and signed note
    (without cosignatures, which are stored apart as they arrive)."""

    id: int
    size: int
    root_hash: bytes
    note: bytes
    created_at: str


class Store(ABC):
    """A ledger store: the eventsourcing environment plus the reads eventsourcing lacks."""

    url: str

    @abstractmethod
    def application_env(self) -> dict[str, str]:
        """The eventsourcing environment that makes an Application use this store."""

    @abstractmethod
    def exists(self) -> bool:
        """True when the ledger's tables are there (``init`` has run)."""

    @abstractmethod
    def create(self) -> None:
        """Create tables and triggers; idempotent and safe to race."""

    @abstractmethod
    def iter_entries(self, *, after: int = 0, up_to: int | None = None) -> Iterator[StoredEntry]:
        """Stored events with notification id in (after, up_to], in order, with chain rows."""

    @abstractmethod
    def entry_at(self, position: int) -> StoredEntry | None:
        """The entry at chain ``position`` (0 is the ledger's initialisation), or None."""

    @abstractmethod
    def entry_before(self, notification_id: int) -> StoredEntry | None:
        """The last chained entry with a notification id below the given one."""

    @abstractmethod
    def key_entries(self) -> list[StoredEntry]:
        """Every event of the keyring aggregate, in notification order."""

    @abstractmethod
    def notification_bounds(self) -> tuple[int, int]:
        """(lowest, highest) notification id; (0, 0) for an empty ledger."""

    @abstractmethod
    def chain_head(self) -> ChainHead | None:
        """The last chain row, or None when the ledger is empty."""

    @abstractmethod
    def find_decisions(self, decision_ids: Sequence[str]) -> dict[str, RecordedDecision]:
        """The recorded decisions among these ids."""

    @abstractmethod
    def subject_keys(self, subject_ids: Sequence[str]) -> dict[str, bytes | None]:
        """Known subjects' keys; ``None`` for an erased subject; absent if never seen."""

    @abstractmethod
    def ensure_subject_keys(self, keys: Sequence[tuple[str, bytes]]) -> dict[str, bytes | None]:
        """Store each (subject, new key) whose subject has no key yet (never seen), in one
        transaction; returns every one of these subjects' keys as now stored: the new key,
        one stored before or by a concurrent caller, or ``None`` when erased.

        For sealing personal data before the write that records it (the append API's
        prepare step, app.signed): such a key may end up sealing nothing."""

    @abstractmethod
    def erase_subject(self, subject_id: str) -> bool:
        """Destroy a subject's key; False when it was already erased. Raises NotFound."""

    @abstractmethod
    def erased_subjects(self) -> frozenset[str]:
        """Every subject whose key was destroyed."""

    @abstractmethod
    def shops_of_owners(self, owner_subject_ids: Sequence[str]) -> dict[str, list[str]]:
        """The registered shops of each of these owners that has any (the shop owners
        table). Adds the table to a ledger created without it first (``ensure_shop_owners``)."""

    @abstractmethod
    def ever_banned(self, originator_ids: Sequence[Any]) -> set[Any]:
        """Those of these shops (aggregate ids) with a recorded ``penalty.imposed`` that
        may carry a ``permanent_ban`` measure (a superset: the payload names it). Rule 12
        loads the states of these alone among an owner's shops, which may be thousands."""

    @abstractmethod
    def ensure_shop_owners(self) -> bool:
        """Create the shop owners table if it is missing, filled from the registrations
        already recorded, in one transaction; True when it did. Idempotent, safe to race.
        Raises StorageUnavailable when the role may not create it."""

    @abstractmethod
    def rebuild_shop_owners(self) -> int:
        """Replace every row of the shop owners table by what the recorded
        ``shop.registered`` events say, in one transaction (the table is derived: a repair
        may run this at any time); returns the number of rows."""

    @abstractmethod
    def ensure_shop_states(self) -> bool:
        """Whether appends may write the shop states table (SHOP_STATES_TABLE), creating it
        (empty: a cache fills as shops are written) on a ledger made before it. False on a
        read-only store or a role that may not create it: appends then write no snapshot."""

    @abstractmethod
    def shop_snapshots(self, shop_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """shop_id -> (version, snapshot bytes) of the shops among ``shop_ids`` that have a
        row in the shop states table (none if the table is missing)."""

    @abstractmethod
    def clear_shop_snapshots(self) -> int:
        """Empty the shop states table (if any); the number of rows deleted."""

    @abstractmethod
    def events_of(self, originator_id: Any, *, after_version: int = 0) -> list[StoredEntry]:
        """The events of one aggregate after a version, with chain rows, in version order."""

    @abstractmethod
    def current_versions(self, originator_ids: Sequence[Any]) -> dict[Any, int]:
        """The last recorded version of each of these aggregates that exists."""

    # -- verifiable log (Merkle tree, checkpoints, cosignatures) ---------------------------
    @abstractmethod
    def merkle_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        """The stored hashes of these perfect subtrees ``(level, index)``, in order.

        Level 0 is the ``leaf_hash`` of the chain row at position ``index``; levels ≥ 1
        are rows of the Merkle table written with the events (storage.chaining). Raises
        NotFound when a node is not stored (beyond the tree, or a ledger created before
        Merkle storage).
        """

    # -- the log as C2SP tlog-tiles publish it (app.tiles) --------------------------------
    @abstractmethod
    def iter_node_hashes(self, level: int, start: int, end: int) -> Iterator[bytes]:
        """The hashes of the tree nodes ``(level, i)`` for ``start ≤ i < end``, in order,
        read as range queries (a page at a time, never one query a node).

        Level 0 are the ``leaf_hash`` column of the chain rows at positions ``start`` to
        ``end - 1``; levels ≥ 1 rows of the Merkle table, complete nodes only. Raises
        NotFound (when the iteration reaches it) for a node that is not stored: beyond
        the tree, or a ledger created before Merkle storage.
        """

    @abstractmethod
    def iter_entry_bytes(self, start: int, end: int) -> Iterator[bytes]:
        """The entries (docs/FORMAT.md §6, ``ledger.chain.encode_entry``) at chain
        positions ``start`` to ``end - 1``, in order, read a page at a time. Raises NotFound
        (when the iteration reaches it) for a position with no chain row or no event."""

    @abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint the log signed, oldest first."""

    @abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint signed last, or None."""

    @abstractmethod
    def add_checkpoint(
        self, size: int, root_hash: bytes, note: bytes, *, after: int | None
    ) -> StoredCheckpoint:
        """Record a newly signed checkpoint, only if the latest one is still ``after``
        (its id; None: there is none), atomically. Raises Conflict otherwise, so two
        signers can never record checkpoints that were not checked against each other."""

    @abstractmethod
    def add_cosignatures(self, checkpoint_id: int, lines: Sequence[str]) -> int:
        """Store witness cosignature lines (``— name base64...``, without the newline) for
        a checkpoint; lines already stored are skipped. Returns how many were new."""

    @abstractmethod
    def cosignatures(self, checkpoint_id: int) -> list[str]:
        """The cosignature lines stored for a checkpoint, in arrival order."""

    # -- the side tables, as verification reads them -------------------------------------
    @abstractmethod
    def merkle_nodes_completed(self, start: int, end: int) -> list[tuple[int, int, bytes]]:
        """Every row ``(level, idx, hash)`` of the Merkle table with level ≥ 1 that the
        leaves at positions ``start`` to ``end - 1`` complete, i.e. with
        ``(idx + 1)·2^level`` in ``(start, end]``, in that order and then by level (the
        order in which appending those leaves completes them). Duplicates included."""

    @abstractmethod
    def merkle_node_counts(self, size: int) -> tuple[int, int]:
        """(rows of the Merkle table that are nodes of the tree of the first ``size``
        leaves, rows that are no node of the tree as stored now: level below 1, negative
        index, or leaves beyond the chain's last row)."""

    @abstractmethod
    def decision_rows(self, decision_ids: Sequence[str]) -> list[tuple[str, int]]:
        """Every idempotency-index row ``(decision_id, notification_id)`` with one of these
        decision ids, duplicates included, in no particular order."""

    def decision_rows_between(self, after: int, up_to: int) -> list[tuple[str, int]] | None:
        """The idempotency-index rows with a notification id in (``after``, ``up_to``], when
        the store reads them in one range scan; None where it would need a full scan (the
        caller then looks rows up by decision id)."""
        return None

    @abstractmethod
    def decision_row_counts(self, up_to: int) -> tuple[int, int]:
        """(idempotency-index rows with notification id ≤ ``up_to``, rows with a
        notification id beyond the last stored event's)."""

    @abstractmethod
    def all_cosignatures(self) -> list[tuple[int, str]]:
        """Every stored cosignature line as ``(checkpoint_id, line)``, by checkpoint id,
        then in arrival order."""

    @abstractmethod
    def replace_derived(self, rows: DerivedRows, *, head: ChainHead) -> DerivedChanges:
        """Make the derived side tables hold exactly ``rows``, in one transaction holding
        the write lock, changing only the rows that differ: a leaf hash is rewritten in
        place; a Merkle node or index row that is not one of ``rows`` is removed, and each
        of ``rows`` missing is added (an index row's digest is kept when its decision id and
        notification id are right). The append-only triggers of those tables are lifted
        for that transaction only. Raises Conflict, changing nothing, if the log's head is
        no longer ``head`` (an append came in between), StorageUnavailable if the role may
        not (PostgreSQL: the tables' owner may)."""

    def wait_for_append(self, timeout: float, stop: threading.Event) -> None:
        """Return when something may have been appended, after ``timeout`` seconds at most,
        or as soon as ``stop`` is set. Polls by default; PostgreSQL listens (LISTEN/NOTIFY)."""
        stop.wait(timeout)

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
