"""A realistic, deterministic sample history of enforcement decisions (`trustledger sample`).

Dozens of shops go through real-name and qualification verification, deposits paid and
refunded, buyers' complaints (with the buyers' personal data) and the remedies ordered for
them, penalties of every measure, appeals upheld and rejected, revocations, the 信任购
programme (enrolments, exits, one forced) and a closure: every decision type
(docs/DECISIONS.md), and every one of them valid under the append rules.

The reports are judged ``AS_OF`` (the sample's "now", after its last decision), so that
they are the same on every run: the last weeks before it hold what the work queue shows
(complaints unanswered and unresolved, an appeal undecided, remedies overdue and owed, a
points tier whose measure nobody imposed).

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
# The time the sample's reports are judged at; the scripted cases are dated before it.
AS_OF = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
# Shops with a scripted case (shop_history): the deposit restored by an upheld appeal, a
# forced programme exit, complaints and an appeal left past their deadlines, a points tier
# nobody acted on, remedies still owed, a shop that never sent its qualification, shops
# suspended and restricted at AS_OF.
UPHELD_WITH_DEPOSIT, FORCED_EXIT, LATE_COMPLAINTS, UNDECIDED_APPEAL = 12, 9, 15, 20
TIER_IGNORED, REMEDIES_OWED, NO_QUALIFICATION = 27, 33, 38
SUSPENDED_NOW, RESTRICTED_NOW = 35, 11
# The owner whose shop is banned for good (index 23) and who tries to open another one.
BANNED_OWNER, EVADING_SHOP = "seller-23", "shop-10040"
# The buyer who asks to be forgotten (the suspended shop's last complaint is theirs).
ERASED_BUYER = "buyer-7"
REMEDY_KINDS = ("refund", "return_and_refund", "compensation")


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopHistory:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.shop_id = f"shop-{10000 + index}"
        self.clock = BASE + timedelta(hours=rng.randrange(0, 24 * 20))
        self.decisions: list[dict[str, Any]] = []
        self.counter = 0
        # The deposit balance as rule 10 counts it, so that no debit takes it below 0.
        self.balance = 0
        self.deducted: dict[str, int] = {}  # penalty_id -> its deduct_deposit amount
        self.appealed: dict[str, str] = {}  # appeal_id -> penalty_id
        self.enrolled = False
        self.qualified_until: datetime | None = None

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
        self.count_deposit(kind, data)

    def count_deposit(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "shop.registered":
            self.balance += data.get("deposit", 0)
        elif kind == "deposit.paid":
            self.balance += data["amount"]
        elif kind == "deposit.refunded" or (kind == "remedy.ordered" and data.get("from_deposit")):
            self.balance -= data["amount"]
        elif kind == "penalty.imposed":
            amount = sum(m["amount"] for m in data["measures"] if m["type"] == "deduct_deposit")
            self.deducted[data["penalty_id"]] = amount
            self.balance -= amount
        elif kind == "appeal.filed":
            self.appealed[data["appeal_id"]] = data["penalty_id"]
        elif kind == "penalty.revoked":
            self.balance += self.deducted.pop(data["penalty_id"], 0)
        elif kind == "appeal.upheld":  # revokes the appealed penalty: its deduction returns
            self.balance += self.deducted.pop(self.appealed[data["appeal_id"]], 0)


def person(rng: random.Random, subject_id: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "phone": f"13{rng.randrange(0, 10**9):09d}",
        "address": f"{rng.choice(['北京', '上海', '广州', '成都'])}市{rng.randrange(1, 99)}号",
    }


def shop_history(rng: random.Random, index: int) -> list[dict[str, Any]]:
    """One shop's decisions, in its own time order: onboarding, deposits and the programme,
    complaints with their penalties and remedies, then the rare cases some shops go
    through, and last the scripted cases dated in the weeks before ``AS_OF``."""
    shop = ShopHistory(rng, index)
    onboard(shop, rng, index)
    move_deposit(shop, rng, index)
    if index % 4 == 1 or index == FORCED_EXIT:
        enrol(shop)
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
    if index == UPHELD_WITH_DEPOSIT:
        add_complaint(shop, rng, violation="counterfeit", appeal_outcome="upheld")
    if index == FORCED_EXIT:
        add_complaint(shop, rng, violation="prohibited_goods", appeal_outcome="none")
    if index == 29 and shop.enrolled:
        shop.add("programme.exited", {"reason": "the seller left the programme"},
                 actor="seller-portal")  # fmt: skip
    if index == 31:
        shop.add("shop.closed", {"reason": "owner request"}, actor="seller-portal")
    late_cases(shop, rng, index)
    return shop.decisions


def onboard(shop: ShopHistory, rng: random.Random, index: int) -> None:
    """Registration with the owner's personal data, real-name and qualification
    verification (some rejected first, revoked or expired later; one shop never sends its
    qualification)."""
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
    if index == NO_QUALIFICATION:
        return
    shop.add(
        "verification.submitted",
        {
            "verification_id": "q-1",
            "kind": "qualification",
            "document_sha256": f"{rng.getrandbits(256):064x}",
        },
        actor="onboarding-bot",
    )
    # The programme's shops hold a licence valid for a year; the others 90 days or a year,
    # all still valid at AS_OF unless expired or revoked by a decision.
    days = 365 if index % 4 == 1 or index == FORCED_EXIT else rng.choice([90, 365])
    valid_until = shop.clock + timedelta(days=days)
    shop.add("verification.approved", {"verification_id": "q-1", "valid_until": ts(valid_until)})
    if index % 11 == 3:
        shop.add("verification.revoked", {"verification_id": "q-1", "reason": "licence withdrawn"})
    elif index % 13 == 5:
        shop.add("verification.expired", {"verification_id": "q-1"}, actor="expiry-job")
    else:
        shop.qualified_until = valid_until


def move_deposit(shop: ShopHistory, rng: random.Random, index: int) -> None:
    """Top-ups of the deposit, and refunds of part of it (never more than the balance)."""
    if index % 5 == 1:
        shop.add(
            "deposit.paid",
            {"amount": rng.choice([20000, 50000]), "reference": f"bank-tx-{rng.randrange(10**6)}"},
            actor="finance-bot",
        )
    if index % 6 == 2:
        shop.add(
            "deposit.refunded",
            {"amount": shop.balance // 4, "reason": "deposit level lowered for the category"},
            actor="finance-bot",
        )


def enrol(shop: ShopHistory) -> None:
    """Join 信任购 while eligible (rule 14): verified, qualified, no penalty yet."""
    if shop.qualified_until is None:
        return
    shop.add("programme.enrolled", {}, actor="programme-bot")
    shop.enrolled = True


def add_complaint(
    shop: ShopHistory,
    rng: random.Random,
    *,
    violation: str | None = None,
    appeal_outcome: str | None = None,
) -> None:
    """A buyer's complaint (with the buyer's personal data): withdrawn, dismissed, or
    substantiated with a penalty and often a remedy for the buyer. ``violation`` (and the
    penalty's ``appeal_outcome``) script a substantiated one."""
    complaint = shop.next_id("c")
    buyer = f"buyer-{rng.randrange(1, 120)}"
    violation = violation or rng.choice(list(VIOLATIONS))
    scripted = appeal_outcome is not None
    order_id = f"o-{rng.randrange(10**8)}"
    shop.add(
        "complaint.filed",
        {
            "complaint_id": complaint,
            "category": violation,
            "order_id": order_id,
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
    outcome = 1.0 if scripted else rng.random()
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
    remedy = order_remedy(shop, rng, complaint, order_id) if rng.random() < 0.5 else None
    overturned = add_penalty(shop, rng, violation, [complaint], appeal_outcome=appeal_outcome)
    if remedy is not None:
        settle_remedy(shop, rng, remedy, overturned=overturned)


def order_remedy(
    shop: ShopHistory,
    rng: random.Random,
    complaint: str,
    order_id: str,
    *,
    at: datetime | None = None,
    due_days: int = 7,
) -> str:
    """A remedy for the buyer of a substantiated complaint (rule 11), paid by the shop or,
    when the deposit covers it, out of the deposit (rule 10)."""
    remedy = shop.next_id("r")
    kind = rng.choice(REMEDY_KINDS)
    amount = rng.randrange(20, 400) * 100
    ordered_at = at or shop.tick()
    data: dict[str, Any] = {
        "remedy_id": remedy,
        "complaint_id": complaint,
        "kind": kind,
        "amount": amount,
        "due_by": ts(ordered_at + timedelta(days=due_days)),
        "order_id": order_id,
    }
    if rng.random() < 0.3 and amount <= shop.balance:
        data["from_deposit"] = True
    shop.add("remedy.ordered", data, at=ordered_at)
    return remedy


def settle_remedy(shop: ShopHistory, rng: random.Random, remedy: str, *, overturned: bool) -> None:
    """Most remedies are paid, some cancelled (always when the finding was overturned on
    appeal), some left open: overdue by ``AS_OF``."""
    roll = rng.random()
    if overturned or roll < 0.15:
        reason = "the finding was overturned" if overturned else "the buyer kept the item"
        shop.add("remedy.cancelled", {"remedy_id": remedy, "reason": reason})
    elif roll < 0.8:
        shop.add("remedy.completed", {"remedy_id": remedy}, actor="finance-bot")


def add_penalty(
    shop: ShopHistory,
    rng: random.Random,
    violation: str,
    complaints: list[str],
    *,
    ban: bool = False,
    appeal_outcome: str | None = None,
) -> bool:
    """A penalty for ``violation``, perhaps appealed or revoked; whether it was revoked
    (its complaints overturned). A critical one forces an enrolled shop out of 信任购."""
    penalty = shop.next_id("p")
    severity = VIOLATIONS[violation]
    imposed_at = shop.tick()
    if ban:
        measures: list[dict[str, Any]] = [{"type": "permanent_ban"}]
    elif severity == "critical":
        measures = [{"type": "suspend", "until": ts(imposed_at + timedelta(days=30))}]
        if shop.balance > 0:  # rule 10: never below 0
            measures.append({"type": "deduct_deposit", "amount": min(20000, shop.balance)})
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
    if shop.enrolled and severity == "critical":
        shop.add(
            "programme.exited",
            {"reason": f"suspended for {violation}", "forced": True},
            actor="programme-bot",
            at=imposed_at + timedelta(minutes=5),
        )
        shop.enrolled = False
    roll = rng.random()
    if appeal_outcome is None:
        appeal_outcome = (
            "none" if roll < 0.5 else rng.choice(["upheld", "rejected", "withdrawn", "revoked"])
        )
    if appeal_outcome == "none":
        return False
    if appeal_outcome == "revoked":
        shop.add(
            "penalty.revoked",
            {"penalty_id": penalty, "cause": "platform_error"},
            at=imposed_at + timedelta(days=2),
        )
        shop.clock = max(shop.clock, imposed_at + timedelta(days=2))
        return True
    appeal = shop.next_id("a")
    filed_at = max(shop.clock, imposed_at) + timedelta(days=rng.randrange(1, 6))
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
        return True
    if appeal_outcome == "withdrawn":
        shop.add("appeal.withdrawn", {"appeal_id": appeal}, actor="seller-portal", at=decided_at)
    else:
        shop.add(
            "appeal.rejected",
            {"appeal_id": appeal, "reason": "evidence does not refute findings"},
            actor="appeals-board",
            at=decided_at,
        )
    return False


def late_cases(shop: ShopHistory, rng: random.Random, index: int) -> None:
    """The scripted cases of the last weeks before ``AS_OF``: what the work queue lists."""
    scripted = (
        LATE_COMPLAINTS, UNDECIDED_APPEAL, TIER_IGNORED, REMEDIES_OWED, SUSPENDED_NOW,
        RESTRICTED_NOW,
    )  # fmt: skip
    if index not in scripted:
        return
    if shop.clock >= AS_OF - timedelta(days=25):
        raise ValueError(f"{shop.shop_id}'s history runs into the scripted weeks before AS_OF")
    if index == LATE_COMPLAINTS:
        # Unanswered for 20 days (unanswered and unresolved), answered but unresolved for
        # 16, unanswered for 5 (3 days to answer, 15 to resolve), filed yesterday (not due).
        for days, answered in ((20, False), (16, True), (5, False), (1, False)):
            shop.clock = AS_OF - timedelta(days=days)
            complaint = shop.next_id("c")
            shop.add(
                "complaint.filed",
                {"complaint_id": complaint, "category": "misdescription",
                 "order_id": f"o-{rng.randrange(10**8)}"},
                actor="complaint-intake", at=shop.clock,
                personal=person(rng, f"buyer-{rng.randrange(1, 120)}"),
            )  # fmt: skip
            if answered:
                shop.add("complaint.responded", {"complaint_id": complaint},
                         actor="seller-portal", at=shop.clock + timedelta(days=1))  # fmt: skip
    elif index == UNDECIDED_APPEAL:
        # An appeal filed 20 days ago that nobody has decided (15 days to decide).
        shop.clock = AS_OF - timedelta(days=24)
        add_penalty(shop, rng, "fake_reviews", [], appeal_outcome="none")
        penalty = shop.decisions[-1]["data"]["penalty_id"]
        shop.add(
            "appeal.filed",
            {"appeal_id": shop.next_id("a"), "penalty_id": penalty,
             "grounds": "the reviews come from real orders; order list attached"},
            actor="seller-portal", at=AS_OF - timedelta(days=20),
        )  # fmt: skip
    elif index == TIER_IGNORED:
        # 12 points in one penalty that carries only a warning: tier 12 calls for a
        # traffic restriction that nobody has imposed.
        shop.add(
            "penalty.imposed",
            {"penalty_id": shop.next_id("p"), "violation": "fake_transactions",
             "severity": "serious", "points": 12, "measures": [{"type": "warning"}],
             "rule_set": "default-v2"},
            at=AS_OF - timedelta(days=10),
        )  # fmt: skip
    elif index == REMEDIES_OWED:
        # A substantiated complaint and two remedies for it: one overdue, one not yet due.
        shop.clock = AS_OF - timedelta(days=12)
        complaint = shop.next_id("c")
        order_id = f"o-{rng.randrange(10**8)}"
        shop.add(
            "complaint.filed",
            {"complaint_id": complaint, "category": "after_sales_failure", "order_id": order_id},
            actor="complaint-intake", at=shop.clock,
            personal=person(rng, f"buyer-{rng.randrange(1, 120)}"),
        )  # fmt: skip
        shop.add(
            "complaint.substantiated",
            {"complaint_id": complaint, "violation": "after_sales_failure"},
            at=shop.clock + timedelta(days=1),
        )
        order_remedy(shop, rng, complaint, order_id, at=AS_OF - timedelta(days=10))
        order_remedy(shop, rng, complaint, order_id, at=AS_OF - timedelta(days=2), due_days=14)
    elif index in (SUSPENDED_NOW, RESTRICTED_NOW):
        # A penalty of last week whose suspension (or listing restriction) is still in force.
        critical = index == SUSPENDED_NOW
        violation = "counterfeit" if critical else "false_advertising"
        complaint = shop.next_id("c")
        shop.add(
            "complaint.filed",
            {"complaint_id": complaint, "category": violation,
             "order_id": f"o-{rng.randrange(10**8)}"},
            actor="complaint-intake", at=AS_OF - timedelta(days=12),
            personal=person(rng, ERASED_BUYER),
        )  # fmt: skip
        shop.add(
            "complaint.substantiated",
            {"complaint_id": complaint, "violation": violation},
            at=AS_OF - timedelta(days=9),
        )
        imposed_at = AS_OF - timedelta(days=7)
        measures: list[dict[str, Any]] = [
            {"type": "suspend", "until": ts(imposed_at + timedelta(days=30))}
            if critical
            else {"type": "restrict_listing", "until": ts(imposed_at + timedelta(days=14))}
        ]
        shop.add(
            "penalty.imposed",
            {"penalty_id": shop.next_id("p"), "violation": violation,
             "severity": VIOLATIONS[violation], "measures": measures,
             "complaint_ids": [complaint], "rule_set": "default-v2"},
            at=imposed_at,
        )  # fmt: skip


def refused_registration() -> dict[str, Any]:
    """The banned owner (``BANNED_OWNER``, whose shop's permanent ban stands) registering a
    new shop: rule 12 (ban evasion) refuses it."""
    rng = random.Random(EVADING_SHOP)
    shop = ShopHistory(rng, 40)
    shop.add(
        "shop.registered",
        {"owner_subject_id": BANNED_OWNER, "deposit": 50000, "categories": ["electronics"]},
        actor="onboarding-bot",
        at=AS_OF - timedelta(days=3),
    )
    return shop.decisions[0]


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
