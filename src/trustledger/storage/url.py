"""Store URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``postgresql://...``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from trustledger.errors import StorageUnavailable, UsageError

DEFAULT_URL = "sqlite:///trustledger.db"
ENV_VAR = "TRUSTLEDGER_DB"


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
