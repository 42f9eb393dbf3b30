"""Reading decision documents: one JSON object, a JSON array, or JSON Lines, as a stream.

The input is read a line at a time (split on ``\\n`` only, a ``\\r`` before it dropped), so
memory holds one record, never the whole input: JSON Lines record by record, a JSON array
element by element. Raw U+2028, U+2029 and U+0085 are valid inside JSON strings and are
not line ends here (``str.splitlines`` would split there). A record longer than
``MAX_RECORD_BYTES`` is refused without being held whole (docs/CLI.md, "Limits").
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from trustledger.errors import UsageError

MAX_RECORD_BYTES: Final = 256 * 1024
"""The most bytes one input record may take as written: a line of JSON Lines, an element of
a JSON array, a whole single object. Longer records are refused unparsed; a decision's own
limits (app.limits) are far smaller."""

_READ: Final = 64 * 1024  # what a whole document's parser asks for at a time


@dataclass(frozen=True)
class Record:
    """One input record with its line number; ``error`` set when it is not JSON."""

    line: int
    document: object = None
    error: str | None = None


class DuplicateMember(ValueError):
    """An object that names a member twice (RFC 7493 §2.3 forbids it)."""


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise DuplicateMember(
            f"member {twice!r} is given twice in one object (I-JSON, RFC 7493 §2.3: "
            "parsers disagree on which one counts)"
        )
    return document


# Refuse a member given twice instead of keeping its last value, as json.loads would: the
# tool that wrote the line may have meant the first.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_unique_members)
_TOO_LONG: Final = (
    f"record longer than {MAX_RECORD_BYTES:,} bytes, not parsed: a decision is far "
    "smaller (docs/CLI.md, Limits); is a newline missing?"
)
_TOO_DEEP: Final = "malformed JSON: nested too deeply to be a decision"


def _loads(text: str) -> object:
    value, end = _DECODER.raw_decode(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _parsed(line: int, text: str) -> Record:
    try:
        return Record(line, _loads(text))
    except RecursionError:  # the C parser's guard against deep nesting, not a crash
        return Record(line, error=_TOO_DEEP)
    except ValueError as exc:
        return Record(line, error=f"malformed JSON: {exc}")


def read_records(text: str) -> Iterator[Record]:
    """Split ``text`` into records, as ``read_stream`` does for its UTF-8 bytes.

    A text that is one JSON array (a request body of the append API) gives its elements
    whatever its length: it is held in memory already (its caller bounds it), so the
    per-record limit, which keeps a stream's reader from holding an endless line, does
    not apply to the array, and each decision's own limits (``app.limits``) still do.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        whole = _parsed(1, stripped)
        if whole.error is None and isinstance(whole.document, list):
            return iter([Record(index, item) for index, item in enumerate(whole.document, 1)])
    return read_stream(io.BytesIO(text.encode("utf-8", "surrogatepass")))


def read_stream(stream: BinaryIO, *, source: str = "input") -> Iterator[Record]:
    """Split a UTF-8 stream into records, one at a time.

    A first non-blank line that is a JSON value by itself starts JSON Lines (blank lines
    skipped, each line numbered in the file), unless it is an array and all there is (its
    elements are the records, numbered from 1). A first line that starts a JSON object or
    array without ending it starts one document: an object is one record (line 1), an
    array gives one record per element (numbered from 1); where such a document is not
    JSON, one record with the parser's error at its line ends the input. A leading byte
    order mark is ignored. Raises UsageError naming ``source`` and the line where the
    input is not UTF-8.
    """
    lines = _Lines(stream, source)
    for number, text in lines:
        if text is None:
            yield Record(number, error=_TOO_LONG)
            continue
        if not text.strip():
            continue
        first = _parsed(number, text)
        if first.error is not None and text.lstrip()[:1] in ("{", "[") and not _is_value(text):
            yield from _document(lines, number, text)
            return
        if isinstance(first.document, list) and lines.at_end():
            yield from (Record(index, item) for index, item in enumerate(first.document, 1))
            return
        yield first
        break
    for number, text in lines:
        if text is None:
            yield Record(number, error=_TOO_LONG)
        elif text.strip():
            yield _parsed(number, text)


def _is_value(text: str) -> bool:
    # A JSON value by itself (a duplicate member or deep nesting notwithstanding).
    try:
        json.loads(text)
    except RecursionError:
        return True
    except ValueError as exc:
        return "Extra data" in str(exc)  # a value, then more: JSON Lines written oddly
    return True


class _Lines:
    """The stream's lines as ``(number, text)``, split on ``\\n`` only; ``text`` is None
    for a line over MAX_RECORD_BYTES, which is skipped without being held."""

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.stream = stream
        self.source = source
        self.number = 0
        self._peeked: bytes | None = None

    def __iter__(self) -> Iterator[tuple[int, str | None]]:
        return self

    def __next__(self) -> tuple[int, str | None]:
        raw = (
            self._peeked if self._peeked is not None else self.stream.readline(MAX_RECORD_BYTES + 2)
        )
        self._peeked = None
        if not raw:
            raise StopIteration
        self.number += 1
        if not raw.endswith(b"\n") and len(raw) > MAX_RECORD_BYTES + 1:
            while raw and not raw.endswith(b"\n"):  # the rest of the line, dropped
                raw = self.stream.readline(_READ)
            return self.number, None
        return self.number, self._decode(raw)

    def at_end(self) -> bool:
        """True when nothing but blank lines is left (they are consumed)."""
        while True:
            raw = self.stream.readline(MAX_RECORD_BYTES + 2)
            if not raw:
                return True
            if raw.strip():
                self._peeked = raw
                return False
            self.number += 1

    def _decode(self, raw: bytes) -> str:
        if self.number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            return raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"{self.source}, line {self.number}: not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                "save the decisions as UTF-8 (JSON text is UTF-8, RFC 8259 §8.1)"
            ) from exc


def _document(lines: _Lines, number: int, text: str) -> Iterator[Record]:
    """The records of one JSON document whose first line (``number``) is ``text``."""
    buffer = _Buffer(lines, number, text)
    start = buffer.skip()
    if buffer.text[start] == "{":
        record = buffer.value(start, 1)
        yield record
        if record.error is None and (trailing := buffer.trailing()) is not None:
            yield trailing
        return
    position = start + 1  # past "["
    index = 0
    while True:
        position = buffer.skip(position)
        if position >= len(buffer.text):
            yield buffer.error(position, "Expecting value")
            return
        if buffer.text[position] == "]" and index == 0:
            position += 1
            break
        index += 1
        record = buffer.value(position, index)
        if record.error is not None:
            yield record
            return
        yield record
        position = buffer.skip(buffer.end)
        if position < len(buffer.text) and buffer.text[position] == ",":
            position += 1
            continue
        if position < len(buffer.text) and buffer.text[position] == "]":
            position += 1
            break
        yield buffer.error(position, "Expecting ',' delimiter")
        return
    buffer.end = position
    if (trailing := buffer.trailing()) is not None:
        yield trailing


class _Buffer:
    """A window on a document spread over lines: what is parsed next and its line."""

    def __init__(self, lines: _Lines, number: int, text: str) -> None:
        self.lines = lines
        self.text = text + "\n"
        self.line0 = number  # the line of text[0]
        self.end = 0
        self.exhausted = False
        self.too_long: int | None = None  # the line over MAX_RECORD_BYTES that ended it

    def _more(self, at_least: int) -> bool:
        """Append lines until ``at_least`` more characters are held; False at the end."""
        added = 0
        while added < at_least:
            try:
                number, text = next(self.lines)
            except StopIteration:
                self.exhausted = True
                return added > 0
            if text is None:
                self.too_long, self.exhausted = number, True
                return added > 0
            self.text += text + "\n"
            added += len(text) + 1
        return True

    def _drop(self, position: int) -> int:
        # Keep memory to the record being parsed: forget what lies before it.
        self.line0 += self.text.count("\n", 0, position)
        self.text = self.text[position:]
        return 0

    def skip(self, position: int = 0) -> int:
        while True:
            position = _skip(self.text, position)
            if position < len(self.text) or self.exhausted:
                return position
            if not self._more(_READ):
                return position

    def value(self, position: int, number: int) -> Record:
        """The JSON value at ``position`` as record ``number``; sets ``end`` past it."""
        if position > _READ:  # forget what lies before the record, now and then
            position = self._drop(position)
        while True:
            try:
                value, self.end = _DECODER.raw_decode(self.text, position)
            except RecursionError:
                return Record(self._line_of(position), error=_TOO_DEEP)
            except DuplicateMember as exc:
                return Record(number, error=f"malformed JSON: {exc}")
            except json.JSONDecodeError as exc:
                incomplete = exc.msg.startswith("Unterminated string") or exc.pos >= len(
                    self.text.rstrip()
                )
                if not incomplete or self.exhausted:
                    return self.error(exc.pos, exc.msg)
                if len(self.text) - position > MAX_RECORD_BYTES:
                    return Record(self._line_of(position), error=_TOO_LONG)
                self._more(max(len(self.text) - position, _READ))
                continue
            return Record(number, value)

    def _line_of(self, position: int) -> int:
        return self.line0 + self.text.count("\n", 0, position)

    def error(self, position: int, message: str) -> Record:
        if self.too_long is not None:
            return Record(self.too_long, error=_TOO_LONG)
        position = min(position, len(self.text.rstrip()))  # at the end: where the text ends
        line = self._line_of(position)
        column = position - (self.text.rfind("\n", 0, position) + 1) + 1
        return Record(line, error=f"malformed JSON: {message} (column {column})")

    def trailing(self) -> Record | None:
        """An error record if anything but whitespace follows the document."""
        position = self.skip(self.end)
        if position < len(self.text):
            return self.error(position, "Extra data")
        return None
