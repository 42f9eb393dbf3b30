"""The read use cases the CLI calls: one function each, opening what they need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import PersistenceError

from trustledger.app.ledger import Ledger
from trustledger.domain.rules import PublishedRules
from trustledger.errors import NotFound, StorageUnavailable
from trustledger.storage import open_store
from trustledger.storage.base import StoredCheckpoint
from trustledger.storage.views import StandingsView, open_standings_view
from trustledger_projections import projection
from trustledger_projections.report import (
    LogSource,
    Source,
    StandingsReport,
    ViewSource,
    build_report,
    shop_standing,
)

__all__ = [
    "Answer",
    "SizedStanding",
    "report_standings",
    "rules_in_force",
    "standing_at_head",
    "standing_of",
]


@dataclass(frozen=True)
class Answer:
    """A result with how far behind the ledger the view was (0 when read from the log)."""

    value: Any
    behind: int


def _lag(ledger: Ledger, view: StandingsView) -> int:
    """Notifications the view has not applied yet."""
    # The chain head (one row by primary key) gives the ledger's last notification id.
    head = ledger.store.chain_head()
    last = head.notification_id if head is not None else 0
    return max(0, last - ViewSource(view).tracking_id())


def _catch_up_view(url: str) -> None:
    """Bring the view up to the ledger's head; a store this process may only read (an
    auditor's role, a read-only file) leaves it where it is, and the caller says how far
    behind it is."""
    store = open_store(url)
    try:
        projection.catch_up(store)
    except (StorageUnavailable, PersistenceError):  # PostgreSQL: permission denied
        pass
    finally:
        store.close()


@contextmanager
def _source(
    ledger: Ledger, at_position: int | None, *, fresh: bool
) -> Iterator[tuple[Source, int]]:
    if at_position is not None:
        yield LogSource(ledger.store, at_position), 0
        return
    view = open_standings_view(ledger.store)
    try:
        if not view.exists():
            raise NotFound(
                f"the standings view of {ledger.store.url} is not built: run "
                "`trustledger projections rebuild` (or pass --at-position to read the log)"
            )
        lag = _lag(ledger, view)
        if lag and fresh:
            view.close()
            _catch_up_view(ledger.store.url)
            view = open_standings_view(ledger.store)
            lag = _lag(ledger, view)
        yield ViewSource(view), lag
    finally:
        view.close()


def standing_of(
    url: str,
    shop_id: str,
    *,
    at: datetime | None = None,
    at_position: int | None = None,
    catch_up: bool = True,
) -> Answer:
    """A shop's standing at ``at`` (default: now): from the view, or replayed from the log
    up to a position.

    The view is caught up to the ledger's head first (``catch_up=False`` reads it as it
    is); where it cannot be (a read-only role or file) or is not, ``Answer.behind`` says
    how many notifications the standing does not reflect. Raises NotFound (no ledger,
    view not built, shop not registered by then).
    """
    when = datetime.now(UTC) if at is None else at
    with (
        Ledger.open(url, read_only=True) as ledger,
        _source(ledger, at_position, fresh=catch_up) as (src, lag),
    ):
        return Answer(shop_standing(src, shop_id, at=when, default_rules=ledger.rules), lag)


def report_standings(
    url: str, *, at: datetime | None = None, at_position: int | None = None, catch_up: bool = True
) -> Answer:
    """Every shop's standing at ``at`` (default: now), an ``Answer`` holding a
    ``StandingsReport``; the view is caught up first, as by ``standing_of``."""
    when = datetime.now(UTC) if at is None else at
    with (
        Ledger.open(url, read_only=True) as ledger,
        _source(ledger, at_position, fresh=catch_up) as (src, lag),
    ):
        report: StandingsReport = build_report(src, at=when, default_rules=ledger.rules)
        return Answer(report, lag)


def rules_in_force(url: str, *, at: datetime) -> PublishedRules:
    """The rule set in force at ``at``, as published in the ledger (or the defaults)."""
    with Ledger.open(url, read_only=True) as ledger:
        return ledger.rule_book().in_force_published(at)


@dataclass(frozen=True)
class SizedStanding:
    """A shop's standing read from the ledger's first ``size`` entries, with the latest
    checkpoint signed when they were read (None before the first): its size is at most
    ``size``, and an auditor proves the entries beyond it with a later checkpoint."""

    standing: dict[str, Any]
    size: int
    checkpoint: StoredCheckpoint | None


def standing_at_head(url: str, shop_id: str, *, at: datetime) -> SizedStanding:
    """A shop's standing at ``at``, replayed from its own entries among the ledger's first
    ``size`` (the chain head when read), with the latest checkpoint.

    Raises NotFound (no ledger, shop not registered by ``at`` in those entries).
    """
    with Ledger.open(url, read_only=True) as ledger:
        # The checkpoint first: the log only grows, so the size read next covers it.
        checkpoint = ledger.store.latest_checkpoint()
        size = ledger.size()
        source = LogSource(ledger.store, max(size - 1, 0))
        standing = shop_standing(source, shop_id, at=at, default_rules=ledger.rules)
    return SizedStanding(standing, size, checkpoint)
