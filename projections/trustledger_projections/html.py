"""The standings report as one self-contained HTML page for people.

No scripts, fonts, images or styles are fetched: the CSS is inline and the chart is an SVG
drawn here, so the page opens offline and can be archived as it is.
"""

from __future__ import annotations

from html import escape
from typing import Any

from trustledger.domain.standing import STATUSES
from trustledger_projections.report import StandingsReport

__all__ = ["format_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2433}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
.meta{color:#5a6270}table{border-collapse:collapse;margin:.25rem 0 1rem}
th,td{border:1px solid #d5d9e0;padding:.25rem .6rem;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f4f7}
.grid{display:flex;flex-wrap:wrap;gap:2rem}.legend span{display:inline-block;width:.8rem;
height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
"""
_SERIES = (("penalties", "#c2410c", "penalties imposed"), ("appeals", "#2563eb", "appeals filed"),
           ("appeals_upheld", "#16a34a", "appeals upheld"))  # fmt: skip


def _table(table_id: str, head: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    def cell(tag: str, index: int, value: Any) -> str:
        cls = ' class="n"' if index >= numeric_from else ""
        return f"<{tag}{cls}>{escape(str(value))}</{tag}>"

    header = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _chart(timeline: dict[str, Any]) -> str:
    """Grouped bars per month: penalties imposed, appeals filed, appeals upheld."""
    months = sorted(timeline)
    if not months:
        return '<p id="chart-empty">No penalties or appeals yet.</p>'
    peak = max(max(timeline[m][key] for key, _, _ in _SERIES) for m in months) or 1
    bar, gap, height, left, bottom = 10, 14, 220, 40, 40
    group = bar * len(_SERIES) + gap
    width = left + group * len(months) + gap
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + bottom}" role="img" aria-label="Penalties and appeals per month">',
        f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#888"/>',
        f'<text x="{left - 6}" y="12" font-size="11" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{height}" font-size="11" text-anchor="end">0</text>',
    ]
    for index, month in enumerate(months):
        x0 = left + gap + index * group
        for offset, (key, color, label) in enumerate(_SERIES):
            value = timeline[month][key]
            h = round((height - 16) * value / peak)
            parts.append(
                f'<rect x="{x0 + offset * bar}" y="{height - h}" width="{bar - 1}" height="{h}" '
                f'fill="{color}"><title>{escape(month)}: {value} {label}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + group / 2 - gap / 2}" y="{height + 14}" font-size="10" '
            f'text-anchor="middle">{escape(month)}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="background:{color}"></span>{label}' for _, color, label in _SERIES
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def format_html(report: StandingsReport) -> str:
    """The page: summary tables, the chart, and one row per shop."""
    document, summary = report.document, report.summary
    shops = document["shops"]
    by_status = [[status, summary.shops_by_status.get(status, 0)] for status in STATUSES]
    by_violation = [
        [violation, counts["imposed"], counts["revoked"]]
        for violation, counts in sorted(summary.penalties_by_violation.items())
    ]
    by_measure = [[kind, n] for kind, n in sorted(summary.penalties_by_measure.items())]
    rate = summary.overturn_rate
    appeals: list[list[Any]] = [
        *(
            [status, summary.appeals.get(status, 0)]
            for status in ("open", "upheld", "rejected", "withdrawn")
        ),
        ["overturn rate (upheld ÷ decided)", "–" if rate is None else f"{rate:.1%}"],
    ]
    shop_rows = [
        [
            shop["shop_id"],
            shop["status"],
            shop["points"],
            shop["points_tier"],
            "yes" if shop["trust_purchase_eligible"] else "no",
            ", ".join(sorted({m["type"] for m in shop["active_measures"]})) or "–",
            shop["complaints"]["open"],
            shop["penalties"]["active"],
            shop["appeals"]["open"],
        ]
        for shop in shops
    ]
    eligible = sum(1 for shop in shops if shop["trust_purchase_eligible"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Shop standings as of {escape(document['as_of'])}</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Shop standings</h1>"
        f'<p class="meta">As of <b>{escape(document["as_of"])}</b> · ledger entries '
        f"{document['ledger_size']} · rule set {escape(document['rule_set'])} · "
        f"{len(shops)} shops, {eligible} eligible for trust purchase</p>"
        '<div class="grid"><section><h2>Shops by status</h2>'
        + _table("by-status", ["status", "shops"], by_status)
        + "</section><section><h2>Penalties by violation</h2>"
        + _table("by-violation", ["violation", "imposed", "revoked"], by_violation)
        + "</section><section><h2>Measures imposed</h2>"
        + _table("by-measure", ["measure", "count"], by_measure)
        + "</section><section><h2>Appeal outcomes</h2>"
        + _table("appeals", ["appeals", "count"], appeals)
        + "</section></div><h2>Penalties and appeals per month</h2>"
        + _chart(summary.timeline)
        + "<h2>Every shop</h2>"
        + _table(
            "shops",
            [
                "shop",
                "status",
                "points",
                "tier",
                "trust purchase",
                "active measures",
                "open complaints",
                "active penalties",
                "open appeals",
            ],
            shop_rows,
            numeric_from=2,
        )
        + "</body></html>\n"
    )
