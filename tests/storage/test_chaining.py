"""storage.chaining: the rows a backend writes with each batch, against values computed
once from docs/FORMAT.md's formulas (§6 chain rows, §9 Merkle nodes) and against the
properties those rows must have however the events are batched."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from trustledger import Ledger
from trustledger.ledger.chain import GENESIS_CHAIN_HASH
from trustledger.ledger.keys import generate_signing_key
from trustledger.storage import open_store
from trustledger.storage.chaining import Frontier, append_rows

TOPIC = "trustledger:complaint.filed"


def _events(count: int, start: int) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=uuid.UUID(int=i % 3 + 1),
            originator_version=i // 3 + 1,
            topic=TOPIC,
            state=f'{{"payload":"{i}"}}'.encode(),
        )
        for i in range(start, start + count)
    ]


# The first four of _events as docs/FORMAT.md §6 hashes them, over literal bytes:
#   entry[i] = originator_id (16 bytes) ‖ uint64be(version) ‖ uint16be(27) ‖ topic ‖ state
ENTRIES = [
    bytes.fromhex("000000000000000000000000000000010000000000000001001b")
    + b'trustledger:complaint.filed{"payload":"0"}',
    bytes.fromhex("000000000000000000000000000000020000000000000001001b")
    + b'trustledger:complaint.filed{"payload":"1"}',
    bytes.fromhex("000000000000000000000000000000030000000000000001001b")
    + b'trustledger:complaint.filed{"payload":"2"}',
    bytes.fromhex("000000000000000000000000000000010000000000000002001b")
    + b'trustledger:complaint.filed{"payload":"3"}',
]
# leaf[i] = SHA-256(0x00 ‖ entry[i]) (RFC 9162 §2.1.1); chain[i] = SHA-256(0x02 ‖ chain[i-1] ‖
# leaf[i]), chain[-1] = 32 zero bytes; computed once with hashlib, as
# test_the_known_values_are_the_format_s_formulas repeats.
LEAVES = [
    "fbbd99a15a56a0f6e5c9544cfde324224323f81cd43cbeba5d442ec96f74e333",
    "ab4b7ec4e9407928aa9de06a1d71db630f66cdee33cd313a1f362cf380b45602",
    "d994a2736910f8cb4dc835568a5aff02737085b6f386f585dea4780b50f8cc18",
    "a22b40a0e31a3454236aa4314ea1a0959cbf3437344fc2d68928ffef3c1d3d9f",
]
CHAIN = [
    "24b9612a6c0cb01ec322692392f490bc61b3aa49a3477f6f9c3f61ac41de8d98",
    "61cf7ff848dc0eb74459e7511893b278c0ae586a0065d060439364bdaebfd040",
    "4656336a955f0732af308a8e0630c6a66b89fa4e198a2137d2a103759439b7b3",
    "9d5be419b2f5a2f0419e9b8e96c5c3677ef1d35f0119f8fcf4739102473920c3",
]
# §9: node (level, idx) = SHA-256(0x01 ‖ left child ‖ right child), in the order completed.
NODES = [
    (1, 0, "6469ae5b88db929f59add3864b99f5bd704c0b40507d363d43c4a5103238a5f4"),
    (1, 1, "d6b75843ced9842b7867b3ed56bbd13ea8bd4061509df0487d77f33d19744488"),
    (2, 0, "967525399bea7a32c3c10e460a6fd06bacaf39a6b475fb85c4bd95515e250cf9"),
]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_known_values_are_the_format_s_formulas() -> None:
    chain = bytes(32)
    for entry, leaf, expected_chain in zip(ENTRIES, LEAVES, CHAIN, strict=True):
        assert _sha256(b"\x00" + entry) == leaf
        assert _sha256(b"\x02" + chain + bytes.fromhex(leaf)) == expected_chain
        chain = bytes.fromhex(expected_chain)
    leaves = [bytes.fromhex(h) for h in LEAVES]
    assert _sha256(b"\x01" + leaves[0] + leaves[1]) == NODES[0][2]
    assert _sha256(b"\x01" + leaves[2] + leaves[3]) == NODES[1][2]
    assert _sha256(b"\x01" + bytes.fromhex(NODES[0][2]) + bytes.fromhex(NODES[1][2])) == NODES[2][2]


def test_the_rows_of_a_first_batch_are_the_known_values() -> None:
    rows, nodes, frontier = append_rows(
        -1, GENESIS_CHAIN_HASH, _events(4, 0), [11, 12, 14, 15], _no_reads
    )
    assert [(n, p, leaf.hex(), chain.hex()) for n, p, leaf, chain in rows] == [
        (11, 0, LEAVES[0], CHAIN[0]),
        (12, 1, LEAVES[1], CHAIN[1]),
        (14, 2, LEAVES[2], CHAIN[2]),
        (15, 3, LEAVES[3], CHAIN[3]),
    ]
    assert [(level, idx, digest.hex()) for level, idx, digest in nodes] == NODES
    assert frontier == Frontier(4, bytes.fromhex(CHAIN[3]), ((2, 0, bytes.fromhex(NODES[2][2])),))


def test_the_rows_of_a_later_batch_are_the_known_values_and_read_the_frontier() -> None:
    store = _Nodes()
    store.nodes[(1, 0)] = bytes.fromhex(NODES[0][2])
    store.nodes[(0, 2)] = bytes.fromhex(LEAVES[2])
    rows, nodes, _ = append_rows(
        2, bytes.fromhex(CHAIN[2]), _events(1, 3), [15], store.read, blob=bytearray
    )
    assert rows == [(15, 3, bytearray.fromhex(LEAVES[3]), bytearray.fromhex(CHAIN[3]))]
    assert type(rows[0][2]) is bytearray and type(rows[0][3]) is bytearray
    assert [(level, idx, digest.hex()) for level, idx, digest in nodes] == NODES[1:]
    assert store.read_ids == [[(1, 0), (0, 2)]]  # the frontier of a tree of 3, read once


def _no_reads(ids: object) -> list[bytes]:
    raise AssertionError(f"an empty tree has no frontier to read, asked for {ids}")


class _Nodes:
    """An in-memory node store that records what is read from it."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.read_ids: list[list[tuple[int, int]]] = []

    def read(self, ids: object) -> list[bytes]:
        self.read_ids.append(list(ids))  # type: ignore[call-overload]
        return [self.nodes[node] for node in self.read_ids[-1]]

    def store(self, rows: list[tuple[int, int, bytes, bytes]], nodes: object) -> None:
        for row in rows:
            self.nodes[(0, row[1])] = row[2]
        for level, index, digest in nodes:  # type: ignore[attr-defined]
            self.nodes[(level, index)] = digest


@given(
    st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=8),
    st.booleans(),
)
def test_rows_do_not_depend_on_how_events_are_batched(sizes: list[int], keep: bool) -> None:
    events = _events(sum(sizes), 0)
    ids = list(range(1, len(events) + 1))
    whole_rows, whole_nodes, whole_frontier = append_rows(
        -1, GENESIS_CHAIN_HASH, events, ids, _no_reads
    )
    store = _Nodes()
    position, chain = -1, GENESIS_CHAIN_HASH
    frontier: Frontier | None = None
    rows: list[tuple[int, int, bytes, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for size in sizes:
        reads = len(store.read_ids)
        batch = slice(position + 1, position + 1 + size)
        more_rows, more_nodes, frontier = append_rows(
            position, chain, events[batch], ids[batch], store.read, frontier if keep else None
        )
        # A kept frontier spares the read; without one, the store is read once at most.
        assert len(store.read_ids) - reads == (0 if keep or position < 0 else 1)
        store.store(more_rows, more_nodes)
        rows += more_rows
        nodes += more_nodes
        position, chain = more_rows[-1][1], more_rows[-1][3]
    assert (rows, nodes, frontier) == (whole_rows, whole_nodes, whole_frontier)


@given(st.integers(min_value=1, max_value=70))
def test_every_complete_subtree_is_stored_once_as_its_children_s_hash(size: int) -> None:
    store = _Nodes()
    rows, nodes, frontier = append_rows(
        -1, GENESIS_CHAIN_HASH, _events(size, 0), range(size), _no_reads
    )
    store.store(rows, nodes)
    # docs/FORMAT.md §9: a node per complete perfect subtree of level >= 1, each
    # SHA-256(0x01 ‖ left ‖ right) of the nodes below it (RFC 9162 §2.1.1).
    assert len(nodes) == size - bin(size).count("1")
    assert len({(level, idx) for level, idx, _ in nodes}) == len(nodes)
    for level, idx, digest in nodes:
        left, right = store.nodes[(level - 1, 2 * idx)], store.nodes[(level - 1, 2 * idx + 1)]
        assert digest == hashlib.sha256(b"\x01" + left + right).digest()
    assert [(level, idx) for level, idx, _ in frontier.nodes] == [
        (level, idx) for level, idx in _perfect(size)
    ]


def _perfect(size: int) -> list[tuple[int, int]]:
    # The perfect subtrees covering [0, size), largest first: one per bit of size.
    out, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def test_a_stale_frontier_is_not_used() -> None:
    store = _Nodes()
    rows, nodes, frontier = append_rows(
        -1, GENESIS_CHAIN_HASH, _events(5, 0), range(1, 6), _no_reads
    )
    store.store(rows, nodes)
    more = _events(3, 5)
    expected = append_rows(rows[-1][1], rows[-1][3], more, range(6, 9), store.read)
    # Same size, other chain head (another appender's entries): the store is read.
    other = Frontier(frontier.size, bytes(32), frontier.nodes)
    reads = len(store.read_ids)
    got = append_rows(rows[-1][1], rows[-1][3], more, range(6, 9), store.read, other)
    assert len(store.read_ids) == reads + 1
    assert got == expected


def test_merkle_nodes_of_a_ledger_created_with_the_level_index_key(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(f"sqlite:///{path}", root)
    ledger.register_key(bot.verifier, by=root)
    ledger.append([_registration(f"shop-{i}") for i in range(9)], signer=bot)
    ledger.close()
    ids = [(1, 0), (2, 1), (3, 0), (0, 10)]
    store = open_store(f"sqlite:///{path}")
    before = store.merkle_nodes(ids)
    store.close()
    # The table as ledgers created before the completion-ordered key have it.
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP TRIGGER trustledger_merkle_no_delete; DROP TRIGGER trustledger_merkle_no_update;"
            "ALTER TABLE trustledger_merkle RENAME TO merkle_new;"
            "CREATE TABLE trustledger_merkle (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
            "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;"
            "INSERT INTO trustledger_merkle SELECT * FROM merkle_new; DROP TABLE merkle_new;"
        )
    store = open_store(f"sqlite:///{path}")
    assert store.merkle_nodes(ids) == before
    store.close()
    ledger = Ledger.open(f"sqlite:///{path}")
    ledger.append([_registration("shop-late")], signer=bot)
    assert ledger.verify(trusted_keys=[root.verifier], workers=1).intact
    ledger.close()


def _registration(shop_id: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "shop.registered",
        "shop_id": shop_id,
        "occurred_at": "2026-11-01T00:00:00Z",
        "data": {"owner_subject_id": "seller-1"},
    }
