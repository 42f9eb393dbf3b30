"""app.stored_events writes every entry (docs/FORMAT.md §5); eventsourcing's mapper and
repository read those entries back into the right domain events and aggregates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from tests.conftest import make_ledger, shop_history
from trustledger.app.application import LedgerApplication
from trustledger.app.stored_events import StoredEvents
from trustledger.domain.aggregates import Keyring, Shop
from trustledger.domain.decision import SHOP_DECISION_TYPES
from trustledger.domain.identity import (
    KEY_EVENT_TYPES,
    KEYRING_ID,
    ORIGINATOR_TOPICS,
    shop_aggregate_id,
    topic_of,
)
from trustledger.storage import open_store

ID = shop_aggregate_id("shop-1")
WHEN = datetime(2026, 11, 23, 19, 0, 0, 123456, tzinfo=UTC)
PAYLOAD = '{"a":"café \\"q\\""}'  # canonical JSON text: non-ASCII and escapes included


def test_a_registration_s_state_is_the_format_s() -> None:
    stored = StoredEvents(WHEN, "0a1b2c3d").make("shop.registered", ID, 1, PAYLOAD, "c2ln")
    # docs/FORMAT.md §5, written out: compact UTF-8 JSON, members in this order.
    state = (
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-23T19:00:00.123456+00:00"},'
        '"originator_topic":"trustledger:shop",'
        r'"payload":"{\"a\":\"café \\\"q\\\"\"}",'
        '"signature":"c2ln","key_id":"0a1b2c3d"}'
    )
    assert stored == StoredEvent(ID, 1, "trustledger:shop.registered", state.encode())


def test_a_later_event_s_state_names_no_originator_topic() -> None:
    stored = StoredEvents(WHEN, "0a1b2c3d").make("key.revoked", KEYRING_ID, 3, "{}", "c2ln")
    state = (
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-23T19:00:00.123456+00:00"},'
        '"payload":"{}","signature":"c2ln","key_id":"0a1b2c3d"}'
    )
    assert stored == StoredEvent(KEYRING_ID, 3, "trustledger:key.revoked", state.encode())


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerApplication]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('events') / 'ledger.db'}")
    store.create()
    application = LedgerApplication(store)
    yield application
    application.close()
    store.close()


@pytest.mark.parametrize("kind", sorted(SHOP_DECISION_TYPES | KEY_EVENT_TYPES))
@pytest.mark.parametrize(
    "when", [WHEN, WHEN.replace(microsecond=0), WHEN.astimezone(timezone(timedelta(hours=8)))]
)
def test_the_mapper_reads_every_kind_back_as_its_domain_event(
    app: LedgerApplication, kind: str, when: datetime
) -> None:
    aggregate = Keyring if kind in KEY_EVENT_TYPES else Shop
    originator_id = KEYRING_ID if aggregate is Keyring else ID
    version = 1 if kind in ORIGINATOR_TOPICS else 4
    stored = StoredEvents(when, "0a1b2c3d").make(kind, originator_id, version, PAYLOAD, "c2ln")

    event: Any = app.mapper.to_domain_event(stored)

    assert topic_of(kind) == type(event).TOPIC
    assert type(event).__qualname__.startswith(aggregate.__name__ + ".")
    assert (event.originator_id, event.originator_version) == (originator_id, version)
    assert (event.payload, event.signature, event.key_id) == (PAYLOAD, "c2ln", "0a1b2c3d")
    assert event.timestamp == when and event.timestamp.utcoffset() == when.utcoffset()
    if kind in ORIGINATOR_TOPICS:  # the event that creates the aggregate names its class
        assert resolve_topic(event.originator_topic) is aggregate


def test_the_repository_rebuilds_the_aggregates_from_what_a_ledger_wrote(tmp_path: Path) -> None:
    env = make_ledger(tmp_path)
    env.append(shop_history("shop-1"))
    app = LedgerApplication(open_store(env.url))
    try:
        shop: Any = app.repository.get(shop_aggregate_id("shop-1"))
        assert isinstance(shop, Shop) and shop.shop_id == "shop-1"
        assert shop.version == len(shop_history("shop-1"))
        keyring = app.get_keyring()
        assert keyring is not None and keyring.version == 2  # initialised, bot registered
        assert str(env.bot.key_id) in keyring.state.keys
    finally:
        app.close()
