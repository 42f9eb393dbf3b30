"""The standing of a shop (docs/DECISIONS.md "Standing of a shop"): a pure
function of its facts.

``standing(shop_id, facts, at=T, rules=book)`` folds the shop's facts (in ledger order) that
occurred by T into a ``History``, then judges it at T with the rule set in force at T. The
fold takes the whole rule book because a penalty without ``points`` counts the points of the
rule set in force at *its* ``occurred_at``; everything else (windows, tiers, consequences,
deadlines, eligibility) is judged with the rule set in force at T. No clock is read here: T is
always given. Boundaries, as docs/DECISIONS.md says: a decision with ``occurred_at`` ≤ T has
happened by T; a measure or verification with ``until`` / ``valid_until`` is in force while T < that
time; "in the N days before T" is (T − N days, T]; a deadline that falls exactly at T is
overdue.

``action_items`` lists what a shop is asked to do at T (the work queue's rows); the standing's
``overdue``, ``remedies.overdue``, ``remedies.owed`` and ``required_actions`` members are
computed from the same items, so the two always agree.

Where docs/DECISIONS.md is silent (docs/PROJECTIONS.md lists these choices with their reasons):
- a penalty is *active* while it is not revoked and a measure of it is in force or its
  points still count; otherwise *expired* (or *revoked*);
- a qualification that was approved and then expired, was revoked or passed its
  ``valid_until`` keeps the shop out of trust purchase (the strict reading of "every approved
  qualification still valid at T"), reported as ``verification_missing``;
- references to decisions that had not happened by T are ignored;
- a closed shop is asked for nothing but appeal decisions (rule 1 lets nothing else follow
  ``shop.closed``), so its complaints, remedies and tiers yield no action items.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from trustledger.domain.rules import TIER_MEASURES, RuleBook, RuleSet
from trustledger.domain.timefmt import EPOCH, micros, micros_of_text, timestamp_of_micros

__all__ = [
    "ACTION_KINDS",
    "INELIGIBLE_REASONS",
    "STANDING_FIELDS",
    "STATUSES",
    "ActionItem",
    "Fact",
    "History",
    "Penalty",
    "action_items",
    "fold",
    "judge",
    "shop_action_items",
    "standing",
]

#: The data fields of each decision type that the standing reads (nothing else is needed, so
#: the standings view stores only these, with each decision's ``decision_id``).
STANDING_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "shop.registered": ("deposit",),
    "shop.closed": (),
    "verification.submitted": ("verification_id", "kind", "valid_until"),
    "verification.approved": ("verification_id", "valid_until"),
    "verification.rejected": ("verification_id",),
    "verification.expired": ("verification_id",),
    "verification.revoked": ("verification_id",),
    "complaint.filed": ("complaint_id",),
    "complaint.responded": ("complaint_id",),
    "complaint.substantiated": ("complaint_id",),
    "complaint.dismissed": ("complaint_id",),
    "complaint.withdrawn": ("complaint_id",),
    "penalty.imposed": (
        "penalty_id",
        "violation",
        "severity",
        "points",
        "measures",
        "complaint_ids",
    ),
    "penalty.revoked": ("penalty_id", "cause"),
    "appeal.filed": ("appeal_id", "penalty_id"),
    "appeal.upheld": ("appeal_id",),
    "appeal.rejected": ("appeal_id",),
    "appeal.withdrawn": ("appeal_id",),
    "deposit.paid": ("amount",),
    "deposit.refunded": ("amount",),
    "remedy.ordered": (
        "remedy_id",
        "complaint_id",
        "kind",
        "amount",
        "due_by",
        "from_deposit",
    ),
    "remedy.completed": ("remedy_id",),
    "remedy.cancelled": ("remedy_id",),
    "programme.enrolled": (),
    "programme.exited": ("forced",),
}

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
#: docs/DECISIONS.md's codes, in its order.
INELIGIBLE_REASONS: Final = (
    "status",
    "verification_missing",
    "recent_penalty",
    "points",
    "remedy_overdue",
    "deposit_below_minimum",
)
#: Revocation causes that overturn the findings a penalty cites (docs/DECISIONS.md "What
#: a revocation undoes"); a ``regulator_order`` leaves them.
OVERTURNING_CAUSES: Final = frozenset({"appeal_upheld", "platform_error"})

ActionKind = Literal[
    "required_action",
    "complaint_unanswered",
    "complaint_unresolved",
    "appeal_undecided",
    "remedy_overdue",
    "remedy_owed",
]
ACTION_KINDS: Final[tuple[ActionKind, ...]] = (
    "required_action",
    "complaint_unanswered",
    "complaint_unresolved",
    "appeal_undecided",
    "remedy_overdue",
    "remedy_owed",
)
_MICROSECOND: Final = timedelta(microseconds=1)
_DAY_US: Final = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class Fact:
    """One decision of a shop as the standing reads it: ledger order, when it occurred (µs
    since the epoch), its type, its data (at least ``STANDING_FIELDS`` of its type) and its
    ``decision_id`` (the work queue names the decisions each item comes from)."""

    notification_id: int
    occurred_at: int
    type: str
    data: dict[str, Any]
    decision_id: str = ""

    @classmethod
    def of_document(cls, document: Mapping[str, Any], notification_id: int) -> Fact | None:
        """The fact of a normalised decision document (``Decision.to_document()``), or None
        for a document that is no shop decision."""
        keep = STANDING_FIELDS.get(document.get("type"))  # type: ignore[arg-type]
        if keep is None:
            return None
        data = document["data"]
        return cls(
            notification_id,
            micros(datetime.fromisoformat(document["occurred_at"])),
            document["type"],
            {name: data[name] for name in keep if name in data},
            document["decision_id"],
        )


@dataclass(slots=True)
class Penalty:
    penalty_id: str
    occurred_at: int
    violation: str
    severity: str
    #: The penalty's own ``points``, else those of the rule set in force at ``occurred_at``.
    points: int
    measures: list[dict[str, Any]]
    complaint_ids: tuple[str, ...] = ()
    decision_id: str = ""
    notification_id: int = 0
    revoked_at: int | None = None
    cause: str | None = None
    revoked_by: str | None = None  # the decision that revoked it (penalty.revoked, appeal.upheld)

    @property
    def deducted(self) -> int:
        """Fen its ``deduct_deposit`` measures take from the deposit."""
        return sum(int(m["amount"]) for m in self.measures if m["type"] == "deduct_deposit")


@dataclass(slots=True)
class Verification:
    verification_id: str
    kind: str
    status: str
    valid_until: str | None
    approved: bool = False


@dataclass(slots=True)
class Complaint:
    complaint_id: str
    filed_at: int
    #: open (filed, maybe responded), substantiated, dismissed or withdrawn.
    status: str = "open"
    responded: bool = False
    resolved_at: int | None = None
    decision_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Appeal:
    appeal_id: str
    penalty_id: str
    filed_at: int
    status: str = "open"  # open, upheld, rejected, withdrawn
    decided_at: int | None = None
    decision_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Remedy:
    remedy_id: str
    complaint_id: str
    kind: str
    amount: int
    due_by: int
    from_deposit: bool
    ordered_at: int
    decision_id: str
    status: str = "open"  # open, completed, cancelled

    @property
    def paid_out(self) -> int:
        """Fen it takes from the deposit: the ordered amount, from the order on, whatever
        becomes of the remedy (rule 10: "counted when ordered"; the append rules judge the
        balance the same way)."""
        return self.amount if self.from_deposit else 0


@dataclass(slots=True)
class History:
    """What had happened to one shop by T (facts folded in ledger order)."""

    shop_id: str
    registered_at: int | None = None
    closed_at: int | None = None
    registration_deposit: int = 0
    deposits_paid: int = 0
    deposits_refunded: int = 0
    verifications: dict[str, Verification] = field(default_factory=dict)
    complaints: dict[str, Complaint] = field(default_factory=dict)
    penalties: dict[str, Penalty] = field(default_factory=dict)
    appeals: dict[str, Appeal] = field(default_factory=dict)
    remedies: dict[str, Remedy] = field(default_factory=dict)
    enrolled: bool = False
    enrolled_at: int | None = None
    last_forced_exit_at: int | None = None


@dataclass(frozen=True, slots=True)
class ActionItem:
    """One thing a shop is asked to do at T (a row of the work queue).

    ``due_at`` is the deadline (µs since the epoch; ``due_at_text`` its timestamp): for a
    required action, the moment its tier was reached. ``detail`` names what it is about
    (``complaint_id``, ``appeal_id`` with ``penalty_id``, ``remedy_id`` with ``amount`` owed
    in fen, or ``tier``, ``measure`` and ``suspend_days``); ``decision_ids`` are the
    decisions it comes from, in ledger order.
    """

    shop_id: str
    kind: ActionKind
    due_at: int
    detail: Mapping[str, Any]
    decision_ids: tuple[str, ...]

    @property
    def due_at_text(self) -> str:
        return timestamp_of_micros(self.due_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "shop_id": self.shop_id,
            "kind": self.kind,
            "due_at": self.due_at_text,
            "detail": dict(self.detail),
            "decision_ids": list(self.decision_ids),
        }


class _PointsBook:
    """The rule set in force at any µs instant, found by bisection (a rule book in µs)."""

    __slots__ = ("_default", "_sets", "_starts")

    def __init__(self, book: RuleBook) -> None:
        self._default = book.default
        # Later publications win ties (RuleBook.in_force): a stable sort keeps ledger order.
        ordered = sorted(book.published, key=lambda item: item.effective_from)
        self._starts = [micros(item.effective_from) for item in ordered]
        self._sets = [item.rules for item in ordered]

    def in_force(self, at: int) -> RuleSet:
        index = bisect.bisect_right(self._starts, at)
        return self._sets[index - 1] if index else self._default


def rule_set_at(rules: RuleSet | RuleBook, at: int) -> RuleSet:
    """The rule set in force at ``at`` (µs): the only one when ``rules`` is a RuleSet."""
    if isinstance(rules, RuleSet):
        return rules
    return rules.in_force(EPOCH + timedelta(microseconds=at))


def fold(shop_id: str, facts: Iterable[Fact], *, at: int, rules: RuleSet | RuleBook) -> History:
    """Fold the facts that occurred by ``at`` (µs) into a ``History``.

    ``rules`` gives the points of a penalty without its own: those of the rule set in force at
    the penalty's ``occurred_at``.
    """
    points_book: _PointsBook | None = None  # built when a penalty without points needs it
    history = History(shop_id)
    for fact in facts:
        if fact.occurred_at > at:
            continue
        kind, data = fact.type, fact.data
        if kind == "shop.registered":
            if history.registered_at is None:
                history.registered_at = fact.occurred_at
                history.registration_deposit = int(data.get("deposit", 0))
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
            history.complaints[data["complaint_id"]] = Complaint(
                data["complaint_id"], fact.occurred_at, decision_ids=[fact.decision_id]
            )
        elif kind.startswith("complaint."):
            complaint = history.complaints.get(data["complaint_id"])
            if complaint is None:
                continue
            complaint.decision_ids.append(fact.decision_id)
            if kind == "complaint.responded":
                complaint.responded = True
            elif complaint.resolved_at is None:
                complaint.status = kind.removeprefix("complaint.")
                complaint.resolved_at = fact.occurred_at
        elif kind == "penalty.imposed":
            points = data.get("points")
            if points is None:
                if isinstance(rules, RuleSet):
                    rule_set = rules
                else:
                    points_book = points_book or _PointsBook(rules)
                    rule_set = points_book.in_force(fact.occurred_at)
                points = rule_set.points_for(data["violation"], data["severity"])
            history.penalties[data["penalty_id"]] = Penalty(
                data["penalty_id"],
                fact.occurred_at,
                data["violation"],
                data["severity"],
                int(points),
                list(data["measures"]),
                tuple(data.get("complaint_ids", ())),
                fact.decision_id,
                fact.notification_id,
            )
        elif kind == "penalty.revoked":
            _revoke(history, data["penalty_id"], fact, data["cause"])
        elif kind == "appeal.filed":
            history.appeals[data["appeal_id"]] = Appeal(
                data["appeal_id"],
                data["penalty_id"],
                fact.occurred_at,
                decision_ids=[fact.decision_id],
            )
        elif kind.startswith("appeal."):
            appeal = history.appeals.get(data["appeal_id"])
            if appeal is None:
                continue
            appeal.status = kind.removeprefix("appeal.")
            appeal.decided_at = fact.occurred_at
            appeal.decision_ids.append(fact.decision_id)
            if appeal.status == "upheld":  # DECISIONS.md: an upheld appeal also revokes the penalty
                _revoke(history, appeal.penalty_id, fact, "appeal_upheld")
        elif kind == "deposit.paid":
            history.deposits_paid += int(data["amount"])
        elif kind == "deposit.refunded":
            history.deposits_refunded += int(data["amount"])
        elif kind == "remedy.ordered":
            history.remedies[data["remedy_id"]] = Remedy(
                data["remedy_id"],
                data["complaint_id"],
                data["kind"],
                int(data["amount"]),
                micros_of_text(data["due_by"]),
                bool(data.get("from_deposit", False)),
                fact.occurred_at,
                fact.decision_id,
            )
        elif kind in ("remedy.completed", "remedy.cancelled"):
            remedy = history.remedies.get(data["remedy_id"])
            if remedy is None or remedy.status != "open":
                continue
            remedy.status = kind.removeprefix("remedy.")
        elif kind == "programme.enrolled":
            history.enrolled = True
            history.enrolled_at = fact.occurred_at
        elif kind == "programme.exited":
            history.enrolled = False
            if data.get("forced", False):
                history.last_forced_exit_at = fact.occurred_at
    return history


def _revoke(history: History, penalty_id: str, fact: Fact, cause: str) -> None:
    penalty = history.penalties.get(penalty_id)
    if penalty is not None and penalty.revoked_at is None:
        penalty.revoked_at = fact.occurred_at
        penalty.cause = cause
        penalty.revoked_by = fact.decision_id


def _in_force(until: str | None, at: int) -> bool:
    return until is None or at < micros_of_text(until)


def overturned_complaints(history: History) -> set[str]:
    """Complaints whose finding a revocation overturned (docs/DECISIONS.md "What a
    revocation undoes"): substantiated by the time a penalty citing them was revoked for
    ``appeal_upheld`` or ``platform_error``."""
    overturned: set[str] = set()
    for penalty in history.penalties.values():
        if penalty.revoked_at is None or penalty.cause not in OVERTURNING_CAUSES:
            continue
        for complaint_id in penalty.complaint_ids:
            complaint = history.complaints.get(complaint_id)
            if (
                complaint is not None
                and complaint.status == "substantiated"
                and complaint.resolved_at is not None
                and complaint.resolved_at <= penalty.revoked_at
            ):
                overturned.add(complaint_id)
    return overturned


def _carries(penalty: Penalty, measure: str, days: int | None) -> bool:
    """Whether a penalty carries a tier's consequence: the measure or a stronger one
    (``TIER_MEASURES`` order); for a suspension, one at least ``days`` long."""
    wanted = TIER_MEASURES.index(measure)
    for given in penalty.measures:
        kind = given["type"]
        if kind not in TIER_MEASURES:
            continue
        rank = TIER_MEASURES.index(kind)
        if rank > wanted:
            return True
        if rank == wanted:
            if kind != "suspend" or days is None:
                return True
            if micros_of_text(given["until"]) - penalty.occurred_at >= days * _DAY_US:
                return True
    return False


def _window_penalties(history: History, *, at: int, rules: RuleSet) -> list[Penalty]:
    """Unrevoked penalties imposed in the points window before ``at``, in time order."""
    start = at - rules.points_window // _MICROSECOND
    penalties = [
        p for p in history.penalties.values() if p.revoked_at is None and start < p.occurred_at
    ]
    penalties.sort(key=lambda p: (p.occurred_at, p.notification_id))
    return penalties


def required_action_items(history: History, *, at: int, rules: RuleSet) -> list[ActionItem]:
    """One item per tier reached in the points window whose consequence no unrevoked penalty
    imposed at or after it was reached carries.

    A tier is reached at the ``occurred_at`` of the penalty whose points first bring the
    running total of the window's unrevoked penalties (in time order) to the tier or above.
    """
    if not rules.tier_consequences:
        return []
    window = _window_penalties(history, at=at, rules=rules)
    items: list[ActionItem] = []
    total = 0
    reached: dict[int, int] = {}  # tier -> index in window of the penalty that reached it
    for index, penalty in enumerate(window):
        total += penalty.points
        for tier in rules.points_tiers:
            if total >= tier and tier not in reached:
                reached[tier] = index
    for tier, index in sorted(reached.items()):
        consequence = rules.consequence_of(tier)
        if consequence is None:
            continue
        measure, days = consequence
        reached_at = window[index].occurred_at
        if any(
            _carries(p, measure, days)
            for p in history.penalties.values()
            if p.revoked_at is None and p.occurred_at >= reached_at
        ):
            continue
        items.append(
            ActionItem(
                history.shop_id,
                "required_action",
                reached_at,
                {"tier": tier, "measure": measure, "suspend_days": days},
                tuple(p.decision_id for p in window[: index + 1]),
            )
        )
    return items


def action_items(history: History, *, at: int, rules: RuleSet) -> list[ActionItem]:
    """What the shop is asked to do at ``at`` (µs) under ``rules`` (the rule set in force at
    ``at``), ordered by (due_at, kind, detail). A deadline that falls exactly at ``at`` is
    overdue. A closed shop is asked only for appeal decisions."""
    items: list[ActionItem] = []
    shop_id = history.shop_id
    open_shop = history.closed_at is None
    if open_shop:
        items += required_action_items(history, at=at, rules=rules)
        response = rules.complaint_response_deadline // _MICROSECOND
        resolution = rules.complaint_resolution_deadline // _MICROSECOND
        for complaint in history.complaints.values():
            if complaint.status != "open":
                continue
            detail = {"complaint_id": complaint.complaint_id}
            ids = tuple(complaint.decision_ids)
            if not complaint.responded and complaint.filed_at + response <= at:
                due = complaint.filed_at + response
                items.append(ActionItem(shop_id, "complaint_unanswered", due, detail, ids))
            if complaint.filed_at + resolution <= at:
                due = complaint.filed_at + resolution
                items.append(ActionItem(shop_id, "complaint_unresolved", due, detail, ids))
        for remedy in history.remedies.values():
            if remedy.status != "open":
                continue
            kind: ActionKind = "remedy_overdue" if remedy.due_by <= at else "remedy_owed"
            remedy_detail = {
                "remedy_id": remedy.remedy_id,
                "complaint_id": remedy.complaint_id,
                "amount": remedy.amount,
            }
            items.append(
                ActionItem(shop_id, kind, remedy.due_by, remedy_detail, (remedy.decision_id,))
            )
    decision = rules.appeal_decision_deadline // _MICROSECOND
    for appeal in history.appeals.values():
        if appeal.status == "open" and appeal.filed_at + decision <= at:
            items.append(
                ActionItem(
                    shop_id,
                    "appeal_undecided",
                    appeal.filed_at + decision,
                    {"appeal_id": appeal.appeal_id, "penalty_id": appeal.penalty_id},
                    tuple(appeal.decision_ids),
                )
            )
    items.sort(key=lambda item: (item.due_at, ACTION_KINDS.index(item.kind), repr(item.detail)))
    return items


def judge(history: History, *, at: int, rules: RuleSet) -> dict[str, Any]:
    """The standing (a JSON object with docs/DECISIONS.md's member names) of a folded history at T,
    under ``rules``, the rule set in force at T."""
    return _judge(history, at=at, rules=rules, items=action_items(history, at=at, rules=rules))


def _judge(history: History, *, at: int, rules: RuleSet, items: list[ActionItem]) -> dict[str, Any]:
    points_window = rules.points_window // _MICROSECOND
    eligibility_window = rules.eligibility_penalty_window // _MICROSECOND

    active_measures: list[dict[str, Any]] = []
    points = 0
    warnings = 0
    serious_recently = False
    penalty_counts = {"active": 0, "expired": 0, "revoked": 0}
    deducted = restored = 0
    for penalty in history.penalties.values():
        deduction = penalty.deducted
        deducted += deduction
        if penalty.revoked_at is not None:
            restored += deduction
            penalty_counts["revoked"] += 1
            continue
        counts_points = at - points_window < penalty.occurred_at
        if counts_points:
            points += penalty.points
            warnings += sum(1 for m in penalty.measures if m["type"] == "warning")
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
    valid_kinds: set[str] = set()
    qualifications_valid = True
    for verification in sorted(history.verifications.values(), key=lambda v: v.verification_id):
        valid = verification.status == "approved" and _in_force(verification.valid_until, at)
        if valid:
            valid_kinds.add(verification.kind)
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
    elif "real_name" not in valid_kinds:
        status = "pending_verification"
    else:
        status = "active"

    remedies = {"open": 0, "overdue": 0, "completed": 0, "cancelled": 0, "owed": 0}
    paid_out = 0
    for remedy in history.remedies.values():
        remedies[remedy.status] += 1
        paid_out += remedy.paid_out
    overdue = {
        "complaints_unanswered": 0,
        "complaints_unresolved": 0,
        "appeals_undecided": 0,
        "remedies": 0,
    }
    required_actions = []
    for item in items:
        if item.kind == "required_action":
            required_actions.append(
                {
                    "tier": item.detail["tier"],
                    "reached_at": item.due_at_text,
                    "measure": item.detail["measure"],
                    "suspend_days": item.detail["suspend_days"],
                }
            )
        elif item.kind == "complaint_unanswered":
            overdue["complaints_unanswered"] += 1
        elif item.kind == "complaint_unresolved":
            overdue["complaints_unresolved"] += 1
        elif item.kind == "appeal_undecided":
            overdue["appeals_undecided"] += 1
        else:
            remedies["owed"] += item.detail["amount"]
            if item.kind == "remedy_overdue":
                overdue["remedies"] += 1
                remedies["overdue"] += 1
    required_actions.sort(key=lambda action: action["tier"])

    paid = history.registration_deposit + history.deposits_paid
    refunded = history.deposits_refunded
    deposit = {
        "balance": paid - refunded - deducted + restored - paid_out,
        "paid": paid,
        "deducted": deducted,
        "restored": restored,
        "refunded": refunded,
        "paid_out": paid_out,
    }

    missing_kind = any(kind not in valid_kinds for kind in rules.required_verification_kinds)
    failed = {
        "status": status != "active",
        "verification_missing": missing_kind or not qualifications_valid,
        "recent_penalty": serious_recently,
        "points": points >= rules.eligibility_max_points,
        "remedy_overdue": overdue["remedies"] > 0,
        "deposit_below_minimum": deposit["balance"] < rules.deposit_minimum,
    }
    ineligible_reasons = [reason for reason in INELIGIBLE_REASONS if failed[reason]]
    eligible = not ineligible_reasons

    tier = max((t for t in rules.points_tiers if points >= t), default=0)
    overturned = overturned_complaints(history)
    complaints = dict.fromkeys(("open", "substantiated", "dismissed", "withdrawn"), 0)
    for complaint in history.complaints.values():
        if complaint.complaint_id not in overturned:
            complaints[complaint.status] += 1
    complaints["overturned"] = len(overturned)
    appeals = dict.fromkeys(("open", "upheld", "rejected", "withdrawn"), 0)
    for appeal in history.appeals.values():
        appeals[appeal.status] += 1
    delisted = sorted({m["product_id"] for m in active_measures if m["type"] == "delist_product"})
    return {
        "shop_id": history.shop_id,
        "status": status,
        "points": points,
        "points_tier": tier,
        "trust_purchase_eligible": eligible,
        "ineligible_reasons": ineligible_reasons,
        "active_measures": active_measures,
        "delisted_products": delisted,
        "warnings": warnings,
        "required_actions": required_actions,
        "complaints": complaints,
        "penalties": penalty_counts,
        "appeals": appeals,
        "remedies": remedies,
        "overdue": overdue,
        "deposit": deposit,
        "programme": {"enrolled": history.enrolled, "badge": history.enrolled and eligible},
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
    shop_id: str, facts: Iterable[Fact], *, at: int, rules: RuleSet | RuleBook
) -> dict[str, Any] | None:
    """The standing of a shop at ``at`` (µs since the epoch).

    ``rules`` is the ledger's rule book (the standing is judged under the rule set in force at
    ``at``; a penalty without points counts those in force at its ``occurred_at``) or one
    rule set that applies at every time. None when the shop was not registered by then (it
    has no standing yet).
    """
    history = fold(shop_id, facts, at=at, rules=rules)
    if history.registered_at is None:
        return None
    return judge(history, at=at, rules=rule_set_at(rules, at))


def shop_action_items(
    shop_id: str, facts: Iterable[Fact], *, at: int, rules: RuleSet | RuleBook
) -> list[ActionItem]:
    """The action items of a shop at ``at`` (µs); empty when it was not registered by then."""
    history = fold(shop_id, facts, at=at, rules=rules)
    if history.registered_at is None:
        return []
    return action_items(history, at=at, rules=rule_set_at(rules, at))
