"""Keeping the standings view: eventsourcing's projection, driven in batches.

``StandingsProjection`` is an eventsourcing ``Projection`` whose view is a ``StandingsView``
(a ``TrackingRecorder``). Its ``process_batch`` reduces many events to facts and records them
with ONE tracking record, the notification id of the batch's last event, in the same
transaction as the rows: an event is applied exactly once, and a crash loses at most the
batch in flight, after which ``catch_up`` resumes from the recorded position.

SQLite's recorder has no subscriptions, so ``catch_up`` pages through the notification log
(``select_notifications``) itself and ``follow`` repeats it; the unit of work is the same
either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError, Tracking
from eventsourcing.projection import Projection

from trustledger.app.application import LedgerApplication
from trustledger.errors import NotFound, StorageUnavailable
from trustledger.ledger.envelope import decode_json
from trustledger.storage import Store
from trustledger.storage.views import FactRow, RuleSetRow, StandingsView, open_standings_view
from trustledger_projections.facts import FACTS_FORMAT, fact_of_document, rule_set_of_document

__all__ = [
    "FORMAT_TRACKING",
    "CatchUp",
    "Reduced",
    "StandingsProjection",
    "catch_up",
    "check_format",
    "follow",
    "rebuild",
]

#: The view records the format of its facts (``facts.FACTS_FORMAT``) as a tracking record of
#: its own under this name, written with the first batch after a reset (reset removes it), so
#: an old view is recognised without a schema change in any backend. A view without one was
#: written before formats were recorded (format 1).
FORMAT_TRACKING = "trustledger-standings-facts-format"

DEFAULT_BATCH = 5_000

#: Called after each committed batch with (last notification id applied, ledger head).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Reduced:
    """A batch of events reduced to view rows, with the tracking record of its last event."""

    facts: list[FactRow]
    rule_sets: list[RuleSetRow]
    tracking: Tracking
    events: int


class StandingsProjection(Projection[StandingsView]):
    """Reduces ledger events to standings facts in the view."""

    name = "standings"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """One event, one transaction (eventsourcing's runner calls this)."""
        self.process_batch([(domain_event, tracking)])

    def process_batch(self, items: Sequence[tuple[Any, Tracking]]) -> None:
        """Record the facts of many events and the last one's tracking, atomically."""
        reduced = self.reduce(items)
        if reduced is not None:
            self.write(reduced)

    @staticmethod
    def reduce(items: Iterable[tuple[Any, Tracking]]) -> Reduced | None:
        """The view rows of a batch of (domain event, tracking), None for an empty batch.

        Pure, no I/O. ``items`` may be a generator: each event is dropped as soon as it is
        reduced, so a batch keeps only its rows alive (less work for the garbage collector).
        """
        facts: list[FactRow] = []
        rule_sets: list[RuleSetRow] = []
        tracking: Tracking | None = None
        count = 0
        for domain_event, tracking in items:
            count += 1
            payload = getattr(domain_event, "payload", None)
            if not isinstance(payload, str):
                continue  # not a trustledger entry: nothing to reduce, still tracked
            document = decode_json(payload)  # json.loads minus its per-call overhead
            fact = fact_of_document(document, tracking.notification_id)
            if fact is not None:
                facts.append(fact)
                continue
            rule_set = rule_set_of_document(document, tracking.notification_id)
            if rule_set is not None:
                rule_sets.append(rule_set)
        return None if tracking is None else Reduced(facts, rule_sets, tracking, count)

    def write(self, reduced: Reduced) -> None:
        """Record a reduced batch and its tracking record in one transaction."""
        self.view.record(reduced.facts, reduced.rule_sets, reduced.tracking)


@dataclass(frozen=True)
class CatchUp:
    """What one catch-up did."""

    applied: int  # events applied by this call
    position: int  # notification id the view has reached
    head: int  # the ledger's last notification id when the call started
    #: The facts format of the view this catch-up found stale and rebuilt (None: it was not).
    rebuilt_from_format: int | None = None


def catch_up(
    store: Store,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    max_batches: int | None = None,
    up_to: int | None = None,
    _reset: bool = False,
) -> CatchUp:
    """Apply every event after the view's tracking position, ``batch_size`` per transaction.

    Safe to repeat and to interrupt: each batch commits with its tracking record. A view
    whose facts have another format than this code writes (``FACTS_FORMAT``) is emptied and
    rebuilt from position 0. ``max_batches`` stops early, ``up_to`` stops at that
    notification id (tests, benchmarks). Raises StorageUnavailable / NotFound.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    app = LedgerApplication(store)
    view = open_standings_view(store)
    try:
        view.create_table()
        held = view.max_tracking_id(FORMAT_TRACKING) or 1
        stale = held != FACTS_FORMAT and (view.max_tracking_id(app.name) or 0) > 0
        if _reset or held != FACTS_FORMAT:
            view.reset()
            view.insert_tracking(Tracking(FORMAT_TRACKING, FACTS_FORMAT))
        projection = StandingsProjection(view)
        start = view.max_tracking_id(app.name) or 0
        head = app.recorder.max_notification_id() or 0
        if up_to is not None:
            head = min(head, up_to)
        recorder: Any = app.recorder
        applied, position, batches = 0, start, 0
        # One thread on purpose: a writer thread overlapping the next read was measured
        # slower (the reader's and the writer's SQLite calls hand the GIL back and forth for
        # every row; docs/PROJECTIONS.md).
        while position < head and (max_batches is None or batches < max_batches):
            notifications = recorder.select_notifications(
                start=position, limit=batch_size, stop=head, inclusive_of_start=False
            )
            if not notifications:
                break
            batch = projection.reduce(
                (app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notifications
            )
            assert batch is not None  # notifications is not empty
            projection.write(batch)
            applied += batch.events
            position = batch.tracking.notification_id
            batches += 1
            if progress is not None:
                progress(position, head)
        view.build_indexes()
        return CatchUp(applied, position, head, held if stale else None)
    finally:
        view.close()
        app.close()


def check_format(view: StandingsView, url: str) -> None:
    """Raise NotFound, saying what to run, when the view's facts are of another format."""
    held = view.max_tracking_id(FORMAT_TRACKING) or 1
    if held != FACTS_FORMAT:
        raise NotFound(
            f"the standings view of {url} holds facts of format {held}, this trustledger "
            f"reads format {FACTS_FORMAT}: run `trustledger projections rebuild` (or "
            "`projections catch-up`, which rebuilds it)"
        )


def rebuild(
    store: Store,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    max_batches: int | None = None,
) -> CatchUp:
    """Empty the view and apply the whole ledger from position 0.

    If interrupted, ``catch_up`` continues from the last committed batch.
    """
    return catch_up(
        store, batch_size=batch_size, progress=progress, max_batches=max_batches, _reset=True
    )


def follow(
    store: Store,
    *,
    interval: float = 1.0,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    on_catch_up: Callable[[CatchUp], None] | None = None,
) -> None:
    """Catch up, then catch up again whenever the store signals an append (PostgreSQL:
    LISTEN/NOTIFY) or ``interval`` seconds pass, until ``stop`` is set (or KeyboardInterrupt).

    A store that becomes unreachable (a server restart, a failover) is retried every second
    (at most ``interval``); the view's tracking record says where to resume, so nothing is
    skipped or applied twice.
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            result = catch_up(store, batch_size=batch_size, progress=progress)
        except (StorageUnavailable, PersistenceError):
            if stop.wait(min(interval, 1.0)):
                return
            continue
        if on_catch_up is not None:
            on_catch_up(result)
        store.wait_for_append(interval, stop)
