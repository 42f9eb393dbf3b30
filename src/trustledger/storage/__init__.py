"""Opening a store from a URL; the only layer that knows a database."""

from __future__ import annotations

from trustledger.storage.base import Store
from trustledger.storage.url import DEFAULT_URL, ENV_VAR, parse_store_url


def open_store(url: str | None = None, *, read_only: bool = False) -> Store:
    """The store a URL names (default: $TRUSTLEDGER_DB, else ./trustledger.db).

    Raises UsageError for a malformed URL; opening is lazy, so a missing database is
    reported by the first read (NotFound) rather than here.
    """
    parsed = parse_store_url(url)
    if parsed.scheme == "sqlite":
        from trustledger.storage.sqlite import SQLiteStore

        return SQLiteStore(parsed.text, parsed.target, read_only=read_only)
    from trustledger.storage.postgres import PostgresStore

    return PostgresStore(parsed.target, read_only=read_only)


__all__ = ["DEFAULT_URL", "ENV_VAR", "Store", "open_store", "parse_store_url"]
