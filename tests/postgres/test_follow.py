"""``projections follow`` on PostgreSQL: woken by LISTEN/NOTIFY, and it survives the server
dropping every connection (what a restart does), resuming exactly where it stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.conftest import LedgerEnv, shop_history
from tests.postgres import server
from trustledger.storage import open_store
from trustledger.storage.postgres import split_schema
from trustledger.storage.views import FactRow, open_standings_view
from trustledger_projections.projection import CatchUp, follow, rebuild


def facts_of(url: str) -> list[FactRow]:
    store = open_store(url)
    view = open_standings_view(store)
    try:
        return list(view.iter_facts())
    finally:
        view.close()
        store.close()


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _drop_connections(url: str) -> None:
    dsn, _ = split_schema(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _follow_through(pg_ledger: LedgerEnv, outage: Callable[[str], None]) -> None:
    positions: list[int] = []
    stop = threading.Event()
    store = open_store(pg_ledger.url)

    def on_catch_up(result: CatchUp) -> None:
        positions.append(result.position)

    # A long interval: only a NOTIFY can explain a quick catch-up.
    thread = threading.Thread(
        target=follow,
        args=(store,),
        kwargs={"interval": 30.0, "stop": stop, "on_catch_up": on_catch_up},
    )
    thread.start()
    try:
        assert _until(lambda: bool(positions), 20)
        first = pg_ledger.append(shop_history("shop-1"))
        target = first[-1].position + 1  # notification ids == positions + 1 here
        assert _until(lambda: positions[-1] >= target, 10), positions

        outage(pg_ledger.url)
        assert _until(lambda: _can_connect(pg_ledger.url), 60)
        second = pg_ledger.append(shop_history("shop-2", buyer="buyer-2"))
        target = second[-1].position + 1
        # After the outage the follower listens again and catches up on reconnecting.
        assert _until(lambda: positions[-1] >= target, 10), positions
    finally:
        stop.set()
        thread.join(60)
        store.close()
    followed = facts_of(pg_ledger.url)
    store = open_store(pg_ledger.url)
    try:
        rebuild(store)  # from scratch: the followed view must be exactly the same
    finally:
        store.close()
    assert followed == facts_of(pg_ledger.url)
    assert len({f.shop_id for f in followed}) == 2


def _can_connect(url: str) -> bool:
    try:
        psycopg.connect(split_schema(url)[0], connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def test_follow_is_notified_and_survives_dropped_connections(pg_ledger: LedgerEnv) -> None:
    _follow_through(pg_ledger, _drop_connections)


@pytest.mark.pg_restart
def test_follow_survives_a_server_restart(pg_ledger: LedgerEnv) -> None:
    server.require_restart()  # .ci/run sets TRUSTLEDGER_TEST_PG_RESTART=1
    try:
        _follow_through(pg_ledger, lambda _url: server.restart_server())
    finally:
        server.ensure_running(split_schema(pg_ledger.url)[0])
