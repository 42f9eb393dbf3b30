"""``Ledger.append_batches``: a stream appended batch by batch, each all-or-nothing, a retry
of the whole stream idempotent (both stores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LedgerEnv
from tests.domain.builders import RECORDED_AT, doc
from trustledger.errors import BatchRejected, InvalidDecision, UsageError


def test_batches_are_written_one_by_one_and_a_refusal_keeps_the_earlier_ones(
    ledger: LedgerEnv,
) -> None:
    documents = [doc("shop.registered", shop_id=f"s-{i}") for i in range(7)]
    broken = [*documents[:5], dict(documents[5], type="shop.eaten"), documents[6]]
    read: list[int] = []

    def stream() -> Iterator[dict[str, object]]:
        for index, document in enumerate(broken):
            read.append(index)
            yield document

    with ledger.open() as opened:
        batches = opened.append_batches(stream(), signer=ledger.bot, batch_size=2, now=RECORDED_AT)
        first = next(batches)
        assert read == [0, 1]  # the next batch is read only once this one is written
        assert [(o.line, o.position) for o in first] == [(1, 2), (2, 3)]
        assert [o.position for o in next(batches)] == [4, 5]
        with pytest.raises(BatchRejected) as caught:
            next(batches)
    assert [line for line, _, _ in caught.value.problems] == [6]
    assert str(caught.value).endswith(
        "; nothing from line 5 on was written (lines up to 4 were, in earlier batches)"
    )
    assert read == [0, 1, 2, 3, 4, 5]  # nothing after the refused batch was read
    assert ledger.entry_count() == 2 + 4

    with ledger.open() as opened:
        batches = opened.append_batches(documents, signer=ledger.bot, batch_size=2, now=RECORDED_AT)
        outcomes = [outcome for batch in batches for outcome in batch]
    assert [o.status for o in outcomes] == ["duplicate"] * 4 + ["appended"] * 3
    assert [o.position for o in outcomes] == list(range(2, 9))
    assert ledger.verify().intact


def test_an_empty_stream_and_a_batch_size_below_one_are_refused(ledger: LedgerEnv) -> None:
    with ledger.open() as opened:
        with pytest.raises(InvalidDecision, match="no decisions in the input"):
            list(opened.append_batches([], signer=ledger.bot))
        with pytest.raises(UsageError, match="batch size must be at least 1, got 0"):
            list(opened.append_batches([doc("shop.registered")], signer=ledger.bot, batch_size=0))
    assert ledger.entry_count() == 2
