-- The ID universe: the titles TMDB's daily ID exports list (watchbuddy/sources/exports/),
-- read by `stats` (how many ids are queued for fetching) and by `refresh-titles` (which it
-- fetches first), so both count the same ids.

-- name: missing_export_ids
-- Ids the newest landed export day of each media type lists (its regular and adult files:
-- the `exports` view says which day landed) that the pool lacks, most popular first. An id
-- TMDB answered 404 for after that day began is left out, so one gone title is not asked for
-- on every run. `$media` is the list of media types asked about.
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
        SELECT 1 FROM pool AS p
        WHERE p.media_type = l.media_type AND p.tmdb_id = l.tmdb_id
    )
  AND NOT EXISTS (
        SELECT 1 FROM removals AS r
        WHERE r.media_type = l.media_type AND r.tmdb_id = l.tmdb_id
          AND epoch_us(r.removed_at) >= epoch_us(l.date::TIMESTAMP)
    )
ORDER BY l.popularity DESC NULLS LAST, l.media_type, l.tmdb_id;
