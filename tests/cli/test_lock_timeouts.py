"""Writers that wait past the lock timeout exit 5 with a clear message, not 70 "a bug".

Another session holds the ledger's write lock (SQLite: ``BEGIN IMMEDIATE`` on a second
connection; PostgreSQL: ``LOCK TABLE stored_events IN EXCLUSIVE MODE``, what appenders take)
while ``keys register``, ``keys revoke``, ``rules publish`` and (SQLite) ``erase`` run with
``TRUSTLEDGER_LOCK_TIMEOUT=1``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from psycopg.sql import SQL, Identifier

from tests.cli.conftest import Cli, decision, error_line, generate, jsonl
from tests.postgres import server

BUYER = {"subject_id": "buyer-77", "name": "Zhang San"}
LOCKED = (
    "another session held the ledger's write lock for more than 1 s (a long append or an "
    "open transaction); retry when it has finished, or wait longer with "
    "TRUSTLEDGER_LOCK_TIMEOUT=SECONDS"
)


@contextmanager
def sqlite_lock(url: str) -> Iterator[None]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # the database's one write lock
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def postgres_lock(url: str) -> Iterator[None]:
    parts = urlsplit(url)
    (schema,) = parse_qs(parts.query)["schema"]
    with server.connect(parts._replace(query="").geturl()) as conn, conn.transaction():
        conn.execute(
            SQL("LOCK TABLE {s}.stored_events IN EXCLUSIVE MODE").format(s=Identifier(schema))
        )
        yield


@pytest.fixture
def ledger_url(cli: Cli, store_url: str, workdir: Path) -> str:
    generate(cli, "root")
    generate(cli, "bot-1")
    generate(cli, "bot-2")
    env = {"TRUSTLEDGER_DB": store_url}
    for args in (
        ("init", "--root-key", "keys/root.key"),
        ("keys", "register", "keys/bot-1.pub", "--by", "keys/root.key"),
    ):
        assert cli(*args, env=env).exit_code == 0
    documents = [decision("shop.registered"), decision("complaint.filed", personal=BUYER)]
    result = cli("append", "--key", "keys/bot-1.key", "-", input=jsonl(documents), env=env)
    assert result.exit_code == 0, result.stderr
    defaults = cli("rules", "show", env=env).stdout
    rules = defaults.replace("default-v1", "2099-v2").replace("1970-01-01", "2099-01-01")
    (workdir / "rules.toml").write_text(rules, encoding="utf-8")
    return store_url


def lock_of(url: str) -> Callable[[str], AbstractContextManager[None]]:
    return postgres_lock if url.startswith("postgresql://") else sqlite_lock


@pytest.mark.parametrize(
    ("args", "event"),
    [
        (("keys", "register", "keys/bot-2.pub", "--by", "keys/root.key"), "key.registered"),
        (("keys", "revoke", "BOT1", "--by", "keys/root.key"), "key.revoked"),
        (("rules", "publish", "rules.toml", "--by", "keys/root.key"), "rules.published"),
    ],
    ids=["keys register", "keys revoke", "rules publish"],
)
def test_a_key_event_waiting_past_the_lock_timeout_exits_5(
    cli: Cli, ledger_url: str, args: tuple[str, ...], event: str
) -> None:
    env = {"TRUSTLEDGER_DB": ledger_url, "TRUSTLEDGER_LOCK_TIMEOUT": "1"}
    if "BOT1" in args:
        bot_id = cli("keys", "list", "--json", env=env).stdout.split('"key_id": "')[2][:8]
        args = tuple(bot_id if a == "BOT1" else a for a in args)
    with lock_of(ledger_url)(ledger_url):
        result = cli(*args, env=env)
    assert (result.exit_code, result.stdout) == (5, "")
    assert error_line(result) == (
        f"trustledger: error: {event} not recorded in {ledger_url}, nothing written: {LOCKED}"
    )
    assert cli(*args, env=env).exit_code == 0  # once the lock is released


@pytest.mark.sqlite_only
def test_erase_waiting_past_the_lock_timeout_exits_5(cli: Cli, ledger_url: str) -> None:
    env = {"TRUSTLEDGER_DB": ledger_url, "TRUSTLEDGER_LOCK_TIMEOUT": "1"}
    with sqlite_lock(ledger_url):
        result = cli("erase", "buyer-77", env=env)
    assert (result.exit_code, result.stdout) == (5, "")
    assert error_line(result) == f"trustledger: error: {ledger_url}: {LOCKED}"
    assert cli("erase", "buyer-77", env=env).stdout == "erased: buyer-77\n"


def test_a_lock_timeout_that_is_not_whole_seconds_is_a_usage_error(
    cli: Cli, ledger_url: str
) -> None:
    env = {"TRUSTLEDGER_DB": ledger_url, "TRUSTLEDGER_LOCK_TIMEOUT": "0.5"}
    result = cli("keys", "register", "keys/bot-2.pub", "--by", "keys/root.key", env=env)
    assert result.exit_code == 2
    assert error_line(result) == (
        "trustledger: error: TRUSTLEDGER_LOCK_TIMEOUT='0.5': give whole seconds of at least 1 "
        "(default 30)"
    )
