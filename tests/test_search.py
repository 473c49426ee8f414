"""Title search: normalization, typo tolerance, ranking, the API and the command line.

Exact cases run on a real warehouse (CSV files landed by `bootstrap`, the pool's Parquet
file read by the index); the properties build indexes from frames directly (no file), one
per example."""

from __future__ import annotations

import json
import string
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from watchbuddy import search_titles
from watchbuddy.errors import ConfigError
from watchbuddy.pool.search import (
    COLUMNS,
    MIN_SCORE,
    SearchIndex,
    TitleSearch,
    compact_title,
    normalize_title,
)
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.warehouse import Warehouse

MOVIES = """\
id,title,original_title,release_date,original_language,vote_count,vote_average,adult
194,Amélie,Le Fabuleux Destin d'Amélie Poulain,2001-04-25,fr,11000,7.9,False
77,Amelie,Amelie,2010-01-01,de,5,6.0,False
634649,Spider-Man: No Way Home,Spider-Man: No Way Home,2021-12-15,en,20000,7.9,False
157336,Interstellar,Interstellar,2014-11-05,en,35000,8.4,False
501,Interstellar Wars,Interstellar Wars,2016-01-01,en,50,3.1,False
129,Spirited Away,千と千尋の神隠し,2001-07-20,ja,16000,8.5,False
25050,Brother,Брат,1997-05-17,ru,400,7.8,False
424,Schindler's List,Schindler's List,1993-12-15,en,16000,8.6,False
9001,Amélie After Dark,Amélie After Dark,2005-01-01,en,900,5.0,True
"""
SHOWS = """\
id,name,original_name,first_air_date,original_language,vote_count,vote_average
66732,Stranger Things,Stranger Things,2016-07-15,en,17000,8.6
194,Amélie,Amélie,2019-01-01,fr,12,6.5
"""


def land_search_pool(root: Path) -> Path:
    """The small search pool (MOVIES, SHOWS) landed under `root`; its warehouse."""
    data = root / "data"
    data.mkdir()
    (data / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (data / "shows.csv").write_text(SHOWS, encoding="utf-8")
    bootstrap(Settings(data_dir=data, warehouse=root / "warehouse"))
    return root / "warehouse"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return land_search_pool(tmp_path_factory.mktemp("search"))


def keys(frame: pl.DataFrame) -> list[str]:
    return [f"{m}:{i}" for m, i in frame.select("media_type", "tmdb_id").iter_rows()]


# ------------------------------------------------------------------ normalization


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Amélie", "amelie"),
        ("AMÉLIE", "amelie"),
        ("Spider-Man: No Way Home", "spider man no way home"),
        ("Schindler's List", "schindler s list"),
        ("  WALL·E  ", "wall e"),
        ("Ærø Łódź", "aero lodz"),
        ("Straße", "strasse"),
        ("ΟΔΥΣΣΕΙΑ", "οδυσσεια"),
        ("Москва́", "москва"),
        ("千と千尋の神隠し", "千と千尋の神隠し"),
        ("Ｆｕｌｌ\u3000Ｗｉｄｔｈ", "full width"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalization(text: str | None, normalized: str) -> None:
    assert normalize_title(text) == normalized


@given(st.text())
def test_normalization_is_idempotent_and_has_single_spaces(text: str) -> None:
    once = normalize_title(text)
    assert normalize_title(once) == once
    assert once == once.strip() and "  " not in once
    assert normalize_title(text.upper()) == normalize_title(text.lower()) or not text.isascii()


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_is_kept_or_a_word_break(code: int) -> None:
    """Letters and digits kept (lower case), "&" read as "and", everything else a word
    break."""
    char = chr(code)
    expected = char.lower() if char.isalnum() else ""
    if char == "&":
        expected = " and "
    assert normalize_title(f"a{char}b") == (f"a{expected}b" if expected else "a b")


# ------------------------------------------------------------------ the index, as properties

LETTERS = string.ascii_letters + "éèêëáàâäóöôúüçñåøæßœíïÉÅÖÜ" + "αβγδεζηθλμπσςωΔΣΩ"
CYRILLIC_CJK = "абвгдежзийклмнопрстуфхцчшщыэюяБДЖ" + "千と尋の神隠し東京物語"
TITLE = st.text(
    alphabet=st.sampled_from(LETTERS + CYRILLIC_CJK + string.digits + " -:'!,.&"),
    min_size=1,
    max_size=30,
).filter(lambda t: compact_title(normalize_title(t)) != "")


def index_of(titles: list[str], votes: list[int] | None = None) -> SearchIndex:
    count = len(titles)
    return SearchIndex(
        pl.DataFrame(
            {
                "media_type": ["movie"] * count,
                "tmdb_id": list(range(1, count + 1)),
                "title": titles,
                "original_title": titles,
                "year": [2000] * count,
                "vote_count": votes or [0] * count,
                "vote_average": [5.0] * count,
                "adult": [False] * count,
            },
            schema_overrides={"year": pl.Int64, "vote_count": pl.Int64},
        )
    )


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def found(index: SearchIndex, query: str, row: int) -> bool:
    match = index.search(query, limit=1000)
    return row in match.rows.tolist()


POOLS = st.lists(TITLE, min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POOLS, st.data())
@example(["Amélie", "Amelie Poulain"], None)
def test_a_title_is_found_by_itself_without_accents_and_in_another_case(
    titles: list[str], data: st.DataObject | None
) -> None:
    index = index_of(titles)
    row = data.draw(st.integers(0, len(titles) - 1)) if data else 0
    title = titles[row]
    for query in (title, strip_accents(title), title.upper(), title.lower(), title.swapcase()):
        match = index.search(query, limit=1000)
        assert row in match.rows.tolist(), query
        # the same title: 100
        assert match.scores[match.rows.tolist().index(row)] == 100.0, query


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POOLS, st.data())
@example(["Interstellar", "Stellar"], None)
def test_a_title_of_six_characters_or_more_is_found_with_one_character_deleted(
    titles: list[str], data: st.DataObject | None
) -> None:
    row = data.draw(st.integers(0, len(titles) - 1)) if data else 0
    title = titles[row]
    assume(len(compact_title(normalize_title(title))) >= 6)
    at = data.draw(st.integers(0, len(title) - 1)) if data else 5
    query = title[:at] + title[at + 1 :]
    # One character of the normalized title ("&" is read as three: "and").
    assume(
        len(compact_title(normalize_title(query))) >= len(compact_title(normalize_title(title))) - 1
    )
    # Built once the example is kept: most drawn titles are too short, and building an index
    # for each of them was most of this test's time (the examples drawn are the same).
    index = index_of(titles)
    assert found(index, query, row), query


@pytest.fixture(scope="module")
def big_index() -> tuple[SearchIndex, list[str]]:
    """5,000 distinct made-up titles of two to four words: far more than the shortlist below
    keeps, so the trigram narrowing is what finds them."""
    rng = np.random.default_rng(15)
    letters = np.array(list(string.ascii_lowercase))
    titles: set[str] = set()
    while len(titles) < 5000:
        words = [
            "".join(rng.choice(letters, int(rng.integers(3, 9))))
            for _ in range(int(rng.integers(2, 5)))
        ]
        titles.add(" ".join(words).title())
    ordered = sorted(titles)
    votes = rng.integers(0, 10_000, len(ordered)).tolist()
    return index_of(ordered, votes), ordered


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4999), st.integers(0, 40), st.sampled_from(["delete", "upper", "exact"]))
def test_the_shortlist_keeps_the_title_in_a_large_pool(
    big_index: tuple[SearchIndex, list[str]], row: int, at: int, change: str
) -> None:
    index, titles = big_index
    title = titles[row]
    at %= len(title)
    query = {
        "delete": title[:at] + title[at + 1 :],
        "upper": title.upper(),
        "exact": title,
    }[change]
    match = index.search(query, limit=50, shortlist=50)
    assert row in match.rows.tolist(), query


# ------------------------------------------------------------------ exact cases, real warehouse


def test_amelie_is_found_without_its_accent_and_ties_go_to_more_votes(warehouse: Path) -> None:
    frame = search_titles("amelie", warehouse=warehouse)
    assert frame.columns == COLUMNS
    # Three titles are "Amélie" exactly: the film with most votes first; the adult one not.
    assert keys(frame)[:3] == ["movie:194", "tv:194", "movie:77"]
    assert frame["match_score"].to_list()[:3] == [100.0, 100.0, 100.0]
    assert "movie:9001" not in keys(frame)
    assert "movie:9001" in keys(search_titles("amelie", include_adult=True, warehouse=warehouse))
    assert keys(search_titles("AMÉLIE", warehouse=warehouse))[:3] == keys(frame)[:3]


def test_punctuation_and_spaces_do_not_count(warehouse: Path) -> None:
    frame = search_titles("spiderman no way home", warehouse=warehouse)
    assert keys(frame)[0] == "movie:634649"
    assert frame["match_score"][0] == 100.0
    assert keys(search_titles("schindlers list", warehouse=warehouse))[0] == "movie:424"


def test_original_titles_in_other_scripts(warehouse: Path) -> None:
    assert keys(search_titles("千と千尋の神隠し", warehouse=warehouse))[0] == "movie:129"
    assert keys(search_titles("千と千尋", warehouse=warehouse))[0] == "movie:129"
    assert keys(search_titles("брат", warehouse=warehouse))[0] == "movie:25050"
    # and by the original title in Latin script
    assert keys(search_titles("le fabuleux destin d amelie", warehouse=warehouse))[0] == (
        "movie:194"
    )


def test_a_typo_still_finds_the_title_and_exact_beats_fuzzy(warehouse: Path) -> None:
    typo = search_titles("interstelar", warehouse=warehouse)
    assert keys(typo)[:2] == ["movie:157336", "movie:501"]
    assert MIN_SCORE <= typo["match_score"][0] < 100.0
    exact = search_titles("interstellar", warehouse=warehouse)
    assert keys(exact)[:2] == ["movie:157336", "movie:501"]
    # the exact title first, though "Interstellar Wars" holds every word of the query
    assert exact["match_score"].to_list()[:2] == [100.0, 95.0]


def test_media_type_year_and_limit(warehouse: Path) -> None:
    assert keys(search_titles("amelie", media_type="tv", warehouse=warehouse)) == ["tv:194"]
    assert keys(search_titles("amelie", year=2010, warehouse=warehouse)) == ["movie:77"]
    assert search_titles("amelie", limit=1, warehouse=warehouse).height == 1
    assert search_titles("zzqxv wwkj", warehouse=warehouse).is_empty()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "Nothing to search for"),
        ({"text": " ?!- "}, "Nothing to search for"),
        ({"text": "x", "media_type": "film"}, "Unknown media type"),
        ({"text": "x", "year": 1500}, "outside 1870-2199"),
        ({"text": "x", "limit": 0}, "outside 1-1000"),
    ],
)
def test_bad_input_is_one_clear_error(warehouse: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        search_titles(warehouse=warehouse, **kwargs)


def test_a_second_process_loads_the_saved_index_and_a_damaged_one_is_rebuilt(
    warehouse: Path,
) -> None:
    """The index is saved beside the pool's file: a new TitleSearch (another process) reads
    it instead of building it, with the same answers; a damaged file is built again."""
    first = TitleSearch(Warehouse(warehouse))
    expected = first.search("interstelar")
    saved = list((warehouse / "cache").glob("search-*.npz"))
    assert len(saved) == 1
    loaded = TitleSearch(Warehouse(warehouse))
    assert loaded.search("interstelar").equals(expected)
    saved[0].write_bytes(b"not an index")
    rebuilt = TitleSearch(Warehouse(warehouse))
    assert rebuilt.search("interstelar").equals(expected)
    assert SearchIndex.load(saved[0], rebuilt.index().frame).strings == rebuilt.index().strings


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def project(warehouse: Path) -> Path:
    return warehouse.parent


def cli(project: Path, *args: str) -> tuple[int, str, str]:
    done = run_cli("--warehouse", str(project / "warehouse"), "search", *args, cwd=project)
    return done.returncode, done.stdout, done.stderr


def test_cli_table_json_and_csv(project: Path) -> None:
    code, out, _ = cli(project, "amelie", "--limit", "2")
    assert code == 0 and "Amélie" in out and "match_score" in out
    code, out, _ = cli(project, "interstelar", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and list(rows[0]) == COLUMNS and rows[0]["tmdb_id"] == 157336
    code, out, _ = cli(project, "spirited away", "--format", "csv", "--media-type", "movie")
    lines = out.splitlines()
    assert code == 0 and lines[0] == ",".join(COLUMNS) and lines[1].startswith("movie,129,")


def test_cli_no_match_is_one_line_with_a_hint_and_exit_0(project: Path) -> None:
    code, out, _err = cli(project, "zzqxv wwkj")
    assert code == 0 and out.strip().startswith("No title matches") and "spelling" in out
    assert len(out.strip().splitlines()) == 1
    code, out, err = cli(project, "zzqxv wwkj", "--format", "json", "--year", "2001")
    assert code == 0 and json.loads(out) == [] and "--year" in err


def test_cli_on_an_empty_pool_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    done = run_cli(
        "--warehouse",
        str(tmp_path / "wh"),
        "--data-dir",
        str(tmp_path / "data"),
        "search",
        "amelie",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Error: The pool is empty") and "bootstrap" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("",),
        ("?!",),
        ("x", "--media-type", "film"),
        ("x", "--limit", "0"),
        ("x", "--year", "1500"),
        ("x", "--year", "soon"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(project: Path, args: tuple[str, ...]) -> None:
    code, _out, err = cli(project, *args)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
