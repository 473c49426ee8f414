"""More-like-this benchmark (`make bench`): `--like` queries at 1.5M titles vs SQL.

`CandidateProvider.get` with `like` at limit 200 in a warm process (the similarity index
built, the candidate table loaded), p50 and p95 over REPEATS runs; each repetition likes a
different title of the same kind, so no similarity vector is served from the cache. The
baseline is the same similarity in DuckDB SQL in the same run: a (title, token, idf²) table
joined with itself on the token, grouped by title, with the same language and era factors
and the same blend with the mode, top 200. Also: building the index (once per pool version
and process), the `for_you` profile of a long history (as many liked and disliked titles as it
reads), and
the index's memory. Uses the warehouse `bench_candidates.py` shares.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from dataclasses import replace

import numpy as np
import pyarrow as pa
from bench_candidates import full_size_warehouse, percentile
from bench_landing import machine, write_section_named

from watchbuddy.pool.candidates import MODES, CandidateFilters, CandidateProvider
from watchbuddy.pool.similar import CONTENT, ERA, ERA_HALF_LIFE_YEARS, LANGUAGE
from watchbuddy.pool.similar_titles import PROFILE_DISLIKED, PROFILE_LIKED
from watchbuddy.store.warehouse import Warehouse

SECTION = "## More like this (issue 15)"
REPEATS = 20
LIMIT = 200


def picks(provider: CandidateProvider, low: int, high: int, count: int) -> list[str]:
    """`count` titles with keywords and between `low` and `high` votes, as media:id."""
    cursor = provider._connection()
    try:
        rows = cursor.sql(
            "SELECT media_type, tmdb_id FROM candidate_pool WHERE vote_count BETWEEN $low AND "
            "$high AND NOT removed ORDER BY hash(tmdb_id, media_type) LIMIT $n",
            params={"low": low, "high": high, "n": count * 4},
        ).fetchall()
    finally:
        cursor.close()
    display = provider._loaded_now().display
    index, _ = provider.similar.index(provider._loaded_now().path)  # type: ignore[arg-type]
    keyed = {
        (m, i): r
        for r, (m, i) in enumerate(zip(display["media_type"], display["tmdb_id"], strict=True))
        if (m, i) in set(rows)
    }
    with_tokens = [f"{m}:{i}" for (m, i), r in keyed.items() if len(index.tokens(r)) >= 3]
    return with_tokens[:count]


def queries(provider: CandidateProvider) -> list[tuple[str, list[CandidateFilters]]]:
    popular = picks(provider, 2000, 10**9, REPEATS)
    middle = picks(provider, 100, 1999, REPEATS)
    obscure = picks(provider, 5, 99, REPEATS)

    def each(titles: list[str], **extra) -> list[CandidateFilters]:
        return [CandidateFilters(like=(t,), limit=LIMIT, **extra) for t in titles]

    return [
        ("like a popular title (balanced)", each(popular)),
        ("like a title with 100-2,000 votes", each(middle)),
        ("like an obscure title, mode obscure", each(obscure, mode="obscure")),
        ("like a title, mode mainstream, movies", each(middle, mode="mainstream")),
        ("like a title, French only", each(popular, languages=("fr",))),
        ("like a title, Drama", each(middle, genres=("Drama",))),
        ("like a title, mode deep_discovery (5 votes)", each(middle, mode="deep_discovery")),
        ("like a title, no vote floor (min_votes 0)", each(middle, min_votes=0)),
        (
            "like three titles",
            [
                CandidateFilters(like=(a, b, c), limit=LIMIT)
                for a, b, c in zip(popular, middle, obscure, strict=True)
            ],
        ),
    ]


BASELINE_LOAD = """
CREATE OR REPLACE TABLE title_tokens AS
SELECT rid, tid, idf2 FROM tokens_arrow;
CREATE OR REPLACE TABLE title_facts AS
SELECT rid, norm, language, year FROM facts_arrow;
"""

BASELINE_QUERY = """
WITH liked AS (SELECT tid, idf2 FROM title_tokens WHERE rid = $rid),
dot AS (
    SELECT t.rid, sum(t.idf2) AS dot FROM title_tokens AS t JOIN liked USING (tid)
    GROUP BY t.rid
),
q AS (SELECT norm, language, year FROM title_facts WHERE rid = $rid),
sim AS (
    SELECT d.rid,
           least(d.dot / (q.norm * f.norm), 1.0)
           * ($content + $language * (f.language = q.language AND q.language >= 0)::INT
              + $era * CASE WHEN f.year >= 0 AND q.year >= 0
                            THEN pow(0.5, abs(f.year - q.year) / $half_life) ELSE 0 END)
               AS similarity
    FROM dot AS d JOIN title_facts AS f USING (rid), q
    WHERE d.rid <> $rid
)
SELECT c.rowid AS rid,
       $w_mainstream * c.mainstream_score + $w_obscurity * c.obscurity_score
       + $w_quality * c.quality_score + $w_freshness * c.freshness_score
       + $w_genre_match + $w_trend * c.trend_score + $w_similarity * s.similarity AS score
FROM candidate_pool AS c JOIN sim AS s ON s.rid = c.rowid
WHERE c.vote_count >= $floor AND NOT c.adult AND NOT c.removed
  AND c.release_date <= current_date
ORDER BY score DESC, c.vote_count DESC
LIMIT 200
"""


def prepare_baseline(provider: CandidateProvider) -> dict[str, int]:
    """The baseline's tables on the candidate connection; media:id -> row."""
    loaded = provider._loaded_now()
    index, _ = provider.similar.index(loaded.path)  # type: ignore[arg-type]
    rids = np.repeat(np.arange(index.size, dtype=np.int64), np.diff(index.indptr))
    cursor = provider._connection()
    cursor.register(
        "tokens_arrow",
        pa.table({"rid": rids, "tid": index.indices, "idf2": index.idf[index.indices] ** 2}),
    )
    cursor.register(
        "facts_arrow",
        pa.table(
            {
                "rid": np.arange(index.size, dtype=np.int64),
                "norm": index.norm,
                "language": index.language,
                "year": index.year,
            }
        ),
    )
    cursor.execute(BASELINE_LOAD)
    cursor.close()
    display = loaded.display
    return {
        f"{m}:{i}": r
        for r, (m, i) in enumerate(zip(display["media_type"], display["tmdb_id"], strict=True))
    }


def baseline(
    provider: CandidateProvider, keys: dict[str, int], filters: list[CandidateFilters]
) -> list[float]:
    """The same similarity in DuckDB SQL (a token self-join), on the candidate connection."""
    cursor = provider._connection()
    times = []
    for f in filters:
        weights = MODES[f.mode].weights(True)
        params = {f"w_{k}": v for k, v in weights.items()}
        params.update(
            rid=keys[f.like[0]],
            content=CONTENT,
            language=LANGUAGE,
            era=ERA,
            half_life=ERA_HALF_LIFE_YEARS,
            floor=f.vote_floor,
        )
        started = time.perf_counter()
        cursor.sql(BASELINE_QUERY, params=params).fetchall()
        times.append(time.perf_counter() - started)
    cursor.close()
    return times


def main() -> None:
    warehouse = full_size_warehouse()
    provider = CandidateProvider(Warehouse(warehouse))
    provider.get(CandidateFilters(limit=1))  # the candidate table, loaded
    path = provider._loaded_now().path
    assert path is not None
    started = time.perf_counter()
    index, _ = provider.similar.index(path)
    build = time.perf_counter() - started
    arrays = [index.idf, index.indptr, index.indices, index.post_ptr, index.post_rids]
    memory = sum(a.nbytes for a in [*arrays, index.norm, index.language, index.year]) / 2**20
    total = index.size

    keys = prepare_baseline(provider)
    rows = []
    for name, filters in queries(provider):
        ours = []
        got = 0
        for f in filters:
            started = time.perf_counter()
            got = provider.get(f).frame.height
            ours.append(time.perf_counter() - started)
        theirs = baseline(provider, keys, [f for f in filters if len(f.like) == 1][:5])
        # The same filters without a like, same run: what the machine's load makes of the
        # plain candidate query (6-11 ms p50 on an idle machine, "Candidates" above).
        plain = []
        for _ in range(5):
            started = time.perf_counter()
            provider.get(replace(filters[0], like=()))
            plain.append(time.perf_counter() - started)
        rows.append(
            (
                name,
                got,
                statistics.median(ours),
                percentile(ours, 0.95),
                statistics.median(theirs) if theirs else None,
                statistics.median(plain),
            )
        )
        print(f"{name}: {rows[-1][2] * 1000:.1f} ms p50", flush=True)

    # A long history's for_you profile (computed once per history version, then cached).
    rng = np.random.default_rng(15)
    has_tokens = np.flatnonzero(np.diff(index.indptr) >= 3)
    chosen = rng.choice(has_tokens, PROFILE_LIKED + PROFILE_DISLIKED, replace=False)
    started = time.perf_counter()
    votes = provider._loaded_now().display["vote_count"].to_numpy()
    below = int(np.searchsorted(-votes, -MODES["for_you"].min_votes, side="right"))
    index.profile(
        [(int(r), 1.0) for r in chosen[:PROFILE_LIKED]],
        [int(r) for r in chosen[PROFILE_LIKED:]],
        below,
    )
    profile = time.perf_counter() - started

    floored = [r for r in rows if "no vote floor" not in r[0]]
    worst_p50 = max(r[2] for r in floored)
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{os.getloadavg()[0]:.1f} when it ended (a shared machine: compare with the same "
        "run's *no like* column, the same filters without a like).",
        f"{total:,} titles (synthetic demo pool: about 1.4 keywords from a vocabulary of "
        f"{len(index.names):,} keywords and genres per title, so every keyword is on tens of "
        "thousands of titles, far more than on TMDB, where most keywords are on a few "
        "hundred: a worst case for the inverted lists); `CandidateProvider.get` with `like` "
        f"at limit {LIMIT} in a warm process, {REPEATS} different liked titles per row (no "
        "cached similarity). Baseline: the same similarity and blend in DuckDB SQL (token "
        "self-join) on the same connection, 5 of the titles, same run. The index (IDF, "
        f"title -> token ids, inverted lists, norms, languages, years): built in {build:.1f} s "
        f"once per pool version and process (on the first query that needs it), "
        f"{memory:.0f} MiB. A for_you profile of {PROFILE_LIKED} liked and "
        f"{PROFILE_DISLIKED} disliked titles (for_you's vote floor): "
        f"{profile * 1000:.0f} ms, once per history version (then cached).",
        "",
        "| query | rows | p50 | p95 | DuckDB SQL p50 | no like p50 |",
        "|---|---|---|---|---|---|",
        *[
            f"| {n} | {got} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms | "
            + (f"{s * 1000:.0f} ms" if s is not None else "-")
            + f" | {none * 1000:.1f} ms |"
            for n, got, p50, p95, s, none in rows
        ],
        "",
        f"Slowest p50 with a vote floor (every mode has one): {worst_p50 * 1000:.1f} ms "
        "(target: 50 ms). Without any floor every title of the pool is compared (on this "
        "vocabulary most of the 1.5M titles are alike at all); only the 12,000 whose score "
        "ceiling is highest are joined, and the query runs again over all of them when the "
        'page it gets cannot be proven (README, "More like this").',
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
