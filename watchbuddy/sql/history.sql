-- Your watch history (watchbuddy/sources/history/ and watchbuddy/pool/personal.py): reads
-- over the `pool` and `history` views.

-- name: pool_for_matching
-- What an export's rows are matched against: every title's {columns} (match.py's
-- POOL_COLUMNS, or only the ids when every row brings its TMDB id).
SELECT {columns} FROM pool

-- name: app_list
-- The app's own list (source 'watchbuddy') $list, one row per title.
SELECT DISTINCT media_type, tmdb_id FROM history
WHERE source = 'watchbuddy' AND list = $list
ORDER BY media_type, tmdb_id

-- name: excluded
-- The titles the lists $lists name, once each (the recommendations leave them out).
SELECT DISTINCT media_type AS x_media, tmdb_id AS x_id FROM history
WHERE list IN (SELECT unnest($lists::VARCHAR[])) AND tmdb_id IS NOT NULL

-- name: summary
-- What is stored, per source, file and list: rows, titles, rated rows, the newest import.
SELECT source, file, list, count(*) AS rows,
       count(DISTINCT (media_type, tmdb_id)) AS titles,
       count(rating) AS rated, round(avg(rating), 2) AS mean_rating,
       max(imported_at) AS imported_at
FROM history GROUP BY ALL ORDER BY source, file, list

-- name: app_list_titles
-- The app's own list $list with each title's name and year from the pool (NULL when the
-- pool lacks it), in the list's order.
WITH listed AS (
    SELECT DISTINCT media_type, tmdb_id FROM history
    WHERE source = 'watchbuddy' AND list = $list
)
SELECT l.media_type, l.tmdb_id, p.title, p.year
FROM listed AS l
LEFT JOIN pool AS p ON p.media_type = l.media_type AND p.tmdb_id = l.tmdb_id
ORDER BY l.media_type, l.tmdb_id
