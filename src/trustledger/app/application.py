"""The eventsourcing Application behind a ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import StoredEvent, Transcoder
from eventsourcing.utils import Environment, EnvType

from trustledger.app.transcoder import LedgerTranscoder
from trustledger.domain.aggregates import Keyring, Shop
from trustledger.domain.identity import KEYRING_ID, shop_aggregate_id
from trustledger.storage import Store


class LedgerApplication(Application[UUID]):
    """Stores shops and the keyring through the store's chaining recorder."""

    name = "trustledger"

    def __init__(self, store: Store) -> None:
        env = {
            # Recently used shops stay in memory, fast-forwarded from the store on each get,
            # so a busy shop is not replayed from its first event on every append.
            "AGGREGATE_CACHE_MAXSIZE": "4096",
            **store.application_env(),
        }
        super().__init__(env=env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike eventsourcing's default, do not let unrelated process environment variables
        # (PERSISTENCE_MODULE, SQLITE_DBNAME, ...) redirect the ledger: the URL decides.
        return Environment(name, dict(env or {}))

    def construct_transcoder(self) -> Transcoder:
        # eventsourcing's JSON transcoding, through orjson where the bytes are the same
        # (trustledger.app.transcoder).
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def record(self, events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> None:
        """Store new events in one transaction, as ``save`` stores an aggregate's.

        The events take ``save``'s own path, this application's mapper and then its
        recorder (``kwargs`` reach the recorder, as ``save``'s do), so the stored bytes
        and notification ids are what ``save`` would give. What ``save`` adds is skipped: a
        ``Recording`` and a ``Notification`` per event for push-style followers (a ledger
        has none; projections pull from the notification log), and the protocol checks of
        the objects it is given. (Appends make their stored events themselves and hand them
        to ``record_stored``.)
        """
        self.record_stored([self.mapper.to_stored_event(e) for e in events], **kwargs)

    def record_stored(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Store events already mapped (app.stored_decisions) in one transaction, as
        ``record`` does after its mapper."""
        self.recorder.insert_events(stored_events, **kwargs)

    def get_shop(self, shop_id: str) -> Shop | None:
        try:
            shop: object = self.repository.get(shop_aggregate_id(shop_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(shop, Shop)
        return shop

    def get_keyring(self) -> Keyring | None:
        try:
            keyring: object = self.repository.get(KEYRING_ID)
        except AggregateNotFoundError:
            return None
        assert isinstance(keyring, Keyring)
        return keyring
