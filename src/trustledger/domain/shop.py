"""The rule state of one shop: docs/DECISIONS.md's "Rules checked on append", 1 to 6 and 9 to 15.

``ShopState.check`` raises ``RuleViolation`` when a well-formed decision may not be appended to
the shop's history; ``ShopState.apply`` folds an accepted decision into the state. The state is
small and made of immutable records in plain dicts, so ``copy`` is a handful of dict copies (the
application checks a batch all-or-nothing on a copy). Rules 7 (keys) and 8 (batches) are
checked by the application, and so is what a rule needs from beyond this shop: rule 12 (ban
evasion) is ``check_owner_not_banned`` over the states of the owner's other shops, and rule
14's eligibility is the shop's standing, which the caller computes (``check``'s
``eligibility``). Rule 15: nothing here reads a clock; every time compared is an
``occurred_at`` (or a time a decision names) of the ledger's own decisions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Generic, NamedTuple, TypeVar

import orjson

from trustledger.domain.decision import Decision
from trustledger.domain.rules import RuleSet
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InternalError, RuleViolation

__all__ = [
    "SNAPSHOT_FORMAT",
    "Eligibility",
    "ShopState",
    "UnusableSnapshot",
    "check_owner_not_banned",
]

#: The format of ``ShopState.to_bytes``. Raise it with any change to what a ShopState holds or
#: how it is encoded: snapshots of another format are then ignored (the shop is replayed from
#: its events), never misread.
SNAPSHOT_FORMAT: Final = 1


class UnusableSnapshot(ValueError):
    """A snapshot that ``ShopState.from_bytes`` cannot use: of another format, or corrupt.

    Raised by ``from_bytes``, or by the first read of a corrupt section of a state it made
    (sections are decoded on first use): ``shop_id`` then names the shop, which the caller
    should replay from its events instead."""

    def __init__(self, message: str, shop_id: str | None = None) -> None:
        super().__init__(message)
        self.shop_id = shop_id


# Life-cycle states.
_SUBMITTED, _APPROVED = "submitted", "approved"
_FILED, _RESPONDED, _SUBSTANTIATED = "filed", "responded", "substantiated"
_OPEN, _UPHELD = "open", "upheld"
_OPEN_COMPLAINT = frozenset({_FILED, _RESPONDED})
_ORDERED = "ordered"

# What may follow shop.closed (rule 1): appeals and their outcomes.
_AFTER_CLOSE = frozenset(
    {"appeal.filed", "appeal.upheld", "appeal.rejected", "appeal.withdrawn", "penalty.revoked"}
)
# Revocation causes that overturn the findings a penalty cites (docs/DECISIONS.md "What a revocation
# undoes"); a regulator's order leaves them.
_OVERTURNING_CAUSES = frozenset({"appeal_upheld", "platform_error"})

#: Rule 14's eligibility of a shop at a time: the codes of ``ineligible_reasons`` (standing),
#: empty when eligible. Given by the caller, who has the shop's whole history.
Eligibility = Callable[[Decision], Sequence[str]]


# The records are NamedTuples, not frozen dataclasses: a snapshot decode builds every one of
# a shop's records, and a tuple is made about four times faster (frozen dataclasses set each
# field through object.__setattr__).
class _Penalty(NamedTuple):
    occurred_at: datetime
    permanent_ban: bool
    deducted: int = 0  # fen of its deduct_deposit measures
    complaint_ids: tuple[str, ...] = ()
    appeals: tuple[str, ...] = ()  # every appeal filed against it, in order
    open_appeal: str | None = None
    revoked_by: str | None = None  # how it was revoked, for messages; None while in force
    revoked_at: datetime | None = None


class _Appeal(NamedTuple):
    penalty_id: str
    status: str


class _Finding(NamedTuple):
    """A substantiated complaint: what it found, since when, and from when it no longer
    counts (the earliest revocation, for appeal_upheld or platform_error, of a penalty
    citing it)."""

    violation: str
    substantiated_at: datetime
    overturned_at: datetime | None = None
    overturned_by: str | None = None  # the revoked penalty, for messages


class _Remedy(NamedTuple):
    status: str  # ordered, completed or cancelled
    amount: int


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


# What a section's slot holds while the section is still only in the state's snapshot bytes
# (``ShopState._snapshot``): one shared marker, not the section's parsed JSON. A process
# keeps thousands of states warm (app.shopstates), most of them read from a snapshot, of
# which a decision reads one or two sections. Kept parsed, the unread ones were a dozen
# lists a shop, which Python's cyclic garbage collector walked at every full collection:
# 55 µs a decision on a 1M ledger (docs/BENCHMARKS.md §8). Bytes, and a bare object(), are
# not walked; a section's first read parses the snapshot again (a few µs).
_UNREAD: Final = object()
# A snapshot's members before its sections (format, shop id, five fields, forced exit).
_SECTIONS_FROM: Final = 8


_V = TypeVar("_V")


class _Section(Generic[_V]):
    """A member of ShopState that a state read from a snapshot keeps as the snapshot's JSON
    until it is first read. A decision reads one or two of a shop's sections (a complaint
    outcome its complaints, a penalty revocation its penalties and findings, ...), and
    decoding every record of every section was most of the cost of an append's cache miss
    on a large ledger. A section never read is written back by ``to_bytes`` as it was read.
    The value lives in the slot named ``name + "_"``."""

    def __init__(self, decode: Callable[[Any], _V], encode: Callable[[_V], Any]) -> None:
        self.decode = decode
        self.encode = encode
        self.index = -1  # the member of the snapshot it is, less _SECTIONS_FROM (_SECTIONS)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = owner.__dict__[name + "_"]

    def __get__(self, state: ShopState, owner: type | None = None) -> _V:
        value = self.slot.__get__(state, owner)
        if value is _UNREAD:
            try:
                value = self.decode(self.encoded(state))
            except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                raise UnusableSnapshot(
                    f"malformed snapshot of shop {state.shop_id} ({self.name}): {exc}",
                    shop_id=state.shop_id,
                ) from exc
            self.slot.__set__(state, value)
        result: _V = value
        return result

    def __set__(self, state: ShopState, value: _V) -> None:
        self.slot.__set__(state, value)

    def encoded(self, state: ShopState, members: list[Any] | None = None) -> Any:
        """The section as the state's snapshot holds it (orjson's reading), from the
        snapshot's ``members`` when the caller parsed them already."""
        if members is None:
            members = orjson.loads(state._snapshot or b"")
        return members[_SECTIONS_FROM + self.index]

    def stored(self, state: ShopState) -> Any:
        """The slot's content as it is: the value, or ``_UNREAD``."""
        return self.slot.__get__(state, type(state))

    def to_json(self, state: ShopState, members: list[Any] | None) -> Any:
        """The section as ``to_bytes`` writes it (``members``: the snapshot's, parsed,
        when a section is unread)."""
        value = self.stored(state)
        return self.encoded(state, members) if value is _UNREAD else self.encode(value)


def _str_map_of(value: Any) -> dict[str, str]:
    return _str_map(value)


def _str_map_json(value: dict[str, str]) -> dict[str, str]:
    return value


def _findings_of(value: Any) -> dict[str, _Finding]:
    # JSON object keys are always text: only values need checking.
    return {
        k: _Finding(_typed(v, str), _time(at), _time_or_none(over_at), _opt_str(over_by))
        for k, (v, at, over_at, over_by) in value.items()
    }


def _findings_json(findings: dict[str, _Finding]) -> dict[str, list[Any]]:
    return {k: list(f) for k, f in findings.items()}


def _penalties_of(value: Any) -> dict[str, _Penalty]:
    return {
        k: _Penalty(
            _time(at),
            _typed(ban, bool),
            _typed(deducted, int),
            tuple(_typed(c, str) for c in complaint_ids),
            tuple(_typed(a, str) for a in penalty_appeals),
            _opt_str(open_appeal),
            _opt_str(revoked_by),
            _time_or_none(revoked_at),
        )
        for k, (
            at,
            ban,
            deducted,
            complaint_ids,
            penalty_appeals,
            open_appeal,
            revoked_by,
            revoked_at,
        ) in value.items()
    }


def _penalties_json(penalties: dict[str, _Penalty]) -> dict[str, list[Any]]:
    return {k: list(p) for k, p in penalties.items()}


def _appeals_of(value: Any) -> dict[str, _Appeal]:
    return {k: _Appeal(_typed(p, str), _typed(st, str)) for k, (p, st) in value.items()}


def _remedies_of(value: Any) -> dict[str, _Remedy]:
    return {k: _Remedy(_typed(st, str), _typed(amount, int)) for k, (st, amount) in value.items()}


def _records_json(records: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: list(r) for k, r in records.items()}


def _deposit_of(value: Any) -> tuple[tuple[datetime, int], ...]:
    return tuple((_time(at), _typed(fen, int)) for at, fen in value)


def _deposit_json(deposit: tuple[tuple[datetime, int], ...]) -> Any:
    return deposit


class ShopState:
    """The rule state of ONE shop; pure (no I/O, no clock) and mutable through ``apply``."""

    __slots__ = (
        "_appeals_",
        "_complaints_",
        "_deposit_",
        "_findings_",
        "_forced_exit_at",
        "_penalties_",
        "_remedies_",
        "_snapshot",
        "_times",
        "_verifications_",
        "closed",
        "enrolled",
        "owner_subject_id",
        "registered",
        "registered_at",
        "shop_id",
    )

    _verifications = _Section[dict[str, str]](_str_map_of, _str_map_json)  # id -> status
    _complaints = _Section[dict[str, str]](_str_map_of, _str_map_json)  # id -> status
    _findings = _Section[dict[str, _Finding]](_findings_of, _findings_json)
    _penalties = _Section[dict[str, _Penalty]](_penalties_of, _penalties_json)
    _appeals = _Section[dict[str, _Appeal]](_appeals_of, _records_json)
    _remedies = _Section[dict[str, _Remedy]](_remedies_of, _records_json)
    # Every change of the deposit balance (rule 10) as (occurred_at, fen), in time order:
    # decisions need not arrive in time order, and a debit must leave the balance at or
    # above 0 at its own time and at every later one.
    _deposit = _Section[tuple[tuple[datetime, int], ...]](_deposit_of, _deposit_json)

    def __init__(self, shop_id: str) -> None:
        self.shop_id = shop_id
        self.registered = False
        self.closed = False
        self.owner_subject_id: str | None = None
        for section in _SECTIONS:  # the findings: substantiated complaints
            section.slot.__set__(self, () if section is _DEPOSIT else {})
        self.enrolled = False
        self._forced_exit_at: datetime | None = None
        self.registered_at: datetime | None = None
        # The snapshot bytes this state was read from, while a section is unread (_UNREAD).
        self._snapshot: bytes | None = None
        # "verification v-1", "complaint c-1", "programme", ... -> the latest occurred_at of
        # the decisions about it: a decision may not be dated before what it acts on. A
        # state read from a snapshot holds the times as the snapshot's text until one is
        # read (``_time_of``): a decision reads one of them.
        self._times: dict[str, datetime | str] = {}

    def copy(self) -> ShopState:
        """An independent copy; the records are immutable, so shallow dict copies suffice."""
        other = ShopState.__new__(ShopState)
        other.shop_id = self.shop_id
        other.registered = self.registered
        other.closed = self.closed
        other.owner_subject_id = self.owner_subject_id
        for section in _SECTIONS:
            value = section.stored(self)
            # _UNREAD and the snapshot's bytes are never changed (a read replaces the
            # marker), nor is a tuple.
            section.slot.__set__(
                other, value if value is _UNREAD or type(value) is tuple else value.copy()
            )
        other._snapshot = self._snapshot
        other.enrolled = self.enrolled
        other._forced_exit_at = self._forced_exit_at
        other.registered_at = self.registered_at
        other._times = self._times.copy()
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShopState):
            return NotImplemented
        plain = ("shop_id", "registered", "closed", "owner_subject_id", "enrolled",
                 "registered_at", "_forced_exit_at")  # fmt: skip
        return (
            all(getattr(self, name) == getattr(other, name) for name in plain)
            and all(section.__get__(self) == section.__get__(other) for section in _SECTIONS)
            and self._all_times() == other._all_times()
        )

    def _all_times(self) -> dict[str, datetime]:
        return {thing: self._time_of(thing) for thing in self._times}

    def _time_of(self, thing: str) -> datetime:
        """``_times[thing]`` as a time (read from the snapshot's text on first use)."""
        value = self._times[thing]
        if type(value) is str:
            try:
                value = self._times[thing] = _time(value)
            except (TypeError, ValueError) as exc:
                raise UnusableSnapshot(
                    f"malformed snapshot of shop {self.shop_id} (time of {thing}): {exc}",
                    shop_id=self.shop_id,
                ) from exc
        assert isinstance(value, datetime)
        return value

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"ShopState({self.shop_id!r}, registered={self.registered}, closed={self.closed}, "
            f"verifications={len(self._verifications)}, complaints={len(self._complaints)}, "
            f"penalties={len(self._penalties)}, appeals={len(self._appeals)}, "
            f"remedies={len(self._remedies)}, enrolled={self.enrolled})"
        )

    # ------------------------------------------------------------------- snapshots

    def to_bytes(self) -> bytes:
        """The state as compact JSON (format ``SNAPSHOT_FORMAT``), for ``from_bytes``: times
        as orjson writes datetimes (RFC 3339 with the offset, microseconds when not zero;
        ``datetime.fromisoformat`` reads them back exactly, four times faster than building
        them from integers), records as arrays of their fields in order."""
        unread = any(section.stored(self) is _UNREAD for section in _SECTIONS)
        members = orjson.loads(self._snapshot or b"") if unread else None
        return orjson.dumps(
            [
                SNAPSHOT_FORMAT,
                self.shop_id,
                self.registered,
                self.closed,
                self.owner_subject_id,
                self.enrolled,
                self.registered_at,
                self._forced_exit_at,
                *(section.to_json(self, members) for section in _SECTIONS),
                self._times,
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ShopState:
        """The state ``to_bytes`` encoded. Raises UnusableSnapshot when ``data`` is of
        another ``SNAPSHOT_FORMAT`` or is not such an encoding."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UnusableSnapshot(f"not JSON: {exc}") from exc
        if not isinstance(value, list) or not value or value[0] != SNAPSHOT_FORMAT:
            head = value[0] if isinstance(value, list) and value else value
            raise UnusableSnapshot(f"not a snapshot of format {SNAPSHOT_FORMAT}: {head!r:.40}")
        try:
            (
                _,
                shop_id,
                registered,
                closed,
                owner,
                enrolled,
                registered_at,
                forced_exit_at,
                *sections,
                times,
            ) = value
            if len(sections) != len(_SECTIONS):
                raise ValueError(f"{len(value)} members, not {len(_SECTIONS) + 9}")
            state = cls.__new__(cls)
            state.shop_id = _typed(shop_id, str)
            state.registered = _typed(registered, bool)
            state.closed = _typed(closed, bool)
            state.owner_subject_id = _opt_str(owner)
            state.enrolled = _typed(enrolled, bool)
            state.registered_at = _time_or_none(registered_at)
            state._forced_exit_at = _time_or_none(forced_exit_at)
            # The sections and the times are decoded, and checked, where first read
            # (_Section, _time_of); only their containers are checked here. The sections
            # parsed here are dropped: a first read parses the snapshot again (_UNREAD).
            for section, encoded in zip(_SECTIONS, sections, strict=True):
                expected = list if section is _DEPOSIT else dict  # a JSON array or object
                if type(encoded) is not expected:
                    raise TypeError(f"a {section.name} section expected, not {encoded!r:.40}")
                section.slot.__set__(state, _UNREAD)
            state._snapshot = bytes(data)
            if type(times) is not dict:
                raise TypeError(f"a map of times expected, not {times!r:.40}")
            state._times = times
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise UnusableSnapshot(f"malformed snapshot: {exc}") from exc
        return state

    # ------------------------------------------------------------------- queries

    def deposit_balance(self, at: datetime) -> int:
        """The deposit balance (fen) at ``at`` (rule 10's formula, docs/DECISIONS.md v2)."""
        return sum(delta for when, delta in self._deposit if when <= at)

    def permanent_ban_at(self, at: datetime) -> str | None:
        """The id of a penalty whose permanent ban is active at ``at`` (imposed by then and
        not revoked by then), or None."""
        for penalty_id, penalty in self._penalties.items():
            if (
                penalty.permanent_ban
                and penalty.occurred_at <= at
                and (penalty.revoked_at is None or penalty.revoked_at > at)
            ):
                return penalty_id
        return None

    # ------------------------------------------------------------------- check

    def check(
        self,
        decision: Decision,
        *,
        rules: RuleSet,
        recorded_at: datetime,
        eligibility: Eligibility | None = None,
    ) -> None:
        """Raise ``RuleViolation`` unless ``decision`` may be appended now.

        ``recorded_at`` is the time of recording (given by the caller; no clock here), used
        only by the future-skew rule. ``eligibility`` gives rule 14 the shop's ineligible
        reasons at a ``programme.enrolled``'s time; it is called for that type only. Raises
        ``InternalError`` when the decision is about another shop, or a programme.enrolled
        comes without ``eligibility`` (caller bugs).
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
        if kind == "programme.enrolled":
            self._check_programme_enrolled(decision, rules, eligibility)
        else:
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
            self._check_finding(
                decision, complaint_id, f"penalty {penalty_id}", data["violation"], rule=9
            )
        for index, measure in enumerate(data["measures"]):
            self._check_after(decision, f"data.measures[{index}].until", measure.get("until"))
        deducted = _deducted(data)
        if deducted:
            self._check_debit(decision, deducted, f"penalty {penalty_id} deducts {deducted} fen")

    def _check_finding(
        self,
        decision: Decision,
        complaint_id: str,
        what: str,
        violation: str | None,
        *,
        rule: int,
    ) -> None:
        """Rules 9 and 11: ``complaint_id`` is a complaint of this shop, substantiated by
        ``decision``'s time and not overturned by then (with ``violation``, the finding)."""
        at = decision.occurred_at
        status = self._complaints.get(complaint_id)
        if status is None:
            raise RuleViolation(
                f"{what} cites complaint {complaint_id}, which does not exist in shop "
                f"{self.shop_id}"
            )
        finding = self._findings.get(complaint_id)
        if finding is None:
            raise RuleViolation(
                f"{what} cites complaint {complaint_id}, which is {status}, not substantiated "
                f"(rule {rule})"
            )
        if finding.substantiated_at > at:
            raise RuleViolation(
                f"{what} at {_ts(at)} cites complaint {complaint_id}, which was substantiated "
                f"only at {_ts(finding.substantiated_at)} (rule {rule})"
            )
        if finding.overturned_at is not None and finding.overturned_at <= at:
            raise RuleViolation(
                f"{what} at {_ts(at)} cites complaint {complaint_id}, overturned at "
                f"{_ts(finding.overturned_at)} by the revocation of penalty "
                f"{finding.overturned_by} (rule {rule})"
            )
        if violation is not None and finding.violation != violation:
            raise RuleViolation(
                f"{what} is for {violation} but cites complaint {complaint_id}, substantiated "
                f"as {finding.violation} (rule {rule})"
            )

    def _check_debit(self, decision: Decision, amount: int, what: str) -> None:
        """Rule 10: taking ``amount`` fen at ``decision``'s time leaves the deposit balance
        at or above 0 then and at every later change recorded so far."""
        at = decision.occurred_at
        balance = 0
        index = 0
        changes = self._deposit
        while index < len(changes) and changes[index][0] <= at:
            balance += changes[index][1]
            index += 1
        if balance < amount:
            raise RuleViolation(
                f"{what} from shop {self.shop_id}'s deposit at {_ts(at)}, whose balance is "
                f"{balance} fen then: the balance may not go below 0 (rule 10)"
            )
        for when, delta in changes[index:]:
            balance += delta
            if balance < amount:
                raise RuleViolation(
                    f"{what} from shop {self.shop_id}'s deposit at {_ts(at)}: the balance "
                    f"would be {balance - amount} fen at {_ts(when)}, after a later decision; "
                    "it may not go below 0 (rule 10)"
                )

    def _check_deposit_paid(self, decision: Decision, rules: RuleSet) -> None:
        pass  # any positive amount (the parser) may be paid in

    def _check_deposit_refunded(self, decision: Decision, rules: RuleSet) -> None:
        amount = decision.data["amount"]
        self._check_debit(decision, amount, f"deposit.refunded of {amount} fen")

    def _check_remedy_ordered(self, decision: Decision, rules: RuleSet) -> None:
        data = decision.data
        remedy_id = data["remedy_id"]
        if remedy_id in self._remedies:
            raise RuleViolation(f"remedy {remedy_id} already exists in shop {self.shop_id}")
        self._check_finding(decision, data["complaint_id"], f"remedy {remedy_id}", None, rule=11)
        due_by = data["due_by"]
        if parse_timestamp(due_by, field="data.due_by") <= decision.occurred_at:
            raise RuleViolation(
                f"remedy {remedy_id}: data.due_by {due_by} must lie after occurred_at "
                f"{_ts(decision.occurred_at)} (rule 11)"
            )
        if data.get("from_deposit", False) and data["amount"]:
            self._check_debit(
                decision,
                data["amount"],
                f"remedy {remedy_id} pays {data['amount']} fen",
            )

    def _remedy(self, decision: Decision) -> _Remedy:
        remedy_id = decision.data["remedy_id"]
        remedy = self._remedies.get(remedy_id)
        if remedy is None:
            raise RuleViolation(f"remedy {remedy_id} does not exist in shop {self.shop_id}")
        if remedy.status != _ORDERED:
            action = decision.type.removeprefix("remedy.")
            raise RuleViolation(
                f"remedy {remedy_id} is already {remedy.status}; it can be {action} only while "
                "ordered (a remedy is completed or cancelled once, rule 11)"
            )
        self._not_before(decision, f"remedy {remedy_id}")
        return remedy

    def _check_remedy_completed(self, decision: Decision, rules: RuleSet) -> None:
        remedy = self._remedy(decision)
        paid = decision.data.get("amount_paid", remedy.amount)
        if paid > remedy.amount:
            # More than ordered is another remedy: recorded as one, it is owed, due and
            # (from the deposit) counted like the first.
            raise RuleViolation(
                f"remedy {decision.data['remedy_id']}: amount_paid {paid} fen is more than the "
                f"{remedy.amount} fen ordered; order the difference as another remedy"
            )

    def _check_remedy_cancelled(self, decision: Decision, rules: RuleSet) -> None:
        self._remedy(decision)

    def _check_programme_enrolled(
        self, decision: Decision, rules: RuleSet, eligibility: Eligibility | None
    ) -> None:
        """Rule 14: not enrolled, a forced exit's wait over, and eligible then."""
        at = decision.occurred_at
        if self.enrolled:
            raise RuleViolation(
                f"shop {self.shop_id} is already enrolled in the programme (rule 14)"
            )
        self._not_before(decision, "programme")
        if self._forced_exit_at is not None:
            allowed = self._forced_exit_at + rules.reenrolment_wait
            if at < allowed:
                raise RuleViolation(
                    f"shop {self.shop_id} was made to exit the programme at "
                    f"{_ts(self._forced_exit_at)}; it may enrol again from {_ts(allowed)} "
                    f"({_duration(rules.reenrolment_wait)}, rule set {rules.version}), not at "
                    f"{_ts(at)} (rule 14)"
                )
        if eligibility is None:
            raise InternalError(
                f"decision {decision.decision_id}: programme.enrolled is checked without the "
                "shop's eligibility"
            )
        reasons = eligibility(decision)
        if reasons:
            raise RuleViolation(
                f"shop {self.shop_id} is not eligible for the programme at {_ts(at)} "
                f"({', '.join(reasons)}; rule set {rules.version}), so it cannot enrol (rule 14)"
            )

    def _check_programme_exited(self, decision: Decision, rules: RuleSet) -> None:
        if not self.enrolled:
            raise RuleViolation(
                f"shop {self.shop_id} is not enrolled in the programme, so it cannot exit (rule 14)"
            )
        self._not_before(decision, "programme")

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
        if not data.get("grounds", "").strip() and not data.get("evidence"):
            # Rule 13 is an append rule: appeals recorded before it stay valid.
            raise RuleViolation(
                f"appeal {appeal_id} gives neither grounds nor evidence; an appeal needs "
                "non-empty data.grounds or at least one data.evidence digest (rule 13)"
            )
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

    def _not_before(self, decision: Decision, thing: str) -> None:
        """Not dated before the latest decision about ``thing``: an approval before its
        submission would rewrite what the standing shows."""
        latest = self._time_of(thing) if thing in self._times else None
        if latest is not None and decision.occurred_at < latest:
            raise RuleViolation(
                f"occurred_at {_ts(decision.occurred_at)} is before {thing} was last decided "
                f"at {_ts(latest)}: a decision cannot precede what it acts on"
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
        at = decision.occurred_at
        for thing in _things(kind, data):
            self._times[thing] = at
        if kind == "shop.registered":
            self.registered = True
            self.registered_at = at
            self.owner_subject_id = data["owner_subject_id"]
            if data.get("deposit"):
                self._change_deposit(at, data["deposit"])
        elif kind == "shop.closed":
            self.closed = True
        elif kind.startswith("verification."):
            self._verifications[data["verification_id"]] = kind.removeprefix("verification.")
        elif kind.startswith("complaint."):
            complaint_id = data["complaint_id"]
            self._complaints[complaint_id] = kind.removeprefix("complaint.")
            if kind == "complaint.substantiated":
                self._findings[complaint_id] = _Finding(data["violation"], at)
        elif kind == "penalty.imposed":
            deducted = _deducted(data)
            self._penalties[data["penalty_id"]] = _Penalty(
                occurred_at=at,
                permanent_ban=any(m["type"] == "permanent_ban" for m in data["measures"]),
                deducted=deducted,
                complaint_ids=tuple(data.get("complaint_ids", ())),
            )
            if deducted:
                self._change_deposit(at, -deducted)
        elif kind == "penalty.revoked":
            self._revoke(
                data["penalty_id"], at, data["cause"], f"penalty.revoked, cause {data['cause']}"
            )
        elif kind == "appeal.filed":
            appeal_id, penalty_id = data["appeal_id"], data["penalty_id"]
            self._appeals[appeal_id] = _Appeal(penalty_id=penalty_id, status=_OPEN)
            penalty = self._penalties.get(penalty_id)
            if penalty is not None:
                self._penalties[penalty_id] = penalty._replace(
                    appeals=(*penalty.appeals, appeal_id), open_appeal=appeal_id
                )
        elif kind.startswith("appeal."):
            self._close_appeal(data["appeal_id"], kind.removeprefix("appeal."), at)
        elif kind == "deposit.paid":
            self._change_deposit(at, data["amount"])
        elif kind == "deposit.refunded":
            self._change_deposit(at, -data["amount"])
        elif kind == "remedy.ordered":
            self._remedies[data["remedy_id"]] = _Remedy(_ORDERED, data["amount"])
            if data.get("from_deposit", False) and data["amount"]:
                # Counted when ordered (docs/DECISIONS.md rule 10), whatever becomes of the remedy.
                self._change_deposit(at, -data["amount"])
        elif kind in ("remedy.completed", "remedy.cancelled"):
            remedy = self._remedies.get(data["remedy_id"])
            if remedy is not None:
                self._remedies[data["remedy_id"]] = remedy._replace(
                    status=kind.removeprefix("remedy.")
                )
        elif kind == "programme.enrolled":
            self.enrolled = True
        elif kind == "programme.exited":
            self.enrolled = False
            if data.get("forced", False):
                self._forced_exit_at = at

    def _change_deposit(self, at: datetime, delta: int) -> None:
        changes = list(self._deposit)
        # After the changes at the same time: the order of recording among equals.
        bisect.insort(changes, (at, delta), key=lambda change: change[0])
        self._deposit = tuple(changes)

    def _revoke(self, penalty_id: str, at: datetime, cause: str, how: str) -> None:
        """What a revocation undoes (docs/DECISIONS.md v2): the penalty's measures end, its
        deductions return to the deposit, and unless a regulator ordered it, the complaints
        it cites are overturned from then on."""
        penalty = self._penalties.get(penalty_id)
        if penalty is None or penalty.revoked_by is not None:
            return
        self._penalties[penalty_id] = penalty._replace(revoked_by=how, revoked_at=at)
        if penalty.deducted:
            self._change_deposit(at, penalty.deducted)
        if cause in _OVERTURNING_CAUSES:
            for complaint_id in penalty.complaint_ids:
                finding = self._findings.get(complaint_id)
                if finding is not None and (
                    finding.overturned_at is None or at < finding.overturned_at
                ):
                    self._findings[complaint_id] = finding._replace(
                        overturned_at=at, overturned_by=penalty_id
                    )

    def _close_appeal(self, appeal_id: str, status: str, at: datetime) -> None:
        appeal = self._appeals.get(appeal_id)
        if appeal is None:
            return
        self._appeals[appeal_id] = _Appeal(penalty_id=appeal.penalty_id, status=status)
        penalty = self._penalties.get(appeal.penalty_id)
        if penalty is None:
            return
        open_appeal = None if penalty.open_appeal == appeal_id else penalty.open_appeal
        self._penalties[appeal.penalty_id] = penalty._replace(open_appeal=open_appeal)
        if status == _UPHELD:
            # docs/DECISIONS.md: appeal.upheld also revokes the penalty, in the same transaction.
            self._revoke(appeal.penalty_id, at, "appeal_upheld", f"appeal {appeal_id} upheld")


def _time(value: object) -> datetime:
    if type(value) is not str:
        raise TypeError(f"a time expected, not {value!r:.40}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"a time without its offset: {value!r:.40}")
    return moment


_T = TypeVar("_T")


def _opt_str(value: object) -> str | None:
    return None if value is None else _typed(value, str)


def _time_or_none(value: object) -> datetime | None:
    return None if value is None else _time(value)


def _typed(value: object, kind: type[_T]) -> _T:
    if type(value) is not kind:
        raise TypeError(f"{kind.__name__} expected, not {value!r:.40}")
    return value


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        type(k) is str and type(v) is str for k, v in value.items()
    ):
        raise TypeError(f"a map of strings expected, not {value!r:.40}")
    return value


def _deducted(data: Mapping[str, Any]) -> int:
    """The fen a penalty's ``deduct_deposit`` measures take."""
    return sum(m["amount"] for m in data["measures"] if m["type"] == "deduct_deposit")


def _things(kind: str, data: Mapping[str, Any]) -> list[str]:
    # What a decision acts on, in ShopState._times's keys.
    family = kind.split(".", 1)[0]
    if family in ("verification", "complaint", "penalty", "appeal", "remedy"):
        return [f"{family} {data[family + '_id']}"]
    if family == "programme":
        return ["programme"]
    return []


def check_owner_not_banned(decision: Decision, owner_shops: Iterable[ShopState]) -> None:
    """Rule 12 (ban evasion): raise ``RuleViolation`` when the owner of the shop that
    ``decision`` (a ``shop.registered``) registers owns a shop, among ``owner_shops`` (the
    states of every other shop registered to that owner), with a permanent ban active at the
    registration's ``occurred_at``."""
    owner = decision.data["owner_subject_id"]
    at = decision.occurred_at
    for state in owner_shops:
        if state.shop_id == decision.shop_id or state.owner_subject_id != owner:
            continue
        penalty_id = state.permanent_ban_at(at)
        if penalty_id is not None:
            raise RuleViolation(
                f"shop {decision.shop_id} cannot be registered at {_ts(at)}: its owner {owner} "
                f"owns shop {state.shop_id}, permanently banned then by penalty {penalty_id} "
                "(rule 12, ban evasion)"
            )


# ShopState's sections in the order of the snapshot's members 8 to 14.
_SECTIONS: Final[tuple[_Section[Any], ...]] = tuple(
    ShopState.__dict__[name]
    for name in (
        "_verifications",
        "_complaints",
        "_findings",
        "_penalties",
        "_appeals",
        "_remedies",
        "_deposit",
    )
)
for _index, _section in enumerate(_SECTIONS):
    _section.index = _index

_DEPOSIT: Final = _SECTIONS[-1]

_Check = Callable[[ShopState, Decision, RuleSet], None]

# One check per type except shop.registered (handled in check() with rule 1) and
# programme.enrolled (in check(), with the eligibility it is given).
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
    "deposit.paid": ShopState._check_deposit_paid,
    "deposit.refunded": ShopState._check_deposit_refunded,
    "remedy.ordered": ShopState._check_remedy_ordered,
    "remedy.completed": ShopState._check_remedy_completed,
    "remedy.cancelled": ShopState._check_remedy_cancelled,
    "programme.exited": ShopState._check_programme_exited,
}
