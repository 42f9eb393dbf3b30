"""The v2 rules on the append path, on SQLite and PostgreSQL: rule 12 across shops (the shop
owners table, earlier lines of the batch, a concurrent ban), rule 14's eligibility from the
standing, the table's migration onto a ledger made without it, and its rebuild."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from tests.conftest import LedgerEnv
from tests.domain.builders import RECORDED_AT, doc, measure, ts
from trustledger.app.shopstates import ShopStates
from trustledger.errors import BatchRejected
from trustledger.storage.base import SHOP_OWNERS_TABLE
from trustledger.storage.postgres import split_schema


def register(shop_id: str, owner: str = "owner-501", **fields: Any) -> dict[str, Any]:
    return doc("shop.registered", shop_id=shop_id, owner_subject_id=owner, **fields)


def ban(shop_id: str, *, hours: float = 1, penalty_id: str = "p-ban") -> dict[str, Any]:
    return doc(
        "penalty.imposed",
        shop_id=shop_id,
        penalty_id=penalty_id,
        occurred_at=ts(hours=hours),
        measures=[measure("permanent_ban")],
    )


def refusals(ledger: LedgerEnv, batch: list[dict[str, Any]]) -> list[tuple[int, str]]:
    before = ledger.entry_count()
    with pytest.raises(BatchRejected) as caught:
        ledger.append(batch)
    assert ledger.entry_count() == before, "nothing is written"
    return [(line, reason) for line, _, reason in caught.value.problems]


def owner_rows(ledger: LedgerEnv) -> list[tuple[str, str]]:
    with ledger.open() as opened:
        found = opened.store.shops_of_owners(["owner-501", "owner-502", "owner-9"])
    return sorted((owner, shop) for owner, shops in found.items() for shop in shops)


def drop_owners_table(ledger: LedgerEnv) -> None:
    """Make the ledger look like one written before the table existed."""
    if ledger.backend == "sqlite":
        with sqlite3.connect(ledger.path) as conn:
            conn.execute(f"DROP TABLE {SHOP_OWNERS_TABLE}")
        return
    dsn, schema = split_schema(ledger.url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            SQL("DROP TABLE {}.{}").format(Identifier(schema), Identifier(SHOP_OWNERS_TABLE))
        )


BANNED = (
    "shop shop-2 cannot be registered at {at}: its owner owner-501 owns shop shop-1, "
    "permanently banned then by penalty p-ban (rule 12, ban evasion)"
)


def test_rule12_a_banned_owner_cannot_register_another_shop(ledger: LedgerEnv) -> None:
    ledger.append([register("shop-1"), ban("shop-1")])
    assert refusals(ledger, [register("shop-2", occurred_at=ts(hours=1))]) == [
        (1, BANNED.format(at=ts(hours=1)))
    ]
    # Before the ban, and for another owner, a registration is fine.
    ledger.append(
        [
            register("shop-2", occurred_at=ts(hours=1, seconds=-1)),
            register("shop-3", owner="owner-9", occurred_at=ts(hours=2)),
        ]
    )
    assert owner_rows(ledger) == [
        ("owner-501", "shop-1"),
        ("owner-501", "shop-2"),
        ("owner-9", "shop-3"),
    ]
    assert ledger.verify().intact


def test_rule12_reads_the_states_of_an_owner_s_banned_shops_only(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An owner of many shops: a new registration must not replay every one of them (it
    # did, and an append of 40,000 shops of one owner took minutes), only the banned one.
    ledger.append([register(f"shop-{i}", occurred_at=ts(minutes=i)) for i in range(1, 301)])
    ledger.append([ban("shop-7", hours=10)])
    loaded: list[str] = []
    original = ShopStates.load

    def load(self: ShopStates, shop_ids: Any) -> Any:
        shop_ids = list(shop_ids)
        loaded.extend(shop_ids)
        return original(self, shop_ids)

    monkeypatch.setattr(ShopStates, "load", load)
    ledger.append([register("shop-new", occurred_at=ts(hours=9))])
    assert sorted(loaded) == ["shop-7", "shop-new"]
    # ... and the banned shop still refuses the owner's next one, in a batch of many.
    batch = [register(f"shop-x{i}", occurred_at=ts(hours=11)) for i in range(50)]
    refused = refusals(ledger, batch)
    assert len(refused) == 50
    assert refused[0] == (
        1,
        "shop shop-x0 cannot be registered at "
        f"{ts(hours=11)}: its owner owner-501 owns shop shop-7, "
        "permanently banned then by penalty p-ban (rule 12, ban evasion)",
    )


def test_rule12_within_one_batch(ledger: LedgerEnv) -> None:
    batch = [register("shop-1"), ban("shop-1"), register("shop-2", occurred_at=ts(hours=2))]
    assert refusals(ledger, batch) == [(3, BANNED.format(at=ts(hours=2)))]
    assert owner_rows(ledger) == []


def test_rule12_every_bad_line_of_a_batch_is_reported(ledger: LedgerEnv) -> None:
    ledger.append([register("shop-1"), ban("shop-1")])
    batch = [
        register("shop-2", occurred_at=ts(hours=2)),
        register("shop-4", owner="owner-502"),
        register("shop-5", occurred_at=ts(hours=3)),
    ]
    assert [line for line, _ in refusals(ledger, batch)] == [1, 3]


def test_rule12_a_ban_revoked_by_a_regulator_no_longer_counts(ledger: LedgerEnv) -> None:
    revoke = doc(
        "penalty.revoked",
        shop_id="shop-1",
        penalty_id="p-ban",
        cause="regulator_order",
        occurred_at=ts(hours=5),
    )
    ledger.append([register("shop-1"), ban("shop-1"), revoke])
    assert len(refusals(ledger, [register("shop-2", occurred_at=ts(hours=4))])) == 1
    ledger.append([register("shop-2", occurred_at=ts(hours=5))])


def test_rule12_a_ban_recorded_meanwhile_by_another_appender_is_seen(ledger: LedgerEnv) -> None:
    # `first` judges with shop-1 warm and unbanned; `second` bans it; the write of `first`
    # finds shop-1 moved on (ShopsChanged), and the batch, judged again, is refused.
    with ledger.open() as first, ledger.open() as second:
        first.append([register("shop-1")], signer=ledger.bot, now=RECORDED_AT)
        first.append(
            [doc("complaint.filed", shop_id="shop-1", occurred_at=ts(minutes=30))],
            signer=ledger.bot,
            now=RECORDED_AT,
        )
        second.append([ban("shop-1")], signer=ledger.bot, now=RECORDED_AT)
        with pytest.raises(BatchRejected) as caught:
            first.append(
                [register("shop-2", occurred_at=ts(hours=2))], signer=ledger.bot, now=RECORDED_AT
            )
    assert caught.value.problems[0][2] == BANNED.format(at=ts(hours=2))
    assert owner_rows(ledger) == [("owner-501", "shop-1")]
    assert ledger.verify().intact


def test_the_table_is_added_to_a_ledger_made_without_it_and_filled(ledger: LedgerEnv) -> None:
    ledger.append([register("shop-1"), ban("shop-1"), register("shop-3", owner="owner-9")])
    drop_owners_table(ledger)
    # The first append that needs it adds it, filled from the recorded registrations.
    assert refusals(ledger, [register("shop-2", occurred_at=ts(hours=2))]) == [
        (1, BANNED.format(at=ts(hours=2)))
    ]
    assert owner_rows(ledger) == [("owner-501", "shop-1"), ("owner-9", "shop-3")]
    ledger.append([register("shop-4", owner="owner-502")])
    assert ledger.verify().intact


def test_init_adds_the_table_to_a_ledger_made_without_it(ledger: LedgerEnv) -> None:
    from trustledger.app.ledger import Ledger

    ledger.append([register("shop-1")])
    drop_owners_table(ledger)
    reopened, created = Ledger.init(ledger.url, ledger.root)
    with reopened:
        assert not created
        assert reopened.store.ensure_shop_owners() is False  # init added it already
    assert owner_rows(ledger) == [("owner-501", "shop-1")]


def test_rebuild_replaces_every_row_by_what_the_events_say(ledger: LedgerEnv) -> None:
    ledger.append([register("shop-1"), register("shop-3", owner="owner-9")])
    with ledger.open() as opened:
        store = opened.store
        if ledger.backend == "sqlite":
            with sqlite3.connect(ledger.path) as conn:
                conn.execute(f"DELETE FROM {SHOP_OWNERS_TABLE} WHERE shop_id = 'shop-1'")
                conn.execute(f"INSERT INTO {SHOP_OWNERS_TABLE} VALUES (999, 'owner-9', 'ghost')")
        else:
            dsn, schema = split_schema(ledger.url)
            table = SQL("{}.{}").format(Identifier(schema), Identifier(SHOP_OWNERS_TABLE))
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(SQL("DELETE FROM {} WHERE shop_id = 'shop-1'").format(table))
                conn.execute(SQL("INSERT INTO {} VALUES (999, 'owner-9', 'ghost')").format(table))
        assert store.rebuild_shop_owners() == 2
    assert owner_rows(ledger) == [("owner-501", "shop-1"), ("owner-9", "shop-3")]


def test_rule14_enrolment_is_judged_on_the_standing(ledger: LedgerEnv) -> None:
    # Registered with nothing verified: not eligible; with real name and qualification
    # approved (recorded, and earlier in the same batch), eligible.
    ledger.append([register("shop-1")])
    reasons = refusals(
        ledger, [doc("programme.enrolled", shop_id="shop-1", occurred_at=ts(days=1))]
    )
    assert len(reasons) == 1
    assert reasons[0][1].startswith(
        f"shop shop-1 is not eligible for the programme at {ts(days=1)}"
    )
    verified = [
        doc("verification.submitted", shop_id="shop-1", occurred_at=ts(hours=1)),
        doc("verification.approved", shop_id="shop-1", occurred_at=ts(hours=2)),
    ]
    ledger.append(verified)
    q = {"shop_id": "shop-1", "verification_id": "q-1"}
    qualification = [
        doc("verification.submitted", **q, kind="qualification", occurred_at=ts(hours=3)),
        doc("verification.approved", **q, occurred_at=ts(hours=4)),
        doc("programme.enrolled", shop_id="shop-1", occurred_at=ts(days=1)),
    ]
    ledger.append(qualification)
    assert ledger.verify().intact
