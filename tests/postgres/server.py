"""The PostgreSQL server of the test run: one database per run, one schema per ledger.

``TRUSTLEDGER_TEST_POSTGRES_URL`` names a database on the server the tests may use to create
their own (``postgresql://postgres@127.0.0.1:5432/test``). Without it, PostgreSQL tests skip
with that reason; with it set and the server unreachable they fail, never skip. Each run
creates ``trustledger_test_<random>`` and drops it at the end; each ledger lives in its own
schema of it (``?schema=l<n>`` in the store URL, see trustledger.storage.postgres).
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ENV_VAR = "TRUSTLEDGER_TEST_POSTGRES_URL"
SKIP_REASON = (
    f"{ENV_VAR} is not set: PostgreSQL tests skipped; to run them, "
    f"export {ENV_VAR}=postgresql://postgres@127.0.0.1:5432/postgres "
    "(a server where the tests may create and drop databases)"
)
_counter = itertools.count(1)


def admin_url() -> str:
    """The URL from the environment; skips the calling test when it is not set."""
    url = os.environ.get(ENV_VAR)
    if not url:
        pytest.skip(SKIP_REASON)
    return url


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}", query=""))


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{ENV_VAR}={url} is set but the server is unreachable: {exc}", pytrace=False)


def run_database() -> Iterator[str]:
    """Create this run's database; yields its URL; drops it (and its connections) after."""
    url = admin_url()
    name = f"trustledger_test_{secrets.token_hex(4)}"
    with connect(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        with connect(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_schema_url(database_url: str) -> str:
    """A store URL for a new, empty ledger in its own schema of the run's database."""
    return f"{database_url}?schema=l{next(_counter)}_{secrets.token_hex(3)}"


# -- restarting the server (tests marked pg_restart) ----------------------------------------

RESTART_VAR = "TRUSTLEDGER_TEST_PG_RESTART"


def require_restart() -> None:
    """Skip unless restarts are allowed (``TRUSTLEDGER_TEST_PG_RESTART=1``, set by .ci/run).

    A restart cuts every session on the server, so these tests must never run beside
    others: refused under pytest-xdist."""
    if os.environ.get(RESTART_VAR) != "1":
        pytest.skip(f"restarts the PostgreSQL server: set {RESTART_VAR}=1 to run")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("pg_restart tests must not run in parallel with other tests", pytrace=False)


def _cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def restart_server() -> None:
    """Restart the local cluster (pg_ctlcluster's default fast shutdown: open transactions
    are rolled back)."""
    subprocess.run([*_cluster(), "restart"], check=True, timeout=120)


def reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def ensure_running(url: str, seconds: float = 60) -> None:
    """Bring the server back up if a restart left it down; fail if it stays unreachable."""
    deadline = time.monotonic() + seconds
    started = False
    while not reachable(url):
        if not started:
            subprocess.run([*_cluster(), "start"], check=False, timeout=120)
            started = True
        if time.monotonic() > deadline:
            pytest.fail(f"PostgreSQL at {url} is not back up after {seconds} s", pytrace=False)
        time.sleep(0.2)
