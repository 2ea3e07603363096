"""Decode a delivered text file to UTF-8 in a stream, never guessing silently.

polars reads UTF-8 only, and bank files arrive as UTF-8 (with or without BOM), GBK or GB18030.
The encoding is either configured per feed or detected by strict rules (BOM, then valid UTF-8,
then GB18030, a superset of GBK); a file that does not decode strictly is refused whole with
the byte offset of the first bad byte. Files are processed in chunks so a large file is never
held in memory as one Python string.
"""

from __future__ import annotations

import codecs
import hashlib
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
class Decoded:
    """Where the UTF-8 text is and which encoding it was delivered in."""

    path: Path
    encoding: str
    newlines: int = 0  # b"\n" bytes in the file (never part of a GBK/GB18030 multi-byte char)


def file_checksum(path: Path) -> str:
    """sha256 of the delivered bytes: the identity of a delivery."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stream(src: Path, encoding: str, dst: Path | None, skip: int = 0) -> int:
    """Decode ``src`` strictly chunk by chunk, writing UTF-8 to ``dst`` when given.

    Returns the number of line feeds, counted on the way (the reader compares it with the
    record count to know whether quoted fields hold line breaks).
    """
    newlines = 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    out = dst.open("w", encoding="utf-8", newline="") if dst is not None else None
    try:
        with src.open("rb") as fh:
            fh.seek(skip)
            consumed = skip
            while True:
                chunk = fh.read(CHUNK)
                final = not chunk
                pending = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(chunk, final=final)
                except UnicodeDecodeError as err:
                    raise UndecodableFile(encoding, consumed - pending + err.start) from None
                consumed += len(chunk)
                newlines += chunk.count(b"\n")
                if out is not None and text:
                    out.write(text)
                if final:
                    return newlines
    finally:
        if out is not None:
            out.close()


def decode_to_utf8(src: Path, configured: str, workdir: Path) -> Decoded:
    """Return a UTF-8 view of ``src``: the file itself when it already is clean UTF-8.

    ``configured`` is the feed's ``encoding`` (``auto``, ``utf-8``, ``gbk``, ``gb18030``).
    Raises ``UndecodableFile`` when the bytes do not decode strictly.
    """
    with src.open("rb") as fh:
        head = fh.read(len(BOM))
    has_bom = head == BOM
    target = workdir / (src.name + ".utf8")
    if configured in ("auto", "utf-8"):
        if has_bom:
            newlines = _stream(src, "utf-8", target, skip=len(BOM))
            return Decoded(target, "utf-8-sig", newlines)
        try:
            newlines = _stream(src, "utf-8", None)
            return Decoded(src, "utf-8", newlines)
        except UndecodableFile:
            if configured == "utf-8":
                raise
        newlines = _stream(src, "gb18030", target)
        return Decoded(target, "gb18030", newlines)
    newlines = _stream(src, configured, target)
    return Decoded(target, configured, newlines)
