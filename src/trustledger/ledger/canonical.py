"""RFC 8785 (JSON Canonicalization Scheme) bytes for the JSON values trustledger signs.

The `rfc8785` package is the reference implementation we rely on. It is pure Python and
costs ~70 µs per decision, more than signing it, so documents in the common shape take a
fast path through the standard library's encoder. The fast path is used only where the two
are provably identical (tests/ledger/test_canonical.py checks this with Hypothesis):

* every object key is a string of code points below U+10000, where RFC 8785 §3.2.3's
  UTF-16 code-unit ordering equals Python's code-point ordering;
* every number is an integer within ±(2**53 − 1), which both serialise as plain digits
  (RFC 8785 §3.2.2.3); floats always take the reference path;
* strings are escaped by both exactly as RFC 8785 §3.2.2.2 requires when `ensure_ascii`
  is off (Python emits lowercase ``\\u00XX`` for other control characters, as JCS does).
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from trustledger.errors import InvalidDecision

_MAX_SAFE_INTEGER = 2**53 - 1
# Code points above U+FFFF (two UTF-16 code units): where RFC 8785 §3.2.3's key order may
# differ from Python's. A regex scans the text in C (``max(text)`` iterates in Python).
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder behind _ENCODER, made once: JSONEncoder.encode builds it anew on every call,
# which costs a third of encoding a decision. Same settings; no circular-reference markers,
# which only trees of JSON values are encoded with (json_safe, or walked by
# _fast_path_applies).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_ENCODE_TREE = (
    _c_make_encoder(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
    if _c_make_encoder is not None
    else None
)


def _encode_tree(value: Any) -> str:
    if _ENCODE_TREE is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_ENCODE_TREE(value, 0))


def _fast_path_applies(value: Any) -> bool:
    # Exact type checks on purpose: subclasses (and floats) take the reference path.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                    return False
            stack.extend(item.values())
            continue
        if kind is list or kind is tuple:
            stack.extend(item)
            continue
        return False  # floats and anything else: the reference implementation decides
    return True


def canonicalize(value: Any, *, json_safe: bool = False) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    ``json_safe=True`` is the caller's promise that the value holds only dicts with str
    keys, lists, str, bool, None and ints within ±(2**53 − 1) (what ``parse_decision``
    guarantees): the per-node type walk is then skipped, and only the key-ordering
    condition is checked, on the encoded text (no code point above U+FFFF anywhere).

    Raises InvalidDecision when the value is not representable in I-JSON (RFC 7493), for
    example a lone surrogate, a NaN or an integer beyond ±(2**53 − 1).
    """
    try:
        if json_safe:
            text = _encode_tree(value)
            if text.isascii() or _ASTRAL.search(text) is None:
                return text.encode("utf-8")
        elif _fast_path_applies(value):
            return _encode_tree(value).encode("utf-8")
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InvalidDecision(f"not canonicalisable as RFC 8785 JSON: {exc}") from exc
