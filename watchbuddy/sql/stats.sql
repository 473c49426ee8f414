-- What is in the pool, where it came from and how current it is: the statistics that
-- `watchbuddy stats` prints and the explorer's Pool, Jobs and About pages show. Each is
-- computed here once (watchbuddy/pool/stats.py runs them) and both places show the result.

-- name: flags
-- What a user must be told before trusting the pool: how much of it is made up (demo data)
-- and how much TMDB no longer has.
SELECT count(*) AS titles,
       count(*) FILTER (WHERE synthetic) AS synthetic_titles,
       count(*) FILTER (WHERE removed_from_tmdb_at IS NOT NULL) AS removed_titles
FROM pool;

-- name: snapshot
-- One scan of the pool into a temporary table, which the counts below read: the pool's file
-- is read once (or, where no file could be written, the merge runs once). The stale rule
-- lives here and only here: a title is stale when its record or vote refresh is older than
-- $stale_days (stats.STALE_AFTER_DAYS).
CREATE OR REPLACE TEMP TABLE pool_snapshot AS
SELECT media_type, source, source_name, original_language, year, genres, obscurity_score,
       mainstream_score, freshness_score,
       coalesce(votes_refreshed_at, updated_at) < now() - to_days($stale_days) AS stale,
       date_diff('month', coalesce(votes_refreshed_at, updated_at), now()) AS age_months
FROM pool;

-- name: drop_snapshot
DROP TABLE pool_snapshot;

-- name: by_media_type
SELECT media_type, count(*) AS titles FROM pool_snapshot GROUP BY ALL ORDER BY 1;

-- name: by_source
SELECT source, source_name, media_type, count(*) AS titles
FROM pool_snapshot GROUP BY ALL ORDER BY titles DESC;

-- name: by_language
SELECT coalesce(original_language, '?') AS language, count(*) AS titles,
       count(*) FILTER (WHERE media_type = 'movie') AS movies,
       count(*) FILTER (WHERE media_type = 'tv') AS shows
FROM pool_snapshot GROUP BY ALL ORDER BY titles DESC, language;

-- name: by_decade
SELECT (year // 10) * 10 AS decade, media_type, count(*) AS titles
FROM pool_snapshot WHERE year IS NOT NULL GROUP BY ALL ORDER BY decade, media_type;

-- name: by_genre
SELECT genre, media_type, count(*) AS titles
FROM (SELECT unnest(genres) AS genre, media_type FROM pool_snapshot)
GROUP BY ALL ORDER BY titles DESC;

-- name: score_histogram
-- Titles per score and band: $bins bands of equal width over [0, 1], the last one closed.
SELECT score, least(floor(value * $bins), $bins - 1) / $bins AS bin, count(*) AS titles
FROM (
    UNPIVOT (SELECT obscurity_score AS obscurity, mainstream_score AS mainstream,
                    freshness_score AS freshness FROM pool_snapshot)
    ON obscurity, mainstream, freshness INTO NAME score VALUE value
)
GROUP BY ALL ORDER BY score, bin;

-- name: age
SELECT count(*) AS titles, count(*) FILTER (WHERE stale) AS stale,
       count(*) FILTER (WHERE age_months IS NULL) AS unknown_age
FROM pool_snapshot;

-- name: age_histogram
SELECT least(age_months, 24) AS months_since_fetch, count(*) AS titles
FROM pool_snapshot WHERE age_months IS NOT NULL GROUP BY ALL ORDER BY 1;

-- name: import_totals
SELECT status, count(*) AS files, sum(rows_read) AS rows_read, sum(accepted) AS accepted,
       sum(duplicates) AS duplicates, sum(rejected) AS rejected
FROM imports GROUP BY status ORDER BY status;

-- name: imports
SELECT file, status, media_types, rows_read, accepted, duplicates, rejected, seconds, message,
       landed_at
FROM imports ORDER BY batch DESC;

-- name: reject_reasons
SELECT file, reason, count(*) AS rows, min(line) AS first_line
FROM rejects GROUP BY ALL ORDER BY rows DESC, file, reason;

-- name: reject_samples
SELECT file, line, reason, raw FROM rejects ORDER BY batch DESC, file, line LIMIT 1000;

-- name: record_sources
-- Landed records (not titles) by source: what each file or TMDB contributed.
SELECT source, source_name, media_type, count(*) AS records, max(updated_at) AS newest_record
FROM titles GROUP BY ALL ORDER BY records DESC;

-- name: checkpoint_dates
-- The `checkpoints` view (state.sql) holds the newest checkpoint per media type already.
SELECT media_type, last_release_date::VARCHAR AS last_release_date,
       last_run_at::VARCHAR AS last_run_at
FROM checkpoints
ORDER BY media_type;

-- name: checkpoints
SELECT media_type, last_release_date, last_run_at, titles_seen FROM checkpoints ORDER BY 1;

-- name: last_runs
-- The newest run of each job and media type; `pid` tells a live run from a dead one.
SELECT job, media_type, status, pid, started_at::VARCHAR AS started_at,
       finished_at::VARCHAR AS finished_at, titles_new, titles_updated, errors
FROM wb_latest_runs()
ORDER BY job, media_type;

-- name: run_history
SELECT started_at, job, media_type, status, finished_at,
       date_diff('second', started_at, finished_at) AS seconds, pages, requests,
       titles_new, titles_updated, retries, errors, array_to_string(messages, ' | ') AS messages
FROM runs ORDER BY started_at DESC LIMIT 500;

-- name: newest_exports
-- The newest day whose daily ID export landed, per media type (`watchbuddy exports`); the ids
-- it lists that the pool lacks are universe.sql's `missing_export_ids`.
SELECT media_type, max(export_date) AS newest_export
FROM exports
WHERE status = 'landed'
GROUP BY media_type
ORDER BY media_type;

-- name: rising
-- What is rising: the $limit titles whose popularity grew most in 7 days (relative, smoothed:
-- see scores.sql), among those with popularity at least $min_popularity (below it a change
-- is mostly noise) that TMDB still has.
SELECT media_type, tmdb_id, title, year, popularity, popularity_change_7d,
       popularity_change_30d, trend_score
FROM pool
WHERE popularity_change_7d > 0 AND popularity >= $min_popularity
  AND removed_from_tmdb_at IS NULL
ORDER BY popularity_change_7d DESC, popularity DESC, media_type, tmdb_id
LIMIT $limit;

-- name: falling
-- What is falling: as `rising`, the titles whose popularity shrank most in 7 days.
SELECT media_type, tmdb_id, title, year, popularity, popularity_change_7d,
       popularity_change_30d, trend_score
FROM pool
WHERE popularity_change_7d < 0 AND popularity >= $min_popularity
  AND removed_from_tmdb_at IS NULL
ORDER BY popularity_change_7d ASC, popularity DESC, media_type, tmdb_id
LIMIT $limit;

-- name: tmdb_data_age
-- How old TMDB's data of each title is (when TMDB last served the whole title, `pool`'s
-- tmdb_fetched_at; a vote refresh renews only the votes, and a CSV-only title was never
-- fetched from TMDB), over the titles `refresh-titles` keeps current, in buckets of days,
-- and how many are older than $max_age_days (WATCHBUDDY_MAX_DATA_AGE_DAYS).
SELECT count(*) AS titles,
       count(*) FILTER (WHERE age_days < 30) AS under_30_days,
       count(*) FILTER (WHERE age_days >= 30 AND age_days < 90) AS days_30_to_90,
       count(*) FILTER (WHERE age_days >= 90 AND age_days < 180) AS days_90_to_180,
       count(*) FILTER (WHERE age_days >= 180) AS over_180_days,
       count(*) FILTER (WHERE age_days IS NULL) AS never_fetched,
       count(*) FILTER (WHERE age_days IS NULL OR age_days >= $max_age_days) AS over_limit,
       min(tmdb_fetched_at)::VARCHAR AS oldest_fetched_at
FROM (
    SELECT tmdb_fetched_at,
           (epoch(now()) - epoch(tmdb_fetched_at)) / 86400.0 AS age_days
    FROM pool
    WHERE removed_from_tmdb_at IS NULL AND NOT coalesce(synthetic, false)
);

-- name: provider_regions
-- Each region's newest complete providers fetch (`watchbuddy providers`; the views keep only
-- that one): when it was fetched and how old it is, how many providers it covers and how many
-- titles are available on any of them (offers: one per provider, monetization type and title).
WITH fetches AS (
    SELECT region, max(fetched_at) AS fetched_at, count(DISTINCT provider_id) AS providers
    FROM providers
    GROUP BY region
), offers AS (
    SELECT region, count(DISTINCT (media_type, tmdb_id)) AS titles, count(*) AS offers
    FROM availability
    GROUP BY region
)
SELECT region, strftime(make_timestamp(epoch_us(fetched_at)), '%Y-%m-%d %H:%M UTC') AS fetched_at,
       round((epoch(now()) - epoch(fetched_at)) / 3600.0, 1) AS age_hours,
       providers, coalesce(titles, 0) AS titles, coalesce(offers, 0) AS offers
FROM fetches LEFT JOIN offers USING (region)
ORDER BY region;
