"""The sample job of `trustledger sample DIR`: three months of a trust-purchase programme
on the embedded SQLite default, run through the library's own functions.

Keys, a ledger, 713 decisions about 40 shops, an idempotent resend, a rejected batch, a
banned owner's new shop refused (rule 12), a key revocation, an erasure, a verify that an
auditor would run with the root's public key only, the verifiable log (a signed checkpoint
cosigned by a witness, an inclusion proof, an offline bundle), and the shops' standings
rebuilt from the events (CSV, HTML, digest) with the work queue (CSV, HTML), as of the
sample's ``AS_OF``. Each step says what it did through ``say``; any failure raises the
library's error.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trustledger.app import Ledger, generate_key_files, read_records
from trustledger.app.bundle import export_bundle
from trustledger.app.policy import TrustPolicy
from trustledger.app.transparency import attach_cosignatures, create_checkpoint, prove_inclusion
from trustledger.app.verifier import verify_bundle, verify_proof, verify_store
from trustledger.app.witness import cosign_checkpoint
from trustledger.domain.timefmt import format_timestamp
from trustledger.errors import BatchRejected, InternalError, UsageError
from trustledger.ledger.cosignature import CosignerKey
from trustledger.ledger.keys import SigningKey, format_verifier_key
from trustledger.storage import open_store
from trustledger_cli.sample.decisions import (
    AS_OF,
    BANNED_OWNER,
    ERASED_BUYER,
    format_json_lines,
    refused_registration,
    sample_decisions,
)
from trustledger_projections.actions import format_actions_csv
from trustledger_projections.projection import rebuild
from trustledger_projections.queries import (
    actions_page,
    report_actions,
    report_standings,
    standing_of,
    standings_page,
)
from trustledger_projections.report import format_csv, report_digest

SAMPLE_PASSPHRASE = "sample-passphrase-change-me"
KEY_NAMES = ("root", "enforcement-bot", "reviewer-17", "log", "witness-1")
# What the job writes in DIR: --force replaces these, and nothing else.
OUTPUTS = (
    "keys", "witness-1", "ledger.db", "ledger.db-wal", "ledger.db-shm", "decisions.jsonl",
    "part-1.jsonl", "part-2.jsonl", "bad.jsonl", "ban-evasion.jsonl", "standings.csv",
    "standings.html", "actions.csv", "actions.html",
    "latest.checkpoint", "cosigned.checkpoint", "one-decision.proof", "audit.bundle",
)  # fmt: skip
# The bad batch's invalid lines: a suspension without the time it ends, a malformed id.
_SUSPENSION_WITHOUT_END = (
    '{"decision_id": "11111111-2222-4333-8444-555555555555", "type": "penalty.imposed", '
    '"shop_id": "shop-10001", "occurred_at": "2026-06-01T00:00:00Z", "data": {"penalty_id": '
    '"p-x", "violation": "counterfeit", "severity": "serious", "measures": [{"type": '
    '"suspend"}]}}'
)
_NOT_A_UUID = (
    '{"decision_id": "not-a-uuid", "type": "shop.closed", "shop_id": "shop-10002", '
    '"occurred_at": "2026-06-01T00:00:00Z", "data": {}}'
)
Say = Callable[[str], None]


@dataclass
class Sample:
    """The job's directory, store and keys, and where it reports."""

    directory: Path
    say: Say
    step: Say
    keys: dict[str, SigningKey] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.directory.resolve() / 'ledger.db'}"

    def path(self, name: str) -> Path:
        return self.directory / name


def prepare_directory(directory: Path, *, force: bool) -> None:
    """Create ``directory``, refusing one that holds anything unless ``force``, which
    removes the sample's own outputs (OUTPUTS) and leaves everything else alone."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file: give a directory for the sample")
    if directory.is_dir() and any(directory.iterdir()):
        if not force:
            raise UsageError(
                f"{directory} is not empty: give a new or empty directory, or --force to "
                "replace the sample's files in it"
            )
        for name in OUTPUTS:
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def run_sample(
    directory: Path, *, passphrase: bytes, say: Say, step: Say, force: bool = False
) -> None:
    """Run every step of the sample job in ``directory`` (see the module's docstring)."""
    prepare_directory(directory, force=force)
    job = Sample(directory, say, step)
    make_keys(job, passphrase)
    create_ledger(job)
    append_decisions(job)
    resend_batch(job)
    reject_bad_batch(job)
    refuse_ban_evasion(job)
    revoke_key(job)
    show_shop(job)
    erase_subject(job)
    verify_as_auditor(job)
    publish_verifiable_log(job)
    report_standings_files(job)  # after the checkpoint, which the reports' provenance names


def make_keys(job: Sample, passphrase: bytes) -> None:
    job.step("1. keys: the root (pins the ledger), two deciders, the log and a witness")
    for name in KEY_NAMES:
        private, _, key = generate_key_files(name, job.path("keys"), passphrase)
        job.keys[name] = key
        job.say(f"{private} (encrypted)  {format_verifier_key(key.verifier)}")


def create_ledger(job: Sample) -> None:
    job.step("2. a new ledger with the root key pinned; the deciders registered under it")
    ledger, _ = Ledger.init(job.url, job.keys["root"])
    with ledger:
        for name in ("enforcement-bot", "reviewer-17"):
            record = ledger.register_key(job.keys[name].verifier, by=job.keys["root"])
            job.say(f"registered {record.name} ({record.key_id})")
    job.say(f"ledger: {job.url}")


def append_decisions(job: Sample) -> None:
    job.step(
        "3. decisions: verifications, deposits, complaints, remedies, penalties, appeals, "
        "信任购 (JSON Lines)"
    )
    decisions = sample_decisions()
    job.path("decisions.jsonl").write_text(format_json_lines(decisions), encoding="utf-8")
    shops = len({d["shop_id"] for d in decisions})
    kinds = len({d["type"] for d in decisions})
    job.say(f"wrote decisions.jsonl: {len(decisions)} decisions, {kinds} types, {shops} shops")
    parts = {"part-1.jsonl": decisions[:300], "part-2.jsonl": decisions[300:]}
    signers = {"part-1.jsonl": "enforcement-bot", "part-2.jsonl": "reviewer-17"}
    with Ledger.open(job.url) as ledger:
        for name, part in parts.items():
            text = format_json_lines(part)
            job.path(name).write_text(text, encoding="utf-8")
            outcomes = ledger.append(read_records(text), signer=job.keys[signers[name]])
            job.say(f"{name}: {len(outcomes)} appended, signed by {signers[name]}")


def resend_batch(job: Sample) -> None:
    job.step("4. a retry of the same batch is a no-op that answers with the original positions")
    text = job.path("part-1.jsonl").read_text(encoding="utf-8")
    with Ledger.open(job.url) as ledger:
        size = ledger.size()
        outcomes = ledger.append(read_records(text), signer=job.keys["enforcement-bot"])
        if ledger.size() != size or {o.status for o in outcomes} != {"duplicate"}:
            raise InternalError("the sample's resent batch was not answered as duplicates")
    for outcome in outcomes[-2:]:
        job.say(f"{outcome.status:<9} {outcome.decision_id} position {outcome.position}")


def reject_bad_batch(job: Sample) -> None:
    job.step("5. a bad batch is rejected whole, every bad line named, nothing written (exit 4)")
    first = job.path("part-2.jsonl").read_text(encoding="utf-8").splitlines()[0]
    text = "\n".join([first, _SUSPENSION_WITHOUT_END, _NOT_A_UUID]) + "\n"
    job.path("bad.jsonl").write_text(text, encoding="utf-8")
    with Ledger.open(job.url) as ledger:
        size = ledger.size()
        try:
            ledger.append(read_records(text), signer=job.keys["enforcement-bot"])
        except BatchRejected as exc:
            for line, decision_id, reason in exc.problems:
                where = f"line {line}" + (f" (decision {decision_id})" if decision_id else "")
                job.say(f"bad.jsonl, {where}: {reason}")
            job.say(f"rejected as expected (exit {exc.exit_code}): {exc}")
        else:
            raise InternalError("the sample's bad batch was accepted")
        if ledger.size() != size:
            raise InternalError("the sample's rejected batch wrote entries")


def refuse_ban_evasion(job: Sample) -> None:
    job.step("6. a banned owner's new shop is refused (rule 12, ban evasion), nothing written")
    text = format_json_lines([refused_registration()])
    job.path("ban-evasion.jsonl").write_text(text, encoding="utf-8")
    with Ledger.open(job.url) as ledger:
        size = ledger.size()
        try:
            ledger.append(read_records(text), signer=job.keys["enforcement-bot"])
        except BatchRejected as exc:
            for line, _, reason in exc.problems:
                job.say(f"ban-evasion.jsonl, line {line}: {reason}")
            job.say(f"refused as expected (exit {exc.exit_code}): {BANNED_OWNER}'s shop is banned")
        else:
            raise InternalError("the sample's ban-evading registration was accepted")
        if ledger.size() != size:
            raise InternalError("the sample's refused registration wrote entries")


def revoke_key(job: Sample) -> None:
    job.step("7. a decider key is revoked; what it signed before stays valid")
    with Ledger.open(job.url) as ledger:
        ledger.revoke_key(
            job.keys["reviewer-17"].key_id, by=job.keys["root"], reason="reviewer left the team"
        )
        infos = ledger.keys()
    for info in infos:
        revoked = f"  revoked {info.revoked_at}" if info.revoked_at else ""
        job.say(f"{info.key_id}  {info.role:<7}  {info.state:<7}  {info.name}{revoked}")


def show_shop(job: Sample) -> None:
    job.step("8. one shop's history")
    with Ledger.open(job.url, read_only=True) as ledger:
        for entry in ledger.log(shop_id="shop-10007"):
            job.say(
                f"{entry.position:>7}  {entry.occurred_at or '-':<20}  {entry.type:<24}  "
                f"{entry.shop_id or '-':<16}  {entry.decision_id}"
            )


def erase_subject(job: Sample) -> None:
    job.step("9. a buyer asks to be forgotten (PIPL / GDPR): their key is destroyed")
    with Ledger.open(job.url) as ledger:
        ledger.erase(ERASED_BUYER)
    job.say(f"erased: {ERASED_BUYER}")


def verify_as_auditor(job: Sample) -> None:
    job.step("10. the auditor verifies with the root's public key only")
    root = job.keys["root"].verifier
    report = verify_store(job.url, policy=TrustPolicy.of(root_keys=[root], log_keys=[root]))
    job.say(
        f"OK: {report.entries} entries verified (chain, signatures, key history, order); "
        f"{report.redacted} with erased personal data; head {report.head_chain_hash}"
    )


def report_standings_files(job: Sample) -> None:
    job.step("12. the report pipeline: every shop's standing, rebuilt from the events alone")
    store = open_store(job.url)
    try:
        result = rebuild(store)
    finally:
        store.close()
    job.say(f"applied {result.applied} events; the view is at notification {result.position}")
    at = datetime(2026, 4, 1, tzinfo=UTC)
    shop = standing_of(job.url, "shop-10007", at=at).value
    job.say(
        f"{shop['shop_id']}: {shop['status']} as of 2026-04-01T00:00:00Z, points "
        f"{shop['points']} (tier {shop['points_tier']}), trust purchase eligible: "
        f"{'yes' if shop['trust_purchase_eligible'] else 'no'}"
    )
    # The sample's "now": its decisions are dated before it, the reports the same every run.
    now = AS_OF
    report = report_standings(job.url, at=now).value
    job.path("standings.csv").write_text(format_csv(report.document), encoding="utf-8")
    job.path("standings.html").write_text(
        standings_page(job.url, at=now).value.text, encoding="utf-8"
    )
    job.say(f"standings as of {format_timestamp(now)}, digest: {report_digest(report.document)}")
    job.say(f"wrote {job.path('standings.csv')} and {job.path('standings.html')}")
    queue = report_actions(job.url, at=now).value.document
    job.path("actions.csv").write_text(format_actions_csv(queue), encoding="utf-8")
    job.path("actions.html").write_text(actions_page(job.url, at=now).value.text, encoding="utf-8")
    shops = len({item["shop_id"] for item in queue["items"]})
    job.say(f"work queue: {len(queue['items'])} items for {shops} shops, most urgent first")
    job.say(f"wrote {job.path('actions.csv')} and {job.path('actions.html')}")


def publish_verifiable_log(job: Sample) -> None:
    job.step(
        "11. the verifiable log: a signed checkpoint, cosigned by a witness, an offline bundle"
    )
    log, witness, root = (job.keys[n] for n in ("log", "witness-1", "root"))
    with Ledger.open(job.url) as ledger:
        checkpoint = create_checkpoint(ledger.store, log)
        job.path("latest.checkpoint").write_bytes(checkpoint)
        cosigned = cosign_checkpoint(
            checkpoint, None, key=witness, state_dir=job.path("witness-1"),
            log_keys=[log.verifier],
        )  # fmt: skip
        job.path("cosigned.checkpoint").write_bytes(cosigned.note)
        attach_cosignatures(ledger.store, cosigned.note)
        job.say(f"checkpoint of size {cosigned.size}, cosigned by witness-1: {cosigned.line}")
        decision_id = sample_decisions()[9]["decision_id"]
        job.path("one-decision.proof").write_bytes(prove_inclusion(ledger.store, decision_id))
    policy = TrustPolicy.of(
        root_keys=[root.verifier],
        log_keys=[log.verifier],
        witness_keys=[CosignerKey.from_verifier(witness.verifier)],
        quorum=1,
        origin="log",
    )
    proof = verify_proof(
        job.path("one-decision.proof").read_bytes(), policy=policy, source="one-decision.proof"
    )
    job.say(f"OK: decision {decision_id} is entry {proof.index} of {proof.origin} at size "
            f"{proof.size} (one-decision.proof)")  # fmt: skip
    entries, _ = export_bundle(job.url, job.path("audit.bundle"))
    report = verify_bundle(job.path("audit.bundle"), policy=policy, workers=1)
    job.say(
        f"OK: audit.bundle, {entries} entries verified offline with the root, log and witness "
        f"keys (root {report.root_hash}): an auditor needs no database"
    )
