"""The rows every backend writes with each batch of events, computed without a database.

For each stored event, in notification order: its chain row (docs/FORMAT.md §6) and the
Merkle tree nodes (level ≥ 1) that the new leaves complete (docs/FORMAT.md §9). A backend
reads the previous chain row and the tree's frontier inside its insert transaction, calls
``chain_rows`` and inserts what it returns in that same transaction (T10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from trustledger.ledger.chain import encode_entry, leaf_hash, next_chain_hash
from trustledger.ledger.merkle import NodeReader, extend_tree


@dataclass(frozen=True)
class ChainRow:
    """One ``trustledger_chain`` row."""

    notification_id: int
    position: int
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True)
class MerkleNodeRow:
    """One ``trustledger_merkle`` row: the hash of leaves [index·2^level, (index+1)·2^level)."""

    level: int
    index: int
    hash: bytes


def chain_rows(
    previous_position: int,
    previous_chain_hash: bytes,
    events: Sequence[StoredEvent],
    notification_ids: Sequence[int],
    read_nodes: NodeReader,
) -> tuple[list[ChainRow], list[MerkleNodeRow]]:
    """The chain rows and new Merkle node rows for ``events`` appended after the entry at
    ``previous_position`` (-1 and 32 zero bytes for an empty ledger).

    ``read_nodes(ids)`` returns the stored hashes of the nodes ``ids`` (``(level, index)``
    pairs, in order): level 0 is the ``leaf_hash`` of the chain row at position ``index``,
    levels ≥ 1 rows of ``trustledger_merkle``. It is called once, for at most log2(n)
    nodes of the tree's frontier, and must raise if one is missing.
    """
    rows: list[ChainRow] = []
    leaves: list[bytes] = []
    position, chain = previous_position, previous_chain_hash
    for event, notification_id in zip(events, notification_ids, strict=True):
        originator_id = event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        leaf = leaf_hash(
            encode_entry(originator_id, event.originator_version, event.topic, event.state)
        )
        chain = next_chain_hash(chain, leaf)
        position += 1
        rows.append(ChainRow(notification_id, position, leaf, chain))
        leaves.append(leaf)
    nodes = extend_tree(previous_position + 1, leaves, read_nodes)
    return rows, [MerkleNodeRow(level, index, digest) for level, index, digest in nodes]
