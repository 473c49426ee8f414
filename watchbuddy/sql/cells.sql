-- Parsers for the cell formats found in TMDB-derived CSVs, as DuckDB macros.
--
-- The landing query (watchbuddy/sources/csv/land.py) reads every cell as text and runs these inside
-- DuckDB's CSV scan, in parallel with parsing. Each parser returns NULL when a cell cannot
-- be parsed; the landing query compares "was there a value" with "did it parse" to reject
-- the row with a reason. `{movie_genres}` and `{tv_genres}` are filled in from the genre
-- tables shipped in watchbuddy/reference/tmdb_genres.json, `{null_token_chars}` (the length
-- of the longest null spelling) from validate.py, whose fast path relies on it.

-- The null spellings of spreadsheets and pandas ('', 'NaN', 'None', 'N/A', ...). Constant
-- lists are regular expressions, not IN: DuckDB plans a long IN list (and list_contains over
-- a constant list) as a hash join per use, and a long CASE is slower still.
CREATE OR REPLACE MACRO wb_is_null_token(t) AS
    t IS NULL OR (length(t) <= {null_token_chars} AND regexp_full_match(
        t, '\s*((?i)nan|none|null|n/a|na|\\n|\[\]|\{\}|nat|<na>)?\s*'));

-- Short text: trimmed, NUL bytes dropped, null spellings turned into NULL.
CREATE OR REPLACE MACRO wb_clean(t) AS
    CASE WHEN wb_is_null_token(t) THEN NULL
         WHEN contains(t, chr(0)) THEN nullif(trim(replace(t, chr(0), '')), '')
         ELSE trim(t) END;

-- Free text (overviews) is only checked for emptiness and NUL bytes: trimming every
-- overview costs more than the rest of validation together.
CREATE OR REPLACE MACRO wb_clean_free_text(t) AS
    CASE WHEN t = '' THEN NULL
         WHEN contains(t, chr(0)) THEN replace(t, chr(0), '')
         ELSE t END;

-- Numbers are plain decimals: '862', '862.0', '-1.5', '.5', '1e-05' (pandas writes small
-- floats so), '"1,234"' (thousands); with decimal_comma (';'-delimited files from European
-- spreadsheets) '7,5' is 7.5 and '1.234' is 1234. Spaces around are ignored. Not numbers:
-- 'inf', 'nan' (a null spelling, see above), hex '0x10', binary '0b1', '1_000', '12abc'.
-- DuckDB's casts take several of these (and exponents for whole numbers), so every cell is
-- matched against the grammar before any cast. The range of each field is checked in the
-- landing query (watchbuddy/sources/csv/validate.py, from schema.VALUE_RULES).
-- Blanks around a number: what regular expressions call \s and the casts ignore.
CREATE OR REPLACE MACRO wb_trim_blanks(t) AS
    trim(t, ' ' || chr(9) || chr(10) || chr(12) || chr(13));

CREATE OR REPLACE MACRO wb_number_text(t, decimal_comma) AS
    CASE
        WHEN decimal_comma AND contains(t, ',') THEN replace(replace(t, '.', ''), ',', '.')
        WHEN decimal_comma AND regexp_full_match(t, '[+-]?\d{1,3}(\.\d{3})+')
            THEN replace(t, '.', '')
        WHEN NOT decimal_comma AND regexp_full_match(t, '[+-]?\d{1,3}(,\d{3})+(\.\d+)?')
            THEN replace(t, ',', '')
        ELSE t
    END;

CREATE OR REPLACE MACRO wb_parse_float_general(t, decimal_comma) AS
    CASE WHEN regexp_full_match(wb_number_text(wb_trim_blanks(t), decimal_comma),
                                '[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?')
         THEN TRY_CAST(wb_number_text(wb_trim_blanks(t), decimal_comma) AS DOUBLE) END;

-- Plain numbers take the cast straight away; anything else (and every cell of a
-- decimal-comma file) the general parser. COALESCE only evaluates the second branch where
-- needed. A value too big for a double reads as infinity, which no range holds.
CREATE OR REPLACE MACRO wb_parse_float(t, decimal_comma) AS
    coalesce(
        CASE WHEN NOT decimal_comma
                  AND regexp_full_match(t, '\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*')
             THEN TRY_CAST(t AS DOUBLE) END,
        wb_parse_float_general(t, decimal_comma)
    );

-- Whole numbers: digits with an optional sign, then an optional '.0' ('862.0' from pandas),
-- or the same with thousands separators. No exponent: '1e3' is not an id.
CREATE OR REPLACE MACRO wb_parse_int(t, decimal_comma) AS
    coalesce(
        CASE WHEN regexp_full_match(t, '\s*[+-]?\d+\s*') THEN TRY_CAST(t AS BIGINT) END,
        TRY_CAST(regexp_extract(wb_number_text(wb_trim_blanks(t), decimal_comma), '^([+-]?\d+)(\.0*)?$', 1)
                 AS BIGINT)
    );

-- '[48]', '48', '[45, 60]' -> 48 (TV episode run times are lists).
CREATE OR REPLACE MACRO wb_first_number(t) AS
    CASE WHEN starts_with(t, '[') THEN regexp_extract(t, '^\[\s*(\d+(\.\d+)?)', 1) ELSE t END;

CREATE OR REPLACE MACRO wb_parse_bool(t) AS
    CASE WHEN regexp_full_match(t, '(?i)true|t|yes|y|1|1\.0') THEN true
         WHEN regexp_full_match(t, '(?i)false|f|no|n|0|0\.0') THEN false END;

-- ISO dates (optionally with a time part), 'YYYY/MM/DD', US 'M/D/YYYY', 'DD.MM.YYYY'. Each
-- parser only sees text of its layout (the ISO pattern is schema.ISO_DATE_TEXT): the cast
-- and strptime would also read 'infinity', 'epoch' and '2020-01-01 (BC)' as dates.
CREATE OR REPLACE MACRO wb_parse_date(t) AS
    CASE
        WHEN regexp_full_match(t, '{iso_date_text}') THEN TRY_CAST(t AS DATE)
        WHEN regexp_full_match(t, '\s*\d{4}/\d{1,2}/\d{1,2}\s*')
            THEN TRY_CAST(try_strptime(trim(t), '%Y/%m/%d') AS DATE)
        WHEN regexp_full_match(t, '\s*\d{1,2}/\d{1,2}/\d{4}\s*')
            THEN TRY_CAST(try_strptime(trim(t), '%m/%d/%Y') AS DATE)
        WHEN regexp_full_match(t, '\s*\d{1,2}\.\d{1,2}\.\d{4}\s*')
            THEN TRY_CAST(try_strptime(trim(t), '%d.%m.%Y') AS DATE)
    END;

-- 'movie', 'Movie', 'TV', 'show', 'series', 'tvshow', 'tv show' -> movie / tv; else NULL.
CREATE OR REPLACE MACRO wb_parse_media_type(t) AS
    CASE regexp_replace(lower(t), '[^a-z]', '', 'g')
        WHEN 'movie' THEN 'movie' WHEN 'movies' THEN 'movie' WHEN 'film' THEN 'movie'
        WHEN 'films' THEN 'movie'
        WHEN 'tv' THEN 'tv' WHEN 'show' THEN 'tv' WHEN 'shows' THEN 'tv'
        WHEN 'series' THEN 'tv' WHEN 'tvshow' THEN 'tv' WHEN 'tvshows' THEN 'tv'
        WHEN 'tvseries' THEN 'tv'
    END;

-- 'en', 'EN', 'en-US', 'pt_BR' -> 'en' / 'pt'; anything else is not a language code.
CREATE OR REPLACE MACRO wb_parse_language(t) AS
    nullif(regexp_extract(lower(t), '^([a-z]{2,3})([-_][a-z0-9]+)?$', 1), '');

-- 'tt0816692' stays; MovieLens-style '816692' becomes 'tt0816692'; anything else is NULL.
CREATE OR REPLACE MACRO wb_parse_imdb_id(t) AS
    CASE WHEN regexp_full_match(t, 'tt\d{5,10}') THEN t
         WHEN regexp_full_match(t, '\d{1,10}(\.0+)?')
             THEN 'tt' || lpad(regexp_extract(t, '^(\d+)', 1), 7, '0') END;

-- Trimmed, non-empty, first occurrence of each item, order kept. The outer one-element
-- list binds `items` once, so it is computed once.
CREATE OR REPLACE MACRO wb_tidy(items) AS
    list_transform(
        [list_transform(items, lambda x: trim(x))],
        lambda l: list_filter(l, lambda x, i: x <> '' AND list_position(l, x) = i)
    )[1];

-- Every list-cell layout seen in TMDB exports -> VARCHAR[]:
-- 'Action, Science Fiction' / 'Drama,Crime' / 'Adventure|Animation' / JSON
-- '[{"id": 28, "name": "Action"}]' / Python "[{'id': 35, 'name': 'Comedy'}]" / "['Drama']".
-- An object, or a list with objects, gives each object's name and nothing else: an object
-- without one ('[{"id": 18}]') names no genre, and its keys and values are not names.
-- (`contains` first: it rules out most cells at a fraction of the expression's cost.)
CREATE OR REPLACE MACRO wb_parse_list(t) AS
    CASE
        WHEN t IS NULL THEN NULL
        WHEN starts_with(t, '{')
            OR (starts_with(t, '[') AND contains(t, '{') AND regexp_matches(t, '[\[,]\s*\{'))
            THEN wb_tidy(
            list_transform(
                regexp_extract_all(t, '[''"]name[''"]\s*:\s*("[^"]*"|''[^'']*'')', 1),
                lambda x: x[2:-2]))
        WHEN starts_with(t, '[') THEN wb_tidy(
            list_transform(regexp_extract_all(t, '("[^"]*"|''[^'']*'')', 1),
                           lambda x: x[2:-2]))
        WHEN contains(t, '|') THEN wb_tidy(string_split_regex(t, '[,|]'))
        WHEN wb_is_null_token(t) THEN NULL
        ELSE wb_tidy(string_split(t, ','))
    END;

-- '[28, 35]' or '28|35' -> genre names through TMDB's table for the row's media type. Ids
-- the table does not know (retired ones, like the legacy 35-entry list's) are dropped.
CREATE OR REPLACE MACRO wb_parse_genre_ids(t, media_type) AS
    CASE WHEN t IS NULL THEN NULL ELSE wb_tidy(list_transform(
        regexp_extract_all(t, '\d+'),
        lambda x: CASE WHEN media_type = 'tv' THEN ({tv_genres})[x] ELSE ({movie_genres})[x] END
    )) END;

-- Text that is about to be parsed: only the null spellings need handling here.
CREATE OR REPLACE MACRO wb_nullif_token(t) AS
    CASE WHEN length(t) <= {null_token_chars} AND wb_is_null_token(t) THEN NULL ELSE t END;
