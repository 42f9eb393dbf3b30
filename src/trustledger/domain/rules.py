"""The versioned numbers of docs/DECISIONS.md's rules (every value marked *(rule)* there)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from trustledger.domain.decision import SEVERITIES, VERIFICATION_KINDS, VIOLATION_CODES
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision

__all__ = [
    "DEFAULT_RULES",
    "TIER_MEASURES",
    "PublishedRules",
    "RuleBook",
    "RuleSet",
    "format_rules",
    "parse_rules",
]


@dataclass(frozen=True)
class RuleSet:
    """The (rule) numbers of docs/DECISIONS.md, versioned.

    A rule set is identified by ``version``; changing any number means a new version, so that a
    decision checked under one rule set can always be re-checked under the same numbers.
    """

    version: str = "default-v2"
    #: ``occurred_at`` may lie at most this far after the time of recording.
    max_future_skew: timedelta = timedelta(minutes=5)
    #: An appeal is filed within this time after its penalty's ``occurred_at``.
    appeal_window: timedelta = timedelta(days=7)
    #: A penalty takes at most this many appeals (open or resolved).
    max_appeals_per_penalty: int = 2
    #: Points count for penalties imposed in this window before T.
    points_window: timedelta = timedelta(days=365)
    #: Tiers reached by points, ascending.
    points_tiers: tuple[int, ...] = (12, 24, 36, 48)
    #: No unrevoked serious/critical penalty in this window before T for trust-purchase.
    eligibility_penalty_window: timedelta = timedelta(days=30)
    #: Eligible for trust-purchase only when points are below this.
    eligibility_max_points: int = 12

    # ---- v2 (docs/DECISIONS.md "Rule sets"); a rule set published without them takes these.
    #: Points of a penalty that gives none, by severity: ((severity, points), ...).
    severity_points: tuple[tuple[str, int], ...] = (("minor", 2), ("serious", 6), ("critical", 12))
    #: Overrides of ``severity_points`` per violation code: ((violation, severity, points), ...).
    violation_points: tuple[tuple[str, str, int], ...] = ()
    #: What reaching a tier calls for: ((tier, measure, suspension days or None), ...), with
    #: measure one of ``TIER_MEASURES``; a tier without an entry calls for nothing.
    tier_consequences: tuple[tuple[int, str, int | None], ...] = (
        (12, "restrict_traffic", None),
        (24, "suspend", 7),
        (36, "suspend", 30),
        (48, "permanent_ban", None),
    )
    #: A complaint is overdue for the shop's response this long after filing.
    complaint_response_deadline: timedelta = timedelta(days=3)
    #: A complaint is overdue for resolution this long after filing.
    complaint_resolution_deadline: timedelta = timedelta(days=15)
    #: An appeal is overdue for a decision this long after filing.
    appeal_decision_deadline: timedelta = timedelta(days=15)
    #: Verification kinds a shop needs approved and valid to be eligible.
    required_verification_kinds: tuple[str, ...] = ("real_name", "qualification")
    #: The least deposit balance (fen) of an eligible shop.
    deposit_minimum: int = 0
    #: After a forced exit from the programme, a shop may enrol again this long after.
    reenrolment_wait: timedelta = timedelta(days=90)

    def points_for(self, violation: str, severity: str) -> int:
        """The points a penalty counts when it gives none (docs/DECISIONS.md, penalty.imposed)."""
        for code, level, points in self.violation_points:
            if code == violation and level == severity:
                return points
        for level, points in self.severity_points:
            if level == severity:
                return points
        return 0

    def consequence_of(self, tier: int) -> tuple[str, int | None] | None:
        """(measure, suspension days) a tier calls for, or None."""
        for level, measure, days in self.tier_consequences:
            if level == tier:
                return measure, days
        return None


#: The measures a points tier may call for, weakest first (a stronger one satisfies a weaker).
TIER_MEASURES: tuple[str, ...] = ("restrict_traffic", "suspend", "permanent_ban")


DEFAULT_RULES = RuleSet()


# --------------------------------------------------------------------------- TOML form
#
# A rule set is published as a TOML document (docs/DECISIONS.md "Rule sets", normative):
#
#     version = "2027-v2"
#     effective_from = "2027-01-01T00:00:00Z"
#     [append]
#     max_future_skew_minutes = 5
#     appeal_window_days = 7
#     max_appeals_per_penalty = 2
#     [standing]
#     points_window_days = 365
#     points_tiers = [12, 24, 36, 48]
#     eligibility_penalty_window_days = 30
#     eligibility_max_points = 12
#     # v2 tables (optional, each as a whole):
#     [points]
#     minor = 2
#     serious = 6
#     critical = 12
#     [points.violations.counterfeit]       # overrides per violation code, optional
#     serious = 8
#     [[consequences]]                      # `consequences = []`: tiers call for nothing
#     tier = 12
#     measure = "restrict_traffic"
#     [[consequences]]
#     tier = 24
#     measure = "suspend"
#     suspend_days = 7
#     [deadlines]
#     complaint_response_days = 3
#     complaint_resolution_days = 15
#     appeal_decision_days = 15
#     [eligibility]
#     required_verification_kinds = ["real_name", "qualification"]
#     deposit_minimum_fen = 0
#     reenrolment_days = 90
#
# Every number of a table is required, so a published rule set never silently inherits a
# default. The v2 tables are optional as wholes: a rule set published before v2 has none, and
# takes the v2 defaults for them (docs/DECISIONS.md "Rule sets").

_VERSION = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_APPEND_KEYS = ("max_future_skew_minutes", "appeal_window_days", "max_appeals_per_penalty")
_STANDING_KEYS = (
    "points_window_days",
    "points_tiers",
    "eligibility_penalty_window_days",
    "eligibility_max_points",
)


@dataclass(frozen=True)
class PublishedRules:
    """A rule set as published in the ledger: its numbers, when it applies, its exact text."""

    rules: RuleSet
    effective_from: datetime
    toml: str

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the UTF-8 TOML text: the content hash the ledger event carries."""
        return hashlib.sha256(self.toml.encode("utf-8")).hexdigest()


def _positive_int(table: dict[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if type(value) is not int or value < 1:
        raise InvalidDecision(f"rule set: {where}.{key} must be a positive integer, got {value!r}")
    return value


def _count(table: dict[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if type(value) is not int or value < 0:
        raise InvalidDecision(
            f"rule set: {where}.{key} must be a non-negative integer, got {value!r}"
        )
    return value


def _exact_keys(table: Any, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InvalidDecision(f"rule set: [{name}] must be a table")
    extra = set(table) - set(keys)
    missing = set(keys) - set(table)
    if extra or missing:
        raise InvalidDecision(
            f"rule set: [{name}] has unknown keys {sorted(extra)}, missing {sorted(missing)}"
        )
    return table


_V2_TABLES = ("points", "consequences", "deadlines", "eligibility")
_SEVERITY_ORDER = ("minor", "serious", "critical")


def _with_v2_tables(rules: RuleSet, document: dict[str, Any]) -> RuleSet:
    """``rules`` with the numbers of the v2 tables the document has (each all or nothing)."""
    changes: dict[str, Any] = {}
    if "points" in document:
        points = document["points"]
        if not isinstance(points, dict):
            raise InvalidDecision("rule set: [points] must be a table")
        base = _exact_keys(
            {k: v for k, v in points.items() if k != "violations"}, "points", _SEVERITY_ORDER
        )
        changes["severity_points"] = tuple(
            (level, _count(base, level, "points")) for level in _SEVERITY_ORDER
        )
        overrides: list[tuple[str, str, int]] = []
        violations = points.get("violations", {})
        if not isinstance(violations, dict):
            raise InvalidDecision("rule set: [points.violations] must be a table of tables")
        for code, table in sorted(violations.items()):
            where = f"points.violations.{code}"
            if code not in VIOLATION_CODES:
                raise InvalidDecision(f"rule set: [{where}]: unknown violation code {code!r}")
            if not isinstance(table, dict) or not table or not set(table) <= SEVERITIES:
                raise InvalidDecision(
                    f"rule set: [{where}] must give points for some of {', '.join(_SEVERITY_ORDER)}"
                )
            for level in _SEVERITY_ORDER:
                if level in table:
                    overrides.append((code, level, _count(table, level, where)))
        changes["violation_points"] = tuple(overrides)
    if "consequences" in document:
        entries = document["consequences"]
        if not isinstance(entries, list):
            raise InvalidDecision("rule set: consequences must be an array of tables")
        consequences: list[tuple[int, str, int | None]] = []
        for index, entry in enumerate(entries):
            where = f"consequences[{index}]"
            if not isinstance(entry, dict):
                raise InvalidDecision(f"rule set: {where} must be a table")
            measure = entry.get("measure")
            if measure not in TIER_MEASURES:
                raise InvalidDecision(
                    f"rule set: {where}.measure must be one of {', '.join(TIER_MEASURES)}, "
                    f"got {measure!r}"
                )
            keys = (
                ("tier", "measure", "suspend_days")
                if measure == "suspend"
                else (
                    "tier",
                    "measure",
                )
            )
            _exact_keys(entry, where, keys)
            tier = _positive_int(entry, "tier", where)
            if tier not in rules.points_tiers:
                raise InvalidDecision(
                    f"rule set: {where}.tier {tier} is not one of standing.points_tiers "
                    f"{list(rules.points_tiers)}"
                )
            if any(tier == other for other, _m, _d in consequences):
                raise InvalidDecision(f"rule set: {where}.tier {tier} is given twice")
            days = _positive_int(entry, "suspend_days", where) if measure == "suspend" else None
            consequences.append((tier, measure, days))
        changes["tier_consequences"] = tuple(sorted(consequences))
    else:
        # The defaults name tiers 12..48; a rule set with other tiers and no consequences
        # keeps only the defaults' tiers it has.
        changes["tier_consequences"] = tuple(
            c for c in rules.tier_consequences if c[0] in rules.points_tiers
        )
    if "deadlines" in document:
        keys = ("complaint_response_days", "complaint_resolution_days", "appeal_decision_days")
        table = _exact_keys(document["deadlines"], "deadlines", keys)
        changes["complaint_response_deadline"] = timedelta(
            days=_positive_int(table, keys[0], "deadlines")
        )
        changes["complaint_resolution_deadline"] = timedelta(
            days=_positive_int(table, keys[1], "deadlines")
        )
        changes["appeal_decision_deadline"] = timedelta(
            days=_positive_int(table, keys[2], "deadlines")
        )
    if "eligibility" in document:
        keys = ("required_verification_kinds", "deposit_minimum_fen", "reenrolment_days")
        table = _exact_keys(document["eligibility"], "eligibility", keys)
        kinds = table["required_verification_kinds"]
        if (
            not isinstance(kinds, list)
            or not all(isinstance(k, str) and k in VERIFICATION_KINDS for k in kinds)
            or len(set(kinds)) != len(kinds)
        ):
            raise InvalidDecision(
                "rule set: eligibility.required_verification_kinds must be distinct kinds of "
                f"{', '.join(sorted(VERIFICATION_KINDS))}, got {kinds!r}"
            )
        changes["required_verification_kinds"] = tuple(kinds)
        changes["deposit_minimum"] = _count(table, "deposit_minimum_fen", "eligibility")
        changes["reenrolment_wait"] = timedelta(
            days=_count(table, "reenrolment_days", "eligibility")
        )
    return replace(rules, **changes)


def parse_rules(text: str) -> PublishedRules:
    """Parse and validate a rule set's TOML text; raises InvalidDecision saying what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidDecision(f"rule set: not valid TOML ({exc})") from exc
    unknown = set(document) - {
        "version",
        "effective_from",
        "append",
        "standing",
        *_V2_TABLES,
    }
    if unknown:
        raise InvalidDecision(f"rule set: unknown keys {sorted(unknown)}")
    version = document.get("version")
    if not isinstance(version, str) or _VERSION.fullmatch(version) is None:
        raise InvalidDecision(
            f"rule set: version must be a string matching [A-Za-z0-9_.:-]{{1,64}}, got {version!r}"
        )
    effective = document.get("effective_from")
    if isinstance(effective, datetime):  # a bare TOML datetime
        raise InvalidDecision(
            "rule set: effective_from must be a quoted RFC 3339 UTC string, "
            'e.g. "2027-01-01T00:00:00Z"'
        )
    effective_from = parse_timestamp(effective, field="rule set: effective_from")
    tables: dict[str, dict[str, Any]] = {}
    for name, keys in (("append", _APPEND_KEYS), ("standing", _STANDING_KEYS)):
        table = document.get(name)
        if not isinstance(table, dict):
            raise InvalidDecision(f"rule set: the [{name}] table is required")
        extra = set(table) - set(keys)
        missing = set(keys) - set(table)
        if extra or missing:
            raise InvalidDecision(
                f"rule set: [{name}] has unknown keys {sorted(extra)}, missing {sorted(missing)}"
            )
        tables[name] = table
    tiers = tables["standing"]["points_tiers"]
    if (
        not isinstance(tiers, list)
        or not tiers
        or any(type(t) is not int or t < 1 for t in tiers)
        or tiers != sorted(set(tiers))
    ):
        raise InvalidDecision(
            f"rule set: standing.points_tiers must be ascending positive integers, got {tiers!r}"
        )
    append, standing = tables["append"], tables["standing"]
    rules = RuleSet(
        version=version,
        max_future_skew=timedelta(
            minutes=_positive_int(append, "max_future_skew_minutes", "append")
        ),
        appeal_window=timedelta(days=_positive_int(append, "appeal_window_days", "append")),
        max_appeals_per_penalty=_positive_int(append, "max_appeals_per_penalty", "append"),
        points_window=timedelta(days=_positive_int(standing, "points_window_days", "standing")),
        points_tiers=tuple(tiers),
        eligibility_penalty_window=timedelta(
            days=_positive_int(standing, "eligibility_penalty_window_days", "standing")
        ),
        eligibility_max_points=_positive_int(standing, "eligibility_max_points", "standing"),
    )
    rules = _with_v2_tables(rules, document)
    return PublishedRules(rules, effective_from, text)


def format_rules(rules: RuleSet, *, effective_from: datetime) -> str:
    """The TOML text of a rule set (``parse_rules`` reads it back to equal numbers)."""
    tiers = ", ".join(str(t) for t in rules.points_tiers)
    # A consequence of a tier the rule set does not have can never apply, and parse_rules
    # refuses one; a RuleSet built in code may still carry the defaults' (12..48).
    consequences = tuple(c for c in rules.tier_consequences if c[0] in rules.points_tiers)
    # TOML: a top-level key must come before the first table.
    no_consequences = "" if consequences else "consequences = []\n"
    return (
        f'version = "{rules.version}"\n'
        f'effective_from = "{format_timestamp(effective_from)}"\n'
        f"{no_consequences}"
        "\n[append]\n"
        f"max_future_skew_minutes = {rules.max_future_skew // timedelta(minutes=1)}\n"
        f"appeal_window_days = {rules.appeal_window.days}\n"
        f"max_appeals_per_penalty = {rules.max_appeals_per_penalty}\n"
        "\n[standing]\n"
        f"points_window_days = {rules.points_window.days}\n"
        f"points_tiers = [{tiers}]\n"
        f"eligibility_penalty_window_days = {rules.eligibility_penalty_window.days}\n"
        f"eligibility_max_points = {rules.eligibility_max_points}\n"
        + _format_v2_tables(rules, consequences)
    )


def _format_v2_tables(rules: RuleSet, consequences: tuple[tuple[int, str, int | None], ...]) -> str:
    lines = ["", "[points]"]
    lines += [f"{level} = {points}" for level, points in rules.severity_points]
    codes = sorted({code for code, _level, _points in rules.violation_points})
    for code in codes:
        lines += ["", f"[points.violations.{code}]"]
        lines += [f"{lv} = {p}" for c, lv, p in rules.violation_points if c == code]
    for tier, measure, days in consequences:
        lines += ["", "[[consequences]]", f"tier = {tier}", f'measure = "{measure}"']
        if days is not None:
            lines.append(f"suspend_days = {days}")
    kinds = ", ".join(f'"{kind}"' for kind in rules.required_verification_kinds)
    lines += [
        "",
        "[deadlines]",
        f"complaint_response_days = {rules.complaint_response_deadline.days}",
        f"complaint_resolution_days = {rules.complaint_resolution_deadline.days}",
        f"appeal_decision_days = {rules.appeal_decision_deadline.days}",
        "",
        "[eligibility]",
        f"required_verification_kinds = [{kinds}]",
        f"deposit_minimum_fen = {rules.deposit_minimum}",
        f"reenrolment_days = {rules.reenrolment_wait.days}",
    ]
    return "\n".join(lines) + "\n"


#: Before any rule set is published, the defaults apply from the beginning of time.
DEFAULT_EFFECTIVE_FROM = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RuleBook:
    """Every rule set published in the ledger, in ledger order, over ``default``.

    The rule set in force at time t is the published one with the latest ``effective_from``
    at or before t (the later publication wins a tie); before any, ``default``.
    """

    published: tuple[PublishedRules, ...] = ()
    default: RuleSet = DEFAULT_RULES

    def in_force(self, at: datetime) -> RuleSet:
        """The rule set in force at ``at``."""
        best: PublishedRules | None = None
        for item in self.published:
            if item.effective_from <= at and (
                best is None or item.effective_from >= best.effective_from
            ):
                best = item
        return best.rules if best is not None else self.default

    def in_force_published(self, at: datetime) -> PublishedRules:
        """Like ``in_force`` with its text: the defaults are given as their TOML form."""
        best: PublishedRules | None = None
        for item in self.published:
            if item.effective_from <= at and (
                best is None or item.effective_from >= best.effective_from
            ):
                best = item
        if best is not None:
            return best
        text = format_rules(self.default, effective_from=DEFAULT_EFFECTIVE_FROM)
        return PublishedRules(self.default, DEFAULT_EFFECTIVE_FROM, text)

    def with_published(self, item: PublishedRules) -> RuleBook:
        return RuleBook((*self.published, item), self.default)
