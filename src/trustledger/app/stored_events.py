"""The stored events of signed documents: how every entry is written (docs/FORMAT.md §5).

Decisions (``app.append``) and key events (``app.ledger``) alike are made here and handed to
the recorder (``LedgerApplication.record_stored``): the topic is ``trustledger:`` and the
document's type, the state is ``ledger.envelope.StateWriter``'s. eventsourcing's aggregates
(``domain.aggregates``) and mapper only read the events back (the keyring, projections);
tests/app/test_stored_events.py checks that they read what is written here.

Making the stored event directly, rather than an aggregate's event for the mapper to
transcode, spares an append ~7 % of its instructions (docs/BENCHMARKS.md §1.3): the mapper
copies the event's ``vars``, looks its topic up and checks every value's type again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger.domain.identity import KEY_EVENT_TYPES, ORIGINATOR_TOPICS, topic_of
from trustledger.ledger.envelope import StateWriter

_TOPICS = {kind: topic_of(kind) for kind in SHOP_DECISION_TYPES | KEY_EVENT_TYPES}


class StoredEvents:
    """Makes the stored events of documents signed under ``key_id`` and recorded at
    ``recorded_at`` (one batch of decisions, or one key event)."""

    __slots__ = ("_format_state",)

    def __init__(self, recorded_at: datetime, key_id: str) -> None:
        self._format_state = StateWriter(recorded_at, key_id).format_state

    def make(
        self, kind: str, originator_id: UUID, version: int, payload: str, signature: str
    ) -> StoredEvent:
        """The stored event of a signed document of type ``kind`` (a DOMAIN.md decision
        type or a key event type) at ``version`` of the aggregate ``originator_id``."""
        state = self._format_state(payload, signature, ORIGINATOR_TOPICS.get(kind))
        return StoredEvent(originator_id, version, _TOPICS[kind], state)
