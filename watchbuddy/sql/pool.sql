-- pool: one current row per (media_type, tmdb_id), merged field by field from every record
-- landed for the title, with removals flagged and the score columns computed.
--
-- The merge rule (README, "The pool"): for each title and each field, the value of the
-- newest record that knows that field; newest by `updated_at` (when the data was fetched
-- from TMDB; for a CSV, the file's modification time), then `batch` (landing order), then `source_row` (order within the file). NULL,
-- and an empty genre or keyword list, mean "not known": a file without a language column
-- never erases the language an older, richer file gave. A vote refresh (table `votes`) is
-- a record that knows only vote_count, vote_average and popularity. Synthetic demo records
-- count only for titles that no real record knows. Nothing is keyed by tmdb_id alone:
-- about 100K ids are both a movie and a show.
--
-- The two placeholders in braces below are filled in by watchbuddy/store/views.py from the title
-- schema (the list of fields, and one `wb_newest(field, record_order, field is known)` per
-- field), so this file and the schema cannot disagree. The expanded text of each view
-- is in `SELECT sql FROM duckdb_views()`.

-- The newest-first order of records as one sortable number: updated_at (µs), then batch,
-- then source_row. HUGEINT keeps the three apart (2^64 > any batch * 2^32 + row).
CREATE OR REPLACE MACRO wb_record_order(updated_at, batch, source_row) AS
    coalesce(epoch_us(updated_at), 0)::HUGEINT * 18446744073709551616
  + coalesce(batch, 0)::HUGEINT * 4294967296
  + coalesce(source_row, 0);

-- The dedup rule, the one definition of which record wins: of a title's records for which
-- `known` holds, the newest by record_order. `wb_newest(value, record_order, known)` is the
-- winner's `value`; the pool merges each field with it (`known`: the record knows the field),
-- and compaction (store/compact.py) keeps the records it picks, asking for their record_order.
CREATE OR REPLACE MACRO wb_newest(value, record_order, known) AS
    arg_max(value, record_order) FILTER (WHERE known);

-- The start (00:00 UTC) of a day, as a timestamp: when a daily export of that day counts as
-- fetched (TMDB writes it early that morning), whatever the session's time zone.
CREATE OR REPLACE MACRO wb_day_start(day) AS to_timestamp(epoch(day::TIMESTAMP));

-- A day's popularity as one byte of a sparkline, at its place in an eight-day word (byte
-- `days_before` % 8, counting back from the trend's newest day): 1 + 16 x log2(1 +
-- popularity), so each step is about 4.4 % and 254 steps reach a popularity of 60,000
-- (TMDB's highest are a few thousand); 0 is left for "no export listed the title that day".
-- Decoded by pool/sparklines.py as 2^((byte - 1) / 16) - 1. (A UBIGINT shifted by a BIGINT
-- is a HUGEINT, which Parquet stores as a DOUBLE: hence the cast back.)
CREATE OR REPLACE MACRO wb_spark_bits(popularity, days_before) AS
    ((1 + least(254, round(16 * log2(1 + greatest(popularity, 0)))))::UBIGINT
        << (8 * (days_before % 8)))::UBIGINT;

-- pool_records: every record that takes part in the merge, each with its record_order.
-- `refreshed_at` is set only on vote refreshes, which never make a title on their own and
-- never change its provenance. (Three branches over the raw views rather than one shared
-- CTE: DuckDB materializes a CTE used twice, overviews and all.)
CREATE OR REPLACE VIEW pool_records AS
SELECT media_type, tmdb_id, {field_list}, source, source_name, batch, source_row, updated_at,
       landed_at, false AS synthetic, CAST(NULL AS TIMESTAMPTZ) AS refreshed_at,
       wb_record_order(updated_at, batch, source_row) AS record_order
FROM titles
WHERE NOT coalesce(synthetic, false)
UNION ALL BY NAME
SELECT media_type, tmdb_id, {field_list}, source, source_name, batch, source_row, updated_at,
       landed_at, true AS synthetic, CAST(NULL AS TIMESTAMPTZ) AS refreshed_at,
       wb_record_order(updated_at, batch, source_row) AS record_order
FROM titles
ANTI JOIN (
    SELECT media_type, tmdb_id FROM titles WHERE NOT coalesce(synthetic, false)
) AS real_titles USING (media_type, tmdb_id)
WHERE synthetic
UNION ALL BY NAME
SELECT media_type, tmdb_id, vote_average, vote_count, popularity, refreshed_at AS updated_at,
       false AS synthetic, refreshed_at, wb_record_order(refreshed_at, 0, 0) AS record_order
FROM votes;

-- pool_computed: the merge itself, plus removals and scores. `pool` is this view
-- materialized once per warehouse version (see views.py); query either, same rows.
CREATE OR REPLACE VIEW pool_computed AS
WITH shared AS (
    -- Titles with more than one record: only these need the per-field merge. Most titles
    -- have one record and pass straight through, which is what keeps this view fast.
    SELECT media_type, tmdb_id FROM pool_records GROUP BY ALL HAVING count(*) > 1
),
single AS (
    SELECT media_type, tmdb_id, {field_list}, source, source_name, updated_at, landed_at,
           batch, synthetic, CAST(NULL AS TIMESTAMPTZ) AS votes_refreshed_at,
           CASE WHEN source = 'tmdb' THEN updated_at END AS last_seen_at,
           CASE WHEN popularity IS NOT NULL THEN updated_at END AS popularity_at,
           CASE WHEN source = 'tmdb' THEN updated_at END AS tmdb_fetched_at
    FROM pool_records ANTI JOIN shared USING (media_type, tmdb_id)
    WHERE refreshed_at IS NULL
),
merged AS (
    SELECT
        media_type,
        tmdb_id,
        {merged_fields},
        -- Provenance is the newest title record's; a vote refresh only says when the votes
        -- were refreshed, and that TMDB still had the title then.
        wb_newest(source, record_order, refreshed_at IS NULL) AS source,
        wb_newest(source_name, record_order, refreshed_at IS NULL) AS source_name,
        max(updated_at) FILTER (WHERE refreshed_at IS NULL) AS updated_at,
        wb_newest(landed_at, record_order, refreshed_at IS NULL) AS landed_at,
        wb_newest(batch, record_order, refreshed_at IS NULL) AS batch,
        bool_and(synthetic) FILTER (WHERE refreshed_at IS NULL) AS synthetic,
        -- arg_max_null: NULL when the votes came from a title record, not a refresh.
        arg_max_null(refreshed_at, record_order) FILTER (WHERE vote_count IS NOT NULL)
            AS votes_refreshed_at,
        -- when TMDB last served the title (a CSV copied in today says nothing about that)
        max(updated_at) FILTER (WHERE refreshed_at IS NOT NULL OR source = 'tmdb')
            AS last_seen_at,
        -- when the popularity shown was fetched (a daily export newer than that wins)
        wb_newest(updated_at, record_order, popularity IS NOT NULL) AS popularity_at,
        -- when TMDB last served the whole title (a vote refresh renews only the votes; a
        -- CSV-only title was never fetched from TMDB): the data age `refresh-titles` keeps
        -- under WATCHBUDDY_MAX_DATA_AGE_DAYS
        max(updated_at) FILTER (WHERE refreshed_at IS NULL AND source = 'tmdb')
            AS tmdb_fetched_at
    FROM pool_records SEMI JOIN shared USING (media_type, tmdb_id)
    GROUP BY media_type, tmdb_id
    HAVING count(*) FILTER (WHERE refreshed_at IS NULL) > 0
),
latest_removals AS (
    SELECT media_type, tmdb_id, max(removed_at) AS removed_at FROM removals GROUP BY ALL
),
export_days AS (
    -- The ID universe: per media type, the newest day whose regular and adult export
    -- files both landed. A title that day's files do not list is gone from TMDB.
    SELECT media_type, max(export_date) AS export_day
    FROM (
        SELECT media_type, export_date FROM exports WHERE status = 'landed'
        GROUP BY ALL HAVING count(DISTINCT adult) = 2
    )
    GROUP BY ALL
),
history_days AS (
    -- Per media type, the newest landed export day (`exports` is a few rows per day): the
    -- trend's "now"; and where the history read starts: 45 days before it (the trend
    -- window), or the newest complete day if older (so its listing is always read).
    SELECT media_type, max(x.export_date) AS newest_day,
           least(max(x.export_date) - 45, any_value(e.export_day)) AS window_start
    FROM exports AS x LEFT JOIN export_days AS e USING (media_type)
    WHERE x.status = 'landed'
    GROUP BY media_type
),
history AS (
    -- One pass over the window of history (the scan stays the same size however long the
    -- archive grows, and each day's files outside it are skipped):
    -- per title, the newest day in the window an export listed it and its popularity then,
    -- and its popularity on the newest day and about 7 and 30 days earlier (the newest
    -- listed day 7-14 and 30-45 days before, so a missed day or two still gives a value).
    SELECT h.media_type, h.tmdb_id,
           max(h.date) AS listed_on,
           arg_max(h.popularity, h.date)::DOUBLE AS listed_popularity,
           any_value(h.popularity) FILTER (WHERE h.date = d.newest_day)::DOUBLE AS p_now,
           arg_max(h.popularity, h.date) FILTER (
               WHERE h.date BETWEEN d.newest_day - 14 AND d.newest_day - 7)::DOUBLE AS p_7d,
           arg_max(h.popularity, h.date) FILTER (
               WHERE h.date BETWEEN d.newest_day - 45 AND d.newest_day - 30)::DOUBLE AS p_30d,
           -- the sparkline: the popularity of each of the last {sparkline_days} days, a
           -- byte a day, eight days to a word (bit_or: a cheap aggregate that needs no
           -- order, where a list in date order doubled the pool build)
           bit_or(wb_spark_bits(h.popularity, d.newest_day - h.date))
               FILTER (WHERE d.newest_day - h.date BETWEEN 0 AND 7) AS spark_0,
           bit_or(wb_spark_bits(h.popularity, d.newest_day - h.date))
               FILTER (WHERE d.newest_day - h.date BETWEEN 8 AND 15) AS spark_1,
           bit_or(wb_spark_bits(h.popularity, d.newest_day - h.date))
               FILTER (WHERE d.newest_day - h.date BETWEEN 16 AND 23) AS spark_2,
           bit_or(wb_spark_bits(h.popularity, d.newest_day - h.date))
               FILTER (WHERE d.newest_day - h.date BETWEEN 24 AND {sparkline_days} - 1)
               AS spark_3
    FROM popularity_history AS h
    JOIN history_days AS d
      ON d.media_type = h.media_type AND h.date BETWEEN d.window_start AND d.newest_day
    GROUP BY h.media_type, h.tmdb_id
),
current_titles AS (
    SELECT * FROM single
    UNION ALL BY NAME
    SELECT * FROM merged
),
followed AS (
    -- Each title with what the exports and removals add: the newest export's popularity
    -- when its day is newer than the record that gave the title's popularity (the export of
    -- day D is made early on D, UTC), the popularity changes, and when TMDB was last known
    -- to have the title (served or listed it) and last known not to (a 404, or an export
    -- day that did not list it).
    SELECT
        t.* REPLACE (
            CASE
                WHEN h.listed_on IS NOT NULL
                 AND (t.popularity_at IS NULL OR wb_day_start(h.listed_on) > t.popularity_at)
                THEN h.listed_popularity
                ELSE t.popularity
            END AS popularity
        ),
        popularity_change(h.p_now, h.p_7d) AS popularity_change_7d,
        popularity_change(h.p_now, h.p_30d) AS popularity_change_30d,
        greatest(
            r.removed_at,
            CASE WHEN h.listed_on IS NULL OR h.listed_on < e.export_day
                 THEN wb_day_start(e.export_day) END
        ) AS gone_at,
        greatest(t.last_seen_at, wb_day_start(h.listed_on)) AS seen_at,
        h.spark_0, h.spark_1, h.spark_2, h.spark_3
    FROM current_titles AS t
    LEFT JOIN latest_removals AS r ON r.media_type = t.media_type AND r.tmdb_id = t.tmdb_id
    LEFT JOIN history AS h ON h.media_type = t.media_type AND h.tmdb_id = t.tmdb_id
    LEFT JOIN export_days AS e ON e.media_type = t.media_type
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
    popularity_change_7d,
    popularity_change_30d,
    vote_average,
    vote_count,
    coalesce(adult, false) AS adult,
    poster_path,
    source,
    source_name,
    updated_at,
    votes_refreshed_at,
    tmdb_fetched_at,
    landed_at,
    batch,
    synthetic,
    -- Flagged when TMDB answered 404, or its newest complete export day did not list the
    -- title, after it last served or listed the title (a record or a vote refresh from the
    -- API, an export listing it); TMDB serving or listing it again later clears it, a CSV
    -- does not.
    CASE WHEN seen_at IS NULL OR gone_at > seen_at THEN gone_at END AS removed_from_tmdb_at,
    obscurity_score(vote_count, popularity) AS obscurity_score,
    mainstream_score(vote_count, popularity) AS mainstream_score,
    quality_score(vote_average, vote_count) AS quality_score,
    trend_score(popularity_change_7d) AS trend_score,
    freshness_score(release_date, current_date) AS freshness_score,
    -- Not `pool` columns (the views leave them out): the candidate table's sparklines
    spark_0, spark_1, spark_2, spark_3
FROM followed;
