"""`trustledger monitor` over real sockets: following `serve`, then a static copy written
by `tiles publish`, each run verifying only the new entries; a rollback served later is
refused with its evidence."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from starlette.staticfiles import StaticFiles

from tests.server.live import serving
from tests.server.logs import ORIGIN, SignedLog, read_app, signed_log
from trustledger.app.tiles import publish_tiles
from trustledger.ledger.keys import format_verifier_key
from trustledger_cli.main import main


def monitor(log: SignedLog, url: str, state: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, [
        "monitor", url, "--trusted-key", format_verifier_key(log.env.root.verifier),
        "--log-key", format_verifier_key(log.log_key.verifier),
        "--witness-key", format_verifier_key(log.witness.verifier), "--quorum", "1",
        "--origin", ORIGIN, "--state", str(state), "--workers", "1", "--json",
    ])  # fmt: skip
    return result.exit_code, json.loads(result.output)


def test_monitor_follows_serve_and_a_static_copy(tmp_path: Path) -> None:
    log = signed_log(tmp_path, size=602)
    state = tmp_path / "mon"
    with serving(read_app(log.env.url)) as base:
        code, first = monitor(log, base, state)
        assert code == 0, first
        assert (first["previous_size"], first["size"], first["new_entries"]) == (0, 602, 602)
    log.grow(100)
    log.checkpoint()
    with serving(read_app(log.env.url)) as base:  # (serve keeps its checkpoint a second)
        code, second = monitor(log, base, state)
    assert code == 0, second
    assert (second["previous_size"], second["size"], second["new_entries"]) == (602, 702, 100)
    site = tmp_path / "site"
    with log.env.open() as ledger:
        publish_tiles(ledger.store, site)
    with serving(StaticFiles(directory=site)) as static:
        code, third = monitor(log, static, state)
    assert code == 0, third
    assert (third["new_entries"], third["root_hash"]) == (0, second["root_hash"])


def test_a_rollback_served_later_is_refused_with_evidence(tmp_path: Path) -> None:
    log = signed_log(tmp_path, size=300)
    old_site = tmp_path / "old"
    with log.env.open() as ledger:
        publish_tiles(ledger.store, old_site)
    log.grow(10)
    log.checkpoint()
    state = tmp_path / "mon"
    with serving(read_app(log.env.url)) as base:
        assert monitor(log, base, state)[0] == 0
    with serving(StaticFiles(directory=old_site)) as stale:
        code, report = monitor(log, stale, state)
    assert code == 1
    failure = report["failure"]
    assert isinstance(failure, dict) and failure["check"] == "checkpoint"
    assert "rollback" in str(failure["message"])
    evidence = Path(str(report["evidence"]))
    assert sorted(p.name for p in evidence.iterdir()) == [
        "fetched.checkpoint", "held.checkpoint", "report.json",
    ]  # fmt: skip
