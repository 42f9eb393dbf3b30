"""A realistic, deterministic sample history of enforcement decisions (`trustledger sample`).

Dozens of shops go through real-name and qualification verification, buyers' complaints
(with the buyers' personal data), penalties of every measure, appeals upheld and rejected,
revocations and a closure: every decision type of format v1 (docs/DECISIONS.md), and
every one of them valid under its rules.

One function per part of a shop's life (``shop_history`` calls them in order): a new kind
of decision gets its own function, called from ``shop_history``, drawing from the same
``random.Random`` so that the whole history stays reproducible from the seed.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

VIOLATIONS = {
    "counterfeit": "critical",
    "prohibited_goods": "critical",
    "false_advertising": "serious",
    "ip_infringement": "serious",
    "fake_reviews": "serious",
    "misdescription": "minor",
    "late_shipping": "minor",
    "after_sales_failure": "minor",
}
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军"]
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopHistory:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.shop_id = f"shop-{10000 + index}"
        self.clock = BASE + timedelta(hours=rng.randrange(0, 24 * 20))
        self.decisions: list[dict[str, Any]] = []
        self.counter = 0

    def tick(self, low_hours: int = 2, high_hours: int = 72) -> datetime:
        self.clock += timedelta(hours=self.rng.randrange(low_hours, high_hours))
        return self.clock

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def add(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        actor: str = "reviewer-17",
        personal: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        decision: dict[str, Any] = {
            "decision_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": kind,
            "shop_id": self.shop_id,
            "occurred_at": ts(at or self.tick()),
            "actor": actor,
            "data": data,
        }
        if personal:
            decision["personal"] = personal
        self.decisions.append(decision)


def person(rng: random.Random, subject_id: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "phone": f"13{rng.randrange(0, 10**9):09d}",
        "address": f"{rng.choice(['北京', '上海', '广州', '成都'])}市{rng.randrange(1, 99)}号",
    }


def shop_history(rng: random.Random, index: int) -> list[dict[str, Any]]:
    """One shop's decisions, in its own time order: onboarding, complaints and their
    penalties, then the rare cases some shops go through."""
    shop = ShopHistory(rng, index)
    onboard(shop, rng, index)
    for _ in range(rng.randrange(1, 5)):
        add_complaint(shop, rng)
    if index in (7, 23):  # a critical case: a permanent ban, one of them overturned on appeal
        add_penalty(
            shop,
            rng,
            "counterfeit",
            [],
            ban=True,
            appeal_outcome="upheld" if index == 7 else "rejected",
        )
    if index == 31:
        shop.add("shop.closed", {"reason": "owner request"}, actor="seller-portal")
    return shop.decisions


def onboard(shop: ShopHistory, rng: random.Random, index: int) -> None:
    """Registration with the owner's personal data, real-name and qualification
    verification (some rejected first, revoked or expired later)."""
    owner = f"seller-{index}"
    shop.add(
        "shop.registered",
        {
            "owner_subject_id": owner,
            "deposit": rng.choice([50000, 100000, 200000]),
            "categories": rng.sample(["apparel", "beauty", "food", "electronics", "toys"], 2),
        },
        actor="onboarding-bot",
        personal={**person(rng, owner), "id_number": f"1101{rng.randrange(10**13):013d}X"},
    )
    shop.add(
        "verification.submitted",
        {
            "verification_id": "rn-1",
            "kind": "real_name",
            "document_sha256": f"{rng.getrandbits(256):064x}",
        },
        actor="onboarding-bot",
    )
    if index % 9 == 4:
        shop.add(
            "verification.rejected", {"verification_id": "rn-1", "reason": "ID photo unreadable"}
        )
        shop.add(
            "verification.submitted",
            {
                "verification_id": "rn-2",
                "kind": "real_name",
                "document_sha256": f"{rng.getrandbits(256):064x}",
            },
            actor="onboarding-bot",
        )
        shop.add(
            "verification.approved",
            {"verification_id": "rn-2", "valid_until": ts(shop.clock + timedelta(days=730))},
        )
    else:
        shop.add(
            "verification.approved",
            {"verification_id": "rn-1", "valid_until": ts(shop.clock + timedelta(days=730))},
        )
    shop.add(
        "verification.submitted",
        {
            "verification_id": "q-1",
            "kind": "qualification",
            "document_sha256": f"{rng.getrandbits(256):064x}",
        },
        actor="onboarding-bot",
    )
    shop.add(
        "verification.approved",
        {
            "verification_id": "q-1",
            "valid_until": ts(shop.clock + timedelta(days=rng.choice([60, 365]))),
        },
    )
    if index % 11 == 3:
        shop.add("verification.revoked", {"verification_id": "q-1", "reason": "licence withdrawn"})
    elif index % 13 == 5:
        shop.add("verification.expired", {"verification_id": "q-1"}, actor="expiry-job")


def add_complaint(shop: ShopHistory, rng: random.Random) -> None:
    """A buyer's complaint (with the buyer's personal data): withdrawn, dismissed, or
    substantiated with a penalty."""
    complaint = shop.next_id("c")
    buyer = f"buyer-{rng.randrange(1, 120)}"
    violation = rng.choice(list(VIOLATIONS))
    shop.add(
        "complaint.filed",
        {
            "complaint_id": complaint,
            "category": violation,
            "order_id": f"o-{rng.randrange(10**8)}",
            "product_id": f"sku-{rng.randrange(500)}",
            "evidence": [f"{rng.getrandbits(256):064x}"],
        },
        actor="complaint-intake",
        personal=person(rng, buyer),
    )
    if rng.random() < 0.6:
        shop.add(
            "complaint.responded",
            {"complaint_id": complaint, "evidence": [f"{rng.getrandbits(256):064x}"]},
            actor="seller-portal",
        )
    outcome = rng.random()
    if outcome < 0.15:
        shop.add(
            "complaint.withdrawn",
            {"complaint_id": complaint, "reason": "resolved with buyer"},
            actor="complaint-intake",
        )
        return
    if outcome < 0.4:
        shop.add("complaint.dismissed", {"complaint_id": complaint, "reason": "no evidence"})
        return
    shop.add(
        "complaint.substantiated",
        {
            "complaint_id": complaint,
            "violation": violation,
            "findings": "confirmed by review of the order and the listing",
        },
    )
    add_penalty(shop, rng, violation, [complaint])


def add_penalty(
    shop: ShopHistory,
    rng: random.Random,
    violation: str,
    complaints: list[str],
    *,
    ban: bool = False,
    appeal_outcome: str | None = None,
) -> None:
    penalty = shop.next_id("p")
    severity = VIOLATIONS[violation]
    imposed_at = shop.tick()
    if ban:
        measures: list[dict[str, Any]] = [{"type": "permanent_ban"}]
    elif severity == "critical":
        measures = [
            {"type": "suspend", "until": ts(imposed_at + timedelta(days=30))},
            {"type": "deduct_deposit", "amount": 20000},
        ]
    elif severity == "serious":
        measures = [
            {"type": "delist_product", "product_id": f"sku-{rng.randrange(500)}"},
            {
                "type": rng.choice(["restrict_traffic", "restrict_listing", "freeze_funds"]),
                "until": ts(imposed_at + timedelta(days=14)),
            },
        ]
    else:
        measures = [{"type": "warning"}]
    points = {"minor": 2, "serious": 6, "critical": 12}[severity] * (2 if ban else 1)
    data: dict[str, Any] = {
        "penalty_id": penalty,
        "violation": violation,
        "severity": severity,
        "points": points,
        "measures": measures,
        "rule_set": "default-v1",
    }
    if complaints:
        data["complaint_ids"] = complaints
    shop.add("penalty.imposed", data, at=imposed_at)
    roll = rng.random()
    if appeal_outcome is None:
        appeal_outcome = (
            "none" if roll < 0.5 else rng.choice(["upheld", "rejected", "withdrawn", "revoked"])
        )
    if appeal_outcome == "none":
        return
    if appeal_outcome == "revoked":
        shop.add(
            "penalty.revoked",
            {"penalty_id": penalty, "cause": "platform_error"},
            at=imposed_at + timedelta(days=2),
        )
        shop.clock = max(shop.clock, imposed_at + timedelta(days=2))
        return
    appeal = shop.next_id("a")
    filed_at = imposed_at + timedelta(days=rng.randrange(1, 6))
    shop.add(
        "appeal.filed",
        {
            "appeal_id": appeal,
            "penalty_id": penalty,
            "grounds": "the goods are genuine; invoices attached",
            "evidence": [f"{rng.getrandbits(256):064x}"],
        },
        actor="seller-portal",
        at=filed_at,
    )
    shop.clock = filed_at
    decided_at = shop.tick(24, 96)
    if appeal_outcome == "upheld":
        shop.add("appeal.upheld", {"appeal_id": appeal}, actor="appeals-board", at=decided_at)
    elif appeal_outcome == "withdrawn":
        shop.add("appeal.withdrawn", {"appeal_id": appeal}, actor="seller-portal", at=decided_at)
    else:
        shop.add(
            "appeal.rejected",
            {"appeal_id": appeal, "reason": "evidence does not refute findings"},
            actor="appeals-board",
            at=decided_at,
        )


def sample_decisions(shops: int = 40, seed: int = 2026) -> list[dict[str, Any]]:
    """Every shop's history, merged in time order (each shop's own order kept): the same
    decisions for the same ``shops`` and ``seed``."""
    rng = random.Random(seed)
    decisions = [d for i in range(shops) for d in shop_history(rng, i)]
    decisions.sort(key=lambda d: d["occurred_at"])  # stable: per-shop order is kept
    return decisions


def format_json_lines(decisions: list[dict[str, Any]]) -> str:
    """The decisions as JSON Lines, as `trustledger append` reads them."""
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in decisions)
