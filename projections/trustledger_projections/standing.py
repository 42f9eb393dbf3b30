"""The standing of a shop (docs/DECISIONS.md "Standing of a shop"): a pure function of its facts.

``standing(shop_id, facts, at=T, rules=R)`` folds the shop's facts (in ledger order) that
occurred by T, then judges them at T with the numbers of rule set R (the one in force at T).
No clock is read here: T is always given. Boundaries, as docs/DECISIONS.md says: a decision with
``occurred_at`` ≤ T has happened by T; a measure or verification with ``until`` /
``valid_until`` is in force while T < that time; "in the N days before T" is (T − N days, T].

Where docs/DECISIONS.md is silent (docs/PROJECTIONS.md lists these choices):
- a penalty is *active* while it is not revoked and a measure of it is in force or its
  points still count; otherwise *expired* (or *revoked*);
- a qualification that was approved and then expired, was revoked or passed its
  ``valid_until`` keeps the shop out of trust purchase (the strict reading of "every approved
  qualification still valid at T");
- references to decisions that had not happened by T are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from trustledger.domain.rules import RuleSet
from trustledger_projections.facts import Fact, micros_of_text, timestamp_of_micros

__all__ = ["History", "Penalty", "fold", "judge", "standing"]

# Measures that hold for a while (or for ever); warning and deduct_deposit are one-off.
LASTING_MEASURES: Final = frozenset(
    {
        "delist_product",
        "restrict_traffic",
        "restrict_listing",
        "freeze_funds",
        "suspend",
        "permanent_ban",
    }
)
RESTRICTIONS: Final = frozenset({"restrict_traffic", "restrict_listing", "freeze_funds"})
SERIOUS: Final = frozenset({"serious", "critical"})
STATUSES: Final = (
    "closed",
    "banned",
    "suspended",
    "restricted",
    "pending_verification",
    "active",
)
_MICROSECOND: Final = timedelta(microseconds=1)


@dataclass(slots=True)
class Penalty:
    penalty_id: str
    occurred_at: int
    violation: str
    severity: str
    points: int
    measures: list[dict[str, Any]]
    revoked_at: int | None = None
    cause: str | None = None


@dataclass(slots=True)
class Verification:
    verification_id: str
    kind: str
    status: str
    valid_until: str | None
    approved: bool = False


@dataclass(slots=True)
class History:
    """What had happened to one shop by T (facts folded in ledger order)."""

    shop_id: str
    registered_at: int | None = None
    closed_at: int | None = None
    verifications: dict[str, Verification] = field(default_factory=dict)
    complaints: dict[str, str] = field(default_factory=dict)
    penalties: dict[str, Penalty] = field(default_factory=dict)
    appeals: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # penalty, status, at


def fold(shop_id: str, facts: Iterable[Fact], *, at: int) -> History:
    """Fold the facts that occurred by ``at`` (µs) into a ``History``."""
    history = History(shop_id)
    for fact in facts:
        if fact.occurred_at > at:
            continue
        kind, data = fact.type, fact.data
        if kind == "shop.registered":
            if history.registered_at is None:
                history.registered_at = fact.occurred_at
        elif kind == "shop.closed":
            if history.closed_at is None:
                history.closed_at = fact.occurred_at
        elif kind == "verification.submitted":
            history.verifications[data["verification_id"]] = Verification(
                data["verification_id"], data["kind"], "submitted", data.get("valid_until")
            )
        elif kind.startswith("verification."):
            verification = history.verifications.get(data["verification_id"])
            if verification is None:
                continue
            verification.status = kind.removeprefix("verification.")
            if kind == "verification.approved":
                verification.approved = True
                if "valid_until" in data:
                    verification.valid_until = data["valid_until"]
        elif kind == "complaint.filed":
            history.complaints[data["complaint_id"]] = "open"
        elif kind.startswith("complaint."):
            complaint_id = data["complaint_id"]
            if complaint_id in history.complaints and kind != "complaint.responded":
                history.complaints[complaint_id] = kind.removeprefix("complaint.")
        elif kind == "penalty.imposed":
            history.penalties[data["penalty_id"]] = Penalty(
                data["penalty_id"],
                fact.occurred_at,
                data["violation"],
                data["severity"],
                int(data.get("points", 0)),
                list(data["measures"]),
            )
        elif kind == "penalty.revoked":
            _revoke(history, data["penalty_id"], fact.occurred_at, data["cause"])
        elif kind == "appeal.filed":
            history.appeals[data["appeal_id"]] = (data["penalty_id"], "open", fact.occurred_at)
        elif kind.startswith("appeal."):
            appeal = history.appeals.get(data["appeal_id"])
            if appeal is None:
                continue
            status = kind.removeprefix("appeal.")
            history.appeals[data["appeal_id"]] = (appeal[0], status, fact.occurred_at)
            if status == "upheld":  # docs/DECISIONS.md: an upheld appeal also revokes the penalty
                _revoke(history, appeal[0], fact.occurred_at, "appeal_upheld")
    return history


def _revoke(history: History, penalty_id: str, at: int, cause: str) -> None:
    penalty = history.penalties.get(penalty_id)
    if penalty is not None and penalty.revoked_at is None:
        penalty.revoked_at = at
        penalty.cause = cause


def _in_force(until: str | None, at: int) -> bool:
    return until is None or at < micros_of_text(until)


def judge(history: History, *, at: int, rules: RuleSet) -> dict[str, Any]:
    """The standing (a JSON object, members named as in docs/DECISIONS.md) of a folded
    history at T."""
    points_window = rules.points_window // _MICROSECOND
    eligibility_window = rules.eligibility_penalty_window // _MICROSECOND

    active_measures: list[dict[str, Any]] = []
    points = 0
    serious_recently = False
    penalty_counts = {"active": 0, "expired": 0, "revoked": 0}
    for penalty in history.penalties.values():
        if penalty.revoked_at is not None:
            penalty_counts["revoked"] += 1
            continue
        counts_points = at - points_window < penalty.occurred_at
        if counts_points:
            points += penalty.points
        if penalty.severity in SERIOUS and at - eligibility_window < penalty.occurred_at:
            serious_recently = True
        in_force = False
        for measure in penalty.measures:
            kind = measure["type"]
            if kind in LASTING_MEASURES and _in_force(measure.get("until"), at):
                in_force = True
                active_measures.append({"penalty_id": penalty.penalty_id, **measure})
        penalty_counts["active" if in_force or counts_points else "expired"] += 1
    active_measures.sort(
        key=lambda m: (m["penalty_id"], m["type"], m.get("product_id", ""), m.get("until", ""))
    )
    active_kinds = {m["type"] for m in active_measures}

    verifications = []
    real_name_valid = False
    qualifications_valid = True
    for verification in sorted(history.verifications.values(), key=lambda v: v.verification_id):
        valid = verification.status == "approved" and _in_force(verification.valid_until, at)
        if valid and verification.kind == "real_name":
            real_name_valid = True
        if verification.kind == "qualification" and verification.approved and not valid:
            qualifications_valid = False
        verifications.append(
            {
                "verification_id": verification.verification_id,
                "kind": verification.kind,
                "status": verification.status,
                "valid_until": verification.valid_until,
                "valid": valid,
            }
        )

    if history.closed_at is not None:
        status = "closed"
    elif "permanent_ban" in active_kinds:
        status = "banned"
    elif "suspend" in active_kinds:
        status = "suspended"
    elif active_kinds & RESTRICTIONS:
        status = "restricted"
    elif not real_name_valid:
        status = "pending_verification"
    else:
        status = "active"

    tier = max((t for t in rules.points_tiers if points >= t), default=0)
    eligible = (
        status == "active"
        and qualifications_valid
        and not serious_recently
        and points < rules.eligibility_max_points
    )
    complaints = dict.fromkeys(("open", "substantiated", "dismissed", "withdrawn"), 0)
    for complaint_status in history.complaints.values():
        complaints[complaint_status] += 1
    appeals = dict.fromkeys(("open", "upheld", "rejected", "withdrawn"), 0)
    for _penalty_id, appeal_status, _at in history.appeals.values():
        appeals[appeal_status] += 1
    delisted = sorted({m["product_id"] for m in active_measures if m["type"] == "delist_product"})
    return {
        "shop_id": history.shop_id,
        "status": status,
        "points": points,
        "points_tier": tier,
        "trust_purchase_eligible": eligible,
        "active_measures": active_measures,
        "delisted_products": delisted,
        "complaints": complaints,
        "penalties": penalty_counts,
        "appeals": appeals,
        "verifications": verifications,
        "registered_at": (
            timestamp_of_micros(history.registered_at)
            if history.registered_at is not None
            else None
        ),
        "closed_at": (
            timestamp_of_micros(history.closed_at) if history.closed_at is not None else None
        ),
        "rule_set": rules.version,
    }


def standing(
    shop_id: str, facts: Iterable[Fact], *, at: int, rules: RuleSet
) -> dict[str, Any] | None:
    """The standing of a shop at ``at`` (µs since the epoch) under ``rules``.

    None when the shop was not registered by then (it has no standing yet).
    """
    history = fold(shop_id, facts, at=at)
    if history.registered_at is None:
        return None
    return judge(history, at=at, rules=rules)
