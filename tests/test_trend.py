"""Popularity over time: the pool's popularity follows the newest daily export, the trend
columns and the `trending` mode, and the ID universe flag (a title the newest complete
export day does not list is removed from TMDB)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import watchbuddy
from tests.conftest import run_cli
from tests.history_support import publish_export_day, publish_history
from watchbuddy.pool.candidates import CandidateFilters, CandidateProvider
from watchbuddy.pool.sparklines import recent_popularity
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.pool_cache import SPARK_WORDS, SPARKLINE_DAYS
from watchbuddy.store.schema import REMOVAL_SCHEMA
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

DAY0 = dt.date(2026, 3, 1)
CSV_FETCHED = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)  # the CSV's modification time


@pytest.fixture(scope="module")
def sparkline_con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A view connection on an empty warehouse: it has pool.sql's macros."""
    con = open_views(Warehouse(tmp_path_factory.mktemp("empty")))
    yield con
    con.close()


def land_movies(settings: Settings, rows: list[str]) -> Warehouse:
    """Land a movie CSV whose records were fetched at CSV_FETCHED."""
    path = settings.data_dir / "movies.csv"
    path.write_text(
        "id,title,release_date,genres,original_language,vote_count,vote_average,popularity\n"
        + "\n".join(rows)
        + "\n"
    )
    os.utime(path, (CSV_FETCHED.timestamp(), CSV_FETCHED.timestamp()))
    bootstrap(settings)
    return Warehouse(settings.warehouse)


def pool_rows(warehouse: Warehouse, columns: str) -> dict[int, tuple]:
    """{tmdb_id: row} of the movies in `pool`, checked equal to `pool_computed`."""
    con = watchbuddy.connect(warehouse.root)
    try:
        found = {}
        for view in ("pool", "pool_computed"):
            rows = con.sql(
                f"SELECT tmdb_id, {columns} FROM {view} WHERE media_type = 'movie'"
            ).fetchall()
            found[view] = {row[0]: row[1:] for row in rows}
    finally:
        con.close()
    assert found["pool"] == found["pool_computed"]
    return found["pool"]


def days(start: dt.date, values: dict[int, list[float]]) -> list[tuple[dt.date, dict]]:
    """One export day per position of the value lists, from `start`."""
    count = len(next(iter(values.values())))
    return [
        (start + dt.timedelta(days=i), {k: v[i] for k, v in values.items() if v[i] is not None})
        for i in range(count)
    ]


def test_popularity_follows_an_export_newer_than_the_record(settings: Settings) -> None:
    warehouse = land_movies(
        settings, ["1,Old,2001-01-01,Drama,en,100,7.0,5", "2,Other,2002-01-01,Drama,en,100,7,5"]
    )
    # Days up to the CSV's own day: the CSV (fetched at noon of day 10) is newer.
    publish_history(warehouse, "movie", days(DAY0, {1: [40.0] * 10, 2: [3.0] * 10}))
    assert pool_rows(warehouse, "popularity")[1] == (5.0,)
    # The export of day 11 was made after the CSV's data was fetched: it wins.
    publish_history(warehouse, "movie", [(DAY0 + dt.timedelta(days=10), {1: 42.5, 2: 3.0})])
    rows = pool_rows(warehouse, "popularity, mainstream_score")
    assert rows[1][0] == pytest.approx(42.5)
    con = watchbuddy.connect(warehouse.root)
    expected = con.sql("SELECT mainstream_score(100, 42.5)").fetchall()[0][0]
    assert rows[1][1] == pytest.approx(expected)  # the scores use the export's popularity


def test_trend_columns_from_the_history(settings: Settings) -> None:
    warehouse = land_movies(
        settings,
        [
            "1,Rising,2001-01-01,Drama,en,100,7.0,5",
            "2,Flat,2002-01-01,Drama,en,100,7.0,5",
            "3,Falling,2003-01-01,Drama,en,100,7.0,5",
            "4,No history,2004-01-01,Drama,en,100,7.0,5",
        ],
    )
    # 31 days: day 30 is "now", day 23 seven days earlier, day 0 thirty days earlier.
    rising = [1.0 + i for i in range(31)]  # 1 -> 31
    publish_history(
        warehouse,
        "movie",
        days(DAY0, {1: rising, 2: [10.0] * 31, 3: [50.0 - i for i in range(31)]}),
    )
    rows = pool_rows(
        warehouse, "popularity_change_7d, popularity_change_30d, trend_score, popularity"
    )
    change_7d, change_30d, trend, popularity = rows[1]
    assert change_7d == pytest.approx((31 - 24) / (24 + 1))
    assert change_30d == pytest.approx((31 - 1) / (1 + 1))
    assert trend == pytest.approx((32 / 25) ** 2 / ((32 / 25) ** 2 + 1))
    assert popularity == pytest.approx(31.0)
    assert rows[2][:3] == (0.0, 0.0, 0.5)
    assert rows[3][2] < 0.5 < rows[1][2]
    assert rows[4][:3] == (None, None, 0.5)


def test_without_thirty_days_the_30_day_change_is_unknown(settings: Settings) -> None:
    warehouse = land_movies(settings, ["1,Young,2001-01-01,Drama,en,100,7.0,5"])
    publish_history(warehouse, "movie", days(DAY0, {1: [2.0] * 8}))
    change_7d, change_30d = pool_rows(warehouse, "popularity_change_7d, popularity_change_30d")[1]
    assert change_7d == 0.0 and change_30d is None


def test_trending_ranks_a_rising_title_over_a_flat_one_within_filters(
    settings: Settings,
) -> None:
    warehouse = land_movies(
        settings,
        [
            # same votes, rating and genres, pairwise; only the history differs
            "1,Rising Drama,2001-01-01,Drama,en,300,7.0,20",
            "2,Flat Drama,2001-01-01,Drama,en,300,7.0,20",
            "3,Rising Thriller,2001-01-01,Thriller,da,300,7.0,20",
            "4,Flat Thriller,2001-01-01,Thriller,da,300,7.0,20",
            "5,Tiny Noise,2001-01-01,Drama,en,300,7.0,20",
            "6,Famous Flat,2001-01-01,Drama,en,20000,8.5,20",
        ],
    )
    publish_history(
        warehouse,
        "movie",
        days(
            DAY0,
            {
                1: [20.0] * 7 + [20.0 + 5 * i for i in range(8)],  # 20 -> 55 in a week
                2: [20.0] * 15,
                3: [8.0] * 7 + [8.0 + 2 * i for i in range(8)],  # 8 -> 22
                4: [20.0] * 15,
                5: [0.01] * 7 + [0.01 + 0.07 * i for i in range(8)],  # 0.01 -> 0.5: noise
                6: [20.0] * 15,
            },
        ),
    )
    provider = CandidateProvider(warehouse)

    def ranked(**filters: object) -> list[str]:
        frame = provider.get(CandidateFilters(mode="trending", **filters)).frame  # type: ignore[arg-type]
        return frame["title"].to_list()

    everything = ranked()
    assert everything.index("Rising Drama") < everything.index("Flat Drama")
    assert everything.index("Rising Thriller") < everything.index("Flat Thriller")
    assert everything.index("Rising Drama") < everything.index("Tiny Noise")
    assert everything[0] == "Rising Drama"
    assert everything.index("Tiny Noise") < everything.index("Famous Flat")
    assert ranked(genres=("Thriller",)) == ["Rising Thriller", "Flat Thriller"]
    assert ranked(languages=("en",), min_votes=1000) == ["Famous Flat"]
    frame = provider.get(CandidateFilters(mode="trending", limit=1)).frame
    assert frame["popularity_change_7d"][0] == pytest.approx((55 - 20) / 21)
    assert "x trend " in frame["explanation"][0]


def test_recommend_json_has_the_trend_columns(settings: Settings, tmp_path: Path) -> None:
    warehouse = land_movies(settings, ["1,Rising,2001-01-01,Drama,en,300,7.0,20"])
    week = [1.0] * 7 + [1.0 + i for i in range(8)]  # 1 -> 8 in the last seven days
    publish_history(warehouse, "movie", days(DAY0, {1: week}))
    env = {
        "WATCHBUDDY_DATA_DIR": str(settings.data_dir),
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "TMDB_API_KEY": "",
        "TMDB_READ_ACCESS_TOKEN": "",
    }
    done = run_cli("recommend", "--mode", "trending", "--format", "json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)[0]
    assert row["popularity_change_7d"] == pytest.approx((8 - 1) / (1 + 1))
    assert row["popularity_change_30d"] is None
    assert 0.5 < row["trend_score"] <= 1


def test_a_title_the_newest_complete_export_lacks_is_removed(settings: Settings) -> None:
    warehouse = land_movies(
        settings,
        [
            "1,Listed,2001-01-01,Drama,en,100,7.0,5",
            "2,Dropped,2001-01-01,Drama,en,100,7.0,5",
            "3,Adult,2001-01-01,Drama,en,100,7.0,5",
        ],
    )
    removed = "removed_from_tmdb_at"
    # A regular file alone is not a complete day: nothing is flagged.
    publish_export_day(warehouse, "movie", DAY0, {1: 5.0})
    assert all(row == (None,) for row in pool_rows(warehouse, removed).values())
    # Its adult file lands: the day is complete; 2 is in neither file.
    publish_export_day(warehouse, "movie", DAY0, {3: 1.0}, adult=True)
    rows = pool_rows(warehouse, removed)
    assert rows[1] == (None,) and rows[3] == (None,)
    assert rows[2] == (dt.datetime(2026, 3, 1, tzinfo=dt.UTC),)
    provider = CandidateProvider(warehouse)
    titles = provider.get(CandidateFilters(min_votes=0, include_adult=True)).frame["title"]
    assert "Dropped" not in titles.to_list()
    with_removed = CandidateFilters(min_votes=0, include_removed=True)
    assert "Dropped" in provider.get(with_removed).frame["title"].to_list()
    # A list only removed titles would fill says so, and how to see them.
    others = frozenset({("movie", 1), ("movie", 3)})
    only_dropped = provider.get(CandidateFilters(min_votes=0, exclude=others))
    assert only_dropped.frame.is_empty()
    assert any(
        "1 title(s) match, but TMDB has removed them" in note and "--include-removed" in note
        for note in only_dropped.notes
    ), only_dropped.notes
    # A newer day whose adult file is missing is not complete: the adult title it cannot
    # list is not flagged, and the old day's flag stands.
    day1, day2 = DAY0 + dt.timedelta(days=1), DAY0 + dt.timedelta(days=2)
    publish_export_day(warehouse, "movie", day1, {1: 5.0})
    publish_export_day(warehouse, "movie", day1, {}, adult=True, status="missing")
    rows = pool_rows(warehouse, removed)
    assert rows[3] == (None,) and rows[2] == (dt.datetime(2026, 3, 1, tzinfo=dt.UTC),)
    # A later export lists it again: no longer flagged.
    publish_history(warehouse, "movie", [(day2, {1: 5.0, 2: 1.0})], adult={3: 1.0})
    assert all(row == (None,) for row in pool_rows(warehouse, removed).values())
    listed = CandidateProvider(warehouse).get(CandidateFilters(min_votes=0)).frame["title"]
    assert "Dropped" in listed.to_list()


def test_exports_of_one_media_type_never_flag_the_other(settings: Settings) -> None:
    (settings.data_dir / "shows.csv").write_text(
        "id,name,first_air_date,genres,original_language,vote_count,vote_average,popularity\n"
        "1,Show,2019-01-01,Drama,en,900,8.0,20\n"
    )
    warehouse = land_movies(settings, ["1,Movie,2001-01-01,Drama,en,100,7.0,5"])
    publish_history(warehouse, "movie", [(DAY0, {1: 5.0})])
    con = watchbuddy.connect(warehouse.root)
    flags = con.sql("SELECT media_type, removed_from_tmdb_at FROM pool ORDER BY 1").fetchall()
    assert flags == [("movie", None), ("tv", None)]


def test_a_404_after_the_newest_listing_still_flags(settings: Settings) -> None:
    """The export flag and the 404 flag are one: the newest evidence decides."""
    warehouse = land_movies(settings, ["1,Gone,2001-01-01,Drama,en,100,7.0,5"])
    publish_history(warehouse, "movie", [(DAY0, {1: 5.0})])
    gone = dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    with warehouse.writer("test") as writer:
        table = pa.table(
            {"media_type": ["movie"], "tmdb_id": [1], "removed_at": [gone], "reason": ["404"]},
            schema=REMOVAL_SCHEMA,
        )
        writer.commit(add={"removals": [writer.stage_table("removals", table, "r.parquet")]})
    assert pool_rows(warehouse, "removed_from_tmdb_at")[1] == (gone,)
    publish_history(warehouse, "movie", [(DAY0 + dt.timedelta(days=1), {1: 5.0})])
    assert pool_rows(warehouse, "removed_from_tmdb_at")[1] == (None,)


def test_the_newest_complete_day_counts_however_old(settings: Settings) -> None:
    """Adult files missing for two months: the last complete day still decides, and what
    it listed is not flagged (the history read reaches back to it)."""
    warehouse = land_movies(
        settings, ["1,Listed,2001-01-01,Drama,en,100,7.0,5", "2,Gone,2001-01-01,Drama,en,100,7.0,5"]
    )
    publish_history(warehouse, "movie", [(DAY0, {1: 5.0})])
    for later in (40, 60):
        publish_export_day(warehouse, "movie", DAY0 + dt.timedelta(days=later), {3: 1.0})
    rows = pool_rows(warehouse, "removed_from_tmdb_at, popularity_change_7d")
    assert rows[1] == (None, None)
    assert rows[2] == (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), None)


@given(
    days=st.dictionaries(
        st.integers(0, SPARKLINE_DAYS - 1),
        st.floats(0, 50_000, allow_nan=False, width=32),
        max_size=SPARKLINE_DAYS,
    )
)
@hsettings(max_examples=60, deadline=None)
def test_a_sparkline_packed_by_the_pool_reads_back_within_a_step(
    sparkline_con: duckdb.DuckDBPyConnection, days: dict[int, float]
) -> None:
    """pool.sql packs a byte a day (`wb_spark_bits`, bit_or into the spark words), and
    pool/sparklines.py reads them back: every listed day, oldest first, within half a step
    (2.2 %) of 1 + popularity; nothing listed reads as null."""
    rows = [(k, p) for k, p in days.items()]
    words = sparkline_con.sql(
        "SELECT "
        + ", ".join(
            f"bit_or(wb_spark_bits(p, k)) FILTER (WHERE k // 8 = {i}) AS {name}"
            for i, name in enumerate(SPARK_WORDS)
        )
        + " FROM (SELECT unnest($k) AS k, unnest($p) AS p)",
        params={"k": [k for k, _ in rows], "p": [p for _, p in rows]},
    ).pl()
    got = recent_popularity(words).to_list()[0]
    expected = [days[k] for k in sorted(days, reverse=True)]  # oldest (largest k) first
    if not expected:
        assert got is None
        return
    assert len(got) == len(expected)
    for value, popularity in zip(got, expected, strict=True):
        assert abs(math.log2((1 + value) / (1 + popularity))) <= 0.5 / 16 + 1e-3
