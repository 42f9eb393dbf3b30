"""The core commands of ``trustledger`` (keys, init, append, verify, log, erase): parse →
call one library function → render. The group and its global options are in ``root``.

Every command's docstring is its ``--help`` and ends with an example. Errors print one
line ``trustledger: error: ...`` on stderr and exit with the code of CONTRIBUTING.md's table.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustledger.app import (
    Ledger,
    LogEntry,
    VerifyReport,
    generate_key_files,
    load_verifier_key,
)
from trustledger.app.append import DEFAULT_BATCH_SIZE
from trustledger.app.records import read_stream
from trustledger.domain.timefmt import parse_timestamp
from trustledger.errors import InvalidDecision, UsageError, VerificationFailed
from trustledger.ledger.keys import KeyId, format_verifier_key

if TYPE_CHECKING:
    from trustledger.app.append import DryRunOutcome
    from trustledger.app.policy import TrustPolicy
    from trustledger.app.verifier import ProofReport

from trustledger_cli.append_report import AppendReport
from trustledger_cli.common import (
    MAX_ERRORS,
    Group,
    count,
    db_option,
    detail,
    emit_json,
    json_option,
    note,
    passphrase_prompt,
    progress_bar,
    signing_key,
    verbosity,
)
from trustledger_cli.root import main

# The group, re-exported: `from trustledger_cli.main import main` gives it with these
# commands registered (tests, embedding scripts); the others load on first use.
__all__ = ["main"]


# -- keys -------------------------------------------------------------------------------------
@main.group(cls=Group)
def keys() -> None:
    """Generate, register, list and revoke signing keys.

    \b
    Example:
      trustledger keys generate bot-1 --out keys/
      trustledger keys register keys/bot-1.pub --by keys/root.key
    """


@keys.command("generate")
@click.argument("name")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for NAME.key and NAME.pub.",
)
@json_option
def keys_generate(name: str, out_dir: str, as_json: bool) -> None:
    """Create an Ed25519 key pair: DIR/NAME.key (encrypted) and DIR/NAME.pub.

    The private key is encrypted with the passphrase from TRUSTLEDGER_KEY_PASSPHRASE (or
    a prompt). The verifier key (the last line of NAME.pub) is printed on stdout.

    \b
    Example:
      TRUSTLEDGER_KEY_PASSPHRASE=... trustledger keys generate bot-1 --out keys/
    """
    private, public, key = generate_key_files(name, Path(out_dir), passphrase_prompt(True))
    vkey = format_verifier_key(key.verifier)
    if as_json:
        emit_json(
            {
                "name": name,
                "key_id": str(key.key_id),
                "verifier_key": vkey,
                "private_key_file": str(private),
                "public_key_file": str(public),
            }
        )
    else:
        note(f"wrote {private} (encrypted) and {public}")
        click.echo(vkey)


@keys.command("register")
@click.argument("public_key", metavar="KEY.pub")
@click.option("--by", "by", required=True, metavar="ROOT.key", help="The root key file.")
@click.option("--actor", help="Who authorised the registration (recorded).")
@db_option
@json_option
def keys_register(public_key: str, by: str, actor: str | None, db: str, as_json: bool) -> None:
    """Register a decider key in the ledger, signed by the root key.

    KEY.pub is a .pub file or an inline verifier key (name+keyid+base64).

    \b
    Example:
      trustledger keys register keys/bot-1.pub --by keys/root.key
    """
    key = load_verifier_key(public_key)
    with Ledger.open(db) as ledger:
        record = ledger.register_key(key, by=signing_key(by), actor=actor)
    if as_json:
        emit_json({"key_id": record.key_id, "name": record.name, "state": record.state})
    else:
        click.echo(f"registered {record.name} ({record.key_id})")


@keys.command("revoke")
@click.argument("key_id", metavar="KEY_ID")
@click.option("--by", "by", required=True, metavar="ROOT.key", help="The root key file.")
@click.option("--reason", help="Why the key is revoked (recorded).")
@db_option
@json_option
def keys_revoke(key_id: str, by: str, reason: str | None, db: str, as_json: bool) -> None:
    """Revoke a decider key: decisions signed by it are refused from now on.

    KEY_ID is the 8-hex-digit id shown by `keys list`.

    \b
    Example:
      trustledger keys revoke 1a2b3c4d --by keys/root.key --reason "laptop lost"
    """
    with Ledger.open(db) as ledger:
        record = ledger.revoke_key(KeyId.parse(key_id), by=signing_key(by), reason=reason)
    if as_json:
        emit_json({"key_id": record.key_id, "name": record.name, "state": record.state})
    else:
        click.echo(f"revoked {record.name} ({record.key_id})")


@keys.command("list")
@db_option
@json_option
def keys_list(db: str, as_json: bool) -> None:
    """List the root key and every registered decider key with its state.

    \b
    Example:
      trustledger keys list --json
    """
    with Ledger.open(db, read_only=True) as ledger:
        infos = ledger.keys()
    if as_json:
        emit_json([asdict(info) for info in infos])
        return
    for info in infos:
        revoked = f"  revoked {info.revoked_at}" if info.revoked_at else ""
        click.echo(f"{info.key_id}  {info.role:<7}  {info.state:<7}  {info.name}{revoked}")


# -- ledger -----------------------------------------------------------------------------------
@main.command()
@click.option("--root-key", required=True, metavar="ROOT.key", help="The root key to pin.")
@db_option
@json_option
def init(root_key: str, db: str, as_json: bool) -> None:
    """Create a new ledger with ROOT.key pinned as its root key (idempotent).

    The root key signs only key registrations and revocations; auditors pin its public
    key (ROOT.pub) and need nothing else.

    \b
    Example:
      trustledger init --root-key keys/root.key --db sqlite:///ledger.db
    """
    root = signing_key(root_key)
    ledger, created = Ledger.init(db, root)
    ledger.close()
    vkey = format_verifier_key(root.verifier)
    if as_json:
        emit_json({"db": db, "created": created, "root_key": vkey})
    else:
        note(("initialised " if created else "already initialised: ") + db)
        click.echo(vkey)


@main.command()
@click.argument("source", metavar="FILE|-")
@click.option("--key", "key", required=True, metavar="KEY.key", help="The decider's key file.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=DEFAULT_BATCH_SIZE,
              show_default=True, help="Decisions judged and written together: the unit of "
              "all-or-nothing, and what the append holds in memory.")  # fmt: skip
@click.option("--max-errors", type=click.IntRange(min=0), default=20, show_default=True,
              help="Print at most N invalid lines of a refused batch, then their "
              "count.")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the input against the ledger as an append would; write nothing.",
)
@db_option
@click.option("--json", "as_json", is_flag=True,
              help="One JSON line per decision on stdout, then a summary object.")  # fmt: skip
def append(
    source: str,
    key: str,
    batch_size: int,
    max_errors: int,
    quiet: bool,
    dry_run: bool,
    db: str,
    as_json: bool,
) -> None:
    """Append decisions from FILE (one JSON object, a JSON array, or JSON Lines; - is stdin).

    The input is read and written in batches of --batch-size decisions, so memory does not
    grow with it. Each batch is all-or-nothing: any invalid line rejects it, its invalid
    lines are reported with their numbers (the first --max-errors of them), and nothing of
    it or after it is written (exit 4); the batches before it stay written, as the summary
    says. Re-sending a recorded decision is a no-op that answers with its original
    position, so appending the whole file again completes it. KEY.key must be registered
    (`keys register`) and not revoked. Prints one summary line on stderr (a progress line
    before it on a terminal); --json prints `{"line", "decision_id", "position", "status"}`
    per decision (status appended or duplicate), then `{"summary": {...}}`.

    --dry-run judges the batch the same way (every rule, the key, which decisions are
    already recorded) and writes nothing: it prints `new DECISION_ID` for each decision
    an append would record and exits as the append would.

    \b
    Example:
      trustledger append --key keys/bot-1.key --dry-run decisions.jsonl
      trustledger append --key keys/bot-1.key decisions.jsonl
    """
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    click.get_current_context().meta[MAX_ERRORS] = max_errors
    quiet = quiet or verbosity() < 0  # the global -q too
    with stream:
        signer = signing_key(key)
        detail(f"signing as {signer.name} ({signer.key_id}) into {db}, batches of {batch_size}")
        records = read_stream(stream, source=source)
        if dry_run:
            with Ledger.open(db) as ledger:
                _render_dry_run(ledger.check_append(records, signer=signer), as_json)
            return
        with Ledger.open(db) as ledger, AppendReport(stream, as_json=as_json, quiet=quiet) as out:
            for outcomes in ledger.append_batches(records, signer=signer, batch_size=batch_size):
                out.batch(outcomes)
                detail(f"batch of {len(outcomes)} written, through line {out.tally.through_line}")


def _render_dry_run(outcomes: list[DryRunOutcome], as_json: bool) -> None:
    if as_json:
        emit_json([asdict(o) for o in outcomes])
    elif verbosity() >= 0:
        for outcome in outcomes:
            where = "" if outcome.position is None else f" position {outcome.position}"
            click.echo(f"{outcome.status:<9} {outcome.decision_id}{where}")
    new = sum(1 for o in outcomes if o.status == "new")
    recorded = len(outcomes) - new
    note(f"{new} would be appended (dry run: nothing written), {recorded} already recorded")


@main.command()
@click.option(
    "--trusted-key",
    "trusted",
    multiple=True,
    metavar="VKEY|FILE.pub",
    help="A pinned root verifier key: inline NAME+KEYID+BASE64 or a .pub file (repeatable). "
    "Without --log-key these keys are also taken as log keys.",
)
@click.option("--log-key", "log_keys", multiple=True, metavar="VKEY|FILE.pub",
              help="A pinned log key, the key that signs checkpoints (repeatable).")  # fmt: skip
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes verifying in parallel (default: every core).",
)
@click.option("--bundle", "bundle", metavar="FILE",
              help="Verify an exported bundle offline instead of a store.")  # fmt: skip
@click.option("--hash-only", "hash_only", is_flag=True,
              help="With --bundle: check the checkpoint, chain and Merkle root only; entry "
                   "signatures are NOT checked.")  # fmt: skip
@click.option("--checkpoint", "held", multiple=True, metavar="FILE",
              help="A checkpoint you hold: the log must extend it (repeatable).")  # fmt: skip
@click.option("--witness-key", "witness_keys", multiple=True, metavar="VKEY|FILE.pub",
              help="A trusted witness key (repeatable).")  # fmt: skip
@click.option("--quorum", type=click.IntRange(min=0), default=0, show_default=True,
              help="Distinct witness public keys that must cosign each checkpoint.")  # fmt: skip
@click.option("--proof", "proof", metavar="FILE",
              help="Verify one decision's inclusion proof (prove inclusion) offline.")  # fmt: skip
@click.option("--origin", "origin", metavar="ORIGIN",
              help="The log's origin line, as its operator published it: checkpoints "
                   "(held, in the bundle or proof) naming another origin fail.")  # fmt: skip
@db_option
@json_option
def verify(
    trusted: tuple[str, ...],
    log_keys: tuple[str, ...],
    workers: int | None,
    bundle: str | None,
    hash_only: bool,
    held: tuple[str, ...],
    witness_keys: tuple[str, ...],
    quorum: int,
    proof: str | None,
    origin: str | None,
    db: str,
    as_json: bool,
) -> None:
    """Verify a ledger with public keys only, by the rules of format v1 (docs/FORMAT.md).

    Exit 0 when intact; exit 1 with the first failure (check, position, decision id, what)
    when not; exit 2 when what was given cannot be checked (no key, a file that is not a
    bundle or proof). Opens the store read-only. --trusted-key pins the root key, --log-key
    the log key (without --log-key, the --trusted-key keys count as log keys too).
    Checkpoints you hold (--checkpoint) must be extended by the log: a truncated tail,
    rewritten history or a split view fails (exit 1). --bundle and --proof need no
    database. --bundle --hash-only checks the checkpoint, the chain and the Merkle root but
    NOT the entries' signatures (a fast pre-check, not an audit).

    \b
    Example:
      trustledger verify --db sqlite:///ledger.db --trusted-key "$(tail -1 keys/root.pub)"
      trustledger verify --bundle audit.bundle --trusted-key keys/root.pub \\
          --log-key keys/log.pub --witness-key keys/witness.pub --quorum 1 --origin log
    """
    from trustledger.app.verifier import LedgerNotIntact, verify_bundle, verify_proof
    from trustledger_cli.verifiable import read_file, trust_policy

    if hash_only and bundle is None:
        raise UsageError("--hash-only applies to --bundle only")
    if quorum > len(witness_keys):
        raise UsageError(f"--quorum {quorum} needs at least {quorum} --witness-key")
    if not (held or bundle or proof):
        # Checkpoints are what witnesses cosign and what carry an origin.
        for given, option in ((origin is not None, "--origin"), (quorum > 0, "--quorum")):
            if given:
                raise UsageError(
                    f"{option} checks checkpoints: give --checkpoint, --bundle or --proof"
                )
    full_ledger = (bundle is not None and not hash_only) or (bundle is None and proof is None)
    policy = trust_policy(
        trusted, log_keys, witness_keys, quorum, origin,
        roots_needed=full_ledger, log_key_needed=bool(held or bundle or proof),
    )  # fmt: skip
    checkpoints = [(path, read_held_checkpoint(path, read_file)) for path in held]
    detail(
        f"verifying {proof or bundle or db} with {count(len(policy.root_keys), 'root key')}, "
        f"{count(len(policy.log_keys), 'log key')}, "
        f"{count(len(policy.witness_keys), 'witness key')} (quorum {quorum}), "
        f"{count(len(checkpoints), 'held checkpoint')}"
    )
    started = time.monotonic()
    try:
        if proof is not None:
            if not log_keys:
                _refuse_unsigned_by_trusted(read_file(proof), policy, proof)
            proven = verify_proof(read_file(proof), policy=policy, source=proof)
            render_proof(proven, as_json)
            return
        report: VerifyReport
        if bundle is not None:
            with progress_bar(_bundle_entries(bundle), as_json) as bar:
                report = verify_bundle(
                    Path(bundle), policy=policy, checkpoints=checkpoints, hash_only=hash_only,
                    workers=workers, progress=bar.update,
                )  # fmt: skip
        else:
            report = _verify_store_with_progress(db, policy, checkpoints, workers, as_json)
    except LedgerNotIntact as exc:
        if proof is not None:
            render_proof(exc.report, as_json)
        else:
            render_report(exc.report, as_json)
        sys.exit(1)
    detail(f"verified in {time.monotonic() - started:.2f} s")
    render_report(report, as_json)


def _refuse_unsigned_by_trusted(data: bytes, policy: TrustPolicy, source: str) -> None:
    """With --trusted-key alone, a proof whose checkpoint none of those keys signed is a
    usage error naming --log-key: most likely the root key was given for the log key,
    which is no sign of tampering (with --log-key given, the verdict stands: exit 1)."""
    from trustledger.ledger.note import parse_note
    from trustledger.ledger.proof import parse_inclusion_proof

    try:
        signers = parse_note(parse_inclusion_proof(data).checkpoint).signatures
    except VerificationFailed:
        return  # not even well-formed: verify_proof reports it
    given = {key.key_id for key in policy.log_keys}
    if signers and not any(signer.key_id in given for signer in signers):
        names = ", ".join(f"{signer.name}+{signer.key_id}" for signer in signers)
        raise UsageError(
            f"the checkpoint in {source} is signed by {names}, not by a --trusted-key given; "
            "checkpoints are signed by the log key: pass it with --log-key LOG.pub"
        )


def read_held_checkpoint(path: str, read: Callable[[str], bytes]) -> bytes:
    """An auditor's --checkpoint file; one that is not a signed note is a usage error (the
    auditor's own file), not a verdict on the log."""
    from trustledger.ledger.note import parse_note

    data = read(path)
    try:
        parse_note(data)
    except VerificationFailed as exc:
        raise UsageError(f"--checkpoint {path} is not a signed checkpoint: {exc}") from exc
    return data


def _verify_store_with_progress(
    db: str,
    policy: TrustPolicy,
    checkpoints: list[tuple[str, bytes]],
    workers: int | None,
    as_json: bool,
) -> VerifyReport:
    from trustledger.app.verifier import verify_store

    with Ledger.open(db, read_only=True) as ledger:
        size, url = ledger.size(), ledger.store.url
    with progress_bar(size, as_json) as bar:
        return verify_store(
            url, policy=policy, checkpoints=checkpoints, workers=workers, progress=bar.update
        )


def _bundle_entries(path: str) -> int:
    """The entry count a bundle's header announces (the bar's length); 0 when the file has
    no readable header, which verify_bundle then reports."""
    from trustledger.ledger.bundle import parse_header

    try:
        with open(path, "rb") as handle:
            return parse_header(handle.readline(), handle.readline()).entries
    except (OSError, VerificationFailed):
        return 0


def render_proof(report: ProofReport, as_json: bool) -> None:
    """A proof's verdict: ``OK: entry N is in ORIGIN at size S (root …)`` or FAILED."""
    if as_json:
        body: dict[str, object] = {"intact": report.intact, "proof": report.proof}
        if report.failure is not None:
            body["failure"] = asdict(report.failure)
        else:
            body.update(index=report.index, origin=report.origin, size=report.size,
                        root_hash=report.root_hash)  # fmt: skip
        emit_json(body)
    elif report.failure is not None:
        click.echo(f"FAILED: {report.proof}: {report.failure.message}")
    elif verbosity() >= 0:  # -q: the exit code says it
        click.echo(
            f"OK: entry {report.index} is in {report.origin} at size {report.size} "
            f"(root {report.root_hash})"
        )


def render_report(report: VerifyReport, as_json: bool) -> None:
    """A store's or bundle's verdict, as text or JSON."""
    signatures_checked = getattr(report, "signatures_checked", True)
    if as_json:
        body = asdict(report)
        body["intact"] = report.intact
        body["signatures_checked"] = signatures_checked
        emit_json(body)
        return
    if report.intact and verbosity() < 0:
        return  # -q: the exit code says it
    if report.intact and not signatures_checked:
        click.echo(
            f"OK (hash-only, signatures NOT checked): {count(report.entries, 'entry', 'entries')}"
            f" chained and hashed to the signed checkpoint's root {report.root_hash}; "
            f"head {report.head_chain_hash}"
            + (
                f"; extends {count(report.checkpoints, 'held checkpoint')}"
                if report.checkpoints
                else ""
            )
        )
    elif report.intact:
        click.echo(
            f"OK: {count(report.entries, 'entry', 'entries')} verified (chain, "
            f"signatures, key history, order); {count(report.key_events, 'key event')}, "
            f"{count(report.decider_keys, 'decider key')}; "
            f"{count(report.redacted, 'entry', 'entries')} with erased personal data; "
            f"head {report.head_chain_hash}"
            + (f"; root {report.root_hash}" if report.root_hash else "")
            + (
                f"; extends {count(report.checkpoints, 'held checkpoint')}"
                if report.checkpoints
                else ""
            )
        )
    else:
        assert report.failure is not None
        click.echo(f"FAILED: {report.failure.describe()}")
        if report.entries == 0 and (report.failure.position or 0) > 0:
            # The key history is read and checked before any entry is walked.
            click.echo("(found in the key history, which is checked before the entries)")
        else:
            click.echo(f"({count(report.entries, 'entry', 'entries')} verified before it)")
        return
    # What the keys and files given could not establish: an OK is no more than the rest.
    for missing in report.not_checked:
        click.echo(f"not checked: {missing}")


def _timestamp_option(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value, field=option)
    except InvalidDecision as exc:
        raise UsageError(f"{exc} (for example 2026-11-02T00:00:00Z)") from exc


@main.command()
@click.option("--shop", "shop_id", help="Only this shop's decisions.")
@click.option("--type", "types", multiple=True, metavar="TYPE",
              help="Only entries of this type, or of types starting with a prefix ending in "
                   "'.' (penalty.); repeatable.")  # fmt: skip
@click.option("--after", "after", metavar="TIMESTAMP",
              help="Only entries that occurred at or after this RFC 3339 UTC time.")  # fmt: skip
@click.option("--before", "before", metavar="TIMESTAMP",
              help="Only entries that occurred before this RFC 3339 UTC time.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (the first) entries.")
@click.option("--tail", type=click.IntRange(min=1), help="Only the last N (matching) entries.")
@click.option(
    "--reveal-personal",
    is_flag=True,
    help="Decrypt personal data (where the subject is not erased).",
)
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout: one object an entry.")
def log(
    shop_id: str | None,
    types: tuple[str, ...],
    after: str | None,
    before: str | None,
    limit: int | None,
    tail: int | None,
    reveal_personal: bool,
    db: str,
    as_json: bool,
) -> None:
    """Show recorded entries in ledger order, as they are read (memory stays flat).

    Without --shop the key events (ledger.initialised, key.registered, key.revoked,
    rules.published) are listed too. --after/--before filter on occurred_at (the time
    a decision took effect; for key events, the time of recording): from --after on,
    before --before. Text columns: position, occurred_at, type, shop_id, decision id.
    --json prints JSON Lines, one object an entry.

    With --reveal-personal, personal data is decrypted (where the subject is not
    erased); otherwise it stays encrypted.

    \b
    Example:
      trustledger log --shop shop-10086 --type penalty. --after 2026-11-01T00:00:00Z
      trustledger log --tail 20 --json
    """
    if limit is not None and tail is not None:
        raise UsageError("give --limit (the first N entries) or --tail (the last N), not both")
    occurred_from = _timestamp_option(after, "--after")
    occurred_before = _timestamp_option(before, "--before")
    out = sys.stdout
    shown = 0
    with Ledger.open(db, read_only=True) as ledger:
        for entry in ledger.log(
            shop_id=shop_id, types=types, occurred_from=occurred_from,
            occurred_before=occurred_before, limit=limit, tail=tail,
            reveal_personal=reveal_personal,
        ):  # fmt: skip
            # Written as read, through stdout's own buffer (click.echo flushes every line).
            out.write((_entry_json(entry) if as_json else _entry_line(entry)) + "\n")
            shown += 1
    detail(f"{count(shown, 'entry', 'entries')} from {db}")


def _entry_json(entry: LogEntry) -> str:
    # The fields by hand: asdict would deep-copy every document first (a third of the time).
    body = {name: getattr(entry, name) for name in _LOG_FIELDS}
    return json.dumps(body, ensure_ascii=False)


_LOG_FIELDS = tuple(field.name for field in fields(LogEntry))


def _entry_line(entry: LogEntry) -> str:
    return (
        f"{entry.position:>7}  {entry.occurred_at or '-':<20}  {entry.type:<24}  "
        f"{entry.shop_id or '-':<16}  {entry.decision_id}"
    )


@main.command()
@click.argument("ref", metavar="DECISION_ID|POSITION")
@click.option(
    "--reveal-personal",
    is_flag=True,
    help="Decrypt personal data (where the subject is not erased).",
)
@db_option
@json_option
def get(ref: str, reveal_personal: bool, db: str, as_json: bool) -> None:
    """Show one entry: by its decision id, or by its position in the log (0, 1, ...).

    Text: the entry's line as `log` prints it, then its signed document as JSON. --json:
    the object `log --json` prints for it, indented. No such entry: exit 3.

    \b
    Example:
      trustledger get 5b0d1e48-8d4c-4f7e-9a51-3f2a1c0b9e77
      trustledger get 0 --json
    """
    with Ledger.open(db, read_only=True) as ledger:
        entry = ledger.entry(ref, reveal_personal=reveal_personal)
    if as_json:
        emit_json(asdict(entry))
    else:
        click.echo(_entry_line(entry))
        click.echo(json.dumps(entry.document, ensure_ascii=False, indent=2))


@main.command()
@click.argument("subject_id")
@db_option
@json_option
def erase(subject_id: str, db: str, as_json: bool) -> None:
    """Erase a data subject (PIPL / GDPR): destroy the key of its personal data.

    SUBJECT_ID is the `personal.subject_id` of the decisions. This cannot be undone. The
    ciphertext stays in the ledger, unreadable for good; every signature, hash and `verify`
    still passes and counts the entries as redacted. Unknown subject: exit 3.

    \b
    Example:
      trustledger erase buyer-77
    """
    with Ledger.open(db) as ledger:
        erased = ledger.erase(subject_id)
    if as_json:
        emit_json({"subject_id": subject_id, "erased": True, "already_erased": not erased})
    else:
        click.echo(f"{'erased' if erased else 'already erased'}: {subject_id}")


@main.command()
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to FILE, not stdout.")
def schema(out: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of the decision document.

    It is the schema shipped in the package: every check the append parser makes on one
    document that JSON Schema can express (docs/DECISIONS.md says which it cannot). The rules
    that need the ledger's history are checked by `append` (try `append --dry-run`).

    \b
    Example:
      trustledger schema --out decision.schema.json
    """
    from trustledger.domain.schema import decision_schema_text
    from trustledger_cli.verifiable import write_document

    write_document(decision_schema_text().encode("utf-8"), out)


if __name__ == "__main__":  # pragma: no cover
    main()
