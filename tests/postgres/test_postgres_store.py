"""The PostgreSQL store's rows: no plaintext personal data anywhere (the SQLite twin reads the
database files, tests/app/test_append.py), and ``init`` is idempotent on a live ledger."""

from __future__ import annotations

import json

import psycopg

from tests.conftest import BUYER_NAME, BUYER_PHONE, LedgerEnv
from trustledger import Ledger
from trustledger.storage.postgres import split_schema


def _every_row_as_bytes(url: str) -> dict[str, bytes]:
    """Each table of the ledger's schema: every row, every column, text and raw bytes."""
    dsn, schema = split_schema(url)
    out: dict[str, bytes] = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        assert len(tables) >= 7
        for (table,) in tables:
            chunks: list[bytes] = []
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode("utf-8"))
            out[str(table)] = b"\0".join(chunks)
    return out


def test_no_plaintext_personal_data_in_any_row(pg_ledger: LedgerEnv) -> None:
    secrets = {
        BUYER_NAME.encode("utf-8"),
        BUYER_NAME.encode("utf-16-le"),
        json.dumps(BUYER_NAME).encode()[1:-1],  # \uXXXX escapes
        json.dumps(json.dumps(BUYER_NAME)).encode()[3:-3],  # escapes inside the payload string
        BUYER_PHONE.encode(),
        BUYER_PHONE.encode("utf-16-le"),
    }
    pg_ledger.append_history("shop-1")
    tables = _every_row_as_bytes(pg_ledger.url)
    assert b"buyer-77" in tables["trustledger_subject_keys"]
    for name, data in tables.items():
        for secret in secrets:
            assert secret not in data, f"{secret!r} found in table {name}"
    with pg_ledger.open() as ledger:
        revealed = [
            e.document["personal"]
            for e in ledger.log(reveal_personal=True)
            if "personal" in e.document
        ]
    # The data is there, sealed: the subject's key opens it.
    assert {"subject_id": "buyer-77", "name": BUYER_NAME, "phone": BUYER_PHONE} in revealed


def test_erasure_destroys_the_key_and_keeps_the_ledger_verifiable(pg_ledger: LedgerEnv) -> None:
    pg_ledger.append_history("shop-1")
    with pg_ledger.open() as ledger:
        key = ledger.store.subject_keys(["buyer-77"])["buyer-77"]
        assert key is not None
        assert ledger.erase("buyer-77")
        assert ledger.store.subject_keys(["buyer-77"]) == {"buyer-77": None}
    assert key not in _every_row_as_bytes(pg_ledger.url)["trustledger_subject_keys"]
    report = pg_ledger.verify()
    assert report.intact
    assert report.redacted == 1


def test_init_is_idempotent_on_a_live_ledger(pg_ledger: LedgerEnv) -> None:
    pg_ledger.append_history("shop-1")
    before = pg_ledger.entry_count()
    ledger, created = Ledger.init(pg_ledger.url, pg_ledger.root)
    ledger.close()
    assert not created
    assert pg_ledger.entry_count() == before
    assert pg_ledger.verify().intact
