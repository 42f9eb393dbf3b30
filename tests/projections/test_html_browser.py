"""The HTML report in a real headless browser: it renders offline and its tables are right.

Uses /usr/bin/chromium when present (CI installs it: .ci/run) and skips otherwise; this
test installs nothing. The page is opened from a file with networking disabled; a tiny
script appended to a copy of the page writes what the browser counted into the DOM, which
``--dump-dom`` prints after the page has loaded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import LedgerEnv
from trustledger.storage import open_store
from trustledger.storage.views import open_standings_view
from trustledger_projections.html import format_html
from trustledger_projections.projection import rebuild
from trustledger_projections.report import ViewSource, build_report

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

COUNTER = """<script>
document.body.setAttribute('data-counted', [
  document.querySelectorAll('#shops tbody tr').length,
  document.querySelectorAll('#by-status tbody tr').length,
  document.querySelectorAll('#chart rect').length,
  document.getElementById('chart').getBoundingClientRect().width > 0 ? 1 : 0,
].join(','));
</script></body>"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
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
        f"--user-data-dir={tmp / 'profile'}",
        # No network: anything the page tried to fetch would fail to load.
        "--proxy-server=127.0.0.1:9",
        "--window-size=1280,1600",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def page(sqlite_ledger: LedgerEnv, tmp_path: Path) -> tuple[Path, int]:
    for n in range(4):
        sqlite_ledger.append_history(f"shop-{n}", buyer=f"buyer-{n}")
    store = open_store(sqlite_ledger.url)
    try:
        rebuild(store)
        view = open_standings_view(store)
        try:
            report = build_report(ViewSource(view), at=datetime(2026, 12, 1, tzinfo=UTC))
        finally:
            view.close()
    finally:
        store.close()
    html = format_html(report)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    path = tmp_path / "standings.html"
    path.write_text(html, encoding="utf-8")
    return path, len(report.document["shops"])


def test_the_page_renders_to_a_screenshot(page: tuple[Path, int], tmp_path: Path) -> None:
    path, _ = page
    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, f"--screenshot={shot}", path.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # a blank page compresses to far less


def test_the_browser_counts_one_row_per_shop(page: tuple[Path, int], tmp_path: Path) -> None:
    path, shops = page
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", COUNTER), "utf-8")
    result = chromium(tmp_path, "--dump-dom", probe.as_uri())
    match = re.search(r'data-counted="(\d+),(\d+),(\d+),(\d+)"', result.stdout)
    assert match is not None, result.stderr[-2000:]
    rows, statuses, bars, chart_drawn = map(int, match.groups())
    assert rows == shops == 4
    assert statuses == 6  # every status of docs/DECISIONS.md's precedence
    assert bars == 3  # one month: penalties, appeals filed, appeals upheld
    assert chart_drawn == 1
