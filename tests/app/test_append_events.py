"""The append path makes its stored events and outcomes without the constructors and
mapper that would otherwise make them: they must be the very objects those make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from trustledger.app.append import AppendOutcome, _appended
from trustledger.app.application import LedgerApplication
from trustledger.app.stored_decisions import StoredDecisions
from trustledger.domain.aggregates import Shop
from trustledger.domain.identity import shop_aggregate_id
from trustledger.errors import InternalError
from trustledger.storage import open_store

ID = shop_aggregate_id("shop-1")
WHEN = datetime(2026, 11, 23, 19, 0, 0, 123456, tzinfo=UTC)
# A payload as the append stores it: canonical JSON, non-ASCII and escapes included.
PAYLOAD = '{"a":"caf\\u00e9 \\"q\\" é 店","b":[1,2]}'
REST = {"payload": PAYLOAD, "signature": "c2ln", "key_id": "bot+00"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('events') / 'ledger.db'}")
    store.create()
    application = LedgerApplication(store)
    yield application
    application.close()
    store.close()


@pytest.mark.parametrize("kind", sorted(Shop.EVENT_CLASSES))
def test_every_decision_s_stored_event_is_the_mapper_s(app: Any, kind: str) -> None:
    made = Shop.EVENT_CLASSES[kind](originator_id=ID, originator_version=3, timestamp=WHEN, **REST)
    direct = StoredDecisions(app.mapper.transcoder, WHEN, REST["key_id"]).make(
        kind, ID, 3, REST["payload"], REST["signature"]
    )
    assert direct == app.mapper.to_stored_event(made)


@pytest.mark.parametrize(
    "when", [WHEN, WHEN.replace(microsecond=0), WHEN.astimezone(timezone(timedelta(hours=8)))]
)
def test_the_registration_s_stored_event_is_the_mapper_s(app: Any, when: datetime) -> None:
    made = Shop.Registered(
        originator_id=ID,
        originator_version=1,
        timestamp=when,
        originator_topic="trustledger:shop",
        **REST,
    )
    direct = StoredDecisions(app.mapper.transcoder, when, REST["key_id"]).make(
        "shop.registered", ID, 1, REST["payload"], REST["signature"]
    )
    assert direct == app.mapper.to_stored_event(made)


def test_an_appended_outcome_is_the_constructor_s() -> None:
    made = AppendOutcome(4, "d-1", 17, "appended")
    fast = _appended(4, "d-1", 17)
    assert list(vars(fast).items()) == list(vars(made).items())
    assert fast == made and repr(fast) == repr(made) and hash(fast) == hash(made)
    with pytest.raises(AttributeError):
        fast.position = 18  # type: ignore[misc]  # still frozen


def test_a_transcoder_that_writes_timestamps_otherwise_is_refused_before_anything() -> None:
    class Otherwise:
        def encode(self, obj: Any) -> bytes:
            return b'{"ts":"2026-11-23"}'

    with pytest.raises(InternalError, match=r"app\.stored_decisions must follow it"):
        StoredDecisions(Otherwise(), WHEN, "bot+00")  # type: ignore[arg-type]
