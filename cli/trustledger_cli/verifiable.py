"""The verifiable-log commands: checkpoint, prove, witness, export.

Registered on ``main`` when ``trustledger_cli.root`` loads one of them. Documents
(checkpoints, proofs, cosignature lines) go to stdout or ``--out``; notes go to stderr.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from trustledger.app import Ledger, load_verifier_key
from trustledger.app.bundle import export_bundle
from trustledger.app.cosigning import request_cosignatures
from trustledger.app.files import write_file
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import (
    attach_cosignatures,
    create_checkpoint,
    latest_checkpoint,
    note_with_cosignatures,
    prove_consistency,
    prove_inclusion,
)
from trustledger.app.witness import Witness, cosign_checkpoint
from trustledger.errors import UsageError, VerificationFailed
from trustledger.ledger.checkpoint import open_any_note
from trustledger.ledger.cosignature import CosignerKey, parse_cosigner_key
from trustledger.ledger.keys import VerifierKey
from trustledger.ledger.note import MalformedNote, NoteVerifier, parse_note
from trustledger_cli.common import (
    Group,
    count,
    db_option,
    emit_json,
    json_option,
    note,
    signing_key,
)
from trustledger_cli.common import reported_errors as _reported_errors
from trustledger_cli.root import main


def read_file(path: str) -> bytes:
    """A file's bytes (``-`` is stdin); UsageError when it cannot be read."""
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


@contextmanager
def naming(path: str) -> Iterator[None]:
    """Name the file in the error of a note that does not even parse."""
    try:
        yield
    except MalformedNote as exc:
        raise MalformedNote(f"{path}: {exc}") from exc


def write_document(data: bytes, out: str | None) -> None:
    """A document to ``out`` or, without it, exactly to stdout."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_file(Path(out), data)
    note(f"wrote {out}")


def witness_key(text: str) -> CosignerKey:
    """A witness key inline (0x04 vkey or 0x01 verifier key) or the last line of a file."""
    if "+" not in text or Path(text).is_file():
        lines = [line.strip() for line in read_file(text).decode("utf-8", "replace").splitlines()
                 if line.strip() and not line.startswith("# ")]  # fmt: skip
        if not lines:
            raise UsageError(f"{text}: no witness key found")
        text = lines[-1]
    return parse_cosigner_key(text)


def trust_policy(
    trusted: Sequence[str],
    logs: Sequence[str],
    witnesses: Sequence[str],
    quorum: int,
    origin: str | None,
    *,
    roots_needed: bool,
    log_key_needed: bool,
) -> TrustPolicy:
    """The trust policy of ``verify``'s options, kinds kept apart: --trusted-key roots,
    --log-key log keys (without any, the --trusted-key keys count as log keys too, as
    before --log-key existed), --witness-key witnesses. Raises UsageError naming the
    option to add."""
    roots = [load_verifier_key(text) for text in trusted]
    log_keys: list[NoteVerifier] = [load_verifier_key(text) for text in logs]
    if roots_needed and not roots:
        raise UsageError("verify needs the ledger's root key: pass --trusted-key ROOT.pub")
    if not log_keys:
        if log_key_needed and roots_needed and len(roots) < 2:
            # A log key is never the root (checkpoint refuses to sign with it): one key
            # cannot be both. Missing is not tampering: say which flag to add.
            raise UsageError(
                "checkpoints are signed by the log key, and only the root key was given: "
                "pass the log key with --log-key LOG.pub"
            )
        log_keys = list(roots)
    if log_key_needed and not log_keys:
        raise UsageError("checkpoints are signed by the log key: pass --log-key LOG.pub")
    return TrustPolicy.of(
        root_keys=roots,
        log_keys=log_keys,
        witness_keys=[witness_key(text) for text in witnesses],
        quorum=quorum,
        origin=origin,
    )


class _CheckpointGroup(Group):
    """A group that is also a command: its own callback reports errors like commands do."""

    def invoke(self, ctx: click.Context) -> Any:
        with _reported_errors(bool(ctx.find_root().params.get("debug"))):
            return super().invoke(ctx)


# -- checkpoint -------------------------------------------------------------------------------
@main.group(cls=_CheckpointGroup, invoke_without_command=True)
@click.option("--key", "key", metavar="LOG.key", help="The log key that signs checkpoints.")
@click.option(
    "--origin", help="The checkpoint's origin line (default: the last one, or the key's name)."
)
@click.option("--out", "out", metavar="FILE", help="Write the checkpoint here instead of stdout.")
@click.option("--witness", "witnesses", multiple=True, metavar="URL",
              help="A tlog-witness to ask for a cosignature (repeatable).")  # fmt: skip
@click.option("--quorum", type=click.IntRange(min=0), metavar="N",
              help="Witnesses that must cosign (default: every --witness).")  # fmt: skip
@click.option("--witness-key", "witness_keys", multiple=True, metavar="VKEY|FILE.pub",
              help="Keep only cosignatures by these witness keys (repeatable).")  # fmt: skip
@click.option("--witness-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, metavar="SECONDS",
              help="Timeout of each request to a witness.")  # fmt: skip
@db_option
@click.pass_context
def checkpoint(
    ctx: click.Context,
    key: str | None,
    origin: str | None,
    out: str | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    witness_keys: tuple[str, ...],
    witness_timeout: float,
    db: str,
) -> None:
    """Sign the current tree head with the log key: a C2SP tlog-checkpoint (signed note).

    Refuses (exit 1) when the log is not consistent with the last checkpoint it signed.
    Without a subcommand --key is required; the checkpoint is printed on stdout.

    With --witness URL (C2SP tlog-witness), each witness is sent the checkpoint and the
    consistency proof from the size it last cosigned; the cosignatures are stored and the
    checkpoint is printed with them. Fewer than --quorum witnesses cosigning: exit 5 (the
    checkpoint and the cosignatures received are kept; run again to retry).

    \b
    Example:
      trustledger checkpoint --key keys/log.key > latest.checkpoint
      trustledger checkpoint --key keys/log.key --witness https://w1.example --quorum 1
    """
    if ctx.invoked_subcommand is not None:
        return
    if key is None:
        raise UsageError("checkpoint: --key LOG.key is required (or a subcommand)")
    if (quorum is not None or witness_keys) and not witnesses:
        raise UsageError("--quorum and --witness-key go with --witness URL")
    signer = signing_key(key)
    keys = [witness_key(text) for text in witness_keys]
    with Ledger.open(db) as ledger:
        data = create_checkpoint(ledger.store, signer, origin=origin)
        if witnesses:
            outcomes = request_cosignatures(
                ledger.store,
                witnesses,
                quorum=len(witnesses) if quorum is None else quorum,
                witness_keys=keys,
                timeout=witness_timeout,
            )
            for outcome in outcomes:
                got = count(len(outcome.lines), "cosignature")
                where = f" (consistency from size {outcome.old_size})"
                note(outcome.error or f"witness {outcome.url}: {got}{where}")
            data = note_with_cosignatures(ledger.store, latest_checkpoint(ledger.store))
    write_document(data, out)


def _note_verifiers(text: str) -> list[NoteVerifier]:
    # A log key (0x01) or a witness key (0x04 vkey) verifies a note alike. An ordinary
    # .pub (0x01) may be a witness's: it also checks cosignatures by the same public key
    # (FORMAT.md §12), so a witness can check what it cosigned with its own .pub.
    try:
        key = load_verifier_key(text)
    except UsageError:
        return [parse_cosigner_key(text)]
    return [key, CosignerKey.from_verifier(key)]


@checkpoint.command("verify")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--key", "keys", multiple=True, required=True, metavar="VKEY|FILE.pub",
              help="A trusted verifier key (repeatable).")  # fmt: skip
@json_option
def checkpoint_verify(files: tuple[str, ...], keys: tuple[str, ...], as_json: bool) -> None:
    """Verify C2SP signed notes -- checkpoints (ours or any log's) or any other note -- with
    verifier keys.

    Signatures by other keys are ignored; at least one given key must have signed, and
    every signature by a given key must verify (exit 1 otherwise). A checkpoint is reported
    with its origin, size and root (the origin need not equal the key's name); any other
    note as "signed note (not a checkpoint)".

    \b
    Example:
      trustledger checkpoint verify --key "$(tail -1 keys/log.pub)" latest.checkpoint
    """
    verifiers = [verifier for text in keys for verifier in _note_verifiers(text)]
    results: list[dict[str, Any]] = []
    for path in files:
        data = read_file(path)
        try:
            verified = open_any_note(data, verifiers=verifiers)
        except VerificationFailed as exc:
            # Every file gets its verdict: one bad file among several must say which.
            results.append({"file": path, "verified": False, "error": str(exc)})
            continue
        result: dict[str, Any] = {"file": path, "verified": True}
        cp = verified.checkpoint
        if cp is None:
            result["checkpoint"] = False
        else:
            result.update(checkpoint=True, origin=cp.origin, size=cp.size,
                          root_hash=cp.root_hash.hex())  # fmt: skip
        result["verified_by"] = [f"{v.name}+{v.key_id}" for v in verified.opened.verified_by]
        results.append(result)
    if as_json:
        emit_json(results)
    else:
        for r in results:
            click.echo(_verdict_line(r))
    sys.exit(0 if all(r["verified"] for r in results) else 1)


def _verdict_line(result: dict[str, Any]) -> str:
    if not result["verified"]:
        return f"FAILED: {result['file']}: {result['error']}"
    what = (
        f"{result['origin']} size {result['size']} root {result['root_hash']}"
        if result["checkpoint"]
        else "signed note (not a checkpoint)"
    )
    return f"OK: {result['file']}: {what} signed by {', '.join(result['verified_by'])}"


@checkpoint.command("add-cosignatures")
@click.argument("file", metavar="COSIGNED.checkpoint")
@db_option
def checkpoint_add_cosignatures(file: str, db: str) -> None:
    """Store the witness cosignature lines of a cosigned copy of one of the log's checkpoints,
    so that proofs and bundles carry them.

    \b
    Example:
      trustledger checkpoint add-cosignatures cosigned.checkpoint
    """
    with Ledger.open(db) as ledger:
        added = attach_cosignatures(ledger.store, read_file(file))
    click.echo(f"{added} cosignature line{'s' if added != 1 else ''} added")


# -- prove ------------------------------------------------------------------------------------
@main.group(cls=Group)
def prove() -> None:
    """Produce inclusion and consistency proofs against the latest checkpoint.

    \b
    Example:
      trustledger prove inclusion 5b0d1e48-... --out p.proof
    """


@prove.command("inclusion")
@click.argument("ref", metavar="DECISION_ID|POSITION")
@click.option("--out", "out", metavar="FILE", help="Write the proof here instead of stdout.")
@db_option
def prove_inclusion_cmd(ref: str, out: str | None, db: str) -> None:
    """Prove that an entry is in the latest checkpoint (c2sp.org/tlog-proof@v1).

    The entry is a decision id, or a position in the log (0, 1, ...: key events such as
    the ledger's initialisation have no decision id). The proof carries the entry's bytes
    and the checkpoint (with cosignatures): it verifies alone with
    `trustledger verify --proof FILE --log-key LOG.pub`.

    \b
    Example:
      trustledger prove inclusion 5b0d1e48-8d4c-4f7e-9a51-3f2a1c0b9e77 --out p.proof
      trustledger prove inclusion 0 --out genesis.proof
    """
    entry: str | int
    if ref.isdigit():
        entry = int(ref)
    else:
        try:
            entry = str(uuid.UUID(ref))  # stored ids are lowercase, hyphenated
        except ValueError:
            raise UsageError(
                f"{ref!r} is neither a decision id (a UUID) nor a position (0, 1, ...), "
                "as `trustledger log` shows them"
            ) from None
    with Ledger.open(db, read_only=True) as ledger:
        data = prove_inclusion(ledger.store, entry)
    write_document(data, out)


@prove.command("consistency")
@click.option("--from", "old", required=True, metavar="OLD.checkpoint",
              help="The older checkpoint (or a witness's state file) to prove from.")  # fmt: skip
@click.option("--out", "out", metavar="FILE", help="Write the proof here instead of stdout.")
@db_option
def prove_consistency_cmd(old: str, out: str | None, db: str) -> None:
    """Prove that the latest checkpoint extends an older one (RFC 9162 §2.1.4).

    Output: `old SIZE`, the proof hashes, a blank line, the latest checkpoint (the body of
    a C2SP tlog-witness add-checkpoint request). Exit 1 when the log does not extend it.

    \b
    Example:
      trustledger prove consistency --from old.checkpoint --out c.proof
    """
    data = read_file(old)
    if old.endswith(".json"):
        from trustledger.app.witness import last_cosigned

        data = last_cosigned(Path(old).parent)
    else:
        with naming(old):
            parse_note(data)
    with Ledger.open(db, read_only=True) as ledger:
        proof = prove_consistency(ledger.store, data)
    write_document(proof, out)


# -- witness ------------------------------------------------------------------------------------
@main.group(cls=Group)
def witness() -> None:
    """Act as a witness: cosign the log's checkpoints after checking consistency.

    \b
    Example:
      trustledger witness cosign latest.checkpoint c.proof --key keys/witness.key --state witness/
    """


@witness.command("cosign")
@click.argument("checkpoint_file", metavar="CHECKPOINT")
@click.argument("proof_file", metavar="[PROOF]", required=False)
@click.option("--key", "key", required=True, metavar="WITNESS.key", help="The witness's key.")
@click.option("--state", "state", required=True, type=click.Path(file_okay=False),
              help="The witness's state directory (created if absent).")  # fmt: skip
@click.option("--log-key", "log_keys", multiple=True, metavar="VKEY|FILE.pub",
              help="The log's key; needed the first time, then pinned in the state.")  # fmt: skip
@click.option("--out", "out", metavar="FILE", help="Also write the cosigned checkpoint here.")
def witness_cosign(
    checkpoint_file: str,
    proof_file: str | None,
    key: str,
    state: str,
    log_keys: tuple[str, ...],
    out: str | None,
) -> None:
    """Cosign CHECKPOINT if it extends the last one this witness cosigned.

    PROOF is a consistency proof from the witness's last size (`prove consistency --from
    STATE/witness-state.json`). Refuses a rollback or a fork (exit 1). Prints the C2SP
    tlog-cosignature line on stdout.

    \b
    Example:
      trustledger witness cosign latest.checkpoint c.proof --key keys/witness.key --state witness/
    """
    keys: list[VerifierKey] = [load_verifier_key(text) for text in log_keys]
    if out is not None and (Path(out).is_dir() or not Path(out).absolute().parent.is_dir()):
        # Checked before the witness state moves on: a cosignature it could not write
        # would be lost.
        raise UsageError(f"cannot write {out}: no such directory, or a directory")
    signer = signing_key(key)
    checkpoint_data = read_file(checkpoint_file)
    with naming(checkpoint_file):
        parse_note(checkpoint_data)
    result = cosign_checkpoint(
        checkpoint_data,
        read_file(proof_file) if proof_file else None,
        key=signer,
        state_dir=Path(state),
        log_keys=keys,
    )
    if out is not None:
        write_document(result.note, out)
    click.echo(result.line)
    note(f"cosigned size {result.size}" + (
        f" (consistent with size {result.previous_size})" if result.previous_size is not None
        else " (first checkpoint seen for this log)"))  # fmt: skip


@witness.command("serve")
@click.option("--key", "key", required=True, metavar="WITNESS.key", help="The witness's key.")
@click.option("--state", "state", required=True, type=click.Path(file_okay=False),
              help="The witness's state directory (created if absent).")  # fmt: skip
@click.option("--log", "logs", multiple=True, required=True, metavar="ORIGIN=VKEY|FILE.pub",
              help="A log this witness follows: its origin and key (repeatable).")  # fmt: skip
@click.option("--listen", default="127.0.0.1:8090", show_default=True, metavar="HOST:PORT",
              help="The address to serve on.")  # fmt: skip
def witness_serve(key: str, state: str, logs: tuple[str, ...], listen: str) -> None:
    """Serve C2SP tlog-witness `POST /add-checkpoint` for the logs given with --log.

    Cosigns a checkpoint signed by the log's key that extends the last one it cosigned
    for that origin (the same checks as `witness cosign`), after recording it durably in
    STATE. Answers 409 with its size to a stale old size, 404 to an unknown origin, 403
    to a bad log signature, 422 to a bad proof, 400 to a malformed request. A state it
    cannot trust stops it (exit 5).

    \b
    Example:
      trustledger witness serve --key keys/w1.key --state w1/ \\
          --log "log=$(tail -1 keys/log.pub)" --listen 127.0.0.1:8090
    """
    import uvicorn

    from trustledger.ledger.cosignature import CosignerKey, format_cosigner_key
    from trustledger_server.witness import create_witness_app

    host, port = _listen_address(listen)
    trusted: dict[str, list[VerifierKey]] = {}
    for text in logs:
        origin, equals, vkey = text.partition("=")
        if not equals or not origin or not vkey:
            raise UsageError(f"--log {text!r}: expected ORIGIN=VKEY or ORIGIN=FILE.pub")
        trusted.setdefault(origin, []).append(load_verifier_key(vkey))
    signer = signing_key(key)
    server = Witness(signer, Path(state), trusted)
    server.check_state()
    cosigner = format_cosigner_key(CosignerKey.from_verifier(signer.verifier))
    note(f"witness {cosigner}")
    note(f"following {count(len(trusted), 'log')}; serving http://{listen}/add-checkpoint")
    uvicorn.run(create_witness_app(server), host=host, port=port, log_level="warning",
                lifespan="off")  # fmt: skip


def _listen_address(listen: str) -> tuple[str, int]:
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {listen!r}: expected HOST:PORT, such as 127.0.0.1:8090")
    return host.removeprefix("[").removesuffix("]"), int(port)


# -- export -----------------------------------------------------------------------------------
@main.command()
@click.option("--out", "out", required=True, metavar="FILE", help="The bundle to write.")
@db_option
@json_option
def export(out: str, db: str, as_json: bool) -> None:
    """Write an offline audit bundle: every entry up to the latest checkpoint, with it and
    its cosignatures, for `trustledger verify --bundle` with no database.

    \b
    Example:
      trustledger export --out audit-2026-11.bundle
    """
    with Ledger.open(db, read_only=True):
        pass  # a clear NotFound when there is no ledger
    size, _ = export_bundle(db, Path(out))
    if as_json:
        emit_json({"bundle": out, "entries": size})
    else:
        click.echo(f"wrote {out}: {size} entries")


# -- monitor ----------------------------------------------------------------------------------
@main.command()
@click.argument("url", metavar="URL")
@click.option("--trusted-key", "trusted", multiple=True, required=True, metavar="VKEY|FILE.pub",
              help="The ledger's pinned root key (repeatable).")  # fmt: skip
@click.option("--log-key", "log_keys", multiple=True, required=True, metavar="VKEY|FILE.pub",
              help="The pinned log key that signs its checkpoints (repeatable).")  # fmt: skip
@click.option("--state", "state", required=True, metavar="DIR",
              help="The monitor's state (what it verified last), kept across runs.")  # fmt: skip
@click.option("--witness-key", "witness_keys", multiple=True, metavar="VKEY|FILE.pub",
              help="A trusted witness key (repeatable).")  # fmt: skip
@click.option("--quorum", type=click.IntRange(min=0), default=0, show_default=True,
              help="Distinct witness public keys that must cosign each checkpoint.")  # fmt: skip
@click.option("--origin", metavar="ORIGIN", help="The log's origin line, as published.")
@click.option("--follow", is_flag=True, help="Keep following the log (Ctrl-C stops).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between two runs with --follow.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes verifying in parallel (default: every core).")  # fmt: skip
@json_option
def monitor(
    url: str,
    trusted: tuple[str, ...],
    log_keys: tuple[str, ...],
    state: str,
    witness_keys: tuple[str, ...],
    quorum: int,
    origin: str | None,
    follow: bool,
    interval: float,
    workers: int | None,
    as_json: bool,
) -> None:
    """Monitor a log you do not run: fetch its checkpoint and tiles, check that it extends
    what this monitor verified last, and verify every new entry by the rules of format v1.

    Exit 0 when the log extends what was held (one line per run); exit 1 on a rollback, a
    fork or split view, an entry that breaks a rule or entries that do not hash to the
    checkpoint, with the evidence saved under DIR/evidence/; exit 5 when the log or the
    state cannot be read. The cost of a run is proportional to the new entries.

    \b
    Example:
      trustledger monitor http://127.0.0.1:8080 --trusted-key keys/root.pub \\
          --log-key keys/log.pub --state mon/ --follow
    """
    from trustledger.app.monitor import HttpLog, MonitorReport, follow_log
    from trustledger.app.verifier import LedgerNotIntact

    policy = trust_policy(trusted, log_keys, witness_keys, quorum, origin,
                          roots_needed=True, log_key_needed=True)  # fmt: skip

    def render(report: MonitorReport) -> None:
        if as_json:
            body = asdict(report)
            body["intact"] = report.intact
            emit_json(body)
        elif report.failure is not None:
            click.echo(f"FAILED: {report.failure.describe()}")
            click.echo(f"(evidence saved in {report.evidence})")
        else:
            click.echo(
                f"OK: {url} at size {report.size} (root {report.root_hash}); "
                f"{report.new_entries} new {'entry' if report.new_entries == 1 else 'entries'}"
                f" verified since size {report.previous_size}"
            )

    source = HttpLog(url)
    try:
        follow_log(source, policy=policy, state_dir=Path(state), url=url, interval=interval,
                   workers=workers, on_report=render, runs=None if follow else 1)  # fmt: skip
    except LedgerNotIntact as exc:
        render(exc.report)
        sys.exit(1)
    except KeyboardInterrupt:
        note("monitor stopped")
    finally:
        source.close()
