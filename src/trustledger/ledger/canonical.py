"""RFC 8785 (JSON Canonicalization Scheme) bytes for the JSON values trustledger signs.

The `rfc8785` package is the reference implementation we rely on. It is pure Python and
costs ~70 µs per decision, more than signing it, so documents in the common shape take a
fast path through `orjson` (sorted keys, compact, UTF-8). The fast path is used only where
the two are provably identical (tests/ledger/test_canonical.py checks this with Hypothesis):

* every object key is a string of code points below U+10000, where RFC 8785 §3.2.3's
  UTF-16 code-unit ordering equals the code-point (and UTF-8 byte) order orjson sorts by;
* every number is an integer within ±(2**53 − 1), which both serialise as plain digits
  (RFC 8785 §3.2.2.3); floats always take the reference path;
* strings are escaped by both exactly as RFC 8785 §3.2.2.2 requires (orjson, like JCS,
  writes ``\\b \\t \\n \\f \\r``, lowercase ``\\u00XX`` for other control characters, and
  every other character as itself).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import rfc8785

from trustledger.errors import InvalidDecision

_MAX_SAFE_INTEGER = 2**53 - 1
# UTF-8 lead bytes of code points above U+FFFF (two UTF-16 code units): where RFC 8785
# §3.2.3's key order may differ from the code-point order orjson sorts by.
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xf4]")
# Types orjson would otherwise write in a form of its own (RFC 3339 text for datetimes,
# objects for dataclasses) go to _not_json instead: only JSON values are canonicalised.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _fast(value: Any) -> bytes | None:
    """RFC 8785's form of a tree of JSON values whose keys are all in the BMP (sorted keys,
    "," and ":" without spaces, UTF-8, no escapes but for control characters), or None
    where orjson refuses the value (nesting deeper than its limit of 255, a lone surrogate,
    a type that is not JSON): the reference decides then."""
    try:
        encoded: bytes = orjson.dumps(value, default=_not_json, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    return encoded


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
        if json_safe or _fast_path_applies(value):
            data = _fast(value)
            if data is not None and (data.isascii() or _ASTRAL_UTF8.search(data) is None):
                return data
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InvalidDecision(f"not canonicalisable as RFC 8785 JSON: {exc}") from exc
