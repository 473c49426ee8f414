"""Landing real-world CSV quirks: every alias and cell format the importer promises to read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import watchbuddy
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap


def land(settings: Settings, name: str, content: bytes | str) -> list:
    path = settings.data_dir / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return bootstrap(settings)


def pool(settings: Settings, where: str = "true") -> list[dict]:
    con = watchbuddy.connect(settings.warehouse)
    rel = con.sql(f"SELECT * FROM pool WHERE {where} ORDER BY media_type, tmdb_id")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def rejects(settings: Settings) -> list[dict]:
    con = watchbuddy.connect(settings.warehouse)
    rel = con.sql("SELECT file, line, reason, raw FROM rejects ORDER BY line")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def test_kaggle_movie_layout_lands_every_field(settings: Settings) -> None:
    reports = land(
        settings,
        "movies.csv",
        (
            "id,title,vote_average,vote_count,status,release_date,runtime,adult,imdb_id,"
            "original_language,original_title,overview,popularity,poster_path,genres,keywords\n"
            "27205,Inception,8.364,34495,Released,2010-07-15,148,False,tt1375666,en,Inception,"
            '"Cobb, a thief, ""steals"" ideas.\nTwo lines.",83.952,/o.jpg,'
            '"Action, Science Fiction, Adventure","rescue, mission, dream"\n'
        ),
    )
    assert [r.status for r in reports] == ["landed"]
    (row,) = pool(settings)
    assert row["media_type"] == "movie" and row["tmdb_id"] == 27205
    assert row["genres"] == ["Action", "Science Fiction", "Adventure"]
    assert row["keywords"] == ["rescue", "mission", "dream"]
    assert row["overview"] == 'Cobb, a thief, "steals" ideas.\nTwo lines.'
    assert row["runtime"] == 148 and row["vote_count"] == 34495 and row["adult"] is False
    assert str(row["release_date"]) == "2010-07-15" and row["year"] == 2010
    assert row["imdb_id"] == "tt1375666" and row["original_language"] == "en"


def test_tv_dump_type_column_is_not_the_media_type(settings: Settings) -> None:
    land(
        settings,
        "export.csv",
        (
            "id,name,original_language,vote_count,vote_average,overview,adult,first_air_date,"
            "original_name,popularity,type,status,genres,episode_run_time\n"
            "1399,Game of Thrones,en,21857,8.442,Dragons.,False,2011-04-17,Game of Thrones,"
            '1083.917,Scripted,Ended,"Sci-Fi & Fantasy, Drama, Action & Adventure",[60]\n'
        ),
    )
    (row,) = pool(settings)
    assert row["media_type"] == "tv" and row["title"] == "Game of Thrones"
    assert row["genres"] == ["Sci-Fi & Fantasy", "Drama", "Action & Adventure"]
    assert row["runtime"] == 60


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("tmdbId,title,release_date", "862,Toy Story,1995-10-30"),
        ("tmdb_id,title,release_date", "862.0,Toy Story,1995-10-30"),
        ("TMDB ID,Title,Release Date", '"862","Toy Story","1995-10-30"'),
    ],
)
def test_id_column_aliases_and_float_ids(settings: Settings, header: str, row: str) -> None:
    land(settings, "movies.csv", f"{header}\n{row}\n")
    assert [(r["tmdb_id"], r["title"]) for r in pool(settings)] == [(862, "Toy Story")]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"Action, Science Fiction"', ["Action", "Science Fiction"]),
        ('"Drama,Crime"', ["Drama", "Crime"]),
        ("Adventure|Animation", ["Adventure", "Animation"]),
        ('"[{""id"": 28, ""name"": ""Action""}]"', ["Action"]),
        ("\"[{'id': 35, 'name': 'Comedy'}]\"", ["Comedy"]),
        ("\"['Drama', 'Romance']\"", ["Drama", "Romance"]),
    ],
)
def test_list_cell_layouts(settings: Settings, cell: str, expected: list[str]) -> None:
    land(settings, "movies.csv", f"id,title,release_date,genres\n1,X,2000-01-01,{cell}\n")
    assert pool(settings)[0]["genres"] == expected


def test_genre_id_lists_use_the_table_of_the_media_type(settings: Settings) -> None:
    land(
        settings,
        "trending.csv",
        (
            "id,media_type,title,genre_ids,release_date\n"
            '10,movie,A Film,"[878, 28]",2020-01-01\n'
            '10,tv,A Show,"[10765, 18, 99999]",2020-01-01\n'
        ),
    )
    rows = {r["media_type"]: r["genres"] for r in pool(settings)}
    assert rows == {"movie": ["Science Fiction", "Action"], "tv": ["Sci-Fi & Fantasy", "Drama"]}


def test_media_type_column_mixes_movies_and_shows_and_rejects_people(settings: Settings) -> None:
    reports = land(
        settings,
        "trending_all.csv",
        (
            "id,media_type,title,release_date\n"
            "5,Movie,M,2020-01-01\n6,TV,S,2020-01-01\n7,series,S2,2020-01-01\n"
            "8,tvshow,S3,2020-01-01\n9,person,Someone,\n10,,Nobody,2020-01-01\n"
        ),
    )
    assert {(r["media_type"], r["tmdb_id"]) for r in pool(settings)} == {
        ("movie", 5),
        ("tv", 6),
        ("tv", 7),
        ("tv", 8),
    }
    reasons = [r["reason"] for r in rejects(settings)]
    assert reasons == ["media type 'person' is not movie or tv", "missing media type"]
    assert reports[0].adds_up


def test_media_type_from_file_name_when_columns_do_not_say(settings: Settings) -> None:
    land(settings, "my_tv_list.csv", "id,title\n1,Some Show\n")
    assert pool(settings)[0]["media_type"] == "tv"


def test_semicolons_crlf_bom_quotes_and_decimal_commas(settings: Settings) -> None:
    content = (
        '\ufeff"id";"title";"vote_average";"vote_count";"popularity";"adult"\r\n'
        '"1";"Amélie";"7,9";"11.234";"45,5";"FALSE"\r\n'
        '"2";"Heat";"8";"0";"1";"0"\r\n'
    )
    reports = land(settings, "movies_excel.csv", content)
    rows = pool(settings)
    assert [
        (r["tmdb_id"], r["title"], r["vote_average"], r["vote_count"], r["popularity"], r["adult"])
        for r in rows
    ] == [(1, "Amélie", 7.9, 11234, 45.5, False), (2, "Heat", 8.0, 0, 1.0, False)]
    assert "delimiter ';'" in reports[0].message


def test_stray_line_before_header(settings: Settings) -> None:
    reports = land(settings, "movies.csv", "Exported 2024-05-01\nid,title\n1,A\n2,B\n")
    assert [r["tmdb_id"] for r in pool(settings)] == [1, 2]
    assert reports[0].rows_read == 2 and "skipped 1 line" in reports[0].message


def test_boolean_spellings(settings: Settings) -> None:
    land(
        settings,
        "movies.csv",
        "id,title,adult\n1,a,False\n2,b,FALSE\n3,c,false\n4,d,0\n5,e,True\n6,f,1\n",
    )
    assert [r["adult"] for r in pool(settings)] == [False] * 4 + [True] * 2


def test_windows_1252_bytes_are_transcoded_not_rejected(settings: Settings) -> None:
    content = "id,title\n1,Café\n".encode("cp1252") + "2,Señor\n".encode()
    reports = land(settings, "movies.csv", content)
    assert [r["title"] for r in pool(settings)] == ["Café", "Señor"]
    assert reports[0].rejected == 0 and "Windows-1252" in reports[0].message


def test_nul_bytes_are_dropped(settings: Settings) -> None:
    land(settings, "movies.csv", b"id,title,overview\n1,Ti\x00tle,Some\x00thing\n")
    row = pool(settings)[0]
    assert (row["title"], row["overview"]) == ("Title", "Something")


def test_gzipped_csv(settings: Settings) -> None:
    land(settings, "movies.csv.gz", "id,title\n1,A\n")
    assert [r["title"] for r in pool(settings)] == ["A"]


def test_bad_rows_are_rejected_with_file_line_reason_and_raw_text(settings: Settings) -> None:
    reports = land(
        settings,
        "movies.csv",
        (
            "id,title,release_date,vote_count,vote_average\n"
            "1,Good,2001-01-01,10,7.0\n"
            "abc,Bad Id,2001-01-01,10,7.0\n"
            ",Blank Id,2001-01-01,10,7.0\n"
            "-4,Negative,2001-01-01,10,7.0\n"
            "5,,2001-01-01,10,7.0\n"
            "6,Bad Date,2001-13-45,10,7.0\n"
            "7,Bad Votes,2001-01-01,lots,7.0\n"
            "8,Bad Rating,2001-01-01,10,11\n"
            "9,Too,Many,Fields,Here,Really\n"
            "10,Fine,2001-01-01,10,7.0\n"
            '11,"Cut off mid-fie'
        ),
    )
    (report,) = reports
    assert (report.rows_read, report.accepted, report.duplicates, report.rejected) == (11, 2, 0, 9)
    assert report.adds_up
    got = [(r["line"], r["reason"]) for r in rejects(settings)]
    assert got == [
        (3, "id 'abc' is not a whole number from 1 to 2147483647"),
        (4, "missing id"),
        (5, "id '-4' is not a whole number from 1 to 2147483647"),
        (6, "missing title"),
        (7, "release date '2001-13-45' is not a date from 1870-01-01 to 2199-12-31"),
        (8, "vote count 'lots' is not a whole number from 0 to 2147483647"),
        (9, "vote average '11' is not a number from 0 to 10"),
        (10, "broken record: more fields than the header"),
        (12, "broken record: unterminated quote (file cut off?)"),
    ]
    raw = {r["line"]: r["raw"] for r in rejects(settings)}
    assert '"id":"abc"' in raw[3].replace(" ", "") and raw[10] == "9,Too,Many,Fields,Here,Really"


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("movie_genres.csv", "id,name\n28,Action\n12,Adventure\n", "lookup table"),
        ("links.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n", "link table"),
        ("notes.csv", "note,author\nhello,me\n", "TMDB id column"),
        ("empty.csv", "", "TMDB id column"),
        ("header_only_movies.csv", "id,title\n", None),
    ],
)
def test_files_that_are_not_title_tables_are_reported_and_skipped(
    settings: Settings, name: str, content: str, why: str | None
) -> None:
    (settings.data_dir / "good_movies.csv").write_text("id,title\n1,A\n")
    reports = {r.file: r for r in land(settings, name, content)}
    assert reports["good_movies.csv"].status == "landed"
    if why is None:  # a valid header with no rows is a title table with nothing in it
        assert reports[name].status == "landed" and reports[name].rows_read == 0
    else:
        assert reports[name].status == "skipped" and why in reports[name].message
    assert [r["title"] for r in pool(settings)] == ["A"]


def test_duplicates_last_in_file_wins_and_newer_file_wins(settings: Settings) -> None:
    reports = land(settings, "a_movies.csv", "id,title\n1,First\n1,Second\n2,Other\n")
    assert (reports[0].accepted, reports[0].duplicates) == (2, 1)
    assert [r["title"] for r in pool(settings)] == ["Second", "Other"]
    # A changed file lands again as a newer version, which wins.
    (settings.data_dir / "a_movies.csv").write_text("id,title\n1,Third\n")
    reports = bootstrap(settings)
    assert [r.status for r in reports] == ["landed"]
    assert [r["title"] for r in pool(settings)] == ["Third", "Other"]


def test_rerun_is_a_no_op_and_force_lands_again(settings: Settings) -> None:
    land(settings, "movies.csv", "id,title\n1,A\n")
    assert [r.status for r in bootstrap(settings)] == ["unchanged"]
    version = (
        watchbuddy.connect(settings.warehouse).sql("SELECT count(*) FROM imports").fetchall()[0][0]
    )
    assert version == 1
    assert [r.status for r in bootstrap(settings, force=True)] == ["landed"]
    assert len(pool(settings)) == 1


def test_movie_and_show_sharing_an_id_are_both_kept(settings: Settings) -> None:
    (settings.data_dir / "movies.csv").write_text("id,title,release_date\n1399,Film,2001-01-01\n")
    land(settings, "shows.csv", "id,name,first_air_date\n1399,Show,2011-04-17\n")
    assert [(r["media_type"], r["tmdb_id"], r["title"]) for r in pool(settings)] == [
        ("movie", 1399, "Film"),
        ("tv", 1399, "Show"),
    ]


def test_unreadable_file_does_not_stop_the_others(settings: Settings, tmp_path: Path) -> None:
    (settings.data_dir / "b_movies.csv").write_text("id,title\n1,A\n")
    broken = settings.data_dir / "a_movies.csv.gz"
    broken.write_bytes(b"this is not gzip at all")
    reports = {r.file: r for r in bootstrap(settings)}
    assert reports["b_movies.csv"].status == "landed"
    assert reports["a_movies.csv.gz"].status in ("failed", "skipped")
    assert reports["a_movies.csv.gz"].message
