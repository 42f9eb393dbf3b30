"""Logs to serve in tests: a ledger grown to a given size, with a checkpoint signed by a
log key and cosigned by a witness, and a C2SP tlog-tiles client's arithmetic to check it.

    log = signed_log(tmp_path, size=602)        # 2 key events + 600 decisions
    app = read_app(log.env.url)                  # every route module, as `serve` builds it
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from tests.conftest import LedgerEnv, make_ledger
from tests.domain.builders import doc
from trustledger.app.tiles import ServedCheckpoint, served_checkpoint
from trustledger.app.transparency import attach_cosignatures, create_checkpoint
from trustledger.ledger.checkpoint import add_signatures
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.keys import SigningKey, generate_signing_key
from trustledger.ledger.merkle import hash_children
from trustledger.ledger.merkle import root_hash as merkle_root
from trustledger.ledger.note import format_note, parse_note
from trustledger.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, split_hash_tile, tile_width
from trustledger_server.app import Service
from trustledger_server.process import build_app

ORIGIN = "ledger.example.test/tiles"
_shops = itertools.count(1)


@dataclass
class SignedLog:
    """A ledger, its log key and a witness key; ``checkpoint()`` signs the tree as it is."""

    env: LedgerEnv
    log_key: SigningKey
    witness: SigningKey

    def grow(self, count: int) -> None:
        """Append ``count`` decisions (shop registrations of fresh shops)."""
        for start in range(0, count, 500):
            batch = min(500, count - start)
            self.env.append([doc("shop.registered", shop_id=f"s-{next(_shops)}")
                             for _ in range(batch)])  # fmt: skip

    def checkpoint(self) -> ServedCheckpoint:
        """Sign the current tree, add the witness's cosignature; the served checkpoint."""
        with self.env.open() as ledger:
            note = create_checkpoint(ledger.store, self.log_key, origin=ORIGIN)
            line = cosign(parse_note(note).text, self.witness, timestamp=1_700_000_000)
            attach_cosignatures(ledger.store, format_note(add_signatures(parse_note(note),
                                                                         [line])))  # fmt: skip
            return served_checkpoint(ledger.store)


def signed_log(directory: Path, *, size: int, url: str | None = None) -> SignedLog:
    """A ledger of ``size`` entries (≥ 2: the root's genesis and a key registration come
    first) with a cosigned checkpoint of that size."""
    log = SignedLog(make_ledger(directory, url=url), generate_signing_key("log"),
                    generate_signing_key("witness"))  # fmt: skip
    log.grow(size - 2)
    log.checkpoint()
    return log


def read_app(url: str) -> Starlette:
    """The application `trustledger serve --db URL` serves."""
    return build_app(Service(url=url))


def root_from_tiles(size: int, fetch: Callable[[Tile], bytes]) -> bytes:
    """The RFC 9162 root of the tree of ``size`` leaves computed from hash tiles alone
    (``fetch`` returns a tile's bytes): a node at height h is folded from the 2^(h mod 8)
    hashes below it in the tile of level h div 8 (c2sp.org/tlog-tiles)."""
    tiles: dict[Tile, list[bytes]] = {}

    def node(height: int, index: int) -> bytes:
        level, below = divmod(height, TILE_HEIGHT)
        first, end = index << below, (index + 1) << below
        coords = (level, first // TILE_WIDTH)
        tile = Tile(*coords, tile_width(*coords, size))
        if tile not in tiles:
            tiles[tile] = split_hash_tile(fetch(tile), tile.width)
        hashes = tiles[tile][first % TILE_WIDTH : (end - 1) % TILE_WIDTH + 1]
        while len(hashes) > 1:  # RFC 9162 §2.1.1, a perfect subtree
            hashes = [hash_children(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def read(ids: Sequence[tuple[int, int]]) -> list[bytes]:
        return [node(height, index) for height, index in ids]

    return merkle_root(size, read)
