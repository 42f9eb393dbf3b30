"""The read API over a real socket (C2SP tlog-tiles): the checkpoint and every tile
byte-exact, a root recomputed from the tiles alone, entry bundles equal to the stored
entries, cache headers, and 404s for what is not served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.live import serving
from tests.server.logs import SignedLog, read_app, root_from_tiles, signed_log
from trustledger.ledger.chain import encode_entry, leaf_hash
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.note import parse_note
from trustledger.ledger.tiles import (
    ENTRIES,
    Tile,
    decode_entry_bundle,
    split_hash_tile,
    tiles_of,
)
from trustledger_server.problems import PROBLEM_JSON

SIZE = 602  # 2 full level-0 tiles, a partial one of width 90, a level-1 tile of width 2


@pytest.fixture
def log(tmp_path: Path, store_url: str) -> SignedLog:
    url = None if store_url.startswith("sqlite:") else store_url
    return signed_log(tmp_path, size=SIZE, url=url)


@pytest.fixture
def base(log: SignedLog) -> Iterator[str]:
    with serving(read_app(log.env.url)) as url:
        yield url


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(f"{base}/{path}")


def test_the_checkpoint_is_the_latest_signed_with_its_cosignatures(
    log: SignedLog, base: str
) -> None:
    served = log.checkpoint()  # the same tree again: the stored note, cosignatures added
    response = get(base, "checkpoint")
    assert response.status_code == 200
    assert response.content == served.note
    assert len(parse_note(response.content).signatures) == 2  # the log's and the witness's
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=5"


def test_the_tiles_give_the_checkpoints_root_and_the_stored_entries(
    log: SignedLog, base: str
) -> None:
    checkpoint = parse_checkpoint(parse_note(get(base, "checkpoint").content).text)
    assert checkpoint.size == SIZE

    def fetch(tile: Tile) -> bytes:
        response = get(base, tile.path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/octet-stream"
        return response.content

    assert root_from_tiles(SIZE, fetch) == checkpoint.root_hash
    with log.env.open() as ledger:
        stored = [encode_entry(e.originator_id, e.originator_version, e.topic, e.state)
                  for e in ledger.store.iter_entries()]  # fmt: skip
    bundles = [tile for tile in tiles_of(SIZE) if tile.level == ENTRIES]
    assert [tile.path for tile in bundles] == [
        "tile/entries/000", "tile/entries/001", "tile/entries/002.p/90"
    ]  # fmt: skip
    entries = [e for tile in bundles for e in decode_entry_bundle(fetch(tile), tile.width)]
    assert entries == stored
    leaves = [h for tile in tiles_of(SIZE) if tile.level == 0
              for h in split_hash_tile(fetch(tile), tile.width)]  # fmt: skip
    assert leaves == [leaf_hash(entry) for entry in entries]


@pytest.mark.sqlite_only
def test_full_tiles_are_immutable_partial_ones_short_lived(base: str) -> None:
    full, partial = get(base, "tile/0/001"), get(base, "tile/0/002.p/90")
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert partial.headers["cache-control"] == "public, max-age=5"
    assert len(full.content) == 256 * 32 and len(partial.content) == 90 * 32


@pytest.mark.sqlite_only
def test_a_narrower_partial_tile_is_the_prefix_of_the_tile(base: str) -> None:
    # The partial tile of an earlier checkpoint's size (c2sp.org/tlog-tiles: served while
    # the tile is not full, and after: its bytes never change).
    wide = get(base, "tile/0/002.p/90").content
    assert get(base, "tile/0/002.p/10").content == wide[: 10 * 32]
    assert get(base, "tile/0/000.p/7").content == get(base, "tile/0/000").content[: 7 * 32]
    bundle = get(base, "tile/entries/002.p/3").content
    assert (
        decode_entry_bundle(bundle, 3)
        == decode_entry_bundle(get(base, "tile/entries/002.p/90").content, 90)[:3]
    )


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("tile/0/003.p/1", "in the tree of the latest checkpoint (size 602) it has no node yet"),
        ("tile/0/002", "it is partial (width 90): ask for tile/0/002.p/90"),
        ("tile/0/002.p/91", "it has width 90"),
        ("tile/1/000", "it is partial (width 2): ask for tile/1/000.p/2"),
        ("tile/2/000.p/1", "it has no node yet"),
        ("tile/entries/002.p/91", "it has width 90"),
        ("tile/entries/x001/000", "it has no entry yet"),
        ("tile/0/2", "not a tile path: 'tile/0/2'"),
        ("tile/00/000", "not a tile path"),
        ("tile/0/000.p/256", "not a tile path"),
        ("tile/0/000.p/0", "not a tile path"),
        ("tile/0/x000/001", "a leading zero group"),
        ("tile/data/000", "not a tile path"),
        ("tile/8/0/000", "not a tile path"),
    ],
)
def test_what_is_not_served_is_a_404_problem(base: str, path: str, detail: str) -> None:
    response = get(base, path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["cache-control"] == "no-store"
    assert detail in response.json()["detail"]


@pytest.mark.sqlite_only
def test_tiles_follow_the_checkpoint_not_the_stores_head(log: SignedLog, base: str) -> None:
    log.grow(10)  # 612 entries stored, the checkpoint still says 602
    assert get(base, "tile/0/002.p/100").status_code == 404
    assert get(base, "tile/0/002.p/90").status_code == 200
    log.checkpoint()
    # At once, though the served checkpoint is kept for a second: a tile beyond it
    # makes the server look again.
    assert get(base, "tile/0/002.p/100").status_code == 200
    assert get(base, "tile/entries/002.p/100").status_code == 200


@pytest.mark.sqlite_only
def test_a_log_without_a_checkpoint_has_nothing_to_serve(tmp_path: Path) -> None:
    from tests.conftest import make_ledger

    env = make_ledger(tmp_path)
    with serving(read_app(env.url)) as base:
        response = get(base, "checkpoint")
        assert response.status_code == 404
        assert "no checkpoint yet" in response.json()["detail"]
        assert get(base, "tile/0/000.p/1").status_code == 404


@pytest.mark.sqlite_only
def test_only_get_and_head(base: str) -> None:
    assert httpx.post(base + "/checkpoint").status_code == 405
    head = httpx.head(base + "/tile/0/000")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(256 * 32)
