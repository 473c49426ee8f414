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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from watchbuddy.store.schema import MERGED_FIELDS, TITLE_SCHEMA
from watchbuddy.store.views import define_views, known_condition, new_connection
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse, writing

# The records the pool's merge can still use (`pool_records`, sql/pool.sql): per title the
# newest title record, the newest TMDB record (when TMDB last served the title, which
# decides whether an older removal still stands) and the newest record knowing each field.
# Vote refreshes stay in their own table and take part in choosing the winners.
SNAPSHOT_SQL = """
WITH winners AS (
    SELECT media_type, tmdb_id, [
        max(record_order) FILTER (WHERE refreshed_at IS NULL),
        max(record_order) FILTER (WHERE refreshed_at IS NULL AND source = 'tmdb'),
        {field_winners}
    ] AS orders
    FROM pool_records
    GROUP BY media_type, tmdb_id
)
SELECT {title_columns}
FROM pool_records JOIN winners USING (media_type, tmdb_id)
WHERE refreshed_at IS NULL AND list_contains(orders, record_order) {drop_demo}
"""
WRITE_SQL = """
COPY ({snapshot} ORDER BY media_type, original_language, release_date)
TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)
"""
# How many records a snapshot keeps, asked before writing one (nothing to drop: no rewrite).
KEPT_SQL = "SELECT count(*) FROM ({snapshot})"


def snapshot_sql(drop_demo: bool = False) -> str:
    """The records a snapshot keeps (with `drop_demo`, no synthetic ones)."""
    winners = ",\n        ".join(
        f"max(record_order) FILTER (WHERE {known_condition(f)})" for f in MERGED_FIELDS
    )
    return SNAPSHOT_SQL.format(
        field_winners=winners,
        title_columns=", ".join(TITLE_SCHEMA.names),
        drop_demo="AND NOT synthetic" if drop_demo else "",
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
        spill = str(writer.tmp_dir / "spill").replace("'", "''")
        con.execute(f"SET temp_directory = '{spill}'")
        try:
            define_views(con, warehouse, manifest, materialize=False)
            rows_before = con.sql("SELECT count(*) FROM titles").fetchall()[0][0]
            snapshot = snapshot_sql(drop_demo)
            kept = con.sql(KEPT_SQL.format(snapshot=snapshot)).fetchall()[0][0]
            if len(files) == 1 and kept == rows_before:
                return CompactReport(
                    1, rows_before, rows_before, round(time.perf_counter() - started, 3), False
                )
            tmp = writer.tmp_file()
            # The path is ours (a uuid under the warehouse), not user input.
            path = str(tmp).replace("'", "''")
            with writing(tmp):
                con.execute(WRITE_SQL.format(snapshot=snapshot, path=path))
            rows_after, titles = con.sql(
                "SELECT count(*), count(DISTINCT (media_type, tmdb_id)) FROM read_parquet(?)",
                params=[str(tmp)],
            ).fetchall()[0]
        finally:
            con.close()
        batch = writer.allocate_batch()
        staged = writer.stage("titles", tmp, f"snapshot-{batch:06d}.parquet")
        writer.commit(replace={"titles": [staged]})
    return CompactReport(
        len(files), rows_before, rows_after, round(time.perf_counter() - started, 3), True, titles
    )
