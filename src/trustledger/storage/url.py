"""Store URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``postgresql://...``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from trustledger.errors import UsageError

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
