"""The monitor (trustledger.app.monitor): it follows a log through its checkpoint and entry
bundles, verifies each new entry once, and refuses a rollback, a fork, a forged entry and a
decision copied across runs, keeping its evidence."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.app.attacker import attacker, copied_to_tail, read_rows, rewrite
from tests.conftest import LedgerEnv, make_ledger, shop_history
from trustledger.app.monitor import EVIDENCE_DIR, STATE_FILE, monitor_log
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import create_checkpoint, tree_head
from trustledger.errors import NotFound, StorageUnavailable
from trustledger.ledger.chain import encode_entry
from trustledger.ledger.checkpoint import Checkpoint, sign_checkpoint
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.ledger.tiles import ENTRIES, encode_entry_bundle, parse_tile_path
from trustledger.ledger.verify import LedgerNotIntact
from trustledger.storage import open_store


class StoreLog:
    """A LogSource read straight from a store: the checkpoint given, and entry bundles."""

    def __init__(self, url: str, checkpoint: bytes) -> None:
        self.url, self.checkpoint, self.fetched = url, checkpoint, 0

    def get(self, path: str) -> bytes:
        if path == "checkpoint":
            return self.checkpoint
        tile = parse_tile_path(path)
        assert tile.level == ENTRIES
        self.fetched += tile.width
        store = open_store(self.url, read_only=True)
        try:
            entries = [
                encode_entry(e.originator_id, e.originator_version, e.topic, e.state)
                for e in store.iter_entries()
            ][tile.index * 256 : tile.index * 256 + tile.width]
        finally:
            store.close()
        if len(entries) != tile.width:
            raise NotFound(path)
        return encode_entry_bundle(entries)


def checkpoint_of(env: LedgerEnv, log: SigningKey) -> bytes:
    with env.open() as ledger:
        return create_checkpoint(ledger.store, log)


def policy(env: LedgerEnv, log: SigningKey) -> TrustPolicy:
    return TrustPolicy.of(root_keys=[env.root.verifier], log_keys=[log.verifier])


@pytest.fixture
def log() -> SigningKey:
    return generate_signing_key("log")


def test_a_first_run_verifies_every_entry_and_a_second_only_the_new_ones(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    source = StoreLog(ledger.url, checkpoint_of(ledger, log))
    state = tmp_path / "mon"
    first = monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    assert (first.previous_size, first.size, first.new_entries) == (0, 10, 10)
    assert first.decider_keys == 1 and first.intact
    ledger.append_history("shop-2", buyer="buyer-78")
    source.checkpoint, source.fetched = checkpoint_of(ledger, log), 0
    second = monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    assert (second.previous_size, second.size, second.new_entries) == (10, 18, 8)
    assert source.fetched == 18  # the one partial bundle again, sliced from position 10
    again = monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    assert again.new_entries == 0 and again.root_hash == second.root_hash


def test_parallel_ranges_give_the_same_report(tmp_path: Path, log: SigningKey) -> None:
    env = make_ledger(tmp_path)
    for shop in range(300):
        env.append_history(f"shop-{shop}")
    source = StoreLog(env.url, checkpoint_of(env, log))
    report = monitor_log(source, policy=policy(env, log), state_dir=tmp_path / "m", workers=2)
    assert report.new_entries == report.size == 2 + 300 * 8


def evidence_of(state: Path) -> list[str]:
    (found,) = (state / EVIDENCE_DIR).iterdir()
    return sorted(p.name for p in found.iterdir())


def test_a_rollback_is_refused_with_its_evidence(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    older = checkpoint_of(ledger, log)
    ledger.append_history("shop-2")
    source = StoreLog(ledger.url, checkpoint_of(ledger, log))
    state = tmp_path / "mon"
    monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    source.checkpoint = older
    with pytest.raises(LedgerNotIntact) as caught:
        monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    assert caught.value.failure.check == "checkpoint"
    assert "rollback" in caught.value.failure.message
    assert evidence_of(state) == ["fetched.checkpoint", "held.checkpoint", "report.json"]


def test_a_fork_at_the_same_size_is_a_split_view(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    source = StoreLog(ledger.url, checkpoint_of(ledger, log))
    state = tmp_path / "mon"
    monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    with ledger.open() as opened:
        size, _ = tree_head(opened.store)
    source.checkpoint = sign_checkpoint(Checkpoint("log", size, bytes(32)), log)
    with pytest.raises(LedgerNotIntact) as caught:
        monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    assert caught.value.failure.check == "checkpoint"
    assert "split view" in caught.value.failure.message


def test_entries_that_do_not_hash_to_the_checkpoint_are_refused(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    with ledger.open() as opened:
        size, _ = tree_head(opened.store)
    forged = sign_checkpoint(Checkpoint("log", size, bytes(32)), log)
    with pytest.raises(LedgerNotIntact) as caught:
        monitor_log(StoreLog(ledger.url, forged), policy=policy(ledger, log),
                    state_dir=tmp_path / "m", workers=1)  # fmt: skip
    assert caught.value.failure.check == "checkpoint"
    assert "hash to root" in caught.value.failure.message
    # Nothing was committed: a later honest run starts from nothing.
    honest = StoreLog(ledger.url, checkpoint_of(ledger, log))
    report = monitor_log(honest, policy=policy(ledger, log), state_dir=tmp_path / "m", workers=1)
    assert report.previous_size == 0


def test_a_decision_copied_after_an_earlier_run_is_a_replay(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    source = StoreLog(ledger.url, checkpoint_of(ledger, log))
    state = tmp_path / "mon"
    monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    with attacker(ledger) as conn:
        rewrite(conn, copied_to_tail(read_rows(conn), 5))  # position 10 copies position 5
    store = open_store(ledger.url, read_only=True)
    try:
        leaves = [
            encode_entry(e.originator_id, e.originator_version, e.topic, e.state)
            for e in store.iter_entries()
        ]
    finally:
        store.close()
    from trustledger.ledger.chain import leaf_hash
    from trustledger.ledger.merkle import CompactRange

    tree = CompactRange()
    for entry in leaves:
        tree.append_leaf(leaf_hash(entry))
    source.checkpoint = sign_checkpoint(Checkpoint("log", len(leaves), tree.root()), log)
    with pytest.raises(LedgerNotIntact) as caught:
        monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    failure = caught.value.failure
    assert (failure.check, failure.position) == ("replay", 10)
    assert "first at position 5" in failure.message


def test_a_malformed_state_is_refused_never_reset(
    ledger: LedgerEnv, log: SigningKey, tmp_path: Path
) -> None:
    ledger.append_history("shop-1")
    source = StoreLog(ledger.url, checkpoint_of(ledger, log))
    state = tmp_path / "mon"
    monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)
    with sqlite3.connect(state / STATE_FILE) as conn:
        conn.execute("UPDATE held SET state = ?", (json.dumps({"size": None}),))
    with pytest.raises(StorageUnavailable, match="malformed"):
        monitor_log(source, policy=policy(ledger, log), state_dir=state, workers=1)


def test_key_events_after_the_first_group_are_applied_in_order(
    tmp_path: Path, log: SigningKey
) -> None:
    # More than one group (8 bundles of 256 entries) before a key is registered, used and
    # revoked: each group is verified under the key history up to its own end.
    env = make_ledger(tmp_path)
    for shop in range(300):
        env.append_history(f"shop-{shop}")
    second = generate_signing_key("bot-2")
    with env.open() as ledger:
        ledger.register_key(second.verifier, by=env.root)
    env.append(shop_history("shop-late"), signer=second)
    with env.open() as ledger:
        ledger.revoke_key(second.key_id, by=env.root)
    source = StoreLog(env.url, checkpoint_of(env, log))
    report = monitor_log(source, policy=policy(env, log), state_dir=tmp_path / "m", workers=2)
    assert report.new_entries == 2 + 300 * 8 + 1 + 8 + 1
    assert report.decider_keys == 2 and report.key_events == 4
