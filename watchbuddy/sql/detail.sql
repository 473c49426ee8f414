-- One title of the pool with every column the explorer's detail panel shows.

-- name: title
SELECT media_type, tmdb_id, imdb_id, title, original_title, original_language, overview,
       status, release_date, year, genres, keywords, runtime, popularity, popularity_change_7d,
       popularity_change_30d, vote_average, vote_count, adult, poster_path, source,
       source_name, updated_at, votes_refreshed_at, landed_at, removed_from_tmdb_at,
       obscurity_score, mainstream_score, trend_score, freshness_score
FROM pool
WHERE media_type = $media_type AND tmdb_id = $tmdb_id;

-- name: history
-- One title's popularity on every landed export day, oldest first (the detail panel's
-- chart). The history files are sorted by id, so the id condition skips most row groups.
SELECT date, popularity::DOUBLE AS popularity
FROM popularity_history
WHERE media_type = $media_type AND tmdb_id = $tmdb_id
ORDER BY date;
