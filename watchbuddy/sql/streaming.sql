-- Where titles stream (watchbuddy/pool/streaming.py): reads over the `providers` and
-- `availability` views, the newest complete fetch of each region. (The provider filter's
-- own SQL is in candidates.sql.)

-- name: title_availability
-- Where one title streams in a region: each provider once, its monetization types in
-- TMDB's order ($types), its logo as a TMDB image URL ($logo_base || logo_path).
WITH hits AS (
    SELECT DISTINCT provider_id, provider_name, monetization_type
    FROM availability
    WHERE region = $region AND media_type = $media_type AND tmdb_id = $tmdb_id
)
SELECT coalesce(p.provider_name, h.provider_name) AS provider_name,
       $logo_base || p.logo_path AS logo_url,
       array_to_string(list(h.monetization_type
                            ORDER BY list_position($types, h.monetization_type)), ', ')
           AS monetization
FROM hits AS h
LEFT JOIN providers AS p ON p.region = $region AND p.provider_id = h.provider_id
GROUP BY ALL
ORDER BY min(p.display_priority) NULLS LAST, provider_name;
