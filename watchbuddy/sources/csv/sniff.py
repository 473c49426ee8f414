"""Find a CSV's delimiter and header line from its first lines, and repair encodings.

DuckDB's own sniffer gives up on files with a stray line before the header and guesses
differently from file to file, so we decide the dialect ourselves from the head of the
file (the header is the first of the leading lines that names a TMDB id column) and hand
DuckDB explicit options.

Files DuckDB's reader cannot take as they are get a repaired UTF-8 copy (`transcode_to_utf8`):
text with a UTF-16 or UTF-32 byte-order mark (Excel's "Unicode text") is decoded, other
files are read line by line as UTF-8 when valid and as Windows-1252 otherwise (spreadsheet
re-saves), NUL bytes are dropped, and every record end outside a quoted cell becomes LF.
DuckDB's strict reader refuses a file whose line ends are mixed (a CRLF header on LF rows,
one hand-edited line), while Python's csv module and pandas take each CR, LF or CRLF as the
end of a record; the copy makes them agree. Clean files never pay for the repair: it runs
only for a UTF-16 or UTF-32 byte-order mark, bytes that are not UTF-8, or a file the
reader refused or found broken records in (see `land.land_file`).

The sniffer must never fail a file that DuckDB's reader can read: it looks only at whole
lines (a header cut off by a fixed-size read would misnumber every column), reads as far
as the first lines reach up to the reader's own line limit, and treats a line Python's
`csv` module cannot parse (a field over its 128 KB limit, a stray quote that swallows the
rest of the head) as "not the header" rather than as an error.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from watchbuddy.store.schema import ALIASES, normalize_header

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
# Byte-order marks, longest first (UTF-32LE's begins with UTF-16LE's).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
REPAIR_CHUNK = 1 << 20
# The rest of a quoted cell up to a quote that may close it ("" inside is a quote).
_QUOTED_REST = re.compile(rb'[^"]*(?:""[^"]*)*"')


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    skip_lines: int  # physical lines before the header
    header: list[str]
    sample_rows: int  # data records seen in the head (for progress estimates)
    sample_bytes: int  # of the head as UTF-8
    encoding: str = "utf-8"  # Python's codec name; anything else is transcoded before reading


def detect_encoding(head: bytes) -> tuple[str, int]:
    """The encoding a file's byte-order mark declares (UTF-8 when it has none), and the
    mark's length. Only a mark is trusted: guessing from the bytes misreads short files."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    return "utf-8", 0


def encoding_label(codec: str) -> str:
    """'utf-16-le' -> 'UTF-16LE', the name users see in their editors."""
    name = codec.upper()
    return name[:-3] + name[-2:] if name.endswith(("-LE", "-BE")) else name


def open_binary(source: Path, compressed: bool) -> io.BufferedIOBase:
    if compressed:
        return gzip.open(source, "rb")
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
    encoding, bom = detect_encoding(head)
    head = head[bom:]
    if encoding != "utf-8":
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        head = decoder.decode(head, final=whole).encode("utf-8", errors="replace")
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
        delimiter,
        skip,
        [h.strip() for h in header],
        sample_rows,
        body_start + len(body),
        encoding,
    )


@dataclass
class Repair:
    """What making a UTF-8 copy took, for the import report."""

    encoding: str = "utf-8"  # what the source was decoded from
    cp1252_lines: int = 0  # lines that were not UTF-8 and were read as Windows-1252
    line_ends: set[str] = field(default_factory=set)  # 'CRLF', 'LF', 'CR' outside quotes

    @property
    def mixed_line_ends(self) -> bool:
        return len(self.line_ends) > 1


def transcode_to_utf8(
    source: Path,
    out: Path,
    compressed: bool = False,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Repair:
    """Write `source` to `out` as UTF-8 without NUL bytes, each record ending in LF."""
    repair = Repair(encoding=encoding)
    with open_binary(source, compressed) as src, open(out, "wb") as dst:
        for piece in _repaired(_chunks(src, encoding), encoding, delimiter, repair):
            dst.write(piece)
    return repair


def has_mixed_line_ends(source: Path, compressed: bool = False, *, delimiter: str = ",") -> bool:
    """Whether record ends of more than one kind (CR, LF, CRLF) occur outside quoted cells,
    found without writing a copy: most files with broken records are just broken (a
    download cut off). A file with one kind of line end throughout, quoted cells included,
    is told by counting bytes; only one with several kinds anywhere (an Excel export keeps
    LF inside cells and CRLF after records) needs the slower pass that knows quotes."""
    counts = {"CRLF": 0, "CR": 0, "LF": 0}
    with open_binary(source, compressed) as src:
        carry = b""
        while chunk := src.read(REPAIR_CHUNK):
            chunk, carry = carry + chunk, b""
            if chunk.endswith(b"\r"):  # its LF may open the next chunk
                chunk, carry = chunk[:-1], b"\r"
            crlf = chunk.count(b"\r\n")
            counts["CRLF"] += crlf
            counts["CR"] += chunk.count(b"\r") - crlf
            counts["LF"] += chunk.count(b"\n") - crlf
        counts["CR"] += len(carry)
    if sum(1 for count in counts.values() if count) <= 1:
        return False
    repair = Repair()
    with open_binary(source, compressed) as src:
        for _ in _repaired(_chunks(src, "utf-8"), "utf-8", delimiter, repair):
            if repair.mixed_line_ends:
                return True
    return repair.mixed_line_ends  # a CR that ends the file counts only once it has ended


def utf8_csv_bytes(data: bytes, delimiter: str = ",") -> bytes:
    """A whole small CSV (a watched list) repaired as landing repairs files: decoded by its
    byte-order mark or as UTF-8 / Windows-1252, NUL bytes dropped, record ends LF."""
    encoding, bom = detect_encoding(data)
    return b"".join(_repaired([data[bom:]], encoding, delimiter, Repair(encoding=encoding)))


def _chunks(handle: io.BufferedIOBase, encoding: str) -> Iterator[bytes]:
    """The file's bytes in chunks, without a UTF-16/32 byte-order mark (the decoder would
    keep it as a character)."""
    first = handle.read(REPAIR_CHUNK)
    if encoding != "utf-8":
        first = first[detect_encoding(first)[1] :]
    while first:
        yield first
        first = handle.read(REPAIR_CHUNK)


def _repaired(
    chunks: Iterable[bytes], encoding: str, delimiter: str, repair: Repair
) -> Iterator[bytes]:
    text = _decoded(chunks, encoding) if encoding != "utf-8" else _utf8_or_cp1252(chunks, repair)
    ends = _RecordEnds(delimiter, repair)
    for piece in text:
        piece = piece.replace(b"\x00", b"")
        if piece:
            yield ends.feed(piece)
    ends.finish()


def _decoded(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8", errors="replace")
    yield decoder.decode(b"", final=True).encode("utf-8", errors="replace")


def _utf8_or_cp1252(chunks: Iterable[bytes], repair: Repair) -> Iterator[bytes]:
    """Whole lines at a time, each kept when it is UTF-8 and read as Windows-1252 when not
    (a file edited in two programs mixes both). A line over the reader's limit is cut where
    no UTF-8 character is split: the reader rejects it anyway."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        cut = max(buffer.rfind(b"\n"), buffer.rfind(b"\r")) + 1
        if not cut and len(buffer) > MAX_LINE_BYTES:
            cut = len(buffer)
            while cut > len(buffer) - 4 and 0x80 <= buffer[cut - 1] < 0xC0:
                cut -= 1  # continuation bytes: cut before their lead byte
            cut = cut - 1 if buffer[cut - 1] >= 0xC0 else cut
        if cut > 0:
            yield _utf8_lines(buffer[:cut], repair)
            buffer = buffer[cut:]
    if buffer:
        yield _utf8_lines(buffer, repair)


def _utf8_lines(block: bytes, repair: Repair) -> bytes:
    try:
        block.decode("utf-8")
        return block
    except UnicodeDecodeError:
        pass
    lines = block.splitlines(keepends=True)
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines[i] = line.decode("cp1252", errors="replace").encode("utf-8")
            repair.cp1252_lines += 1
    return b"".join(lines)


class _RecordEnds:
    """Rewrites each CR, LF or CRLF outside a quoted cell as LF, across chunk boundaries,
    and notes which kinds it saw. Quoting as DuckDB's reader and Python's csv module see
    it: a quote opens a cell only at the start of a field, `""` inside one is a quote, and
    a line end inside a quoted cell belongs to the cell and stays as written."""

    def __init__(self, delimiter: str, repair: Repair) -> None:
        self.delimiter = delimiter.encode()[0]
        self.repair = repair
        self.inside = False  # within a quoted cell
        self.after_quote = False  # a quote that closes the cell, unless another follows
        self.field_start = True
        self.pending_cr = False  # a CR ended the last chunk; an LF may follow

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        pos, n = 0, len(chunk)
        if self.pending_cr:
            self.pending_cr = False
            if chunk.startswith(b"\n"):
                self.repair.line_ends.add("CRLF")
                pos = 1  # its LF was written with the CR
            else:
                self.repair.line_ends.add("CR")
        while pos < n:
            if self.inside:
                match = _QUOTED_REST.match(chunk, pos)
                if match is None:
                    out.append(chunk[pos:])
                    break
                out.append(chunk[pos : match.end()])
                pos = match.end()
                self.inside, self.after_quote = False, True
                continue
            if self.after_quote:
                self.after_quote = False
                if chunk[pos] == 0x22:  # "" inside a quoted cell
                    out.append(b'"')
                    pos += 1
                    self.inside = True
                    continue
                self.field_start = False
            quote = chunk.find(b'"', pos)
            end = n if quote < 0 else quote
            if end > pos:
                out.append(self._outside(chunk[pos:end], at_chunk_end=quote < 0))
            if quote < 0:
                break
            out.append(b'"')
            self.inside = self.field_start  # elsewhere a quote is just a character
            self.field_start = False
            pos = quote + 1
        return b"".join(out)

    def _outside(self, text: bytes, at_chunk_end: bool) -> bytes:
        if b"\r" not in text:  # most text between quotes: no work beyond two memchr
            if b"\n" in text:
                self.repair.line_ends.add("LF")
            self.field_start = text[-1] in (self.delimiter, 0x0A)
            return text
        crlf = text.count(b"\r\n")
        cr = text.count(b"\r") - crlf
        lf = text.count(b"\n") - crlf
        if at_chunk_end and text.endswith(b"\r"):
            cr -= 1
            self.pending_cr = True
        for kind, count in (("CRLF", crlf), ("CR", cr), ("LF", lf)):
            if count:
                self.repair.line_ends.add(kind)
        if crlf or cr or self.pending_cr:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self.field_start = text[-1] in (self.delimiter, 0x0A)
        return text

    def finish(self) -> None:
        if self.pending_cr:
            self.repair.line_ends.add("CR")
