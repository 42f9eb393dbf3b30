"""The pages' only script: sortable and filterable tables, in plain JavaScript.

Tables rendered by ``tables.table`` carry what the script needs in the markup: a header's
``<button>`` sorts by that column (``data-type`` ``num`` compares numbers, anything else
compares text, which orders RFC 3339 timestamps by time); a cell's ``data-sort`` overrides
its text as the sort key. A filter bar (``data-filters`` naming the table) holds a text box
matching any cell and ``<select>``s matching a row attribute (``data-col`` names it). The
page works without the script: it is then a static, complete table.

The script is inline and allowed by its SHA-256 in the page's Content-Security-Policy
(``page.py``), so nothing else can run and nothing can be fetched.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SCRIPT"]

SCRIPT: Final = """
(function () {
  "use strict";
  function key(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (!numeric) { return text.trim().toLowerCase(); }
    var value = parseFloat(text);
    return isNaN(value) ? -Infinity : value;
  }
  function sortBy(table, th) {
    var index = th.cellIndex, numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return [key(row, index, numeric), position, row];
    });
    rows.sort(function (a, b) {
      if (a[0] < b[0]) { return ascending ? -1 : 1; }
      if (a[0] > b[0]) { return ascending ? 1 : -1; }
      return a[1] - b[1];
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (entry) { fragment.appendChild(entry[2]); });
    body.appendChild(fragment);
  }
  function applyFilters(bar) {
    var table = document.getElementById(bar.getAttribute("data-filters"));
    var text = bar.querySelector("input[type=search]");
    var needle = text ? text.value.trim().toLowerCase() : "";
    var selects = bar.querySelectorAll("select[data-col]");
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], visible = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
      for (var j = 0; visible && j < selects.length; j++) {
        var wanted = selects[j].value, column = selects[j].getAttribute("data-col");
        visible = !wanted || row.getAttribute("data-" + column) === wanted;
      }
      row.hidden = !visible;
      if (visible) { shown++; }
    }
    var count = bar.querySelector("output");
    if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.tHead.querySelectorAll("th button").forEach(function (button) {
      button.addEventListener("click", function () { sortBy(table, button.parentNode); });
    });
  });
  document.querySelectorAll("[data-filters]").forEach(function (bar) {
    bar.hidden = false;
    var timer = null;
    bar.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { applyFilters(bar); }, 120);
    });
    bar.addEventListener("change", function () { applyFilters(bar); });
  });
})();
"""
