"""A deterministic, realistic stream of valid decision documents for the benchmarks.

The stream registers shops first (about one shop per ten decisions), then keeps a mix of
verifications, complaints (half of them carrying a buyer's personal data), complaint
outcomes and penalties on shops that already exist. Some registrations carry the owner's
personal data too. Every document is valid against docs/DECISIONS.md's rules in stream order.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 9, 1, tzinfo=UTC)  # in the past: the skew rule never bites
# Decision ids: "random" (UUIDv4, the default) or "time-ordered" (UUIDv7 of the decision's
# occurred_at), the two ways enforcement tooling may make them.
DECISION_IDS = ("random", "time-ordered")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


class _Shops:
    """What the stream remembers of each shop, as counters in lists of ints indexed by the
    shop's number: a million shops stay a handful of objects, not three each for the
    garbage collector to walk through while the ledger's appends are timed (a full
    collection visits every tracked object). A shop's verifications awaiting approval
    are its numbers ``approved + 1`` to ``verifications``, its open complaints
    ``resolved + 1`` to ``complaints`` (both are taken oldest first)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.verifications: list[int] = []
        self.approved: list[int] = []
        self.complaints: list[int] = []
        self.resolved: list[int] = []
        self.penalties: list[int] = []

    def add(self, shop_id: str) -> None:
        self.ids.append(shop_id)
        for counters in (self.verifications, self.approved, self.complaints, self.resolved,
                         self.penalties):  # fmt: skip
            counters.append(0)


class Workload:
    """Generates ``decisions(n)``; the same seed gives the same documents."""

    def __init__(self, seed: int = 20261123, shops_per_decision: float = 0.1,
                 prefix: str = "shop", base_time: datetime = BASE_TIME,
                 decision_ids: str = "random") -> None:  # fmt: skip
        if decision_ids not in DECISION_IDS:
            raise ValueError(f"decision_ids: one of {', '.join(DECISION_IDS)}")
        self.rng = random.Random(seed)
        self.time_ordered_ids = decision_ids == "time-ordered"
        # One decision a second from base_time: a stream longer than the time since
        # BASE_TIME (bench_growth's millions) starts earlier.
        self.base_time = base_time
        self.shops_per_decision = shops_per_decision
        self.prefix = prefix
        self.shops = _Shops()
        self.count = 0

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _time_ordered_id(self, moment: datetime) -> str:
        """A UUIDv7 (RFC 9562 §5.7) of the decision's time: 48 bits of Unix milliseconds,
        version 7, 12 random bits, the variant, 62 random bits. Ids made in time order
        sort in time order, so an index of them grows at its right edge."""
        millis = int(moment.timestamp() * 1000)
        rand_a, rand_b = self.rng.getrandbits(12), self.rng.getrandbits(62)
        return str(uuid.UUID(int=millis << 80 | 7 << 76 | rand_a << 64 | 2 << 62 | rand_b))

    def _base(self, kind: str, shop_id: str) -> dict[str, Any]:
        moment = self.base_time + timedelta(seconds=self.count)
        self.count += 1
        return {
            "decision_id": self._time_ordered_id(moment) if self.time_ordered_ids else self._id(),
            "type": kind,
            "shop_id": shop_id,
            "occurred_at": _ts(moment),
            "actor": f"reviewer-{self.rng.randrange(1, 60)}",
        }

    def _register(self) -> dict[str, Any]:
        shop_id = f"{self.prefix}-{len(self.shops.ids) + 1:07d}"
        self.shops.add(shop_id)
        document = self._base("shop.registered", shop_id)
        owner = f"owner-{shop_id}"
        document["data"] = {
            "owner_subject_id": owner,
            "deposit": self.rng.choice([100_000, 500_000, 1_000_000]),
            "categories": self.rng.sample(["apparel", "shoes", "food", "toys", "beauty"], 2),
        }
        if self.rng.random() < 0.3:
            document["personal"] = {"subject_id": owner, "name": "李四", "phone": "13900139000"}
        return document

    def _other(self, shop: int) -> dict[str, Any]:
        shops = self.shops
        shop_id = shops.ids[shop]
        roll = self.rng.random()
        if roll < 0.15 or (roll < 0.25 and shops.approved[shop] == shops.verifications[shop]):
            shops.verifications[shop] += 1
            vid = f"v-{shops.verifications[shop]}"
            document = self._base("verification.submitted", shop_id)
            document["data"] = {
                "verification_id": vid,
                "kind": self.rng.choice(["real_name", "qualification", "brand"]),
                "document_sha256": _digest(f"{shop_id}/{vid}"),
                "valid_until": "2028-01-01T00:00:00Z",
            }
            return document
        if roll < 0.25:
            shops.approved[shop] += 1
            document = self._base("verification.approved", shop_id)
            document["data"] = {
                "verification_id": f"v-{shops.approved[shop]}",
                "valid_until": "2028-01-01T00:00:00Z",
            }
            return document
        if roll < 0.55 or (roll < 0.70 and shops.resolved[shop] == shops.complaints[shop]):
            shops.complaints[shop] += 1
            cid = f"c-{shops.complaints[shop]}"
            document = self._base("complaint.filed", shop_id)
            document["data"] = {
                "complaint_id": cid,
                "category": self.rng.choice(["counterfeit", "late_shipping", "misdescription"]),
                "product_id": f"sku-{self.rng.randrange(1, 10_000)}",
                "order_id": f"o-{self.rng.randrange(10**9, 10**10)}",
                "evidence": [_digest(f"{shop_id}/{cid}/photo")],
            }
            if self.rng.random() < 0.5:
                buyer = f"buyer-{self.rng.randrange(1, 200_000)}"
                document["personal"] = {"subject_id": buyer, "name": "张三丰",
                                        "phone": "13800138000"}  # fmt: skip
            return document
        if roll < 0.70:
            substantiated = self.rng.random() < 0.5
            kind = "complaint.substantiated" if substantiated else "complaint.dismissed"
            document = self._base(kind, shop_id)
            shops.resolved[shop] += 1
            cid = f"c-{shops.resolved[shop]}"
            document["data"] = (
                {"complaint_id": cid, "violation": "counterfeit",
                 "findings": "the label does not match the brand's authentic product"}
                if substantiated
                else {"complaint_id": cid, "reason": "invoice from the brand owner"}
            )  # fmt: skip
            return document
        shops.penalties[shop] += 1
        document = self._base("penalty.imposed", shop_id)
        document["data"] = {
            "penalty_id": f"p-{shops.penalties[shop]}",
            "violation": self.rng.choice(["late_shipping", "misdescription", "fake_reviews"]),
            "severity": "minor",
            "points": self.rng.choice([0, 1, 2]),
            "measures": [
                {"type": "warning"}
                if self.rng.random() < 0.6
                else {"type": "delist_product", "product_id": f"sku-{self.rng.randrange(10_000)}"}
            ],
            "rule_set": "default-v1",
        }
        return document

    def decisions(self, n: int) -> Iterator[dict[str, Any]]:
        """The next ``n`` documents of the stream."""
        for _ in range(n):
            if not self.shops.ids or self.rng.random() < self.shops_per_decision:
                yield self._register()
            else:
                # A shop's number drawn as random.choice draws an element of the list.
                yield self._other(self.rng.randrange(len(self.shops.ids)))


def batches(n: int, size: int, **kwargs: Any) -> list[list[dict[str, Any]]]:
    """``n`` documents of a fresh stream in lists of ``size``."""
    stream = list(Workload(**kwargs).decisions(n))
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os
    import platform
    import sqlite3

    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def remove_db(path: str) -> None:
    """Delete an SQLite file and its WAL/shared-memory companions."""
    import os

    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def write_json(path: str | None, results: Any) -> None:
    """``--json PATH``: every repetition's numbers, for later comparison (if asked for)."""
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
