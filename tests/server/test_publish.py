"""``publish_tiles``: the read API as files, the same bytes a static server gives as
``serve``, and a second run writing only what changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from starlette.staticfiles import StaticFiles

from tests.server.live import serving
from tests.server.logs import SignedLog, read_app, signed_log
from trustledger.app.tiles import STATE_FILE, PublishReport, publish_tiles
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.tiles import tiles_of

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def log(tmp_path: Path) -> SignedLog:
    return signed_log(tmp_path, size=602)


def publish(log: SignedLog, site: Path) -> tuple[PublishReport, dict[str, int]]:
    """Publish; the report and each file's inode and mtime after it (what was rewritten)."""
    with log.env.open() as ledger:
        report = publish_tiles(ledger.store, site)
    stamps = {
        str(path.relative_to(site)): path.stat().st_ino ^ path.stat().st_mtime_ns
        for path in site.rglob("*")
        if path.is_file()
    }
    return report, stamps


def published_paths(site: Path) -> set[str]:
    return {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()} - {STATE_FILE}


def test_a_static_server_gives_the_bytes_serve_gives(log: SignedLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    report, _ = publish(log, site)
    paths = ["checkpoint", *(tile.path for tile in tiles_of(602))]
    assert published_paths(site) == set(paths)
    assert vars(report) | {"out_dir": ""} == {
        "out_dir": "", "previous_size": 0, "size": 602, "tiles": 7, "files": 8,
        "bytes": sum((site / p).stat().st_size for p in paths), "checkpoint_written": True,
    }  # fmt: skip
    with serving(read_app(log.env.url)) as dynamic, serving(StaticFiles(directory=site)) as static:
        for path in paths:
            served, published = httpx.get(f"{dynamic}/{path}"), httpx.get(f"{static}/{path}")
            assert (served.status_code, published.status_code) == (200, 200), path
            assert served.content == published.content, path


def test_a_second_run_writes_only_what_changed(log: SignedLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _, before = publish(log, site)
    report, again = publish(log, site)
    assert (report.tiles, report.files, report.bytes) == (0, 0, 0)
    assert again == before

    log.grow(1)
    log.checkpoint()  # size 603
    report, after = publish(log, site)
    changed = {path for path in after if after[path] != before.get(path)}
    # The level-0 tile and the bundle at the edge, then the checkpoint; the state file.
    assert changed == {
        "tile/0/002.p/91", "tile/entries/002.p/91", "checkpoint", STATE_FILE
    }  # fmt: skip
    assert (report.previous_size, report.size, report.tiles, report.files) == (602, 603, 2, 3)
    # The partial tiles of 602 stay: a client holding that checkpoint still finds them.
    assert (site / "tile/0/002.p/90").exists()
    assert json.loads((site / STATE_FILE).read_text())["size"] == 603


def test_new_cosignatures_rewrite_the_checkpoint_alone(log: SignedLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish(log, site)
    log.witness = type(log.witness)("witness-2", log.witness.private_key)
    log.checkpoint()  # the same tree, one more cosignature line
    report, _ = publish(log, site)
    assert (report.tiles, report.files, report.checkpoint_written) == (0, 1, True)
    assert (site / "checkpoint").read_text(encoding="utf-8").count("— ") == 3


def test_no_temporary_file_is_left(log: SignedLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish(log, site)
    assert not [p for p in site.rglob("*.tmp")]


def test_a_directory_of_another_tree_is_refused(log: SignedLog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish(log, site)
    state = json.loads((site / STATE_FILE).read_text())
    (site / STATE_FILE).write_text(json.dumps(state | {"root_hash": "00" * 32}))
    with pytest.raises(VerificationFailed, match="history was rewritten, or it is another log"):
        publish(log, site)
    (site / STATE_FILE).write_text(json.dumps(state | {"size": 700}))
    with pytest.raises(VerificationFailed, match="holds a tree of 700 entries, the log's latest"):
        publish(log, site)
    (site / STATE_FILE).write_text(json.dumps(state | {"origin": "other"}))
    with pytest.raises(VerificationFailed, match="holds the log 'other'"):
        publish(log, site)
    (site / STATE_FILE).write_text("{")
    with pytest.raises(UsageError, match="is unreadable"):
        publish(log, site)


def test_out_must_be_a_directory(log: SignedLog, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        publish(log, tmp_path / "file")
    assert not os.path.exists(tmp_path / "site")
