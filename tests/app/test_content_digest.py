"""The idempotency digest is RFC 2104 HMAC-SHA256 (computed with cached pads)."""

from __future__ import annotations

import hmac

import pytest

from trustledger.app.append import content_digest


@pytest.mark.parametrize("key", [None, b"", b"k" * 32, bytes(range(64)), b"long" * 40])
@pytest.mark.parametrize("message", [b"", b"{}", '{"名":1}'.encode() * 300])
def test_content_digest_is_hmac_sha256(key: bytes | None, message: bytes) -> None:
    expected = hmac.digest(key or b"", message, "sha256")
    assert content_digest(message, key) == expected
    assert content_digest(message, key) == expected  # again, from the cached pads
