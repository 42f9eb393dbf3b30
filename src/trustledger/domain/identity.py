"""Stable identities in the stored bytes: aggregate ids and event topics.

Both are part of the hashed and signed entries (docs/FORMAT.md), so they never change;
a rename of a Python class is absorbed by ``register_topic`` instead.
"""

from __future__ import annotations

import functools
from uuid import UUID, uuid5

# uuid5 namespace of trustledger aggregate ids (a fixed random UUID, never to change).
NAMESPACE = UUID("6d1b8a4e-3f0c-5b7a-9e2d-1c4f8a7b6e50")

KEYRING_ID = uuid5(NAMESPACE, "keyring")
"""The one aggregate that records the root key and every key registration and revocation."""

KEY_EVENT_TYPES = frozenset(
    {"ledger.initialised", "key.registered", "key.revoked", "rules.published"}
)
TOPIC_PREFIX = "trustledger:"


# Memoised: uuid5 costs more than a dictionary lookup, shops recur along the log (appends,
# verification, projections), and the bound keeps a long-running process's memory flat.
@functools.lru_cache(maxsize=32_768)
def shop_aggregate_id(shop_id: str) -> UUID:
    """The aggregate id of a shop: uuid5(NAMESPACE, "shop:" + shop_id)."""
    return uuid5(NAMESPACE, "shop:" + shop_id)


def topic_of(event_type: str) -> str:
    """The stored topic of a decision or key event type, e.g. ``trustledger:penalty.imposed``."""
    return TOPIC_PREFIX + event_type
