"""Building facts and standings from decision documents, for the projection tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.domain.builders import at
from trustledger.domain.decision import parse_decision
from trustledger.domain.rules import DEFAULT_RULES, RuleBook, RuleSet
from trustledger.domain.standing import ActionItem, shop_action_items, standing
from trustledger.domain.timefmt import micros
from trustledger_projections.facts import decode_facts, fact_of_document


def facts_of(documents: Sequence[dict[str, Any]]) -> list[Any]:
    rows = []
    for number, document in enumerate(documents, start=1):
        normalised = parse_decision(document).to_document()
        row = fact_of_document(normalised, number)
        assert row is not None
        rows.append(row)
    return decode_facts(rows)


def standing_at(
    documents: Sequence[dict[str, Any]], when: str, *, rules: RuleSet | RuleBook = DEFAULT_RULES
) -> dict[str, Any]:
    """The standing of the (single) shop of ``documents`` at ``when``."""
    facts = facts_of(documents)
    shop_id = documents[0]["shop_id"]
    result = standing(shop_id, facts, at=micros(at(when)), rules=rules)
    assert result is not None, f"{shop_id} not registered by {when}"
    return result


def items_at(
    documents: Sequence[dict[str, Any]], when: str, *, rules: RuleSet | RuleBook = DEFAULT_RULES
) -> list[ActionItem]:
    """The action items of the (single) shop of ``documents`` at ``when``."""
    return shop_action_items(
        documents[0]["shop_id"], facts_of(documents), at=micros(at(when)), rules=rules
    )
