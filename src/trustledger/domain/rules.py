"""The versioned numbers of DOMAIN.md's rules (every value marked *(rule)* there)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision

__all__ = [
    "DEFAULT_RULES",
    "PublishedRules",
    "RuleBook",
    "RuleSet",
    "format_rules",
    "parse_rules",
]


@dataclass(frozen=True)
class RuleSet:
    """The (rule) numbers of DOMAIN.md, versioned.

    A rule set is identified by ``version``; changing any number means a new version, so that a
    decision checked under one rule set can always be re-checked under the same numbers.
    """

    version: str = "default-v1"
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


DEFAULT_RULES = RuleSet()


# --------------------------------------------------------------------------- TOML form
#
# A rule set is published as a TOML document (docs/PROJECTIONS.md "Rule sets"):
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
#
# Every number is required, so a published rule set never silently inherits a default.

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


def parse_rules(text: str) -> PublishedRules:
    """Parse and validate a rule set's TOML text; raises InvalidDecision saying what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidDecision(f"rule set: not valid TOML ({exc})") from exc
    unknown = set(document) - {"version", "effective_from", "append", "standing"}
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
    return PublishedRules(rules, effective_from, text)


def format_rules(rules: RuleSet, *, effective_from: datetime) -> str:
    """The TOML text of a rule set (``parse_rules`` reads it back to equal numbers)."""
    tiers = ", ".join(str(t) for t in rules.points_tiers)
    return (
        f'version = "{rules.version}"\n'
        f'effective_from = "{format_timestamp(effective_from)}"\n'
        "\n[append]\n"
        f"max_future_skew_minutes = {rules.max_future_skew // timedelta(minutes=1)}\n"
        f"appeal_window_days = {rules.appeal_window.days}\n"
        f"max_appeals_per_penalty = {rules.max_appeals_per_penalty}\n"
        "\n[standing]\n"
        f"points_window_days = {rules.points_window.days}\n"
        f"points_tiers = [{tiers}]\n"
        f"eligibility_penalty_window_days = {rules.eligibility_penalty_window.days}\n"
        f"eligibility_max_points = {rules.eligibility_max_points}\n"
    )


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
