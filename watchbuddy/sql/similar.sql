-- The `for_you` mode's reads of your history (watchbuddy/pool/similar_titles.py). The
-- similarity itself is numpy over arrays built once per pool version (pool/similar.py).

-- name: history_profile
-- One row per rated or watched title: its rating (the newest rating any import gave it,
-- 0-10) and its weight in the profile: 1 for a rating >= $liked, $watched_weight for a
-- title watched without any rating (a weak positive), -1 for a rating <= $disliked;
-- ratings in between say nothing. At most $liked_limit liked titles (best rated first,
-- then the most recently watched) and $disliked_limit disliked ones (worst first).
WITH titles AS (
    SELECT media_type, tmdb_id,
           arg_max(rating, coalesce(watched_at, imported_at))
               FILTER (WHERE rating IS NOT NULL) AS rating,
           max(coalesce(watched_at, imported_at)) AS last_seen
    FROM history
    WHERE list IN ('rated', 'watched') AND tmdb_id IS NOT NULL
    GROUP BY media_type, tmdb_id
),
weighted AS (
    SELECT media_type, tmdb_id, rating, last_seen,
           CASE WHEN rating >= $liked THEN 1.0
                WHEN rating IS NULL THEN $watched_weight
                WHEN rating <= $disliked THEN -1.0 END AS weight
    FROM titles
)
(SELECT media_type, tmdb_id, weight FROM weighted WHERE weight > 0
 ORDER BY weight DESC, rating DESC NULLS LAST, last_seen DESC NULLS LAST, media_type, tmdb_id
 LIMIT $liked_limit)
UNION ALL
(SELECT media_type, tmdb_id, weight FROM weighted WHERE weight < 0
 ORDER BY rating, last_seen DESC NULLS LAST, media_type, tmdb_id
 LIMIT $disliked_limit)

-- name: history_seen
-- Every title your rated and watched lists name: `for_you` leaves them out of its list.
SELECT DISTINCT media_type, tmdb_id FROM history
WHERE list IN ('rated', 'watched') AND tmdb_id IS NOT NULL
