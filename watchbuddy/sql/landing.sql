-- Landing CSV files (watchbuddy/sources/csv/). The landing query (validate.py): CSV text in,
-- canonical typed rows out, each with a reject reason (`_reason`) or none, and the raw cells
-- of a rejected row (`_raw`). The cell parsers are the macros of cells.sql.
--
-- `{rows}` is where the records come from: `csv_rows` below (DuckDB's reader, with the
-- parameters $path, $columns, $skip, $delim, $compression), or a table of records Polars
-- already read (the fast path, fast.py). The other placeholders in braces are
-- fragments validate.py builds from the file's column plan and the schema (which of the
-- file's columns c0..cN holds each field, the rules' reject reasons); file header names never
-- reach this text. `{decimal_comma}` is the literal true or false: as a constant it lets
-- DuckDB fold the parsers' decimal-comma branches away.

-- name: landing
WITH raw AS (
    SELECT {selected}
    FROM {rows}
), cleaned AS (
    SELECT *,
        {cleaned}
    FROM raw
), parsed AS (
    SELECT *,
        wb_parse_int(t_tmdb_id, false) AS p_id,
        {media_type} AS p_media_type,
        coalesce(t_title, t_original_title) AS p_title,
        wb_parse_date(t_release_date) AS p_date,
        wb_parse_int(t_vote_count, {decimal_comma}) AS p_votes,
        wb_parse_float(t_vote_average, {decimal_comma}) AS p_rating,
        wb_parse_float(t_popularity, {decimal_comma}) AS p_popularity,
        wb_parse_float(wb_first_number(t_runtime), {decimal_comma}) AS p_runtime,
        wb_parse_bool(t_adult) AS p_adult,
        wb_parse_language(t_original_language) AS p_language
    FROM cleaned
), checked AS (
    SELECT *, {reason} AS _reason
    FROM parsed
)
SELECT
    p_media_type AS media_type,
    p_id AS tmdb_id,
    wb_parse_imdb_id(t_imdb_id) AS imdb_id,
    p_title AS title,
    t_original_title AS original_title,
    p_language AS original_language,
    t_overview AS overview,
    t_status AS status,
    p_date AS release_date,
    CASE WHEN _reason IS NULL THEN {genres} END AS genres,
    CASE WHEN _reason IS NULL THEN wb_parse_list(t_keywords) END AS keywords,
    CASE WHEN _reason IS NULL AND p_runtime > 0 THEN CAST(round(p_runtime) AS INTEGER) END
        AS runtime,
    p_popularity AS popularity,
    p_rating AS vote_average,
    p_votes AS vote_count,
    p_adult AS adult,
    t_poster_path AS poster_path,
    wb_parse_bool(t_synthetic) AS synthetic,
    _reason,
    CASE WHEN _reason IS NOT NULL THEN to_json({raw_struct}) END AS _raw
FROM checked;

-- name: csv_rows
-- A file's records as text, columns c0..cN, broken records kept aside in reject_errors.
read_csv($path, auto_detect = false, columns = $columns, header = false,
         skip = $skip, delim = $delim, quote = '"', escape = '"', strict_mode = true,
         store_rejects = true, max_line_size = 4194304, compression = $compression);

-- name: first_records
-- A file's first $records records as DuckDB's reader reads them, the columns `{selected}`
-- (the part the fast path landed before a record Polars could not read: resume.py compares
-- the two readings). Its broken records go to reject_errors, as for the landing query.
SELECT {selected} FROM {rows} LIMIT $records;

-- name: known_hashes
-- Files already landed, or already found not to be title tables (land.py).
SELECT DISTINCT content_hash FROM imports WHERE status IN ('landed', 'skipped');

-- name: structural_rejects
-- What DuckDB's CSV reader could not parse as records (store_rejects = true above).
SELECT line, error_type, csv_line, error_message FROM reject_errors ORDER BY line;
