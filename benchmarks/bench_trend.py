"""Trend benchmark (`make bench`): issue 13's query targets with 90 days of popularity history.

On the 1.5M-title demo warehouse (`bench_candidates.py` lands it), copied and given 90 days
of `popularity_history` for every title (one file per media type, day and kind, written by
the landing's own `history_table` with its `HISTORY_PARQUET` options and published with a
'landed' `exports` record per file through the warehouse writer, as `watchbuddy exports`
publishes them; each title's popularity a random walk with a drift of its own, so some rise
and some fall), then merged into month files by `compact_history` as the `compact` job
does, in one run:
  1. the `trending` candidate query at limit 200 under several filter sets, p50/p95 of
     `CandidateProvider.get`, with the `popular` mode on the same filters as the baseline;
  2. one title's whole history (`pool.detail.popularity_history`) for 30 random titles, on a
     fresh connection each and on one warm connection;
  3. building the pool file for a version, without and with the history, and the
     sparklines decoded for pages of 200 titles;
  4. bytes per title-day of the history on disk.
Results go to benchmarks/RESULTS.md (this section is rewritten; notes under `### ` stay).
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from bench_candidates import full_size_warehouse, percentile
from bench_landing import WORK, machine, write_section_named
from bench_pool import build_seconds

from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider, build_query
from watchbuddy.pool.detail import popularity_history
from watchbuddy.pool.sparklines import recent_popularity
from watchbuddy.sources.exports.land import file_name, history_table
from watchbuddy.store import pool_cache
from watchbuddy.store.compact import compact_history
from watchbuddy.store.pool_cache import SPARK_WORDS
from watchbuddy.store.runs import Run
from watchbuddy.store.schema import EXPORT_SCHEMA, HISTORY_PARQUET
from watchbuddy.store.views import open_views, pool_file
from watchbuddy.store.warehouse import Warehouse, utcnow, writing

SECTION = "## Trending and popularity history (issue 13)"
DAYS = 90
REPEATS = 30
HISTORY_TITLES = 30
MARKER = "history-90-days.done"


def filter_sets() -> list[tuple[str, dict]]:
    return [
        ("no filter", {}),
        ("one genre (Drama)", {"genres": ("Drama",)}),
        ("one language (fr)", {"languages": ("fr",)}),
        ("years 2015-2024", {"year_min": 2015, "year_max": 2024}),
        ("tv only", {"media_type": "tv"}),
        (
            "movies, Thriller or Crime, en, 2000-2024",
            {
                "media_type": "movie",
                "genres": ("Thriller", "Crime"),
                "languages": ("en",),
                "year_min": 2000,
                "year_max": 2024,
            },
        ),
    ]


def pool_keys(warehouse: Warehouse) -> dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]]:
    """Per (media type, adult): the pool's ids, sorted, and their popularity (a lognormal
    draw where the pool has none)."""
    con = open_views(warehouse)
    try:
        frame = con.sql(
            "SELECT media_type, tmdb_id::INTEGER AS tmdb_id, adult, popularity FROM pool "
            "ORDER BY media_type, tmdb_id"
        ).pl()
    finally:
        con.close()
    rng = np.random.default_rng(13)
    out = {}
    for media_type in ("movie", "tv"):
        for adult in (False, True):
            part = frame.filter((frame["media_type"] == media_type) & (frame["adult"] == adult))
            ids = part["tmdb_id"].to_numpy().astype(np.int32)
            popularity = part["popularity"].to_numpy(allow_copy=True).astype(np.float64)
            missing = ~np.isfinite(popularity) | (popularity <= 0)
            popularity[missing] = rng.lognormal(-0.5, 1.3, int(missing.sum()))
            out[(media_type, adult)] = (ids, popularity)
    return out


def add_history(warehouse: Warehouse, newest: dt.date) -> tuple[int, float]:
    """Publish `DAYS` days of history ending on `newest`, one commit per day; returns the
    rows written and the seconds it took."""
    started = time.perf_counter()
    keys = pool_keys(warehouse)
    rng = np.random.default_rng(90)
    # log popularity: a random walk, each title with its own drift (rising or falling)
    level = {k: np.log(p) for k, (_, p) in keys.items()}
    drift = {k: rng.normal(0, 0.015, len(p)) for k, (_, p) in keys.items()}
    rows = 0
    run = Run(job="exports", media_type="all")
    days = [newest - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    # Walk back from today's level so the newest day's popularity is about the pool's.
    for k in level:
        level[k] = level[k] - drift[k] * DAYS
    with warehouse.writer("bench_trend history", wait_seconds=60) as writer:
        for day in days:
            add: dict[str, list[str]] = {"popularity_history": [], "exports": []}
            records = []
            for (media_type, adult), (ids, _) in keys.items():
                k = (media_type, adult)
                level[k] = level[k] + drift[k] + rng.normal(0, 0.08, len(ids))
                popularity = np.round(np.exp(level[k]), 3).astype(np.float32)
                stem = f"{media_type}-{day}-{'adult' if adult else 'regular'}-{run.run_id}"
                if len(ids):
                    tmp = writer.tmp_file()
                    with writing(writer.root / "popularity_history"):
                        pq.write_table(
                            history_table(media_type, day, adult, ids, popularity),
                            tmp,
                            **HISTORY_PARQUET,
                        )
                    add["popularity_history"].append(
                        writer.stage("popularity_history", tmp, f"{stem}.parquet")
                    )
                rows += len(ids)
                records.append(
                    {
                        "media_type": media_type,
                        "export_date": day,
                        "adult": adult,
                        "status": "landed",
                        "url": f"bench://{file_name(media_type, day, adult)}",
                        "lines": len(ids),
                        "accepted": len(ids),
                        "rejected": 0,
                        "bytes": 0,
                        "landed_at": utcnow(),
                        "run_id": run.run_id,
                        "message": None,
                    }
                )
            table = pa.Table.from_pylist(records, schema=EXPORT_SCHEMA)
            add["exports"].append(
                writer.stage_table("exports", table, f"{day}-{run.run_id}.parquet")
            )
            writer.commit(add=add)
    return rows, time.perf_counter() - started


def trend_warehouse(base: Path, newest: dt.date) -> tuple[Path, float | None]:
    """A copy of the demo warehouse with `DAYS` days of history (made once)."""
    target = WORK / "warehouse-trend"
    marker = target / MARKER
    if marker.exists() and marker.read_text().strip() == newest.isoformat():
        return target, None
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target, ignore=shutil.ignore_patterns(pool_cache.CACHE_DIR, "*.lock"))
    rows, seconds = add_history(Warehouse(target), newest)
    print(f"  {rows:,} title-days of history written in {seconds:.0f} s", flush=True)
    marker.write_text(newest.isoformat())
    return target, seconds


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def explain(provider: CandidateProvider, filters: CandidateFilters) -> str:
    """EXPLAIN ANALYZE of the candidate query (what goes where when a target is missed)."""
    cursor = provider._connection()
    try:
        sql, params = build_query(filters.validated(), "")
        cursor.execute("PRAGMA enable_profiling = 'no_output'")
        return "\n".join(
            row[1] for row in cursor.sql("EXPLAIN ANALYZE " + sql, params=params).fetchall()
        )
    finally:
        cursor.close()


def main() -> None:
    newest = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    base = Warehouse(full_size_warehouse())
    print(f"Writing {DAYS} days of history into a copy of the demo warehouse ...", flush=True)
    root, history_write = trend_warehouse(base.root, newest)
    warehouse = Warehouse(root)
    # The `compact` job merges the day files into month files (nothing to do when an earlier
    # run's warehouse is reused).
    print("Compacting the history into month files ...", flush=True)
    compaction = compact_history(warehouse)

    print("Pool builds ...", flush=True)
    build_without = build_seconds(base)
    build_with = build_seconds(warehouse)

    provider = CandidateProvider(warehouse)
    provider.warm()
    cursor = provider._connection()
    total, rising = cursor.sql(
        "SELECT count(*), count(*) FILTER (WHERE trend_score > 0.5) FROM candidate_pool"
    ).fetchall()[0]
    cursor.close()

    print("Candidate queries ...", flush=True)
    query_rows = []
    for label, kwargs in filter_sets():
        cells = []
        for mode in ("trending", "popular"):
            filters = CandidateFilters(mode=mode, limit=200, **kwargs)
            got = provider.get(filters).frame.height  # warm
            times = timed(lambda f=filters: provider.get(f), REPEATS)
            cells.append((got, statistics.median(times), percentile(times, 0.95)))
        query_rows.append((label, cells))
        print(
            f"  {label}: trending {cells[0][1] * 1000:.1f} ms p50, "
            f"popular {cells[1][1] * 1000:.1f} ms",
            flush=True,
        )

    print("History lookups ...", flush=True)
    con = open_views(warehouse)
    sample = con.sql(
        "SELECT media_type, tmdb_id::INTEGER FROM pool USING SAMPLE "
        f"{HISTORY_TITLES + 1} ROWS (reservoir, 7)"
    ).fetchall()
    history_keys = sample[:HISTORY_TITLES]
    fresh_open, fresh_query, warm_query, points = [], [], [], []
    for media_type, tmdb_id in history_keys:
        started = time.perf_counter()
        fresh = open_views(warehouse)
        opened = time.perf_counter()
        frame = popularity_history(fresh, media_type, tmdb_id)
        fresh_query.append(time.perf_counter() - opened)
        fresh_open.append(opened - started)
        fresh.close()
        points.append(frame.height)
    popularity_history(con, *sample[-1])  # warm
    for media_type, tmdb_id in history_keys:
        started = time.perf_counter()
        popularity_history(con, media_type, tmdb_id)
        warm_query.append(time.perf_counter() - started)

    print("Sparklines ...", flush=True)
    # They come with the candidate list as packed words; the explorer decodes a page's
    # (pool/sparklines.py), timed here for pages of 200 random titles.
    words = pl.read_parquet(pool_file(con), columns=list(SPARK_WORDS))
    spark = []
    spark_points = 0
    for seed in range(11):
        page = words.sample(200, seed=seed)
        started = time.perf_counter()
        recent = recent_popularity(page)
        spark.append(time.perf_counter() - started)
        spark_points = int(recent.list.len().mean() or 0)
    spark = spark[1:]  # the first warms up
    con.close()

    files = [root / f for f in warehouse.read_manifest().files("popularity_history")]
    size = sum(p.stat().st_size for p in files)
    title_days = sum(pq.ParquetFile(p).metadata.num_rows for p in files)

    trending_p50 = max(cells[0][1] for _, cells in query_rows)
    trending_p95 = max(cells[0][2] for _, cells in query_rows)
    history_fresh = statistics.median(fresh_query)
    history_warm = statistics.median(warm_query)
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"{total:,} titles (synthetic demo pool) with {DAYS} days of `popularity_history` "
        f"each ({title_days:,} title-days in {len(files)} files, newest day {newest}), "
        "written with the landing's `history_table` and `HISTORY_PARQUET` and published with "
        "'landed' `exports` records through the warehouse writer; popularity a random walk "
        f"per title with a drift of its own ({rising:,} titles trending up). "
        + (
            f"Writing the history took {history_write:.0f} s."
            if history_write is not None
            else "History written by an earlier run."
        )
        + (
            f" `compact_history` merged its {compaction.day_files} day files into "
            f"{compaction.months} month files in {compaction.seconds:.0f} s."
            if compaction.changed
            else " Compacted into month files by an earlier run."
        ),
        "",
        f"1. Candidates at limit 200, `CandidateProvider.get` in a warm process, {REPEATS} "
        "repeats; `popular` on the same filters is the same-run baseline.",
        "",
        "| filters | rows | trending p50 | trending p95 | popular p50 | popular p95 |",
        "|---|---|---|---|---|---|",
        *[
            f"| {label} | {t[0]} | {t[1] * 1000:.1f} ms | {t[2] * 1000:.1f} ms | "
            f"{p[1] * 1000:.1f} ms | {p[2] * 1000:.1f} ms |"
            for label, (t, p) in query_rows
        ],
        "",
        "2. One title's whole history (`pool.detail.popularity_history`, "
        f"{statistics.median(points):.0f} points), {HISTORY_TITLES} random titles: "
        "on a fresh connection each "
        f"p50 {history_fresh * 1000:.1f} ms, p95 {percentile(fresh_query, 0.95) * 1000:.1f} ms "
        f"(opening the connection and its views: p50 "
        f"{statistics.median(fresh_open) * 1000:.0f} ms more); on one warm connection "
        f"p50 {history_warm * 1000:.1f} ms, p95 {percentile(warm_query, 0.95) * 1000:.1f} ms.",
        "",
        f"3. Building the pool file for a new version (define_views, from nothing): "
        f"{build_without:.1f} s without history, {build_with:.1f} s with {DAYS} days "
        f"(+{build_with - build_without:.1f} s; the sparkline words are part of it). "
        f"Sparklines, decoded from the candidate table's words for a page of 200 random "
        f"titles ({len(spark)} pages; the explorer adds this to the candidate query): p50 "
        f"{statistics.median(spark) * 1000:.2f} ms, p95 {percentile(spark, 0.95) * 1000:.2f} ms "
        f"({spark_points} days a title on average).",
        "",
        f"4. History on disk: {size / 1e6:,.0f} MB for {title_days:,} title-days, "
        f"{size / title_days:.2f} bytes per title-day.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| trending p50 ≤ 20 ms for every filter set | worst {trending_p50 * 1000:.1f} ms | "
        f"{'yes' if trending_p50 <= 0.020 else '**no**'} |",
        f"| one title's history p50 ≤ 50 ms (fresh connection) | {history_fresh * 1000:.1f} ms | "
        f"{'yes' if history_fresh <= 0.050 else '**no**'} |",
        f"| one title's history p50 ≤ 50 ms (warm connection) | {history_warm * 1000:.1f} ms | "
        f"{'yes' if history_warm <= 0.050 else '**no**'} |",
        f"| history ≤ 4 bytes per title-day ({DAYS} days) | {size / title_days:.2f} B | "
        f"{'yes' if size / title_days <= 4 else '**no**'} |",
        "",
        f"(trending p95 worst {trending_p95 * 1000:.1f} ms.)",
        "",
    ]
    if trending_p50 > 0.020:
        worst = max(query_rows, key=lambda r: r[1][0][1])
        kwargs = dict(filter_sets())[worst[0]]
        print(explain(provider, CandidateFilters(mode="trending", limit=200, **kwargs)))
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
