"""Several processes appending to one ledger at once: one unforked chain, no loss (SQLite;
tests/postgres/test_concurrency.py for PostgreSQL), and a key revoked meanwhile signs
nothing after its revocation (both stores)."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path

from tests.conftest import LedgerEnv
from trustledger import Ledger
from trustledger.ledger.keys import SigningKey, generate_signing_key

PROCESSES = 4
BATCHES = 5
PER_BATCH = 10


def _appender(url: str, key_bytes: bytes, worker: int) -> list[int]:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key(key_bytes, None)
    signer = SigningKey("bot", private)  # type: ignore[arg-type]
    positions = []
    with Ledger.open(url) as ledger:
        shops = [f"shop-{worker}-{i}" for i in range(PER_BATCH)]
        registrations = [
            {
                "decision_id": str(uuid.uuid4()),
                "type": "shop.registered",
                "shop_id": shop,
                "occurred_at": "2026-11-01T00:00:00Z",
                "data": {"owner_subject_id": f"seller-{shop}"},
            }
            for shop in shops
        ]
        positions += [o.position for o in ledger.append(registrations, signer=signer)]
        for batch in range(BATCHES):
            # Every process also writes to one shared shop: optimistic-concurrency retries.
            complaints = [
                {
                    "decision_id": str(uuid.uuid4()),
                    "type": "complaint.filed",
                    "shop_id": "shop-shared",
                    "occurred_at": "2026-11-02T00:00:00Z",
                    "data": {"complaint_id": f"c-{worker}-{batch}", "category": "late_shipping"},
                }
            ] + [
                {
                    "decision_id": str(uuid.uuid4()),
                    "type": "complaint.filed",
                    "shop_id": shop,
                    "occurred_at": "2026-11-02T00:00:00Z",
                    "data": {"complaint_id": f"c-{batch}", "category": "misdescription"},
                }
                for shop in shops
            ]
            positions += [o.position for o in ledger.append(complaints, signer=signer)]
    return positions


def test_concurrent_appenders_keep_one_unforked_chain(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    root, bot = generate_signing_key("root"), generate_signing_key("bot")
    ledger, _ = Ledger.init(url, root)
    ledger.register_key(bot.verifier, by=root)
    ledger.append(
        [
            {
                "decision_id": str(uuid.uuid4()),
                "type": "shop.registered",
                "shop_id": "shop-shared",
                "occurred_at": "2026-11-01T00:00:00Z",
                "data": {"owner_subject_id": "seller-shared"},
            }
        ],
        signer=bot,
    )
    before = ledger.size()
    ledger.close()
    key_bytes = bot.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_appender, [(url, key_bytes, w) for w in range(PROCESSES)])

    positions = [p for worker in results for p in worker]
    expected = PROCESSES * (PER_BATCH + BATCHES * (PER_BATCH + 1))
    assert len(positions) == expected
    assert len(set(positions)) == expected, "two decisions share a position"
    with Ledger.open(url) as ledger:
        assert ledger.size() == before + expected
        report = ledger.verify(trusted_keys=[root.verifier], workers=1)
    assert report.intact, report.failure
    assert report.entries == before + expected


def _append_until_refused(url: str, key_bytes: bytes, worker: int) -> int:
    """Append a registration, then batches of two decisions, about a shop of this worker's
    own until the key is refused; the number of decisions appended."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from trustledger.errors import KeyRejected

    private = load_pem_private_key(key_bytes, None)
    signer = SigningKey("bot", private)  # type: ignore[arg-type]
    shop = f"shop-{worker}"
    batches: list[list[dict[str, object]]] = [
        [
            {
                "decision_id": str(uuid.uuid4()),
                "type": "shop.registered",
                "shop_id": shop,
                "occurred_at": "2026-11-01T00:00:00Z",
                "data": {"owner_subject_id": f"seller-{shop}"},
            }
        ]
    ]
    appended = 0
    with Ledger.open(url) as ledger:
        for batch in range(10_000):
            try:
                appended += len(ledger.append(batches[-1], signer=signer))
            except KeyRejected:
                return appended
            batches.append(
                [
                    {
                        "decision_id": str(uuid.uuid4()),
                        "type": "complaint.filed",
                        "shop_id": shop,
                        "occurred_at": "2026-11-02T00:00:00Z",
                        "data": {"complaint_id": f"c-{batch}-{n}", "category": "late_shipping"},
                    }
                    for n in range(2)
                ]
            )
    raise AssertionError("the key was never refused")


def test_a_key_revoked_while_processes_append_with_it_signs_nothing_after_its_revocation(
    ledger: LedgerEnv,
) -> None:
    # The property the in-transaction keyring check keeps (AppendWrite.keyring_version),
    # end to end: appenders in other processes, each holding its own view of the keyring,
    # race a revocation; whatever they manage to write lands before it, and verify passes.
    from cryptography.hazmat.primitives import serialization

    key_bytes = ledger.bot.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        pending = pool.starmap_async(
            _append_until_refused, [(ledger.url, key_bytes, w) for w in range(PROCESSES)]
        )
        with ledger.open() as admin:
            deadline = time.monotonic() + 60
            while admin.size() < 2 + PROCESSES * 20 and time.monotonic() < deadline:
                time.sleep(0.01)  # let the appenders get going first
            admin.revoke_key(ledger.bot.key_id, by=ledger.root, reason="compromised")
        appended = pending.get(timeout=120)

    assert sum(appended) >= PROCESSES * 20, appended
    report = ledger.verify()
    assert report.intact, report.failure
    assert report.entries == 3 + sum(appended)  # init, registration, revocation, decisions
