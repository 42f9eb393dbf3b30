"""Trends per month: a small inline SVG bar chart and the same numbers as a table.

The SVG scales down to the width of a phone (``viewBox``); the table carries the exact
numbers for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Final

from trustledger_projections.html.tables import Column, Row, table

__all__ = ["SERIES", "trends"]

#: (key in the monthly counts, bar colour, label); colours match style.py's .s0 ... .s3.
SERIES: Final = (
    ("complaints", "#7c3aed", "complaints filed"),
    ("penalties", "#c2410c", "penalties imposed"),
    ("appeals_overturned", "#15803d", "appeals overturned"),
    ("remedies_paid", "#1d4ed8", "remedies paid"),
)


def _svg(months: list[str], counts: Mapping[str, Mapping[str, int]]) -> str:
    peak = max(counts[m].get(key, 0) for m in months for key, _, _ in SERIES) or 1
    bar, gap, height, left, bottom = 9, 14, 200, 40, 36
    group = bar * len(SERIES) + gap
    width = left + group * len(months) + gap
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height + bottom}" width="{width}" height="{height + bottom}" role="img" '
        'aria-labelledby="chart-title"><title id="chart-title">Complaints, penalties, '
        "appeals overturned and remedies paid per month</title>",
        f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#6b7280"/>',
        f'<text x="{left - 6}" y="12" font-size="11" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{height}" font-size="11" text-anchor="end">0</text>',
    ]
    for index, month in enumerate(months):
        x0 = left + gap + index * group
        for offset, (key, color, label) in enumerate(SERIES):
            value = counts[month].get(key, 0)
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
    return "".join(parts)


def trends(counts: Mapping[str, Mapping[str, int]]) -> str:
    """The chart, its legend and a table with one row per month (oldest first)."""
    months = sorted(counts)
    if not months:
        return '<p id="chart-empty">Nothing happened yet.</p>'
    legend = "".join(
        f'<span><i class="s{index}"></i>{label}</span>'
        for index, (_, _, label) in enumerate(SERIES)
    )
    rows = [Row([month, *(counts[month].get(key, 0) for key, _, _ in SERIES)]) for month in months]
    columns = [Column("month"), *(Column(label, numeric=True) for _, _, label in SERIES)]
    return (
        f'<div class="scroll">{_svg(months, counts)}</div>'
        f'<p class="legend" aria-hidden="true">{legend}</p>'
        + table("trends", columns, rows, caption="Per month (UTC)", cards=True)
    )
