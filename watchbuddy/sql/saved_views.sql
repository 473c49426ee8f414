-- Saved views (watchbuddy/store/saved_views.py): the Explore filters under a name.

-- name: list
-- Every saved view, by name (the `saved_views` view is defined on the connection first).
SELECT name, query, saved_at FROM saved_views ORDER BY lower(name), name
