"""The rule state of one shop: docs/DECISIONS.md's "Rules checked on append", 1 to 6.

``ShopState.check`` raises ``RuleViolation`` when a well-formed decision may not be appended to
the shop's history; ``ShopState.apply`` folds an accepted decision into the state. The state is
small and made of immutable records in plain dicts, so ``copy`` is a handful of dict copies (the
application checks a batch all-or-nothing on a copy). Rules 7 (keys) and 8 (batches) are
checked by the application.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from trustledger.domain.decision import Decision
from trustledger.domain.rules import RuleSet
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InternalError, RuleViolation

__all__ = ["ShopState"]

# Life-cycle states.
_SUBMITTED, _APPROVED = "submitted", "approved"
_FILED, _RESPONDED = "filed", "responded"
_OPEN, _UPHELD = "open", "upheld"
_OPEN_COMPLAINT = frozenset({_FILED, _RESPONDED})

# What may follow shop.closed (rule 1): appeals and their outcomes.
_AFTER_CLOSE = frozenset(
    {"appeal.filed", "appeal.upheld", "appeal.rejected", "appeal.withdrawn", "penalty.revoked"}
)


@dataclass(frozen=True, slots=True)
class _Penalty:
    occurred_at: datetime
    permanent_ban: bool
    appeals: tuple[str, ...] = ()  # every appeal filed against it, in order
    open_appeal: str | None = None
    revoked_by: str | None = None  # how it was revoked, for messages; None while in force


@dataclass(frozen=True, slots=True)
class _Appeal:
    penalty_id: str
    status: str


def _ts(value: datetime) -> str:
    return format_timestamp(value)


def _duration(delta: timedelta) -> str:
    """``timedelta`` as people write it: "7 days", "5 minutes", "1 day 2 hours"."""
    seconds = int(delta.total_seconds())
    parts: list[str] = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


class ShopState:
    """The rule state of ONE shop; pure (no I/O, no clock) and mutable through ``apply``."""

    __slots__ = (
        "_appeals",
        "_complaints",
        "_penalties",
        "_times",
        "_verifications",
        "closed",
        "registered",
        "registered_at",
        "shop_id",
    )

    def __init__(self, shop_id: str) -> None:
        self.shop_id = shop_id
        self.registered = False
        self.closed = False
        self._verifications: dict[str, str] = {}  # id -> status
        self._complaints: dict[str, str] = {}  # id -> status
        self._penalties: dict[str, _Penalty] = {}
        self._appeals: dict[str, _Appeal] = {}
        self.registered_at: datetime | None = None
        # "verification v-1", "complaint c-1", ... -> (first, latest) occurred_at of the
        # decisions about it: a decision may not be dated before what it acts on.
        self._times: dict[str, tuple[datetime, datetime]] = {}

    def copy(self) -> ShopState:
        """An independent copy; the records are immutable, so shallow dict copies suffice."""
        other = ShopState.__new__(ShopState)
        other.shop_id = self.shop_id
        other.registered = self.registered
        other.closed = self.closed
        other._verifications = self._verifications.copy()
        other._complaints = self._complaints.copy()
        other._penalties = self._penalties.copy()
        other._appeals = self._appeals.copy()
        other.registered_at = self.registered_at
        other._times = self._times.copy()
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShopState):
            return NotImplemented
        return (
            self.shop_id == other.shop_id
            and self.registered == other.registered
            and self.closed == other.closed
            and self._verifications == other._verifications
            and self._complaints == other._complaints
            and self._penalties == other._penalties
            and self._appeals == other._appeals
            and self.registered_at == other.registered_at
            and self._times == other._times
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"ShopState({self.shop_id!r}, registered={self.registered}, closed={self.closed}, "
            f"verifications={len(self._verifications)}, complaints={len(self._complaints)}, "
            f"penalties={len(self._penalties)}, appeals={len(self._appeals)})"
        )

    # ------------------------------------------------------------------- check

    def check(self, decision: Decision, *, rules: RuleSet, recorded_at: datetime) -> None:
        """Raise ``RuleViolation`` unless ``decision`` may be appended now.

        ``recorded_at`` is the time of recording (given by the caller; no clock here). Raises
        ``InternalError`` when the decision is about another shop (a caller bug).
        """
        if decision.shop_id != self.shop_id:
            raise InternalError(
                f"decision {decision.decision_id} is about shop {decision.shop_id}, "
                f"checked against shop {self.shop_id}"
            )
        latest = recorded_at + rules.max_future_skew
        if decision.occurred_at > latest:
            raise RuleViolation(
                f"occurred_at {_ts(decision.occurred_at)} is more than "
                f"{_duration(rules.max_future_skew)} after the time of recording "
                f"{_ts(recorded_at)} (rule set {rules.version})"
            )
        # Rule 1: a registered shop, and after closure only appeals and their outcomes.
        kind = decision.type
        if kind == "shop.registered":
            if self.registered:
                raise RuleViolation(f"shop {self.shop_id} is already registered")
            return
        if not self.registered:
            raise RuleViolation(
                f"shop {self.shop_id} is not registered; {kind} needs a prior shop.registered"
            )
        if self.closed and kind not in _AFTER_CLOSE:
            raise RuleViolation(
                f"shop {self.shop_id} is closed; only appeals, their outcomes and penalty "
                f"revocations may follow, not {kind}"
            )
        rule_check = _CHECKS.get(kind)
        if rule_check is None:
            raise InternalError(f"decision {decision.decision_id} has unknown type {kind!r}")
        rule_check(self, decision, rules)
        assert self.registered_at is not None
        if decision.occurred_at < self.registered_at:
            raise RuleViolation(
                f"occurred_at {_ts(decision.occurred_at)} is before shop {self.shop_id}'s "
                f"registration at {_ts(self.registered_at)}: a decision cannot precede what it "
                "acts on"
            )

    def _check_closed(self, decision: Decision, rules: RuleSet) -> None:
        pass  # rule 1 (above) is the whole check: a second close is rejected there

    def _check_verification_submitted(self, decision: Decision, rules: RuleSet) -> None:
        data = decision.data
        verification_id = data["verification_id"]
        if verification_id in self._verifications:
            raise RuleViolation(
                f"verification {verification_id} already exists in shop {self.shop_id}"
            )
        self._check_after(decision, "data.valid_until", data.get("valid_until"))

    def _verification(self, decision: Decision, expected: str, action: str) -> None:
        verification_id = decision.data["verification_id"]
        status = self._verifications.get(verification_id)
        if status is None:
            raise RuleViolation(
                f"verification {verification_id} does not exist in shop {self.shop_id}"
            )
        if status != expected:
            raise RuleViolation(
                f"verification {verification_id} is {status}; it can be {action} only while "
                f"{expected}"
            )
        self._not_before(decision, f"verification {verification_id}")

    def _check_verification_approved(self, decision: Decision, rules: RuleSet) -> None:
        self._verification(decision, _SUBMITTED, "approved")
        self._check_after(decision, "data.valid_until", decision.data.get("valid_until"))

    def _check_verification_rejected(self, decision: Decision, rules: RuleSet) -> None:
        self._verification(decision, _SUBMITTED, "rejected")

    def _check_verification_expired(self, decision: Decision, rules: RuleSet) -> None:
        self._verification(decision, _APPROVED, "expired")

    def _check_verification_revoked(self, decision: Decision, rules: RuleSet) -> None:
        self._verification(decision, _APPROVED, "revoked")

    def _check_complaint_filed(self, decision: Decision, rules: RuleSet) -> None:
        complaint_id = decision.data["complaint_id"]
        if complaint_id in self._complaints:
            raise RuleViolation(f"complaint {complaint_id} already exists in shop {self.shop_id}")

    def _check_complaint_open(self, decision: Decision, rules: RuleSet) -> None:
        complaint_id = decision.data["complaint_id"]
        status = self._complaints.get(complaint_id)
        if status is None:
            raise RuleViolation(f"complaint {complaint_id} does not exist in shop {self.shop_id}")
        if status not in _OPEN_COMPLAINT:
            action = decision.type.removeprefix("complaint.")
            raise RuleViolation(
                f"complaint {complaint_id} is already {status}; it can be {action} only while "
                "open (a complaint is resolved once)"
            )
        self._not_before(decision, f"complaint {complaint_id}")

    def _check_penalty_imposed(self, decision: Decision, rules: RuleSet) -> None:
        data = decision.data
        penalty_id = data["penalty_id"]
        if penalty_id in self._penalties:
            raise RuleViolation(f"penalty {penalty_id} already exists in shop {self.shop_id}")
        for complaint_id in data.get("complaint_ids", ()):
            if complaint_id not in self._complaints:
                raise RuleViolation(
                    f"penalty {penalty_id} cites complaint {complaint_id}, which does not exist "
                    f"in shop {self.shop_id}"
                )
            self._not_before(decision, f"complaint {complaint_id}", filing=True)
        for index, measure in enumerate(data["measures"]):
            self._check_after(decision, f"data.measures[{index}].until", measure.get("until"))

    def _check_penalty_revoked(self, decision: Decision, rules: RuleSet) -> None:
        data = decision.data
        penalty_id = data["penalty_id"]
        cause = data["cause"]
        penalty = self._penalties.get(penalty_id)
        if penalty is None:
            raise RuleViolation(f"penalty {penalty_id} does not exist in shop {self.shop_id}")
        appeal_id = data.get("appeal_id")
        if appeal_id is not None:
            appeal = self._appeals.get(appeal_id)
            if appeal is None:
                raise RuleViolation(f"appeal {appeal_id} does not exist in shop {self.shop_id}")
            if appeal.penalty_id != penalty_id:
                raise RuleViolation(
                    f"appeal {appeal_id} targets penalty {appeal.penalty_id}, not {penalty_id}"
                )
        if penalty.revoked_by is not None:
            raise RuleViolation(
                f"penalty {penalty_id} was already revoked ({penalty.revoked_by}); "
                "a penalty is revoked once"
            )
        self._not_before(decision, f"penalty {penalty_id}")
        if cause == "appeal_upheld":
            # An upheld appeal revokes its penalty itself (appeal.upheld), so a revocation with
            # this cause can only repeat one; reaching here means no appeal was upheld.
            if appeal_id is None:
                raise RuleViolation(
                    f"penalty {penalty_id}: cause appeal_upheld needs data.appeal_id naming an "
                    "upheld appeal; record appeal.upheld, which revokes the penalty"
                )
            raise RuleViolation(
                f"penalty {penalty_id}: appeal {appeal_id} is {self._appeals[appeal_id].status}, "
                "not upheld; record appeal.upheld, which revokes the penalty"
            )
        # Rule 6: a permanent ban ends only by an upheld appeal or a regulator's order.
        if penalty.permanent_ban and cause != "regulator_order":
            raise RuleViolation(
                f"penalty {penalty_id} carries a permanent_ban, which ends only by an upheld "
                f"appeal or a regulator_order, not {cause}"
            )

    def _check_appeal_filed(self, decision: Decision, rules: RuleSet) -> None:
        data = decision.data
        appeal_id = data["appeal_id"]
        penalty_id = data["penalty_id"]
        if appeal_id in self._appeals:
            raise RuleViolation(f"appeal {appeal_id} already exists in shop {self.shop_id}")
        penalty = self._penalties.get(penalty_id)
        if penalty is None:
            raise RuleViolation(
                f"appeal {appeal_id} targets penalty {penalty_id}, which does not exist in shop "
                f"{self.shop_id}"
            )
        # Rule 5, in docs/DECISIONS.md's order.
        if penalty.revoked_by is not None:
            raise RuleViolation(
                f"appeal {appeal_id} targets penalty {penalty_id}, which is already revoked "
                f"({penalty.revoked_by})"
            )
        window_end = penalty.occurred_at + rules.appeal_window
        if not penalty.occurred_at <= decision.occurred_at <= window_end:
            raise RuleViolation(
                f"appeal {appeal_id} at {_ts(decision.occurred_at)} is outside the appeal window "
                f"of penalty {penalty_id} ({_ts(penalty.occurred_at)} to {_ts(window_end)}, "
                f"{_duration(rules.appeal_window)}, rule set {rules.version})"
            )
        if penalty.open_appeal is not None:
            raise RuleViolation(
                f"appeal {appeal_id} targets penalty {penalty_id}, which already has an open "
                f"appeal ({penalty.open_appeal})"
            )
        if len(penalty.appeals) >= rules.max_appeals_per_penalty:
            raise RuleViolation(
                f"appeal {appeal_id} targets penalty {penalty_id}, which already had "
                f"{len(penalty.appeals)} appeals ({', '.join(penalty.appeals)}); at most "
                f"{rules.max_appeals_per_penalty} are allowed (rule set {rules.version})"
            )

    def _open_appeal(self, decision: Decision) -> _Appeal:
        appeal_id = decision.data["appeal_id"]
        appeal = self._appeals.get(appeal_id)
        if appeal is None:
            raise RuleViolation(f"appeal {appeal_id} does not exist in shop {self.shop_id}")
        if appeal.status != _OPEN:
            action = decision.type.removeprefix("appeal.")
            raise RuleViolation(
                f"appeal {appeal_id} is already {appeal.status}; it can be {action} only while open"
            )
        self._not_before(decision, f"appeal {appeal_id}")
        return appeal

    def _check_appeal_upheld(self, decision: Decision, rules: RuleSet) -> None:
        appeal = self._open_appeal(decision)
        penalty = self._penalties[appeal.penalty_id]
        if penalty.revoked_by is not None:
            raise RuleViolation(
                f"appeal {decision.data['appeal_id']} cannot be upheld: its penalty "
                f"{appeal.penalty_id} was already revoked ({penalty.revoked_by})"
            )

    def _check_appeal_closed(self, decision: Decision, rules: RuleSet) -> None:
        self._open_appeal(decision)

    def _not_before(self, decision: Decision, thing: str, *, filing: bool = False) -> None:
        """Not dated before the latest decision about ``thing`` (or, with ``filing``, the
        first): an approval before its submission would rewrite what the standing shows."""
        first, latest = self._times[thing]
        since = first if filing else latest
        if decision.occurred_at < since:
            what = "was filed" if filing else "was last decided"
            raise RuleViolation(
                f"occurred_at {_ts(decision.occurred_at)} is before {thing} {what} at "
                f"{_ts(since)}: a decision cannot precede what it acts on"
            )

    def _check_after(self, decision: Decision, path: str, until: Any) -> None:
        """Rule 4: an ``until`` / ``valid_until`` lies strictly after ``occurred_at``."""
        if until is None:
            return
        if parse_timestamp(until, field=path) <= decision.occurred_at:
            raise RuleViolation(
                f"{path} {until} must lie after occurred_at {_ts(decision.occurred_at)}"
            )

    # ------------------------------------------------------------------- apply

    def apply(self, decision: Decision) -> None:
        """Fold ``decision`` into the state; assumes ``check`` accepted it."""
        data = decision.data
        kind = decision.type
        for thing in _things(kind, data):
            first = self._times.get(thing, (decision.occurred_at,))[0]
            self._times[thing] = (first, decision.occurred_at)
        if kind == "shop.registered":
            self.registered = True
            self.registered_at = decision.occurred_at
        elif kind == "shop.closed":
            self.closed = True
        elif kind.startswith("verification."):
            self._verifications[data["verification_id"]] = kind.removeprefix("verification.")
        elif kind.startswith("complaint."):
            self._complaints[data["complaint_id"]] = kind.removeprefix("complaint.")
        elif kind == "penalty.imposed":
            self._penalties[data["penalty_id"]] = _Penalty(
                occurred_at=decision.occurred_at,
                permanent_ban=any(m["type"] == "permanent_ban" for m in data["measures"]),
            )
        elif kind == "penalty.revoked":
            penalty_id = data["penalty_id"]
            penalty = self._penalties.get(penalty_id)
            if penalty is not None:
                self._penalties[penalty_id] = replace(
                    penalty, revoked_by=f"penalty.revoked, cause {data['cause']}"
                )
        elif kind == "appeal.filed":
            appeal_id, penalty_id = data["appeal_id"], data["penalty_id"]
            self._appeals[appeal_id] = _Appeal(penalty_id=penalty_id, status=_OPEN)
            penalty = self._penalties.get(penalty_id)
            if penalty is not None:
                self._penalties[penalty_id] = replace(
                    penalty, appeals=(*penalty.appeals, appeal_id), open_appeal=appeal_id
                )
        elif kind.startswith("appeal."):
            self._close_appeal(data["appeal_id"], kind.removeprefix("appeal."))

    def _close_appeal(self, appeal_id: str, status: str) -> None:
        appeal = self._appeals.get(appeal_id)
        if appeal is None:
            return
        self._appeals[appeal_id] = _Appeal(penalty_id=appeal.penalty_id, status=status)
        penalty = self._penalties.get(appeal.penalty_id)
        if penalty is None:
            return
        revoked_by = penalty.revoked_by
        if status == _UPHELD and revoked_by is None:
            # docs/DECISIONS.md: appeal.upheld also revokes the penalty, in the same transaction.
            revoked_by = f"appeal {appeal_id} upheld"
        open_appeal = None if penalty.open_appeal == appeal_id else penalty.open_appeal
        self._penalties[appeal.penalty_id] = replace(
            penalty, open_appeal=open_appeal, revoked_by=revoked_by
        )


def _things(kind: str, data: Mapping[str, Any]) -> list[str]:
    # What a decision acts on, in ShopState._times's keys.
    family = kind.split(".", 1)[0]
    if family in ("verification", "complaint", "penalty"):
        return [f"{family} {data[family + '_id']}"]
    if family == "appeal":
        return [f"appeal {data['appeal_id']}"]
    return []


_Check = Callable[[ShopState, Decision, RuleSet], None]

# One check per type except shop.registered (handled in check() with rule 1).
_CHECKS: dict[str, _Check] = {
    "shop.closed": ShopState._check_closed,
    "verification.submitted": ShopState._check_verification_submitted,
    "verification.approved": ShopState._check_verification_approved,
    "verification.rejected": ShopState._check_verification_rejected,
    "verification.expired": ShopState._check_verification_expired,
    "verification.revoked": ShopState._check_verification_revoked,
    "complaint.filed": ShopState._check_complaint_filed,
    "complaint.responded": ShopState._check_complaint_open,
    "complaint.substantiated": ShopState._check_complaint_open,
    "complaint.dismissed": ShopState._check_complaint_open,
    "complaint.withdrawn": ShopState._check_complaint_open,
    "penalty.imposed": ShopState._check_penalty_imposed,
    "penalty.revoked": ShopState._check_penalty_revoked,
    "appeal.filed": ShopState._check_appeal_filed,
    "appeal.upheld": ShopState._check_appeal_upheld,
    "appeal.rejected": ShopState._check_appeal_closed,
    "appeal.withdrawn": ShopState._check_appeal_closed,
}
