"""An export's CSV rows, read the way the landing reads a small CSV: by its byte-order mark
or as UTF-8 / Windows-1252 (older IMDb exports), NUL bytes dropped, any line ends."""

from __future__ import annotations

import csv
import io

from watchbuddy.sources.csv.sniff import utf8_csv_bytes
from watchbuddy.store.schema import normalize_header


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The normalized header (`Your Rating` -> `your_rating`) and each record with the line
    it starts on, its cells under the normalized names (a missing cell is '')."""
    text = utf8_csv_bytes(data).decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [normalize_header(c) for c in next(reader, [])]
    rows = []
    line = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            cells = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)}
            rows.append((line, cells))
        line = reader.line_num + 1
    return header, rows


def header_of(data: bytes) -> list[str]:
    """The normalized header alone (format detection)."""
    return read_rows(data[:65536].rsplit(b"\n", 1)[0] if len(data) > 65536 else data)[0]
