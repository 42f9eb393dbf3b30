"""Database errors in messages: never empty, a lock timeout said in words."""

from __future__ import annotations

import sqlite3

import pytest

from tests.postgres import server
from trustledger.storage.base import describe_failure


class DriverError(Exception):
    """A driver error as psycopg makes them: a SQLSTATE, and maybe no text."""

    def __init__(self, text: str = "", sqlstate: str | None = None) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


def test_an_error_without_text_is_named_by_its_type_and_sqlstate() -> None:
    # What a session terminated mid-append can raise: "failed, nothing written: " was empty.
    assert describe_failure(DriverError(sqlstate="57P01")) == (
        "DriverError (SQLSTATE 57P01) with no message from the database driver"
    )
    assert describe_failure(DriverError()) == (
        "DriverError with no message from the database driver"
    )


def test_an_error_without_text_takes_its_cause_text() -> None:
    try:
        try:
            raise DriverError("terminating connection due to administrator command")
        except DriverError as cause:
            raise RuntimeError() from cause
    except RuntimeError as exc:
        assert describe_failure(exc) == "terminating connection due to administrator command"


@pytest.mark.parametrize(
    "error",
    [sqlite3.OperationalError("database is locked"), DriverError("lock timeout", "55P03")],
    ids=["sqlite", "postgres"],
)
def test_a_lock_timeout_says_what_happened_and_what_to_do(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTLEDGER_LOCK_TIMEOUT", "7")
    assert describe_failure(error) == (
        "another session held the ledger's write lock for more than 7 s (a long append or an "
        "open transaction); retry when it has finished, or wait longer with "
        "TRUSTLEDGER_LOCK_TIMEOUT=SECONDS"
    )


def test_postgres_tests_skip_naming_the_variable_and_how_to_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(server.ENV_VAR, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        server.admin_url()
    assert str(skipped.value) == (
        "TRUSTLEDGER_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped; to run them, "
        "export TRUSTLEDGER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres "
        "(a server where the tests may create and drop databases)"
    )
