-- Run records (watchbuddy/store/runs.py). The `runs` view itself is in state.sql.

-- name: still_running
-- Runs whose newest record says 'running': alive, or dead without a final record.
SELECT run_id, job, media_type, started_at, pid FROM runs WHERE status = 'running';
