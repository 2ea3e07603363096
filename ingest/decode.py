"""Decode a delivered text file in record-aligned pieces, never guessing silently.

polars reads UTF-8 only, and bank files arrive as UTF-8 (with or without BOM), GBK or GB18030.
The encoding is either configured per feed or detected by strict rules (BOM, then valid UTF-8,
then GB18030, a superset of GBK); a file that does not decode strictly is refused whole with
the byte offset of the first bad byte, and one that reads as UTF-8 and GBK alike is refused
too (``NarrowUtf8``). A file read in one piece is checked as UTF-8 by polars
while it parses (``detect_encoding(parser_checks=True)``, ``settle_utf8`` when polars refuses
it), so a valid file is not decoded twice.

A file is never held in memory whole: it is cut into pieces of about ``chunk_bytes`` that end
on a record boundary (a line feed outside double quotes), so a quoted field holding a line
break is never split. Cutting the raw bytes is safe in every allowed encoding: in UTF-8, GBK
and GB18030 the bytes ``\\n`` (0x0A) and ``"`` (0x22) only ever stand for themselves, never
for part of a multi-byte character.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
BOM = codecs.BOM_UTF8


# Non-ASCII UTF-8 characters before a file's first byte that is not UTF-8 that make it a
# mixed file rather than a GBK one. A GBK character reads as valid UTF-8 by chance about one
# time in seven, so a GBK file starts with 8 such characters about once in 3-4 million.
MIXED_AFTER = 8
_UTF8_LEADS = bytes(range(0xC2, 0xF5))  # the first byte of every multi-byte UTF-8 character
# The first byte of a 3- or 4-byte UTF-8 character (a Chinese character is one), and a run
# of bytes that are not ASCII.
_WIDE_LEAD = re.compile(rb"[\xe0-\xf4]")
_NON_ASCII = re.compile(rb"[\x80-\xff]+")


class UndecodableFile(Exception):
    """The file does not decode strictly with the encoding that applies to it. ``mixed``:
    the number of non-ASCII UTF-8 characters before ``offset`` when the file is UTF-8 up to
    there and not after (two encodings in one file), else 0."""

    def __init__(self, encoding: str, offset: int, mixed: int = 0) -> None:
        super().__init__(f"undecodable as {encoding} at byte {offset}")
        self.encoding = encoding
        self.offset = offset
        self.mixed = mixed


def _prefix_pieces(path: Path, end: int) -> Iterator[bytes]:
    """The first ``end`` bytes of ``path`` in pieces of at most ``CHUNK``, so a refusal far
    into a large file costs no more memory than a piece."""
    seen = 0
    with path.open("rb") as handle:
        while seen < end:
            piece = handle.read(min(CHUNK, end - seen))
            if not piece:
                return
            seen += len(piece)
            yield piece


def line_at(path: Path, offset: int) -> int:
    """The line (1-based, as an editor counts them) that holds byte ``offset`` of ``path``."""
    return sum(piece.count(b"\n") for piece in _prefix_pieces(path, offset)) + 1


@dataclass(frozen=True)
class Encoding:
    """How a file is encoded: the name reported in the audit, the codec, the BOM to skip."""

    name: str  # utf-8 | utf-8-sig | gbk | gb18030
    codec: str
    skip: int = 0
    # False: a UTF-8 file not yet checked; its parser (polars, which refuses invalid UTF-8)
    # checks it, and `settle_utf8` decides when it refuses
    checked: bool = True

    @property
    def is_utf8(self) -> bool:
        return self.codec == "utf-8"


def file_checksum(path: Path) -> str:
    """sha256 of the delivered bytes: the identity of a delivery."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(src: Path, codec: str, skip: int = 0) -> None:
    """Decode ``src`` strictly chunk by chunk, keeping nothing; raise at the first bad byte.
    An ASCII chunk with no character pending before it is valid in every allowed encoding:
    it is only scanned (``bytes.isascii``), not decoded (bank files are mostly ASCII)."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    with src.open("rb") as fh:
        fh.seek(skip)
        consumed = skip
        while True:
            chunk = fh.read(CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0])
            if not final and not pending and chunk.isascii():
                consumed += len(chunk)
                continue
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as err:
                raise UndecodableFile(codec, consumed - pending + err.start) from None
            consumed += len(chunk)
            if final:
                return


def detect_encoding(src: Path, configured: str, parser_checks: bool = False) -> Encoding:
    """The encoding of ``src``: ``configured`` is the feed's (``auto``, ``utf-8``, ``gbk``,
    ``gb18030``). Raises ``UndecodableFile`` when a UTF-8 file does not decode strictly (its
    pieces reach polars as they are). A GBK or GB18030 file is decoded strictly piece by
    piece anyway (``decode_piece``, which raises at the first bad byte with its offset in the
    file), so it is not read a second time here.

    ``parser_checks``: a file read in one piece is not checked here. Its UTF-8 candidate comes
    back unchecked (``checked=False``): polars refuses invalid UTF-8 while it parses the
    piece, and only then ``settle_utf8`` reads the file again, so a valid file (nearly all)
    is decoded once, by the parser, instead of twice."""
    with src.open("rb") as fh:
        has_bom = fh.read(len(BOM)) == BOM
    if configured in ("auto", "utf-8"):
        candidate = (
            Encoding("utf-8-sig", "utf-8", len(BOM)) if has_bom else Encoding("utf-8", "utf-8")
        )
        if parser_checks:
            return dataclasses.replace(candidate, checked=False)
        return settle_utf8(src, configured, candidate)
    return Encoding(configured, configured)


def settle_utf8(src: Path, configured: str, candidate: Encoding) -> Encoding:
    """The candidate UTF-8 encoding if ``src`` decodes strictly as UTF-8 after its BOM; else
    GB18030 when the feed's encoding is detected (``auto``) and the file has no BOM; else
    ``UndecodableFile`` at the first bad byte."""
    try:
        _check(src, "utf-8", skip=candidate.skip)
    except UndecodableFile as err:
        if configured == "utf-8" or candidate.skip:
            raise
        characters = _multibyte_characters(src, err.offset)
        if characters >= MIXED_AFTER:
            # GB18030 would decode it too, and turn its UTF-8 part into other characters
            raise UndecodableFile("utf-8", err.offset, characters) from None
        return Encoding("gb18030", "gb18030")
    return dataclasses.replace(candidate, checked=True)


class NarrowUtf8:
    """Watches the pieces of a file read as UTF-8 (valid, without BOM, found by detection)
    for the one case detection cannot decide: non-ASCII text made only of 2-byte UTF-8
    characters (U+0080..U+07FF: Latin, Greek, Cyrillic ...). Every such byte pair is a GBK
    character too, and 1,920 GBK Chinese characters are such pairs (陆露 is ``C2BD C2B6``,
    which UTF-8 reads as ``½¶``), so a GBK file whose only Chinese text is a few of them reads
    as valid UTF-8. A Chinese character in UTF-8 takes 3 bytes: one anywhere settles it."""

    def __init__(self) -> None:
        self.first: int | None = None  # file offset of the first non-ASCII byte
        self.sample = b""  # the first bytes of its run, for the refusal's message
        self.wide = False  # a 3- or 4-byte character seen: UTF-8 for certain

    def see(self, piece: bytes, offset: int) -> None:
        if self.wide or piece.isascii():
            return
        if _WIDE_LEAD.search(piece):
            self.wide = True
        elif self.first is None and (found := _NON_ASCII.search(piece)):
            self.first, self.sample = offset + found.start(), found.group()[:8]

    def ambiguous(self, src: Path, skip: int) -> bool:
        """After the last piece: whether the file reads as GBK (GB18030) as well."""
        if self.wide or self.first is None:
            return False
        try:
            _check(src, "gb18030", skip)
        except UndecodableFile:
            return False
        return True


def _multibyte_characters(src: Path, end: int) -> int:
    """How many multi-byte characters the first ``end`` bytes of ``src`` hold, valid UTF-8."""
    return sum(len(p) - len(p.translate(None, _UTF8_LEADS)) for p in _prefix_pieces(src, end))


def last_record_end(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that ends just after a record's line feed.

    ``data`` starts at a record boundary; a line feed ends a record when the double quotes
    before it are even in number (an escaped quote ``""`` counts two). 0 when there is none.
    """
    end = data.rfind(b"\n")
    if end < 0:
        return 0
    if b'"' not in data:
        return end + 1
    quotes = data.count(b'"', 0, end)
    while end >= 0:
        if quotes % 2 == 0:
            return end + 1
        previous = data.rfind(b"\n", 0, end)
        quotes -= data.count(b'"', previous + 1, end)
        end = previous
    return 0


def record_pieces(src: Path, skip: int, chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, bytes)`` pieces of ``src`` from ``skip``: each about ``chunk_bytes``
    long and ending on a record boundary, the last one holding the rest of the file. A
    record longer than ``chunk_bytes`` makes its piece longer; at most two pieces' worth of
    bytes are held at a time."""
    with src.open("rb") as fh:
        fh.seek(skip)
        offset, carry = skip, b""
        while block := fh.read(chunk_bytes):
            data = carry + block if carry else block
            if len(block) < chunk_bytes:  # the end of the file: the rest is the last piece
                carry = data
                break
            cut = last_record_end(data)
            if cut == 0:
                carry = data
                continue
            yield offset, data[:cut]
            offset += cut
            carry = data[cut:]
        if carry:
            yield offset, carry


def decode_piece(data: bytes, encoding: Encoding, offset: int) -> bytes:
    """The UTF-8 bytes of a piece (itself when the file is UTF-8, already checked whole)."""
    if encoding.is_utf8:
        return data
    try:
        return data.decode(encoding.codec, errors="strict").encode("utf-8")
    except UnicodeDecodeError as err:
        raise UndecodableFile(encoding.codec, offset + err.start) from None
