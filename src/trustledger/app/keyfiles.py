"""Key files on disk: ``NAME.key`` (encrypted private key) and ``NAME.pub`` (verifier key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from trustledger.app.files import write_failure, write_file
from trustledger.app.paths import StrPath
from trustledger.errors import UsageError
from trustledger.ledger.keys import (
    SigningKey,
    VerifierKey,
    format_private_key,
    format_public_key_file,
    generate_signing_key,
    parse_private_key,
    parse_public_key_file,
    parse_verifier_key,
    passphrase_bytes,
)

PASSPHRASE_ENV = "TRUSTLEDGER_KEY_PASSPHRASE"
# A passphrase is text (encoded as UTF-8) or bytes, given as such or by a callable asked
# only when the key is read or written (a prompt).
Passphrase: TypeAlias = bytes | str
PassphraseSource: TypeAlias = Callable[[], bytes | str]


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def _secret(passphrase: Passphrase | PassphraseSource) -> bytes:
    return passphrase_bytes(passphrase() if callable(passphrase) else passphrase)


def generate_key_files(
    name: str, out_dir: StrPath, passphrase: Passphrase | PassphraseSource
) -> tuple[Path, Path, SigningKey]:
    """Write ``out_dir/NAME.key`` (mode 0600) and ``out_dir/NAME.pub``; never overwrites,
    and writes both or neither. Raises UsageError (a file exists, a bad name, the directory
    cannot be written) or StorageUnavailable (the disk is full).

    ``passphrase`` (text or bytes) may be a callable: it is asked for only once the files
    can be written.
    """
    out_dir = Path(out_dir)
    key = generate_signing_key(name)
    # NAME becomes a file name: "../x" or "a/b" would write outside out_dir.
    if Path(name).name != name or name in {".", ".."}:
        raise UsageError(f"invalid key name {name!r}: it names the key files, so no '/' or '..'")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failure(out_dir, exc) from exc
    private_path, public_path = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise UsageError(f"{path} already exists; refusing to overwrite a key")
    encrypted = format_private_key(key, _secret(passphrase))
    # Whole files or none (trustledger.app.files): a full disk leaves no empty NAME.key
    # behind to block the retry.
    write_file(private_path, encrypted, exclusive=True, private=True)
    try:
        write_file(public_path, format_public_key_file(key.verifier).encode(), exclusive=True)
    except BaseException:
        private_path.unlink(missing_ok=True)  # ours, just written: the pair or nothing
        raise
    return private_path, public_path, key


def load_signing_key(path: StrPath, passphrase: Passphrase | PassphraseSource) -> SigningKey:
    """Decrypt a private key file; a callable passphrase is asked for only once the file
    has been read.

    Raises UsageError when the file cannot be read, is not a key, or the passphrase is wrong.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from exc
    return parse_private_key(data, _secret(passphrase), source=str(path))


def load_verifier_key(text_or_path: StrPath) -> VerifierKey:
    """A verifier key given inline (``name+id+base64``) or as a path to a .pub file."""
    if not isinstance(text_or_path, str):
        text_or_path = os.fspath(text_or_path)
    candidate = Path(text_or_path)
    if "+" not in text_or_path or candidate.is_file():
        try:
            return parse_public_key_file(candidate.read_text(), source=text_or_path)
        except OSError as exc:
            raise UsageError(
                f"{text_or_path!r} is neither a verifier key (NAME+KEYID+BASE64) "
                f"nor a readable .pub file: {exc.strerror}"
            ) from exc
    return parse_verifier_key(text_or_path)
