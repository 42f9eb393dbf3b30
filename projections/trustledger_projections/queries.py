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
from trustledger.domain.timefmt import micros
from trustledger.errors import NotFound, StorageUnavailable
from trustledger.storage import open_store
from trustledger.storage.base import StoredCheckpoint
from trustledger.storage.views import StandingsView, open_standings_view
from trustledger_projections import projection
from trustledger_projections.actions import build_actions
from trustledger_projections.decisions import DecisionLine, shop_decisions
from trustledger_projections.projection import check_format
from trustledger_projections.provenance import Provenance, read_provenance
from trustledger_projections.report import (
    LogSource,
    Source,
    StandingsReport,
    ViewSource,
    build_report,
    report_digest,
    shop_standing,
)

#: Shops shown in full (their decisions) on an HTML page, at most, by default.
DEFAULT_PANELS = 200

__all__ = [
    "DEFAULT_PANELS",
    "Answer",
    "Page",
    "SizedStanding",
    "actions_page",
    "report_actions",
    "report_standings",
    "rules_in_force",
    "standing_at_head",
    "standing_of",
    "standings_page",
]


@dataclass(frozen=True)
class Page:
    """An HTML report and what it lists ("12 shops", "30 items"), for the CLI's note."""

    text: str
    listed: str


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
    ledger: Ledger, at_position: int | None, *, fresh: bool = True
) -> Iterator[tuple[Source, int]]:
    """The log up to ``at_position``, or the standings view, caught up first if ``fresh``,
    with how many notifications it is behind."""
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
        check_format(view, ledger.store.url)
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


def _provenance(ledger: Ledger, source: Source, document: dict[str, Any]) -> Provenance:
    # The view knows the notification id of its last entry: one indexed read of its chain row.
    hint = source.tracking_id() if isinstance(source, ViewSource) else None
    return read_provenance(
        ledger.store,
        ledger_size=document["ledger_size"],
        digest=report_digest(document),
        notification_id=hint,
    )


def _panels(
    ledger: Ledger, shop_ids: list[str], *, size: int, at: datetime, limit: int
) -> dict[str, list[DecisionLine]]:
    # Read from the log one shop at a time, for at most ``limit`` shops: the memory a page
    # needs stays bounded however many shops the ledger holds.
    at_us = micros(at)
    return {
        shop_id: shop_decisions(ledger.store, shop_id, size=size, at=at_us)
        for shop_id in shop_ids[:limit]
    }


def standings_page(
    url: str, *, at: datetime, at_position: int | None = None, max_panels: int = DEFAULT_PANELS
) -> Answer:
    """The standings report as an HTML page (an ``Answer`` holding a ``Page``): every shop,
    and the decisions of at most ``max_panels`` shops needing attention: those in the work
    queue (most urgent first), then those not eligible for trust purchase (by ``shop_id``)."""
    from trustledger_projections.html import format_html

    with Ledger.open(url, read_only=True) as ledger, _source(ledger, at_position) as (src, lag):
        report: StandingsReport = build_report(src, at=at, default_rules=ledger.rules)
        document = report.document
        queue = build_actions(src, at=at, default_rules=ledger.rules)
        items: dict[str, list[dict[str, Any]]] = {}
        for item in queue.document["items"]:
            items.setdefault(item["shop_id"], []).append(item)
        needing = queue.shop_ids + [
            shop["shop_id"]
            for shop in document["shops"]
            if not shop["trust_purchase_eligible"] and shop["shop_id"] not in items
        ]
        panels = _panels(ledger, needing, size=document["ledger_size"], at=at, limit=max_panels)
        text = format_html(
            report,
            provenance=_provenance(ledger, src, document),
            panels=panels,
            items=items,
            needing_attention=len(needing),
        )
        return Answer(Page(text, f"{len(document['shops'])} shops"), lag)


def report_actions(url: str, *, at: datetime, at_position: int | None = None) -> Answer:
    """The work queue at ``at`` (an ``Answer`` holding an ``ActionsReport``)."""
    with Ledger.open(url, read_only=True) as ledger, _source(ledger, at_position) as (src, lag):
        return Answer(build_actions(src, at=at, default_rules=ledger.rules), lag)


def actions_page(
    url: str, *, at: datetime, at_position: int | None = None, max_panels: int = DEFAULT_PANELS
) -> Answer:
    """The work queue as an HTML page (an ``Answer`` holding a ``Page``), with the
    standing and decisions of its first ``max_panels`` shops."""
    from trustledger_projections.html import format_actions_html

    with Ledger.open(url, read_only=True) as ledger, _source(ledger, at_position) as (src, lag):
        queue = build_actions(src, at=at, default_rules=ledger.rules)
        document = queue.document
        panels = _panels(
            ledger, queue.shop_ids, size=document["ledger_size"], at=at, limit=max_panels
        )
        standings = {
            shop_id: shop_standing(src, shop_id, at=at, default_rules=ledger.rules)
            for shop_id in panels
        }
        text = format_actions_html(
            document,
            provenance=_provenance(ledger, src, document),
            standings=standings,
            panels=panels,
        )
        return Answer(Page(text, f"{len(document['items'])} items"), lag)


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
