"""Offline bundles: ``verify_bundle`` in full and hash-only mode, in one process and in
worker processes, and the tampering each catches (a modified byte, a truncated tail, a
wrong root, a held checkpoint the bundle does not extend)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerEnv, make_ledger, trusting
from trustledger.app.bundle import BundleReport, check_bundle, export_bundle
from trustledger.app.transparency import create_checkpoint
from trustledger.ledger.bundle import parse_entry_line
from trustledger.ledger.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from trustledger.ledger.keys import SigningKey, VerifierKey, generate_signing_key
from trustledger.ledger.note import parse_note


class Bundled:
    def __init__(self, env: LedgerEnv, log: SigningKey, path: Path, held: bytes) -> None:
        self.env, self.log, self.path, self.held = env, log, path, held

    def verify(self, path: Path | None = None, **kwargs: object) -> BundleReport:
        keys = [self.env.root.verifier, self.log.verifier]
        return check(path or self.path, keys, **kwargs)


def check(path: Path, keys: Sequence[VerifierKey], **kwargs: Any) -> BundleReport:
    """``check_bundle`` with ``keys`` as root and log keys, witness options into the policy."""
    options = (("witnesses", "witness_keys"), ("quorum", "quorum"), ("origin", "origin"))
    policy: dict[str, Any] = {
        option: kwargs.pop(name) for name, option in options if name in kwargs
    }
    return check_bundle(path, policy=trusting(keys, **policy), **kwargs)


@pytest.fixture
def bundled(tmp_path: Path) -> Bundled:
    """A ledger of 26 entries with a checkpoint at 10 (held by the auditor) and one at 26,
    exported."""
    env = make_ledger(tmp_path)
    env.append_history("shop-1")
    log = generate_signing_key("log")
    with env.open() as ledger:
        held = create_checkpoint(ledger.store, log)
    env.append_history("shop-2", buyer="buyer-78")
    env.append_history("shop-3")
    with env.open() as ledger:
        create_checkpoint(ledger.store, log)
    path = tmp_path / "audit.bundle"
    assert export_bundle(env.url, path)[0] == 26
    return Bundled(env, log, path, held)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def _write(path: Path, lines: list[bytes]) -> Path:
    out = path.with_name("tampered.bundle")
    out.write_bytes(b"\n".join(lines))
    return out


def test_hash_only_agrees_with_the_full_verify(bundled: Bundled) -> None:
    full = bundled.verify(workers=1)
    fast = bundled.verify(hash_only=True, workers=1)
    assert full.intact and fast.intact
    assert (full.signatures_checked, fast.signatures_checked) == (True, False)
    assert full.entries == fast.entries == 26
    assert fast.root_hash == full.root_hash is not None
    assert fast.head_chain_hash == full.head_chain_hash is not None
    # nothing inside the entries was read
    assert (fast.key_events, fast.decider_keys, fast.redacted, fast.root_key) == (0, 0, 0, None)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("range_bytes", [1, 700, 5_000, 4 << 20])
def test_any_range_size_and_worker_count_gives_the_same_report(
    bundled: Bundled, workers: int, range_bytes: int
) -> None:
    reference = bundled.verify(hash_only=True, workers=1)
    held = [("held", bundled.held)]
    for hash_only in (True, False):
        report = bundled.verify(
            hash_only=hash_only, workers=workers, range_bytes=range_bytes, checkpoints=held
        )
        assert report.failure is None
        assert (report.entries, report.root_hash, report.head_chain_hash, report.checkpoints) == (
            26, reference.root_hash, reference.head_chain_hash, 1,
        )  # fmt: skip


def test_hash_only_needs_only_the_log_key(bundled: Bundled) -> None:
    keys = [bundled.log.verifier]
    assert check(bundled.path, keys, hash_only=True).intact
    report = check(bundled.path, keys, workers=1)
    assert report.failure is not None and report.failure.check == "root"


@pytest.mark.parametrize("hash_only", [True, False])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_modified_entry_byte_fails(bundled: Bundled, hash_only: bool, workers: int) -> None:
    lines = _lines(bundled.path)
    fields = lines[2 + 13].split(b"\t", 5)
    fields[3] += b"x"  # one byte more in the topic of position 13
    lines[2 + 13] = b"\t".join(fields)
    report = bundled.verify(
        _write(bundled.path, lines), hash_only=hash_only, workers=workers, range_bytes=3_000
    )
    assert report.failure is not None
    assert (report.failure.check, report.failure.position) == ("chain", 13)
    assert report.root_hash is None and report.head_chain_hash is None


@pytest.mark.parametrize("hash_only", [True, False])
def test_a_truncated_tail_fails(bundled: Bundled, hash_only: bool) -> None:
    lines = _lines(bundled.path)
    assert lines[-1] == b""
    cut = _write(bundled.path, [*lines[:-2], b""])  # the last entry line removed
    report = bundled.verify(cut, hash_only=hash_only)
    assert report.failure is not None
    assert report.failure.describe() == (
        "bundle failed at the ledger: the header announces 26 entries, found 25"
    )
    # ... and with the header made to match, the signed checkpoint still says 26.
    header = json.loads(lines[1])
    header["entries"] = 25
    header["head_chain_hash"] = parse_entry_line(lines[-3], 24).chain_hash.hex()  # type: ignore[union-attr]
    lines[1] = json.dumps(header).encode()
    report = bundled.verify(_write(bundled.path, [*lines[:-2], b""]), hash_only=hash_only)
    assert report.failure is not None
    assert report.failure.describe() == (
        "checkpoint failed at the ledger: the checkpoint signs 26 entries, the bundle holds 25"
    )


@pytest.mark.parametrize("hash_only", [True, False])
def test_a_wrong_root_fails(bundled: Bundled, hash_only: bool) -> None:
    lines = _lines(bundled.path)
    header = json.loads(lines[1])
    signed = parse_checkpoint(parse_note(header["checkpoint"].encode()).text)
    wrong = Checkpoint(signed.origin, signed.size, bytes(32))
    header["checkpoint"] = sign_checkpoint(wrong, bundled.log).decode()
    lines[1] = json.dumps(header).encode()
    report = bundled.verify(_write(bundled.path, lines), hash_only=hash_only, workers=1)
    assert report.failure is not None
    assert report.failure.check == "checkpoint"
    assert report.failure.message.startswith(
        "the log does not extend checkpoint in the bundle (size 26): history was rewritten: "
        f"expected root {bytes(32).hex()}, calculated "
    )


def test_a_held_checkpoint_with_another_root_fails(bundled: Bundled) -> None:
    held = parse_checkpoint(parse_note(bundled.held).text)
    forged = sign_checkpoint(Checkpoint(held.origin, held.size, bytes(32)), bundled.log)
    report = bundled.verify(hash_only=True, checkpoints=[("old.checkpoint", forged)])
    assert report.failure is not None
    assert report.failure.message.startswith(
        "the log does not extend checkpoint old.checkpoint (size 10): history was rewritten"
    )


def test_a_checkpoint_not_signed_by_the_log_key_fails(bundled: Bundled) -> None:
    report = check(bundled.path, [bundled.env.root.verifier], hash_only=True)
    assert report.failure is not None and report.failure.check == "checkpoint"
    assert not report.signatures_checked


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("range_bytes", [1, 700, 4 << 20])
def test_a_blank_line_or_a_missing_final_newline_in_hash_only(
    bundled: Bundled, workers: int, range_bytes: int
) -> None:
    # Positions are counted from newlines before hashing: a line too many must fail where
    # it stands, and a last line without its newline is still that entry.
    lines = _lines(bundled.path)
    blank = _write(bundled.path, [*lines[: 2 + 10], b"", *lines[2 + 10 :]])
    report = bundled.verify(blank, hash_only=True, workers=workers, range_bytes=range_bytes)
    assert report.failure is not None
    assert (report.failure.check, report.failure.position) == ("bundle", 10)

    unterminated = bundled.path.with_suffix(".unterminated")
    unterminated.write_bytes(bundled.path.read_bytes().removesuffix(b"\n"))
    report = bundled.verify(unterminated, hash_only=True, workers=workers, range_bytes=range_bytes)
    assert report.failure is None and report.entries == 26


@pytest.mark.parametrize("workers", [1, 2])
def test_a_decision_copied_to_the_tail_is_found_in_a_bundle(tmp_path: Path, workers: int) -> None:
    # The operator (log key) and someone writing to the database together: the copy is
    # chained and checkpointed, so only its repeated decision id gives it away (T9).
    from tests.app.attacker import attacker, copied_to_tail, read_rows, rewrite

    env = make_ledger(tmp_path)
    env.append_history("shop-1")
    env.append_history("shop-2")
    with attacker(env) as conn:
        rewrite(conn, copied_to_tail(read_rows(conn), 4))
    log = generate_signing_key("log")
    with env.open() as ledger:
        create_checkpoint(ledger.store, log)
    path = tmp_path / "audit.bundle"
    assert export_bundle(env.url, path)[0] == 19
    keys = [env.root.verifier, log.verifier]
    report = check(path, keys, workers=workers, range_bytes=2_000)
    assert report.failure is not None
    assert (report.failure.check, report.failure.position) == ("replay", 18)
    # hash-only reads no payload: it cannot see a repeated decision id (AUDITOR.md §4)
    assert check(path, [log.verifier], hash_only=True).intact
