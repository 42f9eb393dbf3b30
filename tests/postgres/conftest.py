"""PostgreSQL-only fixtures: a fresh ledger URL per test in this run's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerEnv, make_ledger
from tests.postgres import server


@pytest.fixture
def pg_url(postgres_database: str) -> str:
    """The URL of a fresh, empty schema of the run's database."""
    return server.fresh_schema_url(postgres_database)


@pytest.fixture
def pg_ledger(tmp_path: Path, pg_url: str) -> LedgerEnv:
    """A PostgreSQL ledger with genesis (0) and the bot's registration (1)."""
    return make_ledger(tmp_path, url=pg_url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/postgres/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.postgres)
