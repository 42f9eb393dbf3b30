"""The stored events of signed documents: the one definition of the stored state bytes
(docs/FORMAT.md §5), which every write uses.

Decisions (``app.append``) and key events (``app.ledger``) alike are made here and handed to
the recorder (``LedgerApplication.record_stored``). eventsourcing's aggregates
(``domain.aggregates``) and mapper only read them back (the keyring, projections);
tests/app/test_stored_events.py checks that they read what is written here, and
``ledger.envelope.parse_state`` reads the members verification needs.

A state is a compact UTF-8 JSON object (orjson: strings unescaped but for ``"``, ``\\`` and
control characters) with these members, in this order:

    timestamp         {"_type_": "datetime_iso", "_data_": datetime.isoformat()}: the
                      recording time, as eventsourcing's datetime transcoding reads it
    originator_topic  on an aggregate's first event only: ``trustledger:shop`` or
                      ``trustledger:keyring``, the class eventsourcing rebuilds
    payload           the RFC 8785 canonical text of the signed document, verbatim
    signature         base64 of the 64-byte Ed25519 signature
    key_id            the signer's key id (8 hex digits)

Making the stored event directly, in one call and one ``orjson.dumps``, rather than an
aggregate's event for the mapper to transcode, spares an append ~7 % of its instructions
(docs/BENCHMARKS.md §1).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger.domain.identity import KEY_EVENT_TYPES, ORIGINATOR_TOPICS, topic_of

# Each document type's topic (``trustledger:`` and the type) and, for the types that start
# an aggregate, the aggregate's topic.
_KINDS: dict[str, tuple[str, str | None]] = {
    kind: (topic_of(kind), ORIGINATOR_TOPICS.get(kind))
    for kind in sorted(SHOP_DECISION_TYPES | KEY_EVENT_TYPES)
}


class StoredEvents:
    """Makes the stored events of documents signed under ``key_id`` and recorded at
    ``recorded_at`` (one batch of decisions, or one key event); the timestamp is encoded
    once, for all of them."""

    __slots__ = ("_key_id", "_timestamp")

    def __init__(self, recorded_at: datetime, key_id: str) -> None:
        self._timestamp = orjson.Fragment(
            orjson.dumps({"_type_": "datetime_iso", "_data_": recorded_at.isoformat()})
        )
        self._key_id = key_id

    def make(
        self, kind: str, originator_id: UUID, version: int, payload: str, signature: str
    ) -> StoredEvent:
        """The stored event of a signed document of type ``kind`` (a docs/DECISIONS.md decision
        type or a key event type) at ``version`` of the aggregate ``originator_id``:
        ``payload`` its canonical text, ``signature`` the signature's base64."""
        topic, originator_topic = _KINDS[kind]
        if originator_topic is None:
            state = orjson.dumps(
                {
                    "timestamp": self._timestamp,
                    "payload": payload,
                    "signature": signature,
                    "key_id": self._key_id,
                }
            )
        else:
            state = orjson.dumps(
                {
                    "timestamp": self._timestamp,
                    "originator_topic": originator_topic,
                    "payload": payload,
                    "signature": signature,
                    "key_id": self._key_id,
                }
            )
        return StoredEvent(originator_id, version, topic, state)
