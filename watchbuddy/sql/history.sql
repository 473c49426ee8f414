-- Your watch history (watchbuddy/sources/history/ and watchbuddy/pool/personal.py): reads
-- over the `pool` and `history` views.

-- name: pool_for_matching
-- What an export's rows are matched against: every title's ids, titles and year.
SELECT media_type, tmdb_id, imdb_id, title, original_title, year FROM pool

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

-- name: titles
-- The stored rows of list $list (any when NULL) with the pool's title and year, newest first.
SELECT h.source, h.list, h.media_type, h.tmdb_id, p.title, p.year, h.rating, h.watched_at,
       h.file
FROM history AS h
LEFT JOIN pool AS p ON p.media_type = h.media_type AND p.tmdb_id = h.tmdb_id
WHERE $list IS NULL OR h.list = $list
ORDER BY h.imported_at DESC, h.watched_at DESC NULLS LAST, h.media_type, h.tmdb_id
LIMIT $limit
