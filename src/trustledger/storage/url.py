"""Store URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``postgresql://...``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from trustledger.errors import StorageUnavailable, UsageError

DEFAULT_URL = "sqlite:///trustledger.db"
ENV_VAR = "TRUSTLEDGER_DB"
# Seconds a writer waits for the ledger's write lock (SQLite's database lock, PostgreSQL's
# table lock) before failing with a clear error, exit 5.
LOCK_TIMEOUT_ENV = "TRUSTLEDGER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30


def lock_timeout() -> int:
    """Whole seconds a writer waits for the write lock: $TRUSTLEDGER_LOCK_TIMEOUT, else 30.

    Raises UsageError when the variable is set to anything but a whole number of seconds
    of at least 1.
    """
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    if not text.isdigit() or int(text) < 1:
        raise UsageError(
            f"{LOCK_TIMEOUT_ENV}={text!r}: give whole seconds of at least 1 (default "
            f"{DEFAULT_LOCK_TIMEOUT})"
        )
    return int(text)


@dataclass(frozen=True)
class StoreURL:
    scheme: str  # "sqlite" or "postgresql"
    target: str  # a file path for SQLite, the full DSN for PostgreSQL
    text: str


def parse_store_url(text: str | None) -> StoreURL:
    """Parse a store URL (default: $TRUSTLEDGER_DB, else ``sqlite:///trustledger.db``).

    Raises UsageError with the accepted forms when the URL is not one of them.
    """
    text = text or os.environ.get(ENV_VAR) or DEFAULT_URL
    if text.startswith("sqlite:///"):
        path = text.removeprefix("sqlite:///")
        if not path or path == "/":
            raise UsageError(f"store URL {text!r} names no file")
        return StoreURL("sqlite", path, text)
    if text.startswith(("postgresql://", "postgres://")):
        return StoreURL("postgresql", text, text)
    raise UsageError(
        f"unsupported store URL {text!r}: use sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db or postgresql://user@host/db"
    )


POSTGRES_EXTRA = "trustledger[postgres]"


def require_postgres_driver() -> None:
    """Import psycopg and its pool: called when a ``postgresql://`` store is opened, and
    only then, so SQLite users and auditors need not install (or load) them.

    Raises StorageUnavailable naming the extra to install when they are missing.
    """
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise StorageUnavailable(
            f"a postgresql:// store needs PostgreSQL support, which is not installed "
            f"({exc.name or 'psycopg'} is missing): pip install '{POSTGRES_EXTRA}'"
        ) from exc
