"""The conformance corpus's fixed keys and its valid base ledger.

Keys come from fixed seeds: ``seed = SHA-256("trustledger conformance " ‖ name)`` is the
Ed25519 private key (RFC 8032 §5.1.5). The base ledger is made by the library's own code
paths (``Ledger.init``, ``register_key``, ``publish_rules``, ``append``, ``revoke_key``,
``erase`` on a temporary SQLite store, then ``checkpoint`` and ``export``); the sources of
time and randomness those paths read (``uuid.uuid4``, ``datetime.now``, eventsourcing's
event clock, the subject keys and the sealing nonces) are replaced, inside ``base_bundle``
only, by fixed sequences, so that the bundle is the same bytes on every run.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustledger.app.bundle import export_bundle
from trustledger.app.ledger import Ledger
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.keys import SigningKey

ORIGIN = "conformance.trustledger.example/log"
#: Every key of the corpus. Only the public halves are published (keys/), but anyone can
#: derive the private ones from the seed rule: these keys sign nothing real.
KEY_NAMES = (
    "root",
    "decider-a",
    "decider-b",
    "log",
    "witness-a",
    "witness-b",
    "witness-c",
    "other-root",
    "other-log",
    "decider-x",
)
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

RULES_TOML = """\
version = "conformance-v1"
effective_from = "2027-01-01T00:00:00Z"

[append]
max_future_skew_minutes = 5
appeal_window_days = 7
max_appeals_per_penalty = 2

[standing]
points_window_days = 365
points_tiers = [12, 24, 36, 48]
eligibility_penalty_window_days = 30
eligibility_max_points = 12
"""

#: Text with every kind of character a payload string may hold: quotes, backslash,
#: control characters (escaped by RFC 8785 as \\b \\t \\n \\f \\r and \\u00XX), non-ASCII,
#: a character above U+FFFF, U+2028, U+007F and "/" (never escaped).
ESCAPES = 'quote " backslash \\ slash / tab \t nl \n cr \r bs \b ff \f ctl \u0001 \u001f del \u007f'
NON_ASCII = "假冒商品 — «Grüße» 😀 \u2028 end"


def seed_key(name: str) -> SigningKey:
    """The corpus key ``name``: its Ed25519 seed is SHA-256("trustledger conformance " ‖ name)."""
    seed = hashlib.sha256(b"trustledger conformance " + name.encode()).digest()
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(seed))


def corpus_keys() -> dict[str, SigningKey]:
    return {name: seed_key(name) for name in KEY_NAMES}


class _Clock:
    """A clock that ticks one second per reading, from ``START``."""

    def __init__(self) -> None:
        self.now = START

    def read(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@contextmanager
def deterministic() -> Iterator[None]:
    """Fixed sources of time and randomness for the library's code paths."""
    clock = _Clock()
    counter = iter(range(1, 1 << 30))

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=0xC0FFEE << 96 | next(counter), version=4)

    def urandom(size: int) -> bytes:
        return hashlib.sha256(b"nonce %d" % next(counter)).digest()[:size]

    def subject_key() -> bytes:
        return hashlib.sha256(b"subject key %d" % next(counter)).digest()

    class FixedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FixedDatetime:
            moment = clock.read()
            return cls.fromtimestamp(moment.timestamp(), tz)

    with ExitStack() as stack:
        stack.enter_context(mock.patch("uuid.uuid4", uuid4))
        stack.enter_context(mock.patch("trustledger.app.ledger.datetime", FixedDatetime))
        stack.enter_context(mock.patch("eventsourcing.domain.datetime_now_with_tzinfo", clock.read))
        stack.enter_context(mock.patch("trustledger.app.append.new_subject_key", subject_key))
        stack.enter_context(
            mock.patch("trustledger.ledger.sealing.os", SimpleNamespace(urandom=urandom))
        )
        yield


def _decision(
    number: int, kind: str, shop_id: str, day: int, data: dict[str, Any], **top: Any
) -> dict[str, Any]:
    return {
        "decision_id": str(uuid.UUID(int=number, version=4)),
        "type": kind,
        "shop_id": shop_id,
        "occurred_at": (START + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actor": "reviewer-17",
        "data": data,
        **top,
    }


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def first_batch() -> list[dict[str, Any]]:
    shop = "shop-a"
    return [
        _decision(1, "shop.registered", shop, 0,
                  {"owner_subject_id": "owner-1", "deposit": 500_000,
                   "categories": ["apparel", "shoes"]}),
        _decision(2, "verification.submitted", shop, 1,
                  {"verification_id": "v-1", "kind": "real_name",
                   "document_sha256": _sha("id-card"), "valid_until": "2027-11-02T08:00:00Z"}),
        _decision(3, "verification.approved", shop, 2,
                  {"verification_id": "v-1", "valid_until": "2027-11-02T08:00:00Z"}),
        _decision(4, "complaint.filed", shop, 3,
                  {"complaint_id": "c-1", "category": "counterfeit", "product_id": "sku-9",
                   "order_id": "o-1", "evidence": [_sha("photo")]},
                  personal={"subject_id": "buyer-77", "name": "张三丰", "phone": "13800138000"}),
        _decision(5, "complaint.substantiated", shop, 4,
                  {"complaint_id": "c-1", "violation": "counterfeit", "findings": ESCAPES}),
    ]  # fmt: skip


def second_batch() -> list[dict[str, Any]]:
    return [
        _decision(6, "penalty.imposed", "shop-a", 5,
                  {"penalty_id": "p-1", "violation": "counterfeit", "severity": "serious",
                   "points": 12, "measures": [{"type": "delist_product", "product_id": "sku-9"}],
                   "rule_set": "default-v1"}),
        _decision(7, "shop.registered", "shop-b", 5,
                  {"owner_subject_id": "owner-2", "deposit": 9_007_199_254_740_991,
                   "categories": [NON_ASCII]},
                  actor="审核员-3"),
    ]  # fmt: skip


def third_batch() -> list[dict[str, Any]]:
    return [
        _decision(8, "appeal.filed", "shop-a", 6,
                  {"appeal_id": "a-1", "penalty_id": "p-1", "grounds": "genuine; invoice",
                   "evidence": [_sha("invoice")]}),
        _decision(9, "appeal.upheld", "shop-a", 7, {"appeal_id": "a-1"}),
        _decision(10, "complaint.filed", "shop-b", 7,
                  {"complaint_id": "c-2", "category": "late_shipping", "product_id": "sku-1",
                   "order_id": "o-2", "evidence": []},
                  personal={"subject_id": "buyer-88", "name": "Zoë", "phone": "+33 1 23"}),
    ]  # fmt: skip


def base_bundle(keys: dict[str, SigningKey]) -> bytes:
    """The valid base ledger, exported as a bundle (its checkpoint signed by ``log``, not yet
    cosigned: the generator re-makes the checkpoint for every case)."""
    root, a, b = keys["root"], keys["decider-a"], keys["decider-b"]
    recorded = START + timedelta(days=30)
    with tempfile.TemporaryDirectory() as tmp, deterministic():
        url = f"sqlite:///{Path(tmp) / 'base.db'}"
        ledger, _ = Ledger.init(url, root)
        with ledger:
            ledger.register_key(a.verifier, by=root, actor="security-officer")
            ledger.publish_rules(RULES_TOML, by=root, actor="policy-board")
            ledger.append(first_batch(), signer=a, now=recorded)
            ledger.register_key(b.verifier, by=root)
            ledger.append(second_batch(), signer=b, now=recorded + timedelta(hours=1))
            ledger.revoke_key(b.key_id, by=root, reason="rotated")
            ledger.append(third_batch(), signer=a, now=recorded + timedelta(hours=2))
            ledger.erase("buyer-77")
            create_checkpoint(ledger.store, keys["log"], origin=ORIGIN)
        out = Path(tmp) / "base.bundle"
        export_bundle(url, out)
        return out.read_bytes()
