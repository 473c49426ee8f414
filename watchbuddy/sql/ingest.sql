-- What TMDB ingestion and the vote refresh (watchbuddy/sources/tmdb/ingest.py) read from the
-- warehouse before they fetch. `wanted` is a table of keys the caller registers.

-- name: checkpoint
SELECT last_release_date, last_run_at, changes_read_until
FROM checkpoints WHERE media_type = $media_type;

-- name: existing
-- The pool's titles among the wanted keys, with their merged `status`.
SELECT p.media_type, p.tmdb_id, p.status
FROM pool AS p JOIN wanted USING (media_type, tmdb_id);

-- name: fetched_at
-- When TMDB last served each wanted title (epoch µs of its newest TMDB record; NULL: only
-- CSV records).
SELECT tmdb_id, epoch_us(max(updated_at) FILTER (WHERE source = 'tmdb'))
FROM titles JOIN wanted USING (tmdb_id)
WHERE media_type = $media_type
GROUP BY tmdb_id;

-- name: votes_to_refresh
-- Titles released between $first and $today, least recently refreshed first, real ones
-- TMDB still has.
SELECT tmdb_id FROM pool
WHERE media_type = $media AND release_date BETWEEN $first AND $today
  AND removed_from_tmdb_at IS NULL AND NOT coalesce(synthetic, false)
ORDER BY coalesce(votes_refreshed_at, updated_at) NULLS FIRST, tmdb_id
LIMIT $limit;
