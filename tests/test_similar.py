"""More like this and `for_you`: similarity on a small hand-checkable pool, IDF weighting,
several likes, blending with a mode, clear errors, history profiles, the formula's bounds."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from watchbuddy.errors import UnknownTitle
from watchbuddy.pool import similar
from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider, get_candidates
from watchbuddy.pool.similar_titles import NO_HISTORY
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.schema import HISTORY_SCHEMA
from watchbuddy.store.warehouse import Warehouse, utcnow

HEADER = (
    "id,title,release_date,genres,keywords,original_language,vote_count,vote_average,popularity"
)
# id: (title, year, genres, keywords, language, votes, rating)
POOL = {
    1: ("Inception", 2010, "Action|Science Fiction", "dream|heist|subconscious", "en", 30000, 8.4),
    2: ("Dream Job", 2012, "Action|Science Fiction", "dream|heist", "en", 900, 7.0),
    3: ("Paper Towns", 2010, "Action|Science Fiction", "based on novel", "en", 5000, 6.5),
    4: ("Le Rêve", 1970, "Drama", "dream", "fr", 80, 7.8),
    5: ("Wedding Crashers", 2010, "Comedy", "wedding", "en", 4000, 6.6),
    **{
        10 + i: (f"Novel {i}", 2000 + i, "Drama", "based on novel", "en", 100 + i, 6.0)
        for i in range(8)
    },
    20: ("Inception", 2014, "Documentary", "dream", "en", 30, 6.0),
    21: ("Amélie", 2001, "Comedy|Romance", "paris|dream", "fr", 9000, 7.9),
}


def write_pool(settings: Settings) -> CandidateProvider:
    rows = [HEADER]
    for tmdb_id, (title, year, genres, keywords, lang, votes, rating) in POOL.items():
        rows.append(
            f'{tmdb_id},"{title}",{year}-06-01,"{genres}","{keywords}",{lang},{votes},{rating},5'
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "movies.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    bootstrap(settings)
    return CandidateProvider(Warehouse(settings.warehouse))


@pytest.fixture
def provider(settings: Settings) -> CandidateProvider:
    return write_pool(settings)


def reference(a: int, b: int) -> float:
    """The README's formula, written out plainly over POOL."""
    docs = {
        i: {f"k:{k}" for k in row[3].split("|")} | {f"g:{g}" for g in row[2].split("|")}
        for i, row in POOL.items()
    }
    n = len(docs)
    idf = {
        t: math.log((1 + n) / (1 + sum(t in d for d in docs.values()))) + 1
        for d in docs.values()
        for t in d
    }
    norm = {i: math.sqrt(sum(idf[t] ** 2 for t in d)) for i, d in docs.items()}
    content = sum(idf[t] ** 2 for t in docs[a] & docs[b]) / (norm[a] * norm[b])
    same = POOL[a][4] == POOL[b][4]
    era = 0.5 ** (abs(POOL[a][1] - POOL[b][1]) / 10)
    return min(content, 1.0) * (0.70 + 0.15 * same + 0.15 * era)


def liked(provider: CandidateProvider, *like: str, **extra) -> pl.DataFrame:
    filters = CandidateFilters(like=like, min_votes=0, limit=50, **extra)
    return provider.get(filters).frame


def test_more_like_inception_in_exact_order_with_shared_keywords(provider) -> None:
    frame = liked(provider, "movie:1").sort("similarity", "tmdb_id", descending=[True, False])
    # Dream Job shares the two rarest keywords and both genres (0.822); Paper Towns only the
    # genres (0.547); Le Rêve only "dream", but its other token is the common Drama, so more
    # of it is shared than of Inception (2014), whose other token is a rare genre (0.200 vs
    # 0.183, though Le Rêve is French and 40 years older); Amélie "dream" among four (0.099).
    assert frame["tmdb_id"].to_list() == [2, 3, 4, 20, 21]
    for row in frame.iter_rows(named=True):
        assert row["similarity"] == pytest.approx(reference(1, row["tmdb_id"]))
    explained = dict(zip(frame["tmdb_id"], frame["explanation"], strict=True))
    assert explained[2].endswith("; shares: heist, dream, Action, Science Fiction")
    assert explained[20].endswith("; shares: dream")
    # The liked title itself is left out, and titles sharing nothing are not candidates.
    assert 1 not in frame["tmdb_id"] and 5 not in frame["tmdb_id"]


def test_a_rare_keyword_outweighs_a_common_one(provider) -> None:
    """Le Rêve shares 'dream' (4 titles), Novel 0 'based on novel' (9 titles) with Paper
    Towns... both are otherwise alike to a title with both keywords and Drama."""
    index = similar.SimilarityIndex.build(
        pl.DataFrame(
            {
                "keywords": [["dream", "based on novel"], ["dream"], ["based on novel"]]
                + [["based on novel"]] * 5,
                "genres": [["Drama"]] * 8,
                "original_language": ["en"] * 8,
                "year": [2000] * 8,
            }
        )
    )
    rows, values = index.to(0)
    value = dict(zip(rows.tolist(), values.tolist(), strict=True))
    assert value[1] > value[2]
    assert index.idf[index.names.index("dream")] > index.idf[index.names.index("based on novel")]


def test_several_likes_average_the_similarities(provider) -> None:
    frame = liked(provider, "movie:1", "Amélie")
    assert 1 not in frame["tmdb_id"] and 21 not in frame["tmdb_id"]
    got = dict(zip(frame["tmdb_id"], frame["similarity"], strict=True))
    for tmdb_id, value in got.items():
        assert value == pytest.approx((reference(1, tmdb_id) + reference(21, tmdb_id)) / 2)
    # Le Rêve: French like Amélie, "dream" like both.
    assert "dream" in frame.filter(pl.col("tmdb_id") == 4)["explanation"][0]


def test_like_blends_with_the_mode(provider) -> None:
    obscure = liked(provider, "Inception 2010", mode="obscure")
    mainstream = liked(provider, "Inception 2010", mode="mainstream")
    # The same titles, the most alike first in both; after them the mode decides: Amélie
    # (9,000 votes) leads the weakly alike in mainstream and trails them in obscure.
    assert obscure["tmdb_id"].to_list() == [2, 3, 4, 20, 21]
    assert mainstream["tmdb_id"].to_list() == [2, 3, 21, 4, 20]
    for row in obscure.iter_rows(named=True):
        assert "0.50 x similarity" in row["explanation"]
        assert row["score"] == pytest.approx(
            0.5 * row["similarity"]
            + 0.5
            * (
                0.30 * row["obscurity_score"]
                + 0.45 * row["quality_score"]
                + 0.10 * row["freshness_score"]
                + 0.15 * row["genre_match"]
            )
        )
    # Without a like, similarity is no part of the score.
    plain = provider.get(CandidateFilters(mode="obscure", min_votes=0)).frame
    assert "similarity" not in plain["explanation"][0] and plain["similarity"].max() == 0


def test_titles_resolve_by_text_and_errors_list_candidates(provider) -> None:
    assert liked(provider, "amelie").height  # accents and case do not matter
    with pytest.raises(UnknownTitle, match=r"matches 2 titles: Inception \(2010, movie:1\)"):
        liked(provider, "Inception")
    with pytest.raises(UnknownTitle, match="did you mean: Dream Job"):
        liked(provider, "Dream")
    with pytest.raises(UnknownTitle, match="movie:999 is not in the pool"):
        liked(provider, "movie:999")


def test_recommend_like_on_the_command_line(settings: Settings) -> None:
    write_pool(settings)
    args = [
        "--warehouse",
        str(settings.warehouse),
        "recommend",
        "--no-fallback",
        "--min-votes",
        "0",
    ]
    ok = run_cli(
        *args, "--like", "Inception 2010", "--format", "json", cwd=settings.warehouse.parent
    )
    assert ok.returncode == 0, ok.stderr
    assert "shares: heist, dream" in ok.stdout
    table = run_cli(*args, "--like", "movie:1", "--limit", "2", cwd=settings.warehouse.parent)
    assert table.returncode == 0, table.stderr
    assert "Dream Job" in table.stdout and "heist, dream, Action, Science Fiction" in table.stdout
    bad = run_cli(*args, "--like", "Inception", cwd=settings.warehouse.parent)
    assert bad.returncode == 2
    assert (
        bad.stderr.count("\n") == 1 and "movie:20" in bad.stderr and "Traceback" not in bad.stderr
    )
    unknown = run_cli(*args, "--like", "Nothing Like It", cwd=settings.warehouse.parent)
    assert unknown.returncode == 2 and "No title in the pool is called" in unknown.stderr


def write_history(warehouse: Path, rows: list[tuple[str, str, int, float | None]]) -> None:
    """History rows (list, media_type, tmdb_id, rating) through the warehouse writer."""
    table = pa.table(
        {
            "source": ["trakt"] * len(rows),
            "list": [r[0] for r in rows],
            "media_type": [r[1] for r in rows],
            "tmdb_id": [r[2] for r in rows],
            "rating": [r[3] for r in rows],
            "watched_at": [utcnow()] * len(rows),
            "file": ["history.json"] * len(rows),
            "imported_at": [utcnow()] * len(rows),
        },
        schema=HISTORY_SCHEMA,
    )
    with Warehouse(warehouse).writer("test history") as writer:
        writer.commit(
            {
                "history": [
                    writer.stage_table("history", table, f"history-{uuid.uuid4().hex[:8]}.parquet")
                ]
            }
        )


def test_for_you_ranks_towards_liked_and_away_from_disliked(settings, provider) -> None:
    empty = provider.get(CandidateFilters(mode="for_you", min_votes=0))
    assert NO_HISTORY in empty.notes and empty.frame["similarity"].max() == 0
    write_history(
        settings.warehouse,
        [
            ("rated", "movie", 1, 9.0),  # Inception: liked
            ("rated", "movie", 5, 2.0),  # Wedding Crashers: disliked
            ("rated", "movie", 10, 5.0),  # says nothing
        ],
    )
    result = provider.get(CandidateFilters(mode="for_you", min_votes=0, limit=50))
    frame = result.frame
    assert NO_HISTORY not in result.notes
    assert not {1, 5, 10} & set(frame["tmdb_id"])  # what you rated is left out
    by_similarity = frame.filter(pl.col("similarity") > 0).sort(
        "similarity", "tmdb_id", descending=[True, False]
    )
    # Towards Inception; Amélie ("dream" like Inception, a comedy like the disliked Wedding
    # Crashers) is pushed to nothing and leaves the list, which holds only alike titles.
    assert by_similarity["tmdb_id"].to_list() == [2, 3, 4, 20]
    assert by_similarity["similarity"].to_list() == pytest.approx(
        [reference(1, i) for i in by_similarity["tmdb_id"]]
    )
    assert reference(1, 21) - 0.5 * reference(5, 21) <= 0 < reference(1, 21)
    assert frame.height == 4
    # A title watched without a rating is a weak positive: half the weight of a liked one.
    write_history(settings.warehouse, [("watched", "movie", 21, None)])
    again = provider.get(CandidateFilters(mode="for_you", min_votes=0, limit=50)).frame
    got = dict(zip(again["tmdb_id"], again["similarity"], strict=True))
    assert 21 not in got
    assert got[4] == pytest.approx(
        (reference(1, 4) + 0.5 * reference(21, 4)) / 1.5 - 0.5 * reference(5, 4)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(
        st.tuples(
            st.lists(
                st.sampled_from(["dream", "heist", "war", "love", "space", "dog"]), max_size=4
            ),
            st.lists(st.sampled_from(["Drama", "Comedy", "Action"]), max_size=2),
            st.sampled_from(["en", "fr", None]),
            st.one_of(st.none(), st.integers(1900, 2030)),
        ),
        min_size=1,
        max_size=25,
    ),
    pick=st.integers(0, 24),
)
def test_every_similarity_is_in_0_1_and_an_identical_copy_is_most_similar(titles, pick) -> None:
    pick %= len(titles)
    rows = [*titles, titles[pick]]  # the last row is an identical copy of `pick`
    frame = pl.DataFrame(
        {
            "keywords": [r[0] for r in rows],
            "genres": [r[1] for r in rows],
            "original_language": [r[2] for r in rows],
            "year": [r[3] for r in rows],
        },
        schema={
            "keywords": pl.List(pl.String),
            "genres": pl.List(pl.String),
            "original_language": pl.String,
            "year": pl.Int32,
        },
    )
    index = similar.SimilarityIndex.build(frame)
    found, values = index.to(pick)
    assert ((values > 0) & (values <= 1)).all()
    if len(found):
        value = dict(zip(found.tolist(), values.tolist(), strict=True))
        assert value[len(rows) - 1] == pytest.approx(max(values))
    _, liked_values = index.profile([(pick, 1.0)], [0] if pick else [])
    assert ((liked_values > 0) & (liked_values <= 1)).all()


@pytest.mark.parametrize("floor", [0, 80, 100, 900, 5000, 30000, 40000])
def test_a_vote_floor_computes_only_titles_above_it_and_changes_nothing_else(
    provider, floor: int
) -> None:
    """The similarity is computed only for the rows the vote floor keeps (the candidate
    table is sorted by votes); the list is the floor-free list's titles above the floor."""
    everything = liked(provider, "movie:1", "Amélie")
    above = liked(provider, "movie:1", "Amélie").filter(pl.col("vote_count") >= floor)
    floored = provider.get(
        CandidateFilters(like=("movie:1", "Amélie"), min_votes=floor, limit=50)
    ).frame
    assert (
        floored.select("tmdb_id", "similarity").rows()
        == above.select("tmdb_id", "similarity").rows()
    )
    assert everything.height >= floored.height


def test_a_short_like_list_does_not_ask_tmdb(settings: Settings) -> None:
    """Discover cannot find titles alike to others; a short list says so instead."""
    write_pool(settings)
    credential = Settings(
        data_dir=settings.data_dir,
        warehouse=settings.warehouse,
        tmdb_api_key=Secret("k"),
        tmdb_base_url="http://127.0.0.1:9",  # nothing listens: asking would fail
    )
    result = get_candidates(CandidateFilters(like=("movie:1",), min_votes=0), credential)
    assert result.frame.height == 5
    assert any("cannot look for titles like" in note for note in result.notes)


def test_an_empty_like_list_says_when_the_vote_floor_emptied_it(provider) -> None:
    """Of the documentaries, only Inception (2014, 30 votes) is alike to Le Rêve ("dream"):
    under mainstream's 500-vote floor the list is empty, and says why."""
    asked = CandidateFilters(like=("movie:4",), mode="mainstream", genres=("Documentary",))
    assert provider.get(replace(asked, min_votes=0)).frame["tmdb_id"].to_list() == [20]
    empty = provider.get(asked)
    assert empty.frame.is_empty()
    assert any("No title alike has the mainstream mode's 500 votes" in n for n in empty.notes)
    alike = provider.get(CandidateFilters(like=("movie:4",), mode="mainstream"))
    assert set(alike.frame["tmdb_id"]) == {1, 2, 21}  # "dream", 500 votes or more


# 160 titles with overlapping keywords, release years up to this one (so freshness, which
# the score ceiling takes at its most, tells them apart) and votes from 1 to 50,000.
WIDE = 160


@pytest.fixture(scope="module")
def wide_provider(tmp_path_factory: pytest.TempPathFactory) -> CandidateProvider:
    import random

    draw = random.Random(15)
    words = ["dream", "heist", "war", "love", "space", "dog", "paris", "robot"]
    genres = ["Drama", "Comedy", "Action", "Science Fiction"]
    rows = [HEADER]
    for tmdb_id in range(1, WIDE + 1):
        year = draw.randint(1990, utcnow().year)
        rows.append(
            f'{tmdb_id},"Title {tmdb_id}",{year}-0{draw.randint(1, 9)}-01,'
            f'"{"|".join(draw.sample(genres, draw.randint(1, 2)))}",'
            f'"{"|".join(draw.sample(words, draw.randint(1, 3)))}",'
            f"{draw.choice(['en', 'fr'])},{draw.randint(1, 50_000)},"
            f"{draw.randint(10, 95) / 10},5"
        )
    root = tmp_path_factory.mktemp("narrowed")
    settings = Settings(data_dir=root / "data", warehouse=root / "warehouse")
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "movies.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    bootstrap(settings)
    return CandidateProvider(Warehouse(settings.warehouse))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    like=st.lists(st.integers(1, WIDE), min_size=1, max_size=2, unique=True),
    mode=st.sampled_from(["balanced", "obscure", "mainstream", "deep_discovery", "for_you"]),
    limit=st.integers(1, 12),
    offset=st.integers(0, 10),
    languages=st.sampled_from([(), ("en",), ("fr",)]),
    genres=st.sampled_from([(), ("Drama",), ("Comedy",)]),
    min_votes=st.sampled_from([0, 100, 1000]),
)
def test_a_like_query_narrowed_to_the_likeliest_titles_lists_what_the_whole_one_does(
    wide_provider: CandidateProvider, like, mode, limit, offset, **extra
) -> None:
    """Narrowing keeps only the titles whose score ceiling could make the page (and asks
    again when it cannot prove the page): forced on a small pool, the list is the same."""
    from watchbuddy.pool import candidates

    filters = CandidateFilters(
        like=tuple(f"movie:{i}" for i in like), mode=mode, limit=limit, offset=offset, **extra
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(candidates, "NARROW_MIN", 10**9)
        whole = wide_provider.get(filters).frame
        patch.setattr(candidates, "NARROW_MIN", 1)
        patch.setattr(candidates, "NARROW_FACTOR", 2)
        patch.setattr(candidates, "NARROW_WHEN", 1)
        narrowed = wide_provider.get(filters).frame
    assert narrowed.equals(whole)
