"""Regenerate the trustledger Format v1 conformance corpus (conformance/README.md).

    python conformance/generate.py [--out DIR]        (default: this directory)

Writes ``keys/`` (the public verifier keys), ``cases/`` (one file per case, and the held
checkpoints some cases give) and ``manifest.json``. Everything comes from fixed seeds and
fixed clocks: two runs write the same bytes (tests/conformance/test_corpus.py checks it).
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from baseledger import ORIGIN, base_bundle, corpus_keys
from bundlekit import (
    COSIGNED_AT,
    Draft,
    Row,
    Signers,
    chain_hashes,
    checkpoint_signatures,
    document_of,
    dump_state,
    entry_line,
    inclusion_proof,
    merkle_root,
    note_bytes,
    proof_bytes,
    render,
    resigned,
    rows_of,
    signed_checkpoint,
    signed_state,
    state_members,
)
from trustledger.domain.identity import KEYRING_ID, shop_aggregate_id
from trustledger.ledger.bundle import parse_entry_line, parse_header
from trustledger.ledger.chain import leaf_hash
from trustledger.ledger.checkpoint import Checkpoint, format_checkpoint
from trustledger.ledger.cosignature import CosignerKey, cosign, format_cosigner_key
from trustledger.ledger.envelope import canonical_payload
from trustledger.ledger.keys import (
    SigningKey,
    VerifierKey,
    format_public_key_file,
    format_verifier_key,
)
from trustledger.ledger.note import NoteSignature, format_signature_line, sign_note_text
from trustledger.ledger.proof import InclusionProof

HERE = Path(__file__).resolve().parent
KEYS = corpus_keys()
BY_ID = {str(key.key_id): key for key in KEYS.values()}

# Go's golang.org/x/mod/sumdb/note example (note_test.go), and the Go checksum database's
# checkpoint (transparency-dev's tests): notes made by other implementations.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOT"
    "GwnWLox33WWd1RvMc+QQ=\n"
)
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYf"
    "vimWEPWL+o3GeoWwOoAw=\n"
)
EXTERNAL_VKEYS = {"PeterNeumann": PETER_VKEY, "EnochRoot": ENOCH_VKEY, "sum.golang.org": SUMDB_VKEY}

# Positions in the base ledger (baseledger.base_bundle), checked when it is read.
GENESIS, REG_A, RULES, SHOP_A, SUBMITTED, APPROVED, COMPLAINT, SUBSTANTIATED = range(8)
REG_B, PENALTY, SHOP_B, REVOKE_B, APPEAL, UPHELD, COMPLAINT_B = range(8, 15)
EXPECTED_TYPES = [
    "ledger.initialised", "key.registered", "rules.published", "shop.registered",
    "verification.submitted", "verification.approved", "complaint.filed",
    "complaint.substantiated", "key.registered", "penalty.imposed", "shop.registered",
    "key.revoked", "appeal.filed", "appeal.upheld", "complaint.filed",
]  # fmt: skip

MAX_SAFE = 2**53 - 1


# -- the cases ----------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    kind: str  # bundle | proof | note
    rule: str
    verdict: str  # intact | not-intact | usage
    check: str | None
    position: int | None
    data: bytes
    args: dict[str, Any]
    held: list[bytes] = field(default_factory=list)


CASES: list[Case] = []


def bundle_args(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "root_keys": ["root"],
        "log_keys": ["log"],
        "witness_keys": ["witness-a", "witness-b"],
        "quorum": 2,
        "origin": ORIGIN,
    }
    args.update(changes)
    return args


def proof_args(**changes: Any) -> dict[str, Any]:
    args = bundle_args(**changes)
    del args["root_keys"]
    return args


def add(
    name: str,
    rule: str,
    data: bytes,
    *,
    check: str | None = None,
    position: int | None = None,
    verdict: str | None = None,
    kind: str = "bundle",
    args: dict[str, Any] | None = None,
    held: list[bytes] | None = None,
) -> None:
    if verdict is None:
        verdict = "not-intact" if check else "intact"
    if args is None:
        args = {"bundle": bundle_args, "proof": proof_args}.get(kind, dict)()
    CASES.append(Case(name, kind, rule, verdict, check, position, data, args, held or []))


# -- the base ledger and edits of it --------------------------------------------------------------
def read_base() -> tuple[list[Row], list[str]]:
    data = base_bundle(KEYS)
    lines = data.split(b"\n")
    header = parse_header(lines[0] + b"\n", lines[1] + b"\n")
    entries = [parse_entry_line(line, i) for i, line in enumerate(lines[2:-1])]
    rows = rows_of(entries)
    found = [document_of(row)["type"] for row in rows]
    if found != EXPECTED_TYPES:
        raise AssertionError(f"the base ledger changed: {found}")
    for row in rows:  # the state helpers must write states exactly as the store did
        assert dump_state(state_members(row.state)) == row.state
    return rows, sorted(header.erased_subjects)


BASE_ROWS, BASE_ERASED = read_base()
DEFAULT_SIGNERS = Signers(KEYS["log"], (KEYS["witness-a"], KEYS["witness-b"]))


def base(rows: list[Row] | None = None, **changes: Any) -> Draft:
    """The base ledger (or ``rows``), renumbered 1..N, with the default checkpoint signers."""
    rows = list(BASE_ROWS if rows is None else rows)
    return Draft(
        renumber(rows), list(BASE_ERASED), ORIGIN, changes.pop("signers", DEFAULT_SIGNERS),
        **changes,
    )  # fmt: skip


def renumber(rows: list[Row]) -> list[Row]:
    return [replace(row, notification_id=i + 1) for i, row in enumerate(rows)]


def signer_of(row: Row) -> SigningKey:
    return BY_ID[state_members(row.state)["key_id"]]


def edited(
    position: int,
    change: Callable[[dict[str, Any]], object],
    *,
    key: SigningKey | None = None,
    rows: list[Row] | None = None,
) -> list[Row]:
    """The rows with entry ``position``'s document changed and signed again (by its own
    signer unless ``key``)."""
    rows = list(BASE_ROWS if rows is None else rows)
    row = rows[position]
    document = document_of(row)
    change(document)
    rows[position] = resigned(row, document, key or signer_of(row))
    return rows


def with_payload(position: int, payload: str, *, key: SigningKey | None = None) -> list[Row]:
    """The rows with entry ``position`` carrying ``payload`` verbatim, validly signed."""
    rows = list(BASE_ROWS)
    row = rows[position]
    rows[position] = replace(row, state=signed_state(row.state, payload, key or signer_of(row)))
    return rows


def with_state(position: int, state: bytes, rows: list[Row] | None = None) -> list[Row]:
    rows = list(BASE_ROWS if rows is None else rows)
    rows[position] = replace(rows[position], state=state)
    return rows


def inserted(position: int, row: Row, rows: list[Row] | None = None) -> list[Row]:
    rows = list(BASE_ROWS if rows is None else rows)
    rows.insert(position, row)
    return rows


def key_event(kind: str, data: dict[str, Any], number: int, **top: Any) -> dict[str, Any]:
    return {
        "data": data,
        "decision_id": f"00c0ffee-0000-4000-8000-0000000{number:05d}",
        "occurred_at": "2026-12-03T08:00:00Z",
        "type": kind,
        **top,
    }


def new_row(
    document: dict[str, Any], key: SigningKey, *, aggregate: Any = None, topic: str | None = None
) -> Row:
    """A new entry carrying ``document`` signed by ``key``."""
    template = BASE_ROWS[UPHELD] if "shop_id" in document else BASE_ROWS[REVOKE_B]
    if aggregate is None:
        shop = document.get("shop_id")
        aggregate = shop_aggregate_id(shop) if isinstance(shop, str) else KEYRING_ID
    row = replace(
        template,
        originator_id=aggregate,
        version=50,
        topic=topic or f"trustledger:{document['type']}",
    )
    return resigned(row, document, key)


def vkey(name: str, public_of: str | None = None) -> str:
    """The verifier key text of ``name`` (for the public key of ``public_of`` if given)."""
    public = KEYS[public_of or name].verifier.public_key
    return format_verifier_key(VerifierKey(name, public))


def b(draft: Draft) -> bytes:
    return render(draft)


def bundle_of(rows: list[Row], **changes: Any) -> bytes:
    return render(base(rows, **changes))


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A document edit: set (or, with ``DROP``, delete) a member by dotted path."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        if value is DROP:
            del node[last]
        else:
            node[last] = value

    return change


DROP = object()


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    raw = bytearray(data)
    raw[index] ^= 1 << bit
    return bytes(raw)


def flipped_signature_state(state: bytes, index: int) -> bytes:
    members = state_members(state)
    signature = base64.b64decode(members["signature"])
    members["signature"] = base64.b64encode(flip(signature, index)).decode()
    return dump_state(members)


def pad_bits_set(text: str) -> str:
    """A non-canonical spelling of padded base64 ``text``: the unused low bits of its last
    data character set (RFC 4648 §3.5), decoding to the same bytes."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    pads = len(text) - len(text.rstrip("="))
    assert pads in (1, 2)
    last = len(text) - pads - 1
    unused = (1 << (2 * pads)) - 1  # 2 bits for "=", 4 bits for "=="
    char = alphabet[alphabet.index(text[last]) | unused]
    return text[:last] + char + text[last + 1 :]


# -- bundle syntax (check "bundle") ----------------------------------------------------------------
def bundle_syntax_cases() -> None:
    good = b(base())
    add(
        "bundle-crlf",
        "§13 line 1 is exactly 'trustledger-bundle/v2\\n': a CRLF bundle is not one",
        good.replace(b"\n", b"\r\n"),
        verdict="usage",
    )
    add(
        "bundle-magic-v1",
        "§13 line 1: another bundle version is not this format",
        good.replace(b"trustledger-bundle/v2", b"trustledger-bundle/v1", 1),
        verdict="usage",
    )
    add(
        "bundle-not-a-bundle",
        "§13 line 1: a checkpoint given as --bundle is not a bundle",
        base().note(),
        verdict="usage",
    )

    def header(name: str, rule: str, edit: Callable[[bytes], bytes]) -> None:
        add(name, "§13 header: " + rule, b(base(raw_header=edit)), check="bundle")

    def members(name: str, rule: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        add(name, "§13 header: " + rule, b(base(header_members=edit)), check="bundle")

    def without(member: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda h: {k: v for k, v in h.items() if k != member}

    def setting(member: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda h: {**h, member: value}

    header("header-not-json", "line 2 is an I-JSON object", lambda s: s[:-1])
    header("header-array", "line 2 is an object, not an array", lambda s: b"[" + s + b"]")
    header(
        "header-invalid-utf8",
        "I-JSON is valid UTF-8",
        lambda s: s.replace(b'"buyer-77"', b'"buyer-\xff77"'),
    )
    header(
        "header-lone-surrogate",
        "I-JSON: no lone surrogate",
        lambda s: s.replace(b'"buyer-77"', b'"buyer-\\ud80077"'),
    )
    header(
        "header-duplicate-entries",
        "I-JSON: no member twice",
        lambda s: s.replace(b'{"entries":15,', b'{"entries":15,"entries":15,'),
    )
    header(
        "header-duplicate-checkpoint",
        "I-JSON: no member twice (two checkpoints, one hidden)",
        lambda s: s.replace(b'{"entries":15,', b'{"entries":15,"checkpoint":"x\\n",'),
    )
    header(
        "header-duplicate-head",
        "I-JSON: no member twice",
        lambda s: s.replace(b'"head_chain_hash":', b'"head_chain_hash":null,"head_chain_hash":'),
    )
    members("header-missing-entries", "`entries` is required", without("entries"))
    members("header-missing-checkpoint", "`checkpoint` is required", without("checkpoint"))
    members("header-missing-head", "`head_chain_hash` is required", without("head_chain_hash"))
    members("header-missing-erased", "`erased_subjects` is required", without("erased_subjects"))
    members("header-extra-member", "exactly the four members", setting("signed_by", "log"))
    members("header-entries-string", "`entries` is a number", setting("entries", "15"))
    members("header-entries-negative", "`entries` is a decimal count", setting("entries", -15))
    members("header-entries-bool", "`entries` is a number, not true", setting("entries", True))
    header(
        "header-entries-fraction",
        "I-JSON numbers have no fraction",
        lambda s: s.replace(b'"entries":15', b'"entries":15.0'),
    )
    header(
        "header-entries-exponent",
        "I-JSON numbers have no exponent",
        lambda s: s.replace(b'"entries":15', b'"entries":1.5e1'),
    )
    header(
        "header-entries-beyond-2-53",
        "I-JSON numbers within ±(2^53−1)",
        lambda s: s.replace(b'"entries":15', b'"entries":9007199254740993'),
    )
    members("header-checkpoint-number", "`checkpoint` is a string", setting("checkpoint", 15))
    members(
        "header-checkpoint-object", "`checkpoint` is a string", setting("checkpoint", {"note": "x"})
    )
    members(
        "header-head-uppercase",
        "`head_chain_hash` is 64 lowercase hex",
        lambda h: {**h, "head_chain_hash": h["head_chain_hash"].upper()},
    )
    members(
        "header-head-short",
        "`head_chain_hash` is 64 hex digits",
        lambda h: {**h, "head_chain_hash": h["head_chain_hash"][:62]},
    )
    members(
        "header-head-null",
        "`head_chain_hash` is null iff entries = 0",
        setting("head_chain_hash", None),
    )
    members("header-head-number", "`head_chain_hash` is a string", setting("head_chain_hash", 0))
    members(
        "header-erased-string",
        "`erased_subjects` is an array",
        setting("erased_subjects", "buyer-77"),
    )
    members(
        "header-erased-number-member",
        "`erased_subjects` holds strings",
        setting("erased_subjects", ["buyer-77", 77]),
    )
    members(
        "header-erased-null-member",
        "`erased_subjects` holds strings",
        setting("erased_subjects", [None]),
    )
    lines = good.split(b"\n")
    add(
        "count-fewer-lines",
        "§13: the line count equals the header's `entries` (one missing)",
        b"\n".join(lines[:-2]) + b"\n",
        check="bundle",
    )
    tail_row = new_row(
        {**document_of(BASE_ROWS[UPHELD]), "decision_id": "00000000-0000-4000-8000-000000000099"},
        KEYS["decider-a"],
    )
    rows = base().rows
    tail_row = replace(tail_row, notification_id=len(rows) + 1)
    tail_chain = chain_hashes([*rows, tail_row])[-1]
    add(
        "count-more-lines",
        "§13: the line count equals the header's `entries` (one beyond)",
        b(base(tail=entry_line(tail_row, tail_chain, len(rows)) + b"\n")),
        check="bundle",
    )

    # Entry lines: every field's encoding (position 4: the verification.submitted).
    p = SUBMITTED

    def field_case(
        name: str, rule: str, index: int, text: bytes, *, row: Row | None = None, position: int = p
    ) -> None:
        draft = base()
        if row is not None:
            draft.rows[position] = row
        line = render(draft).split(b"\n")[2 + position]
        fields = line.split(b"\t", 5)
        fields[index] = text
        draft.raw_lines[position] = b"\t".join(fields)
        add(name, "§13 entry line: " + rule, b(draft), check="bundle", position=position)

    five = base()
    five.raw_lines[p] = b"\t".join(render(five).split(b"\n")[2 + p].split(b"\t", 5)[:5])
    add("line-five-fields", "§13: six TAB-separated fields", b(five), check="bundle", position=p)
    empty = base()
    empty.raw_lines[p] = b""
    add("line-empty", "§13: an empty line is not an entry", b(empty), check="bundle", position=p)
    field_case("line-nid-zero", "notification id ≥ 1", 0, b"0", position=0)
    field_case("line-nid-leading-zero", "decimal without leading zeros", 0, b"05")
    field_case("line-nid-plus", "decimal without sign", 0, b"+5")
    field_case("line-nid-minus", "decimal without sign", 0, b"-5")
    field_case("line-nid-space", "decimal, nothing around it", 0, b" 5")
    field_case("line-nid-underscore", "decimal digits only", 0, b"5_0")
    field_case("line-nid-fullwidth", "ASCII digits only", 0, "５".encode())
    field_case("line-nid-hex", "decimal, not hex", 0, b"0x5")
    oid = BASE_ROWS[p].originator_id.hex.encode()
    field_case("line-originator-uppercase", "originator id is 32 lowercase hex", 1, oid.upper())
    field_case("line-originator-short", "originator id is 32 hex digits", 1, oid[:30])
    field_case(
        "line-originator-hyphens",
        "originator id is 32 hex digits, no hyphens",
        1,
        str(BASE_ROWS[p].originator_id).encode(),
    )
    field_case("line-version-zero", "version ≥ 1", 2, b"0", row=replace(BASE_ROWS[p], version=0))
    field_case("line-version-leading-zero", "version without leading zeros", 2, b"02")
    field_case("line-version-plus", "version without sign", 2, b"+2")
    field_case("line-version-beyond-uint64", "version fits uint64", 2, b"18446744073709551617")
    field_case("line-topic-empty", "topic not empty", 3, b"", row=replace(BASE_ROWS[p], topic=""))
    field_case(
        "line-topic-invalid-utf8", "topic is UTF-8", 3, b"trustledger:verification.submitted\xff"
    )
    chain = render(base()).split(b"\n")[2 + p].split(b"\t")[4]
    field_case("line-chain-uppercase", "chain hash is 64 lowercase hex", 4, chain.upper())
    field_case("line-chain-short", "chain hash is 64 hex digits", 4, chain[:62])
    field_case("line-chain-long", "chain hash is 64 hex digits", 4, chain + b"00")
    state = BASE_ROWS[p].state
    if len(state) % 3 == 0:
        state += b" "
    text = base64.b64encode(state).decode()
    field_case(
        "line-tilde-pad-bits",
        "a `~` state is canonical base64 (pad bits zero)",
        5,
        b"~" + pad_bits_set(text).encode(),
        row=replace(BASE_ROWS[p], state=state),
    )
    field_case(
        "line-tilde-no-padding",
        "a `~` state is padded base64",
        5,
        b"~" + text.rstrip("=").encode(),
        row=replace(BASE_ROWS[p], state=state),
    )
    field_case("line-tilde-not-base64", "a `~` state is base64", 5, b"~" + state)


# -- valid edge cases ------------------------------------------------------------------------------
def valid_cases() -> None:
    add(
        "valid-base",
        "§8: the base ledger (key events, a revocation, rules.published, escaped "
        "and non-ASCII payload strings, 2^53−1, sealed personal data of an erased subject)",
        b(base()),
    )
    add(
        "valid-no-witnesses",
        "§13: quorum 0, no witness key, no origin pinned",
        b(base()),
        args=bundle_args(witness_keys=[], quorum=0, origin=None),
    )
    add(
        "valid-witness-cosigner-vkey",
        "§12: a witness pinned by its 0x04 cosigner vkey",
        b(base()),
        args=bundle_args(witness_keys=["witness-a.cosigner", "witness-b.cosigner"]),
    )
    add(
        "valid-quorum-one-of-two",
        "§12: quorum 1, one of two pinned witnesses cosigned",
        b(base(signers=Signers(KEYS["log"], (KEYS["witness-b"],)))),
        args=bundle_args(quorum=1),
    )
    unknown = base(
        signers=Signers(
            KEYS["log"],
            (KEYS["witness-a"], KEYS["witness-b"], KEYS["witness-c"], KEYS["other-log"]),
        )
    )
    add(
        "valid-unknown-signers",
        "§11: signature lines of keys the verifier does not know are "
        "ignored (an unpinned witness, another log key)",
        b(unknown),
    )
    ext = base()
    cp = replace(ext.default_checkpoint(), extensions=("extension line one", "ext 2"))
    ext.checkpoint = signed_checkpoint(cp, DEFAULT_SIGNERS)
    add("valid-checkpoint-extensions", "§11: a checkpoint with extension lines", b(ext))
    no_newline = base(final_newline=False)
    add(
        "valid-last-line-without-newline",
        "§13: readers accept a last line without newline",
        b(no_newline),
    )
    tab_state = BASE_ROWS[SUBMITTED].state.replace(b',"payload":', b',\t"payload":', 1)
    add(
        "valid-state-with-tab",
        "§13: the state is the last field and may hold TABs (JSON "
        "whitespace); the line splits at its first five TABs only",
        bundle_of(with_state(SUBMITTED, tab_state)),
    )
    tilde = base()
    line = render(tilde).split(b"\n")[2 + APPROVED].split(b"\t", 5)
    line[5] = b"~" + base64.b64encode(line[5])
    tilde.raw_lines[APPROVED] = b"\t".join(line)
    add(
        "valid-state-tilde-base64",
        "§13: a last field starting with `~` is decoded (canonical base64 of a valid state)",
        b(tilde),
    )
    gaps = base()
    gaps.rows = [replace(r, notification_id=1 + 3 * i + i % 2) for i, r in enumerate(gaps.rows)]
    add(
        "valid-notification-id-gaps",
        "§6: notification ids increase with gaps (PostgreSQL)",
        b(gaps),
    )
    versions = [replace(r, version=r.version * 7) for r in BASE_ROWS]
    add(
        "valid-versions-not-contiguous",
        "§5: originator versions are hashed, not checked",
        bundle_of(versions),
    )
    extra = state_members(BASE_ROWS[APPEAL].state)
    extra["x_note"] = {"any": ["member", 1, True, None]}
    add(
        "valid-state-unknown-members",
        "§5: a verifier ignores the state's other members",
        bundle_of(with_state(APPEAL, dump_state(extra))),
    )
    neg = edited(SHOP_B, set_path("data.deposit", -MAX_SAFE))
    add(
        "valid-integer-minus-2-53", "§3: integers within ±(2^53−1) (−(2^53−1) here)", bundle_of(neg)
    )
    case = edited(UPHELD, set_path("decision_id", "00000000-0000-4000-8000-00000000000A"))
    add(
        "valid-decision-id-case-differs",
        "§8.5: decision ids compared as strings: an "
        "upper-case spelling of an earlier id is another id",
        bundle_of(inserted(COMPLAINT_B + 1, replace(case[UPHELD], version=60))),
    )
    erased = base()
    erased.erased = [*erased.erased, "nobody-ever", "buyer-88"]
    add(
        "valid-erased-list-unsigned",
        "§13: erased_subjects is informational: no verdict depends on it",
        b(erased),
    )
    draft = base()
    leaves = draft.leaves()
    held = [
        signed_checkpoint(Checkpoint(ORIGIN, n, merkle_root(leaves[:n])), DEFAULT_SIGNERS)
        for n in (0, 1, 8, 8, 15)
    ]
    again = Checkpoint(ORIGIN, 8, merkle_root(leaves[:8]))
    text = format_checkpoint(again)
    later = note_bytes(
        text,
        [
            sign_note_text(text, KEYS["log"]),
            cosign(text, KEYS["witness-a"], timestamp=COSIGNED_AT + 3600),
            cosign(text, KEYS["witness-b"], timestamp=COSIGNED_AT + 3600),
        ],
    )
    add(
        "valid-held-empty-batches",
        "§11: held checkpoints at sizes 0 (empty tree), 1, 8, 8 "
        "again an hour later (an empty batch between checkpoints) and 15",
        b(draft),
        held=[*held, later],
        args=bundle_args(),
    )


# -- envelope ------------------------------------------------------------------------------------
def envelope_cases() -> None:
    p = PENALTY
    state = BASE_ROWS[p].state
    members = state_members(state)

    def env(name: str, rule: str, new_state: bytes) -> None:
        add(
            name,
            "§5 state: " + rule,
            bundle_of(with_state(p, new_state)),
            check="envelope",
            position=p,
        )

    def member(name: str, rule: str, key: str, value: Any) -> None:
        changed = dict(members)
        if value is DROP:
            del changed[key]
        else:
            changed[key] = value
        env(name, rule, dump_state(changed))

    env("state-not-json", "a JSON object", state[:-1])
    env("state-array", "an object, not an array", b"[" + state + b"]")
    env("state-invalid-utf8", "UTF-8", state.replace(b'"_type_"', b'"_type_\xc3"', 1))
    # Two histories under one signature: the first `payload` is another, unsigned document;
    # a parser that keeps the first member reads it, one that keeps the last reads the
    # signed one.
    forged = document_of(BASE_ROWS[p])
    forged["data"]["points"] = 0
    dup = state.replace(
        b'"payload":',
        b'"payload":'
        + json.dumps(canonical_payload(forged), ensure_ascii=False).encode()
        + b',"payload":',
        1,
    )
    env(
        "state-duplicate-payload",
        "I-JSON: two `payload` members (two histories under one signature)",
        dup,
    )
    env(
        "state-duplicate-signature",
        "I-JSON: two `signature` members",
        state.replace(
            b'"signature":', b'"signature":"' + base64.b64encode(bytes(64)) + b'","signature":', 1
        ),
    )
    env(
        "state-duplicate-key-id",
        "I-JSON: two `key_id` members",
        state.replace(
            b'"key_id":', b'"key_id":"' + str(KEYS["decider-a"].key_id).encode() + b'","key_id":', 1
        ),
    )
    env(
        "state-duplicate-nested",
        "I-JSON: no member twice at any level",
        state.replace(b'"_type_":"datetime_iso",', b'"_type_":"datetime_iso","_type_":"x",', 1),
    )
    env("state-float-member", "I-JSON numbers: no fraction", state[:-1] + b',"x_weight":1.5}')
    env(
        "state-big-integer-member",
        "I-JSON numbers within ±(2^53−1)",
        state[:-1] + b',"x_count":9007199254740993}',
    )
    env("state-lone-surrogate", "I-JSON: no lone surrogate", state[:-1] + b',"x_text":"\\udc00"}')
    member("state-missing-payload", "`payload` is required", "payload", DROP)
    member("state-missing-signature", "`signature` is required", "signature", DROP)
    member("state-missing-key-id", "`key_id` is required", "key_id", DROP)
    member(
        "state-payload-object", "`payload` is a string", "payload", json.loads(members["payload"])
    )
    member("state-signature-number", "`signature` is a string", "signature", 64)
    member("state-key-id-number", "`key_id` is a string", "key_id", 9607444)
    sig = members["signature"]
    member(
        "state-signature-pad-bits",
        "`signature` is canonical base64 (pad bits zero)",
        "signature",
        pad_bits_set(sig),
    )
    member("state-signature-unpadded", "`signature` is padded base64", "signature", sig.rstrip("="))
    member(
        "state-signature-urlsafe",
        "`signature` is RFC 4648 §4 base64, not §5",
        "signature",
        sig.replace("+", "-").replace("/", "_") if ("+" in sig or "/" in sig) else "-" + sig[1:],
    )
    member(
        "state-signature-space",
        "`signature` is base64 without whitespace",
        "signature",
        sig[:40] + " " + sig[40:],
    )
    raw = base64.b64decode(sig)
    member(
        "state-signature-63-bytes",
        "`signature` is 64 bytes",
        "signature",
        base64.b64encode(raw[:63]).decode(),
    )
    member(
        "state-signature-65-bytes",
        "`signature` is 64 bytes",
        "signature",
        base64.b64encode(raw + b"\0").decode(),
    )
    kid = members["key_id"]
    assert kid != kid.upper()
    member("state-key-id-uppercase", "`key_id` is 8 lowercase hex digits", "key_id", kid.upper())
    member("state-key-id-short", "`key_id` is 8 hex digits", "key_id", kid[:7])
    member("state-key-id-not-hex", "`key_id` is hex", "key_id", "zz" + kid[2:])


# -- payload -------------------------------------------------------------------------------------
def payload_cases() -> None:
    p = APPEAL
    row = BASE_ROWS[p]
    text = state_members(row.state)["payload"]

    def raw(name: str, rule: str, payload: str, position: int = p) -> None:
        add(
            name,
            "§3 payload: " + rule,
            bundle_of(with_payload(position, payload)),
            check="payload",
            position=position,
        )

    def doc(
        name: str,
        rule: str,
        change: Callable[[dict[str, Any]], object],
        position: int = p,
        key: SigningKey | None = None,
    ) -> None:
        add(
            name,
            "§3/§8 payload: " + rule,
            bundle_of(edited(position, change, key=key)),
            check="payload",
            position=position,
        )

    def number(name: str, rule: str, spelling: str) -> None:
        # data.grounds replaced by a number spelled exactly as given
        document = document_of(row)
        document["data"]["grounds"] = 7
        canonical = canonical_payload(document)
        raw(name, rule, canonical.replace('"grounds":7', '"grounds":' + spelling))

    raw("payload-not-json", "a JSON object", text[:-1])
    raw("payload-array", "a JSON object, not an array", "[" + text + "]")
    raw("payload-string", "a JSON object, not a string", json.dumps(text))
    number("payload-float-fraction", "no number with a fraction (1.5)", "1.5")
    number(
        "payload-float-exponent",
        "no number with an exponent (1e+21, RFC 8785's own spelling of 10^21)",
        "1e+21",
    )
    number("payload-integer-2-53", "integers within ±(2^53−1): 2^53", "9007199254740992")
    number("payload-integer-minus-2-53", "integers within ±(2^53−1): −2^53", "-9007199254740992")
    number("payload-integer-2-64", "integers within ±(2^53−1): 2^64", "18446744073709551616")
    number("payload-number-trailing-zero", "no fraction, not even 7.0", "7.0")
    number("payload-number-exponent-integer", "no exponent, not even 7e0", "7e0")
    number("payload-number-minus-zero", "RFC 8785 writes 0, not -0", "-0")
    raw("payload-whitespace", "RFC 8785 form: no whitespace", text.replace(":", ": ", 1))
    raw("payload-trailing-newline", "RFC 8785 form: nothing after the object", text + "\n")
    raw("payload-key-order", "RFC 8785 form: members sorted", key_order_swapped(text))
    raw(
        "payload-escaped-letter",
        "RFC 8785 form: a letter is not escaped",
        text.replace('"appeal_id":"a-1"', '"appeal_id":"\\u0061-1"'),
    )
    raw(
        "payload-escaped-solidus",
        "RFC 8785 form: '/' is not escaped",
        text.replace('"grounds":"genuine; invoice"', '"grounds":"genuine\\/ invoice"'),
    )
    sub_text = state_members(BASE_ROWS[SUBSTANTIATED].state)["payload"]
    assert "\\u001f" in sub_text
    raw(
        "payload-uppercase-escape",
        "RFC 8785 form: \\u001f in lower case",
        sub_text.replace("\\u001f", "\\u001F"),
        SUBSTANTIATED,
    )
    raw(
        "payload-escaped-tab-as-u",
        "RFC 8785 form: TAB is written \\t",
        sub_text.replace("\\t", "\\u0009", 1),
        SUBSTANTIATED,
    )
    raw(
        "payload-escaped-non-ascii",
        "RFC 8785 form: non-ASCII is not escaped",
        state_members(BASE_ROWS[SHOP_B].state)["payload"].replace("假", "\\u5047", 1),
        SHOP_B,
    )
    raw(
        "payload-duplicate-member",
        "I-JSON: no member twice (two documents under one signature)",
        text.replace('"actor":"reviewer-17"', '"actor":"someone-else","actor":"reviewer-17"'),
    )
    raw(
        "payload-duplicate-decision-id",
        "I-JSON: no member twice (decision_id)",
        text.replace(
            '"decision_id":', '"decision_id":"00000000-0000-4000-8000-0000000000ff","decision_id":'
        ),
    )
    raw(
        "payload-duplicate-nested",
        "I-JSON: no member twice at any level",
        text.replace('"appeal_id":"a-1"', '"appeal_id":"a-9","appeal_id":"a-1"'),
    )
    raw(
        "payload-lone-surrogate",
        "I-JSON: no lone surrogate",
        text.replace('"grounds":"genuine; invoice"', '"grounds":"\\ud800"'),
    )
    doc(
        "decision-missing-decision-id",
        "a decision has a string decision_id",
        set_path("decision_id", DROP),
    )
    doc("decision-decision-id-number", "decision_id is a string", set_path("decision_id", 8))
    doc("decision-decision-id-null", "decision_id is a string", set_path("decision_id", None))
    doc(
        "key-event-missing-decision-id",
        "every entry, key events included, has a string decision_id",
        set_path("decision_id", DROP),
        REVOKE_B,
    )
    doc(
        "key-event-decision-id-number",
        "decision_id is a string (key event)",
        set_path("decision_id", 11),
        REVOKE_B,
    )
    doc(
        "type-topic-mismatch",
        "the type matches the topic trustledger:<type>",
        set_path("type", "appeal.rejected"),
    )
    doc("type-missing", "every entry has a type", set_path("type", DROP))
    doc("type-number", "the type is a string", set_path("type", 7))
    unknown = new_row(
        {
            **document_of(row),
            "type": "appeal.escalated",
            "decision_id": "00000000-0000-4000-8000-0000000000ee",
        },
        KEYS["decider-a"],
    )
    add(
        "type-unknown",
        "§8.3: the type is one of the 18 decision types or 4 key event types "
        "(topic trustledger:appeal.escalated matches it)",
        bundle_of(inserted(p + 1, unknown)),
        check="payload",
        position=p + 1,
    )
    wrong_prefix = replace(row, topic="other:appeal.filed")
    add(
        "topic-prefix",
        "§5: topics are trustledger:<type>",
        bundle_of([*BASE_ROWS[:p], wrong_prefix, *BASE_ROWS[p + 1 :]]),
        check="payload",
        position=p,
    )
    doc(
        "key-event-shop-id",
        "§2: a key event names no shop",
        set_path("shop_id", "shop-a"),
        REVOKE_B,
    )
    doc(
        "decision-missing-shop-id",
        "§8.3: a decision has a string shop_id",
        set_path("shop_id", DROP),
    )
    doc("decision-shop-id-number", "§8.3: shop_id is a string", set_path("shop_id", 1))
    doc(
        "decision-other-shop",
        "§8.3: stored under uuid5(ns, 'shop:' + shop_id)",
        set_path("shop_id", "shop-b"),
    )
    keyring_decision = replace(row, originator_id=KEYRING_ID)
    add(
        "decision-under-keyring",
        "§8.3: a decision is not stored under the keyring's id",
        bundle_of([*BASE_ROWS[:p], keyring_decision, *BASE_ROWS[p + 1 :]]),
        check="payload",
        position=p,
    )
    key_row = replace(BASE_ROWS[REVOKE_B], originator_id=shop_aggregate_id("shop-a"))
    add(
        "key-event-under-shop",
        "§8.2: key events are stored under the keyring's id",
        bundle_of([*BASE_ROWS[:REVOKE_B], key_row, *BASE_ROWS[REVOKE_B + 1 :]]),
        check="payload",
        position=REVOKE_B,
    )


def key_order_swapped(text: str) -> str:
    """The payload with its first two members swapped (not RFC 8785's order)."""
    document = json.loads(text)
    keys = list(document)
    order = [keys[1], keys[0], *keys[2:]]
    return json.dumps({k: document[k] for k in order}, ensure_ascii=False, separators=(",", ":"))


# -- signer and signature --------------------------------------------------------------------------
def signer_cases() -> None:
    def case(name: str, rule: str, position: int, key: str) -> None:
        add(
            name,
            "§8 signer: " + rule,
            bundle_of(edited(position, lambda d: None, key=KEYS[key])),
            check="signer",
            position=position,
        )

    case("signer-unregistered", "a decision signed by a key never registered", SHOP_A, "decider-x")
    case(
        "signer-before-registration",
        f"decider-b signs before its key.registered (position {REG_B})",
        APPROVED,
        "decider-b",
    )
    case(
        "signer-at-revocation-next",
        f"decider-b signs right after its key.revoked (position {REVOKE_B})",
        APPEAL,
        "decider-b",
    )
    case(
        "signer-after-revocation", "decider-b signs after its revocation", COMPLAINT_B, "decider-b"
    )
    case("signer-root-decision", "the root key signs key events only", SHOP_A, "root")
    case("signer-log-key", "the log key is not a decider key", UPHELD, "log")
    case("signer-witness-key", "a witness key is not a decider key", UPHELD, "witness-a")
    case("signer-key-event-by-decider", "key events are signed by the root", REG_B, "decider-a")
    case(
        "signer-revocation-by-decider",
        "key events are signed by the root (key.revoked)",
        REVOKE_B,
        "decider-a",
    )
    case(
        "signer-rules-by-decider",
        "key events are signed by the root (rules.published)",
        RULES,
        "decider-a",
    )
    case(
        "signer-key-event-by-other-root",
        "key events are signed by the pinned root",
        REG_A,
        "other-root",
    )


def signature_cases() -> None:
    def flipped(name: str, rule: str, position: int, index: int) -> None:
        state = flipped_signature_state(BASE_ROWS[position].state, index)
        add(
            name,
            "§3 signature: " + rule,
            bundle_of(with_state(position, state)),
            check="signature",
            position=position,
        )

    flipped("signature-flip-first-byte", "a bit flipped in R", SHOP_A, 0)
    flipped("signature-flip-last-byte", "a bit flipped in S", APPEAL, 63)
    flipped("signature-flip-key-event", "a bit flipped (key.registered)", REG_B, 10)
    flipped("signature-flip-rules", "a bit flipped (rules.published)", RULES, 40)
    flipped("signature-flip-genesis", "a bit flipped (the genesis)", GENESIS, 5)
    flipped("signature-flip-erased-entry", "a bit flipped (sealed personal data)", COMPLAINT, 20)

    def state_case(name: str, rule: str, position: int, state: bytes) -> None:
        add(
            name,
            "§3 signature: " + rule,
            bundle_of(with_state(position, state)),
            check="signature",
            position=position,
        )

    row = BASE_ROWS[UPHELD]
    members = state_members(row.state)
    key = KEYS["decider-a"]
    members["signature"] = base64.b64encode(key.sign(members["payload"].encode())).decode()
    state_case(
        "signature-without-prefix",
        "the signed message starts with 'trustledger/decision/v1\\n'",
        UPHELD,
        dump_state(members),
    )
    other = state_members(BASE_ROWS[APPEAL].state)["signature"]
    members["signature"] = other
    state_case(
        "signature-of-other-entry",
        "the signature is over this payload",
        UPHELD,
        dump_state(members),
    )
    members["signature"] = base64.b64encode(bytes(64)).decode()
    state_case("signature-zero", "an all-zero signature", UPHELD, dump_state(members))
    good = base64.b64decode(state_members(row.state)["signature"])
    order = 2**252 + 27742317777372353535851937790883648493  # RFC 8032 §5.1: L
    s_plus_l = int.from_bytes(good[32:], "little") + order
    members["signature"] = base64.b64encode(good[:32] + s_plus_l.to_bytes(32, "little")).decode()
    state_case(
        "signature-s-not-reduced",
        "RFC 8032 §5.1.7: S < L (S + L refused)",
        UPHELD,
        dump_state(members),
    )
    b_row = BASE_ROWS[SHOP_B]
    members = state_members(b_row.state)
    members["key_id"] = str(KEYS["decider-a"].key_id)
    state_case(
        "signature-key-id-names-other-key",
        "the key the state's key_id names "
        "(decider-a, active) must have made the signature (decider-b did)",
        SHOP_B,
        dump_state(members),
    )


# -- genesis and root ----------------------------------------------------------------------------
def genesis_cases() -> None:
    add(
        "genesis-missing",
        "§8.1: position 0 is ledger.initialised (the genesis removed)",
        bundle_of(BASE_ROWS[1:]),
        check="genesis",
        position=0,
    )
    moved = [BASE_ROWS[SHOP_A], *BASE_ROWS[:SHOP_A], *BASE_ROWS[SHOP_A + 1 :]]
    add(
        "genesis-not-first",
        "§8.1: position 0 is ledger.initialised (a decision before it)",
        bundle_of(moved),
        check="genesis",
        position=0,
    )
    empty = base([])
    add(
        "genesis-empty-ledger",
        "§8.1: a ledger has a genesis (a bundle of 0 entries)",
        b(empty),
        check="genesis",
        position=None,
    )
    root = KEYS["root"]

    def data(name: str, rule: str, change: Callable[[dict[str, Any]], object]) -> None:
        add(
            name,
            "§8.1 genesis: " + rule,
            bundle_of(edited(GENESIS, change, key=root)),
            check="genesis",
            position=0,
        )

    text = vkey("root")
    data(
        "genesis-root-key-garbage",
        "data.root_key is a verifier key text",
        set_path("data.root_key", "root-key"),
    )
    data(
        "genesis-root-key-id-mismatch",
        "the root key text's key id matches",
        set_path("data.root_key", text.replace("+ab2ce061+", "+ab2ce062+")),
    )
    data(
        "genesis-root-key-id-uppercase",
        "the root key text's key id is lowercase hex",
        set_path("data.root_key", text.replace("+ab2ce061+", "+AB2CE061+")),
    )
    data("genesis-root-key-number", "data.root_key is a string", set_path("data.root_key", 1))
    data("genesis-no-data", "the genesis has data.root_key", set_path("data", DROP))
    data(
        "genesis-type-registered",
        "position 0 is of type ledger.initialised",
        lambda d: d.update(type="key.registered"),
    )


def root_cases() -> None:
    add(
        "root-not-pinned",
        "§8.1: the genesis root key is a pinned root key (another pinned)",
        b(base()),
        check="root",
        position=0,
        args=bundle_args(root_keys=["other-root"]),
    )
    rows = list(BASE_ROWS)
    other = KEYS["other-root"]
    for position in (GENESIS, REG_A, RULES, REG_B, REVOKE_B):
        rows = edited(position, lambda d: None, key=other, rows=rows)
    rows = edited(GENESIS, set_path("data.root_key", vkey("other-root")), key=other, rows=rows)
    add(
        "root-other-ledger",
        "§8.1: a ledger of another root (consistent in itself)",
        bundle_of(rows),
        check="root",
        position=0,
    )
    add(
        "root-pinned-among-several",
        "§8.1: one of several pinned root keys is the ledger's",
        b(base()),
        args=bundle_args(root_keys=["other-root", "root"]),
    )


# -- keyring -------------------------------------------------------------------------------------
def keyring_cases() -> None:
    root = KEYS["root"]
    at = REVOKE_B + 1

    def event(
        name: str, rule: str, kind: str, data: dict[str, Any], number: int, position: int = at
    ) -> None:
        row = new_row(key_event(kind, data, number), root)
        add(
            name,
            "§8.2 keyring: " + rule,
            bundle_of(inserted(position, row)),
            check="keyring",
            position=position,
        )

    event(
        "keyring-revoked-key-again",
        "a revoked public key registered again under a new name",
        "key.registered",
        {"key": vkey("decider-b2", "decider-b")},
        101,
    )
    event(
        "keyring-root-registered",
        "the root key is never registered",
        "key.registered",
        {"key": vkey("root")},
        102,
    )
    event(
        "keyring-root-public-key-renamed",
        "the root's public key is never registered, under any name",
        "key.registered",
        {"key": vkey("root-alias", "root")},
        103,
    )
    event(
        "keyring-registered-twice",
        "a key is registered at most once",
        "key.registered",
        {"key": vkey("decider-a")},
        104,
    )
    event(
        "keyring-same-public-key-renamed",
        "a public key is registered at most once, under any name (decider-a's key as 'decider-a2')",
        "key.registered",
        {"key": vkey("decider-a2", "decider-a")},
        105,
    )
    event(
        "keyring-revoke-unregistered",
        "key.revoked names a registered key",
        "key.revoked",
        {"key_id": str(KEYS["decider-x"].key_id)},
        106,
    )
    event(
        "keyring-revoke-twice",
        "key.revoked names an active key (decider-b again)",
        "key.revoked",
        {"key_id": str(KEYS["decider-b"].key_id)},
        107,
    )
    event(
        "keyring-revoke-root",
        "key.revoked names a decider key, not the root",
        "key.revoked",
        {"key_id": str(root.key_id)},
        108,
    )
    event(
        "keyring-second-genesis",
        "no second ledger.initialised",
        "ledger.initialised",
        {"root_key": vkey("root")},
        109,
    )
    event(
        "keyring-registered-key-garbage",
        "data.key is a verifier key text",
        "key.registered",
        {"key": "decider-y"},
        110,
    )
    event(
        "keyring-registered-key-id-mismatch",
        "data.key's key id matches its key",
        "key.registered",
        {"key": vkey("decider-x").replace("+287d3220+", "+287d3221+")},
        111,
    )
    event("keyring-registered-no-key", "key.registered has data.key", "key.registered", {}, 112)
    event(
        "keyring-revoked-key-id-short",
        "key.revoked's key_id is 8 hex digits",
        "key.revoked",
        {"key_id": str(KEYS["decider-a"].key_id)[:7]},
        113,
    )
    event(
        "keyring-revoked-key-id-number",
        "key.revoked's key_id is a string",
        "key.revoked",
        {"key_id": 9607444},
        114,
    )
    text = vkey("decider-b")
    assert text.split("+")[1] != text.split("+")[1].upper()
    upper_id = text.split("+")[1].upper()
    add(
        "keyring-registered-key-id-uppercase",
        "§8.2 keyring: data.key's key id is 8 lowercase hex digits",
        bundle_of(edited(REG_B, set_path("data.key", text.replace(text.split("+")[1], upper_id)))),
        check="keyring",
        position=REG_B,
    )
    add(
        "keyring-revoked-key-id-uppercase",
        "§8.2 keyring: key.revoked's key_id is 8 lowercase hex digits",
        bundle_of(edited(REVOKE_B, set_path("data.key_id", upper_id))),
        check="keyring",
        position=REVOKE_B,
    )

    def rules(name: str, rule: str, change: Callable[[dict[str, Any]], object]) -> None:
        add(
            name,
            "§8.2 rules.published: " + rule,
            bundle_of(edited(RULES, change)),
            check="keyring",
            position=RULES,
        )

    from baseledger import RULES_TOML

    def with_toml(toml: str) -> Callable[[dict[str, Any]], None]:
        def change(document: dict[str, Any]) -> None:
            document["data"]["toml"] = toml
            document["data"]["sha256"] = hashlib.sha256(toml.encode()).hexdigest()

        return change

    rules(
        "rules-sha256-mismatch",
        "sha256 is the SHA-256 of the TOML",
        set_path("data.sha256", hashlib.sha256(b"other").hexdigest()),
    )
    rules(
        "rules-sha256-uppercase",
        "sha256 is 64 lowercase hex digits",
        lambda d: d["data"].update(sha256=d["data"]["sha256"].upper()),
    )
    rules("rules-version-mismatch", "version equals the TOML's", set_path("data.version", "v2"))
    rules(
        "rules-effective-from-mismatch",
        "effective_from equals the TOML's",
        set_path("data.effective_from", "2027-02-01T00:00:00Z"),
    )
    early = RULES_TOML.replace("2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z")

    def retroactive(document: dict[str, Any]) -> None:
        with_toml(early)(document)
        document["data"]["effective_from"] = "2026-01-01T00:00:00Z"

    rules("rules-retroactive", "effective_from is not before occurred_at", retroactive)
    rules("rules-invalid-toml", "the TOML is a valid rule set", with_toml("version = [\n"))
    rules(
        "rules-missing-number",
        "the TOML has every number",
        with_toml(RULES_TOML.replace("appeal_window_days = 7\n", "")),
    )
    rules("rules-no-toml", "data.toml is required", set_path("data.toml", DROP))


# -- replay, sequence, chain -----------------------------------------------------------------------
def replay_cases() -> None:
    end = len(BASE_ROWS)
    copy_row = replace(BASE_ROWS[APPEAL], version=40)
    add(
        "replay-verbatim-copy-at-end",
        "§8.5: a signed decision copied verbatim behind the ledger's back",
        bundle_of([*BASE_ROWS, copy_row]),
        check="replay",
        position=end,
    )
    add(
        "replay-verbatim-copy-next",
        "§8.5: a verbatim copy right after the original",
        bundle_of(inserted(APPEAL + 1, copy_row)),
        check="replay",
        position=APPEAL + 1,
    )
    reused = {
        **document_of(BASE_ROWS[UPHELD]),
        "decision_id": document_of(BASE_ROWS[SHOP_A])["decision_id"],
    }
    add(
        "replay-copy-other-data",
        "§8.5: another decision under an earlier decision_id",
        bundle_of(
            [
                *BASE_ROWS,
                resigned(replace(BASE_ROWS[UPHELD], version=40), reused, KEYS["decider-a"]),
            ]
        ),
        check="replay",
        position=end,
    )
    revoked = document_of(BASE_ROWS[REVOKE_B])
    repeat = new_row(
        key_event("key.registered", {"key": vkey("decider-x")}, 0)
        | {"decision_id": revoked["decision_id"]},
        KEYS["root"],
    )
    add(
        "replay-key-event-id",
        "§8.5: key events' decision_ids are unique too",
        bundle_of([*BASE_ROWS, repeat]),
        check="replay",
        position=end,
    )
    genesis_id = document_of(BASE_ROWS[GENESIS])["decision_id"]
    add(
        "replay-decision-reuses-key-event-id",
        "§8.5: a decision may not reuse a key event's decision_id",
        bundle_of(edited(UPHELD, set_path("decision_id", genesis_id))),
        check="replay",
        position=UPHELD,
    )


def sequence_cases() -> None:
    same = base()
    same.rows[APPEAL] = replace(
        same.rows[APPEAL], notification_id=same.rows[APPEAL - 1].notification_id
    )
    add(
        "sequence-notification-id-repeated",
        "§6: notification ids strictly increase",
        b(same),
        check="sequence",
        position=APPEAL,
    )
    down = base()
    down.rows[APPEAL] = replace(down.rows[APPEAL], notification_id=2)
    add(
        "sequence-notification-id-decreasing",
        "§6: notification ids strictly increase",
        b(down),
        check="sequence",
        position=APPEAL,
    )


def chain_cases() -> None:
    def draft_with(position: int, **changes: Any) -> Draft:
        draft = base()
        draft.rows[position] = replace(draft.rows[position], **changes)
        return draft

    good = base()
    chains = chain_hashes(good.rows)
    d = draft_with(SHOP_B, chain=flip(chains[SHOP_B], 31))
    add(
        "chain-hash-flipped",
        "§6: chain[i] = SHA-256(0x02 ‖ chain[i−1] ‖ leaf[i])",
        b(d),
        check="chain",
        position=SHOP_B,
    )
    state = BASE_ROWS[UPHELD].state.replace(b"reviewer-17", b"reviewer-18")
    d = draft_with(UPHELD, state=state, chain=chains[UPHELD])
    d.checkpoint = signed_checkpoint(base().default_checkpoint(), DEFAULT_SIGNERS)
    add(
        "chain-state-edited",
        "§6: an entry's bytes changed, its chain hash kept (T1)",
        b(d),
        check="chain",
        position=UPHELD,
    )
    d = draft_with(APPEAL, version=9, chain=chains[APPEAL])
    add(
        "chain-version-edited",
        "§6: the originator version is hashed",
        b(d),
        check="chain",
        position=APPEAL,
    )
    swapped = base()
    swapped.rows[APPEAL], swapped.rows[UPHELD] = (
        replace(BASE_ROWS[UPHELD], notification_id=APPEAL + 1, chain=chains[APPEAL]),
        replace(BASE_ROWS[APPEAL], notification_id=UPHELD + 1, chain=chains[UPHELD]),
    )
    add(
        "chain-reordered",
        "§6: entries swapped with their chain hashes kept (T3)",
        b(swapped),
        check="chain",
        position=APPEAL,
    )
    deleted = base()
    deleted.rows = [replace(r, chain=c) for r, c in zip(deleted.rows, chains, strict=True)]
    del deleted.rows[SUBMITTED]
    deleted.rows = renumber(deleted.rows)
    add(
        "chain-entry-deleted",
        "§6: an entry deleted, the others' chain hashes kept (T2)",
        b(deleted),
        check="chain",
        position=SUBMITTED,
    )
    head = base(header_members=lambda h: {**h, "head_chain_hash": chains[-2].hex()})
    add(
        "chain-head-mismatch",
        "§13: the last chain hash equals the header's head_chain_hash",
        b(head),
        check="chain",
        position=len(chains) - 1,
    )
    no_prefix = base()
    previous = bytes(32)
    rows = []
    for row in no_prefix.rows:
        previous = hashlib.sha256(previous + leaf_hash(row.entry_bytes())).digest()
        rows.append(replace(row, chain=previous))
    no_prefix.rows = rows
    add(
        "chain-without-0x02",
        "§6: chain nodes are prefixed with 0x02",
        b(no_prefix),
        check="chain",
        position=0,
    )


# -- checkpoints -----------------------------------------------------------------------------------
def cosigned_note(
    text: str,
    *,
    log: str = "log",
    witnesses: tuple[str, ...] = ("witness-a", "witness-b"),
    extra: str = "",
) -> bytes:
    """``text`` signed by ``log`` and cosigned by ``witnesses``, whatever the text holds
    (the library's signers refuse to sign a malformed note: these sign its bytes)."""
    message = text.encode()
    signatures = [NoteSignature(log, KEYS[log].key_id, KEYS[log].sign(message))]
    for name in witnesses:
        key = KEYS[name]
        stamp = COSIGNED_AT.to_bytes(8, "big")
        signed = key.sign(b"cosignature/v1\ntime %d\n" % COSIGNED_AT + message)
        cosigner = CosignerKey.from_verifier(key.verifier)
        signatures.append(NoteSignature(name, cosigner.key_id, stamp + signed))
    return note_bytes(text, signatures, extra)


def checkpoint_cases() -> None:
    good = base()
    cp = good.default_checkpoint()
    text = format_checkpoint(cp)

    def case(
        name: str,
        rule: str,
        note: bytes | None = None,
        *,
        draft: Draft | None = None,
        held: list[bytes] | None = None,
        verdict: str | None = None,
        **args: Any,
    ) -> None:
        draft = draft or base()
        if note is not None:
            draft.checkpoint = note
        add(
            name,
            "§11–§13 checkpoint: " + rule,
            b(draft),
            check=None if verdict else "checkpoint",
            verdict=verdict,
            held=held,
            args=bundle_args(**args),
        )

    case(
        "checkpoint-wrong-log-key-pinned",
        "signed by a pinned log key (another pinned)",
        log_keys=["other-log"],
    )
    case(
        "checkpoint-signed-by-other-log",
        "signed by a pinned log key (another key signed)",
        cosigned_note(text, log="other-log"),
    )
    case(
        "checkpoint-log-key-missing",
        "a bundle needs the pinned log key: none given is usage",
        verdict="usage",
        log_keys=[],
    )
    sigs = checkpoint_signatures(text, DEFAULT_SIGNERS)
    bad_log = NoteSignature(sigs[0].name, sigs[0].key_id, flip(sigs[0].signature, 3))
    case(
        "checkpoint-bad-log-signature",
        "the pinned log key's signature verifies",
        note_bytes(text, [bad_log, *sigs[1:]]),
    )
    renamed = NoteSignature("log-2", sigs[0].key_id, sigs[0].signature)
    case(
        "checkpoint-log-signature-renamed",
        "a signature line counts for the key of its name and id only",
        note_bytes(text, [renamed, *sigs[1:]]),
    )
    case(
        "checkpoint-quorum-not-met",
        "quorum 2, one witness cosigned",
        cosigned_note(text, witnesses=("witness-a",)),
    )
    case(
        "checkpoint-quorum-unpinned-witness",
        "cosignatures by witnesses not pinned do not count",
        cosigned_note(text, witnesses=("witness-a", "witness-c")),
    )
    alias = KEYS["witness-a"]
    alias_key = SigningKey("witness-a-alias", alias.private_key)
    twice = note_bytes(text, [*sigs[:2], cosign(text, alias_key, timestamp=COSIGNED_AT)])
    case(
        "checkpoint-one-witness-two-names",
        "the quorum counts distinct public keys: one witness under two names counts once, so "
        "a quorum of 2 over them cannot be met (usage)",
        twice,
        verdict="usage",
        witness_keys=["witness-a", "witness-a-alias"],
    )
    bad_cosig = NoteSignature(sigs[2].name, sigs[2].key_id, flip(sigs[2].signature, 30))
    case(
        "checkpoint-bad-cosignature-quorum-0",
        "a pinned witness's cosignature verifies, at quorum 0 too",
        note_bytes(text, [*sigs[:2], bad_cosig]),
        quorum=0,
    )
    case(
        "checkpoint-bad-cosignature-quorum-1",
        "a pinned witness's cosignature verifies, even with the quorum met by another",
        note_bytes(text, [*sigs[:2], bad_cosig]),
        quorum=1,
    )
    late = NoteSignature(
        sigs[2].name, sigs[2].key_id, (2**63).to_bytes(8, "big") + sigs[2].signature[8:]
    )
    case(
        "checkpoint-cosignature-time-2-63",
        "a cosignature's time is at most 2^63−1",
        note_bytes(text, [*sigs[:2], late]),
        quorum=0,
    )
    other_origin = format_checkpoint(replace(cp, origin="other.example/log"))
    case("checkpoint-origin-mismatch", "the origin equals --origin", cosigned_note(other_origin))
    smaller = format_checkpoint(good.default_checkpoint(14))
    case(
        "checkpoint-size-mismatch",
        "its size equals the bundle's entry count",
        cosigned_note(smaller),
    )
    wrong_root = format_checkpoint(replace(cp, root_hash=flip(cp.root_hash, 0)))
    case(
        "checkpoint-root-mismatch",
        "its root is the entries' Merkle root",
        cosigned_note(wrong_root),
    )
    case("checkpoint-no-signature", "a signed note has signature lines", text.encode() + b"\n")
    case(
        "checkpoint-root-pad-bits",
        "canonical base64 root",
        cosigned_note(text.replace(text.split("\n")[2], pad_bits_set(text.split("\n")[2]))),
    )
    case(
        "checkpoint-size-leading-zero",
        "the size is a decimal without leading zeros",
        cosigned_note(text.replace("\n15\n", "\n015\n")),
    )
    short = text.replace(text.split("\n")[2], base64.b64encode(cp.root_hash[:31]).decode())
    case("checkpoint-root-31-bytes", "the root is 32 bytes", cosigned_note(short))
    case(
        "checkpoint-control-character",
        "no control character but newline",
        cosigned_note(text.replace("conformance.", "conformance\t.")),
    )
    case(
        "checkpoint-empty-origin",
        "the origin line is not empty",
        cosigned_note("\n" + text.split("\n", 1)[1]),
    )
    many = "".join(
        format_signature_line(NoteSignature(f"signer-{i}", KEYS["witness-c"].key_id, bytes(64)))
        for i in range(99)
    )
    case(
        "checkpoint-101-signatures", "at most 100 signature lines", cosigned_note(text, extra=many)
    )

    # Held checkpoints (AUDITOR.md §4).
    leaves = good.leaves()

    def at(
        size: int,
        root: bytes | None = None,
        origin: str = ORIGIN,
        log: str = "log",
        witnesses: tuple[str, ...] = ("witness-a", "witness-b"),
    ) -> bytes:
        body = Checkpoint(origin, size, root or merkle_root(leaves[:size]))
        return cosigned_note(format_checkpoint(body), log=log, witnesses=witnesses)

    case(
        "held-truncated",
        "the log extends every held checkpoint: one of size 17 > 15 (T5)",
        held=[at(17, merkle_root([*leaves, *leaves[:2]]))],
    )
    shorter = base(BASE_ROWS[:12])
    case(
        "held-rolled-back",
        "a bundle cut to 12 entries and signed again; the auditor holds size 15 (T5)",
        draft=shorter,
        held=[at(15)],
    )
    case(
        "held-rewritten",
        "a held checkpoint of size 8 with another root (T6)",
        held=[at(8, flip(merkle_root(leaves[:8]), 5))],
    )
    case(
        "held-split-view",
        "two held checkpoints of size 20 with different roots (T7)",
        held=[
            at(20, merkle_root([*leaves, *leaves[:5]])),
            at(20, merkle_root([*leaves, *leaves[1:6]])),
        ],
    )
    case(
        "held-other-log-key",
        "a held checkpoint is signed by a pinned log key",
        held=[at(8, log="other-log")],
    )
    case(
        "held-origin-mismatch",
        "a held checkpoint names --origin",
        held=[at(8, origin="other.example/log")],
    )
    case(
        "held-quorum-not-met",
        "a held checkpoint has the witness quorum",
        held=[at(8, witnesses=("witness-b",))],
    )
    case(
        "held-not-a-note",
        "a held file that is not a signed note is usage",
        verdict="usage",
        held=[b"conformance\n8\n"],
    )


# -- proofs --------------------------------------------------------------------------------------
def proof_cases() -> None:
    draft = base()
    index = APPEAL

    def case(
        name: str,
        rule: str,
        proof: InclusionProof | bytes,
        check: str | None,
        verdict: str | None = None,
        **args: Any,
    ) -> None:
        data = proof if isinstance(proof, bytes) else proof_bytes(proof)
        add(
            name,
            "§10 inclusion proof: " + rule,
            data,
            check=check,
            verdict=verdict,
            kind="proof",
            args=proof_args(**args),
        )

    good = inclusion_proof(draft, index)
    case("proof-valid", "a decision's inclusion proof", good, None)
    case("proof-valid-first", "the genesis (index 0)", inclusion_proof(draft, 0), None)
    case("proof-valid-last", "the last entry (index 14)", inclusion_proof(draft, 14), None)
    case(
        "proof-valid-quorum-0",
        "no witnesses pinned",
        good,
        None,
        witness_keys=[],
        quorum=0,
        origin=None,
    )
    case(
        "proof-flipped-first-hash",
        "a bit flipped in the leaf's sibling",
        replace(good, hashes=(flip(good.hashes[0], 0), *good.hashes[1:])),
        "proof",
    )
    case(
        "proof-flipped-last-hash",
        "a bit flipped in the last proof hash",
        replace(good, hashes=(*good.hashes[:-1], flip(good.hashes[-1], 7))),
        "proof",
    )
    case("proof-wrong-index", "the index is the entry's", replace(good, index=index + 1), "proof")
    case(
        "proof-index-beyond-size",
        "the index is below the checkpoint's size",
        replace(good, index=15),
        "proof",
    )
    extra = good.extra or b""
    case(
        "proof-wrong-extra",
        "extra is the entry's bytes (one byte changed)",
        replace(good, extra=flip(extra, len(extra) - 3)),
        "proof",
    )
    case(
        "proof-other-entry-extra",
        "extra is the entry's bytes (another entry's)",
        replace(good, extra=draft.rows[index + 1].entry_bytes()),
        "proof",
    )
    case(
        "proof-missing-hash",
        "the proof has every hash",
        replace(good, hashes=good.hashes[:-1]),
        "proof",
    )
    case(
        "proof-extra-hash",
        "the proof has no hash too many",
        replace(good, hashes=(*good.hashes, good.hashes[0])),
        "proof",
    )
    text = proof_bytes(good)
    case(
        "proof-index-leading-zero",
        "the index is a decimal without leading zeros",
        text.replace(b"\nindex 12\n", b"\nindex 012\n"),
        "proof",
    )
    first_hash = base64.b64encode(good.hashes[0])
    case(
        "proof-hash-pad-bits",
        "proof hashes are canonical base64",
        text.replace(first_hash, pad_bits_set(first_hash.decode()).encode()),
        "proof",
    )
    case(
        "proof-no-extra", "the proof carries the entry (extra)", replace(good, extra=None), "proof"
    )
    cp = draft.default_checkpoint()
    cp_text = format_checkpoint(cp)
    case(
        "proof-checkpoint-other-log",
        "its checkpoint is signed by a pinned log key",
        replace(good, checkpoint=cosigned_note(cp_text, log="other-log")),
        "checkpoint",
    )
    case(
        "proof-checkpoint-quorum",
        "its checkpoint has the witness quorum",
        replace(good, checkpoint=cosigned_note(cp_text, witnesses=("witness-a",))),
        "checkpoint",
    )
    case(
        "proof-checkpoint-origin",
        "its checkpoint names --origin",
        replace(
            good,
            checkpoint=cosigned_note(format_checkpoint(replace(cp, origin="other.example/log"))),
        ),
        "checkpoint",
    )
    sigs = checkpoint_signatures(cp_text, DEFAULT_SIGNERS)
    bad = NoteSignature(sigs[1].name, sigs[1].key_id, flip(sigs[1].signature, 20))
    case(
        "proof-checkpoint-bad-cosignature",
        "its checkpoint's pinned cosignatures verify",
        replace(good, checkpoint=note_bytes(cp_text, [sigs[0], bad, sigs[2]])),
        "checkpoint",
        quorum=0,
    )
    case(
        "proof-not-a-proof",
        "a bundle given as --proof is not a proof file at all",
        b(draft),
        None,
        verdict="usage",
    )


# -- notes (checkpoint verify) -------------------------------------------------------------------
def signature_line(name: str, key: SigningKey, message: bytes) -> bytes:
    # Written by hand: the library refuses to write a line under a malformed name.
    encoded = base64.b64encode(key.key_id.value + key.sign(message)).decode()
    return f"— {name} {encoded}\n".encode()


def note_cases() -> None:
    log = KEYS["log"]

    def case(name: str, rule: str, data: bytes, ok: bool, keys: list[str]) -> None:
        add(
            name,
            "C2SP signed-note: " + rule,
            data,
            kind="note",
            check=None,
            verdict="intact" if ok else "not-intact",
            args={"keys": keys},
        )

    def signed(text: bytes, *extra: bytes) -> bytes:
        return text + b"\n" + signature_line("log", log, text) + b"".join(extra)

    case(
        "note-go-peter-neumann",
        "Go's sumdb/note example (not a checkpoint) verifies",
        PETER_NOTE.encode(),
        True,
        ["PeterNeumann"],
    )
    case(
        "note-go-two-signers",
        "Go's example signed by two known keys",
        PETER_NOTE.encode() + ENOCH_SIG.encode(),
        True,
        ["PeterNeumann", "EnochRoot"],
    )
    case(
        "note-go-unknown-signer-ignored",
        "a signature by a key not given is ignored",
        PETER_NOTE.encode() + ENOCH_SIG.encode(),
        True,
        ["PeterNeumann"],
    )
    case(
        "note-go-no-known-signer",
        "at least one given key signed",
        PETER_NOTE.encode(),
        False,
        ["EnochRoot"],
    )
    case(
        "note-go-sumdb-checkpoint",
        "the Go checksum database's checkpoint",
        SUMDB_CHECKPOINT.encode(),
        True,
        ["sum.golang.org"],
    )
    cp_note = base().note()
    case("note-checkpoint", "our checkpoint, cosigned", cp_note, True, ["log"])
    case(
        "note-checkpoint-by-witness",
        "our checkpoint, checked with a witness's cosigner key",
        cp_note,
        True,
        ["witness-a.cosigner"],
    )
    plain = b"trustledger conformance note\nwith a second line\n"
    case("note-plain-text", "any note text, not only checkpoints", signed(plain), True, ["log"])
    # The other notes are checkpoints, so that each breaks (or keeps) one rule only.
    text = format_checkpoint(base().default_checkpoint()).encode()
    ext = format_checkpoint(replace(base().default_checkpoint(), extensions=("ext-a", "ext b")))
    case(
        "note-checkpoint-extensions",
        "a checkpoint with extension lines",
        signed(ext.encode()),
        True,
        ["log"],
    )

    def extension(line: bytes) -> bytes:
        return text + line + b"\n"

    case(
        "note-del-allowed",
        "U+007F is not a control character here",
        signed(extension(b"del \x7f here")),
        True,
        ["log"],
    )
    case(
        "note-encoded-fffd-allowed",
        "an encoded U+FFFD is valid UTF-8 and allowed",
        signed(extension("replacement \ufffd here".encode())),
        True,
        ["log"],
    )
    case(
        "note-non-ascii", "UTF-8 text", signed(extension("假冒 — Grüße 😀".encode())), True, ["log"]
    )
    unknown = signature_line("stranger", KEYS["witness-c"], text)
    case(
        "note-unknown-signers",
        "signature lines of unknown keys are ignored",
        signed(text, unknown, unknown.replace(b"stranger", b"stranger-2")),
        True,
        ["log"],
    )
    hundred = signed(text, *[signature_line(f"s{i}", KEYS["witness-c"], text) for i in range(99)])
    case("note-100-signatures", "100 signature lines are accepted", hundred, True, ["log"])
    case(
        "note-101-signatures",
        "at most 100 signature lines",
        hundred + signature_line("s99", KEYS["witness-c"], text),
        False,
        ["log"],
    )
    case(
        "note-control-tab",
        "no control character but newline (TAB)",
        signed(extension(b"tab\there")),
        False,
        ["log"],
    )
    case(
        "note-control-cr",
        "no control character but newline (CR)",
        signed(extension(b"cr\rhere")),
        False,
        ["log"],
    )
    case(
        "note-control-nul",
        "no control character but newline (NUL)",
        signed(extension(b"nul\x00here")),
        False,
        ["log"],
    )
    case("note-invalid-utf8", "valid UTF-8", signed(extension(b"caf\xe9")), False, ["log"])
    case(
        "note-overlong-utf8",
        "valid UTF-8 (an overlong encoding)",
        signed(extension(b"slash \xc0\xaf")),
        False,
        ["log"],
    )
    line = signature_line("log", log, text).decode()
    encoded = line.split(" ")[2].strip()
    case(
        "note-signature-pad-bits",
        "a signature line's base64 is read as Go's note.Open reads it: pad bits are ignored",
        text + b"\n" + line.replace(encoded, pad_bits_set(encoded)).encode(),
        True,
        ["log"],
    )
    case(
        "note-signature-not-base64",
        "base64 signatures",
        text + b"\n" + line.replace(encoded, "!" + encoded[1:]).encode(),
        False,
        ["log"],
    )
    case(
        "note-signature-unpadded",
        "padded base64 signatures",
        text + b"\n" + line.replace(encoded, encoded.rstrip("=")).encode(),
        False,
        ["log"],
    )
    bad = NoteSignature("log", log.key_id, flip(log.sign(text), 9))
    case(
        "note-bad-signature",
        "a given key's signature verifies",
        text + b"\n" + format_signature_line(bad).encode(),
        False,
        ["log"],
    )
    case(
        "note-bad-and-good",
        "a given key's failing signature rejects the note even when another given key signed",
        signed(text, signature_line("witness-a", KEYS["witness-a"], flip(text, 0))),
        False,
        ["log", "witness-a"],
    )
    case(
        "note-no-blank-line",
        "a blank line ends the text",
        text + signature_line("log", log, text),
        False,
        ["log"],
    )
    case("note-no-signatures", "at least one signature line", text + b"\n", False, ["log"])
    case(
        "note-signature-no-dash",
        "signature lines start with an em dash",
        text + b"\n" + signature_line("log", log, text).replace("— ".encode(), b"- ", 1),
        False,
        ["log"],
    )
    case(
        "note-name-with-plus",
        "key names hold no '+'",
        signed(text, signature_line("a+b", KEYS["witness-c"], text)),
        False,
        ["log"],
    )
    case(
        "note-empty-text",
        "the text is not empty",
        b"\n" + signature_line("log", log, b""),
        False,
        ["log"],
    )


# -- output ----------------------------------------------------------------------------------------
SUFFIX = {"bundle": ".bundle", "proof": ".proof", "note": ".note"}


@functools.cache
def key_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, key in KEYS.items():
        files[f"{name}.pub"] = format_public_key_file(key.verifier).encode()
        files[f"{name}.vkey"] = (format_verifier_key(key.verifier) + "\n").encode()
        if name.startswith("witness"):
            cosigner = CosignerKey.from_verifier(key.verifier)
            files[f"{name}.cosigner.vkey"] = (format_cosigner_key(cosigner) + "\n").encode()
    alias = VerifierKey("witness-a-alias", KEYS["witness-a"].verifier.public_key)
    files["witness-a-alias.pub"] = format_public_key_file(alias).encode()
    files["witness-a-alias.vkey"] = (format_verifier_key(alias) + "\n").encode()
    for name, text in EXTERNAL_VKEYS.items():
        files[f"{name}.vkey"] = (text + "\n").encode()
    return files


def key_text(ref: str) -> str:
    """The verifier key text of keys/<ref>.vkey."""
    return key_files()[f"{ref}.vkey"].decode().strip()


def argv(case: Case, file: str, held: list[str]) -> list[str]:
    """The reference CLI's arguments (paths relative to conformance/)."""
    args = case.args
    if case.kind == "note":
        out = ["checkpoint", "verify"]
        for key in args["keys"]:
            out += ["--key", key_text(key)]
        return [*out, file]
    out = ["verify", f"--{case.kind}", file]
    for key in args.get("root_keys", []):
        out += ["--trusted-key", key_text(key)]
    for key in args["log_keys"]:
        out += ["--log-key", key_text(key)]
    for key in args["witness_keys"]:
        out += ["--witness-key", key_text(key)]
    if args["quorum"]:
        out += ["--quorum", str(args["quorum"])]
    if args["origin"] is not None:
        out += ["--origin", args["origin"]]
    for path in held:
        out += ["--checkpoint", path]
    return out


def build_all() -> list[Case]:
    CASES.clear()
    for group in (
        valid_cases,
        bundle_syntax_cases,
        envelope_cases,
        payload_cases,
        signer_cases,
        signature_cases,
        genesis_cases,
        root_cases,
        keyring_cases,
        replay_cases,
        sequence_cases,
        chain_cases,
        checkpoint_cases,
        proof_cases,
        note_cases,
    ):
        group()
    names = [case.name for case in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    return list(CASES)


def write(out: Path) -> int:
    cases = build_all()
    for sub in ("cases", "keys"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    for name, data in key_files().items():
        (out / "keys" / name).write_bytes(data)
    manifest = []
    for number, case in enumerate(cases, start=1):
        stem = f"{number:03d}-{case.name}"
        file = f"cases/{stem}{SUFFIX[case.kind]}"
        (out / file).write_bytes(case.data)
        held = []
        for i, data in enumerate(case.held, start=1):
            path = f"cases/{stem}.held-{i}.checkpoint"
            (out / path).write_bytes(data)
            held.append(path)
        args = copy.deepcopy(case.args)
        if case.kind == "bundle":
            args["checkpoints"] = held
        manifest.append({
            "name": stem,
            "file": file,
            "kind": case.kind,
            "args": args,
            "argv": argv(case, file, held),
            "verdict": case.verdict,
            "check": case.check,
            "position": case.position,
            "rule": case.rule,
        })  # fmt: skip
    document = {
        "format": "trustledger conformance corpus v1",
        "origin": ORIGIN,
        "cases": manifest,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return len(cases)


def main(argv_: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    options = parser.parse_args(argv_)
    count = write(options.out)
    print(f"wrote {count} cases to {options.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
