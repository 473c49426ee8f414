-- pool: one current row per (media_type, tmdb_id), with vote refreshes applied and the
-- score columns computed at query time.
--
-- "Current" means: the record from the newest landed batch, and within one batch the last
-- occurrence in the file (batch and source_row both higher). Nothing is keyed by tmdb_id
-- alone: about 100K ids are both a movie and a show.
--
-- A vote refresh (table `votes`, written by `watchbuddy refresh-votes`) replaces
-- vote_count, vote_average and popularity when it is newer than the title record it
-- patches; a newer full record (a new CSV version or API delta) wins over an older refresh.
CREATE OR REPLACE VIEW pool AS
WITH current_titles AS (
    SELECT *
    FROM titles
    QUALIFY row_number() OVER (
        PARTITION BY media_type, tmdb_id ORDER BY batch DESC, source_row DESC
    ) = 1
),
latest_votes AS (
    SELECT *
    FROM votes
    QUALIFY row_number() OVER (
        PARTITION BY media_type, tmdb_id ORDER BY refreshed_at DESC
    ) = 1
),
patched AS (
    SELECT
        t.* REPLACE (
            CASE WHEN v.refreshed_at > t.updated_at THEN v.vote_count ELSE t.vote_count END
                AS vote_count,
            CASE WHEN v.refreshed_at > t.updated_at THEN v.vote_average ELSE t.vote_average END
                AS vote_average,
            CASE WHEN v.refreshed_at > t.updated_at THEN v.popularity ELSE t.popularity END
                AS popularity
        ),
        CASE WHEN v.refreshed_at > t.updated_at THEN v.refreshed_at END AS votes_refreshed_at
    FROM current_titles AS t
    LEFT JOIN latest_votes AS v USING (media_type, tmdb_id)
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
    votes_refreshed_at,
    landed_at,
    batch,
    obscurity_score(vote_average, vote_count, popularity) AS obscurity_score,
    mainstream_score(vote_average, vote_count, popularity) AS mainstream_score,
    freshness_score(release_date, current_date) AS freshness_score
FROM patched;
