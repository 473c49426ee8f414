"""`watchbuddy history import`: Trakt, Letterboxd and IMDb exports shaped like the real ones
(quoted titles with commas, non-ASCII titles, 0.5-5 and 1-10 scales, TV episodes mixed in,
rewatches), the match rules, a report that adds up, idempotent re-imports; and `--for-me`
and the not-interested list keeping titles out of the candidate lists."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, run_cli
from watchbuddy.errors import HistoryFileError, UnknownTitleKey
from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider
from watchbuddy.pool.personal import FOR_ME_EXCLUDED
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.history.detect import detect
from watchbuddy.sources.history.land import HistoryReport, history_frame_schema, import_files
from watchbuddy.sources.history.lists import app_list, change, parse_key
from watchbuddy.sources.history.normalize import normalize_title
from watchbuddy.sources.history.publish import publish
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse, utcnow

HISTORY_SAMPLES = ROOT.parent / "shared" / "data" / "history-samples"

MOVIES = (
    "id,imdb_id,title,original_title,release_date,original_language,vote_count,vote_average,"
    "popularity\n"
    "1,tt0211915,Amélie,Le Fabuleux Destin d'Amélie Poulain,2001-04-25,fr,9000,7.9,30\n"
    '2,tt0190332,"Crouching Tiger, Hidden Dragon",卧虎藏龙,2000-07-06,zh,4000,7.4,20\n'
    "3,tt1798709,Her,Her,2013-12-18,en,12000,7.9,25\n"
    "4,tt9999991,Her,Her,2013-03-01,en,3,6.0,0.5\n"
    "5,tt0069293,Solaris,Солярис,1972-03-20,ru,1500,7.7,12\n"
    "6,tt0307479,Solaris,Solaris,2002-11-27,en,1800,6.2,10\n"
    "7,tt1160419,Dune,Dune,2021-09-15,en,11000,7.8,60\n"
    "8,tt0087182,Dune,Dune,1984-12-14,en,2500,6.3,15\n"
    "9,tt3783958,La La Land,La La Land,2016-11-29,en,16000,7.9,40\n"
    "10,tt2543164,Arrival,Arrival,2016-11-10,en,17000,7.6,35\n"
)
SHOWS = (
    "id,imdb_id,name,original_name,first_air_date,original_language,vote_count,vote_average,"
    "popularity\n"
    "100,tt0877057,Death Note,デスノート,2006-10-04,ja,3000,8.6,50\n"
    "101,tt5753856,Dark,Dark,2017-12-01,de,6000,8.4,45\n"
)
ALL_KEYS = {("movie", i) for i in range(1, 11)} | {("tv", 100), ("tv", 101)}


@pytest.fixture
def pool(settings: Settings) -> Settings:
    (settings.data_dir / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (settings.data_dir / "shows.csv").write_text(SHOWS, encoding="utf-8")
    bootstrap(settings)
    return settings


def write(folder: Path, name: str, text: str | bytes, crlf: bool = False) -> Path:
    path = folder / name
    if isinstance(text, str):
        text = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
    path.write_bytes(text)
    return path


def stored(settings: Settings, where: str = "true") -> list[tuple]:
    con = open_views(Warehouse(settings.warehouse), materialize=False)
    try:
        return con.sql(
            f"SELECT source, list, media_type, tmdb_id, rating, watched_at::DATE::VARCHAR, file "
            f"FROM history WHERE {where} ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def rejects(settings: Settings, file: str) -> list[tuple]:
    con = open_views(Warehouse(settings.warehouse), materialize=False)
    try:
        return con.sql(
            "SELECT line, reason FROM rejects WHERE file = ? ORDER BY line", params=[file]
        ).fetchall()
    finally:
        con.close()


def adds_up(report: HistoryReport) -> None:
    assert report.rows_read == report.matched + report.ambiguous + report.unmatched
    assert sum(report.reasons.values()) == report.ambiguous + report.unmatched


LETTERBOXD_RATINGS = """Date,Name,Year,Letterboxd URI,Rating
2020-01-01,Amelie,2001,https://boxd.it/a1,4.5
2020-01-02,"Crouching Tiger, Hidden Dragon",2000,https://boxd.it/a2,5
2020-01-03,Her,2013,https://boxd.it/a3,3
2020-01-04,Solaris,2003,https://boxd.it/a4,0.5
2020-01-05,"Nowhere, Nothing",1999,https://boxd.it/a5,2
2020-01-06,卧虎藏龙,2001,https://boxd.it/a6,4
2020-01-07,Dune,,https://boxd.it/a7,4
"""


def test_letterboxd_ratings_match_by_title_and_year_and_the_report_adds_up(pool, tmp_path):
    path = write(tmp_path, "ratings.csv", LETTERBOXD_RATINGS, crlf=True)
    [report] = import_files(Warehouse(pool.warehouse), [path])
    adds_up(report)
    assert (report.source, report.kind, report.rows_read) == ("letterboxd", "ratings", 7)
    # Amelie (accents), the quoted comma, Solaris 2003 -> 2002 (one year off), the
    # original title 卧虎藏龙 one year off; "Her" has two 2013 films and Dune no year: ambiguous.
    assert (report.matched, report.ambiguous, report.unmatched) == (4, 2, 1)
    assert stored(pool) == [
        ("letterboxd", "rated", "movie", 1, 9.0, None, "ratings.csv"),
        ("letterboxd", "rated", "movie", 2, 8.0, None, "ratings.csv"),
        ("letterboxd", "rated", "movie", 2, 10.0, None, "ratings.csv"),
        ("letterboxd", "rated", "movie", 6, 1.0, None, "ratings.csv"),
    ]
    reasons = dict(rejects(pool, "ratings.csv"))
    assert reasons[4].startswith("ambiguous: 2 titles match 'Her' (2013): movie:3 (2013), movie:4")
    assert reasons[8].startswith("ambiguous: 2 titles match 'Dune': movie:7")
    assert reasons[6] == (
        "unmatched: no title in the pool is named 'Nowhere, Nothing' from 1998-2000"
    )


def test_the_exact_year_decides_among_near_years(pool, tmp_path):
    # Dune 2021 and 1984 are far apart; a row for 2021 finds one. Solaris 1972 finds the
    # 1972 film, not the 2002 one.
    text = "Date,Name,Year,Letterboxd URI\n2020-01-01,Dune,2021,u\n2020-01-01,SOLARIS,1972,u\n"
    path = write(tmp_path, "watched.csv", text)
    [report] = import_files(Warehouse(pool.warehouse), [path])
    assert (report.kind, report.matched) == ("watched", 2)
    assert [r[3] for r in stored(pool)] == [5, 7]


def test_letterboxd_diary_keeps_rewatches_and_the_watchlist_is_its_own_list(pool, tmp_path):
    diary = (
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
        "2021-01-01,La La Land,2016,https://boxd.it/b1,4,,,2020-12-31\n"
        '2021-02-01,La La Land,2016,https://boxd.it/b2,4.5,Yes,"date night, cinema",2021-01-31\n'
        "2021-02-02,Arrival,2016,https://boxd.it/b3,,,,2021-02-02\n"
    )
    watchlist = "Date,Name,Year,Letterboxd URI\n2021-03-01,Dune,2021,https://boxd.it/b4\n"
    paths = [write(tmp_path, "diary.csv", diary), write(tmp_path, "watchlist.csv", watchlist)]
    reports = import_files(Warehouse(pool.warehouse), paths)
    assert [(r.kind, r.matched, r.stored) for r in reports] == [
        ("diary", 3, 3),
        ("watchlist", 1, 1),
    ]
    assert stored(pool) == [
        ("letterboxd", "watched", "movie", 9, 8.0, "2020-12-31", "diary.csv"),
        ("letterboxd", "watched", "movie", 9, 9.0, "2021-01-31", "diary.csv"),
        ("letterboxd", "watched", "movie", 10, None, "2021-02-02", "diary.csv"),
        ("letterboxd", "watchlist", "movie", 7, None, None, "watchlist.csv"),
    ]


def test_a_letterboxd_show_is_matched_when_no_film_has_its_name(pool, tmp_path):
    path = write(tmp_path, "watchlist.csv", "Date,Name,Year,Letterboxd URI\n2021,Dark,2017,u\n")
    [report] = import_files(Warehouse(pool.warehouse), [path])
    assert (report.kind, report.matched) == ("watchlist", 1)
    assert stored(pool) == [("letterboxd", "watchlist", "tv", 101, None, None, "watchlist.csv")]


def test_letterboxd_ratings_off_the_half_star_scale_are_refused(pool, tmp_path):
    text = "Date,Name,Year,Letterboxd URI,Rating\n2020,Arrival,2016,u,7\n2020,Dune,2021,u,2.25\n"
    [report] = import_files(Warehouse(pool.warehouse), [write(tmp_path, "ratings.csv", text)])
    assert (report.matched, report.unmatched) == (0, 2)
    assert [r for _, r in rejects(pool, "ratings.csv")] == [
        "unmatched: rating '7' is not 0.5-5",
        "unmatched: rating '2.25' is not 0.5-5",
    ]


IMDB_RATINGS = """Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,\
Runtime (mins),Year,Genres,Num Votes,Release Date,Directors
tt0211915,9,2024-01-02,"Amélie","Le Fabuleux Destin d'Amélie Poulain",https://www.imdb.com/title/\
tt0211915,Movie,8.3,122,2001,"Comedy, Romance",800000,"2001-04-25","Jean-Pierre Jeunet"
tt0877057,8,2024-01-03,"Death Note","Death Note: Desu nôto",https://www.imdb.com/title/tt0877057,\
TV Series,8.9,24,2006,"Animation, Crime",460376,"2007-10-21",
tt0000007,7,2024-01-04,"Episode #1.1","Episode #1.1",https://www.imdb.com/title/tt0000007,\
TV Episode,8.0,24,2006,"Animation",1000,"2006-10-04",
tt0000008,6,2024-01-05,"Some Game","Some Game",https://www.imdb.com/title/tt0000008,\
Video Game,7.0,,2015,"Action",5000,"2015-01-01",
tt0000009,5,2024-01-06,"Not In The Pool","Not In The Pool",https://www.imdb.com/title/tt0000009,\
Movie,6.0,90,1999,"Drama",100,"1999-01-01",
"""


def test_imdb_ratings_match_by_imdb_id_and_episodes_and_games_are_reported(pool, tmp_path):
    [report] = import_files(
        Warehouse(pool.warehouse), [write(tmp_path, "ratings.csv", IMDB_RATINGS)]
    )
    adds_up(report)
    assert (report.source, report.kind) == ("imdb", "ratings")
    assert (report.matched, report.ambiguous, report.unmatched) == (2, 0, 3)
    assert stored(pool) == [
        ("imdb", "rated", "movie", 1, 9.0, None, "ratings.csv"),
        ("imdb", "rated", "tv", 100, 8.0, None, "ratings.csv"),
    ]
    assert [r for _, r in rejects(pool, "ratings.csv")] == [
        "unmatched: a TV episode: IMDb's export names the episode, not its series",
        "unmatched: a Video Game, not a movie or show",
        "unmatched: no title in the pool has IMDb id tt0000009 or is named 'Not In The Pool' "
        "from 1998-2000",
    ]


def test_an_imdb_id_the_pool_lacks_falls_back_to_title_and_year_of_its_media_type(pool, tmp_path):
    # TMDB's TV dump has no IMDb ids: a series is found by its name and year, among shows
    # only ("Arrival" the series is not Arrival the film).
    text = (
        "Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,"
        "Runtime (mins),Year,Genres,Num Votes,Release Date,Directors\n"
        "tt9990001,9,2024-01-01,Dark,Dark,u,TV Series,8.7,60,2017,Drama,400000,2017-12-01,\n"
        "tt9990002,7,2024-01-01,Arrival,Arrival,u,TV Mini Series,7.0,60,2016,Drama,10,2016-01-01,\n"
        "tt9990003,8,2024-01-01,Amelie,Amélie,u,Movie,8.3,122,2001,Comedy,10,2001-04-25,\n"
    )
    [report] = import_files(Warehouse(pool.warehouse), [write(tmp_path, "ratings.csv", text)])
    adds_up(report)
    assert (report.matched, report.unmatched) == (2, 1)
    assert [r[2:5] for r in stored(pool)] == [("movie", 1, 8.0), ("tv", 101, 9.0)]
    assert rejects(pool, "ratings.csv") == [
        (
            3,
            "unmatched: no title in the pool has IMDb id tt9990002 or is named 'Arrival' "
            "from 2015-2017",
        )
    ]


def test_the_old_imdb_export_in_windows_1252_and_an_unrated_watchlist(pool, tmp_path):
    old = (
        "position,const,created,modified,description,Title,Title type,Directors,You rated,"
        "IMDb Rating,Runtime (mins),Year,Genres,Num. Votes,Release Date (month/day/year),URL\n"
        '1,tt0211915,Mon Jan 2 00:00:00 2012,,,"Amélie",Feature Film,"Jean-Pierre Jeunet",10,'
        '8.4,122,2001,"comedy, romance",500000,2001-04-25,http://www.imdb.com/title/tt0211915/\n'
    ).encode("cp1252")
    watchlist = (
        "Position,Const,Created,Modified,Description,Title,Original Title,URL,Title Type,"
        "IMDb Rating,Runtime (mins),Year,Genres,Num Votes,Release Date,Directors,Your Rating,"
        "Date Rated\n"
        "1,tt2543164,2024-01-01,2024-01-01,,Arrival,Arrival,https://www.imdb.com/title/tt2543164,"
        'Movie,7.9,116,2016,"Drama, Sci-Fi",800000,2016-09-01,Denis Villeneuve,,\n'
    )
    paths = [write(tmp_path, "ratings.csv", old), write(tmp_path, "WATCHLIST.csv", watchlist)]
    reports = import_files(Warehouse(pool.warehouse), paths)
    assert [(r.kind, r.matched) for r in reports] == [("ratings", 1), ("watchlist", 1)]
    assert stored(pool) == [
        ("imdb", "rated", "movie", 1, 10.0, None, "ratings.csv"),
        ("imdb", "watchlist", "movie", 10, None, None, "WATCHLIST.csv"),
    ]


SHOW = {
    "title": "Death Note",
    "year": 2006,
    "ids": {"trakt": 1, "tvdb": 2, "imdb": "tt0877057", "tmdb": 100},
}
MOVIE = {
    "title": "Arrival",
    "year": 2016,
    "ids": {"trakt": 3, "slug": "arrival-2016", "imdb": "tt2543164", "tmdb": 10},
}


def test_trakt_history_ratings_and_watchlist(pool, tmp_path):
    episode = {
        "season": 1,
        "number": 2,
        "title": "Confrontation",
        "ids": {"trakt": 9, "tmdb": 999999},
    }
    history = [
        {
            "id": 1,
            "watched_at": "2023-01-01T20:00:00.000Z",
            "action": "watch",
            "type": "movie",
            "movie": MOVIE,
        },
        {
            "id": 2,
            "watched_at": "2023-06-01T20:00:00.000Z",
            "action": "watch",
            "type": "movie",
            "movie": MOVIE,
        },
        {
            "id": 3,
            "watched_at": "2023-02-01T21:00:00.000Z",
            "action": "watch",
            "type": "episode",
            "episode": episode,
            "show": SHOW,
        },
        {
            "id": 4,
            "watched_at": "2023-02-02T21:00:00.000Z",
            "action": "scrobble",
            "type": "episode",
            "episode": episode,
        },
        {
            "id": 5,
            "watched_at": "2023-02-03T21:00:00.000Z",
            "action": "watch",
            "type": "movie",
            "movie": {
                "title": "Amélie",
                "year": 2001,
                "ids": {"trakt": 7, "imdb": "tt0211915", "tmdb": None},
            },
        },
        {
            "id": 6,
            "watched_at": "2023-02-04T21:00:00.000Z",
            "action": "watch",
            "type": "movie",
            "movie": {"title": "Unknown", "year": 2001, "ids": {"trakt": 8, "tmdb": None}},
        },
    ]
    ratings = [
        {"rated_at": "2023-01-02T00:00:00.000Z", "rating": 9, "type": "movie", "movie": MOVIE},
        {
            "rated_at": "2023-01-02T00:00:00.000Z",
            "rating": 7,
            "type": "episode",
            "episode": episode,
            "show": SHOW,
        },
        {"rated_at": "2023-01-02T00:00:00.000Z", "rating": 11, "type": "movie", "movie": MOVIE},
    ]
    watchlist = [
        {
            "rank": 1,
            "id": 5,
            "listed_at": "2023-01-01T00:00:00.000Z",
            "notes": None,
            "type": "show",
            "show": {"title": "Dark", "year": 2017, "ids": {"trakt": 5, "tmdb": 101}},
        }
    ]
    paths = [
        write(tmp_path, "history-1.json", json.dumps(history, indent=2)),
        write(tmp_path, "ratings-movies.json", json.dumps(ratings)),
        write(tmp_path, "watchlist-shows.json", json.dumps(watchlist)),
    ]
    reports = import_files(Warehouse(pool.warehouse), paths, "trakt")
    for report in reports:
        adds_up(report)
    assert [(r.matched, r.unmatched) for r in reports] == [(4, 2), (2, 1), (1, 0)]
    assert stored(pool) == [
        ("trakt", "rated", "movie", 10, 9.0, None, "ratings-movies.json"),
        # the episode's own id (999999) is not the show's: the show counts as watched
        ("trakt", "watched", "movie", 1, None, "2023-02-03", "history-1.json"),
        ("trakt", "watched", "movie", 10, None, "2023-01-01", "history-1.json"),
        ("trakt", "watched", "movie", 10, None, "2023-06-01", "history-1.json"),
        ("trakt", "watched", "tv", 100, None, "2023-02-01", "history-1.json"),
        ("trakt", "watched", "tv", 100, None, None, "ratings-movies.json"),
        ("trakt", "watchlist", "tv", 101, None, None, "watchlist-shows.json"),
    ]
    assert [r for _, r in rejects(pool, "history-1.json")] == [
        "unmatched: an episode without its movie or show",
        "unmatched: no title in the pool is named 'Unknown' from 2000-2002",
    ]
    assert rejects(pool, "ratings-movies.json") == [(3, "unmatched: rating 11 is not 1-10")]
    assert [r.not_in_pool for r in reports] == [0, 0, 0]


def test_a_trakt_title_the_pool_lacks_is_stored_and_counted_as_not_in_the_pool(pool, tmp_path):
    missing = {"title": "Not Landed Yet", "year": 2031, "ids": {"trakt": 11, "tmdb": 424242}}
    watched = [
        {"watched_at": "2023-01-01T20:00:00.000Z", "type": "movie", "movie": MOVIE},
        {"watched_at": "2023-01-02T20:00:00.000Z", "type": "movie", "movie": missing},
    ]
    path = write(tmp_path, "history-2.json", json.dumps(watched))
    [report] = import_files(Warehouse(pool.warehouse), [path], "trakt")
    assert (report.matched, report.stored, report.titles, report.not_in_pool) == (2, 2, 2, 1)
    assert ("movie", 424242) in {row[2:4] for row in stored(pool)}


def test_reimporting_a_file_replaces_its_rows_and_rejects(pool, tmp_path):
    warehouse = Warehouse(pool.warehouse)
    path = write(tmp_path, "ratings.csv", LETTERBOXD_RATINGS)
    import_files(warehouse, [path])
    before, before_rejects = stored(pool), rejects(pool, "ratings.csv")
    [again] = import_files(warehouse, [path])
    assert again.replaced == len(before)
    assert stored(pool) == before and rejects(pool, "ratings.csv") == before_rejects
    # An edited export replaces the old one; another source's file of the same name stays.
    write(tmp_path, "ratings.csv", "Date,Name,Year,Letterboxd URI,Rating\n2020,Arrival,2016,u,5\n")
    imdb = (
        write(tmp_path / "imdb", "ratings.csv", IMDB_RATINGS)
        if (tmp_path / "imdb").mkdir() is None
        else None
    )
    import_files(warehouse, [path, imdb])
    assert stored(pool, "source = 'letterboxd'") == [
        ("letterboxd", "rated", "movie", 10, 10.0, None, "ratings.csv")
    ]
    assert len(stored(pool, "source = 'imdb'")) == 2
    assert len(rejects(pool, "ratings.csv")) == 3  # the IMDb file's; the old Letterboxd ones went


def test_unknown_and_unreadable_files_are_one_line_errors(pool, tmp_path):
    warehouse = Warehouse(pool.warehouse)
    notes = write(tmp_path, "notes.csv", "a,b\n1,2\n")
    with pytest.raises(
        HistoryFileError, match=r"notes.csv is not a known export; understood: Trakt"
    ):
        import_files(warehouse, [notes])
    letterboxd = write(tmp_path, "ratings.csv", LETTERBOXD_RATINGS)
    with pytest.raises(HistoryFileError, match="is not a imdb export; understood: IMDb CSV"):
        import_files(warehouse, [letterboxd], "imdb")
    with pytest.raises(HistoryFileError, match="is not a Trakt export: not valid JSON"):
        import_files(warehouse, [write(tmp_path, "x.json", "[{")])
    with pytest.raises(HistoryFileError, match="nested deeper than any export is"):
        import_files(warehouse, [write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)])
    huge = 'Date,Name,Year,Letterboxd URI\n2020,"' + "x" * 200_000 + '",2000,u\n'
    with pytest.raises(HistoryFileError, match=r"is not a readable CSV .*field larger"):
        import_files(warehouse, [write(tmp_path, "watched.csv", huge)])
    with pytest.raises(HistoryFileError, match="is not a file"):
        import_files(warehouse, [tmp_path / "missing.csv"])
    assert stored(pool) == []  # nothing is written when one file of several is refused
    result = run_cli(
        "--warehouse", str(pool.warehouse), "history", "import", str(notes), cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "understood:" in result.stderr, result.stderr


def test_the_detector_reads_the_content_not_the_name():
    assert detect(b"\xef\xbb\xbf[]") == "trakt"
    assert detect(b"Const,Your Rating\n") == "imdb"
    assert detect(b"Date,Name,Year,Letterboxd URI\n") == "letterboxd"
    assert detect("position,const,Title\n".encode("cp1252")) == "imdb"
    assert detect(b"id,title\n") is None


def test_one_title_normalizer():
    assert normalize_title("Amélie") == normalize_title("AMELIE") == "amelie"
    assert normalize_title("Crouching Tiger, Hidden Dragon") == "crouching tiger hidden dragon"
    assert normalize_title("Tom & Jerry") == "tom and jerry"
    assert normalize_title("Léon: The Professional") == "leon the professional"
    assert normalize_title("卧虎藏龙") == "卧虎藏龙"


def provider_titles(settings: Settings, **filters) -> set[tuple[str, int]]:
    provider = CandidateProvider(Warehouse(settings.warehouse))
    frame = provider.get(CandidateFilters(min_votes=0, limit=100, **filters)).frame
    return set(zip(frame["media_type"], frame["tmdb_id"], strict=True))


def test_for_me_leaves_out_watched_and_rated_but_not_the_watchlist(pool, tmp_path):
    assert provider_titles(pool) == ALL_KEYS
    import_files(Warehouse(pool.warehouse), [write(tmp_path, "ratings.csv", LETTERBOXD_RATINGS)])
    text = "Date,Name,Year,Letterboxd URI\n2021,Arrival,2016,u\n"
    import_files(Warehouse(pool.warehouse), [write(tmp_path, "watchlist.csv", text)])
    assert provider_titles(pool) == ALL_KEYS  # without --for-me nothing is left out
    assert provider_titles(pool, for_me=True) == ALL_KEYS - {
        ("movie", 1),
        ("movie", 2),
        ("movie", 6),
    }
    # --exclude-file is one more case of the same exclusion
    both = provider_titles(pool, for_me=True, exclude=frozenset({("tv", 100)}))
    assert both == ALL_KEYS - {("movie", 1), ("movie", 2), ("movie", 6), ("tv", 100)}


KEYS = sorted(ALL_KEYS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["watched", "rated", "watchlist", "not_interested"]),
            st.sampled_from(KEYS),
        ),
        max_size=12,
    ),
    for_me=st.booleans(),
)
def test_no_returned_title_is_on_an_excluded_list(pool, rows, for_me):
    frame = pl.DataFrame(
        [
            {
                "source": "trakt",
                "list": lst,
                "media_type": m,
                "tmdb_id": i,
                "rating": None,
                "watched_at": None,
                "file": "property.json",
                "imported_at": utcnow(),
            }
            for lst, (m, i) in rows
        ],
        schema=history_frame_schema(),
    )
    warehouse = Warehouse(pool.warehouse)
    with warehouse.writer("test") as writer:
        publish(writer, "trakt", "property.json", frame)
    shown = provider_titles(pool, for_me=for_me)
    lists = FOR_ME_EXCLUDED if for_me else ("not_interested",)
    excluded = {key for lst, key in rows if lst in lists}
    assert shown == ALL_KEYS - excluded  # exactly those: the watchlist never leaves out


@pytest.mark.slow
def test_not_interested_through_the_cli_sticks_without_for_me(pool, tmp_path):
    wh = ["--warehouse", str(pool.warehouse)]
    added = run_cli(*wh, "not-interested", "add", "movie:7", "tv:101", cwd=tmp_path)
    assert added.returncode == 0 and "movie:7, tv:101" in added.stdout, added.stderr
    listed = run_cli(*wh, "not-interested", "list", cwd=tmp_path)
    assert listed.stdout.splitlines() == ["movie:7  Dune (2021)", "tv:101  Dark (2017)"]
    out = run_cli(
        *wh, "recommend", "--min-votes", "0", "--format", "json", "--no-fallback", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert {(r["media_type"], r["tmdb_id"]) for r in json.loads(out.stdout)} == ALL_KEYS - {
        ("movie", 7),
        ("tv", 101),
    }
    removed = run_cli(*wh, "not-interested", "remove", "tv:101", cwd=tmp_path)
    assert "No longer marked not interested: tv:101." in removed.stdout
    assert app_list(Warehouse(pool.warehouse)) == [("movie", 7)]
    assert provider_titles(pool) == ALL_KEYS - {("movie", 7)}
    bad = run_cli(*wh, "not-interested", "add", "27205", cwd=tmp_path)
    assert bad.returncode == 2 and "movie:ID or tv:ID" in bad.stderr


def test_not_interested_changes_are_exact():
    assert parse_key(" Movie:27205 ") == ("movie", 27205)
    for bad in ("movie:0", "person:5", "movie:", "movie:99999999999"):
        with pytest.raises(UnknownTitleKey):
            parse_key(bad)


def test_not_interested_add_and_remove_report_what_changed(pool):
    warehouse = Warehouse(pool.warehouse)
    assert change(warehouse, add=[("movie", 3)]) == ([("movie", 3)], [])
    assert change(warehouse, add=[("movie", 3)]) == ([], [])
    assert change(warehouse, remove=[("movie", 4)]) == ([], [])
    assert change(warehouse, remove=[("movie", 3)]) == ([], [("movie", 3)])
    assert stored(pool) == []


@pytest.mark.slow
def test_the_cli_import_report_and_for_me(pool, tmp_path):
    wh = ["--warehouse", str(pool.warehouse)]
    path = write(tmp_path, "ratings.csv", LETTERBOXD_RATINGS)
    out = run_cli(*wh, "history", "import", str(path), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    [report] = json.loads(out.stdout)
    assert (report["rows_read"], report["matched"], report["ambiguous"], report["unmatched"]) == (
        7,
        4,
        2,
        1,
    )
    table = run_cli(*wh, "history", "import", str(path), cwd=tmp_path)
    assert "replaced the 4 rows" in table.stdout and "not matched, by reason" in table.stdout
    shown = run_cli(*wh, "history", cwd=tmp_path)
    assert "ratings.csv" in shown.stdout and "rated" in shown.stdout
    rec = run_cli(
        *wh,
        "recommend",
        "--for-me",
        "--min-votes",
        "0",
        "--format",
        "json",
        "--no-fallback",
        cwd=tmp_path,
    )
    assert {r["tmdb_id"] for r in json.loads(rec.stdout) if r["media_type"] == "movie"} == {
        3,
        4,
        5,
        7,
        8,
        9,
        10,
    }


@pytest.fixture
def history_samples() -> Path:
    if not HISTORY_SAMPLES.is_dir():
        pytest.skip(
            f"the shared history samples are not at {HISTORY_SAMPLES} (a clone without ../shared)"
        )
    return HISTORY_SAMPLES


def test_the_real_exports_import_and_their_reports_add_up(pool, history_samples, tmp_path):
    files = sorted(history_samples.glob("*.csv")) + sorted(history_samples.glob("*.json"))
    reports = {r.file: r for r in import_files(Warehouse(pool.warehouse), files)}
    for report in reports.values():
        adds_up(report)
        assert len(rejects(pool, report.file)) == report.ambiguous + report.unmatched
    imdb = reports["cavandonohoe_github.io_imdb_ratings.csv"]
    assert (imdb.source, imdb.kind, imdb.rows_read) == ("imdb", "ratings", 980)
    assert (
        imdb.reasons["a TV episode"] >= 1 and imdb.reasons["a Video Game, not a movie or show"] >= 1
    )
    pool_ids = {line.split(",", 2)[1] for line in (MOVIES + SHOWS).splitlines()[1:]}
    sample_ids = [
        line.split(",", 1)[0]
        for line in (history_samples / imdb.file).read_text(encoding="utf-8").splitlines()[1:]
    ]
    assert imdb.matched == sum(const in pool_ids for const in sample_ids) > 0
    ratings = reports["extratone_letterboxd_ratings.csv"]
    assert (ratings.source, ratings.kind, ratings.rows_read) == ("letterboxd", "ratings", 233)
    # La La Land is in the ten-title pool; "Her" (2013) is there twice, so it is ambiguous.
    assert ratings.matched >= 1 and ratings.reasons["several titles match"] >= 1
    watched = reports["extratone_letterboxd_watched.csv"]
    assert (watched.kind, watched.rows_read) == ("watched", 408)
    trakt = reports["iacoviola_trakt_backup_watched_movies.json"]
    assert (trakt.source, trakt.kind, trakt.rows_read, trakt.matched) == (
        "trakt",
        "watched",
        1150,
        1150,
    )
