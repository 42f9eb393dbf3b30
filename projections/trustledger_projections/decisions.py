"""One shop's decisions in ledger order, shortened for a person reading a report.

The standings view keeps compact facts only (no decision ids, reasons or findings), so the
shop panels of the HTML reports read the decisions themselves from the log: one indexed
read of the shop's own entries (``Store.events_of``), for the few shops a page shows in
full. Personal data is never shown (it is sealed in the ledger anyway); evidence digests are
counted, not listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from trustledger.domain.identity import shop_aggregate_id
from trustledger.domain.timefmt import micros_of_text
from trustledger.ledger.envelope import parse_state
from trustledger.storage import Store

__all__ = ["DecisionLine", "shop_decisions", "summarize"]

#: The ids a decision names, shown in their own column ("penalty p-1").
ID_FIELDS: Final = (
    "verification_id",
    "complaint_id",
    "penalty_id",
    "appeal_id",
    "remedy_id",
)
#: Fields a reader of the report does not need in the summary (ids are shown apart).
_HIDDEN: Final = frozenset({*ID_FIELDS, "owner_subject_id", "document_sha256", "evidence"})
_TEXT_LIMIT: Final = 60
_SUMMARY_LIMIT: Final = 200


@dataclass(frozen=True, slots=True)
class DecisionLine:
    position: int
    occurred_at: str
    type: str
    decision_id: str
    ids: str  # "penalty p-1, appeal a-1"
    summary: str  # the rest of its data, shortened


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value if len(value) <= _TEXT_LIMIT else value[: _TEXT_LIMIT - 1] + "…"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if value and all(isinstance(item, dict) and "type" in item for item in value):
            return "; ".join(_measure(item) for item in value)
        return ", ".join(_short(item) for item in value)
    return _short(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _measure(measure: dict[str, Any]) -> str:
    extra = " ".join(f"{k} {_short(v)}" for k, v in sorted(measure.items()) if k != "type")
    return f"{measure['type']} {extra}".strip()


def summarize(data: dict[str, Any]) -> tuple[str, str]:
    """(ids, summary) of a decision's ``data``: "penalty p-1", "violation counterfeit, ..."."""
    ids = ", ".join(
        f"{name.removesuffix('_id')} {data[name]}" for name in ID_FIELDS if name in data
    )
    if data.get("complaint_ids"):
        ids = ", ".join(filter(None, (ids, "complaints " + ", ".join(data["complaint_ids"]))))
    parts = []
    for name in sorted(data):
        if name in _HIDDEN or name == "complaint_ids":
            continue
        parts.append(f"{name} {_short(data[name])}")
    if data.get("evidence"):
        parts.append(f"evidence {len(data['evidence'])} digest(s)")
    summary = ", ".join(parts)
    if len(summary) > _SUMMARY_LIMIT:
        summary = summary[: _SUMMARY_LIMIT - 1] + "…"
    return ids, summary


def shop_decisions(store: Store, shop_id: str, *, size: int, at: int) -> list[DecisionLine]:
    """The shop's decisions among the ledger's first ``size`` entries that occurred by
    ``at`` (µs), in ledger order."""
    lines = []
    for entry in store.events_of(shop_aggregate_id(shop_id)):
        if entry.position is None or entry.position >= size:
            continue
        document = json.loads(parse_state(entry.state).payload)
        if micros_of_text(document["occurred_at"]) > at:
            continue
        ids, summary = summarize(document.get("data") or {})
        lines.append(
            DecisionLine(
                entry.position,
                document["occurred_at"],
                document["type"],
                document["decision_id"],
                ids,
                summary,
            )
        )
    return lines
