"""The offline audit bundle: one file with everything needed to verify a ledger.

    line 1    "trustledger-bundle/v2"
    line 2    header: a JSON object (RFC 8259) on one line:
                {"entries": N, "checkpoint": <signed note text, with cosignatures>,
                 "head_chain_hash": <hex>, "erased_subjects": [<subject id>, ...]}
    lines 3…  one entry per line, positions 0 … N-1 in order, fields separated by TAB:
                notification_id ‖ originator_id (32 hex digits) ‖ originator_version ‖
                topic ‖ hex(chain hash) ‖ state
              the state is the last field, its stored bytes verbatim (TABs included: the
              line is split at its first five TABs); a state that holds a newline or starts
              with "~" (only a corrupted row) is written "~" + base64(state).

The entries are exactly those of the checkpoint (``N`` = its size). Nothing in the bundle
is trusted: the checkpoint must be signed by a pinned log key, the entries must rebuild
its root, the chain and every signature must verify (docs/AUDITOR.md).
"""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import json
import re
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from trustledger.errors import VerificationFailed
from trustledger.ledger.chain import GENESIS_CHAIN_HASH, StoredEntry
from trustledger.ledger.envelope import decode_i_json
from trustledger.ledger.merkle import EMPTY_ROOT, CompactRange, perfect_nodes
from trustledger.ledger.verify import Failure

BUNDLE_MAGIC = "trustledger-bundle/v2"


class MalformedBundle(VerificationFailed):
    """A file that is not a well-formed bundle; ``position`` is the entry line's, when the
    fault is in one."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class BundleHeader:
    entries: int
    checkpoint: bytes
    head_chain_hash: bytes | None
    erased_subjects: frozenset[str]


def format_header(header: BundleHeader) -> bytes:
    """Lines 1 and 2 of a bundle."""
    body = {
        "entries": header.entries,
        "checkpoint": header.checkpoint.decode("utf-8"),
        "head_chain_hash": header.head_chain_hash.hex() if header.head_chain_hash else None,
        "erased_subjects": sorted(header.erased_subjects),
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"{BUNDLE_MAGIC}\n{text}\n".encode()


_HEADER_MEMBERS = {"entries", "checkpoint", "head_chain_hash", "erased_subjects"}
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_MAX_ENTRIES = 2**53 - 1  # docs/FORMAT.md §3.1: integers within ±(2^53 − 1)


def parse_header(first: bytes, second: bytes) -> BundleHeader:
    """Parse lines 1 and 2 (with their newlines), docs/FORMAT.md §13. Raises
    MalformedBundle (a file whose first line is not the magic line is not a bundle at all:
    the caller says so before)."""
    if first != (BUNDLE_MAGIC + "\n").encode():
        raise MalformedBundle(f"not a trustledger bundle (first line is not {BUNDLE_MAGIC})")
    try:
        if not second.endswith(b"\n"):
            raise ValueError("the header line does not end with a newline")
        body: Any = decode_i_json(second[:-1].decode("utf-8"))
        if not isinstance(body, dict) or set(body) != _HEADER_MEMBERS:
            raise ValueError(f"it is not an object of exactly {sorted(_HEADER_MEMBERS)}")
        entries, checkpoint = body["entries"], body["checkpoint"]
        head, erased = body["head_chain_hash"], body["erased_subjects"]
        if type(entries) is not int or not 0 <= entries <= _MAX_ENTRIES:
            raise ValueError("entries is not a count")
        if not isinstance(checkpoint, str):
            raise ValueError("checkpoint is not a string")
        if (head is None) != (entries == 0) or (
            head is not None and (not isinstance(head, str) or not _HEX_HASH.fullmatch(head))
        ):
            raise ValueError(
                "head_chain_hash is not 64 lowercase hex digits (or null for no entries)"
            )
        if not isinstance(erased, list) or not all(isinstance(s, str) for s in erased):
            raise ValueError("erased_subjects is not an array of strings")
        return BundleHeader(
            entries,
            checkpoint.encode("utf-8"),
            bytes.fromhex(head) if head is not None else None,
            frozenset(erased),
        )
    except (ValueError, UnicodeError) as exc:
        raise MalformedBundle(f"bundle header is malformed: {exc}") from exc


def format_entry_line(entry: StoredEntry) -> bytes:
    """One entry line (with its newline): the state's stored bytes verbatim as the last
    field, or ``~`` + base64(state) when they hold a newline or start with ``~`` (only a
    corrupted row can), so that any stored bytes round-trip (docs/FORMAT.md §13)."""
    if "\t" in entry.topic or "\n" in entry.topic or entry.chain_hash is None:
        raise ValueError(f"entry {entry.notification_id} cannot be written to a bundle")
    state = entry.state
    if b"\n" in state or state.startswith(_ESCAPED):
        state = _ESCAPED + binascii.b2a_base64(state, newline=False)
    return b"%d\t%s\t%d\t%s\t%s\t%s\n" % (
        entry.notification_id,
        entry.originator_id.hex.encode(),
        entry.originator_version,
        entry.topic.encode(),
        entry.chain_hash.hex().encode(),
        state,
    )


_ESCAPED = b"~"  # docs/FORMAT.md §13: a state written as "~" + base64(state)

# docs/FORMAT.md §13, an entry line's five first fields: decimal without leading zeros,
# lowercase hex of exact length. One spelling per value, so that one entry has one line.
_LINE_FIELDS = re.compile(
    rb"([1-9][0-9]{0,18})\t([0-9a-f]{32})\t([1-9][0-9]{0,19})\t([^\t\n]{1,65535})\t"
    rb"([0-9a-f]{64})\t"
)
_MAX_VERSION = 2**64 - 1  # uint64be in the entry bytes (§6)
_MAX_NOTIFICATION_ID = 2**63 - 1  # a signed 64-bit row id in both stores


def split_entry_line(line: bytes) -> tuple[int, bytes, int, bytes, bytes, bytes]:
    """The fields of one entry line (without its newline): notification id, originator id
    (16 bytes), version, topic (UTF-8 bytes), chain hash (32 bytes) and the state's stored
    bytes (docs/FORMAT.md §13). The one reader of the line grammar. Raises ValueError."""
    match = _LINE_FIELDS.match(line)
    if match is None:
        raise ValueError(
            "not six TAB-separated fields of the form notification id (decimal), "
            "originator id (32 lowercase hex), version (decimal), topic, chain hash "
            "(64 lowercase hex), state"
        )
    number, originator, version, topic, chain = match.groups()
    notification_id, originator_version = int(number), int(version)
    if notification_id > _MAX_NOTIFICATION_ID or originator_version > _MAX_VERSION:
        raise ValueError("a notification id or version beyond its 64-bit range")
    topic.decode("utf-8")  # UnicodeDecodeError is a ValueError
    state = line[match.end() :]
    if state.startswith(_ESCAPED):
        # "~" ‖ canonical base64, used only for bytes that cannot be written verbatim.
        state = binascii.a2b_base64(state[1:], strict_mode=True)
        if binascii.b2a_base64(state, newline=False) != line[match.end() + 1 :]:
            raise ValueError("the escaped state is not canonical base64")
    return (
        notification_id,
        binascii.unhexlify(originator),
        originator_version,
        topic,
        binascii.unhexlify(chain),
        state,
    )


def parse_entry_line(line: bytes, position: int) -> StoredEntry:
    """The entry at ``position`` from its line (with or without its newline).
    Raises MalformedBundle."""
    try:
        if line.endswith(b"\n"):
            line = line[:-1]
        number, originator, version, topic, chain, state = split_entry_line(line)
    except (ValueError, binascii.Error) as exc:
        raise MalformedBundle(
            f"bundle entry at position {position} is malformed: {exc}", position
        ) from exc
    return StoredEntry(
        notification_id=number,
        originator_id=UUID(bytes=originator),
        originator_version=version,
        topic=topic.decode("utf-8"),
        state=state,
        position=position,
        chain_hash=chain,
    )


# -- hash-only checking of entry lines ---------------------------------------------------------
_ENTRY_HEAD = struct.Struct(">QH")  # docs/FORMAT.md §6: uint64be(version) ‖ uint16be(len(topic))
_LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1 leaf
_NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1 interior node
_CHAIN_PREFIX = b"\x02"  # docs/FORMAT.md §6 chain node
_LEAF_HASHER = hashlib.sha256(_LEAF_PREFIX)
_CHAIN_HASHER = hashlib.sha256(_CHAIN_PREFIX)


def subtree_hash(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH of a perfect subtree (a power-of-two number of leaf hashes),
    one level at a time."""
    level = list(leaves)
    sha256 = hashlib.sha256
    while len(level) > 1:
        lefts, rights = level[0::2], level[1::2]
        # RFC 9162 §2.1.1: HASH(0x01 ‖ left ‖ right)
        level = [sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(lefts, rights, strict=True)]
    return level[0]


def compact_range_of(start: int, leaves: Sequence[bytes]) -> CompactRange:
    """The compact range of leaves [start, start + len(leaves)) from their hashes."""
    nodes = []
    for level, index in perfect_nodes(start, start + len(leaves)):
        first = (index << level) - start
        nodes.append((level, index, subtree_hash(leaves[first : first + (1 << level)])))
    return CompactRange(start, start + len(leaves), nodes)


@dataclass(frozen=True)
class HashedLines:
    """What ``hash_entry_lines`` found in consecutive entry lines, before they are placed:
    the caller links the first line onto the line before (``LineChain.add``).

    ``count`` lines passed (all of them, or those before ``failure``); ``leaves`` are their
    leaf hashes, 32 bytes each, in order; ``failure`` is the first problem with its
    ``position`` counted from the first line given.
    """

    count: int
    leaves: bytes
    first_chain_hash: bytes | None  # as claimed by the first line
    last_chain_hash: bytes | None
    first_notification_id: int | None
    last_notification_id: int | None
    failure: Failure | None
    # Set by ``place_lines`` (in the worker, once the lines' first position is known):
    # the compact range of the leaves, and the prefix range ending at each size asked for.
    # ``leaves`` then keeps only the first leaf, which links the run onto the chain.
    tree: CompactRange | None = None
    prefixes: dict[int, CompactRange] = dataclasses.field(default_factory=dict)


def place_lines(part: HashedLines, start: int, sizes: Collection[int] = ()) -> HashedLines:
    """``part`` with its leaves folded into their compact range at position ``start`` (and
    the prefix ranges ending at each of ``sizes`` it covers), so that the process joining
    runs does no Merkle hashing: it only links and extends (``LineChain.add``)."""
    leaves = [part.leaves[i : i + 32] for i in range(0, len(part.leaves), 32)]
    end = start + part.count
    prefixes = {
        size: compact_range_of(start, leaves[: size - start])
        for size in sizes
        if start < size <= end
    }
    return dataclasses.replace(
        part, leaves=part.leaves[:32], tree=compact_range_of(start, leaves), prefixes=prefixes
    )


def hash_entry_lines(rows: Sequence[bytes]) -> HashedLines:
    """Hash consecutive bundle entry lines (each with or without its newline) and check
    the chain between them, without reading inside any entry: no envelope, payload,
    signer or signature (docs/FORMAT.md §6, §13).

    Per line: six TAB-separated fields (the last, the state, may hold TABs); ``entry`` =
    the §6 bytes rebuilt from the originator id, version, topic and state (exactly what
    the chain and leaf hashes cover); ``leaf = SHA-256(0x00 ‖ entry)``. From the second
    line on, ``SHA-256(0x02 ‖ previous line's chain hash ‖ leaf)`` must equal the line's
    chain hash and notification ids must increase. Stops at the first failure, which is
    returned, never raised.
    """
    # Hashers already fed their one-byte prefix, copied per line: cheaper than a new
    # hasher each time (OpenSSL 3 sets one up per call), and the state is hashed where it
    # lies instead of being joined into one buffer first.
    new_leaf = _LEAF_HASHER.copy
    new_link = _CHAIN_HASHER.copy
    pack = _ENTRY_HEAD.pack
    leaves: list[bytes] = []
    add_leaf = leaves.append
    chain = first_chain = b""
    notification_id = first_id = -1
    failure: Failure | None = None
    for row in rows:
        try:
            line = row[:-1] if row[-1:] == b"\n" else row
            current, originator, version, topic, stored, state = split_entry_line(line)
            # docs/FORMAT.md §6: entry = originator ‖ uint64be(version) ‖ uint16be(len) ‖
            # topic ‖ state; leaf = SHA-256(0x00 ‖ entry) (RFC 9162 §2.1.1).
            hasher = new_leaf()
            hasher.update(originator + pack(version, len(topic)))
            hasher.update(topic)
            hasher.update(state)
            leaf = hasher.digest()
        except (ValueError, struct.error, binascii.Error) as exc:
            message = f"bundle entry line is malformed: {exc}"
            failure = Failure("bundle", message, len(leaves))
            break
        if leaves:
            # docs/FORMAT.md §6: chain[i] = SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i])
            link = new_link()
            link.update(chain)
            link.update(leaf)
            calculated = link.digest()
            if calculated != stored:
                message = (
                    f"chain hash mismatch: stored {stored.hex()}, calculated {calculated.hex()}"
                )
                failure = Failure("chain", message, len(leaves), current)
                break
            if current <= notification_id:
                message = "notification ids are not increasing"
                failure = Failure("sequence", message, len(leaves), current)
                break
        else:
            first_chain, first_id = stored, current
        add_leaf(leaf)
        chain = stored
        notification_id = current
    if not leaves:
        return HashedLines(0, b"", None, None, None, None, failure)
    return HashedLines(
        len(leaves), b"".join(leaves), first_chain, chain, first_id, notification_id, failure
    )


class LineChain:
    """Joins the ``HashedLines`` of consecutive runs of lines, in order: places them at
    their positions, links each run's first line onto the chain so far, and grows the
    Merkle tree over their leaves. ``roots`` holds the root at each size asked for."""

    def __init__(self, sizes: Collection[int] = ()) -> None:
        self.entries = 0
        self.chain_hash = GENESIS_CHAIN_HASH
        self.notification_id = 0
        self.tree = CompactRange()
        self.sizes = frozenset(sizes)
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT} if 0 in self.sizes else {}

    def add(self, part: HashedLines) -> Failure | None:
        """Append one run; returns the first failure (with its position in the log)."""
        start = self.entries
        if part.count:
            assert part.first_chain_hash is not None and part.first_notification_id is not None
            # docs/FORMAT.md §6: chain[i] = SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i])
            linked = hashlib.sha256(_CHAIN_PREFIX + self.chain_hash + part.leaves[:32]).digest()
            if linked != part.first_chain_hash:
                return Failure(
                    "chain",
                    f"chain hash mismatch: stored {part.first_chain_hash.hex()}, "
                    f"calculated {linked.hex()}",
                    start,
                    part.first_notification_id,
                )
            if part.first_notification_id <= self.notification_id:
                return Failure(
                    "sequence",
                    "notification ids are not increasing",
                    start,
                    part.first_notification_id,
                )
            end = start + part.count
            if part.tree is None:
                part = place_lines(part, start, self.sizes)
            elif part.tree.start != start or part.tree.end != end:
                return Failure(
                    "bundle",
                    f"entry lines [{part.tree.start}, {part.tree.end}) were counted where "
                    f"[{start}, {end}) was found",
                    start,
                )
            assert part.tree is not None
            for size, prefix in part.prefixes.items():
                snapshot = CompactRange(0, start, list(self.tree.nodes))
                snapshot.extend(prefix)
                self.roots[size] = snapshot.root()
            self.tree.extend(part.tree)
            self.entries = end
            assert part.last_chain_hash is not None and part.last_notification_id is not None
            self.chain_hash = part.last_chain_hash
            self.notification_id = part.last_notification_id
        if part.failure is not None:
            where = start + (part.failure.position or 0)
            return dataclasses.replace(part.failure, position=where)
        return None
