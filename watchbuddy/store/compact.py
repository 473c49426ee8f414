"""Compaction: rewrite the landed records into one snapshot, sorted for filters.

Every CSV version and TMDB delta adds files, and the pool merges them field by field. A
record can be dropped only when it can never matter again: when every field it knows is
known by a newer record of the title (and it is not the title's newest record, whose
provenance the pool shows, nor its newest TMDB record, which says when TMDB last served
it), or when it is synthetic and a real record of the title exists.
Compaction keeps every other record with its original batch, row and fetch time, so the
pool reads exactly the same before and after, and keeps reading the same whatever lands
later (the winner of each field is kept). The snapshot is sorted by media type, language
and release date so Parquet row-group statistics let DuckDB skip most of it for the common
filters. It is published with one manifest commit; the replaced files stay on disk for the
retirement grace period so readers that opened the previous manifest keep working.

Popularity history lands as one file per (media type, day, regular/adult); a title's whole
history then opens every one of them. Compaction merges the day files into one file per
(media type, calendar month), sorted by (id, day): a lookup reads one row group per month,
and a month file's date statistics still let the pool's trend window skip older months.
Every row is kept as it is; the `exports` records (not the files) say which days landed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from watchbuddy.sql import fill, statement
from watchbuddy.store.schema import HISTORY_PARQUET, POPULARITY_HISTORY_SCHEMA, TITLE_SCHEMA
from watchbuddy.store.views import define_views, field_winners, new_connection
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse, writing

FILE = "compact.sql"
HISTORY = "popularity_history"
MONTH_PREFIX = "month-"  # a compacted history file's name starts so; a landed day's never does
# Row groups of a month file: a lookup of one title reads the footer's statistics of every
# group and decompresses the one group holding the id. Measured on 90 days x 1.465M titles
# (benchmarks/bench_trend.py, 6 month files), one title's history warm / fresh connection:
# 64K rows 24.5 / 44.4 ms, 128K 12.6 / 30.1 ms, 256K 7.9 / 22.1 ms, 1M 11.3 / 25.1 ms; the
# bytes on disk are the same.
MONTH_ROW_GROUP = 262_144


def snapshot_sql() -> str:
    """The records a snapshot keeps (parameter $drop_demo: with it, no synthetic ones)."""
    winners = field_winners(lambda f: "record_order")
    return fill(
        statement(FILE, "snapshot"),
        field_winners=",\n        ".join(winners.values()),
        title_columns=", ".join(TITLE_SCHEMA.names),
    )


@dataclass(frozen=True)
class CompactReport:
    files_before: int
    rows_before: int  # records before
    rows_after: int  # records kept (at least one per title; more where fields come from several)
    seconds: float
    changed: bool
    titles: int = 0


def compact(
    warehouse: Warehouse, memory_limit: str = "1GB", drop_demo: bool = False
) -> CompactReport:
    """Rewrite the titles into one snapshot when that drops a record (or, with `drop_demo`,
    also every synthetic demo record: the demo titles leave the pool)."""
    started = time.perf_counter()
    with warehouse.writer("compact", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        manifest = warehouse.read_manifest()
        files = manifest.files("titles")
        if not files:
            return CompactReport(0, 0, 0, 0.0, False)
        con = new_connection(memory_limit=memory_limit)
        # Spill the sort under tmp/ (cleaned by the next writer if we die) rather than /tmp.
        con.execute(statement(FILE, "spill_to"), {"path": str(writer.tmp_dir / "spill")})
        try:
            define_views(con, warehouse, manifest, materialize=False)
            rows_before = con.sql(statement(FILE, "records")).fetchall()[0][0]
            snapshot = snapshot_sql()
            demo = {"drop_demo": drop_demo}
            kept_sql = fill(statement(FILE, "kept"), snapshot=snapshot)
            kept = con.sql(kept_sql, params=demo).fetchall()[0][0]
            if len(files) == 1 and kept == rows_before:
                return CompactReport(
                    1, rows_before, rows_before, round(time.perf_counter() - started, 3), False
                )
            tmp = writer.tmp_file()
            with writing(tmp):
                con.execute(
                    fill(statement(FILE, "write"), snapshot=snapshot), {**demo, "path": str(tmp)}
                )
            rows_after, titles = con.sql(
                statement(FILE, "written"), params={"path": str(tmp)}
            ).fetchall()[0]
        finally:
            con.close()
        batch = writer.allocate_batch()
        staged = writer.stage("titles", tmp, f"snapshot-{batch:06d}.parquet")
        writer.commit(replace={"titles": [staged]})
    return CompactReport(
        len(files), rows_before, rows_after, round(time.perf_counter() - started, 3), True, titles
    )


@dataclass(frozen=True)
class HistoryCompactReport:
    day_files: int  # history files not yet in a month file, before
    months: int  # month files written
    rows: int  # rows rewritten (the same rows, sorted)
    seconds: float

    @property
    def changed(self) -> bool:
        return self.months > 0


def is_month_file(path: str) -> bool:
    return PurePosixPath(path).name.startswith(MONTH_PREFIX)


def history_day_files(files: list[str]) -> list[str]:
    """The published history files not yet merged into a month file."""
    return [f for f in files if not is_month_file(f)]


def _month_of(path: Path) -> tuple[str, str, int] | None:
    """(media type, YYYY-MM, rows) from the file's footer, or None when it spans more than
    one (a file compaction does not understand is left as it is)."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    kinds: set[str] = set()
    months: set[str] = set()
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        kind = row_group.column(names.index("media_type")).statistics
        date = row_group.column(names.index("date")).statistics
        if kind is None or date is None or not (kind.has_min_max and date.has_min_max):
            return None
        kinds.update(str(k) for k in (kind.min, kind.max))
        months.update(f"{d.year:04d}-{d.month:02d}" for d in (date.min, date.max))
    if len(kinds) != 1 or len(months) != 1:
        return None
    return kinds.pop(), months.pop(), meta.num_rows


def compact_history(warehouse: Warehouse, memory_limit: str = "1GB") -> HistoryCompactReport:
    """Merge the history day files into month files (one commit; readers unaffected)."""
    started = time.perf_counter()
    with warehouse.writer("compact", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        files = warehouse.read_manifest().files(HISTORY)
        pending = history_day_files(files)
        months: dict[tuple[str, str], list[str]] = {}
        rows: dict[str, int] = {}
        for file in files:
            key = _month_of(warehouse.root / file)
            if key is not None:
                months.setdefault(key[:2], []).append(file)
                rows[file] = key[2]
        todo = {k: v for k, v in months.items() if history_day_files(v)}
        if not todo:
            return HistoryCompactReport(len(pending), 0, 0, 0.0)
        con = new_connection(memory_limit=memory_limit)
        con.execute(statement(FILE, "spill_to"), {"path": str(writer.tmp_dir / "spill")})
        written: list[str] = []
        total = 0
        try:
            for (media_type, month), sources in sorted(todo.items()):
                expected = sum(rows[f] for f in sources)
                tmp = writer.tmp_file()
                with writing(tmp):
                    got = _write_month(con, [warehouse.root / f for f in sources], tmp)
                if got != expected:
                    raise RuntimeError(f"{media_type} {month}: wrote {got} of {expected} rows")
                total += got
                batch = writer.allocate_batch()
                name = f"{MONTH_PREFIX}{media_type}-{month}-{batch:06d}.parquet"
                written.append(writer.stage(HISTORY, tmp, name))
        finally:
            con.close()
        merged = {f for sources in todo.values() for f in sources}
        writer.commit(replace={HISTORY: [f for f in files if f not in merged] + written})
    return HistoryCompactReport(
        len(pending), len(written), total, round(time.perf_counter() - started, 3)
    )


def _write_month(con: duckdb.DuckDBPyConnection, sources: list[Path], tmp: Path) -> int:
    """Stream the sorted rows into a file written like the landing's (DuckDB sorts, spilling
    to disk when it must; pyarrow writes the encodings DuckDB's writer cannot be told)."""
    options = {k: v for k, v in HISTORY_PARQUET.items() if k != "row_group_size"}
    group_rows = MONTH_ROW_GROUP
    paths = {"paths": [str(p) for p in sources]}
    reader = con.sql(statement(FILE, "history_month"), params=paths).to_arrow_reader(group_rows)
    rows = 0
    pending: list[pa.RecordBatch] = []  # DuckDB hands over at most 122,880 rows a batch
    with pq.ParquetWriter(tmp, POPULARITY_HISTORY_SCHEMA, **options) as out:
        for batch in reader:
            pending.append(batch.cast(POPULARITY_HISTORY_SCHEMA))
            rows += batch.num_rows
            if sum(b.num_rows for b in pending) >= group_rows:
                table = pa.Table.from_batches(pending)
                out.write_table(table.slice(0, group_rows), row_group_size=group_rows)
                pending = table.slice(group_rows).to_batches()
        if pending:
            out.write_table(pa.Table.from_batches(pending, POPULARITY_HISTORY_SCHEMA))
    return rows
