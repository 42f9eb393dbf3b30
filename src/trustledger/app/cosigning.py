"""The log's side of c2sp.org/tlog-witness: ask witnesses over HTTP to cosign the latest
checkpoint, store the cosignature lines they return (``checkpoint --witness URL``).

For each witness: POST ``<URL>/add-checkpoint`` with the old size the witness is believed to
have last cosigned (the log's checkpoint before the latest one, or 0), the consistency
proof from that size and the checkpoint. A "409 Conflict" with a ``text/x.tlog.size`` body
gives the witness's size: the request is sent once more from it. The lines of a 200 are
stored as given (as ``checkpoint add-cosignatures`` does: whoever trusts the witness checks
them, ``verify --witness-key``), or, when the log operator names witness keys, only those
by these keys, after checking them. Fewer than ``quorum`` witnesses cosigning is
WitnessQuorumNotMet (exit 5): the checkpoint stays signed and stored with the
cosignatures that did arrive, and running the command again asks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from trustledger.app.transparency import attach_cosignatures, latest_checkpoint
from trustledger.errors import StorageUnavailable, UsageError, VerificationFailed
from trustledger.ledger.checkpoint import add_signatures, parse_checkpoint
from trustledger.ledger.cosignature import (
    CosignerKey,
    check_quorum_reachable,
    distinct_witness_count,
)
from trustledger.ledger.merkle import consistency_plan, materialise
from trustledger.ledger.note import (
    MalformedNote,
    Note,
    NoteSignature,
    check_signatures,
    format_note,
    format_signature_line,
    parse_note,
    parse_signature_line,
)
from trustledger.ledger.proof import ConsistencyProof, format_consistency_proof
from trustledger.storage.base import Store, StoredCheckpoint

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_RESPONSE_BYTES = 64 << 10


class WitnessQuorumNotMet(StorageUnavailable):
    """Fewer witnesses than the quorum cosigned the checkpoint (exit 5: a service is
    unavailable or refused; the log itself was not found at fault)."""


class _Refused(Exception):
    """One witness did not cosign: the message names its URL and why."""


@dataclass(frozen=True)
class WitnessOutcome:
    """What one witness answered: the cosignature lines stored (without newlines) and the
    old size of the request it answered, or why it did not cosign."""

    url: str
    lines: tuple[str, ...] = ()
    old_size: int | None = None
    error: str | None = None


def _add_checkpoint_body(store: Store, stored: StoredCheckpoint, size: int, old: int) -> bytes:
    # C2SP tlog-witness: "The proof MUST be empty if the old size is zero".
    plan = consistency_plan(old, size) if 0 < old < size else []
    hashes = tuple(materialise(plan, store.merkle_nodes))
    return format_consistency_proof(ConsistencyProof(old, hashes, stored.note))


def _size_of_conflict(url: str, response: httpx.Response) -> int:
    text = response.text
    if response.headers.get("content-type") != SIZE_CONTENT_TYPE:
        raise _Refused(f"witness {url} answered 409 Conflict: {text.strip()[:200]}")
    body = text.removesuffix("\n")
    if not text.endswith("\n") or not body.isdigit() or (body != "0" and body[0] == "0"):
        raise _Refused(f"witness {url} answered 409 with a malformed size {text[:40]!r}")
    return int(body)


def _cosignature_lines(
    url: str, text: str, note: Note, witness_keys: Sequence[CosignerKey]
) -> list[NoteSignature]:
    if not text.endswith("\n"):
        raise _Refused(f"witness {url}: the response does not end with a newline")
    try:
        lines = [parse_signature_line(line) for line in text[:-1].split("\n")]
    except MalformedNote as exc:
        raise _Refused(f"witness {url}: malformed cosignature line: {exc}") from exc
    if not witness_keys:
        return lines
    # C2SP tlog-witness: "The client MUST ignore any cosignatures from unknown keys."
    try:
        known = check_signatures(
            Note(note.text, tuple(lines)), verifiers=witness_keys, kind="cosignature by witness"
        )
    except VerificationFailed as exc:
        raise _Refused(f"witness {url}: {exc}") from exc
    if not known:
        raise _Refused(f"witness {url}: none of its cosignatures is by a --witness-key")
    return [line for _, line in known]


def _ask(
    client: httpx.Client,
    url: str,
    store: Store,
    stored: StoredCheckpoint,
    old: int,
    witness_keys: Sequence[CosignerKey],
) -> tuple[int, list[NoteSignature]]:
    size = parse_checkpoint(parse_note(stored.note).text).size
    endpoint = url.rstrip("/") + "/add-checkpoint"
    for attempt in (1, 2):
        if old > size:
            raise _Refused(
                f"witness {url} has cosigned size {old} of this log, larger than its latest "
                f"checkpoint (size {size}): the log rolled back, or another log uses its origin"
            )
        body = _add_checkpoint_body(store, stored, size, old)
        try:
            response = client.post(endpoint, content=body)
        except httpx.HTTPError as exc:
            raise _Refused(f"witness {url} unreachable: {type(exc).__name__}: {exc}") from exc
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise _Refused(f"witness {url}: response larger than {MAX_RESPONSE_BYTES} bytes")
        if response.status_code == 409 and attempt == 1:
            old = _size_of_conflict(url, response)
            continue
        if response.status_code != 200:
            reason = response.reason_phrase or ""
            detail = response.text.strip()[:300]
            raise _Refused(f"witness {url} answered {response.status_code} {reason}: {detail}")
        return old, _cosignature_lines(url, response.text, parse_note(stored.note), witness_keys)
    raise _Refused(f"witness {url} answered 409 Conflict twice")  # pragma: no cover


def request_cosignatures(
    store: Store,
    witnesses: Sequence[str],
    *,
    quorum: int,
    witness_keys: Sequence[CosignerKey] = (),
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> list[WitnessOutcome]:
    """Ask each witness (a tlog-witness submission prefix URL) to cosign the latest
    checkpoint and store what each returns as soon as it arrives.

    Witnesses counted: those that returned cosignature lines (accepted ones, when
    ``witness_keys`` are given: then distinct public keys, so one witness behind two URLs
    counts once). Raises WitnessQuorumNotMet listing every witness that did not cosign,
    UsageError for a quorum above the witnesses given, NotFound without a checkpoint.
    """
    if not 0 <= quorum <= len(witnesses):
        raise UsageError(f"--quorum {quorum} needs at least {quorum} --witness URL")
    if witness_keys:
        check_quorum_reachable(witness_keys, quorum)
    stored = latest_checkpoint(store)
    earlier = [c for c in store.checkpoints() if c.id != stored.id and c.size <= stored.size]
    hint = earlier[-1].size if earlier else 0
    outcomes: list[WitnessOutcome] = []
    with httpx.Client(timeout=timeout, transport=transport) as client:
        for url in witnesses:
            try:
                old, lines = _ask(client, url, store, stored, hint, witness_keys)
            except _Refused as exc:
                outcomes.append(WitnessOutcome(url, error=str(exc)))
                continue
            note = add_signatures(parse_note(stored.note), lines)
            attach_cosignatures(store, format_note(note))
            text = tuple(format_signature_line(line)[:-1] for line in lines)
            outcomes.append(WitnessOutcome(url, lines=text, old_size=old))
    cosigned = _count(outcomes, witness_keys)
    if cosigned < quorum:
        failures = "; ".join(o.error for o in outcomes if o.error is not None)
        raise WitnessQuorumNotMet(
            f"{cosigned} of {len(witnesses)} witnesses cosigned the checkpoint, quorum is "
            f"{quorum}: {failures or 'no witness answered with a trusted cosignature'}"
        )
    return outcomes


def _count(outcomes: Sequence[WitnessOutcome], witness_keys: Sequence[CosignerKey]) -> int:
    if not witness_keys:
        return sum(1 for o in outcomes if o.lines)
    signatures = [parse_signature_line(line) for o in outcomes for line in o.lines]
    signed = {(s.name, s.key_id) for s in signatures}
    return distinct_witness_count([k for k in witness_keys if (k.name, k.key_id) in signed])
