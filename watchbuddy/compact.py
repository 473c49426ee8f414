"""Compaction: rewrite the landed records into one deduplicated snapshot, sorted for filters.

Every CSV version and TMDB delta adds files, and the `pool` view deduplicates them on every
query. Compaction keeps exactly the rows `pool` would pick (the newest record of each
`(media_type, tmdb_id)`, with their original batch and row numbers, so the pool reads the
same before and after), sorted by media type, language and release date so Parquet
row-group statistics let DuckDB skip most of the file for the common filters. It is
published with one manifest commit; the replaced files stay on disk for the retirement
grace period so readers that opened the previous manifest keep working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from watchbuddy.views import define_views, new_connection
from watchbuddy.warehouse import Warehouse

SNAPSHOT_SQL = """
COPY (
    SELECT * EXCLUDE (_rank)
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY media_type, tmdb_id ORDER BY batch DESC, source_row DESC
        ) AS _rank
        FROM titles
    )
    WHERE _rank = 1
    ORDER BY media_type, original_language, release_date
) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)
"""


@dataclass(frozen=True)
class CompactReport:
    files_before: int
    rows_before: int
    rows_after: int
    seconds: float
    changed: bool


def compact(warehouse: Warehouse, memory_limit: str = "1GB") -> CompactReport:
    started = time.perf_counter()
    with warehouse.writer("compact", wait_seconds=30.0) as writer:
        manifest = warehouse.read_manifest()
        files = manifest.files("titles")
        if not files:
            return CompactReport(0, 0, 0, 0.0, False)
        con = new_connection(memory_limit=memory_limit)
        # Spill the sort under tmp/ (cleaned by the next writer if we die) rather than /tmp.
        spill = str(writer.tmp_dir / "spill").replace("'", "''")
        con.execute(f"SET temp_directory = '{spill}'")
        try:
            define_views(con, warehouse, manifest, materialize=False)
            rows_before = con.sql("SELECT count(*) FROM titles").fetchall()[0][0]
            if len(files) == 1:
                distinct = con.sql(
                    "SELECT count(*) FROM (SELECT DISTINCT media_type, tmdb_id FROM titles)"
                ).fetchall()[0][0]
                if distinct == rows_before:
                    return CompactReport(
                        1, rows_before, rows_before, round(time.perf_counter() - started, 3), False
                    )
            tmp = writer.tmp_file()
            # The path is ours (a uuid under the warehouse), not user input.
            con.execute(SNAPSHOT_SQL.format(path=str(tmp).replace("'", "''")))
            rows_after = con.sql(
                "SELECT count(*) FROM read_parquet(?)", params=[str(tmp)]
            ).fetchall()[0][0]
        finally:
            con.close()
        batch = writer.allocate_batch()
        staged = writer.stage("titles", tmp, f"snapshot-{batch:06d}.parquet")
        writer.commit(replace={"titles": [staged]})
    return CompactReport(
        len(files), rows_before, rows_after, round(time.perf_counter() - started, 3), True
    )
