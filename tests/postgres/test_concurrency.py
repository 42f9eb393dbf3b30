"""Many appenders at once on one PostgreSQL ledger (8 processes x 4 threads), schema creation
raced by several processes, and notification-id gaps."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path

import psycopg

from tests.conftest import LedgerEnv, make_ledger, trusting
from trustledger import Ledger
from trustledger.app.verification import check_store
from trustledger.errors import Conflict
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.storage.postgres import split_schema

PROCESSES = 8
THREADS = 4
BATCHES = 3
PER_BATCH = 5


def _registration(shop: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "shop.registered",
        "shop_id": shop,
        "occurred_at": "2026-11-01T00:00:00Z",
        "data": {"owner_subject_id": f"seller-{shop}"},
    }


def _complaint(shop: str, complaint_id: str) -> dict[str, object]:
    return {
        "decision_id": str(uuid.uuid4()),
        "type": "complaint.filed",
        "shop_id": shop,
        "occurred_at": "2026-11-02T00:00:00Z",
        "data": {"complaint_id": complaint_id, "category": "late_shipping"},
    }


def _append(ledger: Ledger, batch: list[dict[str, object]], signer: SigningKey) -> list[int]:
    # Conflict means "concurrent appenders kept winning": retrying the batch is idempotent.
    for _ in range(30):
        try:
            return [o.position for o in ledger.append(batch, signer=signer)]
        except Conflict:
            continue
    raise AssertionError("still conflicting after 30 retries")


# What one appender thread reports: the decision ids it sent and the positions it got.
_Sent = tuple[list[str], list[int]]


def _thread(url: str, signer: SigningKey, name: str, out: dict[str, _Sent | BaseException]) -> None:
    try:
        with Ledger.open(url) as ledger:
            shops = [f"{name}-{i}" for i in range(PER_BATCH)]
            ids: list[str] = []
            positions: list[int] = []
            batch = [_registration(s) for s in shops]
            ids += [str(d["decision_id"]) for d in batch]
            positions += _append(ledger, batch, signer)
            for b in range(BATCHES):
                batch = [_complaint(s, f"c-{b}") for s in shops]
                if b == 1:  # every thread also writes to one shared shop: conflicts, retries
                    batch.append(_complaint("shop-shared", f"c-{name}"))
                ids += [str(d["decision_id"]) for d in batch]
                positions += _append(ledger, batch, signer)
            out[name] = (ids, positions)
    except BaseException as exc:  # reported by the test
        out[name] = exc


def _process(url: str, key_pem: bytes, worker: int) -> dict[str, _Sent | str]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    signer = SigningKey("bot", load_pem_private_key(key_pem, None))  # type: ignore[arg-type]
    out: dict[str, _Sent | BaseException] = {}
    threads = [
        threading.Thread(target=_thread, args=(url, signer, f"p{worker}t{t}", out))
        for t in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {k: v if not isinstance(v, BaseException) else repr(v) for k, v in out.items()}


def _pem(key: SigningKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_8_processes_x_4_threads_keep_one_unforked_chain(pg_ledger: LedgerEnv) -> None:
    pg_ledger.append([_registration("shop-shared")])
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            _process, [(pg_ledger.url, _pem(pg_ledger.bot), w) for w in range(PROCESSES)]
        )
    outcomes: dict[str, _Sent | str] = {k: v for r in results for k, v in r.items()}
    errors = {k: v for k, v in outcomes.items() if isinstance(v, str)}
    assert not errors
    assert len(outcomes) == PROCESSES * THREADS

    expected = 3 + PROCESSES * THREADS * (PER_BATCH * (BATCHES + 1) + 1)
    report = pg_ledger.verify()
    assert report.intact, report.failure
    assert report.entries == expected
    all_positions: list[int] = []
    with pg_ledger.open() as ledger:
        recorded = {e.decision_id: e.position for e in ledger.log()}
    sent = [v for v in outcomes.values() if not isinstance(v, str)]
    for ids, positions in sent:
        # Nothing lost, nothing duplicated, each appender's batches in the order it sent them.
        assert [recorded[i] for i in ids] == positions
        assert positions == sorted(positions)
        all_positions += positions
    assert len(set(all_positions)) == len(all_positions)
    assert sorted(recorded.values()) == list(range(expected))  # type: ignore[type-var]


def _init(url: str, key_pem: bytes) -> bool:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    root = SigningKey("root", load_pem_private_key(key_pem, None))  # type: ignore[arg-type]
    ledger, created = Ledger.init(url, root)
    ledger.close()
    return created


def test_processes_running_init_at_once_do_not_race(pg_url: str) -> None:
    root = generate_signing_key("root")
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        created = pool.starmap(_init, [(pg_url, _pem(root))] * 8)
    assert created.count(True) == 1
    report = check_store(pg_url, policy=trusting([root.verifier]), workers=1)
    assert report.intact
    assert report.entries == 1


def _register(url: str, root_pem: bytes, name: str, key_pem: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    root = SigningKey("root", load_pem_private_key(root_pem, None))  # type: ignore[arg-type]
    key = SigningKey(name, load_pem_private_key(key_pem, None))  # type: ignore[arg-type]
    with Ledger.open(url) as ledger:
        try:
            ledger.register_key(key.verifier, by=root)
        except Conflict:
            return "conflict"
    return "registered"


def test_processes_registering_keys_at_once_record_each_once(pg_url: str) -> None:
    root = generate_signing_key("root")
    ledger, _ = Ledger.init(pg_url, root)
    ledger.close()
    bots = [generate_signing_key(f"bot-{i}") for i in range(4)]
    # Each key is registered by two processes at once: one records it, the other is told so.
    jobs = [(pg_url, _pem(root), bot.name, _pem(bot)) for bot in bots for _ in range(2)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        outcomes = pool.starmap(_register, jobs)
    assert sorted(outcomes) == ["conflict"] * 4 + ["registered"] * 4
    with Ledger.open(pg_url) as ledger:
        records = ledger.keys()
    deciders = [str(k.key_id) for k in records if str(k.key_id) != str(root.key_id)]
    assert sorted(deciders) == sorted(str(bot.key_id) for bot in bots)
    report = check_store(pg_url, policy=trusting([root.verifier]), workers=1)
    assert report.intact
    assert report.entries == 5


def _burn_ids(url: str, count: int) -> None:
    """Roll back inserts: the notification-id sequence moves on, leaving a gap."""
    dsn, schema = split_schema(url)
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
        conn.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, 'x', 'x' FROM generate_series(1, %s)",
            (count,),
        )
        conn.rollback()


def test_notification_id_gaps_do_not_break_chain_or_ranges(tmp_path: Path, pg_url: str) -> None:
    env = make_ledger(tmp_path, url=pg_url)
    for i in range(12):
        _burn_ids(env.url, 1 + i % 4)
        env.append([_registration(f"shop-{i}")])
    with env.open() as ledger:
        entries = list(ledger.store.iter_entries())
    ids = [e.notification_id for e in entries]
    assert ids != list(range(ids[0], ids[0] + len(ids)))  # there are gaps
    assert [e.position for e in entries] == list(range(len(entries)))  # positions have none
    keys = [env.root.verifier]
    for range_size in (1, 3, 1000):  # ranges that start, end and lie inside gaps
        sequential = check_store(env.url, policy=trusting(keys), workers=1, range_size=range_size)
        parallel = check_store(env.url, policy=trusting(keys), workers=2, range_size=range_size)
        assert sequential.intact and parallel.intact, (range_size, sequential.failure)
        assert sequential.entries == parallel.entries == 14
        assert sequential.head_chain_hash == parallel.head_chain_hash


def test_catch_up_during_concurrent_appends_never_skips_a_late_commit(
    pg_ledger: LedgerEnv,
) -> None:
    # Projections catching up while 4 processes x 4 threads append (the follower's own
    # connections on top of 8 x 4 appenders' would pass max_connections = 100): a reader that saw
    # notification id n must never later find an event below n committing (eventsourcing's
    # table lock serialises inserting transactions). A skipped event would be missing from
    # the caught-up view for good, since its tracking position moved past it.
    from tests.postgres.test_follow import facts_of
    from trustledger.storage import open_store
    from trustledger_projections.projection import catch_up, rebuild

    appenders = PROCESSES // 2
    pg_ledger.append([_registration("shop-shared")])
    context = multiprocessing.get_context("spawn")
    passes = 0
    with context.Pool(appenders) as pool:
        pending = pool.starmap_async(
            _process, [(pg_ledger.url, _pem(pg_ledger.bot), w) for w in range(appenders)]
        )
        store = open_store(pg_ledger.url)
        try:
            while not pending.ready():
                catch_up(store, batch_size=7)  # small batches: many reads mid-append
                passes += 1
            results = pending.get()
            catch_up(store, batch_size=7)
        finally:
            store.close()
    assert not [v for r in results for v in r.values() if isinstance(v, str)]
    assert passes > 1
    followed = facts_of(pg_ledger.url)
    store = open_store(pg_ledger.url)
    try:
        rebuild(store)
    finally:
        store.close()
    assert followed == facts_of(pg_ledger.url)
    shops = {f.shop_id for f in followed}
    assert len(shops) == 1 + appenders * THREADS * PER_BATCH
