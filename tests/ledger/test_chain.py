"""Entry bytes, RFC 9162 leaf hashes and the hash chain (docs/FORMAT.md §Entry, §Chain)."""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    encode_entry,
    entry_leaf_hash,
    leaf_hash,
    next_chain_hash,
)

ORIGINATOR = UUID("6d1b8a4e-3f0c-5b7a-9e2d-1c4f8a7b6e50")


def test_entry_layout() -> None:
    entry = encode_entry(ORIGINATOR, 7, "trustledger:penalty.imposed", b'{"payload":"x"}')
    assert entry == (
        bytes.fromhex("6d1b8a4e3f0c5b7a9e2d1c4f8a7b6e50")
        + bytes.fromhex("0000000000000007")
        + bytes.fromhex("001b")
        + b"trustledger:penalty.imposed"
        + b'{"payload":"x"}'
    )


def test_an_entry_s_leaf_and_chain_hash_are_the_known_values() -> None:
    # Computed once from docs/FORMAT.md §6 over the literal bytes of test_entry_layout:
    # leaf = SHA-256(0x00 ‖ entry), chain[0] = SHA-256(0x02 ‖ 32 zero bytes ‖ leaf).
    leaf = "673b5b1a835f21b983633ff58df84856341911e07ee52d35cb0c62d36043445b"
    chain = "797562d4e21fc0a235f8f78b49d162b31948f7a3447c7a64666c9e5039baec47"
    topic, state = b"trustledger:penalty.imposed", b'{"payload":"x"}'
    assert entry_leaf_hash(ORIGINATOR.bytes, 7, topic, state).hex() == leaf
    assert leaf_hash(encode_entry(ORIGINATOR, 7, topic.decode(), state)).hex() == leaf
    assert next_chain_hash(GENESIS_CHAIN_HASH, bytes.fromhex(leaf)).hex() == chain


@given(
    originator=st.uuids(),
    version=st.integers(min_value=0, max_value=2**64 - 1),
    topic=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30),
    state=st.binary(max_size=64),
)
def test_the_fast_path_hashes_the_entry_encode_entry_writes(
    originator: UUID, version: int, topic: str, state: bytes
) -> None:
    fields = (originator.bytes, version, topic.encode("utf-8"), state)
    assert entry_leaf_hash(*fields) == leaf_hash(encode_entry(originator, version, topic, state))


def test_topic_length_counts_utf8_bytes() -> None:
    entry = encode_entry(ORIGINATOR, 1, "主题", b"")
    assert entry[24:26] == (6).to_bytes(2, "big")
    assert entry[26:] == "主题".encode()


@given(
    originator=st.uuids(),
    version=st.integers(min_value=0, max_value=2**64 - 1),
    topic=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30),
    state=st.binary(max_size=64),
)
def test_entry_decodes_back_to_its_fields(
    originator: UUID, version: int, topic: str, state: bytes
) -> None:
    topic_bytes = topic.encode("utf-8")
    entry = encode_entry(originator, version, topic, state)
    decoded_version, length = struct.unpack(">QH", entry[16:26])
    assert UUID(bytes=entry[:16]) == originator
    assert decoded_version == version
    assert entry[26 : 26 + length] == topic_bytes
    assert entry[26 + length :] == state


def test_leaf_hash_of_the_empty_entry_is_rfc6962s() -> None:
    # RFC 6962 / RFC 9162 test vector: the leaf hash of the empty leaf, SHA-256(0x00).
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@given(st.binary(max_size=200))
def test_leaf_hash_is_sha256_of_zero_and_entry(entry: bytes) -> None:
    assert leaf_hash(entry) == hashlib.sha256(b"\x00" + entry).digest()


def test_chain_starts_at_32_zero_bytes_and_commits_to_every_leaf() -> None:
    assert GENESIS_CHAIN_HASH == b"\x00" * 32
    leaves = [leaf_hash(encode_entry(ORIGINATOR, i, "t", bytes([i]))) for i in range(1, 4)]
    chain = GENESIS_CHAIN_HASH
    expected = GENESIS_CHAIN_HASH
    for leaf in leaves:
        chain = next_chain_hash(chain, leaf)
        expected = hashlib.sha256(b"\x02" + expected + leaf).digest()
        assert chain == expected
    # Reordering two leaves changes the head.
    swapped = GENESIS_CHAIN_HASH
    for leaf in (leaves[1], leaves[0], leaves[2]):
        swapped = next_chain_hash(swapped, leaf)
    assert swapped != chain


def test_chain_node_is_not_a_merkle_node() -> None:
    # 0x02 keeps chain hashes apart from RFC 9162 interior nodes SHA-256(0x01 ‖ l ‖ r).
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert next_chain_hash(left, right) != hashlib.sha256(b"\x01" + left + right).digest()
