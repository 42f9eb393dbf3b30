"""The eventsourcing Application behind a ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment, EnvType

from trustledger.domain.aggregates import Keyring
from trustledger.domain.identity import KEYRING_ID
from trustledger.errors import InputRejected
from trustledger.ledger.chain import entry_size
from trustledger.ledger.tiles import MAX_ENTRY_SIZE
from trustledger.storage import Store


class LedgerApplication(Application[UUID]):
    """The store's chaining recorder, and the shops and the keyring read back from it."""

    name = "trustledger"

    def __init__(self, store: Store) -> None:
        env = {
            # The keyring (the one aggregate read through the repository) stays in memory,
            # fast-forwarded from the store on each get, not replayed from its first event.
            "AGGREGATE_CACHE_MAXSIZE": "4096",
            **store.application_env(),
        }
        super().__init__(env=env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike eventsourcing's default, do not let unrelated process environment variables
        # (PERSISTENCE_MODULE, SQLITE_DBNAME, ...) redirect the ledger: the URL decides.
        return Environment(name, dict(env or {}))

    def record_stored(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Store events made by ``app.stored_events`` in one transaction, through this
        application's recorder (``kwargs`` reach it, an ``AppendWrite`` for an append).

        Every write of a ledger comes here; ``Application.save`` is not used: it would map
        an aggregate's events with the mapper (``app.stored_events`` makes them instead) and
        wrap each in the ``Recording`` and ``Notification`` objects push-style followers
        need, which a ledger has none of (projections pull from the notification log).
        A stored event whose (originator id, version) is taken raises ``IntegrityError``;
        one whose entry would exceed ``MAX_ENTRY_SIZE`` bytes, InputRejected (nothing is
        written: a C2SP entry bundle cannot carry it, docs/FORMAT.md §17).
        """
        for event in stored_events:
            size = entry_size(event.topic, event.state)
            if size > MAX_ENTRY_SIZE:
                raise InputRejected(
                    f"an event of type {event.topic} would be an entry of {size:,} bytes; the "
                    f"log serves entries of at most {MAX_ENTRY_SIZE:,} bytes (docs/FORMAT.md §17)"
                )
        self.recorder.insert_events(stored_events, **kwargs)

    def get_keyring(self) -> Keyring | None:
        try:
            keyring: object = self.repository.get(KEYRING_ID)
        except AggregateNotFoundError:
            return None
        assert isinstance(keyring, Keyring)
        return keyring
