"""The reports as self-contained HTML pages that people work in.

Each page carries its provenance (``page.py``), sortable and filterable tables
(``tables.py``, ``script.py``), and panels for the shops that need attention
(``panels.py``). Nothing is fetched: the CSS, the script and the SVG chart are inline, and
the page's Content-Security-Policy forbids any request.

- ``format_html``: the standings report (summary, trends per month, every shop);
- ``format_actions_html``: the work queue (``report actions``), most urgent first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from trustledger.domain.standing import STATUSES
from trustledger_projections.actions import detail_text
from trustledger_projections.decisions import DecisionLine
from trustledger_projections.html.chart import trends
from trustledger_projections.html.page import page
from trustledger_projections.html.panels import KINDS, panel, panel_id
from trustledger_projections.html.tables import Cell, Column, Row, filter_bar, table
from trustledger_projections.provenance import Provenance
from trustledger_projections.report import StandingsReport

__all__ = ["format_actions_html", "format_html"]


def _shop_cell(shop_id: str, panels: Mapping[str, Sequence[DecisionLine]]) -> Cell:
    return Cell(shop_id, link=panel_id(shop_id) if shop_id in panels else None, css="id")


def _panels_section(
    shops: Sequence[Mapping[str, Any]],
    panels: Mapping[str, Sequence[DecisionLine]],
    items: Mapping[str, Sequence[Mapping[str, Any]]],
    needing: int,
) -> str:
    if not needing:
        return ""
    shown = "".join(
        panel(shop, panels[shop["shop_id"]], items.get(shop["shop_id"], ()))
        for shop in shops
        if shop["shop_id"] in panels
    )
    note = (
        f"<p>Decisions of {len(panels)} of the {needing} shop(s) needing attention (those "
        "in the work queue first, most urgent first). Any shop's decisions: "
        "<code>trustledger log --shop SHOP_ID</code>.</p>"
    )
    return f'<h2 id="attention">Shops needing attention</h2>{note}{shown}'


def _summary_tables(report: StandingsReport) -> str:
    summary = report.summary
    rate = summary.overturn_rate
    appeals: list[Row] = [
        Row([status, summary.appeals.get(status, 0)])
        for status in ("open", "upheld", "rejected", "withdrawn")
    ]
    shown_rate = "–" if rate is None else f"{rate:.1%}"
    appeals.append(Row(["overturn rate (upheld ÷ decided)", shown_rate]))
    count = Column("shops", numeric=True)
    return (
        '<div class="grid"><section><h2>Shops by status</h2>'
        + table(
            "by-status",
            [Column("status"), count],
            [Row([s, summary.shops_by_status.get(s, 0)]) for s in STATUSES],
            sortable=False,
        )
        + "</section><section><h2>Penalties by violation</h2>"
        + table(
            "by-violation",
            [Column("violation"), Column("imposed", True), Column("revoked", True)],
            [
                Row([violation, counts["imposed"], counts["revoked"]])
                for violation, counts in sorted(summary.penalties_by_violation.items())
            ],
            sortable=False,
        )
        + "</section><section><h2>Measures imposed</h2>"
        + table(
            "by-measure",
            [Column("measure"), Column("count", True)],
            [Row([kind, n]) for kind, n in sorted(summary.penalties_by_measure.items())],
            sortable=False,
        )
        + "</section><section><h2>Appeal outcomes</h2>"
        + table("appeals", [Column("appeals"), Column("count", True)], appeals, sortable=False)
        + "</section></div>"
    )


_SHOP_COLUMNS = (
    Column("shop"),
    Column("status"),
    Column("points", numeric=True),
    Column("tier", numeric=True),
    Column("trust purchase"),
    Column("not eligible because"),
    Column("active measures"),
    Column("open complaints", numeric=True),
    Column("active penalties", numeric=True),
    Column("open appeals", numeric=True),
)


def format_html(
    report: StandingsReport,
    *,
    provenance: Provenance,
    panels: Mapping[str, Sequence[DecisionLine]] | None = None,
    items: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    needing_attention: int = 0,
) -> str:
    """The standings page. ``panels`` maps the shops shown in full to their decisions (in
    the order of ``report``'s shops), ``items`` the work-queue items of each shop, and
    ``needing_attention`` counts every shop that would deserve a panel."""
    document = report.document
    panels = panels or {}
    shops = document["shops"]
    eligible = sum(1 for shop in shops if shop["trust_purchase_eligible"])
    rows = [
        Row(
            [
                _shop_cell(shop["shop_id"], panels),
                shop["status"],
                shop["points"],
                shop["points_tier"],
                "yes" if shop["trust_purchase_eligible"] else "no",
                ", ".join(shop.get("ineligible_reasons", ())) or "–",
                ", ".join(sorted({m["type"] for m in shop["active_measures"]})) or "–",
                shop["complaints"]["open"],
                shop["penalties"]["active"],
                shop["appeals"]["open"],
            ],
            {
                "status": shop["status"],
                "eligible": "yes" if shop["trust_purchase_eligible"] else "no",
            },
        )
        for shop in shops
    ]
    filters = filter_bar(
        "shops",
        label="Filter shops (any text)",
        selects=[
            ("Status", "status", [(s, s) for s in STATUSES]),
            ("Trust purchase", "eligible", [("yes", "eligible"), ("no", "not eligible")]),
        ],
    )
    ordered = _in_panel_order(shops, panels)
    body = (
        _summary_tables(report)
        + "<h2>Trends per month</h2>"
        + trends(report.summary.timeline)
        + '<h2 id="every-shop">Every shop</h2>'
        + filters
        + table("shops", _SHOP_COLUMNS, rows, cards=True)
        + _panels_section(ordered, panels, items or {}, needing_attention)
    )
    as_of = escape(document["as_of"])
    meta = (
        f"As of <b>{as_of}</b> · rule set {escape(document['rule_set'])} · {len(shops)} shops, "
        f"{eligible} eligible for trust purchase"
    )
    return page(
        title=f"Shop standings as of {document['as_of']}",
        heading="Shop standings",
        meta=meta,
        provenance=provenance,
        body=body,
    )


def _in_panel_order(
    shops: Sequence[Mapping[str, Any]], panels: Mapping[str, Sequence[DecisionLine]]
) -> list[Mapping[str, Any]]:
    by_id = {shop["shop_id"]: shop for shop in shops if shop["shop_id"] in panels}
    return [by_id[shop_id] for shop_id in panels if shop_id in by_id]


def _amount(amount: int | None) -> Cell:
    return Cell("–", sort="-1") if amount is None else Cell(f"{amount:,}", sort=str(amount))


_ACTION_COLUMNS = (
    Column("rank", numeric=True),
    Column("shop"),
    Column("what is due"),
    Column("detail"),
    Column("due / since"),
    Column("amount (fen)", numeric=True),
    Column("decisions"),
)


def format_actions_html(
    document: Mapping[str, Any],
    *,
    provenance: Provenance,
    standings: Mapping[str, Mapping[str, Any]],
    panels: Mapping[str, Sequence[DecisionLine]] | None = None,
) -> str:
    """The work-queue page: one row per item, most urgent first, and a panel per shop in
    ``panels`` (their standings in ``standings``)."""
    panels = panels or {}
    items = document["items"]
    by_shop: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        by_shop.setdefault(item["shop_id"], []).append(item)
    rows = [
        Row(
            [
                item["rank"],
                _shop_cell(item["shop_id"], panels),
                KINDS.get(item["kind"], item["kind"]),
                detail_text(item["detail"]) or "–",
                Cell(item["due_at"], css="t"),
                _amount(item["detail"].get("amount")),
                Cell(", ".join(item["decision_ids"]), css="mono"),
            ],
            {"kind": item["kind"]},
        )
        for item in items
    ]
    kinds = sorted({item["kind"] for item in items})
    filters = filter_bar(
        "actions",
        label="Filter items (any text)",
        selects=[("What is due", "kind", [(k, KINDS.get(k, k)) for k in kinds])],
    )
    shown = [standings[shop_id] for shop_id in panels if shop_id in standings]
    body = (
        '<h2 id="queue">Work queue</h2>'
        + filters
        + table("actions", _ACTION_COLUMNS, rows, cards=True)
        + _panels_section(shown, panels, by_shop, len(by_shop))
    )
    meta = (
        f"As of <b>{escape(document['as_of'])}</b> · rule set {escape(document['rule_set'])} · "
        f"{len(items)} item(s) for {len(by_shop)} shop(s), most urgent first"
    )
    return page(
        title=f"Work queue as of {document['as_of']}",
        heading="Work queue",
        meta=meta,
        provenance=provenance,
        body=body,
    )
