"""ShopState.to_bytes / from_bytes: the snapshot of a shop's rule state that appends read
instead of replaying the shop (app.shopstates). A decoded snapshot must be the state
replayed from the events, and judge what follows exactly as it would."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.test_standing_properties import RULES, SHOP, history
from trustledger.domain.decision import parse_decision
from trustledger.domain.shop import SNAPSHOT_FORMAT, ShopState, UnusableSnapshot
from trustledger.errors import RuleViolation


def _replayed(documents: list[dict[str, object]]) -> ShopState:
    state = ShopState(SHOP)
    for document in documents:
        state.apply(parse_decision(document))
    return state


def _verdict(state: ShopState, document: dict[str, object]) -> str | None:
    decision = parse_decision(document)
    try:
        state.check(
            decision, rules=RULES, recorded_at=decision.occurred_at, eligibility=lambda _: ()
        )
    except RuleViolation as exc:
        return str(exc)
    return None


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 50), cut=st.floats(0, 1))
def test_a_snapshot_decodes_to_the_state_replayed_from_the_events(
    seed: int, length: int, cut: float
) -> None:
    documents = history(seed, length)
    at = round(cut * len(documents))
    replayed = _replayed(documents[:at])
    data = replayed.to_bytes()
    decoded = ShopState.from_bytes(data)
    assert decoded == replayed
    # The same bytes again: nothing lost, every dict in the same order.
    assert decoded.to_bytes() == data
    # And it goes on as the replay does: the rest of the history applies to the same state,
    # and every later decision is judged the same way on either.
    for document in documents[at:]:
        assert _verdict(decoded, document) == _verdict(replayed, document)
        decoded.apply(parse_decision(document))
        replayed.apply(parse_decision(document))
    assert decoded == replayed == _replayed(documents)


def test_the_generated_histories_give_snapshots_with_every_record() -> None:
    # The property above is worth what the histories hold: findings, penalties (revoked
    # too), appeals, remedies and deposit changes all appear in some snapshot.
    seen: set[int] = set()
    for seed in range(200):
        value = orjson.loads(_replayed(history(seed, 40)).to_bytes())
        seen.update(i for i in range(8, 16) if value[i])
        if any(p[6] for p in value[11].values()):
            seen.add(-1)  # a revoked penalty
    assert seen == {*range(8, 16), -1}


def _snapshot() -> bytes:
    return _replayed(history(random.Random(7).randrange(2**32), 30)).to_bytes()


def test_a_snapshot_of_another_format_is_refused() -> None:
    value = orjson.loads(_snapshot())
    value[0] = SNAPSHOT_FORMAT + 1
    with pytest.raises(UnusableSnapshot, match="not a snapshot of format"):
        ShopState.from_bytes(orjson.dumps(value))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],  # torn
        lambda data: b"\xff" + data[1:],
        lambda data: orjson.dumps({"format": SNAPSHOT_FORMAT}),
        lambda data: orjson.dumps(orjson.loads(data)[:-1]),  # a member missing
        lambda data: orjson.dumps([*orjson.loads(data)[:1], 42, *orjson.loads(data)[2:]]),
        lambda data: orjson.dumps([*orjson.loads(data)[:6], True, *orjson.loads(data)[7:]]),
        lambda data: orjson.dumps([*orjson.loads(data)[:8], {"v": 1}, *orjson.loads(data)[9:]]),
        lambda data: orjson.dumps([*orjson.loads(data)[:11], {"p": [1]}, *orjson.loads(data)[12:]]),
        lambda data: orjson.dumps(
            [*orjson.loads(data)[:14], [["2026-01-01T00:00:00", 1]], *orjson.loads(data)[15:]]
        ),
        lambda data: orjson.dumps(
            [*orjson.loads(data)[:6], "2026-02-30T00:00:00+00:00", *orjson.loads(data)[7:]]
        ),
        lambda data: orjson.dumps([*orjson.loads(data)[:15], {"complaint c-1": "Monday"}]),
        lambda data: orjson.dumps([*orjson.loads(data)[:14], {}, *orjson.loads(data)[15:]]),
    ],
    ids=[
        "empty",
        "torn",
        "not-utf8",
        "not-an-array",
        "member-missing",
        "shop-id-not-text",
        "time-not-text",
        "status-not-text",
        "penalty-not-a-record",
        "time-without-offset",
        "time-impossible",
        "time-not-a-time",
        "deposit-not-a-list",
    ],
)
def test_a_corrupt_snapshot_is_refused_when_read(corrupt: object) -> None:
    # By from_bytes, or (what a section holds) where the state first reads it: comparing
    # the state reads every section and every time.
    with pytest.raises(UnusableSnapshot):
        state = ShopState.from_bytes(corrupt(_snapshot()))  # type: ignore[operator]
        assert state == state.copy()


def test_a_section_is_decoded_where_first_read_and_written_back_as_read() -> None:
    data = _snapshot()
    value = orjson.loads(data)
    value[11] = dict.fromkeys(value[11], "not a penalty")
    value[15] = dict.fromkeys(value[15], "not a time")
    state = ShopState.from_bytes(orjson.dumps(value))
    # Never read, the corrupt penalties and times are written back as they were read...
    assert state.to_bytes() == orjson.dumps(value)
    # ...and refused, naming the shop, where a rule reads them.
    with pytest.raises(UnusableSnapshot, match=f"shop {SHOP} \\(_penalties\\)"):
        state.permanent_ban_at(datetime(2030, 1, 1, tzinfo=UTC))
    value = orjson.loads(data)
    value[15] = dict.fromkeys(value[15], "not a time")
    times_only = ShopState.from_bytes(orjson.dumps(value))
    with pytest.raises(UnusableSnapshot, match=f"shop {SHOP} \\(time of "):
        assert times_only == ShopState.from_bytes(data)


def test_a_state_read_from_a_snapshot_keeps_no_parsed_section_for_the_collector() -> None:
    # A process keeps thousands of such states warm: parsed sections are lists that every
    # full collection of Python's cyclic collector walks (55 µs a decision at 1M).
    state = ShopState.from_bytes(_snapshot())
    gc.collect()  # what the collector untracks (a dict of text) it untracks on its first pass
    held = [o for o in gc.get_referents(state) if o is not ShopState]  # all but its class
    assert [type(o).__name__ for o in held if gc.is_tracked(o)] == []
    # A section read is decoded then; the rest stay as the snapshot's bytes.
    state.permanent_ban_at(datetime(2030, 1, 1, tzinfo=UTC))
    assert state.to_bytes() == _snapshot()
