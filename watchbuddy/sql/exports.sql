-- TMDB's daily ID exports (watchbuddy/sources/exports/land.py): what is landed already, so
-- a run lands each (media type, day, regular or adult) file once and retries missing ones.

-- name: export_state
-- Every export file with its newest record ('landed' or 'missing').
SELECT media_type, export_date, adult, status FROM exports;
