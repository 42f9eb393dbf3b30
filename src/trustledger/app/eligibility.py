"""Rule 14's eligibility: a shop's standing at the time it enrols in the programme.

Enrolments are rare, so the appender does not keep every shop's history warm for them: the
shop's recorded decisions are read when a ``programme.enrolled`` is judged, together with
the decisions of the same batch accepted before it, and the standing (``domain.standing``,
the function the projections use) is computed at the enrolment's ``occurred_at`` under the
rule set in force then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from trustledger.domain.decision import Decision, parse_decision
from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.rules import RuleBook
from trustledger.domain.standing import Fact, standing
from trustledger.domain.timefmt import micros
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store

__all__ = ["ineligible_reasons", "recorded_decisions"]


def recorded_decisions(store: Store, shop_id: str) -> list[Decision]:
    """The shop's decisions as recorded, in ledger order."""
    return [
        parse_decision(json.loads(parse_state(entry.state).payload))
        for entry in store.events_of(shop_aggregate_id(shop_id))
    ]


def ineligible_reasons(
    shop_id: str, decisions: Iterable[Decision], *, at: datetime, rules: RuleBook
) -> Sequence[str]:
    """The standing's ``ineligible_reasons`` at ``at`` over ``decisions`` (the shop's, in
    ledger order); empty when the shop is trust-purchase eligible then."""
    facts = [
        Fact(index, micros(d.occurred_at), d.type, dict(d.data), d.decision_id)
        for index, d in enumerate(decisions)
    ]
    result = standing(shop_id, facts, at=micros(at), rules=rules)
    if result is None:
        return ("status",)  # not registered by then
    reasons: Sequence[str] = result["ineligible_reasons"]
    return reasons
