-- The candidate provider's SQL (watchbuddy/pool/candidates.py), as named statements.
--
-- Placeholders in braces are filled in by candidates.py with text of this file only (the
-- filter conditions below, joined with AND, and the genre-match expression); every value a
-- request brings is a $parameter. The short fragments carry no comments, since they are
-- pasted into the middle of a line:
--   exclusion           a watched list, registered as the table `excluded` (x_media, x_id)
--   similar_join        the titles alike to the liked ones, registered as `similar_titles`
--                       (rid, similarity; watchbuddy/pool/similar.py)
--   similarity          a title's similarity to the liked titles; no_similarity without
--   languages           the original-language codes present in the pool
--   no_genre_requested  the genre match when no genre is asked for
--   genre_match         the share of the requested genres ($genre_mask) a title has
--   where_*             one condition per filter (watchbuddy/pool/filters.py names them),
--                       each used only when its filter is set; the keyword ones get the
--                       keywords' ids (candidates.py, with_keyword_ids)
--   by_keys             titles picked by (media type, id), for CandidateProvider.rows (a
--                       title found by name, scored as the list would score it)

-- name: load
-- What the query scans: the filter and score columns of the pool's materialized file
-- (sorted by vote count, genres as a bitmask over the canonical genre names; see
-- watchbuddy/pool/cache.py), with freshness for today. Its rowid is the row's position in
-- that file, so the wide columns of the chosen rows are a Polars gather: carrying titles
-- and genre lists through DuckDB's top-N tripled the query time.
CREATE OR REPLACE TABLE candidate_pool AS
SELECT media_type, tmdb_id, year, release_date, original_language, genre_mask,
       coalesce(vote_average, 0) AS vote_average, coalesce(vote_count, 0) AS vote_count,
       coalesce(popularity, 0) AS popularity, adult,
       removed_from_tmdb_at IS NOT NULL AS removed, coalesce(synthetic, false) AS synthetic,
       nullif(runtime, 0) AS runtime, has_poster,
       obscurity_score, mainstream_score, quality_score, trend_score,
       freshness_score(release_date, current_date) AS freshness_score
FROM read_parquet($path)

-- name: load_keyword_pairs
-- The keyword filters' tables are built on the first keyword query of a loaded version
-- (pool/candidates.py: about half a second at 1.5M titles that no other query pays), from
-- the same file. First each (row position, keyword as spelled) pair; the file's row number
-- is the candidate table's rowid (both read the file in order).
CREATE OR REPLACE TEMP TABLE keyword_pairs AS
SELECT file_row_number::UINTEGER AS rid, unnest(keywords) AS spelling
FROM read_parquet($path, file_row_number = true)
WHERE len(keywords) > 0

-- name: load_keyword_spellings
-- Each spelling once, as a request is normalized (filters.py): runs of ASCII white space
-- made one space, trimmed, in lower case. Normalizing the distinct spellings only is what
-- keeps this fast (a few hundred thousand, not millions).
CREATE OR REPLACE TEMP TABLE keyword_spellings AS
SELECT spelling, lower(trim(regexp_replace(spelling, '[\t\n\f\r ]+', ' ', 'g'))) AS keyword
FROM (SELECT DISTINCT spelling FROM keyword_pairs)

-- name: load_keyword_names
-- The vocabulary: each keyword once, with a small id.
CREATE OR REPLACE TABLE candidate_keyword_names AS
SELECT (row_number() OVER (ORDER BY keyword))::UINTEGER AS keyword_id, keyword
FROM (SELECT DISTINCT keyword FROM keyword_spellings WHERE keyword <> '')

-- name: load_keywords
-- One row per (keyword, title), sorted by keyword: a keyword filter reads the few row
-- groups of its keywords (two 4-byte integers a pair, rather than every row's keyword
-- strings: see benchmarks/RESULTS.md). A title listing a keyword twice has two rows, which
-- the filters' semi joins do not mind.
CREATE OR REPLACE TABLE candidate_keywords AS
SELECT n.keyword_id, p.rid
FROM keyword_pairs AS p
JOIN keyword_spellings AS s USING (spelling)
JOIN candidate_keyword_names AS n USING (keyword)
ORDER BY n.keyword_id, p.rid

-- name: drop_keyword_pairs
DROP TABLE keyword_pairs; DROP TABLE keyword_spellings

-- name: keyword_ids
-- The ids of the asked keywords ($words, normalized by filters.py) the pool has: the
-- keyword conditions (where_keywords, where_no_keywords) take ids, not words.
SELECT keyword, keyword_id FROM candidate_keyword_names WHERE list_contains($words, keyword)

-- name: load_providers
-- The providers of every fetched region (the `providers` view, defined on the candidate
-- connection over the published files): what a provider filter's names resolve against.
CREATE OR REPLACE TABLE candidate_providers AS
SELECT region, provider_id, provider_name, logo_path, display_priority FROM providers

-- name: load_availability
-- The availability rows of titles the candidate table holds, by row position (`rid`), so
-- the provider filter is a semi join on one integer. The monetization type is a bit
-- (1 << its position in $types), so the filter tests a mask, and the rows are sorted by
-- region and provider, so a filter on a few providers skips the others' row groups.
CREATE OR REPLACE TABLE candidate_availability AS
SELECT a.region, a.provider_id,
       (1 << (list_position($types, a.monetization_type) - 1))::UTINYINT AS monetization_bit,
       a.monetization_type, c.rowid AS rid, a.provider_name
FROM availability AS a
JOIN candidate_pool AS c ON c.media_type = a.media_type AND c.tmdb_id = a.tmdb_id
ORDER BY a.region, a.provider_id, monetization_bit, rid

-- name: providers
-- Every fetched region's providers in TMDB's display order (ties by name).
SELECT region, provider_id, provider_name, logo_path FROM candidate_providers
WHERE region IS NOT NULL
ORDER BY region, display_priority NULLS LAST, provider_name, provider_id

-- name: streams
-- What `streaming_on` reads: each availability row with its provider's name and rank in the
-- region's display order (a provider the region's list lacks goes last, by the name
-- availability gives), sorted by row position for a binary search.
SELECT a.rid, a.region, a.monetization_type,
       coalesce(p.provider_name, a.provider_name) AS provider_name,
       row_number() OVER (PARTITION BY a.region
                          ORDER BY p.display_priority NULLS LAST,
                                   coalesce(p.provider_name, a.provider_name), a.rid)
           AS rank
FROM candidate_availability AS a
LEFT JOIN candidate_providers AS p ON p.region = a.region AND p.provider_id = a.provider_id
ORDER BY a.region, a.rid

-- name: query
-- The candidate list. Only the filters a request uses become WHERE conditions (each one
-- parameterized): constant-folded "$x IS NULL OR ..." conditions still cost a check per row.
-- Ties are broken by vote count, media type and id, so offset pages never repeat a title.
-- With titles to be like ({similar} is `similar_join`), only titles alike to them at all
-- are candidates, each with its similarity; else `no_similarity`.
WITH scored AS (
    SELECT candidate_pool.rowid AS rid, media_type, tmdb_id, vote_count, synthetic,
           obscurity_score, mainstream_score, quality_score, trend_score, freshness_score,
           {genre_match} AS genre_match, {similarity} AS similarity
    FROM candidate_pool {similar}
    WHERE {conditions}
)
SELECT rid, synthetic, genre_match, freshness_score, similarity,
    $w_mainstream * mainstream_score + $w_obscurity * obscurity_score
        + $w_quality * quality_score + $w_freshness * freshness_score
        + $w_genre_match * genre_match + $w_trend * trend_score
        + $w_similarity * similarity AS score
FROM scored
{exclusion}
ORDER BY score DESC, vote_count DESC, media_type, tmdb_id
LIMIT $limit OFFSET $offset

-- name: count
-- How many titles match in all (asked only when a page comes back short).
WITH scored AS (SELECT media_type, tmdb_id FROM candidate_pool {similar} WHERE {conditions})
SELECT count(*) FROM scored {exclusion}

-- name: similar_join
JOIN similar_titles ON similar_titles.rid = candidate_pool.rowid

-- name: similarity
similar_titles.similarity

-- name: no_similarity
0.0::DOUBLE

-- name: exclusion
ANTI JOIN excluded ON scored.media_type = excluded.x_media AND scored.tmdb_id = excluded.x_id

-- name: languages
SELECT DISTINCT original_language FROM candidate_pool
WHERE original_language IS NOT NULL ORDER BY 1

-- name: no_genre_requested
1.0::DOUBLE

-- name: genre_match
bit_count(genre_mask & $genre_mask) / bit_count($genre_mask)

-- name: where_min_votes
vote_count >= $min_votes

-- name: where_media_type
media_type = $media

-- name: where_languages
list_contains($languages, original_language)

-- name: where_genres_all
genre_mask & $genre_mask = $genre_mask

-- name: where_genres_any
genre_mask & $genre_mask <> 0

-- name: where_year_min
year >= $year_min

-- name: where_year_max
year <= $year_max

-- name: where_min_rating
vote_average >= $min_rating

-- name: where_not_adult
NOT adult

-- name: where_released
release_date <= current_date

-- name: where_not_removed
NOT removed

-- name: by_keys
list_contains($key_ids, tmdb_id) AND list_contains($key_names, media_type || ':' || tmdb_id)

-- name: where_providers
candidate_pool.rowid IN (SELECT rid FROM candidate_availability WHERE region = $region AND list_contains($provider_ids, provider_id) AND monetization_bit & $monetization_mask <> 0)

-- name: where_no_genres
genre_mask & $exclude_mask = 0

-- name: where_runtime_min
runtime >= $runtime_min

-- name: where_runtime_max
runtime <= $runtime_max

-- name: where_keywords
candidate_pool.rowid IN (SELECT rid FROM candidate_keywords WHERE list_contains($keywords, keyword_id))

-- name: where_no_keywords
candidate_pool.rowid NOT IN (SELECT rid FROM candidate_keywords WHERE list_contains($exclude_keywords, keyword_id))

-- name: where_poster
has_poster

-- name: where_no_poster
NOT has_poster
