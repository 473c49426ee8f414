"""Score rules as properties: bounded, reach monotonic and rating-blind, quality shrunk,
freshness computed at query time."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchbuddy.sql import sql_file
from watchbuddy.store.views import new_connection

ratings = st.floats(min_value=0, max_value=10, allow_nan=False)
votes = st.integers(min_value=0, max_value=2_000_000)
popularity = st.floats(min_value=0, max_value=50_000, allow_nan=False)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = new_connection()
    con.execute(sql_file("scores.sql"))
    return con


def scores(
    con: duckdb.DuckDBPyConnection, r: float, v: int, p: float
) -> tuple[float, float, float]:
    """(obscurity, mainstream, quality) of a title rated r from v votes at popularity p."""
    return con.sql(
        "SELECT obscurity_score($v, $p), mainstream_score($v, $p), quality_score($r, $v)",
        params={"r": r, "v": v, "p": p},
    ).fetchall()[0]


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, p=popularity)
def test_scores_are_in_unit_interval(con, r, v, p) -> None:
    assert all(0 <= score <= 1 for score in scores(con, r, v, p))


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, more=st.integers(min_value=1, max_value=100_000), p=popularity)
def test_more_votes_never_lowers_mainstream_nor_raises_obscurity(con, r, v, more, p) -> None:
    o1, m1, _ = scores(con, r, v, p)
    o2, m2, _ = scores(con, r, v + more, p)
    assert m2 >= m1 - 1e-12
    assert o2 <= o1 + 1e-12


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, p=popularity, more=st.floats(min_value=0.001, max_value=5000))
def test_more_popularity_never_lowers_mainstream_nor_raises_obscurity(con, r, v, p, more) -> None:
    o1, m1, _ = scores(con, r, v, p)
    o2, m2, _ = scores(con, r, v, p + more)
    assert m2 >= m1 - 1e-12
    assert o2 <= o1 + 1e-12


@settings(max_examples=300, deadline=None)
@given(
    r=ratings,
    v=votes,
    p1=popularity,
    p2=popularity,
    r2=ratings,
)
def test_reach_scores_ignore_the_rating(con, r, v, p1, p2, r2) -> None:
    """Obscurity and mainstream are functions of reach alone: the rating never moves them."""
    assert scores(con, r, v, p1)[:2] == scores(con, r2, v, p1)[:2]


@settings(max_examples=300, deadline=None)
@given(r=ratings, v=votes, more=st.integers(min_value=1, max_value=100_000))
def test_quality_is_the_rating_shrunk_toward_the_prior_less_with_more_votes(con, r, v, more):
    few = scores(con, r, v, 0.0)[2] * 10
    many = scores(con, r, v + more, 0.0)[2] * 10
    prior = 6.0
    # between the prior and the rating, and closer to the rating as votes come in
    assert min(prior, r) - 1e-9 <= few <= max(prior, r) + 1e-9
    assert abs(many - r) <= abs(few - r) + 1e-9


@settings(max_examples=300, deadline=None)
@given(r=ratings, higher=st.floats(min_value=0.01, max_value=10), v=votes)
def test_a_higher_rating_with_the_same_votes_never_lowers_quality(con, r, higher, v) -> None:
    assert scores(con, min(r + higher, 10), v, 0)[2] >= scores(con, r, v, 0)[2] - 1e-12


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


def test_a_lucky_ten_is_shrunk_below_a_well_attested_rating(con) -> None:
    assert scores(con, 10.0, 1, 1.0)[2] < scores(con, 7.5, 5_000, 1.0)[2]
    assert scores(con, 10.0, 6, 1.0)[2] < scores(con, 8.2, 60, 1.0)[2]
    assert scores(con, 10.0, 20, 1.0)[2] < scores(con, 8.3, 150, 1.0)[2]
    # IMDb's weighted rating, m = 50 votes, C = 6.0: (6 * 10 + 50 * 6) / (6 + 50) = 6.43
    assert scores(con, 10.0, 6, 1.0)[2] * 10 == pytest.approx(360 / 56)
    # Among titles with the same few votes, the rating barely separates them...
    few = scores(con, 10.0, 3, 1.0)[2] - scores(con, 5.0, 3, 1.0)[2]
    # ...while with many votes it separates them a lot.
    many = scores(con, 10.0, 800, 1.0)[2] - scores(con, 5.0, 800, 1.0)[2]
    assert few < many / 3


def test_pool_scores_follow_today(tmp_path) -> None:
    """Freshness is computed when queried: the pool view uses current_date."""
    from watchbuddy.settings import Settings
    from watchbuddy.sources.csv.land import bootstrap
    from watchbuddy.store.views import open_views
    from watchbuddy.store.warehouse import Warehouse

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


def trend(con: duckdb.DuckDBPyConnection, p_now: float | None, p_then: float | None) -> float:
    """trend_score of the 7-day change from p_then to p_now."""
    return con.sql(
        "SELECT trend_score(popularity_change($now, $then))",
        params={"now": p_now, "then": p_then},
    ).fetchall()[0][0]


@settings(max_examples=300, deadline=None)
@given(p_now=popularity, p_then=popularity)
def test_trend_is_in_unit_interval_and_half_when_flat(con, p_now, p_then) -> None:
    assert 0 <= trend(con, p_now, p_then) <= 1
    assert trend(con, p_then, p_then) == 0.5
    assert trend(con, None, p_then) == trend(con, p_now, None) == 0.5  # no history: flat


@settings(max_examples=300, deadline=None)
@given(
    p_now=popularity,
    p_then=popularity,
    more=st.floats(min_value=0.001, max_value=5000),
)
def test_trend_is_monotonic_in_the_change(con, p_now, p_then, more) -> None:
    """A higher popularity now never lowers the trend, a higher one before never raises it."""
    assert trend(con, p_now + more, p_then) >= trend(con, p_now, p_then) - 1e-12
    assert trend(con, p_now, p_then + more) <= trend(con, p_now, p_then) + 1e-12
    change = con.sql("SELECT popularity_change($a, $b)", params={"a": p_now, "b": p_then})
    bigger = con.sql(
        "SELECT popularity_change($a, $b)", params={"a": p_now + more, "b": p_then}
    ).fetchall()[0][0]
    assert bigger >= change.fetchall()[0][0] > -1


@settings(max_examples=300, deadline=None)
@given(
    p_now=st.floats(min_value=0, max_value=1, allow_nan=False),
    p_then=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_tiny_popularities_cannot_make_a_strong_trend(con, p_now, p_then) -> None:
    """Below popularity 1 (TMDB's long tail, where a day's noise is a 50x ratio) the trend
    stays within [0.2, 0.8]: 0.01 -> 0.5 is not a hit."""
    assert 0.2 - 1e-12 <= trend(con, p_now, p_then) <= 0.8 + 1e-12
