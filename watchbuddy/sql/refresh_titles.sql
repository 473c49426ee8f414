-- What the rolling refresh (watchbuddy/sources/tmdb/refresh_titles.py) reads before it
-- fetches: the titles it keeps current, the ids TMDB's newest export lists that the pool
-- lacks, and the pool's titles by how long ago TMDB last served them. `$media` is a list of
-- media types; the statements after `snapshot` read the table it makes.

-- name: snapshot
-- The pool's keys of these media types, with when TMDB last served each title and whether
-- the refresh keeps it current (real titles TMDB still has: demo titles' ids belong to
-- other, real titles; a removed title is not asked again). One scan of the pool, which the
-- statements below read; a temporary table, so per connection.
CREATE OR REPLACE TEMP TABLE refresh_snapshot AS
SELECT media_type, tmdb_id, tmdb_fetched_at,
       removed_from_tmdb_at IS NULL AND NOT coalesce(synthetic, false) AS kept
FROM pool
WHERE list_contains($media, media_type);

-- name: drop_snapshot
DROP TABLE refresh_snapshot;

-- name: kept_current
-- The titles the refresh keeps younger than WATCHBUDDY_MAX_DATA_AGE_DAYS.
SELECT count(*) AS titles FROM refresh_snapshot WHERE kept;

-- name: missing
-- Ids the newest landed export day of each media type lists (its regular and adult files,
-- as `stats` counts them queued: the `exports` view says which day landed) that the pool
-- lacks, most popular first. An id TMDB answered 404 for after that day began is left out,
-- so one gone title is not asked for on every run. (The caller limits it, or counts it.)
WITH newest AS (
    SELECT media_type, max(export_date) AS date
    FROM exports
    WHERE status = 'landed' AND list_contains($media, media_type)
    GROUP BY media_type
),
listed AS (
    SELECT h.media_type, h.tmdb_id, max(h.popularity) AS popularity, any_value(n.date) AS date
    FROM popularity_history AS h
    JOIN newest AS n USING (media_type, date)
    GROUP BY h.media_type, h.tmdb_id
)
SELECT l.media_type, l.tmdb_id
FROM listed AS l
WHERE NOT EXISTS (
        SELECT 1 FROM refresh_snapshot AS p
        WHERE p.media_type = l.media_type AND p.tmdb_id = l.tmdb_id
    )
  AND NOT EXISTS (
        SELECT 1 FROM removals AS r
        WHERE r.media_type = l.media_type AND r.tmdb_id = l.tmdb_id
          AND epoch_us(r.removed_at) >= epoch_us(l.date::TIMESTAMP)
    )
ORDER BY l.popularity DESC NULLS LAST, l.media_type, l.tmdb_id;

-- name: oldest
-- The titles kept current, TMDB's data of them oldest first: never fetched from TMDB (only
-- CSV records) before any fetched one, then by when TMDB last served the whole title.
SELECT media_type, tmdb_id
FROM refresh_snapshot
WHERE kept
ORDER BY tmdb_fetched_at NULLS FIRST, media_type, tmdb_id
LIMIT $limit;

-- name: oldest_position
-- Where the oldest title stands in the `oldest` order: all the never-fetched titles come
-- first (they tie as the oldest), else the one oldest fetched title.
SELECT greatest(count(*) FILTER (WHERE tmdb_fetched_at IS NULL), least(count(*), 1)) AS position
FROM refresh_snapshot
WHERE kept;
