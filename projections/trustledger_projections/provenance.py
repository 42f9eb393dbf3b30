"""What ties a report to what auditors verify: the entries it covers and the signed head.

Every HTML page shows a ``Provenance``: the ledger size the report covers, the chain hash
of its last entry (``verify`` prints the same "head"), the latest signed checkpoint (size,
RFC 9162 root hash in base64, origin; ``trustledger checkpoint`` prints the note) and the
SHA-256 of the report's canonical JSON (``--digest``). A reader who holds a verified
checkpoint of at least that size can recompute the digest with ``--at-position``
(docs/PROJECTIONS.md).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.note import parse_note
from trustledger.storage import Store

__all__ = ["CheckpointRef", "Provenance", "chain_hash_at", "read_provenance"]


@dataclass(frozen=True, slots=True)
class CheckpointRef:
    size: int
    root_hash: str  # base64, as in the checkpoint's note
    origin: str


@dataclass(frozen=True, slots=True)
class Provenance:
    ledger_size: int
    head_hash: str | None  # hex chain hash of entry ledger_size - 1; None for an empty ledger
    checkpoint: CheckpointRef | None  # the latest signed checkpoint, None before the first
    digest: str  # SHA-256 (hex) of the report's canonical JSON


def chain_hash_at(store: Store, size: int, *, notification_id: int | None = None) -> bytes | None:
    """The chain hash of the entry at position ``size`` − 1 (None when ``size`` is 0).

    ``notification_id`` (that entry's, when the caller knows it) makes this one indexed read;
    without it the chain head answers when it is that entry, and otherwise the log is read
    up to it (what ``--at-position`` replays anyway).
    """
    if size <= 0:
        return None
    if notification_id is not None:
        entry = store.entry_before(notification_id + 1)
        if entry is not None and entry.position == size - 1:
            return entry.chain_hash
    head = store.chain_head()
    if head is not None and head.size == size:
        return head.chain_hash
    for entry in store.iter_entries():
        if entry.position == size - 1:
            return entry.chain_hash
    return None


def read_provenance(
    store: Store, *, ledger_size: int, digest: str, notification_id: int | None = None
) -> Provenance:
    """The provenance of a report covering the first ``ledger_size`` entries."""
    chain_hash = chain_hash_at(store, ledger_size, notification_id=notification_id)
    stored = store.latest_checkpoint()
    checkpoint = None
    if stored is not None:
        body = parse_checkpoint(parse_note(stored.note).text)
        checkpoint = CheckpointRef(
            stored.size, base64.b64encode(stored.root_hash).decode("ascii"), body.origin
        )
    return Provenance(
        ledger_size, chain_hash.hex() if chain_hash is not None else None, checkpoint, digest
    )
