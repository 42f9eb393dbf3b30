"""The standings view exists for SQLite and PostgreSQL: ``sqlite_ledger`` (name kept) is the
``ledger`` fixture, parametrized over both stores."""

from __future__ import annotations

import pytest

from tests.cli.conftest import cli, story, workdir  # noqa: F401 (the CLI suite's fixtures)
from tests.conftest import LedgerEnv


@pytest.fixture
def sqlite_ledger(ledger: LedgerEnv) -> LedgerEnv:
    # Now parametrized over SQLite and PostgreSQL (the ``ledger`` fixture); name kept.
    return ledger
