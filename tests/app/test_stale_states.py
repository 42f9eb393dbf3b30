"""A shop state kept warm by one Ledger while another appends to the same shop: a batch it
would refuse under the stale state is judged again from the store, not refused (the
append API's pool of ledgers found it)."""

from __future__ import annotations

from tests.conftest import LedgerEnv
from tests.domain.builders import RECORDED_AT, doc, ts


def test_a_refusal_under_a_stale_shop_state_is_judged_again(ledger: LedgerEnv) -> None:
    with ledger.open() as first, ledger.open() as second:
        first.append([doc("shop.registered", shop_id="s-1")], signer=ledger.bot, now=RECORDED_AT)
        second.append(
            [doc("complaint.filed", shop_id="s-1", occurred_at=ts(days=1))],
            signer=ledger.bot,
            now=RECORDED_AT,
        )
        # `first` still holds s-1 without the complaint; the store has it.
        outcomes = first.append(
            [doc("complaint.substantiated", shop_id="s-1", occurred_at=ts(days=2))],
            signer=ledger.bot,
            now=RECORDED_AT,
        )
    assert [o.status for o in outcomes] == ["appended"]
    assert ledger.verify().intact
