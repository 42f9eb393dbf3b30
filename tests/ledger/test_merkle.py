"""The Merkle tree and its proofs against RFC 9162's recursive definitions, exhaustively.

Every tree size up to 64, every leaf index and every pair of sizes: the proofs built from
stored nodes equal the reference ones, verify, and fail with any single bit flipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.ledger.chain import leaf_hash
from trustledger.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeId,
    consistency_plan,
    hash_children,
    inclusion_plan,
    materialise,
    perfect_nodes,
    root_hash,
)
from trustledger.ledger.proof import ProofFailed, verify_consistency, verify_inclusion

MAX = 64
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(MAX)]


# -- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 read literally ----------------------
def mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hash_children(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


# -- a store of nodes, as the database keeps them -----------------------------------------
class Nodes:
    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.stored: dict[NodeId, bytes] = {}
        self.reads = 0
        for size, leaf in enumerate(leaves):
            # As a backend appends (storage.chaining): the frontier read, the leaf added.
            tree = CompactRange.from_frontier(size, self.read(perfect_nodes(0, size)))
            completed: list[tuple[int, int, bytes]] = []
            tree.append_leaf(leaf, completed)
            self.stored[(0, size)] = leaf
            for level, index, digest in completed:
                self.stored[(level, index)] = digest

    def read(self, ids: Sequence[NodeId]) -> list[bytes]:
        self.reads += len(ids)
        return [self.stored[node] for node in ids]


@pytest.fixture(scope="module")
def nodes() -> Nodes:
    return Nodes(LEAVES)


def flips(proof: list[bytes]) -> list[list[bytes]]:
    """The proof with one bit flipped, for every hash and a few bit positions of each."""
    out = []
    for i, element in enumerate(proof):
        for bit in (0, 7, 100, 255):
            changed = bytearray(element)
            changed[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:i], bytes(changed), *proof[i + 1 :]])
    return out


def test_roots_match_the_definition(nodes: Nodes) -> None:
    assert root_hash(0, nodes.read) == EMPTY_ROOT
    for size in range(1, MAX + 1):
        assert root_hash(size, nodes.read) == mth(LEAVES[:size])


def test_every_stored_node_is_its_subtree(nodes: Nodes) -> None:
    for (level, index), digest in nodes.stored.items():
        assert digest == mth(LEAVES[index << level : (index + 1) << level])
    assert len(nodes.stored) == 2 * MAX - 1  # a perfect tree of 64 leaves


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_inclusion_every_index(nodes: Nodes, size: int) -> None:
    root = mth(LEAVES[:size])
    for index in range(size):
        proof = materialise(inclusion_plan(index, size), nodes.read)
        assert proof == path(index, LEAVES[:size])
        verify_inclusion(index=index, size=size, leaf_hash=LEAVES[index], proof=proof, root=root)
        for bad in flips(proof):
            with pytest.raises(ProofFailed):
                verify_inclusion(
                    index=index, size=size, leaf_hash=LEAVES[index], proof=bad, root=root
                )
        other = LEAVES[(index + 1) % MAX]
        with pytest.raises(ProofFailed):
            verify_inclusion(index=index, size=size, leaf_hash=other, proof=proof, root=root)
        with pytest.raises(ProofFailed):
            verify_inclusion(
                index=index, size=size, leaf_hash=LEAVES[index], proof=[*proof, root], root=root
            )


@pytest.mark.parametrize("size2", range(1, MAX + 1))
def test_consistency_every_pair(nodes: Nodes, size2: int) -> None:
    root2 = mth(LEAVES[:size2])
    for size1 in range(1, size2 + 1):
        root1 = mth(LEAVES[:size1])
        proof = materialise(consistency_plan(size1, size2), nodes.read)
        assert proof == subproof(size1, LEAVES[:size2], True)
        verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
        for bad in flips(proof):
            with pytest.raises(ProofFailed):
                verify_consistency(size1=size1, size2=size2, proof=bad, root1=root1, root2=root2)
        if size1 < size2:
            forged = mth([*LEAVES[: size1 - 1], LEAVES[-1]])  # a rewritten last old leaf
            with pytest.raises(ProofFailed) as failed:
                verify_consistency(size1=size1, size2=size2, proof=proof, root1=forged, root2=root2)
            assert failed.value.expected is not None or "size" in str(failed.value)


def test_a_proof_costs_logarithmic_reads() -> None:
    store = Nodes([leaf_hash(i.to_bytes(4, "big")) for i in range(1000)])
    store.reads = 0
    materialise(inclusion_plan(517, 1000), store.read)
    assert store.reads <= 2 * 10
    store.reads = 0
    materialise(consistency_plan(333, 1000), store.read)
    assert store.reads <= 2 * 10


def test_proof_failure_names_expected_and_calculated(nodes: Nodes) -> None:
    proof = materialise(inclusion_plan(3, 10), nodes.read)
    with pytest.raises(ProofFailed) as failed:
        verify_inclusion(index=3, size=10, leaf_hash=LEAVES[3], proof=proof, root=LEAVES[0])
    assert failed.value.expected == LEAVES[0]
    assert failed.value.calculated == mth(LEAVES[:10])
    assert f"expected {LEAVES[0].hex()}, calculated" in str(failed.value)


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300))
def test_compact_ranges_join_anywhere(a: int, b: int, c: int) -> None:
    cut1, cut2, end = sorted((a, b, c))
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(end)]
    parts = []
    for start, stop in ((0, cut1), (cut1, cut2), (cut2, end)):
        part = CompactRange(start, start)
        for leaf in leaves[start:stop]:
            part.append_leaf(leaf)
        parts.append(part)
    joined = parts[0]
    joined.extend(parts[1])
    joined.extend(parts[2])
    assert joined.root() == mth(leaves)
    assert [(lv, ix) for lv, ix, _ in joined.nodes] == perfect_nodes(0, end)
