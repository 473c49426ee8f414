-- One title of the pool. The pool file is sorted by vote count, so a caller that knows the
-- title's vote count (a candidate row does) passes it as $vote_count and DuckDB reads the one
-- row group holding that count instead of most of the file; NULL means unknown.

-- name: title
-- Every column (the `like=` chips' names, notebooks).
SELECT media_type, tmdb_id, imdb_id, title, original_title, original_language, overview,
       status, release_date, year, genres, keywords, runtime, popularity, popularity_change_7d,
       popularity_change_30d, vote_average, vote_count, adult, poster_path, source,
       source_name, updated_at, votes_refreshed_at, landed_at, removed_from_tmdb_at,
       obscurity_score, mainstream_score, trend_score, freshness_score
FROM pool
WHERE media_type = $media_type AND tmdb_id = $tmdb_id
  AND ($vote_count IS NULL OR coalesce(vote_count, 0) = $vote_count);

-- name: extras
-- What the explorer's detail panel shows that a candidate row lacks: a third of the time of
-- every column, the overview being most of what is read.
SELECT original_title, overview, source_name, updated_at, votes_refreshed_at
FROM pool
WHERE media_type = $media_type AND tmdb_id = $tmdb_id
  AND ($vote_count IS NULL OR coalesce(vote_count, 0) = $vote_count);

-- name: history
-- One title's popularity on every landed export day, oldest first (the detail panel's
-- chart). The history files are sorted by id, so the id condition skips most row groups.
SELECT date, popularity::DOUBLE AS popularity
FROM popularity_history
WHERE media_type = $media_type AND tmdb_id = $tmdb_id
ORDER BY date;
