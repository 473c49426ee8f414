-- One title of the pool with every column the explorer's detail panel shows.

-- name: title
SELECT media_type, tmdb_id, imdb_id, title, original_title, original_language, overview,
       status, release_date, year, genres, keywords, runtime, popularity, vote_average,
       vote_count, adult, poster_path, source, source_name, updated_at, votes_refreshed_at,
       landed_at, obscurity_score, mainstream_score, freshness_score
FROM pool
WHERE media_type = $media_type AND tmdb_id = $tmdb_id;
