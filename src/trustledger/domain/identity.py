"""Stable identities in the stored bytes: aggregate ids and event topics.

Both are part of the hashed and signed entries (docs/FORMAT.md), so they never change;
a rename of a Python class is absorbed by ``register_topic`` instead.
"""

from __future__ import annotations

import functools
import hashlib
from uuid import UUID, uuid5

# uuid5 namespace of trustledger aggregate ids (a fixed random UUID, never to change).
NAMESPACE = UUID("6d1b8a4e-3f0c-5b7a-9e2d-1c4f8a7b6e50")

KEYRING_ID = uuid5(NAMESPACE, "keyring")
"""The one aggregate that records the root key and every key registration and revocation."""

KEY_EVENT_TYPES = frozenset(
    {"ledger.initialised", "key.registered", "key.revoked", "rules.published"}
)
TOPIC_PREFIX = "trustledger:"

SHOP_TOPIC = TOPIC_PREFIX + "shop"
KEYRING_TOPIC = TOPIC_PREFIX + "keyring"
ORIGINATOR_TOPICS = {"shop.registered": SHOP_TOPIC, "ledger.initialised": KEYRING_TOPIC}
"""The event types that start an aggregate, and the aggregate's topic, which their stored
state names as ``originator_topic`` (docs/FORMAT.md §5)."""

_NAMESPACE_BYTES = NAMESPACE.bytes
# RFC 9562 §4.1, §4.2: version 5 in bits 48-51, variant 0b10 in bits 64-65 (from the top).
_UUID5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID5_SET = (0x5000 << 64) | (0x8000 << 48)


# Memoised: uuid5 costs more than a dictionary lookup, shops recur along the log (appends,
# verification, projections), and the bound keeps a long-running process's memory flat.
@functools.lru_cache(maxsize=32_768)
def shop_aggregate_id(shop_id: str) -> UUID:
    """The aggregate id of a shop: uuid5(NAMESPACE, "shop:" + shop_id)."""
    # RFC 9562 §5.5, as uuid.uuid5 computes it, minus its bytes round trips: a verifier
    # of a log spread over more shops than the memo holds pays this on most entries.
    digest = hashlib.sha1(_NAMESPACE_BYTES + ("shop:" + shop_id).encode(), usedforsecurity=False)
    value = int.from_bytes(digest.digest()[:16])
    return UUID(int=(value & _UUID5_CLEAR) | _UUID5_SET)


def topic_of(event_type: str) -> str:
    """The stored topic of a decision or key event type, e.g. ``trustledger:penalty.imposed``."""
    return TOPIC_PREFIX + event_type
