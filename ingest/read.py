"""Read one delivered data file into a frame of strings, headers mapped to the contract.

Every value stays a string here (nothing inferred: phone and account numbers keep their
leading zeros); typing and record rules happen in ``ingest.rules``. What makes the whole
delivery unreadable raises ``DeliveryRefused`` with the rule and a message that says what to do.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ingest.decode import (
    Encoding,
    NarrowUtf8,
    UndecodableFile,
    decode_piece,
    detect_encoding,
    line_at,
    record_pieces,
    settle_utf8,
)
from ingest.spec import Feed, normalise_header

LINE = "_source_line"
DELIMITERS = (",", "|")
TEXT_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx",)
# Pieces a delimited file is read in: a file is never held in memory whole (settings:
# CLIENTMART_INGEST_CHUNK_MB).
DEFAULT_CHUNK_BYTES = 128 << 20


class DeliveryRefused(Exception):
    """The whole delivery is refused; nothing of it is published."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass
class ReadResult:
    """The delivered records (original header texts as column names) and how they were read."""

    frame: pl.DataFrame
    columns: dict[str, str]  # canonical name -> header text in the file
    extras: list[str]  # header texts that are not contract columns
    encoding: str
    file_format: str
    delimiter: str | None
    blank_lines: int = 0  # lines left out: blank, so not records
    first_blank_line: int | None = None
    # the file's last part: known from its bytes before any later piece is parsed, so a
    # reader need not parse the next part to learn it (and hold two parsed pieces at once)
    last: bool = True
    # rule id -> True for the records that break it, for what only the reader can tell
    # (a workbook's cell types: _long_number_cells)
    broken: dict[str, pl.Series] = field(default_factory=dict)


def _split_header(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter, quotechar='"'))


def _distinct_extras(feed: Feed, headers: list[str]) -> list[str]:
    """Header texts with a repeated extra (non-contract) column numbered as a workbook's are
    (``备注``, ``备注_1``; two blank ones ``""``, ``"_1"``), so both are kept in ``_extra``. A
    contract column named twice stays as it is, for ``map_header`` to refuse."""
    known = feed.header_map()
    seen: set[str] = set()
    distinct = []
    for text in headers:
        name, n = text, 0
        while normalise_header(text) not in known and name in seen:
            n += 1
            name = f"{text}_{n}"
        seen.add(name)
        distinct.append(name)
    return distinct


def _detect_delimiter(header: str, feed: Feed, source: str) -> str:
    """Pick the delimiter that splits the header into the most contract columns."""
    known = feed.header_map()
    best, best_hits, best_fields = ",", -1, 0
    for delimiter in DELIMITERS:
        fields = _split_header(header, delimiter)
        hits = sum(normalise_header(f) in known for f in fields)
        if (hits, len(fields)) > (best_hits, best_fields):
            best, best_hits, best_fields = delimiter, hits, len(fields)
    if best_fields <= 1:
        raise DeliveryRefused(
            "wrong_delimiter",
            f"{source}: wrong delimiter: the header splits into one column with ',' and '|' "
            f"({header[:80]!r}); re-deliver the file delimited by ',' or '|'",
        )
    return best


def map_header(feed: Feed, headers: list[str], source: str) -> tuple[dict[str, str], list[str]]:
    """Map header texts (English or Chinese alias, any case, any order) to contract columns.

    A column named twice takes the header the landing contract names it by (its English
    name or the contract's alias), and the project's own alias beside it is an extra column
    like any other (a wealth order's ``销售客户经理`` with the client's RM as ``客户经理号``).
    Named twice by the contract, or twice by the project's aliases alone, it is refused."""
    known = feed.header_map()
    named: dict[str, list[str]] = {}
    for text in headers:
        canonical = known.get(normalise_header(text))
        if canonical is not None:
            named.setdefault(canonical, []).append(text)
    columns: dict[str, str] = {}
    for canonical, texts in named.items():
        if len(texts) > 1:
            contract = {normalise_header(h) for h in feed.column(canonical).contract_headers}
            texts = [t for t in texts if normalise_header(t) in contract] or texts
        if len(texts) > 1:
            raise DeliveryRefused(
                "duplicate_column",
                f"{source}: column {canonical} appears twice in the header "
                f"({texts[0]!r} and {texts[1]!r}); re-deliver with one of them",
            )
        columns[canonical] = texts[0]
    taken = set(columns.values())
    extras = [text for text in headers if text not in taken]
    missing = [c.name for c in feed.columns if c.required and c.name not in columns]
    if missing:
        raise DeliveryRefused(
            "missing_column",
            f"{source}: missing required column(s) {', '.join(missing)} "
            f"(header: {', '.join(headers)}); re-deliver the file with every contract column "
            "(see ingest/feeds.yml)",
        )
    return columns, extras


def _refuse_undecodable(
    feed: Feed, path: Path, source: str, err: UndecodableFile
) -> DeliveryRefused:
    if err.mixed:
        return DeliveryRefused(
            "undecodable",
            f"{source}: two encodings in one file: UTF-8 up to byte {err.offset} (line "
            f"{line_at(path, err.offset)}, after {err.mixed} non-ASCII characters), not UTF-8 "
            "from there; ask the sender to re-deliver the whole file in one encoding (UTF-8, "
            "GBK or GB18030)",
        )
    shown = feed.encoding if feed.encoding != "auto" else err.encoding
    return DeliveryRefused(
        "undecodable",
        f"{source}: undecodable as {shown} at byte {err.offset} (line "
        f"{line_at(path, err.offset)}); ask the sender to "
        "re-deliver in UTF-8, GBK or GB18030 (or set the feed's encoding in feeds.yml)",
    )


def _refuse_ambiguous(path: Path, source: str, narrow: NarrowUtf8) -> DeliveryRefused:
    shown = " ".join(f"{b:02X}" for b in narrow.sample)
    line = line_at(path, narrow.first or 0)
    return DeliveryRefused(
        "ambiguous_encoding",
        f"{source}: the encoding cannot be told: the file reads as UTF-8 and as GBK, and its "
        f"non-ASCII text (the first at line {line}, bytes {shown}) holds no "
        "Chinese character in UTF-8, so each reading would change the other's characters; "
        "ask the sender to re-deliver it with a UTF-8 BOM or a Chinese header, or set the "
        "feed's encoding in feeds.yml",
    )


class _CheckFirst(Exception):
    """A file left to its parser to check as UTF-8 (``Encoding.checked`` false) must be
    checked first after all: a piece is not valid UTF-8, or the file has more than one piece.
    Raised before any of its records is yielded."""


def _read_delimited(path: Path, feed: Feed, source: str, chunk_bytes: int) -> Iterator[ReadResult]:
    """The records of a delimited file, one ``ReadResult`` per record-aligned piece."""
    try:
        # a file that fits in one piece is checked as UTF-8 by the parser (decode.py)
        encoding = detect_encoding(
            path, feed.encoding, parser_checks=path.stat().st_size <= chunk_bytes
        )
        try:
            yield from _read_pieces(path, feed, source, chunk_bytes, encoding)
            return
        except _CheckFirst:
            encoding = settle_utf8(path, feed.encoding, encoding)
        yield from _read_pieces(path, feed, source, chunk_bytes, encoding)
    except UndecodableFile as err:
        raise _refuse_undecodable(feed, path, source, err) from None


def _read_pieces(
    path: Path, feed: Feed, source: str, chunk_bytes: int, encoding: Encoding
) -> Iterator[ReadResult]:
    pieces = record_pieces(path, encoding.skip, chunk_bytes)
    offset, first = next(pieces, (encoding.skip, b""))
    following = next(pieces, None)
    if following is not None and not encoding.checked:
        raise _CheckFirst  # cannot be re-read once a piece is yielded: check it first
    header_end = first.find(b"\n") + 1 or len(first)
    try:
        header_bytes = decode_piece(first[:header_end], encoding, offset)
        header = header_bytes.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:  # only an unchecked UTF-8 file gets here
        raise _CheckFirst from None
    if not header.strip():
        raise DeliveryRefused(
            "empty_file", f"{source}: the file has no header line; re-deliver it with its header"
        )
    if "\r" in header:
        # a lone CR is no line end here, and Python's csv reader stops on it unquoted
        raise DeliveryRefused(
            "line_endings",
            f"{source}: line 1: the header holds a carriage return not followed by a line feed "
            f"({header[:80]!r}): lines must end in LF or CRLF (a file with CR-only line ends, "
            f"or a stray CR in the header); re-deliver it with LF or CRLF line ends",
        )
    delimiter = _detect_delimiter(header, feed, source)
    headers = _distinct_extras(feed, _split_header(header, delimiter))
    columns, extras = map_header(feed, headers, source)
    header_lines = first.count(b"\n", 0, header_end)  # 1, or 0 for a header-only file
    header_separators = header_bytes.count(delimiter.encode())
    # fields a record needs to reach its last contract column (extras after it may be left off)
    needed = max(headers.index(text) for text in columns.values()) + 1
    # the first piece is parsed with its own header line (no copy of a UTF-8 piece); the
    # others behind a copy of it
    rest = itertools.chain([following] if following is not None else [], pieces)
    current: tuple[int, bytes] | None = (offset, first)
    is_first, line = True, 2  # the first record's line: the header is line 1
    # UTF-8 by detection may be GBK that reads as UTF-8 (decode.NarrowUtf8)
    narrow = NarrowUtf8() if encoding.name == "utf-8" and feed.encoding == "auto" else None
    while current is not None:
        piece_offset, piece = current
        current = next(rest, None)
        if current is None:
            piece = _without_trailing_blank_lines(piece)
        text = decode_piece(piece, encoding, piece_offset)
        data = text if is_first else header_bytes + text
        frame = _parse(data, headers, delimiter, source, encoding.checked, line)
        if narrow is not None:
            narrow.see(piece, piece_offset)
            if current is None and narrow.ambiguous(path, encoding.skip):
                raise _refuse_ambiguous(path, source, narrow)
        quoted = b'"' in piece
        if not quoted:
            # no quoted field, so no record over several lines: polars makes a row of every
            # line (a blank one too, left out below), and the lines need not be counted
            newlines = frame.height
        elif is_first:
            # a header without a line feed is a header-only file
            newlines = piece.count(b"\n", header_end) if header_lines else 0
        else:
            newlines = piece.count(b"\n")
        frame = frame.with_columns(_record_lines(frame, headers, newlines, line))
        frame, blank = _without_blank_lines(frame, headers, piece, 1 if is_first else line)
        short = _short_records(
            frame,
            text,
            headers,
            delimiter,
            needed,
            quoted=quoted,
            first_line=1 if is_first else line,
            header_separators=header_separators if is_first else 0,
        )
        line += newlines
        is_first = False
        yield ReadResult(
            frame,
            columns,
            extras,
            encoding.name,
            path.suffix[1:].lower(),
            delimiter,
            len(blank),
            blank[0] if blank else None,
            last=current is None,
            broken={"field_count": short} if short is not None else {},
        )


def _short_records(
    frame: pl.DataFrame,
    text: bytes,
    headers: list[str],
    delimiter: str,
    needed: int,
    *,
    quoted: bool,
    first_line: int,
    header_separators: int,
) -> pl.Series | None:
    """True for the records of a piece with too few fields to reach the header's last
    contract column, or None when there is none. polars fills a short record's missing
    fields with nulls (a longer one it refuses), so a truncated record was loaded as if its
    last values were empty. The piece's separators are counted (``bytes.count``, about 0.07 s
    for 177 MB) against ``fields - 1`` a record, less those inside quoted values (counted in
    the parsed values); only a piece where the two disagree is walked line by line. A short
    record leaves the last contract column's field empty, so a piece where that column holds
    no null (a required amount, nearly always) has none, and is not counted at all."""
    if frame[headers[needed - 1]].null_count() == 0:
        return None
    found = text.count(delimiter.encode()) - header_separators
    if quoted:  # one select: the columns are counted in parallel
        inside = [pl.col(h).str.count_matches(delimiter, literal=True).sum() for h in headers]
        found -= frame.select(pl.sum_horizontal(inside)).item()
    if found == (len(headers) - 1) * frame.height:
        return None
    if quoted:
        lines = _short_lines_quoted(text, delimiter, needed, first_line)
    else:
        lines = _short_lines(text, delimiter, needed, first_line)
    short = frame[LINE].is_in(lines)
    return short if short.any() else None


def _short_lines(text: bytes, delimiter: str, needed: int, first_line: int) -> list[int]:
    """The lines of a piece without quotes (a line is a record) with fewer than ``needed``
    fields; ``first_line``: the file line of the piece's first line. Blank lines are among
    them, and match no record."""
    data = np.frombuffer(text, dtype=np.uint8)
    feeds = np.flatnonzero(data == 0x0A)
    starts = np.concatenate(([0], feeds + 1))
    ends = np.concatenate((feeds, [len(data)]))
    separators = np.flatnonzero(data == ord(delimiter))
    fields = np.searchsorted(separators, ends) - np.searchsorted(separators, starts) + 1
    return (np.flatnonzero(fields < needed) + first_line).tolist()


def _short_lines_quoted(text: bytes, delimiter: str, needed: int, first_line: int) -> list[int]:
    """``_short_lines`` for a piece with quoted fields (a record may span lines): the line
    each short record starts on, by Python's csv module."""
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), delimiter=delimiter)
    lines, start = [], first_line
    for row in reader:
        if len(row) < needed:
            lines.append(start)
        start = first_line + reader.line_num
    return lines


def _without_trailing_blank_lines(piece: bytes) -> bytes:
    """The last piece without the empty lines that end the file: they are not records. A
    piece that ends with one line feed after its last record comes back as it is (no copy).
    The cheap path of ``_without_blank_lines``' rule for the common case (an export's
    trailing blank line), so that such a file needs no scan for its line feeds; lines cut
    here are not among the blank lines a disagreeing control count's message names."""
    cut = max(len(piece) - 64, 0)
    tail = piece[cut:].rstrip(b"\r\n")
    end = cut + len(tail) if tail or not cut else len(piece.rstrip(b"\r\n"))
    if not end:
        return b""
    if end == len(piece) - 1 and piece[end] == 0x0A:
        return piece
    return piece[:end] + b"\n"


def _without_blank_lines(
    frame: pl.DataFrame, headers: list[str], piece: bytes, piece_line: int
) -> tuple[pl.DataFrame, list[int]]:
    """The piece's records without the rows polars made of blank lines (empty, or white space
    only), and the file lines those were on. A blank line is not a record, as a workbook's
    blank row is not; a record whose fields are all empty (``,,,``) is one, and polars gives
    both the same row, so the line itself decides. ``piece_line``: the file line ``piece``
    starts on. Only rows with every field but the first null are looked at: a well-formed
    piece costs one pass over the null masks."""
    others_null = pl.all_horizontal(pl.col(h).is_null() for h in headers[1:])
    if not frame.select(others_null.any()).item():
        return frame, []
    first = pl.col(headers[0])
    lines = frame.filter(others_null & (first.is_null() | (first.str.strip_chars() == "")))[LINE]
    if lines.is_empty():
        return frame, []
    ends = _line_feeds(piece)
    blank = []
    for line in lines.to_list():
        k = line - piece_line  # the line's index in the piece
        start = int(ends[k - 1]) + 1 if k else 0
        end = int(ends[k]) if k < len(ends) else len(piece)
        if not piece[start:end].strip():
            blank.append(line)
    if blank:
        frame = frame.filter(~pl.col(LINE).is_in(blank))
    return frame, blank


def _line_feeds(piece: bytes, step: int = 16 << 20) -> np.ndarray:
    """The offsets of the piece's line feeds, found ``step`` bytes at a time (a comparison of
    the whole piece at once would hold a byte of mask per byte of the piece)."""
    view = np.frombuffer(piece, dtype=np.uint8)
    found = [np.flatnonzero(view[i : i + step] == 0x0A) + i for i in range(0, len(view), step)]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _parse(
    data: bytes, headers: list[str], delimiter: str, source: str, checked: bool, line: int
) -> pl.DataFrame:
    """A piece (its header line first) as an all-string frame; ``line``: the file line of the
    piece's first record, for the refusal of a malformed piece."""
    try:
        return pl.read_csv(
            data,
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            new_columns=headers,
        )
    except pl.exceptions.PolarsError as err:
        # an unchecked piece may be GBK read as UTF-8 (a GBK character's second byte can be
        # a `|`): whatever polars says, the file is checked first and read again
        if not checked:
            raise _CheckFirst from None
        found = _malformed_line(data, delimiter, len(headers))
        if found is None:  # not located: polars' own first line says what it met
            where, what = "", str(err).strip().splitlines()[0]
        else:
            where, what = f" at line {line + found[0] - 2}", found[1]
        raise DeliveryRefused(
            "unparseable",
            f"{source}: not a well-formed '{delimiter}'-delimited file{where}: {what}; "
            "re-deliver it",
        ) from None


def _malformed_line(data: bytes, delimiter: str, fields: int) -> tuple[int, str] | None:
    """The first line of ``data`` (header = 1) where a record goes wrong, and how: a quote
    never closed, text after a closing quote, more fields than the header. Python's csv
    module walks the piece again, on the refusal path only (polars says neither the line
    nor, in words for the sender, the fault)."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for row in reader:
            if len(row) > fields:
                return start, f"{len(row)} fields where the header has {fields}"
            start = reader.line_num + 1
    except csv.Error as err:
        if "unexpected end of data" in str(err) or "EOF" in str(err):
            return start, "a quoted field opened on this line is never closed"
        return start, f"malformed quoting ({err})"
    lone = _lone_quote_line(text, delimiter)
    if lone is not None:
        return lone, (
            'a field not in double quotes holds an odd number of them (12" Pizza); quote '
            'such a field and double its quotes ("12"" Pizza")'
        )
    return None


def _lone_quote_line(text: str, delimiter: str) -> int | None:
    """The first line (header = 1) where a field that does not start with a double quote
    holds an odd number of them. Python's csv module takes such a quote as text; polars
    reads it as the start of a quoted field that swallows the records after it, and says
    only that a chunk had the wrong number of rows. Only lines with a quote are walked."""
    inside = False  # in a quoted field carried over from an earlier line
    for number, line in enumerate(text.split("\n"), start=1):
        if '"' not in line:
            continue
        quoted, at_start, quotes, i = inside, not inside, 0, 0
        while i < len(line):
            ch = line[i]
            if quoted:
                if ch == '"' and line[i + 1 : i + 2] == '"':
                    i += 1  # an escaped quote
                elif ch == '"':
                    quoted = False
            elif ch == delimiter:
                if quotes % 2:
                    return number
                at_start, quotes = True, 0
                i += 1
                continue
            elif ch == '"' and at_start:
                quoted = True
            elif ch == '"':
                quotes += 1
            at_start = False
            i += 1
        if quotes % 2 and not quoted:
            return number
        inside = quoted
    return None


def _record_lines(frame: pl.DataFrame, headers: list[str], newlines: int, first: int) -> pl.Expr:
    """The physical line each record of a piece starts on, the piece's first being ``first``.

    One line per record unless the piece holds more line feeds than records: then quoted
    fields carry line breaks, and each record's start is pushed down by the breaks inside
    the records before it.
    """
    if newlines <= frame.height:
        return pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(LINE)
    breaks = pl.sum_horizontal(
        pl.col(h).str.count_matches("\n", literal=True).fill_null(0) for h in headers
    ).cast(pl.Int64)
    span = breaks + 1
    return (pl.lit(first, pl.Int64) + span.cum_sum() - span).alias(LINE)


def _read_excel(path: Path, feed: Feed, source: str) -> ReadResult:
    import fastexcel

    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=0, dtypes="string")
        frame = sheet.to_polars()
    except Exception as err:  # fastexcel raises its own hierarchy for any broken workbook
        raise DeliveryRefused(
            "unreadable_excel", f"{source}: not a readable .xlsx workbook ({err}); re-deliver it"
        ) from None
    headers = list(frame.columns)
    if not headers:
        raise DeliveryRefused(
            "empty_file", f"{source}: the first sheet has no header row; re-deliver it"
        )
    columns, extras = map_header(feed, headers, source)
    frame = (
        frame.with_row_index(LINE, offset=2)
        .with_columns(pl.col(LINE).cast(pl.Int64))
        .filter(
            ~pl.all_horizontal(
                pl.col(h).is_null() | (pl.col(h).str.strip_chars() == "") for h in headers
            )
        )
    )
    broken = _long_number_cells(path, frame, feed, columns)
    return ReadResult(frame, columns, extras, "xlsx", "xlsx", None, broken=broken)


# A number cell holding an integer, as fastexcel writes it as text: 16 digits or more
LONG_NUMBER = r"^\d{16,}$"
EXCEL_DIGITS = 15  # significant digits Excel keeps of a number typed into a cell


def _long_number_cells(
    path: Path, frame: pl.DataFrame, feed: Feed, columns: dict[str, str]
) -> dict[str, pl.Series]:
    """``long_number:<col>`` -> True for the records whose text column (an account, an ID
    number) holds a number cell of 16 digits or more. A workbook keeps a number as a double,
    and Excel keeps only 15 significant digits of what is typed: the ID number
    110101199001011234 typed into a number cell is stored as 110101199001011000, a card
    number's last digits are lost the same way, and the reader cannot tell. Such a record is
    quarantined instead of loaded with another account's number. fastexcel reads every cell
    as text and says nothing of its type, so only when such digits appear is the sheet read
    again for its cell types (openpyxl); the same digits in a text cell are kept."""
    texts = [(c.name, h) for c in feed.columns if c.type == "string" and (h := columns.get(c.name))]
    suspects = {name: frame[h].str.contains(LONG_NUMBER).fill_null(False) for name, h in texts}
    suspects = {name: mask for name, mask in suspects.items() if mask.any()}
    if not suspects:
        return {}
    numbers = pl.Series(sorted(_long_number_texts(path)), dtype=pl.String)
    return {
        f"long_number:{name}": mask & frame[columns[name]].is_in(numbers)
        for name, mask in suspects.items()
    }


def _long_number_texts(path: Path) -> set[str]:
    """The texts fastexcel gives the number cells of the first sheet holding an integer of
    16 digits or more (it reads a number as a double: ``6222020200001234567`` is
    ``6222020200001234944``)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        found: set[str] = set()
        for row in book.worksheets[0].iter_rows(values_only=False):
            for cell in row:
                value = cell.value
                if cell.data_type != "n" or not isinstance(value, int | float):
                    continue  # text, a date, a boolean, an empty cell
                if abs(value) >= 10**EXCEL_DIGITS and float(value).is_integer():
                    found.add(str(int(float(value))))
                    found.add(str(int(value)))  # a reader that kept the file's digits
        return found
    finally:
        book.close()


def read_delivery_parts(
    path: Path, feed: Feed, source: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[ReadResult]:
    """Read a data file of ``feed`` piece by piece; ``source`` names it in messages
    (``<feed>/<date>/<file>``). A delimited file yields one part per ``chunk_bytes`` or so
    (at least one, empty for a header-only file); a workbook yields one part."""
    check_format(path, source)
    if path.stat().st_size == 0:
        raise DeliveryRefused(
            "empty_file",
            f"{source}: empty file (0 bytes, no header); a feed with nothing to say delivers a "
            "header-only file with a control count of 0: re-deliver it",
        )
    if path.suffix.lower() in TEXT_SUFFIXES:
        yield from _read_delimited(path, feed, source, chunk_bytes)
    else:
        yield _read_excel(path, feed, source)


def check_format(path: Path, source: str) -> None:
    """Refuse a file that is neither delimited text (.csv, .txt) nor a workbook (.xlsx)."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + EXCEL_SUFFIXES:
        raise DeliveryRefused(
            "unsupported_format",
            f"{source}: unsupported file type {suffix!r}; deliver .csv, .txt or .xlsx",
        )


def read_delivery(path: Path, feed: Feed, source: str) -> ReadResult:
    """The whole file as one ``ReadResult`` (small files, tests and tools)."""
    parts = list(read_delivery_parts(path, feed, source))
    frame = pl.concat([p.frame for p in parts], how="vertical")
    return dataclasses.replace(parts[0], frame=frame)
