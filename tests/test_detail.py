"""One title's detail (pool/detail.py): the explorer's panel adds to a candidate row what the
row lacks, found through the row's vote count (the pool file's sort key) and still found
when that count is stale or unknown."""

from __future__ import annotations

import pytest

from watchbuddy.pool.detail import title_detail, title_extras
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

CSV = (
    "id,title,original_title,release_date,original_language,vote_count,vote_average,"
    "popularity,overview\n"
    "1,Alpha,Alpha,2001-01-01,en,300,7.0,20,First overview\n"
    "2,Beta,Bêta,2002-01-01,fr,0,0,1,Second overview\n"
    "3,Gamma,Gamma,2003-01-01,en,,,2,\n"
    "4,Delta,Delta,2004-01-01,en,300,6.0,3,Fourth overview\n"
)
EXTRAS = ("original_title", "overview", "source_name", "updated_at", "votes_refreshed_at")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("detail")
    (root / "data").mkdir()
    (root / "data" / "movies.csv").write_text(CSV)
    bootstrap(Settings(data_dir=root / "data", warehouse=root / "warehouse"))
    return open_views(Warehouse(root / "warehouse"))


@pytest.mark.parametrize("tmdb_id", [1, 2, 3, 4])
def test_the_extras_are_the_rows_own_with_the_right_a_stale_or_no_vote_count(pool, tmdb_id):
    row = title_detail(pool, "movie", tmdb_id)
    assert row is not None
    expected = {name: row[name] for name in EXTRAS}
    right = row["vote_count"] or 0  # the pool file sorts a missing count as 0
    for vote_count in (right, right + 1, None):
        assert title_extras(pool, "movie", tmdb_id, vote_count) == expected
    assert title_detail(pool, "movie", tmdb_id, right) == row
    assert title_detail(pool, "movie", tmdb_id, right + 7) == row


def test_the_values_are_the_files(pool):
    assert title_extras(pool, "movie", 2, 0) == {
        "original_title": "Bêta",
        "overview": "Second overview",
        "source_name": "movies.csv",
        "updated_at": title_detail(pool, "movie", 2)["updated_at"],
        "votes_refreshed_at": None,
    }


def test_a_title_the_pool_lacks_is_none(pool):
    assert title_extras(pool, "movie", 99, 0) is None
    assert title_extras(pool, "tv", 1, 300) is None
    assert title_detail(pool, "movie", 99, None) is None
