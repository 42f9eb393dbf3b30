"""Entry bytes, leaf hashes and the hash chain over the notification order.

An entry is one stored event, serialised exactly as stored (docs/FORMAT.md §Entry):

    entry = originator_id (16 bytes, the UUID's bytes)
          ‖ uint64be(originator_version)
          ‖ uint16be(len(topic)) ‖ topic (UTF-8)
          ‖ state (the stored bytes, to the end)

The leaf hash is RFC 9162 §2.1.1's ``SHA-256(0x00 ‖ entry)``, so that the same leaves can
later feed a Merkle tree. The chain hash of position i commits to every earlier entry:

    chain[-1] = 32 zero bytes
    chain[i]  = SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i])

(0x02 keeps chain nodes apart from RFC 9162's 0x00 leaves and 0x01 interior nodes.)
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from uuid import UUID

GENESIS_CHAIN_HASH = bytes(32)
_LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1
_CHAIN_PREFIX = b"\x02"


@dataclass(frozen=True)
class StoredEntry:
    """One row of the ledger as read from a store, for verification.

    ``chain_hash`` and ``position`` are what the store claims; ``None`` when the store has
    no chain row for the event (which verification reports). ``leaf_hash`` is the chain
    row's stored leaf hash (docs/FORMAT.md §7), which proofs are served from; ``None``
    where none is stored (a bundle, or no chain row).
    """

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    position: int | None
    chain_hash: bytes | None
    leaf_hash: bytes | None = None


class MalformedEntry(ValueError):
    """A stored row that cannot be an entry at all (a value of the wrong type or shape).

    Only tampering or corruption produces one; verification reports it as a failure.
    """

    def __init__(self, notification_id: int, message: str) -> None:
        super().__init__(message)
        self.notification_id = notification_id


def encode_entry(originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    """The entry bytes of one stored event (see module docstring)."""
    topic_bytes = topic.encode("utf-8")
    return (
        originator_id.bytes
        + struct.pack(">QH", originator_version, len(topic_bytes))
        + topic_bytes
        + state
    )


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def next_chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """chain[i] = SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i])."""
    return hashlib.sha256(_CHAIN_PREFIX + previous + leaf).digest()
