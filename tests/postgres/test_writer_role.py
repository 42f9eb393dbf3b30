"""The writer role of docs/OPERATIONS.md §2, with exactly the grants it lists, can append
(a new subject's personal data and a known one's), erase and verify."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import LedgerEnv, shop_history
from tests.postgres.test_auditor import _as_role
from trustledger import Ledger
from trustledger.storage.postgres import split_schema

# docs/OPERATIONS.md §2, the writer's row, statement by statement.
WRITER_GRANTS = [
    'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
    'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
    'GRANT UPDATE ON "{schema}".stored_events, "{schema}".trustledger_checkpoints, '
    '"{schema}".trustledger_subject_keys, "{schema}".trustledger_shop_states TO "{role}"',
    'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
]


@pytest.fixture
def writer(pg_ledger: LedgerEnv) -> Iterator[str]:
    name = f"tl_writer_{secrets.token_hex(4)}"
    dsn, schema = split_schema(pg_ledger.url)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER')
        for grant in WRITER_GRANTS:
            admin.execute(grant.format(schema=schema, role=name))
    yield name
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'DROP OWNED BY "{name}"')
        admin.execute(f'DROP ROLE "{name}"')


def test_the_documented_writer_grants_suffice_to_append_erase_and_verify(
    pg_ledger: LedgerEnv, writer: str
) -> None:
    with Ledger.open(_as_role(pg_ledger.url, writer)) as ledger:
        first = ledger.append(shop_history("shop-1", buyer="buyer-77"), signer=pg_ledger.bot)
        # The same buyer again: the append reads the subject's row FOR SHARE in its write.
        again = ledger.append(shop_history("shop-2", buyer="buyer-77"), signer=pg_ledger.bot)
        assert ledger.erase("buyer-77") is True
        report = ledger.verify(trusted_keys=[pg_ledger.root.verifier], workers=1)
    assert {o.status for o in first + again} == {"appended"}
    assert report.intact
    assert report.entries == 18
    assert report.redacted == 2
