"""Opening a store from a URL; the only layer that knows a database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trustledger.storage.url import (
    DEFAULT_URL,
    ENV_VAR,
    parse_store_url,
    require_postgres_driver,
)

if TYPE_CHECKING:
    from trustledger.storage.base import Store


def open_store(url: str | None = None, *, read_only: bool = False) -> Store:
    """The store a URL names (default: $TRUSTLEDGER_DB, else ./trustledger.db).

    Raises UsageError for a malformed URL, StorageUnavailable for a PostgreSQL URL when
    PostgreSQL support (the ``postgres`` extra) is not installed; opening is lazy, so a
    missing database is reported by the first read (NotFound) rather than here.
    """
    parsed = parse_store_url(url)
    if parsed.scheme == "sqlite":
        from trustledger.storage.sqlite import SQLiteStore

        return SQLiteStore(parsed.text, parsed.target, read_only=read_only)
    require_postgres_driver()
    from trustledger.storage.postgres import PostgresStore

    return PostgresStore(parsed.target, read_only=read_only)


def __getattr__(name: str) -> Any:
    # Store on first use (PEP 562): the URL constants are read by the command line's
    # start-up, which should not pay for eventsourcing's persistence module.
    if name == "Store":
        from trustledger.storage.base import Store

        return Store
    raise AttributeError(f"module 'trustledger.storage' has no attribute {name!r}")


__all__ = ["DEFAULT_URL", "ENV_VAR", "Store", "open_store", "parse_store_url"]
