"""The standings view: what the projections need from a store, whichever database is behind it.

The view is a materialised read model kept by eventsourcing's projection machinery: it is a
``TrackingRecorder``, and every write of view rows records the tracking position (the last
notification id applied) in the same transaction, so an event is applied exactly once and an
interrupted rebuild or catch-up resumes after the last committed batch.

Rows are opaque to this layer: the projections decide what a fact means
(``trustledger_projections.facts``). A backend implements ``StandingsView``; ``open_standings_view``
picks the implementation for a store (SQLite now; PostgreSQL adds its branch).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from eventsourcing.persistence import Tracking, TrackingRecorder

from trustledger.storage.base import Store

# Table names shared by every backend (docs/PROJECTIONS.md "The view").
FACTS_TABLE = "trustledger_standing_facts"
RULE_SETS_TABLE = "trustledger_standing_rule_sets"
TRACKING_TABLE = "trustledger_standing_tracking"


class FactRow(NamedTuple):
    """One decision, reduced to what standings need; keyed by (shop_id, notification_id)."""

    shop_id: str
    notification_id: int
    occurred_at: int  # microseconds since 1970-01-01T00:00:00Z
    type: str
    data: str  # compact JSON, written and read by the projections


class RuleSetRow(NamedTuple):
    """One ``rules.published`` event: its notification id and its TOML text."""

    notification_id: int
    toml: str


class StandingsView(TrackingRecorder, ABC):
    """A materialised view of standings facts with its tracking record.

    Contract (tests/projections/test_view_contract.py runs it against each backend):

    - ``record(facts, rule_sets, tracking)`` inserts the rows and the tracking record in ONE
      transaction; it raises eventsourcing's ``IntegrityError`` and writes nothing when
      ``tracking.notification_id`` is not above the recorded one (the batch was applied
      already, or another process moved on).
    - ``reset()`` removes every view row and the tracking record, in one transaction.
    - reads see only committed batches.
    """

    @abstractmethod
    def create_table(self) -> None:
        """Create the view's tables (idempotent)."""

    @abstractmethod
    def exists(self) -> bool:
        """True when the view's tables are there (a rebuild has started at least once)."""

    @abstractmethod
    def record(
        self, facts: Sequence[FactRow], rule_sets: Sequence[RuleSetRow], tracking: Tracking
    ) -> None:
        """Insert rows and the tracking record atomically (see the class docstring)."""

    @abstractmethod
    def reset(self) -> None:
        """Empty the view and forget the tracking position, atomically."""

    def build_indexes(self) -> None:
        """Build what the backend deferred while batches were recorded after ``reset()``.

        Called when a rebuild or catch-up has recorded its last batch; idempotent. A backend
        may drop an index in ``reset()`` and build it here in one pass, which is much cheaper
        than maintaining it row by row through a rebuild; ``create_table()`` must then also
        build it, so that a catch-up resuming an interrupted rebuild keeps it. Reads stay
        correct without it, only slower. The default does nothing.
        """

    @abstractmethod
    def shop_facts(self, shop_id: str) -> list[FactRow]:
        """One shop's facts in notification order (empty when the shop is unknown)."""

    @abstractmethod
    def iter_facts(self) -> Iterator[FactRow]:
        """Every fact, ordered by (shop_id, notification_id); constant memory."""

    @abstractmethod
    def rule_sets(self) -> list[RuleSetRow]:
        """Every published rule set, in notification order."""

    @abstractmethod
    def position_of(self, notification_id: int) -> int | None:
        """The ledger (chain) position of a notification id, or None."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def open_standings_view(store: Store) -> StandingsView:
    """The standings view living in the same database as ``store``.

    Raises StorageUnavailable for a store without a view implementation.
    """
    from trustledger.storage.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from trustledger.storage.views_sqlite import SQLiteStandingsView

        return SQLiteStandingsView.for_path(store.path)
    from trustledger.storage.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from trustledger.storage.views_postgres import PostgresStandingsView

        return PostgresStandingsView(store.new_datastore())
    from trustledger.errors import StorageUnavailable

    raise StorageUnavailable(f"{store.url}: no standings view for this kind of store yet")
