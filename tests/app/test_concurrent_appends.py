"""Several processes appending to one SQLite ledger at once: one unforked chain, no loss."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

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
