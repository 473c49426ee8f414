-- runs: one row per ingestion or refresh run, its latest record. A run writes a 'running'
-- record when it starts and a final record ('ok', 'failed', 'skipped') when it ends; a run
-- whose process died stays 'running' until the next writer marks it 'incomplete'.
CREATE OR REPLACE VIEW runs AS
SELECT *
FROM run_records
QUALIFY row_number() OVER (
    PARTITION BY run_id
    ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END DESC, finished_at DESC NULLS LAST
) = 1;

-- checkpoints: one row per media type, the newest checkpoint record. Ingestion resumes from
-- last_release_date minus one day (the boundary day is read again).
CREATE OR REPLACE VIEW checkpoints AS
SELECT *
FROM checkpoint_records
QUALIFY row_number() OVER (PARTITION BY media_type ORDER BY last_run_at DESC) = 1;

-- exports: one row per daily ID export file (media type, day, regular or adult), its newest
-- record: 'landed' once it is in popularity_history, else 'missing' (tried again next run).
CREATE OR REPLACE VIEW exports AS
SELECT *
FROM export_records
QUALIFY row_number() OVER (
    PARTITION BY media_type, export_date, adult
    ORDER BY CASE status WHEN 'landed' THEN 1 ELSE 0 END DESC, landed_at DESC
) = 1;

-- wb_latest_runs(): the newest run of each kind (job, media type), whatever its status: what
-- `watchbuddy stats`, `watchbuddy jobs` and the Jobs page call a job's last run.
CREATE OR REPLACE MACRO wb_latest_runs() AS TABLE
SELECT *
FROM runs
QUALIFY row_number() OVER (PARTITION BY job, media_type ORDER BY started_at DESC) = 1;
