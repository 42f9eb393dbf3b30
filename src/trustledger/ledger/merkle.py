"""The RFC 9162 Merkle tree over the ledger's leaves, on plain bytes.

The leaves are the chain's leaf hashes (``chain.leaf_hash``: RFC 9162 §2.1.1
``SHA-256(0x00 ‖ entry)``). Interior nodes are ``SHA-256(0x01 ‖ left ‖ right)``.

Storage follows Go's ``sumdb/tlog`` idea of *stored hashes*: every perfect subtree, once
complete, is written once and never changes. A node is named by ``(level, index)``: the hash
of leaves ``[index·2^level, (index+1)·2^level)``. Level 0 is the leaf hashes themselves. Any
subtree an RFC 9162 proof needs is then the fold of at most ``log2(n)`` stored nodes, so a
proof costs O(log n) reads and no recomputation.

This module only *plans* which nodes a computation needs (``perfect_nodes``,
``inclusion_plan``, ``consistency_plan``) and folds hashes it is given; reading them is the
caller's business (``materialise``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

NodeId = tuple[int, int]  # (level, index): leaves [index·2^level, (index+1)·2^level)
NodeReader = Callable[[Sequence[NodeId]], Sequence[bytes]]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()
_NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1: interior node prefix


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[NodeId]:
    """The maximal aligned perfect subtrees covering leaves [start, end), left to right."""
    nodes: list[NodeId] = []
    while start < end:
        # the largest block aligned at ``start`` that still fits in the range
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 §2.1.1 hash of a subtree from its perfect parts, left to right.

    Valid for the subtrees RFC 9162 defines (aligned start, power-of-two-or-less size): the
    left part is the largest perfect subtree, the right one is recursively the rest.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = hash_children(left, result)  # RFC 9162 §2.1.1
    return result


Plan = list[tuple[int, int]]  # leaf ranges [start, end), one per proof hash


def inclusion_plan(index: int, size: int) -> Plan:
    """The subtrees of RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf's sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    plan: Plan = []
    start, n, m = 0, size, index
    while n > 1:
        k = split_point(n)
        if m < k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            plan.append((start + k, start + n))
            n = k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            plan.append((start, start + k))
            start, n, m = start + k, n - k, m - k
    plan.reverse()  # the recursion emits the deepest sibling last
    return plan


def consistency_plan(size1: int, size2: int) -> Plan:
    """The subtrees of RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]), deepest first."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    plan: Plan = []
    start, n, m, whole = 0, size2, size1, True
    while m != n:
        k = split_point(n)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            plan.append((start + k, start + n))
            n = k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            plan.append((start, start + k))
            start, n, m, whole = start + k, n - k, m - k, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        plan.append((start, start + n))
    plan.reverse()
    return plan


def materialise(plan: Plan, read: NodeReader) -> list[bytes]:
    """The hashes of a plan's subtrees, reading every stored node needed in one call."""
    parts = [perfect_nodes(start, end) for start, end in plan]
    wanted = list(dict.fromkeys(node for nodes in parts for node in nodes))
    found = dict(zip(wanted, read(wanted), strict=True))
    return [fold([found[node] for node in nodes]) for nodes in parts]


def root_hash(size: int, read: NodeReader) -> bytes:
    """RFC 9162 §2.1.1 MTH(D[0:size]) from stored nodes (log2(size) reads at most)."""
    return fold(list(read(perfect_nodes(0, size)))) if size else EMPTY_ROOT


@dataclass
class CompactRange:
    """The perfect subtrees covering leaves [start, end): enough to extend and to take
    the root of a tree without keeping its leaves (transparency-dev's compact ranges).

    Appending is a binary counter: two adjacent siblings merge into their parent. Ranges
    computed apart (by several processes) join with ``extend`` when they are adjacent.
    """

    start: int = 0
    end: int = 0
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)  # (level, index, hash)

    def append_node(
        self, level: int, index: int, digest: bytes, emit: list[tuple[int, int, bytes]] | None
    ) -> None:
        """Add the perfect subtree (level, index), which must start at ``end``."""
        if index << level != self.end:
            raise ValueError(f"node ({level}, {index}) does not start at leaf {self.end}")
        self.end += 1 << level
        nodes = self.nodes
        while nodes and nodes[-1][0] == level and nodes[-1][1] == index - 1 and index & 1:
            left = nodes.pop()[2]
            digest = hash_children(left, digest)  # RFC 9162 §2.1.1
            level, index = level + 1, index >> 1
            if emit is not None:
                emit.append((level, index, digest))
        nodes.append((level, index, digest))

    def append_leaf(self, leaf: bytes, emit: list[tuple[int, int, bytes]] | None = None) -> None:
        """Add the next leaf hash; new complete interior nodes go to ``emit``."""
        self.append_node(0, self.end, leaf, emit)

    def extend(self, other: CompactRange) -> None:
        """Append the adjacent range ``other`` (other.start == self.end)."""
        if other.start != self.end:
            raise ValueError(f"range [{other.start}, {other.end}) does not follow {self.end}")
        for level, index, digest in other.nodes:
            self.append_node(level, index, digest, None)

    def root(self) -> bytes:
        """RFC 9162 MTH of leaves [0, end); only for a range that starts at leaf 0."""
        if self.start != 0:
            raise ValueError("only a range from leaf 0 has a root")
        return fold([digest for _, _, digest in self.nodes])

    @classmethod
    def from_frontier(cls, size: int, hashes: Iterable[bytes]) -> CompactRange:
        """The range [0, size) from the hashes of ``perfect_nodes(0, size)``."""
        nodes = [(lv, ix, h) for (lv, ix), h in zip(perfect_nodes(0, size), hashes, strict=True)]
        return cls(0, size, nodes)
