"""The rows every backend writes with each batch of events, computed without a database.

For each stored event, in notification order: its chain row (docs/FORMAT.md §6) and the
Merkle tree nodes (level ≥ 1) that the new leaves complete (docs/FORMAT.md §9). A backend
reads the previous chain row inside its insert transaction, calls ``append_rows`` (with the
tree's frontier kept from its last insert, or a reader for it) and inserts what it returns
in that same transaction (T10). ``chain_rows`` computes the same rows the plain way, as the
reference ``append_rows`` is tested against (tests/storage/test_chaining.py).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from trustledger.ledger.chain import encode_entry, leaf_hash, next_chain_hash
from trustledger.ledger.merkle import CompactRange, NodeReader, extend_tree, perfect_nodes


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


@dataclass(frozen=True)
class Frontier:
    """The tree's frontier (``perfect_nodes(0, size)`` with their hashes) as of the entry
    whose chain hash is ``chain_hash``: what the next append needs from the Merkle table.

    The chain hash commits to every entry before it (docs/FORMAT.md §6), so a frontier kept
    from an earlier append is valid exactly when the chain head read inside the next
    transaction has the same position and chain hash; otherwise it is read from the store.
    """

    size: int
    chain_hash: bytes
    nodes: tuple[tuple[int, int, bytes], ...]


_PACK_VERSION_TOPIC = struct.Struct(">QH").pack
_sha256 = hashlib.sha256


def append_rows(
    previous_position: int,
    previous_chain_hash: bytes,
    events: Sequence[StoredEvent],
    notification_ids: Sequence[int],
    read_nodes: NodeReader,
    frontier: Frontier | None = None,
    *,
    blob: Callable[[bytes], Any] | None = None,
) -> tuple[list[tuple[int, int, Any, Any]], list[tuple[int, int, bytes]], Frontier]:
    """What ``chain_rows`` computes, as plain tuples ready for ``executemany``, plus the
    frontier after these events (to pass to the next call while it is still current).

    Chain rows are ``(notification_id, position, leaf_hash, chain_hash)``, the hashes
    passed through ``blob`` if given (the type a driver binds fastest), Merkle rows
    ``(level, idx, hash)``. ``frontier`` is used instead of reading the tree's frontier
    when it is the frontier as of ``previous_position``/``previous_chain_hash``.
    """
    size = previous_position + 1
    if (
        frontier is not None
        and frontier.size == size
        and frontier.chain_hash == previous_chain_hash
    ):
        tree = CompactRange(0, size, list(frontier.nodes))
    else:
        ids = perfect_nodes(0, size)
        tree = CompactRange.from_frontier(size, read_nodes(ids) if ids else [])
    rows: list[tuple[int, int, Any, Any]] = []
    nodes: list[tuple[int, int, bytes]] = []
    position, chain = previous_position, previous_chain_hash
    append_leaf = tree.append_leaf
    for event, notification_id in zip(events, notification_ids, strict=True):
        originator_id = event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        topic = event.topic.encode("utf-8")
        # docs/FORMAT.md §6: entry = originator_id ‖ uint64be(version) ‖ uint16be(len(topic))
        # ‖ topic ‖ state (as chain.encode_entry); leaf = SHA-256(0x00 ‖ entry), RFC 9162
        # §2.1.1 (as chain.leaf_hash).
        leaf = _sha256(
            b"\x00"
            + originator_id.bytes
            + _PACK_VERSION_TOPIC(event.originator_version, len(topic))
            + topic
            + event.state
        ).digest()
        chain = next_chain_hash(chain, leaf)  # SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i]), §6
        position += 1
        if blob is None:
            rows.append((notification_id, position, leaf, chain))
        else:
            rows.append((notification_id, position, blob(leaf), blob(chain)))
        append_leaf(leaf, nodes)
    return rows, nodes, Frontier(position + 1, chain, tuple(tree.nodes))
