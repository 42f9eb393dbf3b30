from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T08:30:00Z", datetime(2026, 11, 2, 8, 30, tzinfo=UTC)),
        ("2026-11-02T08:30:00z", datetime(2026, 11, 2, 8, 30, tzinfo=UTC)),
        ("2026-11-02t08:30:00Z", datetime(2026, 11, 2, 8, 30, tzinfo=UTC)),
        ("2026-11-02T08:30:00+00:00", datetime(2026, 11, 2, 8, 30, tzinfo=UTC)),
        ("2026-11-02T08:30:00.5Z", datetime(2026, 11, 2, 8, 30, 0, 500000, tzinfo=UTC)),
        ("2026-11-02T08:30:00.000001Z", datetime(2026, 11, 2, 8, 30, 0, 1, tzinfo=UTC)),
        ("2024-02-29T23:59:59.999999+00:00", datetime(2024, 2, 29, 23, 59, 59, 999999, UTC)),
    ],
)
def test_parse_accepts_utc_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, field="occurred_at")
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-02T08:30:00+08:00", "has offset +08:00; timestamps must be in UTC"),
        ("2026-11-02T08:30:00-00:00", "has offset -00:00"),
        ("2026-11-02T08:30:00.1234567Z", "has 7 fractional digits; at most 6"),
        ("2026-11-02T08:30:00", "is not an RFC 3339 timestamp"),
        ("2026-11-02 08:30:00Z", "is not an RFC 3339 timestamp"),
        ("2026-11-02", "is not an RFC 3339 timestamp"),
        ("2026-11-02T08:30Z", "is not an RFC 3339 timestamp"),
        ("2026-11-02T08:30:00.Z", "is not an RFC 3339 timestamp"),
        (" 2026-11-02T08:30:00Z", "is not an RFC 3339 timestamp"),
        ("2026-11-02T08:30:00Z\n", "is not an RFC 3339 timestamp"),
        ("\uff12026-11-02T08:30:00Z", "is not an RFC 3339 timestamp"),
        ("2026-02-30T08:30:00Z", "is not a valid date and time"),
        ("2026-11-02T24:00:00Z", "is not a valid date and time"),
        ("2026-12-31T23:59:60Z", "is not a valid date and time"),
        ("0000-01-01T00:00:00Z", "is not a valid date and time"),
    ],
)
def test_parse_rejects_with_field_name(text: str, message: str) -> None:
    with pytest.raises(InvalidDecision) as info:
        parse_timestamp(text, field="data.measures[0].until")
    assert str(info.value).startswith("data.measures[0].until: ")
    assert message in str(info.value)


@pytest.mark.parametrize("value", [None, 1_700_000_000, 1.5, True, [], {}])
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidDecision, match=r"^occurred_at: must be an RFC 3339 UTC timestamp"):
        parse_timestamp(value, field="occurred_at")


def test_format_whole_seconds() -> None:
    assert format_timestamp(datetime(2026, 11, 2, 8, 30, tzinfo=UTC)) == "2026-11-02T08:30:00Z"


def test_format_microseconds_always_six_digits() -> None:
    dt = datetime(2026, 11, 2, 8, 30, 0, 500000, tzinfo=UTC)
    assert format_timestamp(dt) == "2026-11-02T08:30:00.500000Z"


def test_format_converts_other_offsets_to_utc() -> None:
    dt = datetime(2026, 11, 2, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert format_timestamp(dt) == "2026-11-02T08:30:00Z"


def test_format_pads_small_years() -> None:
    assert format_timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"


def test_format_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2026, 11, 2, 8, 30))


def test_parse_normalises_equivalent_forms() -> None:
    forms = [
        "2026-11-02T08:30:00.100Z",
        "2026-11-02t08:30:00.1+00:00",
        "2026-11-02T08:30:00.100000z",
    ]
    assert {format_timestamp(parse_timestamp(f, field="t")) for f in forms} == {
        "2026-11-02T08:30:00.100000Z"
    }


utc_datetimes = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda dt: dt.replace(tzinfo=UTC))


@given(utc_datetimes)
def test_round_trip_property(dt: datetime) -> None:
    text = format_timestamp(dt)
    parsed = parse_timestamp(text, field="t")
    assert parsed == dt
    assert format_timestamp(parsed) == text


@given(utc_datetimes, st.integers(min_value=1, max_value=6), st.sampled_from(["Z", "z", "+00:00"]))
def test_any_accepted_form_round_trips_to_canonical(dt: datetime, digits: int, zone: str) -> None:
    fraction = f"{dt.microsecond:06d}"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + "." + fraction + zone
    canonical = format_timestamp(parse_timestamp(text, field="t"))
    assert format_timestamp(parse_timestamp(canonical, field="t")) == canonical
    assert canonical.endswith("Z")
