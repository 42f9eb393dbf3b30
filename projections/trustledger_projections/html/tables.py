"""Tables and their filter bars, as HTML text; every value is escaped here.

A ``Cell`` is text with an optional sort key (``data-sort``), an in-page link (a fragment,
never a URL) and a class. A row is its cells and the attributes the filter bar matches
(``data-status="banned"``). ``script.py`` makes a ``sortable`` table sort on a header click
and a filter bar filter its table; without the script both are plain HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Cell", "Column", "Row", "filter_bar", "table"]


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    sort: str | None = None
    link: str | None = None  # an element id on the same page
    css: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    cells: Sequence[Cell | str | int]
    attrs: Mapping[str, str] | None = None


def _cell(column: Column, value: Cell | str | int) -> str:
    cell = value if isinstance(value, Cell) else Cell(str(value))
    classes = " ".join(c for c in ("n" if column.numeric else None, cell.css) if c)
    attrs = f' data-label="{escape(column.label)}"'
    if classes:
        attrs += f' class="{classes}"'
    if cell.sort is not None:
        attrs += f' data-sort="{escape(cell.sort)}"'
    text = escape(cell.text)
    if cell.link is not None:
        text = f'<a href="#{escape(cell.link)}">{text}</a>'
    return f"<td{attrs}>{text}</td>"


def table(
    table_id: str,
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    caption: str | None = None,
    sortable: bool = True,
    cards: bool = False,
) -> str:
    """A ``<table>`` with one ``<th scope="col">`` per column (a sort button in each when
    ``sortable``), wrapped in a box that scrolls sideways on narrow screens."""
    heads = []
    for column in columns:
        label = escape(column.label)
        kind = ' data-type="num"' if column.numeric else ""
        cls = ' class="n"' if column.numeric else ""
        inner = f'<button type="button">{label}</button>' if sortable else label
        heads.append(f'<th scope="col"{cls}{kind}>{inner}</th>')
    body = []
    for row in rows:
        attrs = "".join(
            f' data-{escape(name)}="{escape(value)}"' for name, value in (row.attrs or {}).items()
        )
        pairs = zip(columns, row.cells, strict=True)
        cells = "".join(_cell(column, value) for column, value in pairs)
        body.append(f"<tr{attrs}>{cells}</tr>")
    classes = " ".join(
        name for name, wanted in (("sortable", sortable), ("cards", cards)) if wanted
    )
    cls = f' class="{classes}"' if classes else ""
    head = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table id="{escape(table_id)}"{cls}>{head}'
        f"<thead><tr>{''.join(heads)}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def filter_bar(
    table_id: str, *, label: str, selects: Sequence[tuple[str, str, Sequence[tuple[str, str]]]]
) -> str:
    """A text filter and one ``<select>`` per (label, row attribute, [(value, text), ...]),
    hidden until the script runs (without it they could do nothing)."""
    ident = escape(table_id)
    parts = [
        f'<div class="filters" data-filters="{ident}" hidden>',
        f'<label for="{ident}-q">{escape(label)}'
        f'<input type="search" id="{ident}-q" autocomplete="off"></label>',
    ]
    for text, column, options in selects:
        choices = "".join(
            f'<option value="{escape(value)}">{escape(shown)}</option>' for value, shown in options
        )
        parts.append(
            f'<label for="{ident}-{escape(column)}">{escape(text)}'
            f'<select id="{ident}-{escape(column)}" data-col="{escape(column)}">'
            f'<option value="">all</option>{choices}</select></label>'
        )
    parts.append('<output aria-live="polite"></output></div>')
    return "".join(parts)
