"""Entry bytes, leaf hashes and the hash chain over the notification order.

The one definition of these bytes (docs/FORMAT.md §6): every writer and verifier of chain
rows calls the functions here. An entry is one stored event, serialised exactly as stored:

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


# uint64be(originator_version) ‖ uint16be(len(topic)): the fixed part of an entry (§6).
_VERSION_AND_TOPIC_LENGTH = struct.Struct(">QH").pack
_sha256 = hashlib.sha256


def encode_entry(originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    """The entry bytes of one stored event (docs/FORMAT.md §6):
    ``originator_id.bytes ‖ uint64be(originator_version) ‖ uint16be(len(topic)) ‖ topic ‖ state``,
    the topic's length counted in UTF-8 bytes."""
    topic_bytes = topic.encode("utf-8")
    return (
        originator_id.bytes
        + _VERSION_AND_TOPIC_LENGTH(originator_version, len(topic_bytes))
        + topic_bytes
        + state
    )


_ENTRY_HEAD = struct.Struct(">16sQH")  # originator_id ‖ uint64be(version) ‖ uint16be(len)


def decode_entry(entry: bytes) -> tuple[UUID, int, str, bytes]:
    """(originator_id, originator_version, topic, state) of entry bytes, as ``encode_entry``
    lays them out (an entry read from a tile or a proof's ``extra``). Raises ValueError."""
    if len(entry) < _ENTRY_HEAD.size:
        raise ValueError(f"an entry of {len(entry)} bytes is shorter than its fixed part")
    originator, version, length = _ENTRY_HEAD.unpack_from(entry)
    end = _ENTRY_HEAD.size + length
    if len(entry) < end:
        raise ValueError("an entry ends inside its topic")
    topic = entry[_ENTRY_HEAD.size : end].decode("utf-8")
    return UUID(bytes=originator), version, topic, entry[end:]


def entry_size(topic: str, state: bytes) -> int:
    """``len(encode_entry(...))`` of an event with this topic and state, without making the
    entry: 16 + 8 + 2 bytes, the topic's UTF-8 bytes and the state."""
    return _ENTRY_HEAD.size + len(topic.encode("utf-8")) + len(state)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def entry_leaf_hash(
    originator_id: bytes, originator_version: int, topic: bytes, state: bytes
) -> bytes:
    """``leaf_hash(encode_entry(...))`` from the stored event's fields as bytes (the UUID's
    16 bytes, the topic's UTF-8 bytes): the fast path of a writer, which hashes every entry
    it appends, without making a ``UUID``, a topic string or the entry apart from the
    hashed bytes."""
    # RFC 9162 §2.1.1: SHA-256(0x00 ‖ entry), the entry laid out as encode_entry's.
    return _sha256(
        _LEAF_PREFIX
        + originator_id
        + _VERSION_AND_TOPIC_LENGTH(originator_version, len(topic))
        + topic
        + state
    ).digest()


def next_chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """chain[i] = SHA-256(0x02 ‖ chain[i-1] ‖ leaf[i]) (docs/FORMAT.md §6)."""
    return _sha256(_CHAIN_PREFIX + previous + leaf).digest()
