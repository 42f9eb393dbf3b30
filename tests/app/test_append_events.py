"""The append path makes its events and outcomes without their dataclass constructors:
they must be the very objects the constructors make, fields in the same order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from trustledger.app.append import AppendOutcome, _appended, _new_event
from trustledger.domain.aggregates import Shop
from trustledger.domain.identity import shop_aggregate_id

ID = shop_aggregate_id("shop-1")
WHEN = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
REST = {"payload": '{"a":1}', "signature": "c2ln", "key_id": "bot+00"}


def _as_append_makes_it(cls: type[Any], extra: dict[str, str]) -> Any:
    event = _new_event(cls, ID, 3, WHEN)
    vars(event).update(extra)
    vars(event).update(REST)
    return event


@pytest.mark.parametrize("cls", [Shop.EVENT_CLASSES[kind] for kind in sorted(Shop.EVENT_CLASSES)])
def test_every_decision_event_is_the_constructor_s(cls: type[Any]) -> None:
    made = cls(originator_id=ID, originator_version=3, timestamp=WHEN, **REST)
    fast = _as_append_makes_it(cls, {})
    assert type(fast) is cls
    assert list(vars(fast).items()) == list(vars(made).items())
    assert fast == made


def test_the_registration_event_is_the_constructor_s() -> None:
    topic = "trustledger:shop"
    made = Shop.Registered(
        originator_id=ID, originator_version=1, timestamp=WHEN, originator_topic=topic, **REST
    )
    fast = _new_event(Shop.Registered, ID, 1, WHEN)
    vars(fast)["originator_topic"] = topic
    vars(fast).update(REST)
    assert list(vars(fast).items()) == list(vars(made).items())
    assert fast == made


def test_an_appended_outcome_is_the_constructor_s() -> None:
    made = AppendOutcome(4, "d-1", 17, "appended")
    fast = _appended(4, "d-1", 17)
    assert list(vars(fast).items()) == list(vars(made).items())
    assert fast == made and repr(fast) == repr(made) and hash(fast) == hash(made)
    with pytest.raises(AttributeError):
        fast.position = 18  # type: ignore[misc]  # still frozen
