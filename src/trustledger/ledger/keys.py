"""Ed25519 keys, named and identified as in C2SP signed-note.

A verifier key is printed as ``<name>+<key id>+<base64(0x01 ‖ public key)>`` (C2SP
signed-note, "Verifier keys"); the key id is the first four bytes of
``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`` (C2SP signed-note, "Signatures"), written as
eight lowercase hex digits. Private keys are stored in OpenSSH's private key format,
encrypted under a bcrypt-derived key, behind a short comment header that carries the key's
name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustledger.errors import UsageError
from trustledger.ledger import ed25519

ED25519_ALGORITHM = 0x01  # C2SP signed-note signature type for Ed25519
_KEY_ID_TEXT = re.compile(r"[0-9a-f]{8}")  # docs/FORMAT.md §1: one spelling per key id


@dataclass(frozen=True, order=True)
class KeyId:
    """The 4-byte C2SP key id, printed as 8 lowercase hex digits."""

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != 4:
            raise ValueError("a key id is 4 bytes")

    def __str__(self) -> str:
        return self.value.hex()

    @classmethod
    def parse(cls, text: str) -> KeyId:
        """Parse exactly 8 lowercase hex digits (docs/FORMAT.md §1: one spelling per key
        id); raises UsageError otherwise."""
        if _KEY_ID_TEXT.fullmatch(text) is None:
            raise UsageError(
                f"not a key id: {text!r} (expected 8 lowercase hex digits, see `keys list`)"
            )
        return cls(bytes.fromhex(text))


def _check_name(name: str) -> None:
    # C2SP signed-note: a key name is non-empty, has no Unicode spaces and no plus sign.
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise UsageError(f"invalid key name {name!r}: it must be non-empty, without spaces or '+'")


def compute_key_id(name: str, public_key: bytes) -> KeyId:
    """C2SP signed-note key id: SHA-256(name ‖ "\\n" ‖ 0x01 ‖ key)[:4]."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_ALGORITHM]) + public_key)
    return KeyId(digest.digest()[:4])


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key that checks signatures."""

    name: str
    public_key: bytes
    key_id: KeyId = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        check_public_key(self.public_key)
        object.__setattr__(self, "key_id", compute_key_id(self.name, self.public_key))

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        return ed25519.is_valid_signature(self.public_key, signature, message)


def check_public_key(public_key: bytes) -> None:
    """Refuse what is not an honestly made Ed25519 public key (see ledger.ed25519)."""
    if len(public_key) != ed25519.PUBLIC_KEY_SIZE:
        raise UsageError("an Ed25519 public key is 32 bytes")
    if not ed25519.is_valid_public_key(public_key):
        raise UsageError(
            "not a usable Ed25519 public key: not a point of the curve's prime-order "
            "subgroup, as every generated key is (make one with `trustledger keys generate`)"
        )


def format_verifier_key(key: VerifierKey) -> str:
    """C2SP verifier key text: ``name+hex(key id)+base64(0x01 ‖ public key)``."""
    encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + key.public_key).decode()
    return f"{key.name}+{key.key_id}+{encoded}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a C2SP verifier key; raises UsageError naming what is wrong."""
    text = text.strip()
    parts = text.split("+", 2)  # the base64 key material may itself contain '+'
    if len(parts) != 3:
        raise UsageError(
            f"not a verifier key: {text[:80]!r} (expected NAME+KEYID+BASE64, "
            "the last line of a .pub file)"
        )
    name, key_id_text, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise UsageError(f"verifier key {name!r}: key material is not base64") from exc
    if len(raw) != 33 or raw[0] != ED25519_ALGORITHM:
        raise UsageError(f"verifier key {name!r}: not an Ed25519 key (type byte 0x01, 32 bytes)")
    try:
        key = VerifierKey(name, raw[1:])
    except UsageError as exc:
        raise UsageError(f"verifier key {name!r}: {exc}") from exc
    if str(key.key_id) != key_id_text:
        raise UsageError(
            f"verifier key {name!r}: key id {key_id_text} does not match the key "
            f"(calculated {key.key_id})"
        )
    return key


@dataclass(frozen=True)
class SigningKey:
    """A named Ed25519 private key. Signing happens in the appending process."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    verifier: VerifierKey = field(init=False)
    # The same key as libsodium takes it, which signs (ledger.ed25519).
    _secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        object.__setattr__(self, "verifier", VerifierKey(self.name, public))
        seed = self.private_key.private_bytes_raw()
        object.__setattr__(self, "_secret", ed25519.secret_key(seed))

    @property
    def key_id(self) -> KeyId:
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (RFC 8032) of ``message``."""
        return ed25519.sign(self._secret, message)


def generate_signing_key(name: str) -> SigningKey:
    """A fresh Ed25519 key with the given C2SP key name."""
    _check_name(name)
    return SigningKey(name, Ed25519PrivateKey.generate())


_HEADER = "# trustledger signing key\n"
# OpenSSH's own default for new keys (ssh-keygen -a): each round is a full bcrypt_pbkdf
# pass, about 0.15 s here for the 16, so a guessed passphrase costs an attacker as much.
KDF_ROUNDS = 16
_OPENSSH_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_PKCS8_BEGIN = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def passphrase_bytes(passphrase: bytes | str) -> bytes:
    """A passphrase as the KDF takes it: text is encoded as UTF-8, bytes taken as given."""
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase


def format_private_key(key: SigningKey, passphrase: bytes | str) -> bytes:
    """An OpenSSH private key (bcrypt KDF, aes256-ctr) behind a header naming the key.

    ``passphrase`` may be text (encoded as UTF-8) or bytes.

    Not encrypted PKCS#8: ``cryptography`` writes that with PBKDF2 at a fixed 2,048
    iterations, cheap to guess against; for OpenSSH's format it lets us set bcrypt rounds.
    """
    passphrase = passphrase_bytes(passphrase)
    if not passphrase:
        raise UsageError("refusing to write a private key with an empty passphrase")
    encryption = (
        serialization.PrivateFormat.OpenSSH.encryption_builder()
        .kdf_rounds(KDF_ROUNDS)
        .build(passphrase)
    )
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    )
    header = f"{_HEADER}# name: {key.name}\n# verifier key: {format_verifier_key(key.verifier)}\n"
    return header.encode() + pem


def parse_private_key(
    data: bytes, passphrase: bytes | str, *, source: str = "key file"
) -> SigningKey:
    """Decrypt a key written by format_private_key (or, from earlier 0.1 development
    builds, encrypted PKCS#8); ``passphrase`` as text (UTF-8) or bytes.

    Raises UsageError when the file is not such a key or the passphrase is wrong.
    """
    name = None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("# name: "):
            name = line.removeprefix("# name: ").strip()
            break
    if name is None:
        raise UsageError(f"{source}: not a trustledger key file (no '# name:' header)")
    passphrase = passphrase_bytes(passphrase)
    private: object
    try:
        if _OPENSSH_BEGIN in data:
            block = data[data.index(_OPENSSH_BEGIN) :]
            private = serialization.load_ssh_private_key(block, passphrase or None)
        elif _PKCS8_BEGIN in data:
            private = serialization.load_pem_private_key(data, passphrase or None)
        else:
            raise UsageError(f"{source}: no encrypted private key in the file")
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{source}: cannot decrypt the private key (wrong passphrase? "
            "set TRUSTLEDGER_KEY_PASSPHRASE)"
        ) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(f"{source}: not an Ed25519 private key")
    return SigningKey(name, private)


def format_public_key_file(key: VerifierKey) -> str:
    """A .pub file: comments for people, and the verifier key as its last line."""
    return (
        f"# trustledger public key {key.name!r}, key id {key.key_id}\n"
        "# C2SP signed-note verifier key (pass it to --trusted-key / keys register):\n"
        f"{format_verifier_key(key)}\n"
    )


def parse_public_key_file(text: str, *, source: str = "public key file") -> VerifierKey:
    """The verifier key on the last non-empty line of a .pub file (or a bare key)."""
    # A comment is a '#' line with white space in it: a verifier key has none, but its name
    # may itself start with '#' (C2SP signed-note forbids only spaces and '+').
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not (line.startswith("#") and len(line.split()) > 1)
    ]
    if not lines:
        raise UsageError(f"{source}: no verifier key found")
    try:
        return parse_verifier_key(lines[-1])
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from exc
