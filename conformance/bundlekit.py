"""Rebuild a bundle (docs/FORMAT.md §13) from a list of entries after editing one of them.

The conformance generator edits one thing in a valid ledger and re-makes everything else
valid around it, with the library's own definitions of every byte: the entry, leaf and
chain hashes (``ledger.chain``), the Merkle root (``ledger.merkle``), the signed payload
(``ledger.envelope``), the checkpoint note and its cosignatures (``ledger.checkpoint``,
``ledger.cosignature``) and the bundle's lines (``ledger.bundle``). A ``Draft`` holds the
entries and the knobs a case turns; ``render`` writes its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from trustledger.ledger.bundle import BundleHeader, format_entry_line, format_header
from trustledger.ledger.chain import (
    GENESIS_CHAIN_HASH,
    StoredEntry,
    encode_entry,
    leaf_hash,
    next_chain_hash,
)
from trustledger.ledger.checkpoint import Checkpoint, format_checkpoint
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.envelope import canonical_payload, sign_payload
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.merkle import EMPTY_ROOT, CompactRange, inclusion_plan, materialise
from trustledger.ledger.note import NoteSignature, format_signature_line, sign_note_text
from trustledger.ledger.proof import InclusionProof, format_inclusion_proof

#: The time every cosignature of the corpus carries (seconds since the epoch).
COSIGNED_AT = 1_790_000_000


@dataclass(frozen=True)
class Row:
    """One entry as a bundle line carries it; ``chain`` set means "write this chain hash"
    instead of the recomputed one (an edit that is *not* re-chained)."""

    notification_id: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes
    chain: bytes | None = None

    def entry_bytes(self) -> bytes:
        """docs/FORMAT.md §6."""
        return encode_entry(self.originator_id, self.version, self.topic, self.state)


def state_members(state: bytes) -> dict[str, Any]:
    """The stored state's members, in their order."""
    members: dict[str, Any] = json.loads(state)
    return members


def dump_state(members: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8, as eventsourcing's transcoder writes a state."""
    return json.dumps(members, ensure_ascii=False, separators=(",", ":")).encode()


def document_of(row: Row) -> dict[str, Any]:
    """The signed document of an entry."""
    document: dict[str, Any] = json.loads(state_members(row.state)["payload"])
    return document


def signed_state(state: bytes, payload: str, key: SigningKey) -> bytes:
    """``state`` with its payload replaced by ``payload`` (verbatim) signed by ``key``."""
    signed = sign_payload(payload, key)
    members = state_members(state)
    members["payload"] = signed.payload
    members["signature"] = signed.signature_b64
    members["key_id"] = str(signed.key_id)
    return dump_state(members)


def resigned(row: Row, document: dict[str, Any], key: SigningKey, **changes: Any) -> Row:
    """``row`` carrying ``document`` (RFC 8785) signed by ``key``."""
    return replace(row, state=signed_state(row.state, canonical_payload(document), key), **changes)


def chain_hashes(rows: Sequence[Row]) -> list[bytes]:
    """The chain hash each line carries: the row's own, else recomputed from the line
    before (as a verifier does: from the *stored* previous chain hash)."""
    out: list[bytes] = []
    previous = GENESIS_CHAIN_HASH
    for row in rows:
        chain = row.chain or next_chain_hash(previous, leaf_hash(row.entry_bytes()))
        out.append(chain)
        previous = chain
    return out


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH of the leaves."""
    tree = CompactRange()
    for leaf in leaves:
        tree.append_leaf(leaf)
    return tree.root() if leaves else EMPTY_ROOT


def subtree(leaves: Sequence[bytes], level: int, index: int) -> bytes:
    """RFC 9162 §2.1.1 MTH of leaves [index·2^level, (index+1)·2^level)."""
    return merkle_root(leaves[index << level : (index + 1) << level])


def inclusion_hashes(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size])."""
    return materialise(
        inclusion_plan(index, size), lambda nodes: [subtree(leaves, lv, ix) for lv, ix in nodes]
    )


@dataclass(frozen=True)
class Signers:
    """Who signs a checkpoint: the log key and the cosigning witnesses."""

    log: SigningKey
    witnesses: tuple[SigningKey, ...] = ()


def checkpoint_signatures(text: str, signers: Signers) -> list[NoteSignature]:
    """The log's signature, then each witness's cosignature at ``COSIGNED_AT``."""
    return [
        sign_note_text(text, signers.log),
        *(cosign(text, w, timestamp=COSIGNED_AT) for w in signers.witnesses),
    ]


def note_bytes(text: str, signatures: Sequence[NoteSignature], extra_lines: str = "") -> bytes:
    """A signed note: text, blank line, signature lines (and any raw ``extra_lines``)."""
    lines = "".join(format_signature_line(s) for s in signatures)
    return (text + "\n" + lines + extra_lines).encode()


def signed_checkpoint(checkpoint: Checkpoint, signers: Signers, extra_lines: str = "") -> bytes:
    """The checkpoint's note signed by the log key and cosigned by the witnesses."""
    text = format_checkpoint(checkpoint)
    return note_bytes(text, checkpoint_signatures(text, signers), extra_lines)


@dataclass
class Draft:
    """A bundle being made: its entries and what a case changes around them."""

    rows: list[Row]
    erased: list[str]
    origin: str
    signers: Signers
    #: Replaces the checkpoint computed from the rows (size, root, note) when set.
    checkpoint: bytes | None = None
    #: Line index → replacement raw line (without newline), applied last.
    raw_lines: dict[int, bytes] = field(default_factory=dict)
    #: Edits the header's members (a dict in the canonical order) before it is written.
    header_members: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: Replaces line 2 entirely (bytes without the newline) when set.
    raw_header: Callable[[bytes], bytes] | None = None
    #: Lines added after the entries, raw (each with its newline).
    tail: bytes = b""
    #: Whether the last line ends with a newline.
    final_newline: bool = True

    def leaves(self) -> list[bytes]:
        return [leaf_hash(row.entry_bytes()) for row in self.rows]

    def default_checkpoint(self, size: int | None = None) -> Checkpoint:
        leaves = self.leaves()
        size = len(leaves) if size is None else size
        return Checkpoint(self.origin, size, merkle_root(leaves[:size]))

    def note(self) -> bytes:
        if self.checkpoint is not None:
            return self.checkpoint
        return signed_checkpoint(self.default_checkpoint(), self.signers)


def entry_line(row: Row, chain: bytes, position: int) -> bytes:
    """The bundle line of an entry (docs/FORMAT.md §13), without its newline."""
    entry = StoredEntry(
        row.notification_id, row.originator_id, row.version, row.topic, row.state, position, chain
    )
    return format_entry_line(entry)[:-1]


def render(draft: Draft) -> bytes:
    """The bundle's bytes."""
    chains = chain_hashes(draft.rows)
    lines = [
        entry_line(row, chain, i)
        for i, (row, chain) in enumerate(zip(draft.rows, chains, strict=True))
    ]
    for index, raw in draft.raw_lines.items():
        lines[index] = raw
    header = BundleHeader(
        len(draft.rows),
        draft.note(),
        chains[-1] if chains else None,
        frozenset(draft.erased),
    )
    first, second = format_header(header).split(b"\n")[:2]
    if draft.header_members is not None:
        members = draft.header_members(json.loads(second))
        second = json.dumps(members, ensure_ascii=False, separators=(",", ":")).encode()
    if draft.raw_header is not None:
        second = draft.raw_header(second)
    body = b"".join(line + b"\n" for line in lines)
    if not draft.final_newline and body:
        body = body[:-1]
    return first + b"\n" + second + b"\n" + body + draft.tail


def inclusion_proof(draft: Draft, index: int, *, note: bytes | None = None) -> InclusionProof:
    """A c2sp.org/tlog-proof@v1 of entry ``index`` in the draft's checkpoint."""
    leaves = draft.leaves()
    return InclusionProof(
        index,
        tuple(inclusion_hashes(leaves, index, len(leaves))),
        note if note is not None else draft.note(),
        draft.rows[index].entry_bytes(),
    )


def proof_bytes(proof: InclusionProof) -> bytes:
    return format_inclusion_proof(proof)


def note_text_of(note: bytes) -> str:
    """The signed text of a note (up to and including the newline before the blank line)."""
    text = note.decode()
    return text[: text.rfind("\n\n") + 1]


def rows_of(entries: Sequence[StoredEntry]) -> list[Row]:
    return [
        Row(e.notification_id, e.originator_id, e.originator_version, e.topic, e.state)
        for e in entries
    ]
