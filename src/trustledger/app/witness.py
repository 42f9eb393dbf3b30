"""A witness (a third-party institution) cosigning the log's checkpoints.

The witness keeps its own state, per log origin: the log key it pinned on first contact
and the last checkpoint it cosigned. It cosigns a new checkpoint only when it is signed by
that log key and a consistency proof shows it extends the last one (C2SP tlog-witness);
it refuses a smaller tree (rollback) and a different root for a size it saw (fork).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustledger.errors import Conflict, UsageError, VerificationFailed
from trustledger.ledger.checkpoint import add_signatures, open_checkpoint, parse_checkpoint
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.keys import SigningKey, VerifierKey, format_verifier_key, parse_verifier_key
from trustledger.ledger.note import format_note, format_signature_line, parse_note
from trustledger.ledger.proof import ProofFailed, parse_consistency_proof, verify_consistency

STATE_FILE = "witness-state.json"


@dataclass(frozen=True)
class Cosigned:
    """The cosignature line (without newline) and the checkpoint note carrying it."""

    line: str
    note: bytes
    size: int
    previous_size: int | None


def _load(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.exists():
        return {"origins": {}}
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the witness state {path}: {exc}") from exc
    return state


def _save(state_dir: Path, state: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, state_dir / STATE_FILE)  # atomic: the state is never half-written


def cosign_checkpoint(
    checkpoint: bytes,
    proof: bytes | None,
    *,
    key: SigningKey,
    state_dir: Path,
    log_keys: Sequence[VerifierKey] = (),
    now: int | None = None,
) -> Cosigned:
    """Check ``checkpoint`` against the witness state and cosign it (cosignature/v1).

    Raises VerificationFailed for a bad log signature, a rollback, a fork or a failing
    consistency proof (exit 1); Conflict when the proof does not start where the witness
    stands (exit 4); UsageError for a missing log key or proof.
    """
    origin = parse_checkpoint(parse_note(checkpoint).text).origin
    state = _load(state_dir)
    known = state["origins"].get(origin)
    if known is not None:
        pinned = parse_verifier_key(known["log_key"])
        if log_keys and pinned not in log_keys:
            raise UsageError(
                f"this witness pinned log key {pinned.name}+{pinned.key_id} for {origin!r}"
            )
        keys: Sequence[VerifierKey] = [pinned]
    elif log_keys:
        keys = log_keys
    else:
        raise UsageError(f"first checkpoint of {origin!r} for this witness: pass --log-key")
    signed = open_checkpoint(checkpoint, log_keys=keys, origin=origin)
    new = signed.checkpoint
    previous_size = None
    if known is not None:
        old = parse_checkpoint(parse_note(known["checkpoint"].encode()).text)
        previous_size = old.size
        if new.size < old.size:
            raise VerificationFailed(
                f"refusing to cosign a rollback: size {new.size} after size {old.size}"
            )
        if new.size == old.size:
            if new.root_hash != old.root_hash:
                raise VerificationFailed(
                    f"refusing to cosign a fork: size {new.size} was cosigned with root "
                    f"{old.root_hash.hex()}, this checkpoint has {new.root_hash.hex()}"
                )
        else:
            if proof is None:
                raise UsageError(
                    f"a consistency proof from size {old.size} is needed: "
                    f"trustledger prove consistency --from {state_dir / STATE_FILE}"
                )
            parsed = parse_consistency_proof(proof)
            if parsed.old_size != old.size:
                raise Conflict(
                    f"the proof starts at size {parsed.old_size}, but this witness last "
                    f"cosigned size {old.size}"
                )
            if parse_note(parsed.checkpoint).text != signed.note.text:
                raise UsageError("the proof is for another checkpoint than the one given")
            try:
                verify_consistency(size1=old.size, size2=new.size, proof=parsed.hashes,
                                   root1=old.root_hash, root2=new.root_hash)  # fmt: skip
            except ProofFailed as exc:
                raise ProofFailed(f"refusing to cosign a fork: {exc}") from exc
    timestamp = int(time.time()) if now is None else now
    line = cosign(signed.note.text, key, timestamp=timestamp)
    note = format_note(add_signatures(signed.note, [line]))
    log_key = next(k for k in keys if k in signed.verified_by)  # pinned from now on
    state["origins"][origin] = {
        "log_key": format_verifier_key(log_key),
        "checkpoint": note.decode("utf-8"),
        "cosigned_at": timestamp,
    }
    _save(state_dir, state)
    return Cosigned(format_signature_line(line)[:-1], note, new.size, previous_size)


def last_cosigned(state_dir: Path, origin: str | None = None) -> bytes:
    """The checkpoint the witness last cosigned (for ``prove consistency --from``)."""
    origins = _load(state_dir)["origins"]
    if not origins:
        raise UsageError(f"the witness state in {state_dir} is empty")
    if origin is None:
        if len(origins) > 1:
            raise UsageError("the witness follows several logs: name the origin")
        origin = next(iter(origins))
    return str(origins[origin]["checkpoint"]).encode()
