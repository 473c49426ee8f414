-- `watchbuddy sql` (watchbuddy/query/readonly.py): the sealed connection and the statement
-- check.

-- name: allowed_paths
-- The only files a sealed connection may open: the ones its views read.
SET allowed_paths = $files;

-- name: memory_limit
SET memory_limit = $limit;

-- name: seal
-- No temp directory (the memory limit is where a query stops, not where it starts to fill
-- the disk), no other file or network access, and no setting can be changed after this.
SET temp_directory = '';
SET enable_external_access = false;
SET lock_configuration = true;

-- name: parse_tree
-- DuckDB's own serialization of a statement's parse tree.
SELECT json_serialize_sql($text::VARCHAR);

-- name: threads
SELECT current_setting('threads');
