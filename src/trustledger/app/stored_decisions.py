"""The stored events of a batch of decisions, made directly.

An append has every field of its events at hand (payload, signature, key id, the batch's
one ``recorded_at``). Making each one as a ``Shop`` event and handing it to
eventsourcing's mapper, which copies its ``vars``, pops the originator, looks up the topic
and hands the rest to the transcoder (whose fast path checks every value's type again and
calls back into Python for the timestamp), cost ~7 % of a batched append's instructions
(docs/BENCHMARKS.md §1.3). This makes the very ``StoredEvent`` the mapper would have made,
in one ``orjson.dumps`` each: the timestamp is encoded once per batch, by the application's
own transcoder, and spliced in as a ``Fragment``. tests/app/test_append_events.py compares
both ways, byte for byte, for every decision event class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from trustledger.domain.aggregates import Shop
from trustledger.errors import InternalError

# The mapper stores an event's fields in their declaration order, less the originator's id
# and version: timestamp, [originator_topic,] payload, signature, key_id (Shop's events).
_TOPICS: dict[str, str] = {kind: get_topic(cls) for kind, cls in Shop.EVENT_CLASSES.items()}
_REGISTERED = "shop.registered"
_REGISTERED_TOPIC = get_topic(Shop.Registered)
_SHOP_TOPIC = get_topic(Shop)


class StoredDecisions:
    """Makes the stored events of one batch, all recorded at ``recorded_at`` under
    ``key_id``: what ``Mapper.to_stored_event`` makes of the corresponding ``Shop`` event."""

    def __init__(self, transcoder: Transcoder, recorded_at: datetime, key_id: str) -> None:
        # What the transcoder writes for the timestamp, taken from a state holding only it
        # (b'{"timestamp":' + value + b'}'), so that any transcoding it applies is kept.
        encoded = transcoder.encode({"timestamp": recorded_at})
        prefix = b'{"timestamp":'
        if not (encoded.startswith(prefix) and encoded.endswith(b"}")):
            # Only a changed eventsourcing could do this; nothing has been written yet.
            raise InternalError(
                f"the application's transcoder wrote a timestamp as {encoded!r}, not as "
                "eventsourcing 9.5 does: app.stored_decisions must follow it"
            )
        self._timestamp = orjson.Fragment(encoded[len(prefix) : -1])
        self._key_id = key_id

    def make(
        self, kind: str, originator_id: Any, version: int, payload: str, signature: str
    ) -> StoredEvent:
        """The stored event of a ``kind`` decision (a DOMAIN.md type) at ``version``."""
        if kind == _REGISTERED:
            state = orjson.dumps(
                {
                    "timestamp": self._timestamp,
                    "originator_topic": _SHOP_TOPIC,
                    "payload": payload,
                    "signature": signature,
                    "key_id": self._key_id,
                }
            )
            return StoredEvent(originator_id, version, _REGISTERED_TOPIC, state)
        state = orjson.dumps(
            {
                "timestamp": self._timestamp,
                "payload": payload,
                "signature": signature,
                "key_id": self._key_id,
            }
        )
        return StoredEvent(originator_id, version, _TOPICS[kind], state)
