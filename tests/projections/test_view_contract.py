"""The ``StandingsView`` contract (``trustledger.storage.views``), run against every backend.

One suite, parametrized over SQLite and PostgreSQL by the ``ledger`` fixture: what the
projections rely on from a view, whichever database keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from tests.conftest import LedgerEnv
from trustledger.errors import NotFound
from trustledger.storage import open_store
from trustledger.storage.views import FactRow, RuleSetRow, StandingsView, open_standings_view

APP = "trustledger"


@pytest.fixture
def view(ledger: LedgerEnv) -> Iterator[StandingsView]:
    store = open_store(ledger.url)
    standings = open_standings_view(store)
    try:
        yield standings
    finally:
        standings.close()
        store.close()


def fact(shop_id: str, notification_id: int, kind: str = "shop.registered") -> FactRow:
    return FactRow(shop_id, notification_id, 1_000_000 * notification_id, kind, "{}")


def test_the_tables_are_created_once_and_then_exist(view: StandingsView) -> None:
    assert not view.exists()
    view.create_table()
    view.create_table()  # idempotent
    assert view.exists()
    assert view.max_tracking_id(APP) is None
    assert view.shop_facts("shop-1") == []
    assert list(view.iter_facts()) == []
    assert view.rule_sets() == []


def test_reading_a_view_never_built_says_how_to_build_it(view: StandingsView) -> None:
    with pytest.raises(NotFound, match="projections rebuild"):
        view.shop_facts("shop-1")


def test_record_writes_rows_and_tracking_together(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-2", 3), fact("shop-1", 4)], [RuleSetRow(5, "x = 1")], Tracking(APP, 5))
    assert view.max_tracking_id(APP) == 5
    assert [row.shop_id for row in view.iter_facts()] == ["shop-1", "shop-2"]
    assert view.rule_sets() == [RuleSetRow(5, "x = 1")]
    view.record([], [], Tracking(APP, 9))  # a batch with nothing to keep still moves on
    assert view.max_tracking_id(APP) == 9


def test_a_tracking_id_not_above_the_recorded_one_writes_nothing(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-1", 3)], [], Tracking(APP, 3))
    for stale in (3, 2):
        with pytest.raises(IntegrityError):
            view.record([fact("shop-1", 10 + stale)], [], Tracking(APP, stale))
    assert list(view.iter_facts()) == [fact("shop-1", 3)]
    assert view.max_tracking_id(APP) == 3


def test_a_failing_batch_leaves_neither_rows_nor_tracking(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-1", 3)], [], Tracking(APP, 3))
    # The tracking record would be fine; the second row collides with a stored one.
    with pytest.raises(IntegrityError):
        view.record([fact("shop-1", 4), fact("shop-1", 3)], [], Tracking(APP, 4))
    assert list(view.iter_facts()) == [fact("shop-1", 3)]
    assert view.max_tracking_id(APP) == 3


def test_reset_empties_rows_and_tracking(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-1", 3)], [RuleSetRow(4, "x = 1")], Tracking(APP, 4))
    view.reset()
    assert view.exists()
    assert list(view.iter_facts()) == []
    assert view.rule_sets() == []
    assert view.max_tracking_id(APP) is None
    view.record([fact("shop-1", 3)], [], Tracking(APP, 3))  # and starts again from anywhere
    assert view.max_tracking_id(APP) == 3


def test_shop_facts_are_one_shops_in_notification_order(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-1", 9), fact("shop-2", 5)], [], Tracking(APP, 9))
    view.record([fact("shop-1", 12), fact("shop-1", 10)], [], Tracking(APP, 12))
    assert [row.notification_id for row in view.shop_facts("shop-1")] == [9, 10, 12]
    assert view.shop_facts("shop-1")[0] == fact("shop-1", 9)
    assert view.shop_facts("shop-unknown") == []


def test_iter_facts_orders_by_shop_bytes_then_notification_across_pages(
    view: StandingsView,
) -> None:
    # Binary order of shop ids (so every backend gives the same report bytes): "-" < "." <
    # digits < ":" < upper case < "_" < lower case, whatever the database's locale.
    shops = ["shop_1", "shop.1", "shop-1", "Shop-1", "shop:1", "shop1", "a", "B"]
    rows = [fact(shop, 100 + n) for n, shop in enumerate(shops)]
    # More rows than one page of iter_facts (10,000), over two shops.
    rows += [fact("shop-many", 1_000 + n) for n in range(10_050)]
    view.create_table()
    view.record(rows, [], Tracking(APP, 20_000))
    got = list(view.iter_facts())
    assert got == sorted(rows, key=lambda row: (row.shop_id.encode(), row.notification_id))
    assert len(got) == len(rows)


def test_rule_sets_come_in_notification_order(view: StandingsView) -> None:
    view.create_table()
    view.record([], [RuleSetRow(8, "b"), RuleSetRow(3, "a")], Tracking(APP, 8))
    assert view.rule_sets() == [RuleSetRow(3, "a"), RuleSetRow(8, "b")]


def test_position_of_maps_notification_ids_to_chain_positions(
    ledger: LedgerEnv, view: StandingsView
) -> None:
    view.create_table()
    assert view.position_of(1) == 0  # genesis
    assert view.position_of(2) == 1  # the bot's registration
    assert view.position_of(10**9) is None


def test_build_indexes_after_a_reset_is_idempotent_and_reads_agree(view: StandingsView) -> None:
    view.create_table()
    view.record([fact("shop-1", 3)], [], Tracking(APP, 3))
    view.reset()
    rows = [fact("shop-2", 5), fact("shop-1", 6), fact("shop-2", 7)]
    view.record(rows, [], Tracking(APP, 7))
    before = (view.shop_facts("shop-2"), list(view.iter_facts()))  # with or without index
    view.build_indexes()
    view.build_indexes()
    assert (view.shop_facts("shop-2"), list(view.iter_facts())) == before
    assert before == ([rows[0], rows[2]], [rows[1], rows[0], rows[2]])
