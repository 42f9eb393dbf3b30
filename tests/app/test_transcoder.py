"""LedgerTranscoder writes the very bytes eventsourcing's JSONTranscoder writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given
from hypothesis import strategies as st

from trustledger.app.transcoder import LedgerTranscoder


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    # The transcodings an Application registers (datetime, UUID, ...), as LedgerApplication does.
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    return transcoder


EVENTSOURCING = _registered(JSONTranscoder())
OURS = _registered(LedgerTranscoder())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_any_json_state_is_encoded_byte_for_byte_as_eventsourcing_does(
    state: dict[str, Any],
) -> None:
    assert OURS.encode(state) == EVENTSOURCING.encode(state)


event_states = st.dictionaries(
    st.text(),
    st.text() | st.datetimes(timezones=st.just(UTC)) | st.datetimes(),
    max_size=6,
)


@given(event_states)
def test_string_and_datetime_states_take_orjson_and_give_eventsourcing_s_bytes(
    state: dict[str, Any],
) -> None:
    assert OURS.encode(state) == EVENTSOURCING.encode(state)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb"])
def test_a_lone_surrogate_fails_as_in_eventsourcing(text: str) -> None:
    for transcoder in (OURS, EVENTSOURCING):
        with pytest.raises(UnicodeEncodeError):
            transcoder.encode({"payload": text})


def test_a_decision_event_state_with_its_registered_types() -> None:
    state = {
        "timestamp": datetime(2026, 11, 23, 18, 0, 1, 250, tzinfo=UTC),
        "payload": '{"actor":"审核员-1","data":{"note":"tab\\there \\"quoted\\""}}',
        "signature": "c2lnbmF0dXJl",
        "key_id": "bot-1+0a1b2c3d",
        "originator_topic": "trustledger:shop.registered",
        "other": [uuid.UUID(int=7), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))],
        "\u2028": "\x00\x1f\u2029",
    }
    assert OURS.encode(state) == EVENTSOURCING.encode(state)
    assert OURS.decode(OURS.encode(state)) == state


def test_what_is_not_a_dict_takes_eventsourcing_s_own_path() -> None:
    assert OURS.encode([1, "a"]) == EVENTSOURCING.encode([1, "a"]) == b'[1,"a"]'


def test_an_unregistered_type_is_refused_as_eventsourcing_refuses_it() -> None:
    with pytest.raises(TypeError, match="register a custom transcoding"):
        OURS.encode({"value": object()})


def test_datetimes_encoded_again_and_in_turn_stay_right() -> None:
    # The last datetime's encoding is reused for the same object, never for another.
    first = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    second = datetime(2026, 11, 23, 18, 0, 0, 1, tzinfo=UTC)
    later = datetime(2026, 11, 23, 18, 0, tzinfo=timezone(timedelta(hours=8)))  # == first
    for moment in (first, first, second, first, later, later, second):
        state = {"timestamp": moment, "key_id": "k"}
        assert OURS.encode(state) == EVENTSOURCING.encode(state)
        assert OURS.decode(OURS.encode(state))["timestamp"].utcoffset() == moment.utcoffset()
