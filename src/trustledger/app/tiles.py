"""The read API of the log, C2SP tlog-tiles (``ledger.tiles`` is the format): the served
checkpoint, hash tiles, entry bundles, and publishing them all as static files.

What is served is the tree of the **latest stored checkpoint**, not the store's head: a
client that verified ``/checkpoint`` finds every tile that size needs, and no tile reveals
entries that no checkpoint commits to yet.

Which tiles are served for a checkpoint of size ``s`` (``servable``): a full tile once all
its 256 nodes are complete in the tree of ``s``; a partial tile ``.p/W`` for every width W
up to the one ``s`` gives (``tile_width``). Smaller widths are the partial tiles of earlier
sizes: their bytes never change (a prefix of the current tile), c2sp.org/tlog-tiles
requires a log to keep serving "partial tiles corresponding to tree sizes for which a
checkpoint was produced", and a client holding a checkpoint cached a few seconds ago asks
for them. A width beyond the checkpoint's, or a tile with no node yet, is NotFound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from trustledger.app.files import write_failure, write_file
from trustledger.app.paths import StrPath
from trustledger.app.transparency import latest_checkpoint, note_with_cosignatures
from trustledger.errors import Conflict, NotFound, UsageError, VerificationFailed
from trustledger.ledger.checkpoint import parse_checkpoint
from trustledger.ledger.merkle import root_hash as merkle_root
from trustledger.ledger.note import parse_note
from trustledger.ledger.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    MalformedTile,
    Tile,
    encode_entry_bundle,
    node_range,
    tile_width,
    tiles_of,
)
from trustledger.storage.base import Store

CHECKPOINT_PATH = "checkpoint"
# The size and root ``publish_tiles`` last published into a directory (not part of the API).
STATE_FILE = ".trustledger-tiles.json"


@dataclass(frozen=True)
class ServedCheckpoint:
    """The checkpoint the read API serves: the latest stored one, as a signed note with
    every cosignature stored for it, and the tree it names."""

    checkpoint_id: int
    origin: str
    size: int
    root_hash: bytes
    note: bytes


def served_checkpoint(store: Store) -> ServedCheckpoint:
    """The latest stored checkpoint with its cosignatures. Raises NotFound when the log
    has signed none yet."""
    stored = latest_checkpoint(store)
    body = parse_checkpoint(parse_note(stored.note).text)
    note = note_with_cosignatures(store, stored)
    return ServedCheckpoint(stored.id, body.origin, body.size, body.root_hash, note)


def check_servable(tile: Tile, size: int) -> None:
    """Raise NotFound unless ``tile`` is served for a checkpoint of ``size`` (module
    docstring): its width at most the width ``size`` gives its coordinates."""
    available = tile_width(tile.level, tile.index, size)
    if tile.width > available:
        if available == 0:
            why = "has no entry yet" if tile.level == ENTRIES else "has no node yet"
        elif tile.full:
            why = f"is partial (width {available}): ask for {Tile(*_coords(tile), available).path}"
        else:
            why = f"has width {available}"
        raise NotFound(f"{tile.path}: in the tree of the latest checkpoint (size {size}) it {why}")


def _coords(tile: Tile) -> tuple[int, int]:
    return tile.level, tile.index


def hash_tile(store: Store, tile: Tile, *, size: int | None = None) -> bytes:
    """The bytes of hash tile ``tile``: its ``width`` hashes of 32 bytes. ``size`` is the
    served checkpoint's (read from the store when not given). Raises NotFound for a tile
    not served at that size (``check_servable``) or an entry bundle's coordinates."""
    if tile.level == ENTRIES:
        raise NotFound(f"{tile.path} is an entry bundle, not a hash tile")
    check_servable(tile, served_checkpoint(store).size if size is None else size)
    level, first, end = node_range(tile)
    return b"".join(store.iter_node_hashes(level, first, end))


def entry_bundle(store: Store, tile: Tile, *, size: int | None = None) -> bytes:
    """The bytes of entry bundle ``tile``: its ``width`` entries (docs/FORMAT.md §6), each
    as ``uint16be(len) ‖ entry``. Raises NotFound as ``hash_tile`` does, and Conflict for
    an entry too large for a bundle (a ledger written before append refused those)."""
    if tile.level != ENTRIES:
        raise NotFound(f"{tile.path} is a hash tile, not an entry bundle")
    check_servable(tile, served_checkpoint(store).size if size is None else size)
    first = tile.index * TILE_WIDTH
    return _bundle(tile, store.iter_entry_bytes(first, first + tile.width))


def _bundle(tile: Tile, entries: Iterable[bytes]) -> bytes:
    try:
        return encode_entry_bundle(entries)
    except MalformedTile as exc:
        raise Conflict(f"{tile.path} cannot be served: {exc} (docs/FORMAT.md §17)") from exc


def tile_bytes(store: Store, tile: Tile, *, size: int | None = None) -> bytes:
    """``hash_tile`` or ``entry_bundle``, as ``tile.level`` says."""
    if tile.level == ENTRIES:
        return entry_bundle(store, tile, size=size)
    return hash_tile(store, tile, size=size)


# -- static publishing ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublishReport:
    """What ``publish_tiles`` wrote: the tree size published before and now, the files
    written (tiles and the checkpoint, when its bytes changed) and their bytes."""

    out_dir: str
    previous_size: int
    size: int
    tiles: int
    files: int
    bytes: int
    checkpoint_written: bool


def publish_tiles(store: Store, out_dir: StrPath) -> PublishReport:
    """Write the read API as files under ``out_dir`` (``checkpoint``, ``tile/<L>/<N>[.p/<W>]``,
    ``tile/entries/<N>[.p/<W>]``, the paths a server answers), for any static web server,
    CDN or object store to serve.

    Only what changed since the last run is written (``tiles_of(size, since=...)``, the size
    published last being kept in ``STATE_FILE``): the full tiles completed since and each
    level's new partial tile, then the checkpoint if its bytes changed (new cosignatures
    change them too). Every file is written under a temporary name, flushed to disk and
    renamed; the checkpoint is renamed after every tile it needs, so a reader never sees a
    checkpoint whose tiles are missing; the state last, so a run cut short is redone whole by
    the next. Partial tiles of earlier sizes are left in place (docs/OPERATIONS.md).

    Raises NotFound when the log has no checkpoint, UsageError for an ``out_dir`` that is
    a file, VerificationFailed when the directory holds a tree this log does not extend
    (another log, or a log that lost entries): publish that one into a fresh directory.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is not a directory")
    served = served_checkpoint(store)
    previous = _published_size(store, out_dir, served)
    tiles = written = 0
    for tile, data in _changed_tiles(store, served.size, previous):
        _write_file(out_dir / tile.path, data)
        tiles += 1
        written += len(data)
    checkpoint_file = out_dir / CHECKPOINT_PATH
    changed = not checkpoint_file.exists() or checkpoint_file.read_bytes() != served.note
    if changed:
        _write_file(checkpoint_file, served.note)
        written += len(served.note)
    state = {"origin": served.origin, "size": served.size, "root_hash": served.root_hash.hex()}
    if previous != served.size or not (out_dir / STATE_FILE).exists():
        _write_file(out_dir / STATE_FILE, json.dumps(state).encode() + b"\n")
    return PublishReport(
        str(out_dir), previous, served.size, tiles, tiles + changed, written, changed
    )


def _published_size(store: Store, out_dir: Path, served: ServedCheckpoint) -> int:
    """The size published last into ``out_dir`` (0 for a fresh directory), checked to be
    a tree the served one extends."""
    try:
        state = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        origin, size, root = state["origin"], int(state["size"]), bytes.fromhex(state["root_hash"])
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{out_dir / STATE_FILE} is unreadable ({exc}): publish into a fresh directory, "
            "or delete the file to publish every tile again"
        ) from exc
    if origin != served.origin:
        raise VerificationFailed(
            f"{out_dir} holds the log {origin!r}, not {served.origin!r}: publish into a "
            "fresh directory"
        )
    if size > served.size:
        raise VerificationFailed(
            f"{out_dir} holds a tree of {size} entries, the log's latest checkpoint only "
            f"{served.size}: the log lost entries; refusing to publish"
        )
    if merkle_root(size, store.merkle_nodes) != root:
        raise VerificationFailed(
            f"{out_dir} holds a tree of {size} entries whose root {root.hex()} is not this "
            "log's at that size: history was rewritten, or it is another log; refusing"
        )
    return size


def _changed_tiles(store: Store, size: int, since: int) -> Iterator[tuple[Tile, bytes]]:
    """The tiles of ``tiles_of(size, since=since)`` with their bytes; each level's run of
    consecutive tiles is read as one range (streamed a page at a time)."""
    runs: list[list[Tile]] = []
    for tile in tiles_of(size, since=since):
        last = runs[-1][-1] if runs else None
        if last is not None and last.level == tile.level and last.index + 1 == tile.index:
            runs[-1].append(tile)
        else:
            runs.append([tile])
    for run in runs:
        first = run[0].index * TILE_WIDTH
        end = run[-1].index * TILE_WIDTH + run[-1].width
        if run[0].level == ENTRIES:
            entries = store.iter_entry_bytes(first, end)
            for tile in run:
                yield tile, _bundle(tile, islice(entries, tile.width))
        else:
            hashes = store.iter_node_hashes(run[0].level * TILE_HEIGHT, first, end)
            for tile in run:
                yield tile, b"".join(islice(hashes, tile.width))


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` whole or not at all (trustledger.app.files), creating its
    directories."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failure(path.parent, exc) from exc
    write_file(path, data)
