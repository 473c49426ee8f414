-- What the rolling refresh (watchbuddy/sources/tmdb/refresh_titles.py) reads before it
-- fetches: the titles it keeps current, and the pool's titles by how long ago TMDB last
-- served them (the ids the newest export lists and the pool lacks are universe.sql's).
-- `$media` is a list of media types; the statements after `snapshot` read its table.

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
