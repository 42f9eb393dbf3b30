"""Rebuilding the side tables derived from a verified log (``trustledger db repair``).

The leaf hashes, the Merkle nodes and the idempotency index are written beside the events
and derived from them alone (docs/FORMAT.md); a store whose derived rows were changed
(app.sidetables finds them) refuses to sign checkpoints and serves proofs that fail. Repair,
in order:

1. verify every entry as ``trustledger verify`` does under the root key (the key history,
   the chain, each envelope and signature: ledger.verify.verify_entries), ignoring only the
   stored leaf hashes, which it derives again; and that the chain's head is the last
   entry (no entry removed from the end). Anything wrong there refuses, changing nothing:
   repair never makes a log consistent with itself, only its derived rows consistent with
   its verified entries;
2. derive, from the same pass over the entries, every leaf hash, Merkle node (RFC 9162
   §2.1.1) and index row;
3. check every stored checkpoint against that tree: its size at most the log's, its root
   the tree's root at its size. A checkpoint is a signed statement about the log, not a
   derived row: one that the entries contradict (the log was truncated or rewritten after
   it was signed) is reported, and nothing is changed;
4. in one transaction holding the write lock, and only if the log's head is still the one
   verified, rewrite the rows that differ (Store.replace_derived);
5. rebuild the shop owners table (derived from the registrations, read by append rule 12,
   not checked by verify) in a transaction of its own (Store.rebuild_shop_owners);
6. empty the shop states table (snapshots of the shops' rule states, a cache that appends
   fill again as they write each shop: Store.clear_shop_snapshots), so that no snapshot
   written before the repair is trusted after it.

Stored checkpoints and cosignatures are never changed. The derived rows are held in memory
until they are written (about 200 bytes an entry).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trustledger.app.append import content_digest
from trustledger.app.policy import TrustPolicy
from trustledger.app.sidetables import RecordingRange
from trustledger.errors import NotFound, VerificationFailed
from trustledger.ledger.canonical import canonicalize
from trustledger.ledger.chain import GENESIS_CHAIN_HASH, StoredEntry
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.keys import VerifierKey
from trustledger.ledger.merkle import root_hash
from trustledger.ledger.note import MalformedNote, parse_note
from trustledger.ledger.sealing import is_sealed, open_personal
from trustledger.ledger.verify import LedgerNotIntact, build_keyring, verify_entries
from trustledger.storage import open_store
from trustledger.storage.base import DerivedChanges, DerivedRows, Store

_CHUNK = 1_000  # decisions whose subject keys are read in one query
_PROGRESS_EVERY = 1_000

_REFUSED = (
    "`db repair` rebuilds only the rows derived from verified entries, so nothing was "
    "changed: restore the ledger from a backup"
)


@dataclass(frozen=True)
class RepairReport:
    """What repair verified and changed."""

    url: str
    entries: int
    changes: DerivedChanges
    root_hash: str  # RFC 9162 root of the verified entries
    shop_owners: int  # rows of the rebuilt shop owners table
    shop_snapshots_cleared: int  # rows deleted from the shop states table


@dataclass
class _LeafRange(RecordingRange):
    """A RecordingRange that also keeps its leaves (level 0, not kept by the Merkle table)."""

    leaves: list[bytes] = field(default_factory=list)

    def append_leaf(self, leaf: bytes, emit: list[tuple[int, int, bytes]] | None = None) -> None:
        self.leaves.append(leaf)
        super().append_leaf(leaf, emit)


def repair_store(
    url: str,
    *,
    trusted_keys: Sequence[VerifierKey],
    progress: Callable[[int], None] | None = None,
) -> RepairReport:
    """Rebuild the derived side tables of the ledger at ``url`` from its entries, verified
    under ``trusted_keys`` (its root key), as the module docstring says. ``progress`` is
    told of every ``_PROGRESS_EVERY`` entries verified (how many), as ``verify_store``'s.

    Raises VerificationFailed (nothing changed) when the entries do not verify or a stored
    checkpoint contradicts them; Conflict when the log changed during the repair; NotFound,
    StorageUnavailable, UsageError (no root key).
    """
    roots = TrustPolicy.of(root_keys=trusted_keys).require_roots()
    store = open_store(url)
    try:
        if not store.exists():
            raise NotFound(f"no ledger at {url}")
        head = store.chain_head()
        try:
            keyring = build_keyring(store.key_entries(), trusted_roots=roots)
        except LedgerNotIntact as exc:
            raise VerificationFailed(
                f"the key history does not verify ({exc.failure.describe()}); {_REFUSED}"
            ) from exc
        tree = _LeafRange(0, 0)
        index = _IndexRows(store, keyring.key_event_positions)
        result = verify_entries(
            index.noting(_counted(store.iter_entries(), progress)),
            keyring=keyring,
            previous_chain_hash=GENESIS_CHAIN_HASH,
            previous_position=-1,
            erased_subjects=store.erased_subjects(),
            tree=tree,
        )
        if result.failure is not None:
            raise VerificationFailed(
                f"the entries do not verify (check {result.failure.check}: "
                f"{result.failure.describe()}); {_REFUSED}"
            )
        if head is None or (head.size, head.chain_hash) != (
            result.entries,
            result.last_chain_hash,
        ):
            raise VerificationFailed(
                f"the chain has {head.size if head else 0} rows but only {result.entries} "
                f"chained events: events were removed from the end; {_REFUSED}"
            )
        rows = DerivedRows(list(enumerate(tree.leaves)), tree.emitted, index.finish())
        root = _check_checkpoints(store, tree)
        changes = store.replace_derived(rows, head=head)
        owners = store.rebuild_shop_owners()
        cleared = store.clear_shop_snapshots()
    finally:
        store.close()
    return RepairReport(url, result.entries, changes, root.hex(), owners, cleared)


def _counted(
    entries: Iterable[StoredEntry], progress: Callable[[int], None] | None
) -> Iterator[StoredEntry]:
    if progress is None:
        yield from entries
        return
    done = 0
    for entry in entries:
        yield entry
        done += 1
        if done == _PROGRESS_EVERY:
            progress(done)
            done = 0
    if done:
        progress(done)


class _IndexRows:
    """The index rows of the decisions among the entries passing through ``noting``."""

    def __init__(self, store: Store, key_positions: frozenset[int]) -> None:
        self.store = store
        self.key_positions = key_positions
        self.rows: list[tuple[str, int, bytes]] = []
        self.pending: list[tuple[StoredEntry, dict[str, Any]]] = []
        self.seen: set[str] = set()

    def noting(self, entries: Iterable[StoredEntry]) -> Iterator[StoredEntry]:
        for entry in entries:
            if entry.position is not None and entry.position not in self.key_positions:
                try:
                    document = json.loads(json.loads(entry.state)["payload"])
                except (ValueError, KeyError, TypeError):
                    document = None  # verify_entries reports the entry
                if isinstance(document, dict) and isinstance(document.get("decision_id"), str):
                    self.pending.append((entry, document))
                    if len(self.pending) >= _CHUNK:
                        self._flush()
            # The stored leaf hash is derived (step 2), not checked: it may be what is wrong.
            yield dataclasses.replace(entry, leaf_hash=None)

    def finish(self) -> list[tuple[str, int, bytes]]:
        self._flush()
        return self.rows

    def _flush(self) -> None:
        for row in _index_rows(self.store, self.pending):
            if row[0] in self.seen:
                raise VerificationFailed(
                    f"decision {row[0]} is recorded twice (the second at notification "
                    f"{row[1]}); {_REFUSED}"
                )
            self.seen.add(row[0])
            self.rows.append(row)
        self.pending = []


def _index_rows(
    store: Store, entries: Sequence[tuple[StoredEntry, dict[str, Any]]]
) -> list[tuple[str, int, bytes]]:
    """(decision id, notification id, digest) of these decisions: the digest of the
    decision's canonical plaintext, keyed by its subject's key (app.append.content_digest).
    A decision whose subject was erased keeps no digest of its personal data: its row
    gets the unkeyed digest of its stored (sealed) payload, which reveals nothing; a
    repeat of it is refused whatever the digest (its personal data cannot be compared)."""
    subjects = [
        str(document["personal"]["subject_id"])
        for _, document in entries
        if isinstance(document.get("personal"), dict) and is_sealed(document["personal"])
    ]
    keys = store.subject_keys(subjects) if subjects else {}
    rows = []
    for entry, document in entries:
        personal = document.get("personal")
        key = None
        if isinstance(personal, dict) and is_sealed(personal):
            key = keys.get(str(personal["subject_id"]))
            if key is not None:
                document["personal"] = open_personal(
                    personal, key=key, decision_id=document["decision_id"]
                )
        digest = content_digest(canonicalize(document, json_safe=True), key)
        rows.append((str(document["decision_id"]), entry.notification_id, digest))
    return rows


def _check_checkpoints(store: Store, tree: _LeafRange) -> bytes:
    """Step 3: raise VerificationFailed unless every stored checkpoint is of this tree.
    Returns the tree's root."""
    nodes = {(level, idx): digest for level, idx, digest in tree.emitted}

    def read(ids: Sequence[tuple[int, int]]) -> list[bytes]:
        return [tree.leaves[idx] if level == 0 else nodes[(level, idx)] for level, idx in ids]

    size = len(tree.leaves)
    for stored in store.checkpoints():
        where = f"stored checkpoint {stored.id}"
        try:
            checkpoint = parse_checkpoint(parse_note(stored.note).text)
        except MalformedNote as exc:
            raise VerificationFailed(
                f"{where} is not a checkpoint ({exc}): a signed statement, not a derived row; "
                "nothing was changed"
            ) from exc
        for what, (signed_size, signed_root) in (
            ("note", (checkpoint.size, checkpoint.root_hash)),
            ("size and root_hash columns", (stored.size, stored.root_hash)),
        ):
            if signed_size > size:
                raise VerificationFailed(
                    f"{where} ({what}) signs {signed_size} entries but the log has only "
                    f"{size}: entries were removed after it was signed (or the checkpoint "
                    "forged); `db repair` does not bring entries back, nothing was changed: "
                    "restore the ledger from a backup"
                )
            root = root_hash(signed_size, read)
            if root != signed_root:
                raise VerificationFailed(
                    f"{where} ({what}) signs root {signed_root.hex()} at size {signed_size}; "
                    f"the verified entries give {root.hex()}: the log was rewritten after it "
                    "was signed (or the checkpoint forged); nothing was changed"
                )
    return root_hash(size, read)
