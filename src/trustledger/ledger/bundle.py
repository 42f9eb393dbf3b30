"""The offline audit bundle: one file with everything needed to verify a ledger.

    line 1    "trustledger-bundle/v1"
    line 2    header: a JSON object (RFC 8259) on one line:
                {"entries": N, "checkpoint": <signed note text, with cosignatures>,
                 "head_chain_hash": <hex>, "erased_subjects": [<subject id>, ...]}
    lines 3…  one entry per line, positions 0 … N-1 in order, fields separated by TAB:
                notification_id ‖ originator_id (32 hex digits) ‖ originator_version ‖
                topic ‖ base64(state) ‖ hex(chain hash)

The entries are exactly those of the checkpoint (``N`` = its size). Nothing in the bundle
is trusted: the checkpoint must be signed by a pinned log key, the entries must rebuild
its root, the chain and every signature must verify (docs/AUDITOR.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from trustledger.errors import VerificationFailed
from trustledger.ledger.chain import StoredEntry

BUNDLE_MAGIC = "trustledger-bundle/v1"


class MalformedBundle(VerificationFailed):
    """A file that is not a well-formed bundle."""


@dataclass(frozen=True)
class BundleHeader:
    entries: int
    checkpoint: bytes
    head_chain_hash: bytes | None
    erased_subjects: frozenset[str]


def format_header(header: BundleHeader) -> bytes:
    """Lines 1 and 2 of a bundle."""
    body = {
        "entries": header.entries,
        "checkpoint": header.checkpoint.decode("utf-8"),
        "head_chain_hash": header.head_chain_hash.hex() if header.head_chain_hash else None,
        "erased_subjects": sorted(header.erased_subjects),
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"{BUNDLE_MAGIC}\n{text}\n".encode()


def parse_header(first: bytes, second: bytes) -> BundleHeader:
    """Parse lines 1 and 2 (with their newlines). Raises MalformedBundle."""
    if first != (BUNDLE_MAGIC + "\n").encode():
        raise MalformedBundle(f"not a trustledger bundle (first line is not {BUNDLE_MAGIC})")
    try:
        body: Any = json.loads(second)
        entries = body["entries"]
        checkpoint = body["checkpoint"].encode("utf-8")
        head = body["head_chain_hash"]
        erased = body["erased_subjects"]
        if not isinstance(entries, int) or entries < 0 or not isinstance(erased, list):
            raise TypeError("entries or erased_subjects of the wrong type")
        return BundleHeader(
            entries,
            checkpoint,
            bytes.fromhex(head) if head is not None else None,
            frozenset(str(s) for s in erased),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedBundle(f"bundle header is malformed: {exc}") from exc


def format_entry_line(entry: StoredEntry) -> bytes:
    """One entry line (with its newline)."""
    if "\t" in entry.topic or "\n" in entry.topic or entry.chain_hash is None:
        raise ValueError(f"entry {entry.notification_id} cannot be written to a bundle")
    return (
        f"{entry.notification_id}\t{entry.originator_id.hex}\t{entry.originator_version}\t"
        f"{entry.topic}\t{base64.b64encode(entry.state).decode()}\t{entry.chain_hash.hex()}\n"
    ).encode()


def parse_entry_line(line: bytes, position: int) -> StoredEntry:
    """The entry at ``position`` from its line. Raises MalformedBundle."""
    try:
        fields = line.rstrip(b"\n").split(b"\t")
        if len(fields) != 6:
            raise ValueError(f"{len(fields)} fields, not 6")
        notification_id, originator_id, version, topic, state, chain = fields
        return StoredEntry(
            notification_id=int(notification_id),
            originator_id=UUID(hex=originator_id.decode("ascii")),
            originator_version=int(version),
            topic=topic.decode("utf-8"),
            state=base64.b64decode(state, validate=True),
            position=position,
            chain_hash=bytes.fromhex(chain.decode("ascii")),
        )
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise MalformedBundle(f"bundle entry at position {position} is malformed: {exc}") from exc
