-- The materialized pool (watchbuddy/pool/cache.py): `pool_computed`'s rows written once per
-- warehouse version, sorted by vote count (a vote floor skips most of the file), with each
-- title's genre bitmask and whether it has a poster, for the candidate filters (loading
-- the flag rather than the poster paths keeps the candidate table's load a quarter
-- faster). `{genre_mask}` is built from the genre vocabulary by pool/genres.py.

-- name: build
COPY (
    SELECT * EXCLUDE (freshness_score), {genre_mask} AS genre_mask,
           coalesce(poster_path, '') <> '' AS has_poster
    FROM pool_computed
    ORDER BY coalesce(vote_count, 0) DESC, media_type, tmdb_id
) TO $path (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);
