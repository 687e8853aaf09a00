"""Readers and writers: CRM tables from a folder, frames to Parquet or CSV, always written atomically.

Reading: a CSV's encoding (UTF-8, UTF-16 with its byte-order mark, else Windows-1252, else Latin-1) and
delimiter (comma, semicolon, tab or pipe, from its header line) are detected, and any choice other than UTF-8
and comma is said on the console.
Column names of the CRM tables are matched without case and surrounding spaces ("Lead_ID " is lead_id).
A file that cannot be read at all is an `InputError` naming the file, the problem and the fix.

Writing: every file goes to a temporary file beside its target first and is renamed onto it, with the mode
the umask gives (a BI reader of the folder can read it). Several files that belong together (a scoring run's
scores, quarantine and manifest) are published by `publish_together`: renamed one by one, and if one rename
fails the files already renamed are put back as they were. Two runs writing into one folder at once take
turns to publish, and a temporary file is named with its run's process id: only those of runs that are gone
are removed as stale.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import fcntl
import functools
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.dates import blank, iso_or_unchanged
from features.vocab import TABLE_COLUMNS, TABLES, contract_columns
from models.lead_input import is_utf8
from pipelines.console import console
from pipelines.stopping import signals_held

FORMATS = ("parquet", "csv")
DATETIME_COLUMNS = ("created_at", "closed_at", "occurred_at", "snapshot_at", "as_of")
ENCODINGS = ("utf-8", "cp1252", "latin-1")  # tried in this order; latin-1 reads any byte
DELIMITERS = (",", ";", "\t", "|")  # the first wins a tie
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
PARTS_PREFIX = ".leadscore-parts-"  # a scoring run's private working folder, beside its output


class InputError(ValueError):
    """The input folder or file cannot be read as CRM tables."""


class OptionError(InputError):
    """A command-line option's value is written wrong (`--input-table leads`): a bad command line (exit 2)."""


class OutputError(RuntimeError):
    """An output cannot be written (read-only folder, full disk, no permission); nothing was published."""


# --- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str


def csv_format(path: Path) -> CsvFormat:
    """The encoding and the delimiter of a CSV file, detected; said on the console when not UTF-8 / comma."""
    stat = path.stat()
    return _csv_format(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _csv_format(path: Path, size: int, mtime_ns: int) -> CsvFormat:
    """csv_format, once per file version (a streamed file is read several times; the note is said once)."""
    if size == 0:
        raise InputError(
            f"{path}: the file is empty (0 bytes), not even a header line; export the table again"
        )
    refuse_non_text_csv(path)
    encoding = _encoding(path)
    if encoding in ENCODINGS[1:]:
        refuse_mixed_encodings(path)
    with open(path, encoding=encoding, newline="") as handle:
        header = handle.readline()
    if not header.strip():
        raise InputError(
            f"{path}: the first line is empty, expected the column names; export the table again"
        )
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equal counts: comma
    if counts[delimiter] == 0:
        delimiter = ","
    found = CsvFormat(encoding, delimiter)
    refuse_cut_short(path, encoding, delimiter)
    refuse_split_rows(path, encoding, delimiter)
    if encoding not in ("utf-8", "utf-8-sig") or delimiter != ",":
        console.print(f"note: read {path} as {_describe(found)}")
    return found


def wide_encoding(encoding: str) -> bool:
    """UTF-16 or UTF-32: a character spans several bytes, so a byte that looks like a quote or a line break may
    be part of another character, and the byte-level checks here do not read such a file."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


# How much of a file's end cut_short reads: its last line, unless that line is longer (then it is not judged).
CUT_SHORT_TAIL = 1 << 16


def cut_short(path: Path, encoding: str, delimiter: str) -> tuple[int, int] | None:
    """(fields, the row above's fields) when a CSV file stops in the middle of a row: it ends without a line
    break and its last line holds two fields or more but fewer than the line above it (a copy or download that
    did not finish: pandas fills the missing fields as gaps, so the last lead was scored on part of its row, and
    the rows after the cut were lost, all without a word). Measured against the row above, not the header: a
    header with a trailing delimiter has a field more than its rows. A last line of one field (a report's footer
    line), a summary line ("Total leads, 2") and a cut inside a quoted value are not judged."""
    if wide_encoding(encoding):
        return None
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - CUT_SHORT_TAIL))
        tail = handle.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return None
    lines = re.split(r"\r\n|\r|\n", tail.decode(encoding, errors="replace"))
    whole = len(lines) >= 3 or (len(lines) == 2 and size <= CUT_SHORT_TAIL)  # the line above read whole
    if not whole or lines[-1].count('"') % 2 or lines[-2].count('"') % 2:  # or inside a quoted value
        return None
    try:
        with fields_of_any_size():
            above, last = csv.reader(lines[-2:], delimiter=delimiter)
    except (csv.Error, ValueError):  # not two plain lines: not judged
        return None
    if len(last) < 2 or len(last) >= len(above) or TOTAL_LINE.match(last[0].strip()):
        return None
    return len(last), len(above)


@contextmanager
def fields_of_any_size() -> Iterator[None]:
    """Python's csv reader stops at a field over 128 KB, which pandas reads (a long note): the scans here lift
    that limit while they read, and put it back."""
    before = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def refuse_cut_short(path: Path, encoding: str, delimiter: str) -> None:
    """InputError for a CSV file that stops in the middle of a row (cut_short)."""
    found = cut_short(path, encoding, delimiter)
    if found:
        raise InputError(
            f"{path}: the file stops in the middle of its last row ({found[0]} fields against {found[1]} in the "
            "row above, and no line break after it): it looks cut short, a copy or download that did not finish, "
            "and any rows after the cut are missing; copy or export the file again"
        )


class ByteScan(NamedTuple):
    """What one read of a file's bytes tells the structure checks (byte_scan)."""

    bare_cr: bool  # its lines end with LF (or CRLF) and it holds a CR that ends no line
    quote_over_lines: bool  # a quote it opens stays open past a line's end (some value may hold a line break)


def byte_scan(path: Path) -> ByteScan:
    """ByteScan of a file, read by blocks once per file version (a streamed file is read several times)."""
    stat = path.stat()
    return _byte_scan(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _byte_scan(path: Path, size: int, mtime_ns: int, block: int = 1 << 20) -> ByteScan:
    bare, line_feeds, before = 0, 0, b""
    inside, over = 0, False  # inside: 1 while a quote is open at the end of the bytes read so far
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            text = before + chunk
            bare += text[:-1].count(b"\r") - text.count(b"\r\n")  # the last byte waits for the next block
            line_feeds += chunk.count(b"\n")
            before = text[-1:]
            if not over:
                over, inside = _quote_open_at_a_break(chunk, inside)
    bare += before == b"\r"
    return ByteScan(bare_cr=bare > 0 and line_feeds > 0, quote_over_lines=over)


def _quote_open_at_a_break(chunk: bytes, inside: int) -> tuple[bool, int]:
    """Whether a line break in `chunk` falls after an odd number of double quotes (counting `inside`, 1 when a
    quote was open before it), and whether one is open at its end."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    quotes, breaks = data == ord('"'), (data == ord("\n")) | (data == ord("\r"))
    if not quotes.any():
        return bool(inside and breaks.any()), inside
    open_after = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ inside
    return bool(open_after[breaks].any()), int(open_after[-1])


class LinesRead:
    """A text file's lines for csv.reader, with the last one read (opened with newline="": split at CR, LF and
    CRLF, endings kept), so a check can tell where the reader's row ended and how."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.last = handle, ""

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.last = line
            yield line


def split_by_bare_cr(path: Path, encoding: str, delimiter: str) -> tuple[int, int, int] | None:
    """(line, fields, the header's fields) of the first row that a carriage return inside an unquoted value
    ends early, in a file whose lines end with LF: pandas takes a lone CR for a line's end, so the row was read
    as two, its lead scored with the fields after the CR missing and the rest read as another row. Only a row
    whose line ends with a lone CR is judged (a short row elsewhere is another matter, and a CR inside a quoted
    value is text). None when the file holds no lone CR (the usual case, found by a scan of its bytes), or no
    row is cut by one (a report's one-field footer line and a summary line are no rows)."""
    if wide_encoding(encoding) or not byte_scan(path).bare_cr:
        return None
    with open(path, encoding=encoding, errors="replace", newline="") as handle, fields_of_any_size():
        lines = LinesRead(handle)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader, [])
            cut = None  # (line, fields) of the row before, when a lone CR ended its line
            for row in reader:
                at_cr = lines.last.endswith("\r")
                short = 0 < len(row) < len(header) and not TOTAL_LINE.match(row[0].strip())
                # The rest of a row a lone CR cut: short, or any row after a CR in a first value.
                if cut is not None and (short or (cut[1] == 1 and len(row) >= 2)):
                    return cut[0], cut[1], len(header)
                if at_cr and short and len(row) >= 2:
                    return reader.line_num, len(row), len(header)
                cut = (reader.line_num, len(row)) if at_cr else None
        except csv.Error:  # a quote the reader cannot follow: left to the readers' own sentences
            return None
    return None


def refuse_split_rows(path: Path, encoding: str, delimiter: str) -> None:
    """InputError for a CSV file whose row a lone carriage return cuts in two (split_by_bare_cr)."""
    found = split_by_bare_cr(path, encoding, delimiter)
    if found:
        line, fields, wanted = found
        where = (
            f"after {fields} of the header's {wanted} fields" if fields < wanted else "inside its last value"
        )
        raise InputError(
            f"{path}: line {line} ends {where} at a carriage return inside "
            "a value that is not quoted (a line break typed in a cell), so its row would be read as two; export "
            "the file again with such values quoted, or remove the carriage returns"
        )


def stray_quote_lines(path: Path, encoding: str, delimiter: str) -> tuple[int, int] | None:
    """(first line, last line) of a quoted value that runs over lines and whose closing quote has more text
    after it: a quote opened in a value and never closed, closed by the next quote the file holds (`"mgr,
    finance"` a line below), so the rows between were read into that value. The file's first such value
    (RFC 4180, which a quoted note over several lines keeps); a stray quote within one line is left to pandas,
    as are blanks after a closing quote (pandas keeps them in the value) and a quote nothing closes (pandas
    refuses that, unclosed_quote_sentence)."""
    stat = path.stat()
    return _stray_quote_lines(path.resolve(), stat.st_size, stat.st_mtime_ns, encoding, delimiter)


@functools.lru_cache(maxsize=64)
def _stray_quote_lines(
    path: Path, size: int, mtime_ns: int, encoding: str, delimiter: str
) -> tuple[int, int] | None:
    closed_then_blank = re.compile(rf'"[ \t]+(?:{re.escape(delimiter)}|[\r\n]*$)')
    closed_then_text = re.compile(rf'"[^ \t\r\n"{re.escape(delimiter)}]')
    with open(path, encoding=encoding, errors="replace", newline="") as handle, fields_of_any_size():
        lines = LinesRead(handle)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        while True:
            start = reader.line_num
            try:
                if next(reader, None) is None:
                    return None
            except csv.Error as error:
                if "end of data" in str(error):  # never closed: pandas says so
                    return None
                line = lines.last
                if closed_then_blank.search(line) and not closed_then_text.search(line):
                    return None  # blanks after a closing quote: read as pandas does, not judged further
                if reader.line_num - start > 1:  # the value that broke the rule began on an earlier line
                    return start + 1, reader.line_num
                return None  # within one line: left to pandas


def quotes_run_over_lines(path: Path, encoding: str) -> bool:
    """Whether a quote the file opens runs past the end of its line (ByteScan.quote_over_lines): only then can a
    value hold a line break, so the usual file, every quoted value closed on its own line, skips the strict
    parse of stray_quote_lines. A file in a wide encoding is parsed whatever its bytes say."""
    return wide_encoding(encoding) or byte_scan(path).quote_over_lines


def refuse_stray_quotes(path: Path, delimiter: str, encoding: str | None = None) -> None:
    """InputError for a CSV whose quoted value over lines is closed with more text after it (stray_quote_lines),
    read only when a quote the file opens runs past a line's end (quotes_run_over_lines)."""
    encoding = encoding or csv_format(path).encoding
    if not quotes_run_over_lines(path, encoding):
        return
    quoted = stray_quote_lines(path, encoding, delimiter)
    if quoted:
        raise InputError(
            f"{path}: a quote opened on line {quoted[0]} is closed on line {quoted[1]} with more text after it (a "
            f'stray " in a value), so the lines between read as one value, not as rows; remove the stray quote '
            '(or double it, ""), or export the file again'
        )


def _describe(found: CsvFormat) -> str:
    names = {"cp1252": "Windows-1252 (not valid UTF-8)", "latin-1": "Latin-1 (not valid UTF-8)"}
    encoding = names.get(found.encoding, found.encoding.upper())
    return f"{encoding} text with {DELIMITER_NAMES[found.delimiter]}-separated columns"


def _encoding(path: Path, block: int = 1 << 20) -> str:
    """utf-8 (utf-8-sig with a byte-order mark) when the whole file decodes, else the first fallback that does."""
    with open(path, "rb") as handle:
        start = handle.read(3)
    if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"  # "Unicode text" from Excel
    bom = start == codecs.BOM_UTF8
    for encoding in ENCODINGS:
        if _decodes(path, encoding, block):
            return "utf-8-sig" if encoding == "utf-8" and bom else encoding
    return "latin-1"  # not reached: latin-1 decodes every byte


def _decodes(path: Path, encoding: str, block: int = 1 << 20) -> bool:
    """Whether the whole file decodes in `encoding` (read a block at a time)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(block):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# An accented letter of UTF-8 (é, ü, ñ, ç, Å, ő: two bytes from \xc3 or \xc5), which a single-byte text would
# write as "Ã©" or "Å‘", letters no CRM writes side by side.
_UTF8_LETTER = re.compile(rb"[\xc3\xc5][\x80-\xbf]")


def mixed_encoding_lines(path: Path) -> tuple[int, int] | None:
    """(the first line with UTF-8 letters, the first line that is no UTF-8) of a file holding both, counting
    the header as line 1; None when the file is in one encoding. Line by line only when the whole file is no
    UTF-8 but holds UTF-8 letters."""
    if _is_utf8_file(path) or not _holds_utf8_letters(path):
        return None
    utf8 = other = None
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.isascii():
                continue
            if not is_utf8(line):
                other = other or number
            elif _UTF8_LETTER.search(line):
                utf8 = utf8 or number
            if utf8 and other:
                return utf8, other
    return None


def _is_utf8_file(path: Path) -> bool:
    return _decodes(path, "utf-8")


def _holds_utf8_letters(path: Path, block: int = 1 << 20) -> bool:
    with open(path, "rb") as handle:
        last = b""
        while chunk := handle.read(block):
            if _UTF8_LETTER.search(last + chunk):  # a letter cut between two blocks too
                return True
            last = chunk[-1:]
    return False


def refuse_mixed_encodings(path: Path) -> None:
    """InputError for a file that is UTF-8 in some lines and a single-byte encoding (Windows-1252) in others
    (two exports joined end to end, rows pasted in from another file): read in either, the other's accented
    letters are wrong ('é' as 'Ã©'), new category levels that nothing said."""
    found = mixed_encoding_lines(path)
    if found:
        raise InputError(
            f"{path}: holds text in two encodings, UTF-8 (line {found[0]}) and a single-byte one such as "
            f"Windows-1252 (line {found[1]}): read in either, the other lines' accented letters would be wrong "
            "('é' as 'Ã©'); export the file again in one encoding (UTF-8)"
        )


# The first bytes of files that are no CSV text, whatever their name says: read as text they gave an
# "encoding" error that pointed at the wrong fix (set encoding: latin-1).
_NOT_TEXT = {
    b"\x1f\x8b": "a gzip-compressed file: decompress it (gunzip) and give the .csv inside",
    b"PK\x03\x04": "a zip archive (an Excel .xlsx is one): save the sheet as CSV, or unzip the .csv inside",
    b"PAR1": "a Parquet file: name it .parquet",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook: save the sheet as CSV",
    b"BZh": "a bzip2-compressed file: decompress it and give the .csv inside",
    b"\xfd7zXZ": "an xz-compressed file: decompress it and give the .csv inside",
}


def refuse_non_text_csv(path: Path, encoding: str | None = None) -> None:
    """InputError naming what a file named .csv really is (gzip, zip/xlsx, Parquet, UTF-16 without its
    byte-order mark unless `encoding`, a source spec's, names UTF-16...) and the fix."""
    with open(path, "rb") as handle:
        start = handle.read(4096)
    for magic, what in _NOT_TEXT.items():
        if start.startswith(magic):
            raise InputError(f"{path}: not CSV text but {what}")
    named_utf16 = encoding is not None and codecs.lookup(encoding).name.startswith("utf-16")
    if utf16_without_mark(start) and not named_utf16:
        raise InputError(
            f"{path}: UTF-16 text without its byte-order mark (a zero byte beside every letter), which leadscore "
            "does not guess; save it again as UTF-8, or as UTF-16 with its mark (Excel's 'Unicode text')"
        )


def utf16_without_mark(start: bytes) -> bool:
    """Whether a file's first bytes are UTF-16 text without a byte-order mark: a zero byte in every other
    place (ASCII letters in two bytes each), read as UTF-8 a header of 'l\x00e\x00a\x00d\x00'."""
    pairs = start[: len(start) // 2 * 2]
    if len(pairs) < 8 or pairs[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return False
    even, odd = pairs[0::2], pairs[1::2]
    return any(
        zeros.count(0) > 0.9 * len(zeros) and others.count(0) == 0
        for zeros, others in ((odd, even), (even, odd))
    )


def missing_path(path: Path) -> InputError:
    """The sentence for a path that cannot be opened: a link to nothing or in a loop is said as such."""
    if path.is_symlink():
        return InputError(
            f"{path}: a symbolic link that leads nowhere (to {os.readlink(path)!r}: missing, or a loop of "
            "links); point it at the file, or give the file itself"
        )
    return InputError(f"{path}: no such file")


def readable_file(
    path: Path, expected: str = "a table file; give the table as one .csv or .parquet file"
) -> Path:
    """`path`, or the InputError for a missing file, a broken link or a folder where `expected` belongs."""
    if not path.exists():
        raise missing_path(path)
    if path.is_dir():
        raise InputError(f"{path}: a folder, not {expected}")
    return path


def blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with every cell empty or spaces only (the ",,,," lines spreadsheets write, the rows of nothing a
    sheet turned into Parquet keeps): they hold no row."""
    filled = np.zeros(len(frame), dtype=bool)
    for _, values in frame.items():  # bytes (a binary column) hold no text to strip, and may be none
        filled |= values.notna().to_numpy() if holds_bytes(values) else ~blank(values)
        if filled.all():  # most tables: the first column (an id) is filled in every row, the rest not read
            break
    return ~filled


# A report's footer is a few lines; a longer run of rows that fill their first cell only is data.
FOOTER_MOST_LINES = 10
# The first cell of a spreadsheet's or a report's summary line: "Total", "Grand Totals (3000 records)", "Sum:".
TOTAL_LINE = re.compile(r"(?:grand\s+|sub\s*)?(?:totals?|sum)\s*(?:\(.*\))?\s*:?", re.IGNORECASE)


def footer_rows(frame: pd.DataFrame) -> np.ndarray:
    """The lines a report or a spreadsheet writes below its table: a summary line whose first cell says so
    ("Total", "Grand Totals (3000 records)", whatever sums the other cells hold) and lines that fill their
    first cell only (Salesforce's "Confidential Information - Do Not Distribute", a copyright line). They are
    the rows after the last other row, blank rows among them aside, when there are a few (FOOTER_MOST_LINES)
    and the table has three columns or more. They hold no row."""
    footer = np.zeros(len(frame), dtype=bool)
    if frame.shape[1] < 3 or frame.empty:
        return footer
    tail = frame.iloc[-(FOOTER_MOST_LINES + 1) :]
    others = np.zeros(len(tail), dtype=bool)
    for _, values in tail.iloc[:, 1:].items():
        others |= values.notna().to_numpy() if holds_bytes(values) else ~blank(values)
    first = tail.iloc[:, 0]
    if holds_bytes(first):
        return footer
    given = ~blank(first)
    total = given & first.astype("str").str.strip().str.fullmatch(TOTAL_LINE).to_numpy(
        dtype=bool, na_value=False
    )
    lines = (given & ~others) | total
    data = np.flatnonzero(~lines & (given | others))  # rows of the table (blank rows are neither)
    start = int(data[-1]) + 1 if len(data) else 0
    if start == 0 or not lines[start:].any():  # no row of the table in sight, or no footer line
        return footer
    footer[len(frame) - len(tail) + start :] = lines[start:]
    return footer


def header_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows that repeat the header, each named cell its column's name (case and surrounding spaces aside): two
    exports joined end to end. They hold no row, as blank rows hold none."""
    repeated = np.ones(len(frame), dtype=bool)
    named = [c for c in frame.columns if str(c).strip() and not str(c).startswith("Unnamed: ")]
    for column in named:  # a binary column never repeats the header (and its bytes may be no text)
        if holds_bytes(frame[column]):
            return np.zeros(len(frame), dtype=bool)
        text = _header_cells(frame[column])
        repeated &= text.eq(str(column).strip().lower()).to_numpy(dtype=bool, na_value=False)
        if not repeated.any():
            break
    return repeated if named else np.zeros(len(frame), dtype=bool)


def _header_cells(values: pd.Series) -> pd.Series:
    """Cells as a header's names compare: without case, surrounding spaces, and the byte-order mark that starts
    the second of two UTF-8 exports joined end to end (`cat a.csv b.csv`): its header was read as a lead,
    quarantined, where the same line without the mark is skipped and said."""
    return values.astype("str").str.strip().str.lstrip("\ufeff").str.strip().str.lower()


def refuse_reordered_header(frame: pd.DataFrame, path: object) -> None:
    """InputError for a row that is the header with its names in another order: two exports joined end to end
    whose columns came in different orders, so every row below it would be read into the wrong columns (job
    titles as lead sources, closes as creations) without a word. Such a line is no row to skip."""
    named = [c for c in frame.columns if str(c).strip() and not str(c).startswith("Unnamed: ")]
    names = {str(c).strip().lower() for c in named}
    if len(named) < 2 or len(names) < len(named) or not len(frame):
        return
    rows = np.arange(len(frame))
    cells: list[np.ndarray] = []
    for column in named:
        if holds_bytes(frame[column]):
            return
        text = _header_cells(frame[column].iloc[rows]).to_numpy(dtype=object)
        keep = np.array([value in names for value in text], dtype=bool)
        rows, cells = rows[keep], [values[keep] for values in cells] + [text[keep]]
        if not len(rows):
            return
    own = np.array([str(c).strip().lower() for c in named], dtype=object)
    for i, row in enumerate(rows):
        written = [values[i] for values in cells]
        if set(written) == names and list(written) != list(own):
            raise InputError(
                f"{path}: row {frame.index[row]} repeats the header in another order ({', '.join(written[:4])}, "
                "...): two exports joined end to end with their columns in different orders, whose rows below it "
                "would be read into the wrong columns; export the tables with one column order"
            )


def say_header_rows(path: object, rows: np.ndarray, count: int | None = None) -> None:
    """Say how many lines of `path` that repeat its header were skipped (`count`, else all of `rows`), and the
    first few (0-based, as the quarantine numbers rows)."""
    _say_skipped(
        path,
        rows,
        count,
        lambda n: f"{n:,} line{'s' if n > 1 else ''} repeating the header (files joined end to end?)",
    )


def _say_skipped(path: object, rows: np.ndarray, count: int | None, what: Callable[[int], str]) -> None:
    """The note for rows of `path` skipped, not read as rows: `what(count)` names them, then the first few."""
    count = len(rows) if count is None else count
    if not count:
        return
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if count > 5 else "")
    console.print(
        f"note: {path}: {what(count)} skipped, not read as rows (rows {shown}); the quarantine numbers rows as "
        "in the file"
    )


FILE_ROWS = "leadscore_index_is_file_row"  # frame.attrs key set by without_blank_rows


def say_blank_rows(path: object, rows: np.ndarray, count: int | None = None) -> None:
    """Say how many blank rows of `path` were skipped (`count`, else all of `rows`), and the first few (0-based,
    as the quarantine numbers rows)."""
    _say_skipped(path, rows, count, lambda n: f"{n:,} empty rows (every cell blank)")


def without_blank_rows(frame: pd.DataFrame, path: object) -> pd.DataFrame:
    """`frame` without its blank rows and the lines that repeat its header, said; the rows kept keep their
    index (their row in the file), which run_validate and the streamed parts use to number quarantined rows as
    in the file."""
    refuse_reordered_header(frame, path)
    blank, header = blank_rows(frame), header_rows(frame)
    if not (blank.any() or header.any()):
        return frame
    say_blank_rows(path, frame.index.to_numpy()[blank])
    say_header_rows(path, frame.index.to_numpy()[header])
    kept = frame.loc[~(blank | header)]
    kept.attrs[FILE_ROWS] = True  # the index is the row in the file (at_input_rows)
    return kept


def at_input_rows(quarantine: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Quarantine rows (positions in the frames validated) as rows of the input files: a frame whose blank
    rows the reader skipped keeps each row's position in its file as its index, and says so in its attrs."""
    if quarantine.empty:
        return quarantine
    rows = quarantine["row"].to_numpy(dtype="int64").copy()
    for table, frame in tables.items():
        if not frame.attrs.get(FILE_ROWS):  # a frame built in process: rows are numbered by position
            continue
        mask = (quarantine["table"] == table).to_numpy()
        rows[mask] = frame.index.to_numpy()[rows[mask]]
    return quarantine.assign(row=rows)


def normalise_columns(frame: pd.DataFrame, table: str, source: object = None) -> pd.DataFrame:
    """The contract's column names (optional ones too) for columns that differ only in case or surrounding
    spaces."""
    known = contract_columns(table)
    renames = {
        c: str(c).strip().lower() for c in frame.columns if c not in known and str(c).strip().lower() in known
    }
    names = [renames.get(c, c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1 and n in known})
    if repeated:
        same = [str(c) for c in frame.columns if renames.get(c, c) in repeated]
        raise InputError(
            f"{source or f'table {table!r}'}: columns {same} all read as {repeated} (case and spaces are "
            "ignored); keep one of them"
        )
    refuse_near_names(names, table, source)
    return frame.rename(columns=renames) if renames else frame


def _name_key(name: object) -> str:
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def refuse_near_names(names: list, table: str, source: object = None) -> None:
    """InputError for a header cell that spells a column of the contract the table lacks with other inner
    spaces or punctuation ("Lead ID", "Founded Year"): a required one was said as missing with no word of the
    cell, and an optional one (founded_year) was left out silently, its feature missing in every row."""
    present = set(names)
    keyed = {_name_key(column): column for column in contract_columns(table) - present}
    near = {str(name): keyed[_name_key(name)] for name in names if _name_key(name) in keyed}
    if near:
        shown = ", ".join(f"{cell!r} for {column}" for cell, column in near.items())
        raise InputError(
            f"{source or f'table {table!r}'}: the {table} table's columns are matched by name without case and "
            f"the spaces around it, not its inner spaces or punctuation: {shown}; rename the column(s) so"
        )


# How pandas holds the values of Parquet's and databases' list, map and struct columns.
NESTED = (list, tuple, dict, np.ndarray)


def refuse_nested_columns(frame: pd.DataFrame, table: str, source: object) -> None:
    """InputError for a contract column of `table` that holds lists or records (a Parquet or database nested
    type) rather than one plain value per cell: read as text ("['salesforce' 'segment']") they had scored
    without a word, or ended in a traceback; or bytes that are no text (refuse_bytes_not_text)."""
    known = [c for c in frame.columns if c in contract_columns(table)]
    found = nested_column(frame, known)
    if found is not None:
        example = " (e.g. 'salesforce;segment')" if found == "tech_stack" else ""
        raise InputError(f"{source}: {nested_sentence(frame, found, f'of the {table} table ', example)}")
    refuse_bytes_not_text(frame, known, source, f"of the {table} table ")


def holds_bytes(values: pd.Series) -> bool:
    """Whether a column holds bytes (a Parquet binary or database BLOB column: its first value's kind is every
    value's)."""
    if values.dtype != object:
        return False
    present = values.notna().to_numpy()
    return bool(present.any()) and isinstance(values.iloc[int(present.argmax())], bytes | bytearray)


def refuse_bytes_not_text(frame: pd.DataFrame, columns: list, source: object, where: str = "") -> None:
    """InputError for a column of `columns` holding bytes (a Parquet binary or database BLOB column) of which
    some are not UTF-8 text: pandas reads the others as their text, and such a byte had ended in a traceback
    (online, the same bytes are refused naming the field: models.lead_input.is_utf8)."""
    for column in columns:
        values = frame[column]
        if not holds_bytes(values):
            continue
        bad = next((v for v in values.tolist() if isinstance(v, bytes | bytearray) and not is_utf8(v)), None)
        if bad is not None:
            raise InputError(
                f"{source}: column {str(column)!r} {where}holds bytes that are not UTF-8 text, e.g. "
                f"{_shown(bytes(bad))}; write it as text (UTF-8), and export the table again"
            )


def nested_column(frame: pd.DataFrame, columns: list) -> object | None:
    """The first of `columns` whose values are lists or records, or None."""
    for column in columns:
        values = frame[column]
        if values.dtype != object:
            continue
        present = values.notna().to_numpy()
        first = values.iloc[int(present.argmax())] if present.any() else None
        if isinstance(first, NESTED):  # a typed column: its first value's kind is every value's
            return column
    return None


def nested_sentence(frame: pd.DataFrame, column: object, where: str = "", example: str = "") -> str:
    """The sentence for a column nested_column found: what it holds, an example and the fix."""
    values = frame[column]
    first = values.iloc[int(values.notna().to_numpy().argmax())]
    what = "records (a struct or map)" if isinstance(first, dict) else "lists"
    return (
        f"column {str(column)!r} {where}holds {what}, e.g. {_shown(first)}, not one value per cell; write it "
        f"as plain text{example} or a plain number, and export the table again"
    )


def refuse_short_header(frame: pd.DataFrame, path: Path, delimiter: str) -> None:
    """InputError for a CSV whose every row has more fields than its first line: pandas made the extra leading
    fields an index and shifted every column (a title line above the header; a delimiter ending every row), so
    ids were read from another column and every row failed for a reason that was not its own."""
    if frame.index.equals(pd.RangeIndex(len(frame))):
        return
    shown = ", ".join(repr(str(c))[:40] for c in frame.columns[:3])
    raise InputError(
        f"{path}: the first line ({shown}...) has fewer fields than the rows below it "
        f"({frame.shape[1]} against {frame.shape[1] + frame.index.nlevels}): the column names must be the first "
        f"line, one per field; remove any title or comment line above them, or the {delimiter!r} that ends "
        "every row"
    )


def refuse_foreign_header(frame: pd.DataFrame, table: str, path: Path) -> None:
    """InputError for a table file whose header holds none of the table's columns: a title or comment line
    above the column names ("# exported 2026-10-01") became the header, said as every column missing with
    neither the file nor the cause."""
    known = contract_columns(table)
    if known & set(frame.columns):
        return
    found = ", ".join(repr(str(c))[:40] for c in list(frame.columns)[:3])
    where, fix = f"its columns ({found}) hold", "name the columns as the README's table of CRM tables does"
    if format_of(path) == "csv":
        where = f"the first line ({found}) holds"
        fix = "the column names must be the first line: remove any line above them"
    raise InputError(
        f"{path}: {where} none of the {table} table's columns ({', '.join(TABLE_COLUMNS[table])}); {fix}"
    )


def _shown(value: object) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def unreadable(path: Path, error: Exception) -> InputError:
    """The one sentence for a file that the reader refused."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    binary = binary_columns(path) if "Invalid UTF8" in first and format_of(path) == "parquet" else []
    if binary:  # its pandas metadata says text: pandas decodes the bytes, and some are no text
        return InputError(
            f"{path}: column {binary[0]!r} holds bytes that are not UTF-8 text; write it as text (UTF-8), and "
            "export the table again"
        )
    if format_of(path) == "parquet":
        return InputError(
            f"{path}: not a readable Parquet file ({first}); export the table again, or give it as CSV"
        )
    unclosed = unclosed_quote(first)
    if unclosed is not None:
        return InputError(unclosed_quote_sentence(path, unclosed))
    return InputError(f"{path}: cannot be read as CSV ({first}); fix the file or export the table again")


UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def unclosed_quote(parser_error: str) -> int | None:
    """The row (pandas' count, from 0 at the header) where a quote opens that nothing closes, from pandas'
    "EOF inside string starting at row N"; None for another parser error."""
    found = UNCLOSED_QUOTE.search(parser_error)
    return int(found.group(1)) if found else None


def unclosed_quote_sentence(path: object, row: int) -> str:
    """The sentence for a quote that nothing closes: the rest of the file would be one value."""
    return (
        f'{path}: a quote opened in line {row + 1} is never closed (a stray " in a value), so every line after '
        'it would read as one value; remove the quote or double it (""), or export the file again'
    )


def binary_columns(path: Path) -> list[str]:
    """The columns a Parquet file stores as bytes (binary), from its schema; none for a schema that is no
    longer readable."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return []
    return [f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]


def refuse_bad_csv_header(path: Path, table: str, rows: int = 100) -> None:
    """read_frame's refusals of a CRM table's CSV header (a column written twice, rows longer than the header, a
    title line above it), from its first `rows` rows: for a reader that reads the rest itself (Spark)."""
    try:
        head = _read_csv(path, table, nrows=rows)
    except InputError:
        raise
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise unreadable(path, error) from error
    refuse_short_header(head, path, csv_format(path).delimiter)
    refuse_foreign_header(normalise_columns(head, table, path), table, path)


def _read_csv(path: Path, table: str | None, ids: tuple[str, ...] = (), **options):
    found = csv_format(path)
    if table:
        _refuse_repeated_names(path, found, table)
    # CRM tables as written (ids keep leading zeros; "NA" is an id): only an empty cell is missing, as in a
    # Parquet file, a database or Spark's reader; the contract coerces each column (and reads the words that
    # mean no value in number and time columns as missing: features.text.NO_VALUE).
    text: dict[str, Any] = {"dtype": "str", "keep_default_na": False, "na_values": [""]} if table else {}
    if ids:
        header = pd.read_csv(path, encoding=found.encoding, sep=found.delimiter, nrows=0).columns
        text = ids_as_written(header, ids)
    return pd.read_csv(path, encoding=found.encoding, sep=found.delimiter, **text, **options)


def _refuse_repeated_names(path: Path, found: CsvFormat, table: str) -> None:
    """InputError for a header that writes a column of the table twice: pandas renames the second one
    ("lead_source.1", then ignored as unknown), so the first was read whatever the second held. (Names that
    differ in case or spaces are refused by normalise_columns.)"""
    header = pd.read_csv(
        path, encoding=found.encoding, sep=found.delimiter, header=None, nrows=1, dtype="str"
    )
    names = [h for h in header.iloc[0].tolist() if isinstance(h, str)]
    known = contract_columns(table)
    repeated = sorted({n for n in names if n.strip().lower() in known and names.count(n) > 1})
    if repeated:
        raise InputError(f"{path}: the header writes column(s) {repeated} more than once; keep one of them")


def ids_as_written(header: Sequence[str], ids: tuple[str, ...]) -> dict[str, Any]:
    """read_csv options that read the `ids` columns exactly as written ("007" stays "007", "NA" is an id,
    not a gap) and an empty cell of any other column as missing."""
    return {
        "dtype": {c: "str" for c in ids if c in header},
        "keep_default_na": False,
        "na_values": {c: [""] for c in header if c not in ids},
    }


def read_frame(path: Path, table: str | None = None, ids: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one Parquet or CSV file; CSV timestamp columns are parsed when they are all ISO 8601.

    With `table` (a CRM table's name), CSV values are read as text and column names are matched to the
    table's contract columns without case or surrounding spaces. `ids`: columns of a file leadscore wrote
    (a scores file's or a call list's lead_id) read as written.
    """
    readable_file(path)
    try:
        if format_of(path) == "parquet":
            if table:  # a name written twice, said as for CSV before pandas refuses it ("Multiple matches")
                normalise_columns(pd.DataFrame(columns=pq.read_schema(path).names), table, path)
            frame = pd.read_parquet(path)
        else:
            frame = _read_csv(path, table, ids)
            refuse_short_header(frame, path, csv_format(path).delimiter)
            refuse_stray_quotes(path, csv_format(path).delimiter)
            frame = without_blank_rows(normalise_columns(frame, table, path), path) if table else frame
            # Timestamps all ISO 8601 are parsed; others stay text for the contract (features.dates).
            for column in DATETIME_COLUMNS:
                if column in frame.columns:
                    frame[column] = iso_or_unchanged(frame[column])
    except InputError:
        raise
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        raise unreadable(path, error) from error
    if not table:
        return frame
    frame = normalise_columns(frame, table, path)
    refuse_foreign_header(frame, table, path)
    refuse_nested_columns(frame, table, path)
    return without_blank_rows(frame, path) if format_of(path) == "parquet" else frame  # a CSV's: read above


def iter_frames(path: Path, rows: int, table: str, say: bool = True) -> Iterator[pd.DataFrame]:
    """A CRM table file in batches of about `rows` rows (Parquet by batches, CSV by chunks, values as text)."""
    readable_file(path)
    try:
        csv_file = format_of(path) == "csv"
        if csv_file:
            batches = _read_csv(path, table, chunksize=rows)
        else:
            batches = (b.to_pandas() for b in pq.ParquetFile(path).iter_batches(batch_size=rows))
        start, skipped, headers = 0, [], []
        for batch in batches:  # each row's index: its row in the file, kept when blank rows are skipped
            if csv_file and start == 0:  # the first chunk: numbered from 0 unless the header is short
                refuse_short_header(batch, path, csv_format(path).delimiter)
                refuse_stray_quotes(path, csv_format(path).delimiter)  # the whole file's, once
            batch.index = pd.RangeIndex(start, start + len(batch))
            start += len(batch)
            batch = normalise_columns(batch, table, path)
            refuse_foreign_header(batch, table, path)
            refuse_nested_columns(batch, table, path)
            refuse_reordered_header(batch, path)
            blank, header = blank_rows(batch), header_rows(batch)  # CSV lines, or rows of nothing in Parquet
            skipped.append(batch.index.to_numpy()[blank])
            headers.append(batch.index.to_numpy()[header])
            yield batch.loc[~(blank | header)]
        if skipped and say:  # `say`: False for a pass that reads the file again (once said is enough)
            say_blank_rows(path, np.concatenate(skipped))
            say_header_rows(path, np.concatenate(headers))
    except InputError:
        raise
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as error:
        raise unreadable(path, error) from error


def format_of(path: Path) -> str:
    """'parquet' or 'csv' from a file's suffix."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("parquet", "pq"):
        return "parquet"
    if suffix == "csv":
        return "csv"
    if suffix in ("xlsx", "xls", "xlsm", "ods"):
        raise InputError(
            f"{path}: a spreadsheet workbook, not a table file; save the sheet as CSV (or Parquet)"
        )
    if suffix in ("gz", "zip", "bz2", "xz"):
        raise InputError(f"{path}: a compressed file; decompress it and give the .csv or .parquet inside")
    raise InputError(f"{path}: unknown format {path.suffix!r}; use .parquet or .csv")


def table_path(folder: Path, name: str) -> Path | None:
    """The file of table `name` in `folder`, or None; an InputError when the folder holds the table both as
    Parquet and as CSV: one is an older export (a folder generated again in the other format, a CSV saved
    beside the Parquet file), and reading either without a word scored the leads of the other, exit 0; and
    when it holds the table only under another name or format (`Deals.csv`, `deals.xlsx`: other_formats)."""
    found = [
        candidate
        for candidate in (folder / f"{name}.parquet", folder / f"{name}.csv")
        if candidate.exists() or candidate.is_symlink()  # a broken link is said by the reader, not "missing"
    ]
    if len(found) > 1:
        raise table_twice(folder, name, found[0], found[1])
    if not found and other_formats(
        folder, name
    ):  # an optional table (deals) too: its leads were scored as open
        raise missing_table(folder, name)
    return found[0] if found else None


def table_twice(folder: Path, name: str, first: Path, second: Path) -> InputError:
    """The error for a folder holding the table `name` in two files (`first`, `second`), one an older export."""
    return InputError(
        f"{folder}: holds the {name} table twice, as {first.name} and {second.name}; keep the one that "
        "is this export's and move the other out of the folder"
    )


def other_formats(folder: Path, name: str) -> str:
    """ " (found leads.xlsx: save it as .csv or .parquet)" when the folder holds the table in another format,
    " (found Leads.CSV: rename it leads.csv)" when it holds it under a name in other case (a Windows export: the
    names are matched as written, as on any Linux file system)."""
    files = (
        [p.name for p in folder.iterdir() if p.name.lower().startswith(f"{name}.")] if folder.is_dir() else []
    )
    renamed = sorted(f for f in files if f.lower() in (f"{name}.parquet", f"{name}.csv"))
    if renamed:
        return f" (found {renamed[0]}: rename it {renamed[0].lower()})"
    found = sorted(f for f in files if f.startswith(f"{name}."))
    return f" (found {', '.join(found[:3])}: save it as .csv or .parquet)" if found else ""


def missing_table(folder: Path, name: str) -> InputError:
    """The error for a folder without the table `name`, naming a file that holds it under another format or
    name (other_formats)."""
    return InputError(
        f"{folder}: table {name!r} is missing (expected {name}.parquet or {name}.csv){other_formats(folder, name)}"
    )


def read_tables(folder: Path, required: tuple[str, ...] = TABLES) -> dict[str, pd.DataFrame]:
    """Read the CRM tables of a folder; tables not in `required` are read when present."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of CRM tables (expected {', '.join(TABLES)})")
    tables = {}
    for name in TABLES:
        path = table_path(folder, name)
        if path is None:
            if name in required:
                raise missing_table(folder, name)
            continue
        tables[name] = read_frame(path, table=name)
    return tables


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, in hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def path_digest(path: Path) -> str:
    """sha256 of a file, or of a folder of files (each name and its sha256, in name order: a Spark run's
    part files)."""
    if not path.is_dir():
        return file_digest(path)
    digest = hashlib.sha256()
    for part in sorted(p for p in path.iterdir() if p.is_file()):
        digest.update(f"{part.name}:{file_digest(part)};".encode())
    return digest.hexdigest()


# --- writing ---------------------------------------------------------------------------------------------


def published_mode() -> int:
    """The mode a new file gets under the current umask (0644 under the usual 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an operating-system error while writing `path` into an OutputError that names it and the fix."""
    try:
        yield
    except OSError as error:
        raise OutputError(_cannot_write(path, error)) from error


def _cannot_write(path: Path, error: OSError) -> str:
    why = error.strerror or str(error)
    fix = {
        errno.ENOSPC: "free some space on that disk or write elsewhere",
        errno.EDQUOT: "free some space on that disk or write elsewhere",
        errno.EROFS: "the file system is read-only: write elsewhere",
        errno.EACCES: "give this user write permission on the folder or write elsewhere",
        errno.EPERM: "give this user write permission on the folder or write elsewhere",
        # Past the process's file size limit (`ulimit -f`; Python ignores SIGXFSZ) or the file system's largest file.
        errno.EFBIG: "raise the file size limit of the job (`ulimit -f`) or write to another file system",
        errno.EISDIR: "a folder has that name: name a file, or remove the folder",
    }.get(error.errno or 0, "check the folder and the disk, or write elsewhere")
    blocking = next((parent for parent in path.parents if parent.is_file()), None)
    if blocking is not None:  # said "File exists", naming neither the file in the way nor what to do
        why, fix = f"{blocking} is a file, not a folder", "write elsewhere"
    return f"cannot write {path}: {why}; {fix}. Nothing of this run was published"


def staged_path(target: Path) -> Path:
    """A new empty temporary file beside `target` (same folder, so a rename publishes it)."""
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{target.name}.{os.getpid()}."  # the owner's pid: see remove_stale_staged
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
        os.close(fd)
    return Path(tmp)


def check_writable(target: Path) -> None:
    """OutputError now when `target` cannot be written (a long run said so only at its end), leaving nothing
    behind: no staged file, and none of the folders made to hold it (a run that then failed left them)."""
    made = [folder for folder in [target.parent, *target.parent.parents] if not folder.exists()]
    try:
        staged_path(target).unlink()
    finally:
        for folder in made:  # innermost first; a folder something else wrote into meanwhile stays
            with contextlib.suppress(OSError):
                folder.rmdir()


def remove_stale_staged(target: Path) -> None:
    """Remove temporary files of `target` left by a run that was killed mid-write (its process is gone).

    A run writing the same target at this moment keeps its files: removing them made it fail with a
    traceback, or publish its manifest without the scores it names.
    """
    start = len(f".{target.name}.")
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        owner = stale.name[start:].split(".")[0]
        if not (owner.isdigit() and pid_alive(int(owner))):  # a name without a pid: an older version's
            stale.unlink(missing_ok=True)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` itself (no lock file is left behind) until the block ends."""
    with writing(folder):
        fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block succeeds."""
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staged(target)
    tmp_path = staged_path(target)
    try:
        yield tmp_path
        with writing(target):
            os.chmod(tmp_path, published_mode())
            os.replace(tmp_path, target)
    except OSError as error:
        raise OutputError(_cannot_write(target, error)) from error
    finally:
        tmp_path.unlink(missing_ok=True)


def publish_together(staged: list[tuple[Path, Path]]) -> None:
    """Rename each staged file onto its target, in order; all or nothing when a rename fails.

    The targets' previous versions are kept as hard links until every rename has succeeded; on a failure
    the renamed targets get them back (or are removed when they had none). A process killed between two
    renames cannot undo them: put the file that vouches for the others (a manifest) last.
    """
    mode = published_mode()
    backups: list[tuple[Path, Path | None]] = []
    # Another run publishing into the same folder waits: its renames and ours never interleave (which left
    # one run's manifest beside the other's scores), and each run's backups are its own. A signal waits for
    # the renames (milliseconds): one arriving amid them, or amid their undoing, left a mixed set.
    with folder_lock(staged[0][1].parent), signals_held():
        try:
            for tmp, target in staged:
                with writing(target):
                    backup = None
                    if target.exists():
                        backup = target.with_name(f".{target.name}.{os.getpid()}.previous.tmp")
                        backup.unlink(missing_ok=True)
                        os.link(target, backup)
                    os.chmod(tmp, mode)
                    backups.append((target, backup))
                    os.replace(tmp, target)
        except BaseException:
            for target, backup in reversed(backups):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
            raise
        finally:
            for _, backup in backups:
                if backup is not None:
                    backup.unlink(missing_ok=True)
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)


def write_texts_together(texts: Mapping[Path, str]) -> None:
    """Write each text (UTF-8) to its file, published together (publish_together): all or none. Written one
    after the other, a run stopped or failing between two had left a new file beside an old one."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in texts.items():
            with writing(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                remove_stale_staged(target)
            staged.append((staged_path(target), target))
            with writing(target):
                staged[-1][0].write_text(text, encoding="utf-8")
        publish_together(staged)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write one frame atomically, as Parquet or CSV by the file's suffix."""
    fmt = format_of(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            to_csv(frame, tmp)
    return path


def csv_quoting(frame: pd.DataFrame) -> int:
    """How to quote `frame`'s CSV: every cell when a text cell holds a carriage return, else only where needed.

    Python's CSV writer quotes a cell with a newline but not one with a bare carriage return, which readers
    take for the end of a row: a company "Acme\rInc" split every row of a CRM file in two. (Quoted numbers
    still read as numbers.)"""
    for column in frame.columns:
        values = frame[column]
        text = values.dtype == object or isinstance(values.dtype, pd.StringDtype)
        if text and values.astype("str").str.contains("\r", regex=False).any():
            return csv.QUOTE_ALL
    return csv.QUOTE_MINIMAL


def to_csv(frame: pd.DataFrame, target: Path | None = None, **options: Any) -> str | None:
    """`frame` as CSV without its index, to `target` (else returned as text), quoted as csv_quoting says;
    `options` go to pandas (mode, header)."""
    return frame.to_csv(target, index=False, quoting=csv_quoting(frame), **options)


# How a spreadsheet tells a formula: a cell starting with one of these (Excel and Google Sheets run "=...",
# "+...", "-...", "@...", and a tab or carriage return before them, as a formula when they open a CSV).
FORMULA_START = re.compile(r"[=+\-@\t\r]")


def for_spreadsheets(frame: pd.DataFrame, as_written: tuple[str, ...] = ()) -> pd.DataFrame:
    """`frame` with an apostrophe before each text cell a spreadsheet would read as a formula (OWASP's advice
    on CSV injection): a reason "+ requested a demo" shows as written, not #NAME?, and a company name
    "=HYPERLINK(...)" is never run. Numbers ("-5") are left as they are, and so are the columns `as_written`
    (ids a program joins on)."""
    out = frame
    for column in frame.columns:
        if column in as_written:
            continue
        values = frame[column]
        if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
            continue
        text = values.astype("str")
        risky = text.str.match(FORMULA_START).fillna(False).to_numpy(dtype=bool)
        risky = risky & pd.to_numeric(values.where(risky), errors="coerce").isna().to_numpy()
        if risky.any():
            out = out.assign(**{column: values.astype(object).where(~risky, "'" + text)})
    return out


def from_spreadsheets(values: pd.Series) -> pd.Series:
    """Text cells as they were before `for_spreadsheets` (its apostrophe removed)."""
    text = values.astype("str")
    quoted = text.str.match(r"'[=+\-@\t\r]").fillna(False).to_numpy(dtype=bool)
    return values.where(~quoted, text.str.slice(1)) if quoted.any() else values


def unquoted(frame: pd.DataFrame, as_written: tuple[str, ...] = ()) -> pd.DataFrame:
    """`frame` read back from a file `for_spreadsheets` wrote: each text column as it was before, but the
    columns it kept `as_written`."""
    text = [
        c
        for c in frame.columns
        if c not in as_written and (frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype))
    ]
    return frame.assign(**{c: from_spreadsheets(frame[c]) for c in text}) if text else frame


# The columns of a quarantine CSV written as they are: the row's key is an id a program joins on (the row
# number is a number). The rest (table, column, check, the value as read, the reason) is text people read.
QUARANTINE_IDS = ("key",)


def quarantine_for_csv(quarantine: pd.DataFrame) -> pd.DataFrame:
    """A quarantine as its CSV holds it: people open it in a spreadsheet, and a value as read ("=HYPERLINK(...)",
    "@sum(...)") would run as a formula; for_spreadsheets quotes those. Numbers ("-5") and the keys stay."""
    return for_spreadsheets(quarantine, as_written=QUARANTINE_IDS)


def quarantine_from_csv(quarantine: pd.DataFrame) -> pd.DataFrame:
    """A quarantine read from a CSV `quarantine_for_csv` wrote: the text as it was, without the apostrophes."""
    return unquoted(quarantine, as_written=QUARANTINE_IDS)


# The columns of a run's evaluation, drift and backtest CSVs in MLflow written as they are: ids a program joins on.
ARTIFACT_IDS = ("lead_id", "deal_id", "account_id", *QUARANTINE_IDS)


def artifact_csv(frame: pd.DataFrame) -> str:
    """A frame logged to an MLflow run as CSV text: people open it in a spreadsheet, and a level from the data
    ("=HYPERLINK(...)" as a segment's value) would run as a formula; for_spreadsheets quotes it. Numbers and
    the ids (ARTIFACT_IDS) stay as written; artifact_from_csv reads the text back."""
    return str(to_csv(for_spreadsheets(frame, as_written=ARTIFACT_IDS)))


def artifact_from_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from a CSV `artifact_csv` wrote: the text as it was, without the apostrophes."""
    return unquoted(frame, as_written=ARTIFACT_IDS)


def write_quarantine(quarantine: pd.DataFrame, path: Path) -> Path:
    """Write a quarantine atomically, as Parquet or CSV by the file's suffix (the CSV for spreadsheets)."""
    return write_frame(quarantine_for_csv(quarantine) if format_of(path) == "csv" else quarantine, path)


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, fmt: str = "parquet") -> list[Path]:
    """Write each table as `<folder>/<name>.<fmt>`, each file atomically."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {FORMATS}")
    # Input tables (generate, the demo's CRM): data leadscore and other programs read back, written as they
    # are by design; an apostrophe would change the data. Files for people go through for_spreadsheets.
    return [write_frame(frame, folder / f"{name}.{fmt}") for name, frame in tables.items()]


# --- a run's private working folder ------------------------------------------------------------------------


@contextmanager
def private_workdir(beside: Path) -> Iterator[Path]:
    """An owner-only (0700) folder beside `beside` (same file system), removed at the end.

    Folders left by killed runs (their process is gone) are removed first: they hold input rows.
    """
    parent = beside.parent
    with writing(parent):
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_workdirs(parent)
        folder = Path(tempfile.mkdtemp(prefix=PARTS_PREFIX, dir=parent))  # mkdtemp: mode 0700
        os.chmod(folder, 0o700)
        (folder / "pid").write_text(str(os.getpid()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_workdirs(parent: Path) -> list[Path]:
    """Remove the working folders in `parent` whose run is no longer alive; the ones removed."""
    removed = []
    for folder in parent.glob(f"{PARTS_PREFIX}*"):
        if folder.is_dir() and not _alive(folder / "pid"):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):  # no pid (yet): a run that is starting now, or one killed at its start
        try:
            return time.time() - pid_file.parent.stat().st_mtime < 60
        except OSError:
            return False
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether the process `pid` runs (this one, or another user's, included)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True
