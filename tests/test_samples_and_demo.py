"""Landing the real TMDB samples and the synthetic demo data: every file reported, counts add up."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import watchbuddy
from watchbuddy.devtools.demo import MOVIE_FILE, generate
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap


def test_shared_samples_land_with_reports_that_add_up(samples: Path, settings: Settings) -> None:
    for csv in samples.glob("*.csv"):
        shutil.copy(csv, settings.data_dir / csv.name)
    reports = {r.file: r for r in bootstrap(settings)}
    assert set(reports) == {p.name for p in samples.glob("*.csv")}
    assert all(r.adds_up for r in reports.values())
    assert reports["nick_movie_genres.csv"].status == "skipped"
    assert reports["nick_tv_genres.csv"].status == "skipped"
    assert reports["devnxh_sample_movies.csv"].accepted == 1000
    assert reports["shuseiyokoi_tmdb_movies.csv"].rows_read == 4016
    tv = reports["nick_tmdb_tv.csv"]
    assert tv.rows_read == 200 and tv.duplicates > 0  # popular pages repeat titles

    con = watchbuddy.connect(settings.warehouse)
    got = con.sql(
        "SELECT title, genres, media_type FROM pool WHERE media_type = 'tv' AND tmdb_id = 94997"
    ).fetchall()
    assert got == [
        ("House of the Dragon", ["Sci-Fi & Fantasy", "Drama", "Action & Adventure"], "tv")
    ]
    python_lists = con.sql(
        "SELECT genres FROM pool WHERE source_name = 'shuseiyokoi_tmdb_movies.csv' "
        "AND tmdb_id = 19214"
    ).fetchall()
    assert python_lists == [(["Drama", "Romance"],)]
    imports = con.sql(
        "SELECT sum(rows_read) = sum(accepted + duplicates + rejected) FROM imports"
    ).fetchall()
    assert imports == [(True,)]


def test_demo_data_has_the_promised_shape(tmp_path: Path) -> None:
    files = generate(30_000, tmp_path, seed=3)
    assert files.movies.name == MOVIE_FILE and "synthetic" in files.movies.name
    assert "synthetic" in files.tv.name
    import polars as pl

    movies = pl.read_csv(
        files.movies, infer_schema=False, truncate_ragged_lines=True, ignore_errors=True
    )
    tv = pl.read_csv(files.tv, infer_schema=False, truncate_ragged_lines=True)
    assert movies.columns[:4] == ["id", "title", "vote_average", "vote_count"]
    assert "first_air_date" in tv.columns and "type" in tv.columns
    votes = movies["vote_count"].cast(pl.Int64, strict=False).drop_nulls().to_numpy()
    assert (votes == 0).mean() > 0.3 and votes.max() > 100 * max(np.median(votes), 1)
    langs = movies["original_language"].value_counts(sort=True)
    assert langs["original_language"][0] == "en" and langs.height >= 60
    assert movies["genres"].str.contains(",").mean() > 0.3  # multi-genre rows
    assert (
        movies["overview"].str.contains("\n").any() and movies["overview"].str.contains('"').any()
    )
    shared = set(tv["id"].to_list()) & set(movies["id"].to_list())
    assert 0.04 < len(shared) / tv.height < 0.10
    years = movies["release_date"].str.slice(0, 4).cast(pl.Int64, strict=False).drop_nulls()
    assert years.min() <= 1905 and years.max() >= 2027 - 1


def test_demo_data_lands_with_rejects_and_shared_ids(demo_dir: Path, settings: Settings) -> None:
    for csv in demo_dir.glob("*.csv"):
        shutil.copy(csv, settings.data_dir / csv.name)
    reports = bootstrap(settings)
    assert all(r.status == "landed" and r.adds_up for r in reports)
    assert sum(r.rejected for r in reports) >= 5
    con = watchbuddy.connect(settings.warehouse)
    both = con.sql(
        "SELECT count(*) FROM (SELECT tmdb_id FROM pool GROUP BY tmdb_id "
        "HAVING count(DISTINCT media_type) = 2)"
    ).fetchall()[0][0]
    assert both > 0
    reasons = {r[0] for r in con.sql("SELECT reason FROM rejects").fetchall()}
    assert any(r.startswith("broken record") for r in reasons)
    assert any(r.startswith("id ") for r in reasons)


def test_a_sample_without_languages_erases_none_of_the_languages_another_gave(
    samples: Path, settings: Settings
) -> None:
    """shuseiyokoi's file has no original_language, poster or IMDb id and lands after
    devnxh's (name order): the pool keeps what devnxh's records said, field by field."""
    for csv in samples.glob("*.csv"):
        shutil.copy(csv, settings.data_dir / csv.name)
    bootstrap(settings)
    con = watchbuddy.connect(settings.warehouse)
    lost = con.sql(
        """
        SELECT count(*) FROM pool
        WHERE original_language IS NULL AND (media_type, tmdb_id) IN (
            SELECT (media_type, tmdb_id) FROM titles WHERE original_language IS NOT NULL)
        """
    ).fetchall()[0][0]
    assert lost == 0
    both = con.sql(
        """
        SELECT count(*) FROM pool WHERE media_type = 'movie' AND tmdb_id IN (
            SELECT tmdb_id FROM titles WHERE source_name = 'devnxh_sample_movies.csv'
            INTERSECT
            SELECT tmdb_id FROM titles WHERE source_name = 'shuseiyokoi_tmdb_movies.csv')
          AND original_language IS NOT NULL AND poster_path IS NOT NULL AND imdb_id IS NOT NULL
        """
    ).fetchall()[0][0]
    assert both > 100  # titles in both files keep devnxh's language, poster and IMDb id
    from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider
    from watchbuddy.store.warehouse import Warehouse

    scifi = CandidateProvider(Warehouse(settings.warehouse)).get(
        CandidateFilters(languages=("English",), genres=("Science Fiction",), media_type="movie")
    )
    assert scifi.frame.height == scifi.requested  # a full page of English sci-fi movies
    assert "Inception" in scifi.frame["title"].to_list() or scifi.frame.height == 50


def test_lucky_perfect_ratings_stay_off_the_top_of_every_mode_on_real_data(
    samples: Path, settings: Settings
) -> None:
    """The real samples plus a few lucky 10.0s (6 to 12 votes, released when most sample
    films were, popularity 3): in no mode, even with the vote floor lowered to 5, does one
    reach the top 10, where real, well-rated titles are (the old relative-quality obscurity
    scored every 10.0 as a perfect 1 and put them first)."""
    for csv in samples.glob("*.csv"):
        shutil.copy(csv, settings.data_dir / csv.name)
    lucky = "\n".join(
        f"{9_000_000 + i},Lucky {i},{1995 + 4 * i}-05-01,en,Drama,10.0,{votes},3.0"
        for i, votes in enumerate((6, 8, 10, 12))
    )
    (settings.data_dir / "zz_lucky_movies.csv").write_text(
        "id,title,release_date,original_language,genres,vote_average,vote_count,popularity\n"
        + lucky
        + "\n"
    )
    bootstrap(settings)
    from watchbuddy.pool.candidates import MODES, CandidateFilters, CandidateProvider
    from watchbuddy.store.warehouse import Warehouse

    provider = CandidateProvider(Warehouse(settings.warehouse))
    for mode in MODES:
        top = provider.get(CandidateFilters(mode=mode, min_votes=5, limit=10)).frame
        assert not top["title"].str.starts_with("Lucky").any(), (mode, top["title"].to_list())
        assert top["vote_average"].median() >= 7.0, mode
