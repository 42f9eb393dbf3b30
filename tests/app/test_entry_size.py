"""No write stores an entry a C2SP tlog-tiles entry bundle cannot carry (FORMAT.md §17):
at most 65,535 bytes, counted as ``ledger.chain.entry_size`` counts them."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import StoredEvent

from tests.conftest import LedgerEnv
from trustledger.errors import InputRejected
from trustledger.ledger.chain import encode_entry, entry_size
from trustledger.ledger.tiles import MAX_ENTRY_SIZE


def test_entry_size_is_the_length_of_the_entry() -> None:
    for topic, state in [("trustledger:shop.registered", b"{}"), ("话题", b"x" * 1000)]:
        assert entry_size(topic, state) == len(encode_entry(uuid.uuid4(), 3, topic, state))


@pytest.mark.sqlite_only
def test_every_write_refuses_an_entry_over_the_limit(ledger: LedgerEnv) -> None:
    topic = "trustledger:key.registered"
    fits = b"x" * (MAX_ENTRY_SIZE - entry_size(topic, b""))
    with ledger.open() as opened:
        before = opened.store.chain_head()
        event = StoredEvent(uuid.uuid4(), 1, topic, fits + b"x")
        with pytest.raises(InputRejected, match="would be an entry of 65,536 bytes; the log "
                           "serves entries of at most 65,535 bytes"):  # fmt: skip
            opened.app.record_stored([event])
        assert opened.store.chain_head() == before
