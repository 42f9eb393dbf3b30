"""The rows every backend writes with each batch of events, computed without a database.

For each stored event, in notification order: its chain row (docs/FORMAT.md §6) and the
Merkle tree nodes (level ≥ 1) that the new leaves complete (docs/FORMAT.md §9). A backend
reads the previous chain row inside its insert transaction, calls ``append_rows`` (with the
tree's frontier kept from its last insert, or a reader for it) and inserts what it returns
in that same transaction (T10). The hashes are ``trustledger.ledger.chain``'s (entry, leaf and
chain hash) and ``trustledger.ledger.merkle``'s (nodes): this module only orders the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from trustledger.ledger.chain import entry_leaf_hash, next_chain_hash
from trustledger.ledger.merkle import CompactRange, NodeReader, perfect_nodes


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
    """The chain rows and new Merkle node rows for ``events`` appended after the entry at
    ``previous_position`` (-1 and 32 zero bytes for an empty ledger), as plain tuples ready
    for ``executemany``, plus the frontier after these events (to pass to the next call
    while it is still current).

    Chain rows are ``(notification_id, position, leaf_hash, chain_hash)`` (docs/FORMAT.md
    §6), the hashes passed through ``blob`` if given (the type a driver binds fastest),
    Merkle rows ``(level, idx, hash)`` for the perfect subtrees the new leaves complete
    (§9), in the order they complete. ``frontier`` is used instead of reading the tree's
    frontier when it is the frontier as of ``previous_position``/``previous_chain_hash``;
    otherwise ``read_nodes(ids)`` is called once, for the at most log2(n) nodes of the
    frontier (``(level, index)`` pairs, in order: level 0 the ``leaf_hash`` of the chain
    row at position ``index``, levels ≥ 1 rows of ``trustledger_merkle``), and must raise
    if one is missing.
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
        leaf = entry_leaf_hash(
            originator_id.bytes, event.originator_version, event.topic.encode("utf-8"), event.state
        )
        chain = next_chain_hash(chain, leaf)
        position += 1
        if blob is None:
            rows.append((notification_id, position, leaf, chain))
        else:
            rows.append((notification_id, position, blob(leaf), blob(chain)))
        append_leaf(leaf, nodes)
    return rows, nodes, Frontier(position + 1, chain, tuple(tree.nodes))
