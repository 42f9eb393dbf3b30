"""A panel per shop: why it is not eligible (in words), what is due, its decisions in order.

Panels are ``<details>`` elements with the id ``shop-<shop_id>``, so a shop's cell in a table
links to its panel (browsers open a ``<details>`` that a link points into).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

from trustledger_projections.actions import detail_text
from trustledger_projections.decisions import DecisionLine
from trustledger_projections.html.tables import Cell, Column, Row, table

__all__ = ["REASONS", "panel", "panel_id", "reasons_in_words"]

#: docs/DECISIONS.md's ``ineligible_reasons`` codes, for people.
REASONS: Final = {
    "status": "its status is {status}, not active",
    "verification_missing": (
        "a required verification (real name, qualification) is missing or no longer valid"
    ),
    "recent_penalty": "a serious or critical penalty, not revoked, within the eligibility window",
    "points": "{points} points: at or above the eligibility limit",
    "remedy_overdue": "a remedy ordered for a buyer is overdue",
    "deposit_below_minimum": "its deposit balance is below the minimum",
}
KINDS: Final = {
    "required_action": "measure required by the points tier",
    "complaint_unanswered": "complaint not answered by the shop",
    "complaint_unresolved": "complaint not resolved",
    "appeal_undecided": "appeal not decided",
    "remedy_overdue": "remedy overdue",
    "remedy_owed": "remedy owed",
}
_DECISION_COLUMNS: Final = (
    Column("position", numeric=True),
    Column("occurred at"),
    Column("type"),
    Column("ids"),
    Column("decision id"),
    Column("data"),
)


def panel_id(shop_id: str) -> str:
    return f"shop-{shop_id}"


def reasons_in_words(standing: Mapping[str, Any]) -> list[str]:
    """The standing's ``ineligible_reasons`` as sentences, in docs/DECISIONS.md's order."""
    words = []
    for code in standing.get("ineligible_reasons", ()):
        template = REASONS.get(code)
        words.append(template.format(**standing) if template else str(code))
    return words


def _due(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return ""
    lines = []
    for item in items:
        detail, kind = item["detail"], item["kind"]
        about = detail_text(detail)
        amount = detail.get("amount")
        lines.append(
            f"<li>{escape(KINDS.get(kind, kind))}{f' ({escape(about)})' if about else ''}: "
            f"{'since' if kind == 'required_action' else 'due'} {escape(item['due_at'])}"
            f"{'' if amount is None else f', {amount:,} fen'}</li>"
        )
    return f'<h3>What is due</h3><ul class="reasons">{"".join(lines)}</ul>'


def panel(
    standing: Mapping[str, Any],
    decisions: Sequence[DecisionLine],
    items: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One shop's panel: standing in a line, reasons, items due, and its decisions."""
    shop_id = standing["shop_id"]
    reasons = reasons_in_words(standing)
    if reasons:
        why = "".join(f"<li>{escape(reason)}</li>" for reason in reasons)
        eligibility = (
            f'<h3>Why it is not eligible for trust purchase</h3><ul class="reasons">{why}</ul>'
        )
    else:
        eligibility = "<p>Eligible for trust purchase.</p>"
    rows = [
        Row(
            [
                line.position,
                Cell(line.occurred_at, css="t"),
                line.type,
                line.ids or "–",
                Cell(line.decision_id, css="mono"),
                line.summary or "–",
            ]
        )
        for line in decisions
    ]
    ident = escape(panel_id(shop_id))
    return (
        f'<details class="shop" id="{ident}"><summary>{escape(shop_id)}: '
        f"{escape(standing['status'])}, {standing['points']} points, "
        f"{len(decisions)} decision(s)</summary>"
        f"{eligibility}{_due(items)}<h3>Decisions in ledger order</h3>"
        + table(f"{panel_id(shop_id)}-decisions", _DECISION_COLUMNS, rows, cards=True)
        + "</details>"
    )
