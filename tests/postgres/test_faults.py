"""T10 on PostgreSQL: a connection killed inside the append transaction leaves nothing, the
error is clear, the next append succeeds and a retry of the same batch is idempotent; the
store's own connection comes back after the server drops it."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from tests.conftest import LedgerEnv
from tests.postgres import server
from trustledger.errors import StorageUnavailable
from trustledger.storage.postgres import split_schema


def _registration(shop: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "shop.registered",
        "shop_id": shop,
        "occurred_at": "2026-11-01T00:00:00Z",
        "data": {"owner_subject_id": f"seller-{shop}"},
    }


def _admin(env: LedgerEnv) -> psycopg.Connection[tuple[object, ...]]:
    dsn, schema = split_schema(env.url)
    return psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}")


def _counts(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[object, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM stored_events), (SELECT count(*) FROM trustledger_chain), "
        "(SELECT count(*) FROM trustledger_decisions)"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _blocked_appender_pid(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    # The appender has inserted its events (under the table lock) and waits for our lock
    # on the chain table: it is inside its write transaction.
    for _ in range(200):
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ("%trustledger_chain%",),
        ).fetchone()
        if row:
            pid = row[0]
            assert isinstance(pid, int)
            return pid
        time.sleep(0.05)
    raise AssertionError("the appender never blocked inside its transaction")


def test_connection_killed_mid_append_leaves_nothing(pg_ledger: LedgerEnv) -> None:
    batch = [_registration(f"shop-{i}") for i in range(5)]
    result: dict[str, object] = {}
    with _admin(pg_ledger) as admin, _admin(pg_ledger) as locker, pg_ledger.open() as ledger:
        before = _counts(admin)

        def append() -> None:
            try:
                result["outcomes"] = ledger.append(batch, signer=pg_ledger.bot)
            except Exception as exc:
                result["error"] = exc

        with locker.transaction():
            locker.execute("LOCK TABLE trustledger_chain IN SHARE MODE")
            thread = threading.Thread(target=append)
            thread.start()
            pid = _blocked_appender_pid(admin)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(30)
        error = result.get("error")
        assert isinstance(error, StorageUnavailable), result
        assert str(error).startswith(f"append to {pg_ledger.url} failed, nothing written: ")
        assert "terminat" in str(error)
        assert _counts(admin) == before  # no partial entry

        outcomes = ledger.append(batch, signer=pg_ledger.bot)  # the retry succeeds
        assert [o.status for o in outcomes] == ["appended"] * 5
        again = ledger.append(batch, signer=pg_ledger.bot)  # and is idempotent
        assert [o.status for o in again] == ["duplicate"] * 5
        assert [o.position for o in again] == [o.position for o in outcomes]
    assert pg_ledger.verify().intact


def test_appends_commit_in_notification_order(pg_ledger: LedgerEnv) -> None:
    # While one appender holds eventsourcing's table lock with ids assigned but not committed,
    # another waits for the lock before it gets any id: no reader tailing notification ids
    # can pass over an event that commits later.
    results: dict[str, list[int]] = {}
    with _admin(pg_ledger) as admin, _admin(pg_ledger) as locker:

        def append(name: str) -> None:
            with pg_ledger.open() as ledger:
                outcomes = ledger.append([_registration(name)], signer=pg_ledger.bot)
                results[name] = [o.position for o in outcomes]

        with locker.transaction():
            locker.execute("LOCK TABLE trustledger_chain IN SHARE MODE")
            first = threading.Thread(target=append, args=("first",))
            first.start()
            _blocked_appender_pid(admin)
            second = threading.Thread(target=append, args=("second",))
            second.start()
            time.sleep(0.5)
            (visible,) = admin.execute("SELECT max(notification_id) FROM stored_events").fetchone()  # type: ignore[misc]
        first.join(30)
        second.join(30)
        ids = admin.execute(
            "SELECT e.notification_id, c.position FROM stored_events e "
            "JOIN trustledger_chain c USING (notification_id) ORDER BY 1 DESC LIMIT 2"
        ).fetchall()
    assert results["first"][0] < results["second"][0]
    assert ids[1][0] > visible  # type: ignore[operator]
    assert pg_ledger.verify().intact


def test_store_reconnects_after_the_server_drops_its_connection(pg_ledger: LedgerEnv) -> None:
    with _admin(pg_ledger) as admin, pg_ledger.open() as ledger:
        size = ledger.size()
        # What a server restart does to clients: every connection to the database is cut.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert ledger.size() == size  # the store's read connection came back
        outcomes = ledger.append([_registration("after-drop")], signer=pg_ledger.bot)
        assert outcomes[0].position == size  # the pooled write connection too (pre-ping)
    assert pg_ledger.verify().intact


def test_unreachable_server_is_a_clear_storage_error() -> None:
    from trustledger.app.ledger import Ledger

    with pytest.raises(StorageUnavailable, match=r"^cannot connect to postgresql://"):
        Ledger.open("postgresql://nobody@127.0.0.1:1/none")


@pytest.mark.pg_restart
def test_server_restart_mid_append_leaves_nothing(pg_ledger: LedgerEnv) -> None:
    server.require_restart()  # .ci/run sets TRUSTLEDGER_TEST_PG_RESTART=1
    dsn, _ = split_schema(pg_ledger.url)
    batch = [_registration(f"shop-{i}") for i in range(5)]
    result: dict[str, object] = {}
    with _admin(pg_ledger) as admin:
        before = _counts(admin)
    try:
        with pg_ledger.open() as ledger:

            def append() -> None:
                try:
                    result["outcomes"] = ledger.append(batch, signer=pg_ledger.bot)
                except Exception as exc:
                    result["error"] = exc

            # Hold the appender inside its write transaction (events inserted, chain rows
            # waiting), then restart the server under it.
            locker = _admin(pg_ledger)
            locker.autocommit = False
            locker.execute("LOCK TABLE trustledger_chain IN SHARE MODE")
            thread = threading.Thread(target=append)
            thread.start()
            with _admin(pg_ledger) as admin:
                _blocked_appender_pid(admin)
            server.restart_server()
            thread.join(60)
            locker.close()
            server.ensure_running(dsn)

            error = result.get("error")
            assert isinstance(error, StorageUnavailable), result
            assert str(error).startswith(f"append to {pg_ledger.url} failed, nothing written: ")
            with _admin(pg_ledger) as admin:
                assert _counts(admin) == before  # no partial entry

            outcomes = ledger.append(batch, signer=pg_ledger.bot)  # the same Ledger recovers
            assert [o.status for o in outcomes] == ["appended"] * 5
            again = ledger.append(batch, signer=pg_ledger.bot)
            assert [o.status for o in again] == ["duplicate"] * 5
            assert [o.position for o in again] == [o.position for o in outcomes]
    finally:
        server.ensure_running(dsn)
    assert pg_ledger.verify().intact
