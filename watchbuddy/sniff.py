"""Find a CSV's delimiter and header line from its first lines, and repair encodings.

DuckDB's own sniffer gives up on files with a stray line before the header and guesses
differently from file to file, so we decide the dialect ourselves from the head of the
file (the header is the first of the leading lines that names a TMDB id column) and hand
DuckDB explicit options. Files that are not UTF-8 (spreadsheet re-saves) are transcoded
line by line, each line read as UTF-8 when it is valid and as Windows-1252 otherwise.

The sniffer must never fail a file that DuckDB's reader can read: it looks only at whole
lines (a header cut off by a fixed-size read would misnumber every column), reads as far
as the first lines reach up to the reader's own line limit, and treats a line Python's
`csv` module cannot parse (a field over its 128 KB limit, a stray quote that swallows the
rest of the head) as "not the header" rather than as an error.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

from watchbuddy.schema import ALIASES, normalize_header

HEAD_BYTES = 256 * 1024
MAX_PRELUDE_LINES = 10
# DuckDB's `max_line_size` in the landing query: a longer line is a broken record there,
# so it cannot be the header here.
MAX_LINE_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
_KNOWN = {normalize_header(a) for aliases in ALIASES.values() for a in aliases}
_ID_NAMES = {normalize_header(a) for a in ALIASES["tmdb_id"]}
# The line ends DuckDB's reader knows (a lone CR too), not str.splitlines()' dozen.
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    skip_lines: int  # physical lines before the header
    header: list[str]
    sample_rows: int  # data records seen in the head (for progress estimates)
    sample_bytes: int


def open_binary(source: Path, compressed: bool) -> io.BufferedIOBase:
    if compressed:
        return gzip.open(source, "rb")  # type: ignore[return-value]
    return open(source, "rb")


def _read_head(handle: io.BufferedIOBase) -> tuple[bytes, bool]:
    """At least HEAD_BYTES, and more until the first MAX_PRELUDE_LINES + 1 lines are whole
    (or the file ends, or those lines would be over the reader's line limit anyway).
    Returns the bytes and whether they are the whole file."""
    cap = (MAX_PRELUDE_LINES + 1) * MAX_LINE_BYTES + HEAD_BYTES
    head = handle.read(HEAD_BYTES)
    whole = len(head) < HEAD_BYTES
    while not whole and len(head) < cap and len(_LINE_END.findall(head)) <= MAX_PRELUDE_LINES:
        wanted = min(len(head), cap - len(head))
        more = handle.read(wanted)
        head += more
        whole = len(more) < wanted
    return head, whole


def _fields(line: str, delimiter: str) -> list[str] | None:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a field over the csv module's limit: not a header line
        return None


def _count_records(body: bytes, delimiter: str) -> int:
    text = body.decode("utf-8", errors="replace")
    try:
        return sum(1 for _ in csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:  # an over-long field or a runaway quote: lines are estimate enough
        return len(_LINE_END.findall(body))


def sniff(source: Path, compressed: bool = False) -> Dialect | None:
    """The dialect of `source`, or None when no leading line looks like a header with an id."""
    with open_binary(source, compressed) as handle:
        head, whole = _read_head(handle)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    head = head.replace(b"\x00", b"")
    # (start, end) of each of the first lines, line end excluded; only whole lines count.
    spans: list[tuple[int, int, int]] = []  # start, end, start of the next line
    start = 0
    for match in _LINE_END.finditer(head):
        spans.append((start, match.start(), match.end()))
        start = match.end()
        if len(spans) > MAX_PRELUDE_LINES:
            break
    if whole and start < len(head) and len(spans) <= MAX_PRELUDE_LINES:
        spans.append((start, len(head), len(head)))
    best: tuple[int, int, str, list[str]] | None = None  # (score, -line, delimiter, header)
    for index, (begin, end, _) in enumerate(spans[:MAX_PRELUDE_LINES]):
        if end - begin > MAX_LINE_BYTES:
            break  # the reader rejects this line; a header after it would be misnumbered
        line = head[begin:end].decode("utf-8", errors="replace")
        for delimiter in DELIMITERS:
            fields = _fields(line, delimiter)
            if fields is None or len(fields) < 2:
                continue
            names = {normalize_header(f) for f in fields}
            if not names & _ID_NAMES:
                continue
            score = len(names & _KNOWN)
            candidate = (score, -index, delimiter, fields)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return None
    _, neg_index, delimiter, header = best
    skip = -neg_index
    body_start = spans[skip][2]
    body = head[body_start : body_start + HEAD_BYTES]
    complete = whole and body_start + HEAD_BYTES >= len(head)
    sample_rows = max(_count_records(body, delimiter) - (0 if complete else 1), 0)
    return Dialect(
        delimiter, skip, [h.strip() for h in header], sample_rows, body_start + len(body)
    )


def transcode_to_utf8(source: Path, out: Path, compressed: bool = False) -> int:
    """Write `source` as clean UTF-8 to `out`; returns how many lines needed Windows-1252."""
    repaired = 0
    with open_binary(source, compressed) as src, open(out, "wb") as dst:
        for raw in src:
            line = raw.replace(b"\x00", b"")
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode("cp1252", errors="replace").encode("utf-8")
                repaired += 1
            dst.write(line)
    return repaired
