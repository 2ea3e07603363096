"""Decode a delivered text file in record-aligned pieces, never guessing silently.

polars reads UTF-8 only, and bank files arrive as UTF-8 (with or without BOM), GBK or GB18030.
The encoding is either configured per feed or detected by strict rules (BOM, then valid UTF-8,
then GB18030, a superset of GBK); a file that does not decode strictly is refused whole with
the byte offset of the first bad byte.

A file is never held in memory whole: it is cut into pieces of about ``chunk_bytes`` that end
on a record boundary (a line feed outside double quotes), so a quoted field holding a line
break is never split. Cutting the raw bytes is safe in every allowed encoding: in UTF-8, GBK
and GB18030 the bytes ``\\n`` (0x0A) and ``"`` (0x22) only ever stand for themselves, never
for part of a multi-byte character.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
BOM = codecs.BOM_UTF8


class UndecodableFile(Exception):
    """The file does not decode strictly with the encoding that applies to it."""

    def __init__(self, encoding: str, offset: int) -> None:
        super().__init__(f"undecodable as {encoding} at byte {offset}")
        self.encoding = encoding
        self.offset = offset


@dataclass(frozen=True)
class Encoding:
    """How a file is encoded: the name reported in the audit, the codec, the BOM to skip."""

    name: str  # utf-8 | utf-8-sig | gbk | gb18030
    codec: str
    skip: int = 0

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
    """Decode ``src`` strictly chunk by chunk, keeping nothing; raise at the first bad byte."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    with src.open("rb") as fh:
        fh.seek(skip)
        consumed = skip
        while True:
            chunk = fh.read(CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as err:
                raise UndecodableFile(codec, consumed - pending + err.start) from None
            consumed += len(chunk)
            if final:
                return


def detect_encoding(src: Path, configured: str) -> Encoding:
    """The encoding of ``src``: ``configured`` is the feed's (``auto``, ``utf-8``, ``gbk``,
    ``gb18030``). Raises ``UndecodableFile`` when a UTF-8 file does not decode strictly (its
    pieces reach polars as they are). A GBK or GB18030 file is decoded strictly piece by
    piece anyway (``decode_piece``, which raises at the first bad byte with its offset in the
    file), so it is not read a second time here."""
    with src.open("rb") as fh:
        has_bom = fh.read(len(BOM)) == BOM
    if configured in ("auto", "utf-8"):
        if has_bom:
            _check(src, "utf-8", skip=len(BOM))
            return Encoding("utf-8-sig", "utf-8", len(BOM))
        try:
            _check(src, "utf-8")
            return Encoding("utf-8", "utf-8")
        except UndecodableFile:
            if configured == "utf-8":
                raise
        return Encoding("gb18030", "gb18030")
    return Encoding(configured, configured)


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
