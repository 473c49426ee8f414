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

from watchbuddy.sql import fill, statement
from watchbuddy.store.schema import TITLE_SCHEMA
from watchbuddy.store.views import define_views, field_winners, new_connection
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse, writing

FILE = "compact.sql"


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
