"""Find a CSV's delimiter and header line from its first bytes, and repair encodings.

DuckDB's own sniffer gives up on files with a stray line before the header and guesses
differently from file to file, so we decide the dialect ourselves from the head of the
file (the header is the first of the leading lines that names a TMDB id column) and hand
DuckDB explicit options. Files that are not UTF-8 (spreadsheet re-saves) are transcoded
line by line, each line read as UTF-8 when it is valid and as Windows-1252 otherwise.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

from watchbuddy.schema import ALIASES, normalize_header

HEAD_BYTES = 256 * 1024
MAX_PRELUDE_LINES = 10
DELIMITERS = (",", ";", "\t", "|")
_KNOWN = {normalize_header(a) for aliases in ALIASES.values() for a in aliases}
_ID_NAMES = {normalize_header(a) for a in ALIASES["tmdb_id"]}


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    skip_lines: int  # physical lines before the header
    header: list[str]
    sample_rows: int  # data records seen in the head (for progress estimates)
    sample_bytes: int


def open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with open_binary(path) as handle:
        return handle.read(size)


def sniff(path: Path) -> Dialect | None:
    """The dialect of `path`, or None when no leading line looks like a header with an id."""
    head = read_head(path)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    text = head.replace(b"\x00", b"").decode("utf-8", errors="replace")
    lines = text.splitlines()[:MAX_PRELUDE_LINES]
    best: tuple[int, int, str, list[str]] | None = None  # (score, -line, delimiter, header)
    for index, line in enumerate(lines):
        for delimiter in DELIMITERS:
            fields = next(csv.reader([line], delimiter=delimiter), [])
            if len(fields) < 2:
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
    body = "\n".join(text.splitlines()[skip + 1 :])
    sample_rows = max(sum(1 for _ in csv.reader(io.StringIO(body), delimiter=delimiter)) - 1, 0)
    return Dialect(delimiter, skip, [h.strip() for h in header], sample_rows, len(head))


def first_line(path: Path) -> str:
    head = read_head(path, 4096)
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()[:200]


def transcode_to_utf8(path: Path, out: Path) -> int:
    """Write `path` as clean UTF-8 to `out`; returns how many lines needed Windows-1252."""
    repaired = 0
    with open_binary(path) as src, open(out, "wb") as dst:
        for raw in src:
            line = raw.replace(b"\x00", b"")
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode("cp1252", errors="replace").encode("utf-8")
                repaired += 1
            dst.write(line)
    return repaired
