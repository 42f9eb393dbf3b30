"""A witness (a third-party institution) cosigning the log's checkpoints: c2sp.org/tlog-witness.

The one definition of what a witness accepts, shared by ``witness cosign`` (files) and
``witness serve`` (HTTP). For each log, named by its origin, the witness trusts the log keys
it is configured with and keeps in its state directory the last checkpoint it cosigned. It
cosigns a checkpoint only when a trusted log key signed it and it extends that last
checkpoint: the request's old size is the size last cosigned, and the consistency proof
from it verifies (a same size needs the same root). It never cosigns a smaller tree
(rollback) or another root for a size it cosigned (fork).

Durability (docs/OPERATIONS.md, "Running a witness over HTTP"): one exclusive lock (a
``flock`` on ``witness-state.lock``, so threads of one server, several servers and the
``witness cosign`` command are all serialised) is held from reading the state to writing
it. The new state is written to a temporary file, fsync'd, renamed over the old one, and
the directory fsync'd, all *before* the cosignature is returned. A crash before the rename
leaves the old state and no cosignature was given out; a crash after it leaves the new
state, and a cosignature not yet given out is only ever repeated for the same checkpoint.
Every cosignature given out is therefore for a checkpoint the durable state extends, so no
crash can make the witness cosign a fork or a rollback.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustledger.app.paths import StrPath
from trustledger.errors import (
    Conflict,
    NotFound,
    StorageUnavailable,
    TrustledgerError,
    UsageError,
    VerificationFailed,
)
from trustledger.ledger.checkpoint import (
    Checkpoint,
    add_signatures,
    open_checkpoint,
    parse_checkpoint,
)
from trustledger.ledger.cosignature import cosign
from trustledger.ledger.keys import SigningKey, VerifierKey, format_verifier_key, parse_verifier_key
from trustledger.ledger.note import (
    MalformedNote,
    NoteNotVerified,
    format_note,
    format_signature_line,
    parse_note,
)
from trustledger.ledger.proof import (
    ConsistencyProof,
    ProofFailed,
    parse_consistency_proof,
    verify_consistency,
)

STATE_FILE = "witness-state.json"
LOCK_FILE = "witness-state.lock"
MAX_PROOF_LINES = 63  # C2SP tlog-witness: "The client MUST NOT send more than 63"


# -- what a witness refuses (server/trustledger_server/witness.py maps each to its status) --
class WitnessStateInvalid(StorageUnavailable):
    """The state file cannot be read, or is not a witness state: the witness stops (exit 5)
    rather than forget what it cosigned."""


class MalformedRequest(UsageError):
    """An add-checkpoint body that does not parse, or an old size above the checkpoint's
    size (tlog-witness: 400 Bad Request)."""


class UnknownLog(NotFound):
    """A checkpoint of an origin this witness is not configured for (404 Not Found)."""


class LogSignatureRejected(VerificationFailed):
    """No trusted log key verifies the checkpoint's signatures (403 Forbidden)."""


class RollbackRefused(VerificationFailed):
    """A checkpoint smaller than the one last cosigned (400 Bad Request: its old size, the
    size last cosigned, is above its size)."""


class StaleOldSize(Conflict):
    """The request's old size is not the size last cosigned (409 Conflict, the size in a
    ``text/x.tlog.size`` body)."""

    def __init__(self, message: str, *, size: int) -> None:
        self.size = size
        super().__init__(message)


class ForkRefused(VerificationFailed):
    """Another root for the size last cosigned (409 Conflict)."""


class ProofRejected(ProofFailed):
    """A consistency proof that does not verify (422 Unprocessable Entity)."""


# -- the state ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LogState:
    """What the witness remembers of one log: the key that verified the last checkpoint it
    cosigned, that checkpoint (its signed note, with the cosignature) and when."""

    log_key: VerifierKey
    note: bytes
    cosigned_at: int
    checkpoint: Checkpoint = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checkpoint", parse_checkpoint(parse_note(self.note).text))


def _invalid(path: Path, what: str) -> WitnessStateInvalid:
    return WitnessStateInvalid(
        f"the witness state {path} is not valid: {what}; it is this witness's record of what "
        "it cosigned: restore it from a backup, never reset it (a witness that forgets can "
        "be made to cosign a fork)"
    )


def _log_state(path: Path, origin: str, value: object) -> LogState:
    where = f"origins[{origin!r}]"
    if not isinstance(value, dict):
        raise _invalid(path, f"{where} is {json.dumps(value)[:40]}, not an object")
    expected = {"log_key", "checkpoint", "cosigned_at"}
    if set(value) != expected:
        raise _invalid(path, f"{where} has members {sorted(value)}, expected {sorted(expected)}")
    key, note, at = value["log_key"], value["checkpoint"], value["cosigned_at"]
    if not isinstance(key, str) or not isinstance(note, str):
        raise _invalid(path, f"{where}: log_key and checkpoint must be strings")
    if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < 2**63:
        raise _invalid(path, f"{where}.cosigned_at is not a timestamp: {at!r}")
    try:
        state = LogState(parse_verifier_key(key), note.encode("utf-8"), at)
    except (TrustledgerError, UnicodeEncodeError) as exc:
        raise _invalid(path, f"{where}: {exc}") from exc
    if state.checkpoint.origin != origin:
        raise _invalid(path, f"{where} holds a checkpoint of origin {state.checkpoint.origin!r}")
    return state


def load_state(state_dir: Path) -> dict[str, LogState]:
    """The witness's state, by origin (empty when there is no state file yet).

    Raises WitnessStateInvalid (exit 5) naming the file and what is wrong with it: a state
    that cannot be read, is not JSON, or is not ``{"origins": {ORIGIN: {"log_key",
    "checkpoint", "cosigned_at"}}}``. Nothing is ever treated as "no state": that would
    make the witness forget what it cosigned.
    """
    path = state_dir / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessStateInvalid(f"cannot read the witness state {path}: {exc}") from exc
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise _invalid(path, f"not JSON ({exc})") from exc
    if not isinstance(data, dict) or set(data) != {"origins"}:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise _invalid(path, f'expected an object {{"origins": {{...}}}}, found {found}')
    origins = data["origins"]
    if not isinstance(origins, dict):
        raise _invalid(path, f'"origins" is {json.dumps(origins)[:40]}, not an object')
    return {origin: _log_state(path, origin, value) for origin, value in origins.items()}


def _format_state(state: Mapping[str, LogState]) -> bytes:
    origins = {
        origin: {
            "log_key": format_verifier_key(log.log_key),
            "checkpoint": log.note.decode("utf-8"),
            "cosigned_at": log.cosigned_at,
        }
        for origin, log in state.items()
    }
    return json.dumps({"origins": origins}, indent=2, ensure_ascii=False).encode("utf-8")


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that after a crash it holds either the old or the new
    bytes, and the new ones once this returns: temporary file, fsync, rename, fsync of the
    directory (the rename itself is only durable once the directory is). Raises
    StorageUnavailable."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise StorageUnavailable(f"cannot write the witness state {path}: {exc}") from exc


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    # flock locks belong to an open file description: each holder opens the file anew, so
    # two threads of one process exclude each other exactly as two processes do.
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageUnavailable(f"cannot lock the witness state in {state_dir}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- cosigning ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Cosigned:
    """The cosignature line (without newline) and the checkpoint note carrying it."""

    line: str
    note: bytes
    size: int
    previous_size: int | None


@dataclass(frozen=True)
class Witness:
    """A witness: its key, its state directory, and the log keys it trusts by origin.

    ``clock`` gives the time cosignatures carry (seconds since the epoch)."""

    key: SigningKey
    state_dir: Path
    logs: Mapping[str, Sequence[VerifierKey]]
    clock: Callable[[], float] = time.time

    def check_state(self) -> None:
        """Check the state before serving: it loads (WitnessStateInvalid, exit 5), and the
        key recorded for each configured log is among that log's configured keys
        (UsageError, exit 2: a changed key is the operator's decision; configure the old
        and the new key together to rotate)."""
        state = load_state(self.state_dir)
        for origin, keys in self.logs.items():
            known = state.get(origin)
            if known is not None:
                self._check_pin(origin, known, keys)

    def _check_pin(self, origin: str, known: LogState, keys: Sequence[VerifierKey]) -> None:
        if known.log_key not in keys:
            pinned = known.log_key
            raise UsageError(
                f"this witness pinned log key {pinned.name}+{pinned.key_id} for {origin!r} "
                f"(in {self.state_dir / STATE_FILE}); it is not among the keys given"
            )

    def add_checkpoint(self, body: bytes) -> Cosigned:
        """Handle a tlog-witness add-checkpoint request body. See ``add``; also raises
        MalformedRequest for a body that does not parse."""
        try:
            request = parse_consistency_proof(body)
        except ProofFailed as exc:
            raise MalformedRequest(f"malformed add-checkpoint request: {exc}") from exc
        return self.add(request)

    def add(self, request: ConsistencyProof) -> Cosigned:
        """Check ``request`` (old size, consistency proof, checkpoint) in the order of
        c2sp.org/tlog-witness, record the checkpoint durably and return its cosignature.

        Raises MalformedRequest, UnknownLog, LogSignatureRejected, RollbackRefused,
        StaleOldSize, ForkRefused, ProofRejected, WitnessStateInvalid and
        StorageUnavailable (the state cannot be written: nothing was cosigned).
        """
        if len(request.hashes) > MAX_PROOF_LINES:
            raise MalformedRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            origin = parse_checkpoint(parse_note(request.checkpoint).text).origin
        except MalformedNote as exc:
            raise MalformedRequest(f"malformed checkpoint: {exc}") from exc
        keys = self.logs.get(origin)
        if not keys:
            raise UnknownLog(f"this witness does not follow the log {origin!r}")
        try:
            signed = open_checkpoint(request.checkpoint, log_keys=keys, origin=origin)
        except NoteNotVerified as exc:
            raise LogSignatureRejected(f"checkpoint of {origin!r}: {exc}") from exc
        new = signed.checkpoint
        with _locked(self.state_dir):
            state = load_state(self.state_dir)
            known = state.get(origin)
            if known is not None:
                self._check_pin(origin, known, keys)
            self._check_extends(request, new, known)
            # A cosignature says "as of this time, this is the largest tree I saw": its time
            # never goes back, even when the clock does.
            timestamp = max(int(self.clock()), known.cosigned_at if known else 0)
            line = cosign(signed.note.text, self.key, timestamp=timestamp)
            note = format_note(add_signatures(signed.note, [line]))
            verified_by = next(k for k in keys if k in signed.verified_by)
            state[origin] = LogState(verified_by, note, timestamp)
            write_durably(self.state_dir / STATE_FILE, _format_state(state))
        previous = known.checkpoint.size if known is not None else None
        return Cosigned(format_signature_line(line)[:-1], note, new.size, previous)

    @staticmethod
    def _check_extends(request: ConsistencyProof, new: Checkpoint, known: LogState | None) -> None:
        old_size = request.old_size
        last = known.checkpoint if known is not None else None
        last_size = last.size if last is not None else 0
        if old_size > new.size:
            if last is not None and old_size == last_size:
                raise RollbackRefused(
                    f"refusing to cosign a rollback: size {new.size} after size {last_size}"
                )
            raise MalformedRequest(f"old size {old_size} is above the checkpoint's size {new.size}")
        if old_size != last_size:
            raise StaleOldSize(
                f"the proof starts at size {old_size}, but this witness last cosigned size "
                f"{last_size}",
                size=last_size,
            )
        if last is not None and new.size == last.size and new.root_hash != last.root_hash:
            raise ForkRefused(
                f"refusing to cosign a fork: size {new.size} was cosigned with root "
                f"{last.root_hash.hex()}, this checkpoint has {new.root_hash.hex()}"
            )
        if old_size in (0, new.size):
            if request.hashes:  # tlog-witness: "The proof MUST be empty if the old size is zero"
                raise ProofRejected(f"the consistency proof from size {old_size} must be empty")
            return
        assert last is not None  # old_size == last_size > 0
        try:
            verify_consistency(size1=old_size, size2=new.size, proof=request.hashes,
                               root1=last.root_hash, root2=new.root_hash)  # fmt: skip
        except ProofFailed as exc:
            raise ProofRejected(f"refusing to cosign: {exc}") from exc


def cosign_checkpoint(
    checkpoint: bytes,
    proof: bytes | None,
    *,
    key: SigningKey,
    state_dir: StrPath,
    log_keys: Sequence[VerifierKey] = (),
    now: int | None = None,
) -> Cosigned:
    """``witness cosign``: check the file ``checkpoint`` (with the consistency ``proof`` file
    from the witness's last size, unless the size is the same) and cosign it.

    The log keys are ``log_keys``, or the key pinned in the state. Raises what
    ``Witness.add`` raises (a rollback, fork or failing proof is exit 1; a proof from another
    size exit 4) and UsageError for a missing log key or proof, or a proof of another
    checkpoint.
    """
    state_dir = Path(state_dir)
    given = parse_checkpoint(parse_note(checkpoint).text)
    origin = given.origin
    known = load_state(state_dir).get(origin)
    if log_keys:
        keys: Sequence[VerifierKey] = log_keys
    elif known is not None:
        keys = [known.log_key]
    else:
        raise UsageError(f"first checkpoint of {origin!r} for this witness: pass --log-key")
    parsed = parse_consistency_proof(proof) if proof is not None else None
    if parsed is not None and parse_note(parsed.checkpoint).text != parse_note(checkpoint).text:
        raise UsageError("the proof is for another checkpoint than the one given")
    if known is None:  # first contact: a proof proves nothing yet
        request = ConsistencyProof(0, (), checkpoint)
    elif parsed is not None:
        request = ConsistencyProof(parsed.old_size, parsed.hashes, checkpoint)
    elif given.size > known.checkpoint.size:
        raise UsageError(
            f"a consistency proof from size {known.checkpoint.size} is needed: "
            f"trustledger prove consistency --from {state_dir / STATE_FILE}"
        )
    else:  # the same size again (or a rollback, refused as such)
        request = ConsistencyProof(known.checkpoint.size, (), checkpoint)
    clock = time.time if now is None else (lambda: now)
    return Witness(key, state_dir, {origin: keys}, clock=clock).add(request)


def last_cosigned(state_dir: StrPath, origin: str | None = None) -> bytes:
    """The checkpoint the witness last cosigned (for ``prove consistency --from``)."""
    state_dir = Path(state_dir)
    origins = load_state(state_dir)
    if not origins:
        raise UsageError(f"the witness state in {state_dir} is empty")
    if origin is None:
        if len(origins) > 1:
            raise UsageError("the witness follows several logs: name the origin")
        origin = next(iter(origins))
    return origins[origin].note
