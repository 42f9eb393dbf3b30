"""The HTML reports in a real headless browser: they render offline, fetch nothing, sort and
filter their tables, fit a phone and keep hostile text inert.

Uses /usr/bin/chromium when present (CI installs it: .ci/run) and skips otherwise; this
test installs nothing. A page is opened from a file with networking disabled; a probe script
appended to a copy of the page (and allowed by adding its hash to the page's
Content-Security-Policy, which stays in force) clicks and types like a reader, then writes
what it saw into the DOM, which ``--dump-dom`` prints after the page has loaded.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerEnv, make_ledger
from tests.domain.builders import doc, measure, ts
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.keys import generate_signing_key
from trustledger.ledger.note import parse_note
from trustledger.storage import open_store
from trustledger_projections.projection import rebuild
from trustledger_projections.queries import actions_page, report_standings, standings_page
from trustledger_projections.report import report_digest

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
HOSTILE = (
    "<script>document.title='pwned'</script>"
    '<img src=x onerror="document.title=\'pwned\'"> & "quotes"'
)

PROBE = """
(function () {
  var out = {title: document.title};
  function column(id, index) {
    return Array.prototype.filter.call(document.querySelectorAll("#" + id + " tbody tr"),
      function (row) { return !row.hidden; }).map(function (row) {
        return row.cells[index].textContent; });
  }
  out.rows = column("shops", 0).length;
  out.statuses = document.querySelectorAll("#by-status tbody tr").length;
  out.bars = document.querySelectorAll("#chart rect").length;
  out.chart = document.getElementById("chart").getBoundingClientRect().width > 0;
  var points = document.querySelectorAll("#shops thead th button")[2];
  points.click();
  out.ascending = column("shops", 2);
  points.click();
  out.descending = column("shops", 2);
  out.sort_state = points.parentNode.getAttribute("aria-sort");
  var status = document.getElementById("shops-status");
  status.value = "closed";
  status.dispatchEvent(new Event("change", {bubbles: true}));
  out.closed = column("shops", 0);
  out.count = document.querySelector("[data-filters=shops] output").textContent;
  status.value = "";
  var text = document.getElementById("shops-q");
  text.value = "PTS";
  text.dispatchEvent(new Event("change", {bubbles: true}));
  out.matching = column("shops", 0).sort();
  out.filters_shown = !document.querySelector("[data-filters=shops]").hidden;
  out.panels = Array.prototype.map.call(document.querySelectorAll("details.shop"),
    function (panel) { return panel.id; });
  var closed = document.getElementById("shop-shop-closed");
  out.closed_panel = closed ? closed.textContent : "";
  out.injected = document.querySelectorAll("main script, main img").length;
  out.resources = performance.getEntriesByType("resource").length;
  out.overflow = document.documentElement.scrollWidth - window.innerWidth;
  out.provenance = document.getElementById("provenance").textContent;
  document.body.setAttribute("data-probe", JSON.stringify(out));
})();
"""


class Links(HTMLParser):
    """Every attribute that could make a browser fetch something, as parsed."""

    FETCHING = frozenset({"src", "href", "action", "srcset", "poster", "data", "formaction"})

    def __init__(self) -> None:
        super().__init__()
        self.outside: list[tuple[str, str, str | None]] = []
        self.fragments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.FETCHING:
                if name == "href" and value is not None and value.startswith("#"):
                    self.fragments.append(value)
                else:
                    self.outside.append((tag, name, value))


ACTIONS_PROBE = """
(function () {
  function column(index) {
    return Array.prototype.filter.call(document.querySelectorAll("#actions tbody tr"),
      function (row) { return !row.hidden; }).map(function (row) {
        return row.cells[index].textContent; });
  }
  var out = {shops: column(1), kinds: column(2), ranks: column(0)};
  var due = document.querySelectorAll("#actions thead th button")[4];
  due.click();
  out.by_due = column(4);
  var kind = document.getElementById("actions-kind");
  kind.value = "required_action";
  kind.dispatchEvent(new Event("change", {bubbles: true}));
  out.required = column(1);
  out.panels = Array.prototype.map.call(document.querySelectorAll("details.shop"),
    function (panel) { return panel.id; });
  var panel = document.getElementById("shop-shop-pts2");
  out.panel_text = panel ? panel.textContent : "";
  out.provenance = document.getElementById("provenance").textContent;
  out.resources = performance.getEntriesByType("resource").length;
  out.overflow = document.documentElement.scrollWidth - window.innerWidth;
  document.body.setAttribute("data-probe", JSON.stringify(out));
})();
"""


def chromium(tmp: Path, *args: str, width: int = 1280) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'profile'}",
        # No network: anything the page tried to fetch would fail to load.
        "--proxy-server=127.0.0.1:9",
        f"--window-size={width},1600",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def probe(page: Path, tmp: Path, *, width: int = 1280, script: str = PROBE) -> dict[str, Any]:
    """Open a copy of ``page`` with the probe appended; what the probe saw."""
    text = page.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    text = text.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    copy = tmp / f"probe-{width}.html"
    copy.write_text(text.replace("</body>", f"<script>{script}</script></body>"), "utf-8")
    result = chromium(tmp, "--dump-dom", copy.as_uri(), width=width)
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match is not None, result.stderr[-2000:]
    seen: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return seen


def shop(shop_id: str, *later: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        doc("shop.registered", shop_id=shop_id),
        doc("verification.submitted", shop_id=shop_id, occurred_at=ts(hours=1)),
        doc("verification.approved", shop_id=shop_id, occurred_at=ts(hours=2)),
        *later,
    ]


def penalty(shop_id: str, points: int, severity: str) -> dict[str, Any]:
    return doc(
        "penalty.imposed",
        shop_id=shop_id,
        occurred_at=ts(days=3),
        severity=severity,
        points=points,
        violation="late_shipping",
        measures=[measure("warning")],
    )


@pytest.fixture(scope="module")
def ledger_with_shops(tmp_path_factory: pytest.TempPathFactory) -> LedgerEnv:
    env = make_ledger(tmp_path_factory.mktemp("ledger"))
    env.append_history("shop-upheld")
    env.append(shop("shop-pts6", penalty("shop-pts6", 6, "minor")))
    env.append(shop("shop-pts12", penalty("shop-pts12", 12, "serious")))
    env.append(
        shop(
            "shop-pts2",
            penalty("shop-pts2", 2, "minor"),
            doc("complaint.filed", shop_id="shop-pts2", occurred_at=ts(days=1)),
        )
    )
    env.append(shop("shop-closed", doc("shop.closed", shop_id="shop-closed", reason=HOSTILE)))
    store = open_store(env.url)
    try:
        create_checkpoint(store, generate_signing_key("log"))
        rebuild(store)
    finally:
        store.close()
    return env


@pytest.fixture(scope="module")
def standings(ledger_with_shops: LedgerEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = standings_page(ledger_with_shops.url, at=AS_OF).value.text
    path = tmp_path_factory.mktemp("page") / "standings.html"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_page_asks_for_nothing_outside_itself(standings: Path) -> None:
    text = standings.read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)
    assert csp is not None
    assert csp.group(1).startswith("default-src 'none'; ")
    assert "unsafe-inline" not in csp.group(1)
    links = Links()
    links.feed(text)
    assert links.outside == []
    assert links.fragments  # the shop cells link to their panels
    assert "url(" not in text
    assert "@import" not in text
    assert "://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_page_renders_to_a_screenshot(standings: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, f"--screenshot={shot}", standings.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # a blank page compresses to far less


def test_a_reader_sorts_and_filters_the_shops(standings: Path, tmp_path: Path) -> None:
    seen = probe(standings, tmp_path)
    assert seen["rows"] == 5
    assert seen["statuses"] == 6  # every status of docs/DECISIONS.md's precedence
    # One month: complaints filed, penalties imposed, appeals overturned, remedies paid.
    assert seen["bars"] == 4
    assert seen["chart"] is True
    # Points compare as numbers (as text, "12" would sort before "2").
    assert seen["ascending"] == ["0", "0", "2", "6", "12"]
    assert seen["descending"] == ["12", "6", "2", "0", "0"]
    assert seen["sort_state"] == "descending"
    assert seen["closed"] == ["shop-closed"]
    assert seen["count"] == "1 of 5 shown"
    assert seen["matching"] == ["shop-pts12", "shop-pts2", "shop-pts6"]
    assert seen["filters_shown"] is True
    assert seen["resources"] == 0


def test_every_page_says_what_it_covers(
    ledger_with_shops: LedgerEnv, standings: Path, tmp_path: Path
) -> None:
    seen = probe(standings, tmp_path)
    store = open_store(ledger_with_shops.url)
    try:
        head = store.chain_head()
        checkpoint = store.latest_checkpoint()
    finally:
        store.close()
    assert head is not None and checkpoint is not None
    origin = parse_note(checkpoint.note).text.splitlines()[0]
    digest = report_digest(report_standings(ledger_with_shops.url, at=AS_OF).value.document)
    text = " ".join(seen["provenance"].split())
    assert f"Ledger entries{head.size}" in text
    assert f"Head chain hash{head.chain_hash.hex()}" in text
    root = base64.b64encode(checkpoint.root_hash).decode()
    assert f"Latest checkpointsize {checkpoint.size}, root hash {root}, origin {origin}" in text
    assert f"Report digest{digest} (SHA-256 of the JSON)" in text


def test_hostile_text_stays_text(standings: Path, tmp_path: Path) -> None:
    seen = probe(standings, tmp_path)
    assert seen["injected"] == 0
    assert seen["title"] == "Shop standings as of 2026-12-01T00:00:00Z"
    assert "<script>document.title='pwned'</script>" in seen["closed_panel"]
    assert "shop-shop-closed" in seen["panels"]


def test_a_phone_needs_no_sideways_scrolling(standings: Path, tmp_path: Path) -> None:
    seen = probe(standings, tmp_path, width=390)
    assert seen["overflow"] <= 0
    assert seen["rows"] == 5
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={shot}", standings.as_uri(), width=390)
    assert shot.read_bytes().startswith(PNG_MAGIC)


@pytest.fixture(scope="module")
def actions(ledger_with_shops: LedgerEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = actions_page(ledger_with_shops.url, at=AS_OF).value.text
    path = tmp_path_factory.mktemp("page") / "actions.html"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [1280, 390])
def test_the_work_queue_page(actions: Path, tmp_path: Path, width: int) -> None:
    seen = probe(actions, tmp_path, width=width, script=ACTIONS_PROBE)
    # Overdue first (the complaint's two deadlines), then the measure tier 12 requires.
    assert seen["ranks"] == ["1", "2", "3"]
    assert seen["shops"] == ["shop-pts2", "shop-pts2", "shop-pts12"]
    assert seen["kinds"] == [
        "complaint not answered by the shop",
        "complaint not resolved",
        "measure required by the points tier",
    ]
    assert seen["by_due"] == [ts(days=3), ts(days=4), ts(days=16)]
    assert seen["required"] == ["shop-pts12"]
    assert seen["panels"] == ["shop-shop-pts2", "shop-shop-pts12"]
    assert "What is due" in seen["panel_text"]
    assert "complaint.filed" in seen["panel_text"]  # its decisions, in ledger order
    assert "Report digest" in seen["provenance"]
    assert seen["resources"] == 0
    assert seen["overflow"] <= 0
