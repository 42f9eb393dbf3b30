"""Key files on disk: ``NAME.key`` (encrypted private key) and ``NAME.pub`` (verifier key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from trustledger.app.files import write_failure, write_file
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
)

PASSPHRASE_ENV = "TRUSTLEDGER_KEY_PASSPHRASE"
PassphraseSource = Callable[[], bytes]


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def generate_key_files(
    name: str, out_dir: Path, passphrase: bytes | PassphraseSource
) -> tuple[Path, Path, SigningKey]:
    """Write ``out_dir/NAME.key`` (mode 0600) and ``out_dir/NAME.pub``; never overwrites,
    and writes both or neither. Raises UsageError (a file exists, a bad name, the directory
    cannot be written) or StorageUnavailable (the disk is full).

    ``passphrase`` may be a callable: it is asked for only once the files can be written.
    """
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
    secret = passphrase() if callable(passphrase) else passphrase
    encrypted = format_private_key(key, secret)
    # Whole files or none (trustledger.app.files): a full disk leaves no empty NAME.key
    # behind to block the retry.
    write_file(private_path, encrypted, exclusive=True, private=True)
    try:
        write_file(public_path, format_public_key_file(key.verifier).encode(), exclusive=True)
    except BaseException:
        private_path.unlink(missing_ok=True)  # ours, just written: the pair or nothing
        raise
    return private_path, public_path, key


def load_signing_key(path: Path, passphrase: PassphraseSource) -> SigningKey:
    """Decrypt a private key file; the passphrase is asked for only when needed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from exc
    return parse_private_key(data, passphrase(), source=str(path))


def load_verifier_key(text_or_path: str) -> VerifierKey:
    """A verifier key given inline (``name+id+base64``) or as a path to a .pub file."""
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
