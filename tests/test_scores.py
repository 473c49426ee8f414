"""Score rules as properties: bounded, monotonic, shrunk, and freshness computed at query time."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchbuddy.views import new_connection, sql_file

ratings = st.floats(min_value=0, max_value=10, allow_nan=False)
votes = st.integers(min_value=0, max_value=2_000_000)
popularity = st.floats(min_value=0, max_value=50_000, allow_nan=False)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = new_connection()
    con.execute(sql_file("scores.sql"))
    return con


def scores(con: duckdb.DuckDBPyConnection, r: float, v: int, p: float) -> tuple[float, float]:
    return con.sql(
        "SELECT obscurity_score($r, $v, $p), mainstream_score($r, $v, $p)",
        params={"r": r, "v": v, "p": p},
    ).fetchall()[0]


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, p=popularity)
def test_scores_are_in_unit_interval(con, r, v, p) -> None:
    obscurity, mainstream = scores(con, r, v, p)
    assert 0 <= obscurity <= 1 and 0 <= mainstream <= 1


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, more=st.integers(min_value=1, max_value=100_000), p=popularity)
def test_more_votes_never_lowers_mainstream_nor_raises_obscurity(con, r, v, more, p) -> None:
    o1, m1 = scores(con, r, v, p)
    o2, m2 = scores(con, r, v + more, p)
    assert m2 >= m1 - 1e-12
    assert o2 <= o1 + 1e-12


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, p=popularity, more=st.floats(min_value=0.001, max_value=5000))
def test_more_popularity_never_lowers_mainstream_nor_raises_obscurity(con, r, v, p, more) -> None:
    o1, m1 = scores(con, r, v, p)
    o2, m2 = scores(con, r, v, p + more)
    assert m2 >= m1 - 1e-12
    assert o2 <= o1 + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    released=st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2035, 1, 1)),
    later=st.integers(min_value=1, max_value=20_000),
)
def test_newer_release_never_lowers_freshness(con, released, later) -> None:
    today = dt.date(2026, 11, 24)
    newer = released + dt.timedelta(days=later)
    f_old, f_new = con.sql(
        "SELECT freshness_score($a, $t), freshness_score($b, $t)",
        params={"a": released, "b": newer, "t": today},
    ).fetchall()[0]
    assert 0 <= f_old <= f_new <= 1


def test_freshness_anchors(con) -> None:
    rows = con.sql(
        "SELECT freshness_score(DATE '2026-11-24', DATE '2026-11-24'), "
        "freshness_score(DATE '2027-06-01', DATE '2026-11-24'), "
        "freshness_score(DATE '2025-11-24', DATE '2026-11-24'), "
        "freshness_score(NULL, DATE '2026-11-24')"
    ).fetchall()[0]
    assert rows[0] == 1.0 and rows[1] == 1.0 and rows[2] == pytest.approx(0.5) and rows[3] == 0


def test_hidden_gem_beats_blockbuster_on_obscurity_and_loses_on_mainstream(con) -> None:
    gem = scores(con, 8.2, 150, 3.0)
    blockbuster = scores(con, 8.4, 30_000, 80.0)
    assert gem[0] > blockbuster[0]
    assert gem[1] < blockbuster[1]


def test_a_ten_from_one_vote_is_shrunk(con) -> None:
    # On mainstream a lone 10.0 is worth far less than a well-proven 7.5.
    assert scores(con, 10.0, 1, 1.0)[1] < scores(con, 7.5, 5_000, 1.0)[1]
    # Among titles with the same few votes, the rating barely separates them...
    few = scores(con, 10.0, 3, 1.0)[0] - scores(con, 5.0, 3, 1.0)[0]
    # ...while with many votes it separates them a lot.
    many = scores(con, 10.0, 800, 1.0)[0] - scores(con, 5.0, 800, 1.0)[0]
    assert few < many / 3


def test_pool_scores_follow_today(tmp_path) -> None:
    """Freshness is computed when queried: the pool view uses current_date."""
    from watchbuddy.land import bootstrap
    from watchbuddy.settings import Settings
    from watchbuddy.views import open_views
    from watchbuddy.warehouse import Warehouse

    data = tmp_path / "data"
    data.mkdir()
    today = dt.date.today()
    (data / "movies.csv").write_text(
        f"id,title,release_date\n1,Today,{today}\n2,Year ago,{today - dt.timedelta(days=365)}\n"
    )
    bootstrap(Settings(data_dir=data, warehouse=tmp_path / "wh"))
    con = open_views(Warehouse(tmp_path / "wh"))
    fresh = dict(con.sql("SELECT tmdb_id, freshness_score FROM pool").fetchall())
    assert fresh[1] == 1.0 and fresh[2] == pytest.approx(0.5, abs=0.01)
