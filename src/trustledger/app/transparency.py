"""The verifiable log's use cases: sign checkpoints, prove inclusion and consistency, check
the checkpoints an auditor holds against the log.

The log key signs checkpoints only. It is *not* registered in the ledger's keyring (which
holds the root and the decider keys): auditors pin it out of band next to the root key,
and give both as trusted keys. A checkpoint is signed only when the tree it names is
consistent with the checkpoint signed before it (C2SP tlog-checkpoint, "Signatures").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trustledger.domain.keyring import KeyringState, parse_key_event, verifier_key_parts
from trustledger.errors import Conflict, NotFound, VerificationFailed
from trustledger.ledger.chain import encode_entry
from trustledger.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    add_signatures,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from trustledger.ledger.cosignature import (
    CosignerKey,
    check_quorum_reachable,
    verify_cosignature_quorum,
)
from trustledger.ledger.envelope import decode_json, parse_state
from trustledger.ledger.keys import SigningKey
from trustledger.ledger.merkle import NodeReader, consistency_plan, inclusion_plan, materialise
from trustledger.ledger.merkle import root_hash as merkle_root
from trustledger.ledger.note import (
    NoteVerifier,
    format_note,
    parse_note,
    parse_signature_line,
)
from trustledger.ledger.proof import (
    ConsistencyProof,
    InclusionProof,
    ProofFailed,
    format_consistency_proof,
    format_inclusion_proof,
    verify_consistency,
)
from trustledger.storage.base import Store, StoredCheckpoint


def tree_head(store: Store) -> tuple[int, bytes]:
    """(size, RFC 9162 root) of the stored tree, from stored nodes."""
    head = store.chain_head()
    size = head.size if head is not None else 0
    return size, merkle_root(size, store.merkle_nodes)


def _body(stored: StoredCheckpoint) -> Checkpoint:
    return parse_checkpoint(parse_note(stored.note).text)


def note_with_cosignatures(store: Store, stored: StoredCheckpoint) -> bytes:
    """The checkpoint's signed note with every cosignature line stored for it."""
    note = parse_note(stored.note)
    lines = [parse_signature_line(line) for line in store.cosignatures(stored.id)]
    return format_note(add_signatures(note, lines))


def _keyring_key_ids(store: Store) -> set[str]:
    # The root's and every decider key's id (revoked ones included): the keyring's own fold
    # over its recorded events.
    state = KeyringState()
    for entry in store.key_entries():
        state.apply(parse_key_event(decode_json(parse_state(entry.state).payload_text)))
    ids = set(state.keys)
    if state.root_key is not None:
        ids.add(verifier_key_parts(state.root_key)[1])
    return ids


def create_checkpoint(store: Store, key: SigningKey, *, origin: str | None = None) -> bytes:
    """Sign the current tree head with the log key, record it, and return its note.

    Refuses (ProofFailed, exit 1) when the stored tree is not consistent with the last
    checkpoint signed: a log never signs two inconsistent checkpoints. When the tree has
    not grown, the last checkpoint is returned again, with its cosignatures.
    """
    if str(key.key_id) in _keyring_key_ids(store):
        raise Conflict(
            f"key {key.name}+{key.key_id} is this ledger's root or a decider key; checkpoints "
            "are signed by a log key of their own (`trustledger keys generate log`)"
        )
    size, root = tree_head(store)
    latest = store.latest_checkpoint()
    if latest is not None:
        previous = _body(latest)
        if previous.size > size:
            raise VerificationFailed(
                f"the log has {size} entries but its last checkpoint was signed at size "
                f"{previous.size}: entries were removed; refusing to sign"
            )
        proof = materialise(consistency_plan(previous.size, size), store.merkle_nodes)
        try:
            verify_consistency(
                size1=previous.size, size2=size, proof=proof, root1=previous.root_hash, root2=root
            )
        except ProofFailed as exc:
            raise ProofFailed(
                f"the log is not consistent with its last checkpoint (size {previous.size}): "
                f"{exc}; refusing to sign"
            ) from exc
        origin = origin or previous.origin
        if previous.size == size and previous.origin == origin:
            return note_with_cosignatures(store, latest)
    checkpoint = Checkpoint(origin or key.name, size, root)
    note = sign_checkpoint(checkpoint, key)
    store.add_checkpoint(size, root, note, after=latest.id if latest else None)
    return note


def latest_checkpoint(store: Store) -> StoredCheckpoint:
    """The last signed checkpoint; NotFound when there is none yet."""
    latest = store.latest_checkpoint()
    if latest is None:
        raise NotFound("the log has no checkpoint yet: run `trustledger checkpoint --key LOG.key`")
    return latest


def attach_cosignatures(store: Store, cosigned: bytes) -> int:
    """Store the signature lines of a cosigned copy of one of the log's checkpoints.

    Returns how many lines were new. Lines are stored as given: they are checked by
    whoever trusts the witness (``verify --witness-key``). Raises NotFound when the body is
    not one the log signed.
    """
    note = parse_note(cosigned)
    for stored in reversed(store.checkpoints()):
        own = parse_note(stored.note)
        if own.text == note.text:
            from trustledger.ledger.note import format_signature_line

            new = [format_signature_line(s)[:-1] for s in note.signatures
                   if s not in own.signatures]  # fmt: skip
            return store.add_cosignatures(stored.id, new)
    raise NotFound("the log never signed this checkpoint")


def prove_inclusion(store: Store, entry: str | int) -> bytes:
    """A c2sp.org/tlog-proof@v1 of an entry in the latest checkpoint: ``entry`` is a
    decision id (str) or a position (int; the log's first entries are key events, which
    have no decision row). Its ``extra`` is the entry's bytes (docs/FORMAT.md §6). Raises
    NotFound."""
    if isinstance(entry, int):
        what = f"entry {entry}"
        position = entry
    else:
        found = store.find_decisions([entry]).get(entry)
        if found is None:
            raise NotFound(f"no decision {entry} in this ledger")
        what, position = f"decision {entry} (position {found.position})", found.position
    stored = latest_checkpoint(store)
    size = _body(stored).size
    if position >= size:
        raise NotFound(
            f"{what} is not in the latest checkpoint (size {size}, positions 0 to {size - 1})"
            + (": run `trustledger checkpoint` first" if position < _size(store) else "")
        )
    chained = store.entry_at(position)
    if chained is None:
        raise NotFound(f"{what}: its entry is missing")
    data = encode_entry(
        chained.originator_id, chained.originator_version, chained.topic, chained.state
    )
    hashes = materialise(inclusion_plan(position, size), store.merkle_nodes)
    proof = InclusionProof(position, tuple(hashes), note_with_cosignatures(store, stored), data)
    return format_inclusion_proof(proof)


def _size(store: Store) -> int:
    head = store.chain_head()
    return head.size if head is not None else 0


def prove_consistency(store: Store, old: bytes) -> bytes:
    """A consistency proof from the checkpoint ``old`` (a signed note; its signatures are
    not checked here) to the latest checkpoint. Raises ProofFailed when the log does not
    extend ``old``, NotFound when there is no checkpoint."""
    previous = parse_checkpoint(parse_note(old).text)
    stored = latest_checkpoint(store)
    latest = _body(stored)
    if previous.size > latest.size:
        raise VerificationFailed(
            f"the checkpoint given has size {previous.size}, larger than the log's latest "
            f"({latest.size}): the log lost entries or that checkpoint is not of this log"
        )
    hashes = materialise(consistency_plan(previous.size, latest.size), store.merkle_nodes)
    verify_consistency(size1=previous.size, size2=latest.size, proof=hashes,
                       root1=previous.root_hash, root2=latest.root_hash)  # fmt: skip
    proof = ConsistencyProof(previous.size, tuple(hashes), note_with_cosignatures(store, stored))
    return format_consistency_proof(proof)


@dataclass(frozen=True)
class HeldCheckpoint:
    """A checkpoint an auditor keeps (a file), opened and checked against the policy."""

    source: str
    signed: SignedCheckpoint


def open_held_checkpoints(
    held: Sequence[tuple[str, bytes]],
    *,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[CosignerKey],
    quorum: int,
    origin: str | None = None,
) -> list[HeldCheckpoint]:
    """Open each (name, bytes) checkpoint with the trusted log keys (of ``origin``, when
    given) and check its witnesses' cosignatures: every line by a trusted witness must
    verify (at any quorum, 0 included) and ``quorum`` distinct witness public keys must have
    cosigned; then refuse a split view: two checkpoints of one log and size with different
    roots (T7). Raises VerificationFailed naming the checkpoint, UsageError for a quorum the
    witness keys cannot meet."""
    check_quorum_reachable(witnesses, quorum)
    opened: list[HeldCheckpoint] = []
    for source, data in held:
        try:
            signed = open_checkpoint(data, log_keys=log_keys, origin=origin)
            verify_cosignature_quorum(signed.note, witnesses=witnesses, quorum=quorum)
        except VerificationFailed as exc:
            raise type(exc)(f"checkpoint {source}: {exc}") from exc
        opened.append(HeldCheckpoint(source, signed))
    seen: dict[tuple[str, int], HeldCheckpoint] = {}
    for item in opened:
        cp = item.signed.checkpoint
        other = seen.setdefault((cp.origin, cp.size), item)
        if other.signed.checkpoint.root_hash != cp.root_hash:
            raise VerificationFailed(
                f"split view: checkpoints {other.source} and {item.source} both sign size "
                f"{cp.size} of {cp.origin!r} with different roots "
                f"({other.signed.checkpoint.root_hash.hex()} and {cp.root_hash.hex()})"
            )
    return opened


def check_extends(
    held: Sequence[HeldCheckpoint], *, size: int, root: bytes, read_nodes: NodeReader
) -> None:
    """Check that the verified tree (``size`` leaves, recomputed ``root``) extends every
    held checkpoint: a larger checkpoint means a truncated tail (T5); a different root at
    the same size, or a consistency proof that fails, rewritten history (T6).
    Raises VerificationFailed."""
    for item in held:
        cp = item.signed.checkpoint
        if cp.size > size:
            raise VerificationFailed(
                f"checkpoint {item.source} signs {cp.size} entries but the log has only {size}: "
                "the tail was truncated (or the log rolled back)"
            )
        try:
            proof = materialise(consistency_plan(cp.size, size), read_nodes) if cp.size else []
            verify_consistency(size1=cp.size, size2=size, proof=proof, root1=cp.root_hash,
                               root2=root)  # fmt: skip
        except (ProofFailed, NotFound) as exc:
            raise VerificationFailed(
                f"the log does not extend checkpoint {item.source} (size {cp.size}): history "
                f"was rewritten: {exc}"
            ) from exc
