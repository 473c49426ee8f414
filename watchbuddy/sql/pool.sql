-- pool: one current row per (media_type, tmdb_id), with the score columns.
--
-- "Current" means: the record from the newest landed batch, and within one batch the last
-- occurrence in the file (batch and source_row both higher). Nothing is keyed by tmdb_id
-- alone: about 100K ids are both a movie and a show.
CREATE OR REPLACE VIEW pool AS
WITH current_titles AS (
    SELECT *
    FROM titles
    QUALIFY row_number() OVER (
        PARTITION BY media_type, tmdb_id ORDER BY batch DESC, source_row DESC
    ) = 1
)
SELECT
    media_type,
    tmdb_id,
    imdb_id,
    title,
    original_title,
    original_language,
    overview,
    status,
    release_date,
    year(release_date) AS year,
    coalesce(genres, []::VARCHAR[]) AS genres,
    coalesce(keywords, []::VARCHAR[]) AS keywords,
    runtime,
    popularity,
    vote_average,
    vote_count,
    coalesce(adult, false) AS adult,
    poster_path,
    source,
    source_name,
    updated_at,
    CAST(NULL AS TIMESTAMPTZ) AS votes_refreshed_at,
    landed_at,
    batch,
    obscurity_score(vote_average, vote_count, popularity) AS obscurity_score,
    mainstream_score(vote_average, vote_count, popularity) AS mainstream_score,
    freshness_score(release_date, current_date) AS freshness_score
FROM current_titles;
