"""Aggregate ids are part of the hashed entries: they must stay RFC 9562 uuid5, exactly."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from trustledger.domain.identity import KEYRING_ID, NAMESPACE, shop_aggregate_id


@given(shop_id=st.text(max_size=80))
def test_shop_aggregate_id_is_uuid5_of_the_prefixed_shop_id(shop_id: str) -> None:
    computed = shop_aggregate_id.__wrapped__(shop_id)  # uncached: the computation itself
    expected = uuid.uuid5(NAMESPACE, "shop:" + shop_id)
    assert computed == expected
    assert computed.version == 5
    assert computed.variant == uuid.RFC_4122


def test_known_ids_never_change() -> None:
    # Stored in every ledger: a change here would break every existing chain.
    assert str(KEYRING_ID) == "4f10a604-159c-594d-914e-aed8a7b360ef"
    assert str(shop_aggregate_id("shop-10086")) == "f54b7f17-eada-56b6-bbd0-2c0bd6255243"
