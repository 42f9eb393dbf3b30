"""RFC 3339 timestamps in UTC: the one text form of time in decision documents.

``parse_timestamp`` accepts RFC 3339 (section 5.6) ``date-time`` values whose offset is UTC
(``Z``, ``z`` or ``+00:00``) with at most 6 fractional digits (microseconds, what ``datetime``
holds). ``format_timestamp`` writes the canonical form: ``YYYY-MM-DDTHH:MM:SSZ``, or with exactly
6 fractional digits when the microseconds are non-zero. Thus
``format_timestamp(parse_timestamp(format_timestamp(x))) == format_timestamp(x)``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

from trustledger.errors import InvalidDecision

__all__ = [
    "EPOCH",
    "format_timestamp",
    "micros",
    "micros_of_text",
    "parse_timestamp",
    "timestamp_of_micros",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# RFC 3339 section 5.6: full-date "T" partial-time time-offset; "T" and "Z" may be lowercase
# (section 5.6 NOTE). The offset group is matched loosely so that a wrong offset gets its own
# message instead of "not a timestamp".
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def parse_timestamp(value: object, *, field: str) -> datetime:
    """Parse an RFC 3339 UTC timestamp into an aware UTC ``datetime``.

    Raises ``InvalidDecision`` naming ``field`` when ``value`` is not a string, not RFC 3339,
    has an offset other than UTC, more than 6 fractional digits, or an impossible date/time.
    """
    if not isinstance(value, str):
        raise InvalidDecision(
            f"{field}: must be an RFC 3339 UTC timestamp string, got {_json_type(value)}"
        )
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise InvalidDecision(
            f"{field}: {value!r} is not an RFC 3339 timestamp (expected e.g. 2026-11-02T08:30:00Z)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset not in ("Z", "z", "+00:00"):
        raise InvalidDecision(
            f"{field}: {value!r} has offset {offset}; timestamps must be in UTC ('Z' or '+00:00')"
        )
    fraction_us = 0
    if fraction is not None:
        if len(fraction) > 6:
            raise InvalidDecision(
                f"{field}: {value!r} has {len(fraction)} fractional digits; at most 6 "
                "(microseconds) are allowed"
            )
        fraction_us = int(fraction.ljust(6, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            fraction_us,
            tzinfo=UTC,
        )
    except ValueError as exc:
        # Out-of-range parts, including the leap second :60, which datetime cannot hold.
        raise InvalidDecision(f"{field}: {value!r} is not a valid date and time ({exc})") from exc


def format_timestamp(dt: datetime) -> str:
    """Write ``dt`` (aware; converted to UTC) in the canonical form.

    ``YYYY-MM-DDTHH:MM:SSZ``, or ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` when microseconds are non-zero.
    Raises ``ValueError`` for a naive datetime, whose instant is unknown.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_timestamp needs an aware datetime")
    utc = dt.astimezone(UTC)
    base = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        return f"{base}.{utc.microsecond:06d}Z"
    return f"{base}Z"


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z of an aware datetime (exact integer arithmetic)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@lru_cache(maxsize=65_536)
def micros_of_text(text: str) -> int:
    """Microseconds of a canonical timestamp, cached: ``until`` / ``valid_until`` / ``due_by``
    values are compared again and again while judging standings."""
    return micros(datetime.fromisoformat(text))


def timestamp_of_micros(value: int) -> str:
    """The canonical timestamp text (``format_timestamp``) of microseconds since the epoch."""
    moment = EPOCH + timedelta(microseconds=value)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{moment.microsecond:06d}Z" if moment.microsecond else f"{base}Z"


def _json_type(value: object) -> str:
    # Kept local (rather than imported from decision) so timefmt stays a leaf module.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
