"""Resuming a fast landing: where Polars' reader stops at a record it cannot read, the frames
the fast path landed before it are kept and DuckDB's reader lands only the records after
them, instead of the whole file again.

Starting over cost the fast path's work up to the record: the demo, whose broken record sits
83% into its movie file, took 1.85x the DuckDB path alone. Resuming is only right if the
kept frames are exactly what the DuckDB path makes of those records. Each cell's answer is
(fast.py's shapes are proved equal to the landing query); what is left is that both readers
cut the same records out of the same bytes, in the same order, which Polars alone cannot
tell: it reads a short record as one with empty cells and a blank line as a record of empty
cells (DuckDB rejects the one and skips the other), a file with mixed line ends or an odd
number of quotes may be split otherwise, and Polars 2.1 may yield records from beyond the
broken one before it raises (having parsed later chunks in parallel, it hands them on in
place of the failed one). So the frame read last is held back until the next one is read,
and a file is resumed only from the end of a run of frames for which
- the identity pass's counts of the whole file rule out line ends of several kinds, a lone
  CR and an odd number of quotes (fast.check_bytes, as for a whole fast landing);
- no kept record is without a cell (a blank line, or a record of empty cells);
- DuckDB's reader, reading as many of the file's first records (`first_records`, the
  columns the landing query reads, without the query), rejects none of them and gives,
  frame by frame, the digest of their cells the fast path took (`fast.cells_digest`: each
  record's cells and number), so the same cells in the same places but for a 64-bit hash
  collision; the run must cover every frame already landed;
- DuckDB's landing, started at the last kept record, gives for it the row the fast path
  gave (the row is then dropped). DuckDB's `skip` counts lines as its line numbers do (a
  record with line breaks inside as one, a blank line as one), so its line numbers stay the
  whole file's; it starts on a record rather than after one because the raw text DuckDB
  keeps of a broken record after blank lines holds those blank lines only when the read
  began before them.
Any doubt, and the file is landed by the DuckDB path from the start, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from watchbuddy.sources.csv.fast import (
    OUTPUT_SCHEMA,
    BrokenRecord,
    NeedsCarefulReader,
    ReadSoFar,
    cells_digest,
    check_bytes,
    query_cells,
    used_columns,
)
from watchbuddy.sources.csv.identity import IdentityPass
from watchbuddy.sql import fill, statement
from watchbuddy.store.schema import ColumnPlan
from watchbuddy.store.views import new_connection

RECORDS_PER_BATCH = 16_384  # small: the check holds one batch and its copies at a time


def resumable(
    frames: Iterator[pl.DataFrame],
    keepable: Callable[[ReadSoFar], tuple[int, str]],
    rest: Callable[[int], Iterator[pl.DataFrame]],
    resumed: Callable[[int, str], None],
) -> Iterator[pl.DataFrame]:
    """The fast path's `frames`, each yielded once the next one is read (the one read last
    may hold records from beyond the broken one: see `fast.polars_batches`); then, where
    they stop at a broken record, the DuckDB path's landing output for the records after
    those `keepable` finds DuckDB reads alike (how many, or 0 and why not), when they
    cover every frame yielded: `rest(n)` yields it from the record after the first n (n =
    those kept less one, whose row is compared here and dropped). `resumed(records kept,
    why)` is told when that happens; otherwise NeedsCarefulReader is raised."""
    held: pl.DataFrame | None = None  # read, not yet yielded
    last: pl.DataFrame | None = None  # the last row yielded
    try:
        for frame in frames:
            if held is not None:
                last = held.tail(1)
                yield held
            held = frame
        if held is not None:
            yield held
        return
    except BrokenRecord as broken:
        why, read = str(broken), broken.read
    records, doubt = keepable(read)
    yielded = read.records - (held.height if held is not None else 0)
    if not records or records < yielded:
        raise NeedsCarefulReader(f"{why}, not resumed: {doubt}")
    if records > yielded and held is not None:  # the frame held back is DuckDB's too
        last = held.tail(1)
        yield held
    assert last is not None
    careful = rest(records - 1)
    first = next(careful, None)
    if first is None or not _same_row(first.head(1), last):
        raise NeedsCarefulReader(f"{why}, not resumed: DuckDB started elsewhere")
    resumed(records, why)
    if first.height > 1:
        yield first.slice(1)
    yield from careful


def _same_row(one: pl.DataFrame, other: pl.DataFrame) -> bool:
    def typed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(pl.col(n).cast(t) for n, t in OUTPUT_SCHEMA.items())

    return typed(one).equals(typed(other))


def keepable(
    path: Path,
    read: ReadSoFar,
    identity: IdentityPass,
    plan: ColumnPlan,
    params: dict[str, object],
    memory_limit: str,
) -> tuple[int, str]:
    """How many of the records Polars read (`read`: whole frames) DuckDB's reader reads
    alike from `path`, and why not more; `params` are the landing query's parameters for
    the whole file (csv_rows'), `identity` the file's pass started with the delimiter."""
    if not read.records:
        return 0, "no record before it"
    if read.blank:
        return 0, "a record without a cell before it (a blank line?)"
    try:
        check_bytes(identity)
    except NeedsCarefulReader as doubt:
        return 0, str(doubt)
    skip = params["skip"]
    assert isinstance(skip, int)
    columns = used_columns(plan)
    query = fill(
        statement("landing.sql", "first_records"),
        rows=statement("landing.sql", "csv_rows"),
        selected=", ".join(columns),
    )
    con = new_connection(memory_limit=memory_limit)
    try:
        batches = con.sql(query, params={**params, "records": read.records}).to_arrow_reader(
            RECORDS_PER_BATCH
        )
        alike = _alike(batches, columns, read.frames)
        for _ in batches:  # read to the end: DuckDB keeps its rejects when the scan ends
            pass
        broken = con.sql(statement("landing.sql", "structural_rejects")).fetchall()
    except (duckdb.Error, OSError) as exc:
        return 0, f"DuckDB could not read them ({type(exc).__name__})"
    finally:
        con.close()
    if any(line <= skip + alike for line, *_ in broken):
        return 0, "DuckDB finds a broken record among them"
    return alike, "DuckDB reads them otherwise"


def _alike(
    batches: Iterable[pa.RecordBatch], columns: list[str], frames: tuple[tuple[int, int], ...]
) -> int:
    """The records of the longest run of Polars' `frames` (records so far, digest so far)
    whose digests DuckDB's records (`batches`, in order) give too."""
    ends = iter(frames)
    end = next(ends, None)
    records = digest = alike = 0
    for batch in batches:
        table = pl.from_arrow(batch)
        assert isinstance(table, pl.DataFrame)
        cells = query_cells(table, columns)
        while end is not None and cells.height:
            part = cells.head(end[0] - records)
            digest = cells_digest(part, records, digest)
            records += part.height
            cells = cells.slice(part.height)
            if records < end[0]:
                break
            if digest != end[1]:
                return alike
            alike = records
            end = next(ends, None)
        if end is None:
            break
    return alike
