"""C2SP tlog-tiles coordinates, paths and entry bundles (trustledger.ledger.tiles)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustledger.ledger.tiles import (
    ENTRIES,
    MAX_ENTRY_SIZE,
    MalformedTile,
    Tile,
    decode_entry_bundle,
    encode_entry_bundle,
    format_index,
    parse_tile_path,
    split_hash_tile,
    tile_width,
    tiles_of,
)


def test_index_paths_are_groups_of_three_digits() -> None:
    # c2sp.org/tlog-tiles: "x001/x234/067" for 1234067.
    assert format_index(1234067) == "x001/x234/067"
    assert format_index(5) == "005"
    assert format_index(1000) == "x001/000"
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(ENTRIES, 5, 17).path == "tile/entries/005.p/17"


@given(
    level=st.sampled_from([ENTRIES, *range(8)]),
    index=st.integers(0, 2**40),
    width=st.integers(1, 256),
)
def test_paths_round_trip(level: int, index: int, width: int) -> None:
    tile = Tile(level, index, width)
    assert parse_tile_path(tile.path) == tile


@pytest.mark.parametrize(
    "path",
    ["tile/0/01", "tile/0/x000/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/0/001.p/07",
     "tile/8/000", "tile/00/000", "tile/0/1000", "/tile/0/000", "tile/entries/000/", "tile/e/000"],
)  # fmt: skip
def test_other_spellings_are_refused(path: str) -> None:
    with pytest.raises(MalformedTile):
        parse_tile_path(path)


def test_widths_and_the_tiles_a_size_changes() -> None:
    assert tile_width(0, 0, 300) == 256
    assert tile_width(0, 1, 300) == 44
    assert tile_width(1, 0, 300) == 1
    assert tile_width(1, 0, 255) == 0
    assert [t.path for t in tiles_of(300)] == [
        "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000",
        "tile/entries/001.p/44",
    ]  # fmt: skip
    # From 300 to 520: tile 0/001 fills, 0/002 starts, level 1 grows; 0/000 is unchanged.
    assert [t.path for t in tiles_of(520, since=300)] == [
        "tile/0/001", "tile/0/002.p/8", "tile/1/000.p/2", "tile/entries/001",
        "tile/entries/002.p/8",
    ]  # fmt: skip
    assert list(tiles_of(300, since=300)) == []


@given(st.lists(st.binary(max_size=600), max_size=20))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert decode_entry_bundle(encode_entry_bundle(entries), len(entries)) == entries


def test_entry_bundle_limits() -> None:
    assert encode_entry_bundle([b"ab"]) == b"\x00\x02ab"
    with pytest.raises(MalformedTile, match="exceeds 65535"):
        encode_entry_bundle([bytes(MAX_ENTRY_SIZE + 1)])
    with pytest.raises(MalformedTile):
        decode_entry_bundle(b"\x00\x05ab", 1)
    with pytest.raises(MalformedTile):
        decode_entry_bundle(b"\x00\x02ab", 2)
    with pytest.raises(MalformedTile):
        split_hash_tile(bytes(33), 1)
    assert split_hash_tile(bytes(64), 2) == [bytes(32), bytes(32)]
