-- Run records, read through the `runs` view (one row per run, its latest record): the
-- scheduler's catch-up rule, `watchbuddy jobs`, the Jobs page and the writer that marks
-- dead runs read them from here.

-- name: last_started
-- When each kind of run (job, media type) last started; a run still going does not count.
SELECT job, media_type, max(started_at) AS started_at
FROM runs
WHERE status <> 'running'
GROUP BY ALL;

-- name: last_run
-- The latest run of each kind (job, media type): how it ended, how long it took, what it did.
SELECT job, media_type, status AS last_status, started_at AS last_started,
       date_diff('millisecond', started_at, finished_at) / 1000.0 AS last_seconds,
       titles_new AS last_new, titles_updated AS last_updated,
       errors AS last_errors, messages[-1] AS last_message
FROM wb_latest_runs();

-- name: still_running
-- Runs whose latest record says 'running': under the write lock, runs whose process died.
SELECT run_id, job, media_type, started_at, pid
FROM runs
WHERE status = 'running';
