"""Pool-view benchmark (`make bench`): what notebooks pay for `pool` at 1.5M titles.

The field-level merge (every field from the newest record that knows it) costs more than
the "newest whole record wins" rule it replaced, so `pool` reads a file materialized once
per warehouse version. This measures, on a fresh connection each time, `SELECT count(*)`
and a scored top-100 over:

- the old rule (the previous `pool` view's SQL, kept here as the baseline, run in the same
  process and on the same files),
- `pool_computed` (the merge computed on every query),
- `pool` (the materialized file),

on the demo warehouse as landed (two files, two duplicate keys) and on one where both files
were landed twice (every title with two records: the merge's worst case), plus the time to
build the materialized file.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench_candidates import full_size_warehouse, land
from bench_landing import WORK, machine, write_section_named

from watchbuddy.store import pool_cache
from watchbuddy.store.views import define_views, new_connection
from watchbuddy.store.warehouse import Warehouse

SECTION = "## Pool views (issue: trust)"
REPEATS = 7

# The previous `pool` view: the newest whole record wins, vote refreshes patched on top.
OLD_POOL_SQL = """
CREATE OR REPLACE VIEW pool_old AS
WITH current_titles AS (
    SELECT * FROM titles
    QUALIFY row_number() OVER (
        PARTITION BY media_type, tmdb_id ORDER BY batch DESC, source_row DESC) = 1
),
latest_votes AS (
    SELECT * FROM votes
    QUALIFY row_number() OVER (PARTITION BY media_type, tmdb_id ORDER BY refreshed_at DESC) = 1
),
patched AS (
    SELECT t.* REPLACE (
            CASE WHEN v.refreshed_at > t.updated_at THEN v.vote_count ELSE t.vote_count END
                AS vote_count,
            CASE WHEN v.refreshed_at > t.updated_at THEN v.vote_average ELSE t.vote_average END
                AS vote_average,
            CASE WHEN v.refreshed_at > t.updated_at THEN v.popularity ELSE t.popularity END
                AS popularity)
    FROM current_titles AS t LEFT JOIN latest_votes AS v USING (media_type, tmdb_id)
)
SELECT *, year(release_date) AS year,
    obscurity_score(vote_count, popularity) AS obscurity_score,
    mainstream_score(vote_count, popularity) AS mainstream_score,
    quality_score(vote_average, vote_count) AS quality_score,
    freshness_score(release_date, current_date) AS freshness_score
FROM patched
"""

QUERIES = {
    "count(*)": "SELECT count(*) FROM {view}",
    "scored top-100": (
        "SELECT media_type, tmdb_id, title, year, vote_average, vote_count FROM {view} "
        "WHERE vote_count >= 20 "
        "ORDER BY 0.45 * quality_score + 0.30 * obscurity_score + 0.10 * freshness_score DESC "
        "LIMIT 100"
    ),
}


def timed(warehouse: Warehouse, view: str, query: str) -> float:
    """Median seconds of `query` on a fresh connection (views defined, pool file built)."""
    times = []
    for _ in range(REPEATS):
        con = new_connection()
        define_views(con, warehouse, materialize=view == "pool")
        con.execute(OLD_POOL_SQL)
        started = time.perf_counter()
        con.sql(query.format(view=view)).fetchall()
        times.append(time.perf_counter() - started)
        con.close()
    return statistics.median(times)


def build_seconds(warehouse: Warehouse) -> float:
    for old in (warehouse.root / pool_cache.CACHE_DIR).glob("pool-*.parquet"):
        old.unlink()
    con = new_connection()
    started = time.perf_counter()
    define_views(con, warehouse)
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def twice_landed() -> Path:
    """A warehouse with every file landed twice (a re-downloaded dump, say)."""
    target = WORK / "warehouse-landed-twice"
    if (target / "manifest.json").exists():
        return target
    for _ in range(2):
        land(WORK / "data-1465000", target, "--force")
    return target


def main() -> None:
    landed = Warehouse(full_size_warehouse())
    twice = Warehouse(twice_landed())
    lines = [
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d')} · {machine()}",
        "",
        "Median of 7 fresh connections per cell. *old rule*: the previous view (newest whole "
        "record wins), the baseline; *merge computed*: `pool_computed`; *materialized*: "
        "`pool`, reading the version's file.",
        "",
        "| warehouse | records | query | old rule | merge computed | materialized |",
        "|---|---|---|---|---|---|",
    ]
    builds = []
    for label, warehouse in (("demo as landed", landed), ("every file landed twice", twice)):
        builds.append((label, build_seconds(warehouse)))
        con = new_connection()
        define_views(con, warehouse, materialize=False)
        records = con.sql("SELECT count(*) FROM titles").fetchall()[0][0]
        con.close()
        for name, query in QUERIES.items():
            cells = [
                timed(warehouse, view, query) for view in ("pool_old", "pool_computed", "pool")
            ]
            lines.append(
                f"| {label} | {records:,} | {name} | "
                + " | ".join(f"{c * 1000:.0f} ms" for c in cells)
                + " |"
            )
            print(lines[-1], flush=True)
    lines += ["", "Building the materialized file (once per version that changes the pool):", ""]
    lines += [f"- {label}: {seconds:.1f} s" for label, seconds in builds]
    lines.append("")
    write_section_named(SECTION, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
