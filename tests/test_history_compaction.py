"""Compaction of the popularity history: landed day files merged into month files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

import watchbuddy
from tests.conftest import run_cli
from tests.test_exports import make_server, settings_for
from watchbuddy.jobs.specs import COMPACT_WHEN_HISTORY_FILES, compact_when_piled_up
from watchbuddy.pool.detail import popularity_history
from watchbuddy.settings import Settings
from watchbuddy.sources.exports.land import land_exports
from watchbuddy.sources.tmdb.ingest import ingest_new_content
from watchbuddy.store.compact import compact_history, history_day_files, is_month_file
from watchbuddy.store.warehouse import Warehouse

ALL_ROWS = (
    "SELECT media_type, tmdb_id, date, popularity, adult FROM popularity_history ORDER BY ALL"
)
TREND = (
    "SELECT media_type, tmdb_id, popularity, popularity_change_7d, popularity_change_30d, "
    "trend_score, removed_from_tmdb_at FROM pool ORDER BY media_type, tmdb_id"
)


def history_files(settings: Settings) -> list[str]:
    return Warehouse(settings.warehouse).read_manifest().files("popularity_history")


def test_month_files_keep_every_row_the_pool_and_open_readers(tmp_path):
    """Days across a month boundary land, then compact: the same rows, the same pool trend,
    one file per (media type, month), no day landed twice, and a connection opened before
    the compaction still reads the retired day files."""
    today = dt.date(2026, 7, 3)
    first = dt.date(2026, 6, 27)  # the window crosses a month boundary
    with make_server(today=today) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        ingest_new_content(settings, "movie")
        landed = land_exports(settings, "all", since=first, until=today, today=today)
        assert landed.run.status == "ok"
        before = watchbuddy.connect(settings.warehouse)
        rows = before.sql(ALL_ROWS).fetchall()
        trend = before.sql(TREND).fetchall()
        some_ids = [r[1] for r in rows[:: max(1, len(rows) // 7)]][:7]
        lookups = {i: popularity_history(before, "movie", i).rows() for i in some_ids}
        day_files = history_files(settings)
        assert len(history_day_files(day_files)) == len(day_files) > COMPACT_WHEN_HISTORY_FILES

        report = compact_history(Warehouse(settings.warehouse), settings.duckdb_memory_limit)

        months = {(d.year, d.month) for d in (first, today)}
        assert report.changed and report.months == 2 * len(months) == 4
        assert report.day_files == len(day_files) and report.rows == len(rows)
        files = history_files(settings)
        assert len(files) == 4 and all(is_month_file(f) for f in files)
        assert history_day_files(files) == []
        retired = {r["path"] for r in Warehouse(settings.warehouse).read_manifest().retired}
        assert set(day_files) <= retired
        # The reader opened before the compaction still reads its (retired) day files.
        assert before.sql(ALL_ROWS).fetchall() == rows
        after = watchbuddy.connect(settings.warehouse)
        assert after.sql(ALL_ROWS).fetchall() == rows
        assert after.sql(TREND).fetchall() == trend
        for tmdb_id, history in lookups.items():
            assert popularity_history(after, "movie", tmdb_id).rows() == history
        for file in files:
            check_month_file(settings.warehouse / file)
        # The `exports` records still say which days landed: nothing lands twice.
        again = land_exports(settings, "all", since=first, until=today, today=today)
        assert again.files == [] and history_files(settings) == files
        # Nothing left to compact: no rewrite.
        nothing = compact_history(Warehouse(settings.warehouse))
        assert not nothing.changed and history_files(settings) == files


def check_month_file(path: Path) -> None:
    """Sorted by (id, day), one media type and month, written like the landing's files."""
    table = pq.read_table(path)
    keys = list(zip(table["tmdb_id"].to_pylist(), table["date"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert len(set(table["media_type"].to_pylist())) == 1
    assert len({(d.year, d.month) for d in table["date"].to_pylist()}) == 1
    meta = pq.ParquetFile(path).metadata
    assert all(meta.row_group(g).num_rows <= 65536 for g in range(meta.num_row_groups))
    columns = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    group = meta.row_group(0)
    assert "DELTA_BINARY_PACKED" in group.column(columns["tmdb_id"]).encodings
    assert "BYTE_STREAM_SPLIT" in group.column(columns["popularity"]).encodings
    assert group.column(0).compression == "ZSTD"


def test_a_late_day_joins_its_month_file(tmp_path):
    day = dt.date(2026, 6, 15)
    with make_server(today=day) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        land_exports(settings, "movie", since=day - dt.timedelta(days=3), until=day, today=day)
        compact_history(Warehouse(settings.warehouse))
        land_exports(settings, "movie", since=day - dt.timedelta(days=5), until=day, today=day)
        rows = watchbuddy.connect(settings.warehouse).sql(ALL_ROWS).fetchall()
        assert len(history_day_files(history_files(settings))) == 4  # 2 days x regular/adult
        report = compact_history(Warehouse(settings.warehouse))
        assert report.months == 1 and report.day_files == 4
        files = history_files(settings)
        assert len(files) == 1 and is_month_file(files[0])
        assert watchbuddy.connect(settings.warehouse).sql(ALL_ROWS).fetchall() == rows
        check_month_file(settings.warehouse / files[0])


def test_the_job_compacts_history_once_day_files_pile_up(tmp_path):
    day = dt.date(2026, 6, 15)
    with make_server(today=day) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        land_exports(settings, "movie", since=day - dt.timedelta(days=2), until=day, today=day)
        assert len(history_files(settings)) == 6 < COMPACT_WHEN_HISTORY_FILES
        skipped = compact_when_piled_up(settings)
        assert "0 titles files and 6 history day files, nothing to do below" in skipped
        assert len(history_files(settings)) == 6
        land_exports(settings, "movie", since=day - dt.timedelta(days=4), until=day, today=day)
        rows = watchbuddy.connect(settings.warehouse).sql(ALL_ROWS).fetchall()
        done = compact_when_piled_up(settings)
        assert done == f"10 history day files into 1 month files ({len(rows)} rows)"
        assert len(history_files(settings)) == 1
        assert watchbuddy.connect(settings.warehouse).sql(ALL_ROWS).fetchall() == rows
        statuses = watchbuddy.connect(settings.warehouse).sql(
            "SELECT status FROM runs WHERE job = 'compact' ORDER BY started_at"
        )
        assert [s for (s,) in statuses.fetchall()] == ["skipped", "ok"]


def test_the_compact_command_merges_history_days(tmp_path):
    day = dt.date(2026, 6, 15)
    with make_server(today=day) as tmdb:
        settings = settings_for(tmdb, tmp_path)
        land_exports(settings, "tv", since=day - dt.timedelta(days=1), until=day, today=day)
        env = {"WATCHBUDDY_WAREHOUSE": str(settings.warehouse)}
        done = run_cli("compact", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Compacted 4 history day file(s) into 1 month file(s)")
        assert "Nothing to compact: the warehouse holds no titles yet." in done.stdout
        assert len(history_files(settings)) == 1
