"""The shop states table (storage.base.SHOP_STATES_TABLE): every write stores its shops'
snapshots with their events; a Ledger whose own cache misses reads the snapshot and replays
only the events after it; a missing, stale, corrupt, foreign-format or impossible snapshot
never changes a verdict (it is ignored or topped up), and `db repair` empties the table."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.app.attacker import attacker
from tests.conftest import LedgerEnv, shop_history
from tests.domain.builders import RECORDED_AT, doc, ts
from trustledger.app.ledger import Ledger
from trustledger.app.repair import repair_store
from trustledger.app.shopstates import ShopStates
from trustledger.domain.decision import parse_decision
from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.shop import SNAPSHOT_FORMAT, ShopState, UnusableSnapshot
from trustledger.domain.timefmt import parse_timestamp
from trustledger.errors import BatchRejected
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store

SHOP = "shop-1"


def _replayed(store: Store, shop_id: str) -> tuple[int, ShopState]:
    state, version = ShopState(shop_id), 0
    for entry in store.events_of(shop_aggregate_id(shop_id)):
        state.apply(parse_decision(orjson.loads(parse_state(entry.state).payload)))
        version = entry.originator_version
    return version, state


def _counting_replays(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``after_version`` of every ``events_of`` call the store answers from now on."""
    calls: list[int] = []
    events_of = store.events_of

    def counted(originator_id: Any, *, after_version: int = 0) -> Any:
        calls.append(after_version)
        return events_of(originator_id, after_version=after_version)

    monkeypatch.setattr(store, "events_of", counted)
    return calls


def _set_snapshot(ledger: LedgerEnv, version: int, state: bytes) -> None:
    with attacker(ledger) as conn:
        conn.execute(
            "UPDATE trustledger_shop_states SET version = ?, state = ? WHERE shop_id = ?",
            (version, state, SHOP),
        )


def test_each_write_stores_its_shops_snapshots_at_their_versions(ledger: LedgerEnv) -> None:
    ledger.append_history(SHOP)
    ledger.append([doc("shop.registered", shop_id="shop-2")])
    with ledger.open() as opened:
        snapshots = opened.store.shop_snapshots([SHOP, "shop-2", "shop-3"])
        assert set(snapshots) == {SHOP, "shop-2"}
        for shop_id, (version, data) in snapshots.items():
            assert (version, ShopState.from_bytes(data)) == _replayed(opened.store, shop_id)
        assert snapshots[SHOP][0] == 8


def test_a_cache_miss_reads_the_snapshot_and_replays_nothing(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.append_history(SHOP)
    with ledger.open() as opened:
        expected = _replayed(opened.store, SHOP)
        replays = _counting_replays(opened.store, monkeypatch)
        assert ShopStates(opened.store).load([SHOP])[SHOP] == expected
        assert replays == []
        # And the rules judge on it: the shop's appeal was upheld, a second one is refused.
        with pytest.raises(BatchRejected, match="a-1"):
            opened.append(
                [doc("appeal.filed", shop_id=SHOP, occurred_at=ts(days=6))],
                signer=ledger.bot,
                now=RECORDED_AT,
            )
        assert replays == []


def test_a_snapshot_behind_the_shop_is_topped_up_from_the_events_after_it(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = shop_history(SHOP)
    ledger.append(history[:3])
    with ledger.open() as opened:
        version, data = opened.store.shop_snapshots([SHOP])[SHOP]
    ledger.append(history[3:])
    _set_snapshot(ledger, version, data)  # as of version 3, the shop is at 8
    with ledger.open() as opened:
        expected = _replayed(opened.store, SHOP)
        replays = _counting_replays(opened.store, monkeypatch)
        assert ShopStates(opened.store).load([SHOP])[SHOP] == expected
        assert replays == [3]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda version, data: (version, b"\x00garbage"),
        lambda version, data: (version, data[:-9]),
        lambda version, data: (
            version,
            orjson.dumps([SNAPSHOT_FORMAT + 1, *orjson.loads(data)[1:]]),
        ),
        lambda version, data: (version, data.replace(SHOP.encode(), b"shop-9")),
        lambda version, data: (version + 5, data),
        lambda version, data: (0, data),
    ],
    ids=["garbage", "torn", "another-format", "another-shop", "ahead-of-events", "version-0"],
)
def test_an_unusable_snapshot_is_ignored_and_the_shop_replayed(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch, tamper: Any
) -> None:
    history = shop_history(SHOP)
    ledger.append(history[:6])
    with ledger.open() as opened:
        version, data = opened.store.shop_snapshots([SHOP])[SHOP]
    _set_snapshot(ledger, *tamper(version, data))
    with ledger.open() as opened:
        expected = _replayed(opened.store, SHOP)
        replays = _counting_replays(opened.store, monkeypatch)
        assert ShopStates(opened.store).load([SHOP])[SHOP] == expected
        assert replays == [0]
        # The next write of the shop stores a good snapshot again.
        opened.append(history[6:], signer=ledger.bot, now=RECORDED_AT)
        version, data = opened.store.shop_snapshots([SHOP])[SHOP]
        assert (version, ShopState.from_bytes(data)) == _replayed(opened.store, SHOP)


def test_a_snapshot_corrupt_where_a_rule_reads_it_is_replayed_instead(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from_bytes checks a snapshot's shape; what each section holds is decoded, and
    # checked, where a rule first reads it (domain.shop._Section).
    history = shop_history(SHOP)
    ledger.append(history[:6])
    with ledger.open() as opened:
        version, data = opened.store.shop_snapshots([SHOP])[SHOP]
    value = orjson.loads(data)
    value[8:14] = [dict.fromkeys(section, 7) for section in value[8:14]]
    value[14] = [["not a time", 1]]
    value[15] = dict.fromkeys(value[15], "not a time")
    _set_snapshot(ledger, version, orjson.dumps(value))
    with ledger.open() as opened:
        loaded = ShopStates(opened.store).load([SHOP])[SHOP][1]
        with pytest.raises(UnusableSnapshot, match=f"shop {SHOP}"):
            loaded.deposit_balance(parse_timestamp(ts(days=9), field="at"))
        replays = _counting_replays(opened.store, monkeypatch)
        # history[6] files an appeal against the penalty: it reads the corrupt penalties.
        outcomes = opened.append(history[6:], signer=ledger.bot, now=RECORDED_AT)
        assert [outcome.status for outcome in outcomes] == ["appended", "appended"]
        assert 0 in replays  # judged again on the shop replayed from its first event
        version, data = opened.store.shop_snapshots([SHOP])[SHOP]
        assert (version, ShopState.from_bytes(data)) == _replayed(opened.store, SHOP)


def test_a_shop_kept_in_the_cache_has_its_snapshot_rewritten_every_few_versions(
    ledger: LedgerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One appender, one shop, a decision a batch: the shop stays cached, so its snapshot is
    # stored by the batch that read it from the store, then every SNAPSHOT_EVERY versions;
    # a process starting cold replays what lies after it, never more than that.
    monkeypatch.setattr("trustledger.app.shopstates.SNAPSHOT_EVERY", 3)
    history = shop_history(SHOP)
    stored: list[int] = []
    with ledger.open() as opened:
        for document in history:
            opened.append([document], signer=ledger.bot, now=RECORDED_AT)
            stored.append(opened.store.shop_snapshots([SHOP])[SHOP][0])
        assert stored == [1, 1, 1, 4, 4, 4, 7, 7]
        expected = _replayed(opened.store, SHOP)
        replays = _counting_replays(opened.store, monkeypatch)
        assert ShopStates(opened.store).load([SHOP])[SHOP] == expected
        assert replays == [7]


def test_a_dry_run_and_a_refused_batch_store_no_snapshot(ledger: LedgerEnv) -> None:
    with ledger.open() as opened:
        opened.check_append(
            [doc("shop.registered", shop_id=SHOP)], signer=ledger.bot, now=RECORDED_AT
        )
        assert opened.store.shop_snapshots([SHOP]) == {}
        with pytest.raises(BatchRejected):
            opened.append(
                [doc("shop.registered", shop_id=SHOP), doc("shop.registered", shop_id=SHOP)],
                signer=ledger.bot,
                now=RECORDED_AT,
            )
        assert opened.store.shop_snapshots([SHOP]) == {}


def test_repair_empties_the_table(ledger: LedgerEnv) -> None:
    ledger.append_history(SHOP)
    report = repair_store(ledger.url, trusted_keys=[ledger.root.verifier])
    assert report.shop_snapshots_cleared == 1
    with ledger.open() as opened:
        assert opened.store.shop_snapshots([SHOP]) == {}
        # Appends go on (the shop replayed once) and write it again.
        opened.append(
            [doc("complaint.filed", shop_id=SHOP, complaint_id="c-2", occurred_at=ts(days=6))],
            signer=ledger.bot,
            now=RECORDED_AT,
        )
        assert opened.store.shop_snapshots([SHOP])[SHOP][0] == 9
    assert ledger.verify().intact


@pytest.mark.sqlite_only
def test_a_ledger_made_before_the_table_gets_it_on_its_first_append(tmp_path: Path) -> None:
    # tests/compat/pre_v1/ledger.db has no shop states table; opening it for an append adds
    # it, empty, and a write stores the snapshots of the shops it writes. Verify is unchanged.
    path = tmp_path / "ledger.db"
    shutil.copy(Path(__file__).parents[1] / "compat" / "pre_v1" / "ledger.db", path)
    with Ledger.open(f"sqlite:///{path}", read_only=True) as reader:
        # A reader cannot add it, and reads no snapshot: shops are replayed.
        assert not reader.store.ensure_shop_states()
        assert reader.store.shop_snapshots(["shop-10007"]) == {}
        loaded = ShopStates(reader.store).load(["shop-10007"])
        assert loaded["shop-10007"] == _replayed(reader.store, "shop-10007")
    with Ledger.open(f"sqlite:///{path}") as opened:
        store = opened.store
        assert store.shop_snapshots(["shop-10007"]) == {}
        assert ShopStates(store).snapshotting
        loaded = ShopStates(store).load(["shop-10007"])
        assert loaded["shop-10007"] == _replayed(store, "shop-10007")
        assert store.shop_snapshots(["shop-10007"]) == {}  # a cache fills as shops are written


def test_appenders_taking_turns_leave_the_snapshot_of_the_last_write(ledger: LedgerEnv) -> None:
    # `first` writes at versions its cache holds as current after `second` moved the shop
    # on: the write is refused and judged again; the snapshot stored is the last commit's.
    history = shop_history(SHOP)
    with ledger.open() as first, ledger.open() as second:
        first.append(history[:2], signer=ledger.bot, now=RECORDED_AT)
        second.append(history[2:5], signer=ledger.bot, now=RECORDED_AT)
        first.append(history[5:], signer=ledger.bot, now=RECORDED_AT)
        version, data = first.store.shop_snapshots([SHOP])[SHOP]
        assert (version, ShopState.from_bytes(data)) == _replayed(first.store, SHOP)
        assert version == 8
