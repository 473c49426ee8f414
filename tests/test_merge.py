"""The pool's merge rule, against a reference written in plain Python: every field from the newest
record that knows it, synthetic records only where no real record exists, vote refreshes as
records that know only the votes, removals flagged, and compaction changing nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import watchbuddy
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.compact import compact
from watchbuddy.store.schema import (
    LIST_FIELDS,
    REMOVAL_SCHEMA,
    TITLE_SCHEMA,
    VOTE_SCHEMA,
)
from watchbuddy.store.warehouse import Warehouse

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KEYS = [("movie", 1), ("tv", 1), ("movie", 2)]  # id 1 is both a movie and a show
# A few fields of each kind, each sometimes unknown; the others stay unknown.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "title": st.sampled_from(["A", "B", "C"]),  # always known: landing requires a title
    "original_language": st.sampled_from(["en", "da"]),
    "genres": st.sampled_from([[], ["Drama"], ["Action", "Drama"]]),
    "runtime": st.integers(1, 200),
    "vote_count": st.integers(0, 5000),
    "vote_average": st.floats(0, 10),
}
record = st.fixed_dictionaries(
    {
        "key": st.sampled_from(KEYS),
        "synthetic": st.booleans(),
        "source": st.sampled_from(["csv", "tmdb"]),
        "hours": st.integers(0, 3),  # updated_at: few values, so ties fall to batch and row
        **{
            name: values if name == "title" else st.one_of(st.none(), values)
            for name, values in VALUES.items()
        },
    }
)
vote = st.fixed_dictionaries(
    {
        "key": st.sampled_from(KEYS),
        "hours": st.integers(0, 4),
        "vote_count": st.one_of(st.none(), st.integers(0, 9000)),
        "vote_average": st.one_of(st.none(), st.floats(0, 10)),
    }
)


def _vote_hours(vote: dict, index: int) -> float:
    """Refreshes of one title never share a time (each run writes one row per title)."""
    return vote["hours"] + index / 1000


def _known(field: str, value: Any) -> bool:
    return value is not None and not (field in LIST_FIELDS and len(value) == 0)


def reference_pool(
    batches: list[list[dict]], votes: list[dict], removals: list[dict]
) -> dict[tuple, dict]:
    """The merge rule as the README states it, one title at a time."""
    records = []
    for batch, rows in enumerate(batches, start=1):
        for row_number, row in enumerate(rows):
            records.append({**row, "order": (row["hours"], batch, row_number), "title_record": 1})
    for i, v in enumerate(votes):
        hours = _vote_hours(v, i)
        records.append(
            {**v, "hours": hours, "order": (hours, 0, 0), "synthetic": False, "title_record": 0}
        )
    pool = {}
    for key in KEYS:
        mine = [r for r in records if r["key"] == key]
        if not any(r["title_record"] for r in mine):
            continue
        if any(r["title_record"] and not r["synthetic"] for r in mine):
            mine = [r for r in mine if not (r["title_record"] and r["synthetic"])]
        mine.sort(key=lambda r: r["order"])
        row = {}
        for field in VALUES:
            known = [r for r in mine if _known(field, r.get(field))]
            row[field] = known[-1][field] if known else None
        titles = [r for r in mine if r["title_record"]]
        row["synthetic"] = all(r["synthetic"] for r in titles)
        # when TMDB last served it: an API record or a vote refresh, never a CSV
        seen = [r["hours"] for r in mine if not r["title_record"] or r["source"] == "tmdb"]
        removed = [x["hours"] for x in removals if x["key"] == key]
        row["removed"] = bool(removed) and (not seen or max(removed) > max(seen))
        pool[key] = row
    return pool


def _title_table(rows: list[dict], batch: int) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in TITLE_SCHEMA.names}
    for row_number, row in enumerate(rows):
        values = {name: None for name in TITLE_SCHEMA.names}
        values.update({f: row[f] for f in VALUES})
        values.update(
            media_type=row["key"][0],
            tmdb_id=row["key"][1],
            source=row["source"],
            source_name=f"batch{batch}.csv",
            batch=batch,
            source_row=row_number,
            updated_at=T0 + dt.timedelta(hours=row["hours"]),
            landed_at=T0,
            synthetic=row["synthetic"],
        )
        for name in TITLE_SCHEMA.names:
            columns[name].append(values[name])
    return pa.table(columns, schema=TITLE_SCHEMA)


def _publish(root: Path, batches: list[list[dict]], votes: list[dict], removals: list[dict]):
    warehouse = Warehouse(root)
    with warehouse.writer("test") as writer:
        for rows in batches:
            batch = writer.allocate_batch()
            staged = writer.stage_table("titles", _title_table(rows, batch), f"b{batch}.parquet")
            writer.commit(add={"titles": [staged]})
        if votes:
            table = pa.table(
                {
                    "media_type": [v["key"][0] for v in votes],
                    "tmdb_id": [v["key"][1] for v in votes],
                    "vote_average": [v["vote_average"] for v in votes],
                    "vote_count": [v["vote_count"] for v in votes],
                    "popularity": [None] * len(votes),
                    "refreshed_at": [
                        T0 + dt.timedelta(hours=_vote_hours(v, i)) for i, v in enumerate(votes)
                    ],
                },
                schema=VOTE_SCHEMA,
            )
            writer.commit(add={"votes": [writer.stage_table("votes", table, "v.parquet")]})
        if removals:
            table = pa.table(
                {
                    "media_type": [x["key"][0] for x in removals],
                    "tmdb_id": [x["key"][1] for x in removals],
                    "removed_at": [T0 + dt.timedelta(hours=x["hours"]) for x in removals],
                    "reason": ["HTTP 404"] * len(removals),
                },
                schema=REMOVAL_SCHEMA,
            )
            writer.commit(add={"removals": [writer.stage_table("removals", table, "r.parquet")]})
    return warehouse


def actual_pool(warehouse: Warehouse) -> dict[tuple, dict]:
    con = watchbuddy.connect(warehouse.root)
    fields = ", ".join(VALUES)
    # `pool` (the materialized file) and `pool_computed` (the view) must agree
    rows = {}
    for view in ("pool", "pool_computed"):
        rel = con.sql(
            f"SELECT media_type, tmdb_id, {fields}, synthetic, "
            f"removed_from_tmdb_at IS NOT NULL AS removed FROM {view}"
        )
        got = {}
        for values in rel.fetchall():
            row = dict(zip(rel.columns, values, strict=True))
            key = (row.pop("media_type"), row.pop("tmdb_id"))
            row["genres"] = row["genres"] or None  # the pool shows unknown lists as []
            got[key] = row
        rows[view] = got
    assert rows["pool"] == rows["pool_computed"]
    return rows["pool"]


def _expected(batches, votes, removals) -> dict[tuple, dict]:
    expected = reference_pool(batches, votes, removals)
    for row in expected.values():
        row["genres"] = row["genres"] or None
    return expected


def _bare(key: tuple[str, int], source: str, hours: int) -> dict:
    """A record that knows only its title."""
    return {"key": key, "synthetic": False, "source": source, "hours": hours, "title": "A"} | {
        name: None for name in VALUES if name != "title"
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(record, min_size=1, max_size=5), min_size=1, max_size=4),
    votes=st.lists(vote, max_size=3),
    removals=st.lists(
        st.fixed_dictionaries({"key": st.sampled_from(KEYS), "hours": st.integers(0, 5)}),
        max_size=2,
    ),
)
# Found by hypothesis: compaction dropped a TMDB record whose every field a newer CSV knew,
# and with it the proof that TMDB served the title after an older removal.
@example(
    batches=[[_bare(("movie", 1), "tmdb", 1)], [_bare(("movie", 1), "csv", 2)]],
    votes=[],
    removals=[{"key": ("movie", 1), "hours": 0}],
)
def test_the_pool_follows_the_merge_rule_and_compaction_changes_nothing(
    batches, votes, removals
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        warehouse = _publish(Path(folder) / "wh", batches, votes, removals)
        expected = _expected(batches, votes, removals)
        assert actual_pool(warehouse) == expected
        compact(warehouse)
        assert actual_pool(warehouse) == expected


def test_a_poorer_file_never_erases_what_a_richer_one_said(settings: Settings) -> None:
    (settings.data_dir / "a_rich_movies.csv").write_text(
        "id,title,original_language,poster_path,imdb_id,keywords,genres,vote_count\n"
        '27205,Inception,en,/p.jpg,tt1375666,"dream, heist","Action, Science Fiction",34495\n'
    )
    (settings.data_dir / "b_poor_movies.csv").write_text(
        "tmdb_id,title,release_date,vote_count\n27205,Inception,2010-07-15,34500\n"
    )
    bootstrap(settings)
    con = watchbuddy.connect(settings.warehouse)
    row = con.sql(
        "SELECT original_language, poster_path, imdb_id, keywords, genres, release_date, "
        "vote_count, source_name FROM pool"
    ).fetchall()
    assert row == [
        (
            "en",
            "/p.jpg",
            "tt1375666",
            ["dream", "heist"],
            ["Action", "Science Fiction"],
            dt.date(2010, 7, 15),  # the newer file added the date
            34500,  # and its newer vote count wins
            "b_poor_movies.csv",  # provenance is the newest record's
        )
    ]
    assert con.sql("SELECT count(*) FROM titles").fetchall() == [(2,)]  # both records kept


REAL_INCEPTION = (
    "id,title,original_language,vote_count,vote_average\n27205,Inception,en,34495,8.364\n"
)
FAKE_INCEPTION = "id,title,original_language,vote_count\n27205,Dream Garden Dancer,fr,12\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # real first, demo after (by name); demo first, real after; demo with a newer file
        (
            ("a_movies.csv", REAL_INCEPTION),
            ("synthetic_TMDB_movie_dataset_v11.csv", FAKE_INCEPTION),
        ),
        (
            ("synthetic_TMDB_movie_dataset_v11.csv", FAKE_INCEPTION),
            ("z_movies.csv", REAL_INCEPTION),
        ),
        (("z_movies.csv", REAL_INCEPTION), ("renamed_demo_movies.csv", FAKE_INCEPTION + "")),
    ],
)
def test_synthetic_rows_never_replace_a_real_record_whatever_the_order(
    settings: Settings, first: tuple[str, str], second: tuple[str, str]
) -> None:
    for name, text in (first, second):
        if name == "renamed_demo_movies.csv":  # a renamed demo file still says it is synthetic
            text = text.replace("vote_count\n", "vote_count,synthetic\n").replace(
                ",12\n", ",12,true\n"
            )
        (settings.data_dir / name).write_text(text)
        bootstrap(settings)  # one file at a time: the second always lands later
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql(
        "SELECT title, original_language, vote_count, synthetic FROM pool"
    ).fetchall() == [("Inception", "en", 34495, False)]
    assert con.sql("SELECT count(*) FILTER (WHERE synthetic) FROM titles").fetchall() == [(1,)]


def test_compact_drop_demo_takes_the_demo_titles_out_of_a_real_pool(settings: Settings) -> None:
    (settings.data_dir / "a_movies.csv").write_text(REAL_INCEPTION)
    (settings.data_dir / "synthetic_TMDB_movie_dataset_v11.csv").write_text(
        FAKE_INCEPTION + "99,Made Up,fr,3\n"
    )
    bootstrap(settings)
    warehouse = Warehouse(settings.warehouse)
    con = watchbuddy.connect(warehouse.root)
    assert con.sql("SELECT count(*) FILTER (WHERE synthetic) FROM pool").fetchall() == [(1,)]
    assert compact(warehouse).changed  # drops the demo record a real one replaces
    assert compact(warehouse).changed is False  # and nothing more: no needless rewrite
    report = compact(warehouse, drop_demo=True)
    assert report.changed and report.titles == 1
    con = watchbuddy.connect(warehouse.root)
    assert con.sql("SELECT title, synthetic FROM pool").fetchall() == [("Inception", False)]
