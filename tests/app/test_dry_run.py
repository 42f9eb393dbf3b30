"""``Ledger.check_append`` (``append --dry-run``): judged as an append is, nothing written.

Every table of the store, the subject keys' included, holds the same rows after a dry run
as before, on SQLite and PostgreSQL; the answers and the refusals are an append's.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from tests.conftest import LedgerEnv, shop_history
from tests.domain.builders import RECORDED_AT, digest, doc, ts
from trustledger.app.append import DryRunOutcome
from trustledger.errors import BatchRejected, KeyRejected
from trustledger.ledger.keys import generate_signing_key
from trustledger.storage.base import SUBJECT_KEYS_TABLE
from trustledger.storage.postgres import split_schema


def table_rows(ledger: LedgerEnv) -> dict[str, int]:
    """The number of rows of every table in the ledger's store."""
    if ledger.backend == "sqlite":
        with sqlite3.connect(ledger.path) as conn:
            names = [
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    dsn, schema = split_schema(ledger.url)
    with psycopg.connect(dsn) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        counts: dict[str, int] = {}
        for name in names:
            row = conn.execute(
                SQL("SELECT count(*) FROM {}").format(Identifier(schema, name))
            ).fetchone()
            assert row is not None
            counts[name] = row[0]
        return counts


def check(ledger: LedgerEnv, documents: list[Any], **kwargs: Any) -> list[DryRunOutcome]:
    with ledger.open() as opened:
        return opened.check_append(documents, signer=ledger.bot, now=RECORDED_AT, **kwargs)


def test_a_dry_run_of_new_decisions_with_personal_data_writes_nothing(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1")
    before = table_rows(ledger)
    assert before[SUBJECT_KEYS_TABLE] == 0

    outcomes = check(ledger, history)

    assert [(o.line, o.decision_id, o.status, o.position) for o in outcomes] == [
        (line, d["decision_id"], "new", None) for line, d in enumerate(history, start=1)
    ]
    assert table_rows(ledger) == before  # no event, chain row, index row or subject key
    # The same batch appends afterwards: the dry run left no state behind.
    appended = ledger.append(history)
    assert [o.status for o in appended] == ["appended"] * len(history)
    assert table_rows(ledger)[SUBJECT_KEYS_TABLE] == 1


def test_a_dry_run_says_which_decisions_are_already_recorded(ledger: LedgerEnv) -> None:
    history = shop_history("shop-1")
    recorded = ledger.append(history[:4])
    before = table_rows(ledger)

    outcomes = check(ledger, [*history, history[5]])

    assert [(o.status, o.position) for o in outcomes] == [
        *(("duplicate", r.position) for r in recorded),
        *(("new", None) for _ in history[4:]),
        ("duplicate", None),  # line 9 repeats line 6, which is new
    ]
    assert table_rows(ledger) == before


def test_a_dry_run_refuses_what_an_append_refuses_line_by_line(ledger: LedgerEnv) -> None:
    ledger.append(shop_history("shop-1")[:3])
    batch = [
        doc("complaint.filed", shop_id="shop-1", occurred_at=ts(days=1), complaint_id="c-9"),
        doc("penalty.revoked", shop_id="shop-1", occurred_at=ts(days=2), penalty_id="p-404"),
        doc("complaint.filed", shop_id="shop-404", occurred_at=ts(days=1)),
        {"decision_id": "not-a-uuid"},
    ]
    before = table_rows(ledger)

    with pytest.raises(BatchRejected) as dry:
        check(ledger, batch)
    with ledger.open() as opened, pytest.raises(BatchRejected) as real:
        opened.append(batch, signer=ledger.bot, now=RECORDED_AT)

    assert dry.value.problems == real.value.problems
    assert [line for line, _, _ in dry.value.problems] == [2, 3, 4]
    assert dry.value.exit_code == real.value.exit_code == 4
    assert table_rows(ledger) == before


def test_a_dry_run_refuses_a_decision_too_large_for_the_log(ledger: LedgerEnv) -> None:
    """Entry sizes are known only once sealed and signed: the dry run does both."""
    ledger.append([doc("shop.registered", shop_id="shop-1")])
    # ~64.5 KB canonical, under the decision limit; escaped into the entry it exceeds 65,535.
    evidence = [digest(f"e-{i}") for i in range(960)]
    big = doc("complaint.filed", shop_id="shop-1", occurred_at=ts(days=1), evidence=evidence)
    before = table_rows(ledger)
    with pytest.raises(BatchRejected) as caught:
        check(ledger, [big])
    ((line, decision_id, reason),) = caught.value.problems
    assert (line, decision_id) == (1, big["decision_id"])
    assert "the log serves entries of at most 65,535 bytes" in reason
    assert table_rows(ledger) == before


def test_a_dry_run_refuses_a_conflicting_repeat(ledger: LedgerEnv) -> None:
    first = doc("shop.registered", shop_id="shop-1")
    ledger.append([first])
    changed = {**first, "actor": "someone-else"}
    with pytest.raises(BatchRejected) as caught:
        check(ledger, [changed])
    (problem,) = caught.value.problems
    assert "already recorded at position 2 with different content" in problem[2]


def test_a_dry_run_with_an_unregistered_key_is_refused(ledger: LedgerEnv) -> None:
    before = table_rows(ledger)
    stranger = generate_signing_key("stranger")
    with ledger.open() as opened, pytest.raises(KeyRejected) as caught:
        opened.check_append(shop_history("shop-1"), signer=stranger, now=RECORDED_AT)
    assert caught.value.exit_code == 4
    assert table_rows(ledger) == before


def test_a_dry_run_judges_against_what_another_appender_recorded_since(
    ledger: LedgerEnv,
) -> None:
    """The dry run's process keeps shop states warm, and no write checks them: a state
    another appender has moved on must not accept what the ledger now refuses."""
    history = shop_history("shop-1")
    with ledger.open() as opened:
        opened.append(history[:6], signer=ledger.bot, now=RECORDED_AT)  # warm: p-1 imposed
        revoked = doc("penalty.revoked", shop_id="shop-1", occurred_at=ts(days=4))
        ledger.append([revoked])  # another process revokes p-1
        again = doc("penalty.revoked", shop_id="shop-1", occurred_at=ts(days=5))
        with pytest.raises(BatchRejected) as caught:
            opened.check_append([again], signer=ledger.bot, now=RECORDED_AT)
    (problem,) = caught.value.problems
    assert "revoked" in problem[2]
