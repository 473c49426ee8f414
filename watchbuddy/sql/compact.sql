-- Compaction (watchbuddy/store/compact.py): the records the pool's merge can still use,
-- rewritten into one snapshot. `{field_winners}` is one `wb_newest(record_order, ...)` per
-- merged field (pool.sql's dedup rule, the same the pool merges with) and `{title_columns}`
-- the title schema's columns; views.py builds both from the schema.

-- name: records
SELECT count(*) FROM titles;

-- name: snapshot
-- Per title the newest title record (its provenance is the pool's), the newest TMDB record
-- (when TMDB last served the title, which decides whether an older removal still stands)
-- and the newest record knowing each field. Vote refreshes stay in their own table and take
-- part in choosing the winners. With $drop_demo, no synthetic record is kept.
WITH winners AS (
    SELECT media_type, tmdb_id, [
        wb_newest(record_order, record_order, refreshed_at IS NULL),
        wb_newest(record_order, record_order, refreshed_at IS NULL AND source = 'tmdb'),
        {field_winners}
    ] AS orders
    FROM pool_records
    GROUP BY media_type, tmdb_id
)
SELECT {title_columns}
FROM pool_records JOIN winners USING (media_type, tmdb_id)
WHERE refreshed_at IS NULL AND list_contains(orders, record_order)
  AND NOT ($drop_demo AND synthetic);

-- name: kept
-- How many records a snapshot keeps, asked before writing one (nothing to drop: no rewrite).
SELECT count(*) FROM ({snapshot});

-- name: write
-- Sorted so that Parquet row-group statistics let DuckDB skip most of the file for the
-- common filters.
COPY ({snapshot} ORDER BY media_type, original_language, release_date)
TO $path (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);

-- name: written
SELECT count(*), count(DISTINCT (media_type, tmdb_id)) FROM read_parquet($path);

-- name: spill_to
SET temp_directory = $path;

-- name: history_month
-- One month file of popularity history: every row of its day files (and of an earlier month
-- file of the same month, when a late day joins it), none dropped or merged, sorted by title
-- then day so one title's whole history is a few neighbouring rows of one row group.
SELECT media_type, tmdb_id, date, popularity, adult
FROM read_parquet($paths)
ORDER BY tmdb_id, date, adult;
