-- The statements that set up a view connection (watchbuddy/store/views.py). The views
-- themselves are in pool.sql, scores.sql and state.sql; the raw table views are built here
-- from the table schemas (placeholders in braces are filled from the schema and the manifest
-- by views.py, never from user input).

-- name: quiet
-- The progress bar would draw over our own output.
SET enable_progress_bar = false;

-- name: metadata_cache
-- Every view reads the same Parquet footers: a raw table's once to define its view, again
-- for each view built on it (`pool_records`, `pool_computed`, `runs`...) and for each
-- query. Warehouse files are never rewritten in place (a new version has new names), and
-- DuckDB checks a file's modification time before trusting its cached footer.
SET parquet_metadata_cache = true;

-- name: raw_view
-- One raw table: its published files with exactly the columns of the table's schema.
-- `{empty}` is a typed empty result of the schema (a file from before a column was added
-- reads it as NULL), `{files}` the quoted file list, `{columns}` the select list.
CREATE OR REPLACE VIEW {view} AS
SELECT {columns}
FROM ({empty} UNION ALL BY NAME SELECT * FROM read_parquet([{files}], union_by_name = true));

-- name: empty_raw_view
-- A raw table no file has been published for yet: typed and empty.
CREATE OR REPLACE VIEW {view} AS {empty};

-- name: computed_pool
-- The sparkline words are the candidate table's (pool.sql), not pool columns.
CREATE OR REPLACE VIEW pool AS
SELECT * EXCLUDE ({spark}) FROM pool_computed;

-- name: materialized_pool
-- `pool` over this version's materialized file (pool/cache.py): the file holds
-- `pool_computed`'s columns without freshness (computed here, for today), plus `{extra}`.
CREATE OR REPLACE VIEW pool AS
SELECT * EXCLUDE ({extra}), freshness_score(release_date, current_date) AS freshness_score
FROM read_parquet({path});

-- name: set_version
-- Which manifest version the connection's views read (README: "Reading the warehouse").
SET VARIABLE watchbuddy_manifest_version = $version;

-- name: set_warehouse
SET VARIABLE watchbuddy_warehouse = $warehouse;

-- name: set_pool_file
SET VARIABLE watchbuddy_pool_file = $path;

-- name: pool_file
SELECT getvariable('watchbuddy_pool_file');

-- name: seen
SELECT getvariable('watchbuddy_warehouse'), getvariable('watchbuddy_manifest_version');
