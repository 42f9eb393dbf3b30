"""C2SP tlog-tiles: tile coordinates, paths and entry bundles, on plain bytes.

A log of ``size`` entries is published as tiles of height 8 (c2sp.org/tlog-tiles):

* the **hash tile** ``(level L, index N, width W)`` lists the W hashes (32 bytes each,
  concatenated) of the tree nodes at height ``8·L`` with indices ``N·256 … N·256 + W − 1``
  (RFC 9162 §2.1.1: height 0 are the leaf hashes, ``SHA-256(0x00 ‖ entry)``); a tile is
  *full* at W = 256 and then never changes, *partial* below (its path says ``.p/<W>``);
* the **entry bundle** ``N`` lists the entries ``N·256 …`` as ``uint16be(len) ‖ entry``,
  where an entry is the bytes whose leaf hash is the log's leaf (docs/FORMAT.md §6), so an
  entry is at most 65,535 bytes (``MAX_ENTRY_SIZE``).

Paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, where ``<N>`` is written
in groups of three zero-padded digits, every group but the last prefixed with ``x``
(1234067 → ``x001/x234/067``). Go's ``golang.org/x/mod/sumdb/tlog`` reads the same hash
tiles (``TileHashReader``; its own ``Tile.Path`` adds the height, ``tile/8/…``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes or entries in a full tile
HASH_SIZE = 32
MAX_ENTRY_SIZE = 0xFFFF  # an entry bundle's uint16be length prefix
ENTRIES = -1  # the "level" of entry bundles in a Tile
_LENGTH = struct.Struct(">H")


class MalformedTile(ValueError):
    """A tile path or tile body that is not as c2sp.org/tlog-tiles writes it."""


@dataclass(frozen=True, order=True)
class Tile:
    """A tile's coordinates: ``level`` (``ENTRIES`` for an entry bundle), ``index`` and
    ``width`` (1–256; 256 is a full tile)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
        level = "entries" if self.level == ENTRIES else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{format_index(self.index)}{suffix}"


def format_index(index: int) -> str:
    """A tile index as tlog-tiles path elements: 1234067 → ``x001/x234/067``."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


_PATH = re.compile(
    r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> Tile:
    """The tile at ``path`` (without a leading slash). Raises MalformedTile for anything
    that is not a tile path in its one spelling (no leading zero group, width 1–255)."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise MalformedTile(f"not a tile path: {path!r}")
    level_text, index_text, width_text = match.groups()
    groups = index_text.replace("x", "").split("/")
    if len(groups) > 1 and groups[0] == "000":
        raise MalformedTile(f"not a tile path: {path!r} (a leading zero group)")
    index = int("".join(groups))
    width = TILE_WIDTH if width_text is None else int(width_text)
    if width_text is not None and width >= TILE_WIDTH:
        raise MalformedTile(f"not a tile path: {path!r} (a partial tile is narrower than 256)")
    level = ENTRIES if level_text == "entries" else int(level_text)
    if level != ENTRIES and level > 63 // TILE_HEIGHT:
        raise MalformedTile(f"not a tile path: {path!r} (level beyond the tree)")
    return Tile(level, index, width)


def nodes_at(level: int, size: int) -> int:
    """How many complete nodes the tree of ``size`` leaves has at tile ``level`` (height
    ``8·level``); for ``ENTRIES``, the entries."""
    return size if level == ENTRIES else size >> (TILE_HEIGHT * level)


def tile_width(level: int, index: int, size: int) -> int:
    """The width of tile ``(level, index)`` in the tree of ``size`` leaves: 256 when full,
    0 when the tree has no node of it yet."""
    return max(0, min(TILE_WIDTH, nodes_at(level, size) - index * TILE_WIDTH))


def tiles_of(size: int, *, since: int = 0) -> Iterator[Tile]:
    """Every tile (hash tiles of each level, then entry bundles) of the tree of ``size``
    leaves that differs from the tree of ``since`` leaves: the full tiles completed since,
    and the partial tile at the edge of each level. With ``since = 0``, all of them."""
    for level in [*range(0, 64 // TILE_HEIGHT), ENTRIES]:
        count = nodes_at(level, size)
        if count == 0:
            continue
        first = nodes_at(level, since) // TILE_WIDTH  # the first tile that changed
        for index in range(first, -(-count // TILE_WIDTH)):
            width = tile_width(level, index, size)
            if width == tile_width(level, index, since) and since:
                continue
            yield Tile(level, index, width)


def node_range(tile: Tile) -> tuple[int, int, int]:
    """(tree level, first index, end index) of the nodes a hash tile lists."""
    first = tile.index * TILE_WIDTH
    return tile.level * TILE_HEIGHT, first, first + tile.width


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as ``uint16be(len) ‖ entry``. Raises MalformedTile for
    an entry over ``MAX_ENTRY_SIZE`` bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise MalformedTile(f"an entry of {len(entry)} bytes exceeds {MAX_ENTRY_SIZE}")
        out += _LENGTH.pack(len(entry))
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes, width: int) -> list[bytes]:
    """The ``width`` entries of an entry bundle. Raises MalformedTile when the bytes are
    not exactly that many length-prefixed entries."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise MalformedTile("an entry bundle ends inside a length prefix")
        (length,) = _LENGTH.unpack_from(data, at)
        at += 2
        if at + length > len(data):
            raise MalformedTile("an entry bundle ends inside an entry")
        entries.append(data[at : at + length])
        at += length
    if len(entries) != width:
        raise MalformedTile(f"an entry bundle of {len(entries)} entries, expected {width}")
    return entries


def split_hash_tile(data: bytes, width: int) -> list[bytes]:
    """The ``width`` hashes of a hash tile. Raises MalformedTile on a wrong length."""
    if len(data) != width * HASH_SIZE:
        raise MalformedTile(f"a hash tile of {len(data)} bytes, expected {width * HASH_SIZE}")
    return [data[at : at + HASH_SIZE] for at in range(0, len(data), HASH_SIZE)]
