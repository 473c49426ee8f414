"""Out-of-range and non-decimal values: refused where they come in (CSV cells, TMDB JSON) with
a reason, and never able to crash a reader of a warehouse that already holds one."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import watchbuddy
from tests.conftest import fake_tmdb_settings, run_cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb, Title
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.csv.validate import load_cell_macros
from watchbuddy.sources.tmdb.ingest import ingest_new_content, refresh_recent_votes
from watchbuddy.store.schema import MAX_WHOLE_NUMBER, RELEASE_DATE_RANGE
from watchbuddy.store.views import new_connection
from watchbuddy.store.warehouse import Warehouse

FIRST_DAY, LAST_DAY = RELEASE_DATE_RANGE
DATES = f"a date from {FIRST_DAY} to {LAST_DAY}"
IDS = f"a whole number from 1 to {MAX_WHOLE_NUMBER}"
COUNTS = f"a whole number from 0 to {MAX_WHOLE_NUMBER}"
MINUTES = f"a number of minutes from 0 to {MAX_WHOLE_NUMBER}"


def rows(settings: Settings, sql: str) -> list[tuple]:
    con = watchbuddy.connect(settings.warehouse)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- CSV landing

# (cells after the id and title, the reason the row is rejected with)
HOSTILE = [
    ("infinity,10,5,1,90", f"release date 'infinity' is not {DATES}"),
    ("-infinity,10,5,1,90", f"release date '-infinity' is not {DATES}"),
    ("5881580-07-10,10,5,1,90", f"release date '5881580-07-10' is not {DATES}"),
    ("-2020-01-01,10,5,1,90", f"release date '-2020-01-01' is not {DATES}"),
    ("2020-01-01 (BC),10,5,1,90", f"release date '2020-01-01 (BC)' is not {DATES}"),
    ("epoch,10,5,1,90", f"release date 'epoch' is not {DATES}"),
    ("0001-01-01,10,5,1,90", f"release date '0001-01-01' is not {DATES}"),
    ("1869-12-31,10,5,1,90", f"release date '1869-12-31' is not {DATES}"),
    ("2200-01-01,10,5,1,90", f"release date '2200-01-01' is not {DATES}"),
    ("12/31/1869,10,5,1,90", f"release date '12/31/1869' is not {DATES}"),
    ("2020-01-01,0x258,5,1,90", f"vote count '0x258' is not {COUNTS}"),
    ("2020-01-01,1e2,5,1,90", f"vote count '1e2' is not {COUNTS}"),
    ("2020-01-01,1_000,5,1,90", f"vote count '1_000' is not {COUNTS}"),
    ("2020-01-01,0b11,5,1,90", f"vote count '0b11' is not {COUNTS}"),
    ("2020-01-01,12abc,5,1,90", f"vote count '12abc' is not {COUNTS}"),
    ("2020-01-01,2.5,5,1,90", f"vote count '2.5' is not {COUNTS}"),
    ("2020-01-01,-1,5,1,90", f"vote count '-1' is not {COUNTS}"),
    ("2020-01-01,2147483648,5,1,90", f"vote count '2147483648' is not {COUNTS}"),
    ("2020-01-01,10,inf,1,90", "vote average 'inf' is not a number from 0 to 10"),
    ("2020-01-01,10,10.5,1,90", "vote average '10.5' is not a number from 0 to 10"),
    ("2020-01-01,10,-0.1,1,90", "vote average '-0.1' is not a number from 0 to 10"),
    ("2020-01-01,10,5,inf,90", "popularity 'inf' is not a number >= 0"),
    ("2020-01-01,10,5,+inf,90", "popularity '+inf' is not a number >= 0"),
    ("2020-01-01,10,5,-Infinity,90", "popularity '-Infinity' is not a number >= 0"),
    ("2020-01-01,10,5,1.5e400,90", "popularity '1.5e400' is not a number >= 0"),
    ("2020-01-01,10,5,0x10,90", "popularity '0x10' is not a number >= 0"),
    ("2020-01-01,10,5,1_0.5,90", "popularity '1_0.5' is not a number >= 0"),
    ("2020-01-01,10,5,-2,90", "popularity '-2' is not a number >= 0"),
    ("2020-01-01,10,5,1,-5", f"runtime '-5' is not {MINUTES}"),
    ("2020-01-01,10,5,1,1e12", f"runtime '1e12' is not {MINUTES}"),
]
# Accepted: plain decimals, '.0' ids, thousands separators, exponents in decimal columns
# (pandas writes 1e-05), the edges of the date range, 'NaN' as pandas' "unknown".
ACCEPTED = [
    ("2020-01-01,10,5,1,90", ("2020-01-01", 10, 5.0, 1.0, 90)),
    (f"{FIRST_DAY},10,5,1,90", (str(FIRST_DAY), 10, 5.0, 1.0, 90)),
    (f"{LAST_DAY},10,5,1,90", (str(LAST_DAY), 10, 5.0, 1.0, 90)),
    ('7/15/2010," 1,234 ",10,1e-05,[48]', ("2010-07-15", 1234, 10.0, 0.00001, 48)),
    ("2010-07-15T10:00:00Z, +7 ,0,NaN,1.2e2", ("2010-07-15", 7, 0.0, None, 120)),
]


def test_hostile_cells_are_rejected_with_reasons_and_the_rest_lands(settings: Settings) -> None:
    header = "id,title,release_date,vote_count,vote_average,popularity,runtime\n"
    lines = []
    for i, (cells, _) in enumerate(HOSTILE + ACCEPTED, start=1):
        lines.append(f"{i},Title {i},{cells}")
    # Ids: hex, exponent, binary, underscores, junk and past the 32-bit limit are refused.
    bad_ids = ["0x10", "1e3", "0b1", "1_0", "16abc", "2147483648", "0", "+0x1"]
    lines += [f"{bad},Bad id {bad},2020-01-01,1,5,1,90" for bad in bad_ids]
    lines += ["862.0,Float id,2020-01-01,1,5,1,90", '"2,147,483,647",Max id,2020-01-01,1,5,1,90']
    (settings.data_dir / "hostile_movies.csv").write_text(header + "\n".join(lines) + "\n")

    (report,) = bootstrap(settings)

    assert report.adds_up
    assert report.rows_read == len(lines)
    assert report.rejected == len(HOSTILE) + len(bad_ids)
    assert report.accepted == len(ACCEPTED) + 2
    got = dict(rows(settings, "SELECT line, reason FROM rejects"))
    for i, (_, reason) in enumerate(HOSTILE, start=1):
        assert got[i + 1] == reason  # line 1 is the header
    first_bad_id = len(HOSTILE) + len(ACCEPTED) + 2
    for j, bad in enumerate(bad_ids):
        assert got[first_bad_id + j] == f"id '{bad}' is not {IDS}"
    landed = {
        r[0]: r[1:]
        for r in rows(
            settings,
            "SELECT tmdb_id, release_date::VARCHAR, vote_count, vote_average, popularity, "
            "runtime FROM titles",
        )
    }
    for i, (_, values) in enumerate(ACCEPTED, start=len(HOSTILE) + 1):
        assert landed[i] == values
    assert {862, MAX_WHOLE_NUMBER} <= set(landed)
    # Every landed value reads back through Polars, the path that used to panic.
    frame = watchbuddy.connect(settings.warehouse).sql("SELECT * FROM pool").pl()
    assert frame.height == len(landed)
    assert str(frame) and frame.to_dicts()


def test_a_file_from_the_future_is_not_newer_than_its_landing(settings: Settings) -> None:
    path = settings.data_dir / "movies.csv"
    path.write_text("id,title\n1,A\n")
    year_2400 = dt.datetime(2400, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(path, (year_2400, year_2400))
    (report,) = bootstrap(settings)
    assert report.accepted == 1
    ((updated, landed),) = rows(settings, "SELECT updated_at, landed_at FROM titles")
    assert updated <= landed


# ---------------------------------------------------------------- the number rule itself


@pytest.fixture(scope="module")
def cells() -> duckdb.DuckDBPyConnection:
    con = new_connection()
    load_cell_macros(con)
    return con


def parse(con: duckdb.DuckDBPyConnection, macro: str, text: str) -> Any:
    return con.execute(f"SELECT {macro}($t, false)", {"t": text}).fetchall()[0][0]


# Whole numbers as the landing reads them: optional sign, digits (or digits in thousands
# groups), optional '.0', blanks around. `\s` here is ASCII whitespace.
WHOLE = r"([+-]?)(\d+|\d{1,3}(?:,\d{3})+)(?:\.0*)?"
PLAIN_WHOLE = re.compile(rf"\s*{WHOLE}\s*", re.ASCII)
SPACED_WHOLE = re.compile(rf"[ \t]*{WHOLE}[ \t]*", re.ASCII)
HOSTILE_NUMBERS = [
    "0x10", "0X1f", "1e3", "1E3", "1_000", "0b101", "0o17", "inf", "+inf", "-Infinity",
    "infinity", "nan", "NaN", "1_0.5", "12abc", "١٢", "１２", "1 000", "1,23", "--1", "+-1",
    "0x1p3", "1d", "1f", "1.5", ".5", "5.", "", " ", "+", "-", ".",
]  # fmt: skip
number_text = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.text(alphabet="0123456789+-.,eExXbBoO_ nNaiIfty\t", max_size=14),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 2**40).map(lambda n: f"{n:,}"),
    st.integers(0, 2**40).map(hex),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"[ \t]*[+-]?\d{1,12}(\.0*)?[ \t]*", fullmatch=True),
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(text=number_text)
def test_a_text_read_as_a_whole_number_is_a_plain_decimal_of_that_value(cells, text) -> None:
    value = parse(cells, "wb_parse_int", text)
    if value is not None:
        match = PLAIN_WHOLE.fullmatch(text)
        assert match is not None, f"{text!r} was read as {value}"
        assert value == int(match.group(1) + match.group(2).replace(",", ""))
    elif match := SPACED_WHOLE.fullmatch(text):
        # Refused although plain: only when it does not fit 64 bits.
        assert abs(int(match.group(1) + match.group(2).replace(",", ""))) >= 2**63 - 1


@hypothesis_settings(max_examples=400, deadline=None)
@given(text=number_text)
def test_a_text_read_as_a_number_is_a_decimal_of_that_value(cells, text) -> None:
    value = parse(cells, "wb_parse_float", text)
    if value is None:
        return
    cleaned = text.strip()
    assert re.fullmatch(
        r"[+-]?(\d+\.?\d*|\.\d+|\d{1,3}(,\d{3})+(\.\d+)?)([eE][+-]?\d+)?", cleaned, re.ASCII
    ), f"{text!r} was read as {value}"
    assert value == pytest.approx(float(cleaned.replace(",", "")))  # inf only for 1e400


@hypothesis_settings(max_examples=200, deadline=None)
@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_as_python_writes_it_is_read_back(cells, number) -> None:
    assert parse(cells, "wb_parse_float", repr(number)) == number


# ---------------------------------------------------------------- an old warehouse


def land_then_corrupt(settings: Settings) -> None:
    """A warehouse as an older WatchBuddy could leave it: values no landing accepts now,
    written straight into the titles file with DuckDB."""
    (settings.data_dir / "movies.csv").write_text(
        "id,title,release_date,vote_count,vote_average,popularity,runtime\n"
        + "".join(f"{i},T{i},2020-01-0{i},{10 * i},5,{i},90\n" for i in range(1, 8))
    )
    bootstrap(settings)
    warehouse = Warehouse(settings.warehouse)
    (relative,) = warehouse.read_manifest().files("titles")
    path = warehouse.path(relative)
    tmp = path.with_name("rewritten.parquet")
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (SELECT * REPLACE (
            CASE tmdb_id WHEN 1 THEN DATE 'infinity' WHEN 2 THEN DATE '-infinity'
                         WHEN 3 THEN DATE '5881580-07-10' WHEN 4 THEN DATE '0001-01-01'
                         ELSE release_date END AS release_date,
            CASE tmdb_id WHEN 5 THEN 'NaN'::DOUBLE WHEN 6 THEN 'inf'::DOUBLE
                         ELSE popularity END AS popularity,
            CASE tmdb_id WHEN 5 THEN 99.0 ELSE vote_average END AS vote_average,
            CASE tmdb_id WHEN 6 THEN -5 ELSE vote_count END AS vote_count
        ) FROM read_parquet('{path}')) TO '{tmp}' (FORMAT parquet)
        """
    )
    con.close()
    os.replace(tmp, path)


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
        "WATCHBUDDY_DATA_DIR": str(settings.data_dir),
        "WATCHBUDDY_AUTO_BOOTSTRAP": "false",
    }


def test_an_old_warehouse_with_impossible_values_does_not_crash_readers(
    settings: Settings, tmp_path: Path
) -> None:
    land_then_corrupt(settings)
    env = cli_env(settings)
    for table in ("pool", "titles"):
        for fmt in ("table", "csv", "json"):
            done = run_cli(
                "sql",
                f"SELECT tmdb_id, release_date FROM {table} ORDER BY tmdb_id",
                "--format",
                fmt,
                cwd=tmp_path,
                env=env,
            )
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr and "panic" not in done.stderr.lower()
    done = run_cli(
        "sql",
        "SELECT tmdb_id, release_date, popularity, vote_average, vote_count FROM pool "
        "ORDER BY tmdb_id",
        "--format",
        "json",
        cwd=tmp_path,
        env=env,
    )
    pool = {r["tmdb_id"]: r for r in json.loads(done.stdout)}
    # Impossible values read as unknown; the rest of each title is still there.
    assert [pool[i]["release_date"] for i in (1, 2, 3, 4)] == [None] * 4
    assert pool[7]["release_date"] == "2020-01-07"
    assert (pool[5]["popularity"], pool[5]["vote_average"]) == (None, None)
    assert (pool[6]["popularity"], pool[6]["vote_count"]) == (None, None)
    # Every score stays on its 0-1 scale.
    ((low, high),) = rows(
        settings,
        "SELECT min(least(obscurity_score, mainstream_score, quality_score, freshness_score)), "
        "max(greatest(obscurity_score, mainstream_score, quality_score, freshness_score)) "
        "FROM pool",
    )
    assert 0 <= low <= high <= 1
    recommend = run_cli(
        "recommend", "--no-fallback", "--min-votes", "0", "--format", "json", cwd=tmp_path, env=env
    )
    assert recommend.returncode == 0, recommend.stderr


def test_the_explorer_detail_panel_reads_an_old_warehouse(settings: Settings) -> None:
    from watchbuddy.explorer import data

    land_then_corrupt(settings)
    version = Warehouse(settings.warehouse).read_manifest().version
    detail = data.title_detail(str(settings.warehouse), version, "movie", 3)
    assert detail is not None and detail["title"] == "T3" and detail["release_date"] is None


# ---------------------------------------------------------------- TMDB ingestion

KEY = "value-ranges-key"
TODAY = dt.datetime.now(dt.UTC).date()


@dataclass
class HostileTitle(Title):
    """A title whose JSON carries values TMDB should never send."""

    overrides: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), **self.overrides}


HOSTILE_JSON = [
    ({"release_date": "infinity"}, f"release date 'infinity' is not {DATES}"),
    ({"release_date": "5881580-07-10"}, f"release date '5881580-07-10' is not {DATES}"),
    ({"release_date": "0001-01-01"}, f"release date '0001-01-01' is not {DATES}"),
    ({"release_date": "2021-W01-1"}, f"release date '2021-W01-1' is not {DATES}"),
    ({"release_date": "2020-01-01 (BC)"}, f"release date '2020-01-01 (BC)' is not {DATES}"),
    ({"vote_count": 600.5}, f"vote count '600.5' is not {COUNTS}"),
    ({"vote_count": 1e30}, f"vote count '1e+30' is not {COUNTS}"),
    ({"vote_count": 2**40}, f"vote count '{2**40}' is not {COUNTS}"),
    ({"vote_count": 10**400}, f"vote count '{str(10**400)[:60]}' is not {COUNTS}"),
    ({"vote_count": True}, f"vote count 'true' is not {COUNTS}"),
    ({"vote_count": "600"}, f"vote count '\"600\"' is not {COUNTS}"),
    ({"vote_average": 11}, "vote average '11' is not a number from 0 to 10"),
    ({"popularity": float("inf")}, "popularity 'Infinity' is not a number >= 0"),
    ({"popularity": float("nan")}, "popularity 'NaN' is not a number >= 0"),
    ({"popularity": -1.5}, "popularity '-1.5' is not a number >= 0"),
    ({"popularity": 10**400}, f"popularity '{str(10**400)[:60]}' is not a number >= 0"),
    ({"id": "77"}, f"id '\"77\"' is not {IDS}"),
    ({"id": None}, "missing id"),
    ({"title": "", "original_title": None}, "missing title"),
]


def hostile_catalogue(runtime_ids: tuple[int, ...] = ()) -> Catalogue:
    catalogue = Catalogue.generate(
        40, 0, TODAY - dt.timedelta(days=100), TODAY - dt.timedelta(days=10), seed=3
    )
    for n, (overrides, _) in enumerate(HOSTILE_JSON):
        catalogue.add(
            HostileTitle(
                media_type="movie",
                id=900 + n,
                title=f"Hostile {n}",
                date=TODAY - dt.timedelta(days=20),
                genre_ids=[18],
                original_language="en",
                popularity=1.0,
                vote_average=5.0,
                vote_count=10,
                runtime=90,
                imdb_id="tt0000001",
                keywords=[],
                overrides=overrides,
            )
        )
    return catalogue


def tmdb_settings(server: FakeTmdb, tmp_path: Path) -> Settings:
    return fake_tmdb_settings(server, tmp_path, details_per_run=100)


def test_tmdb_values_out_of_range_do_not_land_and_are_rejected(tmp_path: Path) -> None:
    catalogue = hostile_catalogue()
    # A details answer with an impossible runtime: the title lands from discover, its
    # details do not.
    good = next(t for t in catalogue.titles["movie"].values() if t.id >= 1_000_000)
    good.runtime = 10**12
    with FakeTmdb(catalogue, api_key=KEY) as server:
        settings = tmdb_settings(server, tmp_path)
        result = ingest_new_content(settings, "movie")
    assert result.run.status == "ok"
    hostile_ids = {900 + n for n in range(len(HOSTILE_JSON))}
    landed = {r[0] for r in rows(settings, "SELECT tmdb_id FROM pool")}
    assert landed == {t.id for t in catalogue.titles["movie"].values()} - hostile_ids
    rejects = {
        (file, reason) for file, reason in rows(settings, "SELECT file, reason FROM rejects")
    }
    for _, reason in HOSTILE_JSON:
        assert ("TMDB /discover/movie", reason) in rejects
    assert (f"TMDB /movie/{good.id}", f"runtime '{10**12}' is not {MINUTES}") in rejects
    ((runtime, status),) = rows(
        settings, f"SELECT runtime, status FROM pool WHERE tmdb_id = {good.id}"
    )
    assert (runtime, status) == (None, None)
    assert any("not landed" in m and "rejects" in m for m in result.run.messages)
    # Every landed value reads back through Polars.
    assert watchbuddy.connect(settings.warehouse).sql("SELECT * FROM pool").pl().to_dicts()


def test_a_vote_refresh_with_impossible_votes_is_rejected(tmp_path: Path) -> None:
    catalogue = Catalogue.generate(
        5, 0, TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=10), seed=4
    )
    with FakeTmdb(catalogue, api_key=KEY) as server:
        settings = tmdb_settings(server, tmp_path)
        ingest_new_content(settings, "movie")
        victim = min(catalogue.titles["movie"])
        catalogue.titles["movie"][victim].vote_count = 2**40
        result = refresh_recent_votes(settings, "movie", days=90)
    assert result.run.status == "ok"
    assert result.refreshed == 4
    refreshed = {r[0] for r in rows(settings, "SELECT tmdb_id FROM votes")}
    assert victim not in refreshed and len(refreshed) == 4
    assert rows(settings, "SELECT file, reason FROM rejects") == [
        (f"TMDB /movie/{victim}", f"vote count '{2**40}' is not {COUNTS}")
    ]
